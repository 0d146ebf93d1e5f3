import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataFormatError } from '../errors.js';
import type { ByteImageDataset } from './dataset.js';
import { type FolderSample, folderLayout, isSkipped } from './folder-layout.js';
import { readPicture } from './picture.js';
import { PictureRows } from './picture-set.js';

export interface FolderOptions {
  /** 1 = grayscale, 3 = RGB; default: 1 when every image is grey, else 3. */
  channels?: 1 | 3;
  /**
   * Resize every image to height×width (its largest centred part of that aspect ratio, by the
   * resampling rule of every picture: see imageBytes); default: all images must have the first one's size.
   */
  size?: [number, number];
  /** Refuse images whose header declares more pixels than this (default: defaultMaxPixels). */
  maxPixels?: number;
}

/**
 * A data set from `root/<class name>/…/*.png|jpg` (the rules of folder-layout.ts: classes are the
 * first-level folders in sorted order, hidden files and __MACOSX left out): the training split
 * (`root/train/<class>/…` when root holds train/ and test/, else all of root).
 */
export function readFolder(root: string, o: FolderOptions = {}): ByteImageDataset {
  return readFolderSplit(root, 'train', o) as ByteImageDataset;
}

/** One split of a folder of pictures; the test split is null when root has no train/ and test/ folders. */
export function readFolderSplit(root: string, split: 'train' | 'test', o: FolderOptions = {}): ByteImageDataset | null {
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new ConfigError(`${root}: not a folder — expected ${root}/<class name>/<images>`);
  const layout = folderLayout(filesUnder(root), root);
  const samples = split === 'train' ? layout.train : layout.test;
  if (!samples) return null;
  const name = layout.test ? `folder:${join(root, split)}` : `folder:${root}`;
  return readSamples(root, samples, layout.classNames, name, o);
}

/** Every file below root as a "/"-separated relative path, not descending into skipped (hidden) folders. */
function filesUnder(root: string, rel = ''): string[] {
  return readdirSync(join(root, rel), { withFileTypes: true }).flatMap((e) => {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.name.startsWith('.') || e.name === '__MACOSX') return [];
    if (e.isDirectory()) return filesUnder(root, path);
    return isSkipped(path) ? [] : [path];
  });
}

function readSamples(
  root: string,
  samples: FolderSample[],
  classNames: string[],
  name: string,
  o: FolderOptions,
): ByteImageDataset {
  const first = readPicture(join(root, samples[0].path), o);
  const [h, w] = o.size ?? [first.height, first.width];
  const rows = new PictureRows(samples.length, [h, w], o.channels);
  samples.forEach((s, i) => {
    const path = join(root, s.path);
    const img = i === 0 ? first : readPicture(path, o);
    if (!o.size && (img.width !== w || img.height !== h)) {
      throw new DataFormatError(
        `${path}: image is ${img.height}×${img.width}, expected ${h}×${w} like ${join(root, samples[0].path)} — resize with --image-size`,
      );
    }
    rows.set(i, img);
  });
  return rows.dataset(
    name,
    Uint8Array.from(samples, (s) => s.label),
    classNames,
  );
}
