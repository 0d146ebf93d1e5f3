import { closeSync, openSync, readSync } from 'node:fs';
import { DataFormatError } from '../errors.js';
import { fileSize, onFile, readFileChecked, readTextChecked } from '../files/checked.js';
import { checkBudget, memoryBudget } from './budget.js';
import { findFile, locateFiles } from './catalog.js';
import { checkCifarRecords, cifar10Classes, cifarPixels, cifarRecord, parseCifarClassNames } from './cifar-bytes.js';
import { ByteImageDataset } from './dataset.js';
import { gunzipChecked, gzipCeiling, isGzip } from './gzip.js';

const pixels = cifarPixels;
const record = cifarRecord;

export { cifar10Classes };

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

/**
 * The test split when it is here: test_batch.bin, else the partial copy test_batch_first1000.bin
 * (its first 1,000 records) that some mirrors carry; null when neither is.
 */
export function readCifarTestIfAny(dir: string): ByteImageDataset | null {
  for (const [file, name] of [
    ['test_batch.bin', 'cifar-10-test'],
    ['test_batch_first1000.bin', 'cifar-10-test-first1000'],
  ]) {
    const path = findFile(dir, 'cifar-10', file);
    if (path) return readCifarBatches([path], name, readClassNames(dir));
  }
  return null;
}

/**
 * Reads CIFAR-10 batch files (any names, raw or .gz, multi-member gzip too) into one data set, in
 * the order given. Each file is inflated at most up to what the memory budget still allows.
 */
export function readCifarBatches(
  paths: string[],
  name: string,
  classNames: readonly string[] = cifar10Classes,
  budget = memoryBudget(),
): ByteImageDataset {
  // Sized first from the files (gzip keeps the uncompressed size of its last member in its last
  // 4 bytes), so the images are usually copied once into their final array; a wrong guess grows it.
  let images = new Uint8Array(paths.reduce((a, p) => a + sizeGuess(p, budget), 0) * pixels);
  let labels = new Uint8Array(images.length / pixels);
  let n = 0;
  for (const path of paths) {
    const room = budget - images.length - labels.length;
    checkBudget(fileSize(path), path, room);
    const raw = cifarRecords(readFileChecked(path), path, room);
    const count = raw.length / record;
    if (n + count > labels.length) {
      checkBudget((n + count) * (record + pixels), `${name} (${n + count} images)`, budget);
      const grown = new Uint8Array((n + count) * pixels);
      grown.set(images.subarray(0, n * pixels));
      images = grown;
      labels = Uint8Array.from({ length: n + count }, (_, i) => (i < n ? labels[i] : 0));
    }
    for (let r = 0; r < count; r++, n++) {
      const at = r * record;
      if (raw[at] >= classNames.length)
        throw new DataFormatError(
          `${path}: label ${raw[at]} of record ${r} at byte ${at} is out of range 0–${classNames.length - 1} — not a CIFAR-10 batch?`,
        );
      labels[n] = raw[at];
      images.set(raw.subarray(at + 1, at + record), n * pixels);
    }
  }
  return new ByteImageDataset(name, images.subarray(0, n * pixels), labels.subarray(0, n), [3, 32, 32], classNames);
}

/** A batch file's bytes as read (raw or gzip) → its records, inflated at most to `room` bytes; refused when empty or not whole records. */
export function cifarRecords(file: Uint8Array, path: string, room: number): Uint8Array {
  const raw = isGzip(file)
    ? gunzipChecked(file, path, Math.max(room, 1), 'the memory budget leaves for it (CONVTS_MEMORY_BUDGET)')
    : file;
  return checkCifarRecords(raw, path);
}

/** Class names from batches.meta.txt (one per line), or the published list when the file is absent. */
function readClassNames(dir: string): string[] {
  const path = findFile(dir, 'cifar-10', 'batches.meta.txt');
  if (!path) return cifar10Classes;
  return parseCifarClassNames(readTextChecked(path, 1 << 20), path);
}

/** How many records a batch file probably holds, read from its size or gzip trailer without inflating. */
function sizeGuess(path: string, budget: number): number {
  const size = fileSize(path);
  return onFile(path, 'cannot read', () => {
    const fd = openSync(path, 'r');
    try {
      const head = new Uint8Array(2);
      readSync(fd, head, 0, 2, 0);
      if (!isGzip(head)) return Math.floor(size / record);
      const tail = new Uint8Array(4);
      readSync(fd, tail, 0, 4, Math.max(0, size - 4));
      const isize = new DataView(tail.buffer).getUint32(0, true);
      // A trailer claiming more than deflate can expand to, or than the budget, is only a guess gone wrong.
      return Math.floor(Math.min(isize, gzipCeiling(size), budget / 2) / record);
    } finally {
      closeSync(fd);
    }
  });
}
