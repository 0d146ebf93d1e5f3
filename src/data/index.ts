import { ConfigError } from '../errors.js';
import type { ByteImageDataset } from './dataset.js';
import { loadMnist } from './mnist.js';

export { ByteImageDataset, channelStats, type Dataset, type Normalization } from './dataset.js';
export { parseIdx, readIdx, readMaybeGzip } from './idx.js';
export { loadMnist, readMnistSplit } from './mnist.js';

export const datasetNames = ['mnist', 'fashion-mnist'] as const;

/** The data directory: the flag, else $CONVTS_DATA_DIR, else ./data. */
export function resolveDataDir(flag: string | undefined): string {
  return flag ?? process.env.CONVTS_DATA_DIR ?? 'data';
}

/** Loads a named data set's train and test splits, z-scored with the training statistics. */
export function loadDataset(name: string, dir: string): { train: ByteImageDataset; test: ByteImageDataset } {
  if (name === 'mnist' || name === 'fashion-mnist') return loadMnist(dir, name);
  throw new ConfigError(`unknown data set "${name}" — use one of ${datasetNames.join(', ')}`);
}
