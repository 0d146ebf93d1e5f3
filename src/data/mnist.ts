import { DataFormatError } from '../errors.js';
import { locateFiles } from './catalog.js';
import { ByteImageDataset } from './dataset.js';
import { readIdx } from './idx.js';

const files = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

const classNames: Record<string, string[]> = {
  mnist: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  'fashion-mnist': [
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ],
};

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
  const [n, h, w] = img.dims;
  if (n === 0 || h === 0 || w === 0)
    throw new DataFormatError(`${imgPath}: the header says ${n}×${h}×${w} — the file holds no images`);
  if (lbl.dims[0] !== n) {
    throw new DataFormatError(
      `${lblPath}: ${lbl.dims[0]} labels for ${n} images in ${imgPath} — the files do not belong together`,
    );
  }
  const bad = lbl.data.findIndex((v) => v > 9);
  if (bad >= 0) throw new DataFormatError(`${lblPath}: label ${lbl.data[bad]} at byte ${8 + bad} is out of range 0–9`);
  return new ByteImageDataset(`${set}-${split}`, img.data, lbl.data, [1, h, w], classNames[set]);
}
