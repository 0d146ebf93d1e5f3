import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Rng } from '../../src/index.js';

/** IDX bytes: magic 0x00 0x00 0x08 ndims, big-endian uint32 sizes, then the uint8 data. */
export function idx(dims: number[], data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x800 | dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/**
 * n grey size×size images with labels 0–9: class c is a bright square at its own place on a
 * 4×4 grid plus noise, easy to learn.
 */
export function patternImages(n: number, seed: number, size = 28): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const labels = Uint8Array.from({ length: n }, (_, i) => (i + rng.int(3)) % 10);
  const images = new Uint8Array(n * size * size);
  const cell = Math.floor(size / 4);
  for (let s = 0; s < n; s++) {
    const top = Math.floor(labels[s] / 4) * cell;
    const left = (labels[s] % 4) * cell;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const on = y >= top && y < top + cell && x >= left && x < left + cell;
        images[(s * size + y) * size + x] = Math.min(255, (on ? 200 : 0) + rng.int(40));
      }
    }
  }
  return { images, labels };
}

export const mnistFiles = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
];

/** Writes `<root>/<set>/…-ubyte.gz` for a train and a test split of pattern images, as MNIST lays them out. */
export function writeMnistDir(root: string, trainCount: number, testCount: number, set = 'mnist'): void {
  const dir = join(root, set);
  mkdirSync(dir, { recursive: true });
  const splits = [patternImages(trainCount, 1), patternImages(testCount, 2)];
  splits.forEach(({ images, labels }, i) => {
    writeFileSync(join(dir, `${mnistFiles[2 * i]}.gz`), gzipSync(idx([labels.length, 28, 28], images)));
    writeFileSync(join(dir, `${mnistFiles[2 * i + 1]}.gz`), gzipSync(idx([labels.length], labels)));
  });
}
