import { ConfigError } from '../errors.js';
import type { Shape } from '../tensor/tensor.js';
import type { Dataset } from '../train/dataset.js';
import type { ByteImageDataset } from './dataset.js';

/**
 * Random translation by up to `shift` pixels each way and, optionally, horizontal flips. The
 * border a shift uncovers is black, or with `reflect` the image mirrored at its edge (a random
 * crop of the reflect-padded image, as torchvision's RandomCrop(padding_mode='reflect')). With
 * `alternateFlip` each image is flipped in every other epoch, starting from a random orientation
 * (airbench's alternating flip: every image is seen both ways in any two consecutive epochs).
 */
export interface Augmentation {
  shift: number;
  flip: boolean;
  reflect?: boolean;
  alternateFlip?: boolean;
}

/** The usual recipe per data set: crop with 4-pixel padding + flip for CIFAR-10, 2-pixel shifts for digits and clothes. */
export function defaultAugmentation(dataset: string): Augmentation {
  return dataset.startsWith('cifar') ? { shift: 4, flip: true } : { shift: 2, flip: false };
}

/**
 * Parses `--augment`: off, default, or a comma list of shift:N (shift:N:reflect) and flip
 * (flip:alternate), e.g. "shift:4,flip" or "shift:2:reflect,flip:alternate".
 */
export function parseAugmentation(v: string | undefined, dataset: string): Augmentation | null {
  if (v === undefined || v === 'off') return null;
  if (v === 'default' || v === 'on') return defaultAugmentation(dataset);
  const a: Augmentation = { shift: 0, flip: false };
  for (const part of v.split(',')) {
    const m = /^shift:(\d+)(:reflect)?$/.exec(part);
    if (m) {
      a.shift = Number(m[1]);
      if (m[2]) a.reflect = true;
    } else if (part === 'flip') a.flip = true;
    else if (part === 'flip:alternate') {
      a.flip = true;
      a.alternateFlip = true;
    } else
      throw new ConfigError(
        `--augment: expected off, default, or a list like "shift:4,flip" or "shift:2:reflect,flip:alternate", got "${v}"`,
      );
  }
  return a;
}

/**
 * A training set whose samples are randomly shifted and flipped each time they are drawn. The
 * transform of a sample is a hash of (seed, epoch, sample index), so a run is reproducible
 * whatever the batch size, and resuming at an epoch gives that epoch's transforms.
 */
export class AugmentedDataset implements Dataset {
  readonly name: string;
  readonly length: number;
  readonly shape: Shape;
  readonly labels: Uint8Array;
  readonly classNames: readonly string[];
  private epoch = 0;
  private readonly scratch: Float32Array;

  constructor(
    readonly inner: ByteImageDataset,
    readonly aug: Augmentation,
    readonly seed: number,
  ) {
    this.name = `${inner.name}+augmented`;
    this.length = inner.length;
    this.shape = inner.shape;
    this.labels = inner.labels;
    this.classNames = inner.classNames;
    const [c, h, w] = inner.imageShape;
    if (aug.shift >= Math.min(h, w))
      throw new ConfigError(`--augment shift:${aug.shift} is not smaller than the ${h}×${w} images`);
    this.scratch = new Float32Array(c * h * w);
  }

  startEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  fill(out: Float32Array, indices: ArrayLike<number>, start: number, count: number): void {
    this.inner.fill(out, indices, start, count);
    const [channels, h, w] = this.inner.imageShape;
    const size = channels * h * w;
    const span = 2 * this.aug.shift + 1;
    for (let s = 0; s < count; s++) {
      let r = mix(this.seed, this.epoch, indices[start + s]);
      const dx = (r % span) - this.aug.shift;
      r = Math.floor(r / span);
      const dy = (r % span) - this.aug.shift;
      r = Math.floor(r / span);
      const flip =
        this.aug.flip &&
        (this.aug.alternateFlip ? ((mix(this.seed, -1, indices[start + s]) ^ this.epoch) & 1) === 1 : (r & 1) === 1);
      if (dx === 0 && dy === 0 && !flip) continue;
      const img = out.subarray(s * size, (s + 1) * size);
      this.scratch.set(img);
      for (let c = 0; c < channels; c++) {
        const pad = this.inner.zeroValue(c);
        const o = c * h * w;
        for (let y = 0; y < h; y++) {
          let sy = y + dy;
          if (this.aug.reflect) sy = reflectIndex(sy, h);
          for (let x = 0; x < w; x++) {
            // Output (y, x) shows source (y+dy, x'+dx), x' the mirrored column when flipping.
            let sx = (flip ? w - 1 - x : x) + dx;
            if (this.aug.reflect) sx = reflectIndex(sx, w);
            img[o + y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? this.scratch[o + sy * w + sx] : pad;
          }
        }
      }
    }
  }
}

/** An index past an edge mirrored back inside, the edge itself not repeated (PyTorch's reflect padding). */
const reflectIndex = (i: number, n: number): number => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);

/** A well-mixed uint32 from three integers (murmur3's finalizer over a running combination). */
function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ Math.imul(c + 0x7f4a7c15, 0x297a2d39);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
