import { encodePng } from '../files/png-encode.js';
import { advance, cellH, glyph, glyphW } from './font.js';

export type Rgb = readonly [number, number, number];

export const white: Rgb = [255, 255, 255];
export const black: Rgb = [0, 0, 0];
export const ink: Rgb = [40, 40, 48];
export const grid: Rgb = [225, 225, 232];
/** Series colours: blue (train) and orange (test), readable for most colour-blind viewers. */
export const palette: readonly Rgb[] = [
  [31, 119, 180],
  [230, 120, 20],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
];

export interface TextOptions {
  color?: Rgb;
  /** Font pixels per glyph cell (1 = 5×7 px glyphs). */
  scale?: number;
  align?: 'left' | 'center' | 'right';
  /** Rotated a quarter turn counter-clockwise (for a y-axis title); x, y is then its left-bottom. */
  vertical?: boolean;
}

const pixel = new Uint8ClampedArray(4);
const pixelWord = new Uint32Array(pixel.buffer);

/** An RGBA raster that the pictures are drawn into, encoded as PNG at the end. */
export class Canvas {
  readonly data: Uint8ClampedArray;
  /** The same pixels, one 32-bit word each. */
  private readonly words: Uint32Array;

  constructor(
    readonly width: number,
    readonly height: number,
    bg: Rgb = white,
  ) {
    this.width = Math.max(1, Math.round(width));
    this.height = Math.max(1, Math.round(height));
    this.data = new Uint8ClampedArray(this.width * this.height * 4);
    this.words = new Uint32Array(this.data.buffer);
    this.fillRect(0, 0, this.width, this.height, bg);
  }

  /** Blends colour c over pixel (x, y) with opacity a ∈ [0, 1]; pixels outside are ignored. */
  plot(x: number, y: number, c: Rgb, a = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || a <= 0) return;
    const o = (y * this.width + x) * 4;
    const d = this.data;
    d[o] = d[o] + (c[0] - d[o]) * a;
    d[o + 1] = d[o + 1] + (c[1] - d[o + 1]) * a;
    d[o + 2] = d[o + 2] + (c[2] - d[o + 2]) * a;
    d[o + 3] = 255;
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    if (x1 <= x0) return;
    // A whole pixel at a time: the colour's four bytes as one 32-bit word, in this machine's byte order.
    pixel.set([c[0], c[1], c[2], 255]);
    const word = pixelWord[0];
    for (let j = y0; j < y1; j++) this.words.fill(word, j * this.width + x0, j * this.width + x1);
  }

  /** Fills w×h whole pixels from (x, y), integers inside the picture's width, with one RGBA word; rows below it are left out. */
  fillWords(x: number, y: number, w: number, h: number, word: number): void {
    const y1 = Math.min(this.height, y + h);
    for (let j = y; j < y1; j++) this.words.fill(word, j * this.width + x, j * this.width + x + w);
  }

  /** A one-pixel rectangle outline. */
  strokeRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    this.fillRect(x, y, w, 1, c);
    this.fillRect(x, y + h - 1, w, 1, c);
    this.fillRect(x, y, 1, h, c);
    this.fillRect(x + w - 1, y, 1, h, c);
  }

  /**
   * An anti-aliased line of the given width: every pixel near the segment is covered by how far
   * it lies inside the stroke, which is simple and exact enough for charts.
   */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, width = 1): void {
    const r = width / 2;
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy;
    for (let y = Math.floor(Math.min(y0, y1) - r - 1); y <= Math.ceil(Math.max(y0, y1) + r + 1); y++) {
      for (let x = Math.floor(Math.min(x0, x1) - r - 1); x <= Math.ceil(Math.max(x0, x1) + r + 1); x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        const t = len2 ? Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len2)) : 0;
        const d = Math.hypot(px - x0 - t * dx, py - y0 - t * dy);
        this.plot(x, y, c, Math.min(1, r + 0.5 - d));
      }
    }
  }

  /** An anti-aliased filled disc centred on (cx, cy). */
  disc(cx: number, cy: number, radius: number, c: Rgb): void {
    this.line(cx, cy, cx, cy, c, 2 * radius);
  }

  /** Draws text with the built-in 5×7 font; (x, y) is the top-left (or per `align`). */
  text(s: string, x: number, y: number, o: TextOptions = {}): void {
    const scale = o.scale ?? 1;
    const w = textWidth(s, scale);
    const shift = o.align === 'center' ? w / 2 : o.align === 'right' ? w : 0;
    const c = o.color ?? ink;
    [...s].forEach((ch, k) => {
      const g = glyph(ch);
      for (let j = 0; j < cellH; j++) {
        for (let i = 0; i < glyphW; i++) {
          if (!g[j * glyphW + i]) continue;
          const along = k * advance * scale + i * scale - shift;
          if (o.vertical) this.fillRect(x + j * scale, y - along - scale, scale, scale, c);
          else this.fillRect(x + along, y + j * scale, scale, scale, c);
        }
      }
    });
  }

  /** Copies another canvas in at (x, y). */
  blit(src: Canvas, x: number, y: number): void {
    const i0 = Math.max(0, -x);
    const i1 = Math.min(src.width, this.width - x);
    if (i1 <= i0) return;
    for (let j = 0; j < src.height; j++) {
      const ty = y + j;
      if (ty < 0 || ty >= this.height) continue;
      this.data.set(
        src.data.subarray((j * src.width + i0) * 4, (j * src.width + i1) * 4),
        (ty * this.width + x + i0) * 4,
      );
    }
  }

  /** The picture as a PNG file (8-bit RGBA). */
  png(): Uint8Array {
    return encodePng(this.width, this.height, this.data);
  }
}

/** Width in pixels of a string drawn at `scale` (no trailing gap). */
export function textWidth(s: string, scale = 1): number {
  const n = [...s].length;
  return n ? (n * advance - 1) * scale : 0;
}

/** Shortens a label with "…"-like dots so it fits `px` pixels at `scale`. */
export function fit(s: string, px: number, scale = 1): string {
  if (textWidth(s, scale) <= px) return s;
  let t = s;
  while (t.length > 1 && textWidth(`${t}.`, scale) > px) t = t.slice(0, -1);
  return `${t}.`;
}

/** White → dark blue, for heat maps; v ∈ [0, 1]. */
export function blues(v: number): Rgb {
  const t = Math.max(0, Math.min(1, v));
  return [Math.round(247 - 239 * t), Math.round(251 - 203 * t), Math.round(255 - 148 * t)];
}

/**
 * Draws a C×H×W float image (`x` from offset `o`) at (px, py), each value a `scale`-pixel square.
 * Values map linearly from [lo, hi] to black–white; with `rgb` (C = 3) the channels are red,
 * green and blue, otherwise only channel `ch` is drawn.
 */
export function drawImage(
  cv: Canvas,
  x: ArrayLike<number>,
  o: number,
  shape: readonly [number, number, number],
  px: number,
  py: number,
  scale: number,
  lo: number,
  hi: number,
  ch: number | 'rgb' = 0,
): void {
  const [c, h, w] = shape;
  const plane = h * w;
  const k = hi > lo ? 255 / (hi - lo) : 0; // a constant image (a dead map) is black
  const colour = ch === 'rgb' && c === 3;
  const first = o + (ch === 'rgb' ? 0 : ch) * plane;
  // Whole pixel words written straight into the raster: a square per value was a fillRect call
  // each, most of a report's drawing time. The clamped scratch rounds as fillRect's colours do.
  const x0 = Math.round(px);
  const y0 = Math.round(py);
  const whole = Number.isInteger(scale) && x0 >= 0 && y0 >= 0 && x0 + w * scale <= cv.width;
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const p = first + j * w + i;
      pixel[0] = k ? (x[p] - lo) * k : 0;
      pixel[1] = colour ? (k ? (x[p + plane] - lo) * k : 0) : pixel[0];
      pixel[2] = colour ? (k ? (x[p + 2 * plane] - lo) * k : 0) : pixel[0];
      pixel[3] = 255;
      if (whole) cv.fillWords(x0 + i * scale, y0 + j * scale, scale, scale, pixelWord[0]);
      else cv.fillRect(px + i * scale, py + j * scale, scale, scale, [pixel[0], pixel[1], pixel[2]]);
    }
  }
}

/** Smallest and largest of `n` values from offset o (0, 0 for none). */
export function range(x: ArrayLike<number>, o = 0, n = x.length - o): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = o; i < o + n; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  return n > 0 ? [lo, hi] : [0, 0];
}
