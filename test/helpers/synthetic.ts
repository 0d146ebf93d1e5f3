import { type Dataset, Rng, type Shape } from '../../src/index.js';

/**
 * A small labelled set held as floats: each sample of class c is the class's pattern (a bright
 * quadrant, or a bright stripe for more classes) plus Gaussian noise, so the classes are
 * linearly separable but not trivially identical.
 */
export class SyntheticDataset implements Dataset {
  readonly labels: Uint8Array;
  readonly classNames: readonly string[];
  private readonly x: Float32Array;
  private readonly size: number;

  constructor(
    readonly name: string,
    readonly length: number,
    readonly shape: Shape,
    classes: number,
    seed: number,
    noise = 0.3,
  ) {
    const rng = new Rng(seed);
    this.size = shape.reduce((a, b) => a * b, 1);
    this.labels = Uint8Array.from({ length }, (_, i) => (i + rng.int(classes)) % classes);
    this.classNames = Array.from({ length: classes }, (_, c) => `class${c}`);
    this.x = new Float32Array(length * this.size);
    for (let s = 0; s < length; s++) {
      for (let i = 0; i < this.size; i++) {
        this.x[s * this.size + i] = (pattern(i, this.size, this.labels[s], classes) ? 1 : 0) + noise * rng.normal();
      }
    }
  }

  fill(out: Float32Array, indices: ArrayLike<number>, start: number, count: number): void {
    for (let s = 0; s < count; s++) {
      const src = indices[start + s] * this.size;
      out.set(this.x.subarray(src, src + this.size), s * this.size);
    }
  }
}

/** Whether value i of a sample of `size` values belongs to class c's bright region. */
function pattern(i: number, size: number, c: number, classes: number): boolean {
  return Math.floor((i * classes) / size) === c;
}
