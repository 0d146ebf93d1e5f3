import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import type { Normalization } from '../data/dataset.js';
import { ConfigError, DataFormatError } from '../errors.js';
import { type Shape, shapeStr } from '../tensor/tensor.js';

/** An image as 0–255 RGB floats, row-major, alpha already composited onto white. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Float32Array;
}

/** Reads a PNG file (any colour type and bit depth) as RGB. */
export function readPngRgb(path: string): RgbImage {
  let png: PNG;
  try {
    png = PNG.sync.read(readFileSync(path)); // always 8-bit RGBA, whatever the file holds
  } catch (e) {
    throw new DataFormatError(`${path}: not a PNG file we can read (${(e as Error).message})`);
  }
  const { width, height, data } = png;
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const a = data[i * 4 + 3] / 255;
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = data[i * 4 + c] * a + 255 * (1 - a); // transparent parts show as white, as in a viewer
  }
  return { width, height, rgb };
}

export interface InputOptions {
  /** Flip light and dark: "auto" does it when the picture's border is light but the training images are dark on average. */
  invert?: 'auto' | 'yes' | 'no';
  /**
   * "whole" resizes the whole picture; "digit" frames it like MNIST: the ink's bounding box
   * scaled into the central 20/28 of the frame and its centre of mass moved to the middle.
   */
  frame?: 'whole' | 'digit';
}

/**
 * Turns an image into one model input of `shape` (C×H×W) the way the training data was made:
 * padded to the model's aspect ratio with the border colour, resampled by area averaging,
 * reduced to grey (C = 1) or kept in colour (C = 3), then normalized per channel.
 * Returns the input and whether it was inverted.
 */
export function imageToInput(
  img: RgbImage,
  shape: Shape,
  norm: Normalization,
  o: InputOptions = {},
): { x: Float32Array; inverted: boolean } {
  if (shape.length !== 3 || (shape[0] !== 1 && shape[0] !== 3)) {
    throw new ConfigError(
      `the model takes inputs of ${shapeStr(shape)}, not grey or colour images (1 or 3 × H × W) — predict works on image models`,
    );
  }
  const [c, h, w] = shape;
  const border = borderColour(img);
  const trainMean = norm.mean.reduce((a, b) => a + b, 0) / norm.mean.length;
  const lightBorder = (border[0] + border[1] + border[2]) / 3 > 127.5;
  const inverted = o.invert === 'yes' || ((o.invert ?? 'auto') === 'auto' && lightBorder && trainMean < 0.5);
  const framed = o.frame === 'digit' ? cropToInk(img, border, w / h) : padToAspect(img, w / h, border);
  const small = resample(framed, w, h);
  if (o.frame === 'digit') centreMass(small, w, h, border);
  const x = new Float32Array(c * h * w);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = [small[i * 3], small[i * 3 + 1], small[i * 3 + 2]];
    const px = c === 1 ? [0.299 * r + 0.587 * g + 0.114 * b] : [r, g, b];
    for (let ch = 0; ch < c; ch++) {
      const v = (inverted ? 255 - px[ch] : px[ch]) / 255;
      x[ch * h * w + i] = (v - norm.mean[ch]) / norm.std[ch];
    }
  }
  return { x, inverted };
}

// Mean colour of the outermost pixels: the background, for padding and for guessing inversion.
function borderColour(img: RgbImage): [number, number, number] {
  const s = [0, 0, 0];
  let n = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (y > 0 && y < img.height - 1 && x > 0 && x < img.width - 1) continue;
      for (let c = 0; c < 3; c++) s[c] += img.rgb[(y * img.width + x) * 3 + c];
      n++;
    }
  }
  return [s[0] / n, s[1] / n, s[2] / n];
}

// The ink's bounding box, padded to the frame's aspect ratio so that the ink fills 20/28 of it
// (MNIST's digits fill a 20×20 box of the 28×28 image); the whole image when there is no ink.
function cropToInk(img: RgbImage, bg: [number, number, number], aspect: number): RgbImage {
  const isInk = (i: number) =>
    Math.abs(img.rgb[i * 3] - bg[0]) + Math.abs(img.rgb[i * 3 + 1] - bg[1]) + Math.abs(img.rgb[i * 3 + 2] - bg[2]) >
    3 * 40;
  let [x0, y0, x1, y1] = [img.width, img.height, -1, -1];
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (!isInk(y * img.width + x)) continue;
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  if (x1 < 0) return padToAspect(img, aspect, bg);
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const side = Math.ceil((Math.max(bw, bh / aspect, bh) * 28) / 20);
  const width = Math.max(side, Math.ceil(side * aspect));
  const height = Math.max(Math.ceil(width / aspect), 1);
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.set(bg, i * 3);
  const ox = Math.floor((width - bw) / 2);
  const oy = Math.floor((height - bh) / 2);
  for (let y = 0; y < bh; y++) {
    const src = ((y0 + y) * img.width + x0) * 3;
    rgb.set(img.rgb.subarray(src, src + bw * 3), ((y + oy) * width + ox) * 3);
  }
  return { width, height, rgb };
}

// Shifts an RGB raster in place by whole pixels so that the centre of mass of its ink
// (distance from the background colour) sits in the middle.
function centreMass(px: Float32Array, w: number, h: number, bg: [number, number, number]): void {
  let [m, mx, my] = [0, 0, 0];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      const ink = Math.abs(px[o] - bg[0]) + Math.abs(px[o + 1] - bg[1]) + Math.abs(px[o + 2] - bg[2]);
      m += ink;
      mx += ink * x;
      my += ink * y;
    }
  }
  if (m === 0) return;
  const dx = Math.round((w - 1) / 2 - mx / m);
  const dy = Math.round((h - 1) / 2 - my / m);
  const src = px.slice();
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = x - dx;
      const sy = y - dy;
      const inside = sx >= 0 && sy >= 0 && sx < w && sy < h;
      px.set(inside ? src.subarray((sy * w + sx) * 3, (sy * w + sx) * 3 + 3) : bg, (y * w + x) * 3);
    }
  }
}

// Centres the image on a canvas of the given width/height ratio, filled with `fill`.
function padToAspect(img: RgbImage, aspect: number, fill: [number, number, number]): RgbImage {
  const width = Math.max(img.width, Math.round(img.height * aspect));
  const height = Math.max(img.height, Math.round(img.width / aspect));
  if (width === img.width && height === img.height) return img;
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.set(fill, i * 3);
  const ox = Math.floor((width - img.width) / 2);
  const oy = Math.floor((height - img.height) / 2);
  for (let y = 0; y < img.height; y++) {
    rgb.set(img.rgb.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + oy) * width + ox) * 3);
  }
  return { width, height, rgb };
}

// Area resampling: each output pixel is the mean of the source area it covers (fractional
// pixels weighted by overlap), which shrinks without aliasing and enlarges like nearest-neighbour.
function resample(img: RgbImage, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h * 3);
  const sx = img.width / w;
  const sy = img.height / h;
  for (let j = 0; j < h; j++) {
    const y0 = j * sy;
    const y1 = y0 + sy;
    for (let i = 0; i < w; i++) {
      const x0 = i * sx;
      const x1 = x0 + sx;
      const acc = [0, 0, 0];
      let area = 0;
      for (let y = Math.floor(y0); y < Math.min(Math.ceil(y1), img.height); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(Math.ceil(x1), img.width); x++) {
          const a = wy * (Math.min(x + 1, x1) - Math.max(x, x0));
          const o = (y * img.width + x) * 3;
          acc[0] += a * img.rgb[o];
          acc[1] += a * img.rgb[o + 1];
          acc[2] += a * img.rgb[o + 2];
          area += a;
        }
      }
      for (let c = 0; c < 3; c++) out[(j * w + i) * 3 + c] = acc[c] / area;
    }
  }
  return out;
}
