import type { Shape } from '../tensor/tensor.js';
import type { Dataset } from '../train/dataset.js';

/** Per-channel affine normalization: x = (pixel/255 − mean[c]) / std[c]; mean 0, std 1 is [0, 1] scaling. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/** Channels, height, width. */
export type ImageShape = readonly [number, number, number];

/** [0, 1] scaling for c channels. */
export function unitScale(c: number): Normalization {
  return { mean: new Array(c).fill(0), std: new Array(c).fill(1) };
}

/**
 * Images as bytes (rows of C×H×W uint8) with labels, normalized on the fly. A subset is a list of
 * row numbers into the same bytes, so limits, splits and stratified samples copy nothing.
 */
export class ByteImageDataset implements Dataset {
  readonly length: number;
  readonly shape: Shape;
  private readonly scale: Float32Array;
  private readonly offset: Float32Array;

  /**
   * `rows[i]` is the image row of sample i (null: sample i is row i); `labels[i]` is sample i's
   * label, already gathered. `flat` reports the shape as [C·H·W] (same memory layout).
   */
  constructor(
    readonly name: string,
    readonly images: Uint8Array,
    readonly labels: Uint8Array,
    readonly imageShape: ImageShape,
    readonly classNames: readonly string[],
    readonly norm: Normalization = unitScale(imageShape[0]),
    readonly rows: Int32Array | null = null,
    readonly flat = false,
  ) {
    this.length = labels.length;
    this.shape = flat ? [imageShape[0] * imageShape[1] * imageShape[2]] : [...imageShape];
    this.scale = Float32Array.from(norm.std, (s) => 1 / (255 * s));
    this.offset = Float32Array.from(norm.mean, (m, c) => -m / norm.std[c]);
  }

  fill(out: Float32Array, indices: ArrayLike<number>, start: number, count: number): void {
    const [channels, h, w] = this.imageShape;
    const plane = h * w;
    const size = channels * plane;
    for (let s = 0; s < count; s++) {
      const k = indices[start + s];
      const src = (this.rows ? this.rows[k] : k) * size;
      const dst = s * size;
      for (let c = 0; c < channels; c++) {
        const a = this.scale[c];
        const b = this.offset[c];
        const o = c * plane;
        for (let i = o; i < o + plane; i++) out[dst + i] = this.images[src + i] * a + b;
      }
    }
  }

  /** The value a zero (black) pixel of channel c takes after normalization: the padding of shifted images. */
  zeroValue(c: number): number {
    return this.offset[c];
  }

  /** The image row of sample i. */
  row(i: number): number {
    return this.rows ? this.rows[i] : i;
  }

  /** Same samples, other normalization (the test set takes the training set's) or shape. */
  with(o: { norm?: Normalization; flat?: boolean; name?: string }): ByteImageDataset {
    return new ByteImageDataset(
      o.name ?? this.name,
      this.images,
      this.labels,
      this.imageShape,
      this.classNames,
      o.norm ?? this.norm,
      this.rows,
      o.flat ?? this.flat,
    );
  }

  /** The samples at `indices`, in that order (a view; no pixel is copied). */
  select(indices: ArrayLike<number>, name = this.name): ByteImageDataset {
    const rows = Int32Array.from(indices as ArrayLike<number>, (i) => this.row(i));
    const labels = Uint8Array.from(indices as ArrayLike<number>, (i) => this.labels[i]);
    return new ByteImageDataset(
      name,
      this.images,
      labels,
      this.imageShape,
      this.classNames,
      this.norm,
      rows,
      this.flat,
    );
  }

  /** Samples [from, to). */
  slice(from: number, to = this.length, name = this.name): ByteImageDataset {
    return this.select(
      Int32Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i),
      name,
    );
  }

  /** Per-channel mean and standard deviation of these samples on the [0, 1] scale (z-score statistics). */
  stats(): Normalization {
    const [channels, h, w] = this.imageShape;
    const plane = h * w;
    const s = new Float64Array(channels);
    const s2 = new Float64Array(channels);
    for (let k = 0; k < this.length; k++) {
      const base = this.row(k) * channels * plane;
      for (let c = 0; c < channels; c++) {
        // Integer sums stay exact in a double up to far more pixels than any data set here has.
        let a = 0;
        let a2 = 0;
        for (let i = base + c * plane, end = i + plane; i < end; i++) {
          const v = this.images[i];
          a += v;
          a2 += v * v;
        }
        s[c] += a;
        s2[c] += a2;
      }
    }
    const count = Math.max(1, this.length * plane);
    const mean: number[] = [];
    const std: number[] = [];
    for (let c = 0; c < channels; c++) {
      const m = s[c] / count;
      mean.push(m / 255);
      std.push(Math.sqrt(Math.max(s2[c] / count - m * m, 0)) / 255 || 1);
    }
    return { mean, std };
  }

  /** How many samples each class has. */
  classCounts(): number[] {
    const counts = new Array(this.classNames.length).fill(0);
    for (const l of this.labels) counts[l]++;
    return counts;
  }
}
