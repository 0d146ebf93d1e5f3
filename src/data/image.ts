import { ConfigError } from '../errors.js';
import { ByteImageDataset, type ImageShape, type Normalization } from './dataset.js';
import type { Picture } from './picture-header.js';
import { type Rect, resample } from './resample.js';

/**
 * How a picture becomes a model input, as recorded with every saved model: the shape the model
 * takes, the training data's normalization, and what kind of pictures it learned from:
 * - `digits` (mnist): light strokes on a dark background framed like MNIST; a picture with a
 *   light background is inverted and its ink framed the same way;
 * - `objects` (fashion-mnist): one object on a plain dark background, cropped to the object and
 *   scaled to fill the frame, as Fashion-MNIST made its images from product photos; a picture
 *   with a light background (a product photo) is inverted and framed the same way;
 * - `photos` (CIFAR-10, image folders): only resized, never inverted.
 */
export interface InputPreparation {
  shape: ImageShape;
  normalization: Normalization;
  kind: InputKind;
}

export const inputKinds = ['digits', 'objects', 'photos'] as const;
export type InputKind = (typeof inputKinds)[number];

/** The data sets whose pictures are not photos; every other set (cifar-10, folder:DIR) is photos. */
const kindOfSet = new Map<string, InputKind>([
  ['mnist', 'digits'],
  ['fashion-mnist', 'objects'],
]);

/** The preparation a model trained on `dataset` (a catalog name or folder:DIR) records. */
export function inputPreparation(dataset: string, shape: ImageShape, normalization: Normalization): InputPreparation {
  return { shape, normalization, kind: kindOfSet.get(dataset) ?? 'photos' };
}

/** The framing `kind` gives a picture of another size than the model's (null: resampled whole). */
export function kindFrame(kind: InputKind): 'digit' | 'object' | null {
  return kind === 'digits' ? 'digit' : kind === 'objects' ? 'object' : null;
}

/** Overrides of what the preparation's kind decides. */
export interface ImageOptions {
  /** auto: light-background pictures for digits and objects, never for photos; yes/no force it either way. */
  invert?: 'auto' | 'yes' | 'no';
  /**
   * auto: digits and objects are framed as their kind says unless the picture already has the
   * model's size; digit, object or whole force one framing.
   */
  frame?: 'auto' | 'digit' | 'object' | 'whole';
}

/** A picture as a data set stores its images: C×H×W bytes; and what was done to it. */
export interface ImageBytes {
  bytes: Uint8Array;
  inverted: boolean;
  framed: boolean;
}

/** A picture as a model input: `x` holds C×H×W normalized floats. */
export interface PreparedImage extends ImageBytes {
  x: Float32Array;
}

/**
 * Makes a picture into the model input `prep` describes, exactly as the training images were
 * made into inputs: the same bytes (see imageBytes) normalized by the data set's own code, so a
 * training image written to a PNG file gives the training tensor bit for bit.
 */
export function prepareImage(picture: Picture, prep: InputPreparation, o: ImageOptions = {}): PreparedImage {
  const r = imageBytes(picture, prep.shape, prep.kind, o);
  const x = new Float32Array(r.bytes.length);
  new ByteImageDataset('', r.bytes, Uint8Array.of(0), prep.shape, [], prep.normalization).fill(x, [0], 0, 1);
  return { ...r, x };
}

/**
 * A picture as C×H×W bytes, the form every data set keeps: transparent parts shown on white (as
 * a viewer does), grey by ITU-R 601 luma or kept in colour, then
 * - photos: the largest centred part of the model's aspect ratio, resampled to H×W;
 * - digits: light-background pictures inverted (judged by the border); a picture of another
 *   size than H×W framed like MNIST — the ink's bounding box scaled to fit 20/28 of the frame,
 *   aspect kept, and placed with its centre of mass at (W/2, H/2);
 * - objects: light-background pictures inverted; a picture of another size than H×W framed like
 *   Fashion-MNIST — cropped to the object (what differs from the border's colour), scaled so
 *   that its longer side fills the frame, aspect kept, and centred.
 * A picture of the model's own size is taken as it is: the data set's pictures come that way.
 * Resampling is the one rule of resample(): area averaging to shrink, bilinear to enlarge.
 */
export function imageBytes(picture: Picture, shape: ImageShape, kind: InputKind, o: ImageOptions = {}): ImageBytes {
  const [c, h, w] = shape;
  if (c !== 1 && c !== 3)
    throw new ConfigError(`the model takes ${shape.join('×')} inputs, not grey or colour pictures (1 or 3 × H × W)`);
  const { width: pw, height: ph } = picture;
  const planes = toPlanes(picture, c);
  const auto = kind !== 'photos';
  const invert =
    o.invert === 'yes' || ((o.invert ?? 'auto') === 'auto' && auto && mean(borderColour(planes, c, ph, pw)) > 127.5);
  if (invert) for (let i = 0; i < planes.length; i++) planes[i] = 255 - planes[i];
  const frame =
    o.frame === 'digit' || o.frame === 'object'
      ? o.frame
      : (o.frame ?? 'auto') === 'auto' && (pw !== w || ph !== h)
        ? kindFrame(kind)
        : null;
  // Fashion-MNIST trimmed what was within 5% of the background's colour; digits allow for paper grain.
  const ink = frame ? inkBox(planes, c, ph, pw, frame === 'digit' ? 40 : 13) : null;
  const bytes =
    ink && frame
      ? frameInk(planes, c, ph, pw, ink, h, w, frame)
      : toBytes(resample(planes, c, ph, pw, centreCrop(ph, pw, h / w), h, w));
  return { bytes, inverted: invert, framed: ink !== null };
}

// RGBA → c planes of bytes: alpha composited onto white, grey as 0.299 R + 0.587 G + 0.114 B.
function toPlanes({ width, height, rgba }: Picture, c: number): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(c * n);
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3] / 255;
    const r = rgba[i * 4] * a + 255 * (1 - a);
    const g = rgba[i * 4 + 1] * a + 255 * (1 - a);
    const b = rgba[i * 4 + 2] * a + 255 * (1 - a);
    // A grey pixel stays its own value exactly (the weights' sum is 1 only up to rounding).
    if (c === 1) out[i] = Math.round(r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b);
    else {
      out[i] = Math.round(r);
      out[n + i] = Math.round(g);
      out[2 * n + i] = Math.round(b);
    }
  }
  return out;
}

const toBytes = (v: Float64Array) => Uint8Array.from(v, (x) => Math.round(Math.min(255, Math.max(0, x))));
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

// The largest centred rectangle of the given height/width ratio.
function centreCrop(h: number, w: number, aspect: number): Rect {
  if (w * aspect > h) {
    const width = Math.max(1, Math.min(w, Math.round(h / aspect)));
    return { x: Math.floor((w - width) / 2), y: 0, width, height: h };
  }
  const height = Math.max(1, Math.min(h, Math.round(w * aspect)));
  return { x: 0, y: Math.floor((h - height) / 2), width: w, height };
}

// Mean value of each channel over the outermost pixels: the background.
function borderColour(planes: Uint8Array, c: number, h: number, w: number): number[] {
  return Array.from({ length: c }, (_, ch) => {
    let s = 0;
    let n = 0;
    for (let y = 0; y < h; y++) {
      const step = y === 0 || y === h - 1 ? 1 : Math.max(1, w - 1);
      for (let x = 0; x < w; x += step, n++) s += planes[ch * h * w + y * w + x];
    }
    return s / n;
  });
}

// How far pixel i is from the background, averaged over the channels.
function inkAt(planes: Uint8Array, c: number, n: number, bg: number[], i: number): number {
  let d = 0;
  for (let ch = 0; ch < c; ch++) d += Math.abs(planes[ch * n + i] - bg[ch]);
  return d / c;
}

// Bounding box of the pixels that differ from the background by more than `threshold` of 255;
// null when there are none.
function inkBox(
  planes: Uint8Array,
  c: number,
  h: number,
  w: number,
  threshold: number,
): (Rect & { bg: number[] }) | null {
  const bg = borderColour(planes, c, h, w);
  let [x0, y0, x1, y1] = [w, h, -1, -1];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (inkAt(planes, c, h * w, bg, y * w + x) <= threshold) continue;
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1, bg };
}

// The ink's box scaled into the frame, aspect kept, and placed.
// - digit, MNIST's framing: scaled to fit a 20×20 box of the 28×28 frame, then shifted by whole
//   pixels so that its centre of mass sits at pixel (14, 14) — where it is in every MNIST image
//   (within half a pixel);
// - object, Fashion-MNIST's: scaled so that its longer side fills the frame, the shorter side
//   centred and padded with the background.
function frameInk(
  planes: Uint8Array,
  c: number,
  ph: number,
  pw: number,
  ink: Rect & { bg: number[] },
  h: number,
  w: number,
  how: 'digit' | 'object',
): Uint8Array {
  const [bw, bh] = how === 'digit' ? [Math.round((w * 20) / 28), Math.round((h * 20) / 28)] : [w, h];
  const fit = Math.min(bw / ink.width, bh / ink.height);
  const iw = Math.min(w, Math.max(1, Math.round(ink.width * fit)));
  const ih = Math.min(h, Math.max(1, Math.round(ink.height * fit)));
  const part = toBytes(resample(planes, c, ph, pw, ink, ih, iw));
  if (how === 'object') return paste(part, c, ih, iw, ink.bg, h, w, Math.floor((h - ih) / 2), Math.floor((w - iw) / 2));
  let [m, mx, my] = [0, 0, 0];
  for (let y = 0; y < ih; y++) {
    for (let x = 0; x < iw; x++) {
      const v = inkAt(part, c, ih * iw, ink.bg, y * iw + x);
      [m, mx, my] = [m + v, mx + v * x, my + v * y];
    }
  }
  const place = (centre: number, com: number, room: number) => Math.min(Math.max(Math.round(centre - com), 0), room);
  const ox = place(w / 2, m ? mx / m : (iw - 1) / 2, w - iw);
  const oy = place(h / 2, m ? my / m : (ih - 1) / 2, h - ih);
  return paste(part, c, ih, iw, ink.bg, h, w, oy, ox);
}

// An ih×iw picture placed at (oy, ox) of an h×w frame of the background colour.
function paste(
  part: Uint8Array,
  c: number,
  ih: number,
  iw: number,
  bg: number[],
  h: number,
  w: number,
  oy: number,
  ox: number,
): Uint8Array {
  const out = new Uint8Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    out.fill(Math.round(bg[ch]), ch * h * w, (ch + 1) * h * w);
    for (let y = 0; y < ih; y++) {
      const from = ch * ih * iw + y * iw;
      out.set(part.subarray(from, from + iw), ch * h * w + (y + oy) * w + ox);
    }
  }
  return out;
}
