// Draws the filters and feature maps the worker sends (feature-maps.ts): one strip per convolution,
// every tile scaled to its own range, grey (or colour for three-channel filters), enlarged by CSS.
import type { FeaturesMessage, Planes } from './protocol.js';

/** Grey tiles of planes [n, h, w] side by side, each scaled to its own min … max; `rgb` reads n = 3 as one colour tile. */
function strip(p: Planes, count: number, offset: (i: number) => number, rgb: boolean): HTMLCanvasElement {
  const [h, w] = p.shape.slice(-2);
  const tiles = rgb ? 1 : count;
  const canvas = document.createElement('canvas');
  Object.assign(canvas, { width: tiles * (w + 1) - 1, height: h });
  const g = canvas.getContext('2d') as CanvasRenderingContext2D;
  const img = g.createImageData(canvas.width, canvas.height);
  img.data.fill(255);
  for (let t = 0; t < tiles; t++) {
    const planes = rgb ? [0, 1, 2] : [t];
    let [lo, hi] = [Infinity, -Infinity];
    for (const c of planes)
      for (let i = 0; i < h * w; i++) {
        const v = p.data[offset(c) + i];
        [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      }
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    for (let i = 0; i < h * w; i++) {
      const at = 4 * ((i / w) | 0) * canvas.width + 4 * (t * (w + 1) + (i % w));
      const grey = (c: number) => (p.data[offset(c) + i] - lo) * scale;
      img.data.set(rgb ? [grey(0), grey(1), grey(2)] : [grey(t), grey(t), grey(t)], at);
    }
  }
  g.putImageData(img, 0, 0);
  return canvas;
}

function labelled(text: string, ...canvases: HTMLCanvasElement[]): HTMLElement {
  const row = document.createElement('div');
  row.className = 'feature-row';
  row.append(Object.assign(document.createElement('span'), { textContent: text, className: 'muted' }), ...canvases);
  return row;
}

/** Replaces the view's content with the image, then each convolution's filters and maps. */
export function showFeatures(parent: HTMLElement, m: FeaturesMessage): void {
  const [c, h, w] = m.image.shape;
  const plane = h * w;
  const rows = [
    labelled(
      `test image ${m.index} (${m.label})`,
      strip(m.image, c, (i) => i * plane, c === 3),
    ),
  ];
  for (const l of m.layers) {
    const [k, fc, kh, kw] = l.filters.shape;
    const size = fc * kh * kw;
    // A filter per row of tiles, one tile per input channel (or one colour tile for an RGB input).
    const filters = Array.from({ length: k }, (_, f) =>
      strip({ shape: [fc, kh, kw], data: l.filters.data }, Math.min(fc, 16), (ch) => f * size + ch * kh * kw, fc === 3),
    );
    const [mk, mh, mw] = l.maps.shape;
    for (const f of filters) f.className = 'filter';
    rows.push(labelled(`${l.name} filters (${k}×${fc}×${kh}×${kw})`, ...filters));
    rows.push(
      labelled(
        `${l.name} maps (${mk}×${mh}×${mw})`,
        strip(l.maps, mk, (i) => i * mh * mw, false),
      ),
    );
  }
  parent.replaceChildren(...rows);
}
