import { locateFiles } from './catalog.js';
import type { ByteImageDataset } from './dataset.js';
import { readIdx } from './idx.js';
import { idxClassNames, idxPairDataset } from './idx-pair.js';

const files = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/** Reads one split of an IDX data set (MNIST, Fashion-MNIST): grey images as bytes, labels 0–9, [0, 1] scaling. */
export function readMnistSplit(
  dir: string,
  split: 'train' | 'test',
  set: 'mnist' | 'fashion-mnist' = 'mnist',
): ByteImageDataset {
  const paths = locateFiles(set, dir, [split]);
  const [imgName, lblName] = files[split];
  const imgPath = paths[imgName];
  const lblPath = paths[lblName];
  const img = readIdx(imgPath, 3);
  const lbl = readIdx(lblPath, 1);
  return idxPairDataset(`${set}-${split}`, img, lbl, imgPath, lblPath, idxClassNames[set]);
}
