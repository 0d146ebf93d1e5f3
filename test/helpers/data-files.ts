import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Rng } from '../../src/index.js';
import { idx as idxBytes } from './mnist.js';

// Temporary folders (removed after their test) and IDX bytes come from the shared helpers.
export { tempDir as tmpDir } from './tmp.js';
export { idxBytes };

/** n random h×w grey images with labels cycling 0–9. */
export function greyImages(n: number, seed: number, h = 28, w = 28): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  return {
    images: Uint8Array.from({ length: n * h * w }, () => rng.int(256)),
    labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
  };
}

/** Writes `<root>/<set>/` with the four IDX files (gzipped), n training and m test images. */
export function writeIdxSet(
  root: string,
  n: number,
  m: number,
  set = 'mnist',
): { train: ReturnType<typeof greyImages>; test: ReturnType<typeof greyImages> } {
  const dir = join(root, set);
  mkdirSync(dir, { recursive: true });
  const train = greyImages(n, 1);
  const test = greyImages(m, 2);
  const put = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes));
  put('train-images-idx3-ubyte', idxBytes([n, 28, 28], train.images));
  put('train-labels-idx1-ubyte', idxBytes([n], train.labels));
  put('t10k-images-idx3-ubyte', idxBytes([m, 28, 28], test.images));
  put('t10k-labels-idx1-ubyte', idxBytes([m], test.labels));
  return { train, test };
}

/** CIFAR-10 binary records: label byte then 3×32×32 pixels; pixel values derive from (record, channel, index). */
export function cifarRecords(labels: number[], first = 0): Uint8Array {
  const out = new Uint8Array(labels.length * 3073);
  labels.forEach((l, r) => {
    out[r * 3073] = l;
    for (let i = 0; i < 3072; i++) out[r * 3073 + 1 + i] = cifarPixel(first + r, i);
  });
  return out;
}

/** The pixel value cifarRecords writes for image k at planar index i (channel = ⌊i/1024⌋). */
export function cifarPixel(k: number, i: number): number {
  return (k * 31 + i * 7 + Math.floor(i / 1024) * 50) % 256;
}

/** Writes `<root>/cifar-10/` with `batches` training batches of `perBatch` records (labels cycling 0–9), a test batch and batches.meta.txt. */
export function writeCifarSet(root: string, batches: number, perBatch: number, testCount: number, gz = false): void {
  const dir = join(root, 'cifar-10');
  mkdirSync(dir, { recursive: true });
  const put = (name: string, bytes: Uint8Array) =>
    writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  for (let b = 0; b < batches; b++) {
    put(
      `data_batch_${b + 1}.bin`,
      cifarRecords(
        Array.from({ length: perBatch }, (_, i) => (b * perBatch + i) % 10),
        b * perBatch,
      ),
    );
  }
  if (testCount)
    put(
      'test_batch.bin',
      cifarRecords(
        Array.from({ length: testCount }, (_, i) => (i * 3) % 10),
        1000,
      ),
    );
  writeFileSync(join(dir, 'batches.meta.txt'), 'plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
}
