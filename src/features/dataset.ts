import { ShapeError } from '../errors.js';
import type { Shape } from '../tensor/tensor.js';
import type { Dataset } from '../train/dataset.js';

/** Precomputed feature vectors (n × dim float32) with their labels, as a Dataset the trainer takes. */
export class FeatureDataset implements Dataset {
  readonly length: number;
  readonly shape: Shape;

  constructor(
    readonly name: string,
    readonly features: Float32Array,
    readonly labels: Uint8Array,
    readonly dim: number,
    readonly classNames: readonly string[],
  ) {
    this.length = labels.length;
    this.shape = [dim];
    if (features.length !== this.length * dim) {
      throw new ShapeError(
        `${name}: ${features.length} feature values for ${this.length} samples of ${dim} — expected ${this.length * dim}`,
      );
    }
  }

  fill(out: Float32Array, indices: ArrayLike<number>, start: number, count: number): void {
    const d = this.dim;
    for (let s = 0; s < count; s++) {
      const src = indices[start + s] * d;
      out.set(this.features.subarray(src, src + d), s * d);
    }
  }

  /** The first n samples (a view; nothing is copied). */
  head(n: number): FeatureDataset {
    const k = Math.min(n, this.length);
    return new FeatureDataset(
      this.name,
      this.features.subarray(0, k * this.dim),
      this.labels.subarray(0, k),
      this.dim,
      this.classNames,
    );
  }
}
