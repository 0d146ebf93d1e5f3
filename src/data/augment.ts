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
 * `rotate` (degrees) and `scale` (a fraction) add a random rotation about the image's centre by
 * up to ±rotate° and a zoom by a factor in [1 − scale, 1 + scale], resampled bilinearly, as
 * torchvision's RandomAffine(degrees, scale) or Keras's rotation_range and zoom_range.
 */
export interface Augmentation {
  shift: number;
  flip: boolean;
  reflect?: boolean;
  alternateFlip?: boolean;
  rotate?: number;
  scale?: number;
}

/** The usual recipe per data set: crop with 4-pixel padding + flip for CIFAR-10, 2-pixel shifts for digits and clothes. */
export function defaultAugmentation(dataset: string): Augmentation {
  return dataset.startsWith('cifar') ? { shift: 4, flip: true } : { shift: 2, flip: false };
}

/**
 * Parses `--augment`: off, default, or a comma list of shift:N (shift:N:reflect), flip
 * (flip:alternate), rotate:DEGREES and scale:FRACTION, e.g. "shift:4,flip",
 * "shift:2:reflect,flip:alternate" or "shift:2,rotate:10,scale:0.1".
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
    } else if (/^(rotate|scale):/.test(part)) {
      const [name, text] = part.split(':');
      const x = Number(text);
      const max = name === 'rotate' ? 180 : 0.9;
      if (!(x > 0 && x <= max))
        throw new ConfigError(
          `--augment ${part}: ${name} takes ${name === 'rotate' ? 'degrees' : 'a fraction'} above 0 and at most ${max}, e.g. ${name === 'rotate' ? 'rotate:10' : 'scale:0.1'}`,
        );
      a[name as 'rotate' | 'scale'] = x;
    } else
      throw new ConfigError(
        `--augment: expected off, default, or a list like "shift:4,flip", "shift:2:reflect,flip:alternate" or "shift:2,rotate:10,scale:0.1", got "${v}"`,
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
  /** The source column of each output column of the current image (a shift and flip without warp). */
  private readonly cols: Int32Array;
  /** Each channel's value for a black pixel: what a warp's uncovered border shows. */
  private readonly pads: number[];

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
    this.cols = new Int32Array(w);
    this.pads = Array.from({ length: c }, (_, ch) => inner.zeroValue(ch));
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
      const img = out.subarray(s * size, (s + 1) * size);
      if (this.aug.rotate || this.aug.scale) {
        this.scratch.set(img);
        const u = mix(this.seed ^ 0x2545f491, this.epoch, indices[start + s]);
        const angle = ((((u & 0xffff) / 0xffff) * 2 - 1) * (this.aug.rotate ?? 0) * Math.PI) / 180;
        const zoom = 1 + (((u >>> 16) / 0xffff) * 2 - 1) * (this.aug.scale ?? 0);
        const pads = this.pads;
        warpImage(img, this.scratch, [channels, h, w], { angle, zoom, dy, dx, flip, pads, reflect: this.aug.reflect });
        continue;
      }
      if (dx === 0 && dy === 0 && !flip) continue;
      this.scratch.set(img);
      // Output (y, x) shows source (y+dy, x'+dx), x' the mirrored column when flipping; the source
      // column of each x is the same on every row and channel (−1: outside, the padding).
      const cols = this.cols;
      for (let x = 0; x < w; x++) {
        let sx = (flip ? w - 1 - x : x) + dx;
        if (this.aug.reflect) sx = reflectIndex(sx, w);
        cols[x] = sx >= 0 && sx < w ? sx : -1;
      }
      for (let c = 0; c < channels; c++) {
        const pad = this.pads[c];
        const o = c * h * w;
        for (let y = 0; y < h; y++) {
          let sy = y + dy;
          if (this.aug.reflect) sy = reflectIndex(sy, h);
          const row = o + y * w;
          if (sy < 0 || sy >= h) {
            img.fill(pad, row, row + w);
            continue;
          }
          const from = o + sy * w;
          for (let x = 0; x < w; x++) img[row + x] = cols[x] >= 0 ? this.scratch[from + cols[x]] : pad;
        }
      }
    }
  }
}

/**
 * dst = src (CHW) rotated by `angle` (radians) and zoomed by `zoom` about the image's centre, then
 * moved by (dy, dx) and mirrored as the plain shift is: each output pixel reads the source point
 * its inverse transform lands on, interpolating the four pixels around it. The uncovered border
 * takes the channel's padding value, or with `reflect` the mirrored image.
 */
export function warpImage(
  dst: Float32Array,
  src: Float32Array,
  [channels, h, w]: readonly number[],
  t: { angle: number; zoom: number; dy: number; dx: number; flip: boolean; pads: number[]; reflect?: boolean },
): void {
  const [cy, cx] = [(h - 1) / 2, (w - 1) / 2];
  const cos = Math.cos(t.angle) / t.zoom;
  const sin = Math.sin(t.angle) / t.zoom;
  for (let c = 0; c < channels; c++) {
    const o = c * h * w;
    const at = (y: number, x: number): number => {
      if (t.reflect) return src[o + reflectIndex(clampReflect(y, h), h) * w + reflectIndex(clampReflect(x, w), w)];
      return y >= 0 && y < h && x >= 0 && x < w ? src[o + y * w + x] : t.pads[c];
    };
    for (let y = 0; y < h; y++) {
      const v = y - cy;
      for (let x = 0; x < w; x++) {
        const u = (t.flip ? w - 1 - x : x) - cx;
        const sx = cx + cos * u + sin * v + t.dx;
        const sy = cy - sin * u + cos * v + t.dy;
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const fx = sx - x0;
        const fy = sy - y0;
        let p00: number;
        let p01: number;
        let p10: number;
        let p11: number;
        if (x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1) {
          // All four inside (most pixels): read them directly, without at()'s border cases.
          const i = o + y0 * w + x0;
          p00 = src[i];
          p01 = src[i + 1];
          p10 = src[i + w];
          p11 = src[i + w + 1];
        } else {
          p00 = at(y0, x0);
          p01 = at(y0, x0 + 1);
          p10 = at(y0 + 1, x0);
          p11 = at(y0 + 1, x0 + 1);
        }
        dst[o + y * w + x] = (1 - fy) * ((1 - fx) * p00 + fx * p01) + fy * ((1 - fx) * p10 + fx * p11);
      }
    }
  }
}

/** An index past an edge mirrored back inside, the edge itself not repeated (PyTorch's reflect padding). */
const reflectIndex = (i: number, n: number): number => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);

/** A coordinate kept within one reflection of the image (a zoomed-out corner can reach past it). */
const clampReflect = (i: number, n: number): number => Math.max(-(n - 1), Math.min(2 * (n - 1), i));

/** A well-mixed uint32 from three integers (murmur3's finalizer over a running combination). */
function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ Math.imul(c + 0x7f4a7c15, 0x297a2d39);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
