// Draws the filters and feature maps the worker sends (feature-maps.ts): one canvas per row (the
// image, then each convolution's filters and its maps), every tile scaled to its own range, grey (or
// colour for three-channel filters), enlarged by CSS. The canvases, their 2D contexts and pixel
// buffers are made once per network and repainted in place. One canvas per row, not per filter: the
// first refresh of a canvas per filter (19 for seed-mnist, hundreds for a wide net) took the main
// thread 45 ms of CPU and a compositor commit, a missed frame even on an idle core.
import type { FeaturesMessage, Planes } from './protocol.js';

/** One tile: a plane (or three, for a colour tile) of the row's data, and where it goes on the canvas. */
interface Tile {
  offsets: number[];
  x: number;
  y: number;
}

/** A row's layout: its tiles of h × w pixels on a canvas of width × height, shown `scale` times larger. */
interface Layout {
  label: string;
  h: number;
  w: number;
  width: number;
  height: number;
  scale: number;
  filters: boolean;
  tiles: Tile[];
  planes: (m: FeaturesMessage) => Planes;
}

interface Canvas {
  el: HTMLCanvasElement;
  g: CanvasRenderingContext2D;
  img: ImageData;
}

/** Screen height of a line of filters and of a strip of maps, in CSS pixels. */
const filterPx = 20;
const mapPx = 48;

/** Tiles side by side, one pixel apart: the image's channels, or a layer's maps. */
function strip(label: string, p: Planes, planes: Layout['planes'], rgb: boolean): Layout {
  const [c, h, w] = p.shape;
  const count = rgb ? 1 : c;
  const tiles = Array.from({ length: count }, (_, t) => ({
    offsets: rgb ? [0, 1, 2].map((ch) => ch * h * w) : [t * h * w],
    x: t * (w + 1),
    y: 0,
  }));
  return { label, h, w, width: count * (w + 1) - 1, height: h, scale: mapPx / h, filters: false, tiles, planes };
}

/**
 * A layer's filters as a grid: each filter one group of tiles (one per input channel, at most 16; one
 * colour tile for an RGB input), as many groups to a line as fit `room` CSS pixels.
 */
function filterGrid(label: string, p: Planes, planes: Layout['planes'], room: number): Layout {
  const [k, fc, kh, kw] = p.shape;
  const rgb = fc === 3;
  const per = rgb ? 1 : Math.min(fc, 16);
  const size = fc * kh * kw;
  const groupW = per * (kw + 1) - 1;
  const scale = filterPx / kh;
  const perLine = Math.max(1, Math.min(k, Math.floor((room / scale + 2) / (groupW + 2))));
  const lines = Math.ceil(k / perLine);
  const tiles: Tile[] = [];
  for (let f = 0; f < k; f++) {
    const [gx, gy] = [(f % perLine) * (groupW + 2), Math.floor(f / perLine) * (kh + 2)];
    for (let t = 0; t < per; t++)
      tiles.push({
        offsets: rgb ? [0, 1, 2].map((ch) => f * size + ch * kh * kw) : [f * size + t * kh * kw],
        x: gx + t * (kw + 1),
        y: gy,
      });
  }
  const width = perLine * (groupW + 2) - 2;
  return { label, h: kh, w: kw, width, height: lines * (kh + 2) - 2, scale, filters: true, tiles, planes };
}

function layoutOf(m: FeaturesMessage, room: number): Layout[] {
  const rows = [strip(`test image ${m.index} (${m.label})`, m.image, (x) => x.image, m.image.shape[0] === 3)];
  m.layers.forEach((l, i) => {
    const [k, fc, kh, kw] = l.filters.shape;
    const [mk, mh, mw] = l.maps.shape;
    rows.push(filterGrid(`${l.name} filters (${k}×${fc}×${kh}×${kw})`, l.filters, (x) => x.layers[i].filters, room));
    rows.push(strip(`${l.name} maps (${mk}×${mh}×${mw})`, l.maps, (x) => x.layers[i].maps, false));
  });
  return rows;
}

function makeCanvas(l: Layout): Canvas {
  const el = document.createElement('canvas');
  Object.assign(el, { width: l.width, height: l.height });
  // Explicit CSS size: the scale is per row (a filter line 20 px high, a map 48 px).
  Object.assign(el.style, { width: `${l.width * l.scale}px`, height: `${l.height * l.scale}px` });
  if (l.filters) el.className = 'filter';
  const g = el.getContext('2d') as CanvasRenderingContext2D;
  const img = g.createImageData(l.width, l.height);
  img.data.fill(255);
  return { el, g, img };
}

/** Paints every tile of the row, each scaled to its own min … max, and puts the pixels on the canvas. */
function paint(c: Canvas, l: Layout, p: Planes): void {
  const { h, w } = l;
  const data = c.img.data;
  const src = p.data;
  for (const t of l.tiles) {
    let [lo, hi] = [Infinity, -Infinity];
    for (const o of t.offsets)
      for (let i = o; i < o + h * w; i++) {
        const v = src[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    const [r, g, b] = t.offsets.length === 3 ? t.offsets : [t.offsets[0], t.offsets[0], t.offsets[0]];
    for (let y = 0; y < h; y++) {
      let px = 4 * ((t.y + y) * l.width + t.x);
      for (let x = 0, i = y * w; x < w; x++, i++, px += 4) {
        data[px] = (src[r + i] - lo) * scale;
        data[px + 1] = (src[g + i] - lo) * scale;
        data[px + 2] = (src[b + i] - lo) * scale;
      }
    }
  }
  c.g.putImageData(c.img, 0, 0);
}

/** Shows the image, then each convolution's filters and maps; repaints the same canvases while the network stays. */
export function featureView(parent: HTMLElement): (m: FeaturesMessage) => void {
  let shape = '';
  let layout: Layout[] = [];
  let labels: HTMLElement[] = [];
  let canvases: Canvas[] = [];
  return (m) => {
    const now = JSON.stringify([m.image.shape, m.layers.map((l) => [l.name, l.filters.shape, l.maps.shape])]);
    if (now !== shape) {
      shape = now;
      layout = layoutOf(m, Math.max(200, parent.clientWidth || 600));
      labels = layout.map(() => Object.assign(document.createElement('span'), { className: 'muted' }));
      canvases = layout.map(makeCanvas);
      parent.replaceChildren(
        ...layout.map((_, i) => {
          const row = document.createElement('div');
          row.className = 'feature-row';
          row.append(labels[i], canvases[i].el);
          return row;
        }),
      );
    }
    const label = (i: number) => (i === 0 ? `test image ${m.index} (${m.label})` : layout[i].label);
    layout.forEach((l, i) => {
      if (labels[i].textContent !== label(i)) labels[i].textContent = label(i);
      paint(canvases[i], l, l.planes(m));
    });
  };
}
