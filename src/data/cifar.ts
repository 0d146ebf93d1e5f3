import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { DataFormatError } from '../errors.js';
import { findFile, locateFiles } from './catalog.js';
import { ByteImageDataset } from './dataset.js';
import { readMaybeGzip } from './gzip.js';

const pixels = 3 * 32 * 32;
const record = 1 + pixels; // one label byte, then the R, G and B planes

export const cifar10Classes = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/**
 * Reads one split of CIFAR-10's binary version (data_batch_1..5.bin or test_batch.bin, raw or
 * .gz) into one byte array of 3×32×32 images; class names come from batches.meta.txt.
 */
export function readCifarSplit(dir: string, split: 'train' | 'test'): ByteImageDataset {
  return readCifarBatches(
    Object.values(locateFiles('cifar-10', dir, [split])),
    `cifar-10-${split}`,
    readClassNames(dir),
  );
}

/** Reads CIFAR-10 batch files (any names, raw or .gz) into one data set, in the order given. */
export function readCifarBatches(
  paths: string[],
  name: string,
  classNames: readonly string[] = cifar10Classes,
): ByteImageDataset {
  // Size everything first (gzip keeps the uncompressed size in its last 4 bytes), so the images
  // are copied once into their final array and only one decompressed batch exists at a time.
  const sizes = paths.map(uncompressedSize);
  const total = sizes.reduce((a, b) => a + Math.floor(b / record), 0);
  const images = new Uint8Array(total * pixels);
  const labels = new Uint8Array(total);
  let n = 0;
  paths.forEach((path, k) => {
    const raw = readMaybeGzip(path);
    if (raw.length !== sizes[k])
      throw new DataFormatError(
        `${path}: gzip trailer says ${sizes[k]} bytes, the stream holds ${raw.length} — the file is corrupted`,
      );
    if (raw.length % record !== 0) {
      const last = Math.floor(raw.length / record);
      throw new DataFormatError(
        `${path}: ${raw.length} bytes is not a whole number of ${record}-byte records — record ${last} at byte ${last * record} is cut short (truncated file?)`,
      );
    }
    for (let r = 0; r < raw.length / record; r++, n++) {
      const at = r * record;
      if (raw[at] > 9)
        throw new DataFormatError(
          `${path}: label ${raw[at]} of record ${r} at byte ${at} is out of range 0–9 — not a CIFAR-10 batch?`,
        );
      labels[n] = raw[at];
      images.set(raw.subarray(at + 1, at + record), n * pixels);
    }
  });
  return new ByteImageDataset(name, images, labels, [3, 32, 32], classNames);
}

/** Class names from batches.meta.txt (one per line), or the published list when the file is absent. */
function readClassNames(dir: string): string[] {
  const path = findFile(dir, 'cifar-10', 'batches.meta.txt');
  if (!path) return cifar10Classes;
  const names = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length !== 10)
    throw new DataFormatError(`${path}: expected 10 class names, one per line, found ${names.length}`);
  return names;
}

/** The uncompressed size of a raw or single-member gzip file, without decompressing it. */
function uncompressedSize(path: string): number {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(2);
    readSync(fd, head, 0, 2, 0);
    if (!(head[0] === 0x1f && head[1] === 0x8b)) return size;
    const tail = new Uint8Array(4);
    readSync(fd, tail, 0, 4, Math.max(0, size - 4));
    const isize = new DataView(tail.buffer).getUint32(0, true);
    // Deflate cannot expand more than ~1032×: a larger claim means a cut or damaged file, and
    // gunzipping it gives the precise error.
    if (isize > size * 1100) {
      readMaybeGzip(path);
      throw new DataFormatError(
        `${path}: gzip trailer claims ${isize} bytes from ${size} compressed — the file is corrupted`,
      );
    }
    return isize;
  } finally {
    closeSync(fd);
  }
}
