import { floats } from '../kernels/index.js';
import { type Shape, sizeOf, Tensor } from '../tensor/tensor.js';

/**
 * What the training loop needs from a data set: labelled samples written into a float32 batch on
 * request. Data readers (src/data/) implement it; the loop stays free of files, so it also runs in
 * a browser or a worker on samples from anywhere.
 */
export interface Dataset {
  readonly name: string;
  readonly length: number;
  /** Per-sample shape, e.g. [1, 28, 28], or [784] when flattened. */
  readonly shape: Shape;
  readonly labels: Uint8Array;
  readonly classNames: readonly string[];
  /** Writes samples indices[start … start+count) into out, one after another. */
  fill(out: Float32Array, indices: ArrayLike<number>, start: number, count: number): void;
  /** Called by the trainer before each epoch (0-based); augmenting sets draw per-epoch transforms from it. */
  startEpoch?(epoch: number): void;
}

/**
 * Runs `f` over every sample of `ds` in file order, `batchSize` at a time: `x` holds samples
 * start … start+n−1 as an [n, …shape] tensor. One buffer serves every batch (the last, shorter
 * one is a view of it), so `x` is only valid during the call. The buffer is the kernel set's
 * (kernels' floats()), so the first layer reads each batch in place.
 */
export function forEachBatch(ds: Dataset, batchSize: number, f: (x: Tensor, start: number, n: number) => void): void {
  const order = Int32Array.from({ length: ds.length }, (_, i) => i);
  const size = sizeOf(ds.shape);
  const rows = Math.min(batchSize, ds.length);
  const full = new Tensor([rows, ...ds.shape], floats(rows * size));
  for (let start = 0; start < ds.length; start += batchSize) {
    const n = Math.min(batchSize, ds.length - start);
    const x = n === full.shape[0] ? full : new Tensor([n, ...ds.shape], full.data.subarray(0, n * size));
    ds.fill(x.data, order, start, n);
    f(x, start, n);
  }
}
