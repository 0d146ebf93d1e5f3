import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  ByteImageDataset,
  type LoadOptions,
  loadDataset,
  locateFiles,
  type Normalization,
  readSplit,
  resolveDataDir,
  subset,
} from '../data/index.js';
import { ConfigError, UsageError } from '../errors.js';
import { loadFeatureDatasets } from '../features/index.js';
import type { Dataset } from '../train/dataset.js';
import { type RunConfig, readRunConfig } from './config.js';
import { type RunSummary, readRunSummary, summaryFile } from './summary.js';

/**
 * Checks that `run` is a run directory and reads its config.json and summary.json (null for a
 * model saved by saveModel, which has no summary). `command` names the caller in the errors.
 */
export function openRun(run: string | undefined, command: string): { config: RunConfig; summary: RunSummary | null } {
  if (!run)
    throw new UsageError(
      `${command}: give a run directory written by convts train (e.g. runs/mnist) — see convts ${command} --help`,
    );
  if (!existsSync(run) || !statSync(run).isDirectory())
    throw new ConfigError(`${run}: no such run directory — give the --out folder of convts train`);
  const config = readRunConfig(run);
  return { config, summary: existsSync(join(run, summaryFile)) ? readRunSummary(run) : null };
}

// The run's data is re-read with the run's own loading options (limits, subset, seed,
// normalization mode, image size, channels, validation hold-out), so that the images are the
// ones training used. config.json is the run's record of them.
function loadOptions(config: RunConfig, sameData: boolean): LoadOptions {
  const pick = <K extends keyof RunConfig>(k: K) => config[k] ?? undefined;
  const shape = {
    normalize: pick('normalize'),
    flatten: pick('flatten'),
    size: pick('imageSize'),
    channels: pick('channels'),
    maxPixels: pick('maxPixels'),
  };
  return sameData
    ? {
        ...shape,
        val: pick('val'),
        trainLimit: pick('trainLimit'),
        testLimit: pick('testLimit'),
        subset: pick('subset'),
        seed: pick('seed'),
      }
    : shape;
}

/** Which images runDataset reads: another data set or folder, a limit, the training split. */
export interface RunDataOptions {
  dataset?: string;
  dataDir?: string;
  testLimit?: number;
  /** validation: the images the run held out with --val, from whichever data set is read. */
  split?: 'test' | 'train' | 'validation';
}

/**
 * The samples a run was evaluated on (or another data set): its test split (or validation
 * hold-out), limited as in training unless `testLimit` says otherwise, or its training split.
 * Images get the run's recorded normalization; a run trained on a feature file reads that file.
 */
export function runDataset(config: RunConfig, o: RunDataOptions = {}): Dataset {
  const sameData = o.dataset === undefined || o.dataset === config.dataset;
  if (o.split === 'validation' && (config.val ?? null) === null) {
    throw new UsageError(
      'the run held out no validation images (it was trained without --val) — give --split test or train',
    );
  }
  const split = o.split === 'train' ? 'train' : 'test';
  if (config.features && sameData) return featureSplit(config.features, split, o.testLimit ?? config.testLimit);
  const name = o.dataset ?? config.dataset;
  if (!name)
    throw new UsageError('the run does not record its data set (saveModel was given none) — give --dataset NAME');
  const dir = o.dataDir ?? (sameData ? config.dataDir : undefined) ?? resolveDataDir(undefined);
  const opts = loadOptions(config, sameData);
  // The same hold-out rule on any copy of the pictures (a playground model names its folder only).
  if (o.split === 'validation') opts.val = config.val ?? undefined;
  const limit = o.testLimit ?? (split === 'test' && sameData ? opts.testLimit : undefined);
  const norm = config.normalization;
  // A run that recorded its normalization needs no training images to read its test split: the
  // training split (all 50,000 of CIFAR-10) took seconds to read only to be dropped.
  // So does a folder's training split (which may be all of it: a folder without test/ has no test
  // split, and prepare() would want one).
  const folder = name.startsWith('folder:');
  const alone = norm && opts.val === undefined && (split === 'test' ? !folder : folder);
  let data: Dataset | null = alone
    ? splitAlone(name, dir, split, opts, limit, norm)
    : loadDataset(name, dir, { ...opts, testLimit: split === 'test' ? limit : undefined })[split];
  if (!data) throw new ConfigError(`${name} has no ${split} split here — give --split train or another --dataset`);
  // The model expects inputs scaled as in training, whatever these images' own statistics are.
  if (norm && data instanceof ByteImageDataset && norm.mean.length === data.imageShape[0]) data = data.with({ norm });
  return limit && data.length > limit ? firstN(data, limit) : data;
}

/** One split as prepare() makes it, a test split limited with the same subset rule (a training split: see runDataset). */
function splitAlone(
  name: string,
  dir: string,
  split: 'test' | 'train',
  o: LoadOptions,
  limit: number | undefined,
  norm: Normalization,
) {
  if (!name.startsWith('folder:')) locateFiles(name, dir, [split]);
  let data = readSplit(name, dir, split, o);
  if (!data?.length) return null;
  if (split === 'test' && limit !== undefined) data = subset(data, limit, o.subset ?? 'first', (o.seed ?? 1) + 1);
  return data.with({ norm, flat: o.flatten ?? false });
}

/** One split of a feature file, limited to its first `limit` vectors. */
function featureSplit(path: string, split: 'test' | 'train', limit: number | null | undefined): Dataset {
  if (!existsSync(path))
    throw new ConfigError(
      `${path} not found: the run was trained on this feature file — make it again with the convts features command that wrote it (--out ${path})`,
    );
  const d = loadFeatureDatasets(path)[split];
  return limit ? d.head(limit) : d;
}

// The first n samples of a data set, as a view.
function firstN(d: Dataset, n: number): Dataset {
  return {
    name: d.name,
    length: n,
    shape: d.shape,
    labels: d.labels.subarray(0, n),
    classNames: d.classNames,
    fill: d.fill.bind(d),
  };
}

/**
 * The normalization the run's training data had: config.json's "normalization", else
 * recomputed from its training set the way convts train did.
 */
export function runNormalization(
  config: RunConfig,
  dataDir: string | undefined,
  say: (s: string) => void,
): Normalization {
  if (config.normalization) return config.normalization;
  const name = config.dataset ?? 'mnist';
  say(`config.json records no normalization; recomputing it from the ${name} training set`);
  return loadDataset(name, dataDir ?? config.dataDir ?? resolveDataDir(undefined), loadOptions(config, true)).norm;
}
