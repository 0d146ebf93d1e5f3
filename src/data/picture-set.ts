// Pictures of one data set made into its rows of bytes, one picture at a time (each decoded
// picture can be dropped once added): shared by `convts train --dataset folder:DIR` and the
// playground's worker. No Node import.
import { ByteImageDataset, type ImageShape } from './dataset.js';
import { imageBytes } from './image.js';
import type { Picture } from './picture-header.js';

/**
 * Rows of `count` pictures of height×width. With `channels` unset the data decides: grey when
 * every picture is grey (R = G = B everywhere), else RGB — the rows are kept in colour until then.
 */
export class PictureRows {
  private readonly rows: Uint8Array;
  private readonly c: 1 | 3;
  private allGrey = true;

  constructor(
    readonly count: number,
    readonly size: readonly [number, number],
    private readonly channels?: 1 | 3,
  ) {
    this.c = channels ?? 3;
    this.rows = new Uint8Array(count * this.c * size[0] * size[1]);
  }

  /** Row i from a picture of any size: its largest centred part of the rows' aspect ratio, resampled (imageBytes). */
  set(i: number, picture: Picture): void {
    const shape: ImageShape = [this.c, this.size[0], this.size[1]];
    this.rows.set(imageBytes(picture, shape, 'photos').bytes, i * this.c * this.size[0] * this.size[1]);
    if (this.allGrey && !this.channels) this.allGrey = isGrey(picture.rgba);
  }

  /** The data set of the rows with their labels. */
  dataset(name: string, labels: Uint8Array, classNames: readonly string[]): ByteImageDataset {
    const [h, w] = this.size;
    const plane = h * w;
    if (this.channels || !this.allGrey)
      return new ByteImageDataset(name, this.rows, labels, [this.c, h, w], classNames);
    // Grey pictures give three equal planes: the first is the grey picture (image.ts keeps R = G = B exact).
    const grey = new Uint8Array(this.count * plane);
    for (let i = 0; i < this.count; i++) grey.set(this.rows.subarray(3 * i * plane, (3 * i + 1) * plane), i * plane);
    return new ByteImageDataset(name, grey, labels, [1, h, w], classNames);
  }
}

function isGrey(rgba: Uint8Array): boolean {
  for (let i = 0; i < rgba.length; i += 4) if (rgba[i] !== rgba[i + 1] || rgba[i] !== rgba[i + 2]) return false;
  return true;
}
