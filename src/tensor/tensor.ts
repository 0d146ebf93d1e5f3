import { ShapeError } from '../errors.js';

export type Shape = readonly number[];

/** Number of elements of a shape. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** "8×24×24", the way shapes appear in messages. */
export function shapeStr(shape: Shape): string {
  return shape.join('×');
}

/** A dense row-major (NCHW for images) float32 tensor. */
export class Tensor {
  readonly shape: Shape;
  readonly data: Float32Array;

  constructor(shape: Shape, data?: Float32Array) {
    const n = sizeOf(shape);
    if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new ShapeError(`invalid tensor shape [${shape.join(', ')}]: dimensions must be non-negative integers`);
    }
    if (data && data.length !== n) {
      throw new ShapeError(`tensor of shape ${shapeStr(shape)} needs ${n} values, got ${data.length}`);
    }
    this.shape = [...shape];
    this.data = data ?? new Float32Array(n);
  }

  get size(): number {
    return this.data.length;
  }

  /** A view of the same data under another shape of equal size. */
  reshape(shape: Shape): Tensor {
    return new Tensor(shape, this.data);
  }
}

/**
 * dst = src moved by (dy, dx) pixels (|dy|, |dx| < h, w) with reflection at the borders, as PyTorch's
 * reflect padding then a crop: dst[y][x] = src[r(y − dy)][r(x − dx)], r(−1) = 1, r(h) = h − 2.
 * Every h×w plane of src (NCHW) moves alike.
 */
export function translateReflect(
  dst: Float32Array,
  src: Float32Array,
  h: number,
  w: number,
  dy: number,
  dx: number,
): void {
  const r = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  const cols = Int32Array.from({ length: w }, (_, x) => r(x - dx, w));
  for (let o = 0; o < src.length; o += h * w)
    for (let y = 0; y < h; y++) {
      const from = o + r(y - dy, h) * w;
      const to = o + y * w;
      for (let x = 0; x < w; x++) dst[to + x] = src[from + cols[x]];
    }
}

/** dst = src mirrored left to right: every row of `w` values reversed (NCHW: the image's width). */
export function flipWidth(dst: Float32Array, src: Float32Array, w: number): void {
  for (let o = 0; o < src.length; o += w) for (let j = 0; j < w; j++) dst[o + j] = src[o + w - 1 - j];
}
