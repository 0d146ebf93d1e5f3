import type { Shape } from '../tensor/tensor.js';

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
