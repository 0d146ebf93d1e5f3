import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataFormatError } from '../errors.js';
import { ByteImageDataset, channelStats } from './dataset.js';
import { readIdx } from './idx.js';

const files = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/** Finds `<dir>/mnist/<name>[.gz]` (or `<dir>/<name>[.gz]`). */
function locate(dir: string, name: string, set: string): string {
  for (const base of [join(dir, set), dir]) {
    for (const f of [`${name}.gz`, name]) {
      const p = join(base, f);
      if (existsSync(p)) return p;
    }
  }
  throw new ConfigError(`${set}: ${name}(.gz) not found in ${join(dir, set)} — point --data-dir at the folder that holds ${set}/ (e.g. ../shared/datasets)`);
}

/** Reads one split of an MNIST-layout set (MNIST, Fashion-MNIST): 28×28 grey images, labels 0–9. */
export function readMnistSplit(dir: string, split: 'train' | 'test', set = 'mnist'): ByteImageDataset {
  const [imgName, lblName] = files[split];
  const imgPath = locate(dir, imgName, set);
  const lblPath = locate(dir, lblName, set);
  const img = readIdx(imgPath, 3);
  const lbl = readIdx(lblPath, 1);
  const [n, h, w] = img.dims;
  if (lbl.dims[0] !== n) {
    throw new DataFormatError(`${lblPath}: ${lbl.dims[0]} labels for ${n} images in ${imgPath} — the files do not belong together`);
  }
  const bad = lbl.data.findIndex((v) => v > 9);
  if (bad >= 0) throw new DataFormatError(`${lblPath}: label ${lbl.data[bad]} at byte ${8 + bad} is out of range 0–9`);
  const classes = Array.from({ length: 10 }, (_, i) => String(i));
  return new ByteImageDataset(`${set}-${split}`, img.data, lbl.data, [1, h, w], classes, { mean: [0], std: [1] });
}

/** Train and test splits, z-scored with the training set's mean and standard deviation. */
export function loadMnist(dir: string, set = 'mnist'): { train: ByteImageDataset; test: ByteImageDataset } {
  const train = readMnistSplit(dir, 'train', set);
  const norm = channelStats(train.images, 1, train.shape[1] * train.shape[2]);
  return { train: train.withNorm(norm), test: readMnistSplit(dir, 'test', set).withNorm(norm) };
}
