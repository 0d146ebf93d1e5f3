import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { ConfigError, DataFormatError } from '../errors.js';
import { ByteImageDataset } from './dataset.js';
import { imageBytes } from './image.js';
import { readPicture } from './picture.js';

export interface FolderOptions {
  /** 1 = grayscale, 3 = RGB; default: 1 when the first image is grey, else 3. */
  channels?: 1 | 3;
  /**
   * Resize every image to height×width (its largest centred part of that aspect ratio, by the
   * resampling rule of every picture: see imageBytes); default: all images must have the first one's size.
   */
  size?: [number, number];
  /** Refuse images whose header declares more pixels than this (default: defaultMaxPixels). */
  maxPixels?: number;
}

const extensions = new Set(['.png', '.jpg', '.jpeg']);

/**
 * A data set from `root/<class name>/*.png|jpg`: classes are the subfolders in sorted order. The
 * samples are interleaved class by class (first image of each class, then the second, …), so
 * "the last N in file order" — the validation hold-out — draws from every class.
 */
export function readFolder(root: string, o: FolderOptions = {}): ByteImageDataset {
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new ConfigError(`${root}: not a folder — expected ${root}/<class name>/<images>`);
  const classNames = readdirSync(root)
    .filter((d) => statSync(join(root, d)).isDirectory())
    .sort();
  const perClass = classNames.map((c) =>
    readdirSync(join(root, c))
      .filter((f) => extensions.has(extname(f).toLowerCase()))
      .sort()
      .map((f) => join(root, c, f)),
  );
  if (classNames.length < 2 || classNames.length > 256) {
    throw new ConfigError(
      `${root}: found ${classNames.length} class folder(s), need 2 to 256 — put each class's images in ${root}/<class name>/`,
    );
  }
  const empty = classNames.find((_, c) => perClass[c].length === 0);
  if (empty) throw new ConfigError(`${join(root, empty)}: no .png or .jpg images`);
  const order: { path: string; label: number }[] = [];
  const total = perClass.reduce((n, files) => n + files.length, 0);
  for (let k = 0; order.length < total; k++) {
    perClass.forEach((files, c) => {
      if (k < files.length) order.push({ path: files[k], label: c });
    });
  }
  const first = readPicture(order[0].path, o);
  const [h, w] = o.size ?? [first.height, first.width];
  const channels = o.channels ?? (isGrey(first.rgba) ? 1 : 3);
  const size = channels * h * w;
  const images = new Uint8Array(order.length * size);
  const labels = Uint8Array.from(order, (s) => s.label);
  order.forEach((s, i) => {
    const img = i === 0 ? first : readPicture(s.path, o);
    if (!o.size && (img.width !== w || img.height !== h)) {
      throw new DataFormatError(
        `${s.path}: image is ${img.height}×${img.width}, expected ${h}×${w} like ${order[0].path} — resize with --image-size`,
      );
    }
    images.set(imageBytes(img, [channels, h, w], 'photos').bytes, i * size);
  });
  return new ByteImageDataset(`folder:${root}`, images, labels, [channels, h, w], classNames);
}

function isGrey(rgba: Uint8Array): boolean {
  for (let i = 0; i < rgba.length; i += 4) if (rgba[i] !== rgba[i + 1] || rgba[i] !== rgba[i + 2]) return false;
  return true;
}
