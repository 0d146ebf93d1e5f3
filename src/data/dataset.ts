import type { Shape } from '../tensor/tensor.js';

/**
 * A labelled set of samples kept compactly (bytes for images) and turned into normalized float32
 * one batch at a time, so that a whole data set never has to sit in memory as floats.
 */
export interface Dataset {
  readonly name: string;
  readonly length: number;
  /** Per-sample shape, e.g. [1, 28, 28]. */
  readonly shape: Shape;
  readonly labels: Uint8Array;
  readonly classNames: readonly string[];
  /** Writes samples indices[start … start+count) into out, one after another. */
  fill(out: Float32Array, indices: ArrayLike<number>, start: number, count: number): void;
}

/** Per-channel affine normalization: x = (pixel/255 − mean[c]) / std[c]. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/** Images as bytes (N×C×H×W, uint8) with labels, normalized on the fly. */
export class ByteImageDataset implements Dataset {
  readonly length: number;
  private readonly scale: Float32Array;
  private readonly offset: Float32Array;
  private readonly plane: number;

  constructor(
    readonly name: string,
    readonly images: Uint8Array,
    readonly labels: Uint8Array,
    readonly shape: Shape,
    readonly classNames: readonly string[],
    readonly norm: Normalization,
  ) {
    this.length = labels.length;
    this.plane = shape[1] * shape[2];
    this.scale = Float32Array.from(norm.std, (s) => 1 / (255 * s));
    this.offset = Float32Array.from(norm.mean, (m, c) => -m / norm.std[c]);
  }

  fill(out: Float32Array, indices: ArrayLike<number>, start: number, count: number): void {
    const size = this.shape[0] * this.plane;
    for (let s = 0; s < count; s++) {
      const src = indices[start + s] * size;
      const dst = s * size;
      for (let c = 0; c < this.shape[0]; c++) {
        const a = this.scale[c];
        const b = this.offset[c];
        const o = c * this.plane;
        for (let i = o; i < o + this.plane; i++) out[dst + i] = this.images[src + i] * a + b;
      }
    }
  }

  /** The same images with other normalization (the test set takes the training set's). */
  withNorm(norm: Normalization): ByteImageDataset {
    return new ByteImageDataset(this.name, this.images, this.labels, this.shape, this.classNames, norm);
  }

  /** The first n samples (a view; nothing is copied). */
  head(n: number): ByteImageDataset {
    const k = Math.min(n, this.length);
    const size = this.shape[0] * this.plane;
    return new ByteImageDataset(this.name, this.images.subarray(0, k * size), this.labels.subarray(0, k),
      this.shape, this.classNames, this.norm);
  }
}

/** Mean and standard deviation per channel, on the [0, 1] scale (z-score statistics). */
export function channelStats(images: Uint8Array, channels: number, plane: number): Normalization {
  const mean: number[] = [];
  const std: number[] = [];
  const n = images.length / (channels * plane);
  for (let c = 0; c < channels; c++) {
    let s = 0;
    let s2 = 0;
    for (let k = 0; k < n; k++) {
      const o = (k * channels + c) * plane;
      for (let i = o; i < o + plane; i++) {
        const v = images[i];
        s += v;
        s2 += v * v;
      }
    }
    const count = n * plane;
    const m = s / count;
    mean.push(m / 255);
    std.push(Math.sqrt(Math.max(s2 / count - m * m, 0)) / 255 || 1);
  }
  return { mean, std };
}
