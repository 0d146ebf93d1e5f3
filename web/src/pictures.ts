import type { MapStack, PngImage } from '../../src/serve/api-types.js';
import { h } from './dom.js';

// Pictures drawn from numbers: filters, feature maps, images, heat maps and their colour bars.

/** Blue (negative) – white (0) – red (positive), for weights. */
export function diverging(t: number): [number, number, number] {
  const u = Math.max(-1, Math.min(1, t));
  return u < 0 ? [255 * (1 + u), 255 * (1 + u), 255] : [255, 255 * (1 - u), 255 * (1 - u)];
}

/** White to dark blue, for counts and shares. */
export function sequential(t: number): [number, number, number] {
  const u = Math.max(0, Math.min(1, t));
  return [255 - 225 * u, 255 - 175 * u, 255 - 100 * u];
}

/**
 * Device pixels drawn per screen (CSS) pixel: at least 2, and the screen's own ratio when higher,
 * so every value is a whole block of device pixels and stays sharp on high-DPI screens and zoomed.
 */
export const density = () => Math.max(2, Math.ceil(globalThis.devicePixelRatio || 1));

/**
 * Picture `i` of a stack on a canvas, `scale` screen pixels per value: colour pictures as they
 * are, grey ones from `lo` (black) to `hi` (white), or through `map` when given. Each value is
 * drawn as a block of scale × density() device pixels, not left to the browser to enlarge.
 */
export function tile(
  s: MapStack,
  i: number,
  scale: number,
  lo: number,
  hi: number,
  map?: (t: number) => [number, number, number],
): HTMLCanvasElement {
  const [, c, hh, w] = s.shape;
  const k = scale * density();
  const cv = h('canvas', { width: w * k, height: hh * k });
  cv.style.width = `${w * scale}px`;
  cv.style.height = `${hh * scale}px`;
  const g = cv.getContext('2d')!;
  const img = g.createImageData(w * k, hh * k);
  const o = i * c * hh * w;
  const span = hi - lo || 1;
  const px = new Uint8ClampedArray(4);
  for (let p = 0; p < hh * w; p++) {
    let rgb: [number, number, number];
    if (c === 3)
      rgb = [0, 1, 2].map((ch) => (255 * (s.data[o + ch * hh * w + p] - lo)) / span) as [number, number, number];
    else if (map) rgb = map(s.data[o + p]);
    else rgb = Array(3).fill((255 * (s.data[o + p] - lo)) / span) as [number, number, number];
    px.set([...rgb, 255]);
    const y0 = Math.floor(p / w) * k;
    const x0 = (p % w) * k;
    for (let y = y0; y < y0 + k; y++) for (let x = x0; x < x0 + k; x++) img.data.set(px, (y * w * k + x) * 4);
  }
  g.putImageData(img, 0, 0);
  return cv;
}

/** A PNG picture on a canvas, `scale` screen pixels per pixel, each a sharp block as tile() draws them. */
export function pngTile(p: PngImage, scale: number): HTMLCanvasElement {
  const k = scale * density();
  const cv = h('canvas', { width: p.width * k, height: p.height * k });
  cv.style.width = `${p.width * scale}px`;
  cv.style.height = `${p.height * scale}px`;
  const img = new Image();
  img.onload = () => {
    const g = cv.getContext('2d')!;
    g.imageSmoothingEnabled = false;
    g.drawImage(img, 0, 0, cv.width, cv.height);
  };
  img.src = p.src;
  return cv;
}

/** The value range of picture `i`. */
export function rangeOf(s: MapStack, i: number): [number, number] {
  const n = s.shape[1] * s.shape[2] * s.shape[3];
  let lo = Infinity;
  let hi = -Infinity;
  for (let p = i * n; p < (i + 1) * n; p++) {
    lo = Math.min(lo, s.data[p]);
    hi = Math.max(hi, s.data[p]);
  }
  return [lo, hi];
}

/** A horizontal colour bar from `lo` to `hi` with three labelled ticks. */
export function colorBar(
  lo: number,
  hi: number,
  map: (t: number) => [number, number, number],
  signed: boolean,
  label: string,
): HTMLElement {
  const stops = Array.from({ length: 11 }, (_, i) => {
    const t = signed ? -1 + (2 * i) / 10 : i / 10;
    return `rgb(${map(t).map(Math.round).join(',')}) ${i * 10}%`;
  });
  const f = (v: number) =>
    Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : v.toPrecision(2);
  return h(
    'div',
    { class: 'colorbar', role: 'img', 'aria-label': `${label}: colour scale from ${f(lo)} to ${f(hi)}` },
    h('div', { class: 'bar', style: `background:linear-gradient(to right, ${stops.join(',')})` }),
    h(
      'div',
      { class: 'ticks' },
      h('span', {}, f(lo)),
      h('span', {}, signed ? '0' : f((lo + hi) / 2)),
      h('span', {}, f(hi)),
    ),
    h('div', { class: 'note' }, label),
  );
}

/**
 * Every picture of a stack as a labelled tile (its number, or `labels`), each scaled on its own
 * (min black, max white); those `zero` flags are marked "all 0".
 */
export function mapGrid(s: MapStack, scale: number, zero?: boolean[], labels?: string[]): HTMLElement {
  const count = s.shape[0];
  return h(
    'div',
    { class: 'tiles' },
    Array.from({ length: count }, (_, i) => {
      const [lo, hi] = rangeOf(s, i);
      const z = zero?.[i];
      return h(
        'figure',
        { class: z ? 'tile zero' : 'tile' },
        tile(s, i, scale, lo, hi),
        h(
          'figcaption',
          { title: `values ${lo.toPrecision(3)} … ${hi.toPrecision(3)}` },
          `${labels?.[i] ?? i}${z ? ': all 0' : ''}`,
        ),
      );
    }),
  );
}

/** Horizontal bars, one per label, for values in [0, 1]. */
export function bars(labels: string[], values: number[], note: (v: number) => string): HTMLElement {
  return h(
    'div',
    { class: 'bars' },
    labels.map((l, i) =>
      h(
        'div',
        { class: 'barrow' },
        h('span', { class: 'barlabel' }, l),
        h(
          'span',
          { class: 'bartrack' },
          h('span', { class: 'barfill', style: `width:${(100 * Math.max(0, Math.min(1, values[i]))).toFixed(1)}%` }),
        ),
        h('span', { class: 'barvalue' }, note(values[i])),
      ),
    ),
  );
}
