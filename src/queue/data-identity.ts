import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import {
  type DataFile,
  type DownloadOptions,
  datasetInfo,
  downloadDataset,
  gunzipChecked,
  isGzip,
  locateFiles,
  MissingDataError,
} from '../data/index.js';
import { ConvtsError } from '../errors.js';

/** A data set as a trial names it: which one, and the SHA-256 of each file's uncompressed content it reads. */
export interface DataIdentity {
  dataset: string;
  files: { name: string; sha256: string }[];
}

// Hashing MNIST takes a fraction of a second, CIFAR-10 about a second: once per file and process.
const hashed = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

function sha256Of(path: string): string {
  const { size, mtimeMs } = statSync(path);
  const known = hashed.get(path);
  if (known && known.size === size && known.mtimeMs === mtimeMs) return known.sha256;
  const raw = readFileSync(path);
  const sha256 = createHash('sha256')
    .update(isGzip(raw) ? gunzipChecked(raw, path) : raw)
    .digest('hex');
  hashed.set(path, { size, mtimeMs, sha256 });
  return sha256;
}

/**
 * The identity of the files a run of `dataset` reads from `dataDir` (the test split only when
 * it is evaluated on), downloading missing ones through the catalog's downloader unless
 * `download` is false.
 */
export async function dataIdentity(
  dataset: string,
  dataDir: string,
  withTest: boolean,
  download: DownloadOptions | false,
): Promise<DataIdentity> {
  const splits: DataFile['split'][] = withTest ? ['train', 'test'] : ['train'];
  let paths: Record<string, string>;
  try {
    paths = locateFiles(dataset, dataDir, splits);
  } catch (e) {
    if (!(e instanceof MissingDataError) || download === false) throw e;
    await downloadDataset(datasetInfo(dataset), dataDir, { ...download, splits });
    paths = locateFiles(dataset, dataDir, splits);
  }
  return {
    dataset,
    files: Object.entries(paths)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, path]) => ({ name, sha256: sha256Of(path) })),
  };
}

/** Throws, naming the first file that differs, unless the local copy is the one the trial names. */
export function checkSameData(want: DataIdentity, have: DataIdentity, dataDir: string): void {
  for (const f of want.files) {
    const h = have.files.find((x) => x.name === f.name);
    if (h?.sha256 !== f.sha256)
      throw new ConvtsError(
        `${want.dataset} in ${dataDir} is not the sweep owner's copy: ${f.name} has SHA-256 ${h?.sha256.slice(0, 12) ?? '(missing)'}…, the trial names ${f.sha256.slice(0, 12)}… — give --data-dir a copy of the same files`,
      );
  }
}
