// Draws the filters and feature maps the worker sends (feature-maps.ts): one strip per convolution,
// every tile scaled to its own range, grey (or colour for three-channel filters), enlarged by CSS.
// The canvases, their 2D contexts and pixel buffers are made once per network and then repainted in
// place: making ~30 canvases and contexts at every refresh cost the main thread more than drawing.
import type { FeaturesMessage, Planes } from './protocol.js';

/** One strip to paint: planes [n, h, w] side by side; `rgb` reads n = 3 as one colour tile. */
interface Strip {
  p: Planes;
  count: number;
  offset: (i: number) => number;
  rgb: boolean;
}

interface Canvas {
  el: HTMLCanvasElement;
  g: CanvasRenderingContext2D;
  img: ImageData;
}

const tilesOf = (s: Strip) => (s.rgb ? 1 : s.count);

function makeCanvas(s: Strip): Canvas {
  const [h, w] = s.p.shape.slice(-2);
  const el = document.createElement('canvas');
  Object.assign(el, { width: tilesOf(s) * (w + 1) - 1, height: h });
  const g = el.getContext('2d') as CanvasRenderingContext2D;
  const img = g.createImageData(el.width, el.height);
  img.data.fill(255);
  return { el, g, img };
}

/** Paints the strip's tiles, each scaled to its own min … max, into its canvas. */
function paint(c: Canvas, s: Strip): void {
  const [h, w] = s.p.shape.slice(-2);
  const data = c.img.data;
  for (let t = 0; t < tilesOf(s); t++) {
    const at = (s.rgb ? [0, 1, 2] : [t]).map(s.offset);
    let [lo, hi] = [Infinity, -Infinity];
    for (const o of at)
      for (let i = 0; i < h * w; i++) {
        const v = s.p.data[o + i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    for (let i = 0; i < h * w; i++) {
      const px = 4 * ((i / w) | 0) * c.el.width + 4 * (t * (w + 1) + (i % w));
      for (let ch = 0; ch < 3; ch++) data[px + ch] = (s.p.data[at[s.rgb ? ch : 0] + i] - lo) * scale;
    }
  }
  c.g.putImageData(c.img, 0, 0);
}

/** The rows of the view: a label and its strips (the image, then each convolution's filters and maps). */
interface Row {
  label: string;
  strips: Strip[];
  filters: boolean;
}

function rowsOf(m: FeaturesMessage): Row[] {
  const [c, h, w] = m.image.shape;
  const image = { p: m.image, count: c, offset: (i: number) => i * h * w, rgb: c === 3 };
  const rows: Row[] = [{ label: `test image ${m.index} (${m.label})`, strips: [image], filters: false }];
  for (const l of m.layers) {
    const [k, fc, kh, kw] = l.filters.shape;
    const size = fc * kh * kw;
    const [mk, mh, mw] = l.maps.shape;
    // A filter per row of tiles, one tile per input channel (or one colour tile for an RGB input).
    const filters = Array.from({ length: k }, (_, f) => ({
      p: { shape: [fc, kh, kw], data: l.filters.data },
      count: Math.min(fc, 16),
      offset: (ch: number) => f * size + ch * kh * kw,
      rgb: fc === 3,
    }));
    const maps = { p: l.maps, count: mk, offset: (i: number) => i * mh * mw, rgb: false };
    rows.push({ label: `${l.name} filters (${k}×${fc}×${kh}×${kw})`, strips: filters, filters: true });
    rows.push({ label: `${l.name} maps (${mk}×${mh}×${mw})`, strips: [maps], filters: false });
  }
  return rows;
}

/** Shows the image, then each convolution's filters and maps; repaints the same canvases while the network stays. */
export function featureView(parent: HTMLElement): (m: FeaturesMessage) => void {
  let shape = '';
  let labels: HTMLElement[] = [];
  let canvases: Canvas[] = [];
  return (m) => {
    const rows = rowsOf(m);
    const now = JSON.stringify([m.image.shape, m.layers.map((l) => [l.name, l.filters.shape, l.maps.shape])]);
    if (now !== shape) {
      shape = now;
      labels = [];
      canvases = [];
      parent.replaceChildren(
        ...rows.map((r) => {
          const row = document.createElement('div');
          row.className = 'feature-row';
          const label = Object.assign(document.createElement('span'), { className: 'muted' });
          const made = r.strips.map(makeCanvas);
          for (const c of made) if (r.filters) c.el.className = 'filter';
          labels.push(label);
          canvases.push(...made);
          row.append(label, ...made.map((c) => c.el));
          return row;
        }),
      );
    }
    rows.forEach((r, i) => {
      if (labels[i].textContent !== r.label) labels[i].textContent = r.label;
    });
    rows.flatMap((r) => r.strips).forEach((s, i) => paint(canvases[i], s));
  };
}
