import { DataFormatError, ShapeError } from '../errors.js';

/**
 * A fixed bank of 2-D filters for one-channel images, stored [count, kh, kw] row-major: the
 * weight layout of a one-channel conv layer, so it drops into Conv2d as frozen weights.
 */
export interface FilterBank {
  /** "lm" for the built-in bank, else the file it came from. */
  readonly name: string;
  readonly count: number;
  readonly kh: number;
  readonly kw: number;
  readonly data: Float32Array;
}

/** Filter k of a bank as a kh×kw row-major view (for pictures and checks). */
export function bankFilter(bank: FilterBank, k: number): Float32Array {
  if (!(Number.isInteger(k) && k >= 0 && k < bank.count)) {
    throw new ShapeError(`bank ${bank.name}: no filter ${k} — it has filters 0–${bank.count - 1}`);
  }
  const size = bank.kh * bank.kw;
  return bank.data.subarray(k * size, (k + 1) * size);
}

/**
 * A bank from an array of the given shape (C order): (h, w, k) as the report indexes
 * filters[:, :, k], (k, h, w), or (h, w) for a single filter. A cube (n, n, n) is read as (h, w, k).
 */
export function bankFromArray(shape: readonly number[], a: Float32Array, source: string): FilterBank {
  const fail = (why: string): never => {
    throw new DataFormatError(`${source}: ${why}`);
  };
  if (shape.some((d) => d < 1)) fail(`shape (${shape.join(', ')}) has an empty dimension`);
  const bad = a.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) fail(`value ${a[bad]} at flat index ${bad} — filters must be finite numbers`);
  if (shape.length === 2) return { name: source, count: 1, kh: shape[0], kw: shape[1], data: a };
  if (shape.length !== 3) {
    return fail(`a filter bank must be 3-D, (h, w, k) or (k, h, w), got shape (${shape.join(', ')})`);
  }
  const [d0, d1, d2] = shape;
  if (d0 === d1) {
    // (h, w, k): move the filter axis first.
    const data = new Float32Array(a.length);
    const plane = d0 * d1;
    for (let p = 0; p < plane; p++) {
      for (let k = 0; k < d2; k++) data[k * plane + p] = a[p * d2 + k];
    }
    return { name: source, count: d2, kh: d0, kw: d1, data };
  }
  if (d1 === d2) return { name: source, count: d0, kh: d1, kw: d2, data: a };
  return fail(
    `cannot tell which axis of shape (${shape.join(', ')}) counts the filters — save square ` +
      'filters as (h, w, k) or (k, h, w), or use a JSON bank {"filters": [[[…]]]}',
  );
}

/** Throws unless the bank's filters fit inside h×w images (a valid convolution needs them to). */
export function checkBankFits(bank: FilterBank, c: number, h: number, w: number): void {
  if (c !== 1) {
    throw new ShapeError(
      `bank ${bank.name}: filters are for one-channel images, the data set has ${c} channels — use a grey-scale data set such as mnist`,
    );
  }
  if (bank.kh > h || bank.kw > w) {
    throw new ShapeError(
      `bank ${bank.name}: its ${bank.kh}×${bank.kw} filters are larger than the ${h}×${w} images — use filters of at most ${h}×${w}`,
    );
  }
}
