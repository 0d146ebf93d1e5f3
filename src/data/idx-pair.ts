// An IDX image file and its label file as one data set, checked to belong together. No file access:
// the Node readers and the browser playground both hand it bytes already in memory.
import { DataFormatError } from '../errors.js';
import { ByteImageDataset } from './dataset.js';
import type { IdxArray } from './idx-bytes.js';

export const idxClassNames: Record<string, string[]> = {
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

/** Images (N×H×W) and labels (N, each 0–9) as grey images with [0, 1] scaling; paths name the files in errors. */
export function idxPairDataset(
  name: string,
  img: IdxArray,
  lbl: IdxArray,
  imgPath: string,
  lblPath: string,
  classNames: readonly string[],
): ByteImageDataset {
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
  return new ByteImageDataset(name, img.data, lbl.data, [1, h, w], classNames);
}
