import { existsSync } from 'node:fs';
import os from 'node:os';
import { delimiter, join } from 'node:path';
import { ConfigError } from '../errors.js';

/** One canonical file of a data set. `md5` and `bytes` are of its uncompressed content. */
export interface DataFile {
  name: string;
  md5: string | null;
  bytes: number | null;
  /** Which split needs it. */
  split: 'train' | 'test' | 'meta';
  /** Canonically distributed gzipped, as `<name>.gz`. */
  gz: boolean;
}

/** Where a data set can be downloaded from: a folder URL with every file, or one .tar.gz holding them. */
export type Source = { kind: 'files'; base: string } | { kind: 'tar.gz'; url: string; prefix: string };

export interface DataSetInfo {
  name: string;
  files: DataFile[];
  sources: Source[];
  /** Added to the error when a test file is missing. */
  testHint?: string;
}

/** An IDX set (MNIST layout): the four files' uncompressed MD5s and the folder URLs that serve them. */
const idxSet = (name: string, md5s: [string, string, string, string], bases: string[]): DataSetInfo => ({
  name,
  files: [
    { name: 'train-images-idx3-ubyte', md5: md5s[0], bytes: 47_040_016, split: 'train', gz: true },
    { name: 'train-labels-idx1-ubyte', md5: md5s[1], bytes: 60_008, split: 'train', gz: true },
    { name: 't10k-images-idx3-ubyte', md5: md5s[2], bytes: 7_840_016, split: 'test', gz: true },
    { name: 't10k-labels-idx1-ubyte', md5: md5s[3], bytes: 10_008, split: 'test', gz: true },
  ],
  sources: bases.map((base) => ({ kind: 'files', base })),
});

const cifarBatch = (name: string, md5: string, split: 'train' | 'test'): DataFile => ({
  name,
  md5,
  bytes: 30_730_000,
  split,
  gz: false,
});

/**
 * The data sets convts can download, with checksums of the uncompressed files (so that any mirror's
 * gzip of the same content verifies — Debian's Fashion-MNIST, for one, is re-gzipped).
 */
export const catalog: Record<string, DataSetInfo> = {
  mnist: idxSet(
    'mnist',
    [
      '6bbc9ace898e44ae57da46a324031adb',
      'a25bea736e30d166cdddb491f175f624',
      '2646ac647ad5339dbf082846283269ea',
      '27ae3e4e09519cfbb04c329615203637',
    ],
    [
      'https://ossci-datasets.s3.amazonaws.com/mnist/',
      'https://storage.googleapis.com/cvdf-datasets/mnist/',
      'http://yann.lecun.com/exdb/mnist/',
    ],
  ),
  'fashion-mnist': idxSet(
    'fashion-mnist',
    [
      'f4a8712d7a061bf5bd6d2ca38dc4d50a',
      '9018921c3c673c538a1fc5bad174d6f9',
      '8181f5470baa50b63fa0f6fddb340f0a',
      '15d484375f8d13e6eb1aabb0c3f46965',
    ],
    [
      'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
      'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
    ],
  ),
  'cifar-10': {
    name: 'cifar-10',
    files: [
      cifarBatch('data_batch_1.bin', '5dd7e06a14cb22eb9f671a540d1b7c25', 'train'),
      cifarBatch('data_batch_2.bin', '5ea93a67294ea407fff1d09f752e9692', 'train'),
      cifarBatch('data_batch_3.bin', '942cd6a4bcdd0dd3c604fbe906cb4421', 'train'),
      cifarBatch('data_batch_4.bin', 'ae636b3ba5c66a11e91e8cb52e771fcb', 'train'),
      cifarBatch('data_batch_5.bin', '53f37980c15c3d472c316c40844f3f0d', 'train'),
      cifarBatch('test_batch.bin', '803d5f7f4d78ea53de84dbe85f74fb6d', 'test'),
      // The class names; its exact bytes vary between copies, so only its content is checked.
      { name: 'batches.meta.txt', md5: null, bytes: null, split: 'meta', gz: false },
    ],
    sources: [
      {
        kind: 'tar.gz',
        url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
        prefix: 'cifar-10-batches-bin/',
      },
    ],
    testHint:
      "CIFAR-10's test set is test_batch.bin (10,000 images). Without it, train with --val 10000: " +
      'that holds out the last 10,000 training images (exactly data_batch_5) and evaluates on them.',
  },
};

export const datasetNames = ['mnist', 'fashion-mnist', 'cifar-10'] as const;
export type DatasetName = (typeof datasetNames)[number];

/** Where Debian's dataset-* packages install (read-only); part of the default search path. */
export const systemDataDir = '/usr/share/datasets';

/** resolveDataDir's default, as the --help of every command with --data-dir says it. */
export const defaultDataDirText = `$CONVTS_DATA_DIR, else ~/.cache/convts:${systemDataDir}`;

/**
 * The data directory: the flag, else $CONVTS_DATA_DIR, else the per-user cache ($XDG_CACHE_HOME/convts
 * or ~/.cache/convts) followed by the system one. Any of them may be a search path (dirs joined by
 * ':'); files are looked up in each in turn and downloaded into the first.
 */
export function resolveDataDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.CONVTS_DATA_DIR) return env.CONVTS_DATA_DIR;
  return [join(env.XDG_CACHE_HOME || join(os.homedir(), '.cache'), 'convts'), systemDataDir].join(delimiter);
}

/** The folders of a data directory search path. */
export function dataDirs(dir: string): string[] {
  const dirs = dir.split(delimiter).filter(Boolean);
  return dirs.length ? dirs : ['.'];
}

export function datasetInfo(name: string): DataSetInfo {
  const info = catalog[name];
  if (!info)
    throw new ConfigError(
      `unknown data set "${name}" — use one of ${datasetNames.join(', ')}, or folder:<dir> for your own images`,
    );
  return info;
}

/** The name a file is stored under in the cache: the canonical one, with .gz where the canonical file is gzipped. */
export function storedName(f: DataFile): string {
  return f.gz ? `${f.name}.gz` : f.name;
}

/** Finds `<name>` or `<name>.gz` in `<dir>/<set>/`, else straight in `<dir>`, for each dir of the search path; null when absent. */
export function findFile(dir: string, set: string, name: string): string | null {
  for (const base of dataDirs(dir).flatMap((d) => [join(d, set), d])) {
    for (const f of [name, `${name}.gz`]) {
      const p = join(base, f);
      if (existsSync(p)) return p;
    }
  }
  return null;
}

/** Files are missing and could not be downloaded; the message says which, where they go and their checksums. */
export class MissingDataError extends ConfigError {
  constructor(
    readonly set: string,
    readonly dir: string,
    readonly missing: DataFile[],
    readonly reasons: string[] = [],
    readonly hint = '',
  ) {
    super(missingMessage(set, dir, missing, reasons, hint));
  }
}

function missingMessage(set: string, dir: string, missing: DataFile[], reasons: string[], hint: string): string {
  const where = join(dataDirs(dir)[0], set);
  const others = dataDirs(dir)
    .slice(1)
    .map((d) => join(d, set));
  const lines = missing.map(
    (f) =>
      `  ${f.name}(.gz) not found in ${where}${others.length ? ` nor ${others.join(', ')}` : ''} — ` +
      (f.md5 ? `md5 ${f.md5} (of the uncompressed content, ${f.bytes} bytes)` : 'one class name per line'),
  );
  return (
    `${set}: ${missing.length} file(s) missing:\n${lines.join('\n')}\n` +
    (reasons.length ? `download failed:\n${reasons.map((r) => `  ${r}`).join('\n')}\n` : '') +
    `put them in ${where}/, point --data-dir at the folder that holds ${set}/, ` +
    `or run "convts download ${set} --data-dir ${dir}" where there is network` +
    (hint ? `\n${hint}` : '')
  );
}

/**
 * Paths of the files the splits need (by canonical name), searching each folder of the data
 * directory's search path; throws a MissingDataError listing every absent file.
 */
export function locateFiles(set: string, dir: string, splits: DataFile['split'][]): Record<string, string> {
  const paths: Record<string, string> = {};
  const missing: DataFile[] = [];
  const info = datasetInfo(set);
  for (const f of info.files.filter((x) => splits.includes(x.split))) {
    const p = findFile(dir, set, f.name);
    if (p) paths[f.name] = p;
    else missing.push(f);
  }
  if (missing.length)
    throw new MissingDataError(set, dir, missing, [], missing.some((f) => f.split === 'test') ? info.testHint : '');
  return paths;
}
