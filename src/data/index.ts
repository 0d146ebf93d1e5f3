import { ConfigError, DataFormatError } from '../errors.js';
import { type DataSetInfo, datasetInfo, datasetNames, findFile, locateFiles, MissingDataError } from './catalog.js';
import { readCifarSplit, readCifarTestIfAny } from './cifar.js';
import type { ByteImageDataset } from './dataset.js';
import { type DownloadOptions, downloadDataset } from './download.js';
import { type FolderOptions, readFolderSplit } from './folder.js';
import { readMnistSplit } from './mnist.js';
import { type PreparedData, type PrepareOptions, prepare } from './prepare.js';

export { type Augmentation, AugmentedDataset, defaultAugmentation, parseAugmentation, warpImage } from './augment.js';
export { budgetName, checkBudget, memoryBudget } from './budget.js';
export {
  catalog,
  type DataFile,
  type DataSetInfo,
  type DatasetName,
  dataDirs,
  datasetInfo,
  datasetNames,
  defaultDataDirText,
  findFile,
  locateFiles,
  MissingDataError,
  resolveDataDir,
  type Source,
  storedName,
  systemDataDir,
} from './catalog.js';
export { cifar10Classes, readCifarBatches, readCifarSplit, readCifarTestIfAny } from './cifar.js';
export { ByteImageDataset, type ImageShape, type Normalization, unitScale } from './dataset.js';
export {
  checkContent,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
  DownloadStopped,
  downloadDataset,
} from './download.js';
export { type FolderOptions, readFolder, readFolderSplit } from './folder.js';
export { type FolderLayout, type FolderSample, folderLayout, isSkipped, pictureExtensions } from './folder-layout.js';
export { gunzipChecked, gunzipHead, isGzip } from './gzip.js';
export { parseIdx, parseIdxHeader, readIdx } from './idx.js';
export {
  type ImageBytes,
  type ImageOptions,
  type InputKind,
  type InputPreparation,
  imageBytes,
  inputKinds,
  inputPreparation,
  kindFrame,
  type PreparedImage,
  prepareImage,
} from './image.js';
export { readMnistSplit } from './mnist.js';
export {
  decodePicture,
  defaultMaxPixels,
  type Picture,
  type PictureOptions,
  pictureHeader,
  readPicture,
} from './picture.js';
export {
  isHoldOut,
  type PreparedData,
  type PrepareOptions,
  prepare,
  type SubsetMode,
  stratifiedIndices,
  subset,
  subsetModes,
} from './prepare.js';
export { readTar } from './tar.js';

export interface LoadOptions extends PrepareOptions, FolderOptions {}

/**
 * Reads one split of a data set as bytes ([0, 1] scaling until prepared): a named one, or
 * `folder:DIR` — DIR/train and DIR/test when both exist, else all of DIR as the training split
 * (the test split is then null: hold out a validation set).
 */
export function readSplit(
  name: string,
  dir: string,
  split: 'train' | 'test',
  o: FolderOptions = {},
): ByteImageDataset | null {
  if (name.startsWith('folder:')) return readFolderSplit(name.slice('folder:'.length), split, o);
  if (name === 'mnist' || name === 'fashion-mnist') return readMnistSplit(dir, split, name);
  if (name === 'cifar-10') return readCifarSplit(dir, split);
  throw new ConfigError(`no reader for data set "${name}" — use one of ${datasetNames.join(', ')}`);
}

/**
 * Loads a data set ready for training: the test split is read only when it is evaluated on
 * (with `val`, the hold-out replaces it), z-scored with the training statistics by default.
 */
export function loadDataset(name: string, dir: string, o: LoadOptions = {}): PreparedData {
  // One error for everything missing, before reading anything.
  if (!name.startsWith('folder:')) locateFiles(name, dir, o.val === undefined ? ['train', 'test'] : ['train']);
  const train = readSplit(name, dir, 'train', o)!;
  const test = o.val === undefined ? readSplit(name, dir, 'test', o) : testSplitIfAny(name, dir, o);
  if (test && test.classNames.join('\n') !== train.classNames.join('\n')) {
    throw new DataFormatError(
      `${name}: the test classes (${test.classNames.join(', ')}) differ from the training classes (${train.classNames.join(', ')})`,
    );
  }
  if (test && test.imageShape.join() !== train.imageShape.join()) {
    throw new DataFormatError(
      `${name}: test images are ${test.imageShape.join('×')}, training images ${train.imageShape.join('×')} — give --image-size`,
    );
  }
  return prepare(train, test, o);
}

/** With a validation hold-out, the test split is reported too when it is here (never downloaded for it). */
function testSplitIfAny(name: string, dir: string, o: FolderOptions): ByteImageDataset | null {
  if (name === 'cifar-10') return readCifarTestIfAny(dir);
  if (!name.startsWith('folder:')) {
    const files = datasetInfo(name).files.filter((f) => f.split === 'test');
    if (!files.every((f) => findFile(dir, name, f.name))) return null;
  }
  return readSplit(name, dir, 'test', o);
}

/** MNIST-layout train and test splits, z-scored with the training statistics. */
export function loadMnist(
  dir: string,
  set: 'mnist' | 'fashion-mnist' = 'mnist',
): { train: ByteImageDataset; test: ByteImageDataset } {
  const { train, test } = loadDataset(set, dir);
  return { train, test };
}

/**
 * loadDataset, downloading missing files first unless `download` is false (`download.info`
 * replaces the catalog entry, e.g. other mirrors). When the download fails too, the error lists
 * what is missing, its checksums and why every source failed.
 */
export async function loadOrDownload(
  name: string,
  dir: string,
  o: LoadOptions = {},
  download: (DownloadOptions & { info?: DataSetInfo }) | false = {},
): Promise<PreparedData> {
  try {
    return loadDataset(name, dir, o);
  } catch (e) {
    if (!(e instanceof MissingDataError) || download === false) throw e;
    const splits = [...new Set(e.missing.map((f) => f.split))];
    try {
      await downloadDataset(download.info ?? datasetInfo(name), dir, { ...download, splits });
    } catch (d) {
      if (d instanceof MissingDataError) throw new MissingDataError(d.set, d.dir, d.missing, d.reasons, e.hint);
      throw d;
    }
    return loadDataset(name, dir, o);
  }
}
