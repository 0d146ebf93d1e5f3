import { writeFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** C×H×W planar bytes (C = 1 or 3) as 8-bit RGBA. */
export function planesToRgba(planes: Uint8Array, c: number, h: number, w: number): Uint8Array {
  const rgba = new Uint8Array(h * w * 4).fill(255);
  for (let i = 0; i < h * w; i++) for (let k = 0; k < 3; k++) rgba[i * 4 + k] = planes[(c === 1 ? 0 : k) * h * w + i];
  return rgba;
}

/** Writes planar bytes as a PNG file: grey (colour type 0) for one channel, RGB (2) for three. */
export function writePng(file: string, planes: Uint8Array, c: number, h: number, w: number): string {
  const p = new PNG({ width: w, height: h });
  p.data.set(planesToRgba(planes, c, h, w));
  writeFileSync(file, PNG.sync.write(p, { colorType: c === 1 ? 0 : 2 }));
  return file;
}

/** Writes planar bytes as a JPEG file at the given quality (jpeg-js: no chroma subsampling). */
export function writeJpeg(file: string, planes: Uint8Array, c: number, h: number, w: number, quality = 100): string {
  const data = Buffer.from(planesToRgba(planes, c, h, w));
  writeFileSync(file, jpeg.encode({ data, width: w, height: h }, quality).data);
  return file;
}

/** A w×h picture whose pixel (x, y) is f(x, y) = [r, g, b], as planar RGB bytes. */
export function drawRgb(w: number, h: number, f: (x: number, y: number) => number[]): Uint8Array {
  const out = new Uint8Array(3 * h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) f(x, y).forEach((v, k) => (out[k * h * w + y * w + x] = v));
  return out;
}
