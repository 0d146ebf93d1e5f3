// CIFAR-10 batch bytes already in memory (no file, no inflation): shared by the Node reader and the browser.
import { DataFormatError } from '../errors.js';
import { ByteImageDataset } from './dataset.js';

export const cifarPixels = 3 * 32 * 32;
export const cifarRecord = 1 + cifarPixels; // one label byte, then the R, G and B planes

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

/** Refuses a batch that is empty or not whole records, naming the file and where it is cut. */
export function checkCifarRecords(raw: Uint8Array, path: string): Uint8Array {
  if (raw.length === 0) throw new DataFormatError(`${path}: the batch holds no records — is it the right file?`);
  if (raw.length % cifarRecord !== 0) {
    const last = Math.floor(raw.length / cifarRecord);
    throw new DataFormatError(
      `${path}: ${raw.length} bytes is not a whole number of ${cifarRecord}-byte records — record ${last} at byte ${last * cifarRecord} is cut short (truncated file?)`,
    );
  }
  return raw;
}

/** Class names from batches.meta.txt's text (one per line); `path` names it in the error. */
export function parseCifarClassNames(text: string, path: string): string[] {
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length !== 10)
    throw new DataFormatError(`${path}: expected 10 class names, one per line, found ${names.length}`);
  return names;
}

/** Inflated batches, in the order given, as one data set of 3×32×32 images. */
export function cifarDataset(
  batches: { name: string; bytes: Uint8Array }[],
  name: string,
  classNames: readonly string[] = cifar10Classes,
): ByteImageDataset {
  const count = batches.reduce((a, b) => a + checkCifarRecords(b.bytes, b.name).length / cifarRecord, 0);
  const images = new Uint8Array(count * cifarPixels);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const b of batches) {
    for (let at = 0; at < b.bytes.length; at += cifarRecord, n++) {
      if (b.bytes[at] >= classNames.length)
        throw new DataFormatError(
          `${b.name}: label ${b.bytes[at]} of record ${at / cifarRecord} at byte ${at} is out of range 0–${classNames.length - 1} — not a CIFAR-10 batch?`,
        );
      labels[n] = b.bytes[at];
      images.set(b.bytes.subarray(at + 1, at + cifarRecord), n * cifarPixels);
    }
  }
  return new ByteImageDataset(name, images, labels, [3, 32, 32], classNames);
}
