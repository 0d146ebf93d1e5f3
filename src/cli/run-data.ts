import { existsSync, statSync } from 'node:fs';
import {
  ByteImageDataset,
  type Dataset,
  type LoadOptions,
  loadDataset,
  type Normalization,
  resolveDataDir,
} from '../data/index.js';
import { ConfigError, UsageError } from '../errors.js';
import { type RunSummary, readRunJson } from '../report/run-report.js';
import { choice, num } from './args.js';

/** What the commands that work on a saved run read from its config.json. */
export interface RunConfig {
  model?: string;
  dataset?: string;
  dataDir?: string;
  trainLimit?: number | null;
  testLimit?: number | null;
  seed?: number;
  normalization?: Normalization;
  [key: string]: unknown;
}

/** Checks that `run` is a run directory and reads its config.json and summary.json. */
export function openRun(run: string | undefined, command: string): { config: RunConfig; summary: RunSummary } {
  if (!run)
    throw new UsageError(
      `${command}: give a run directory written by convts train (e.g. runs/mnist) — see convts ${command} --help`,
    );
  if (!existsSync(run) || !statSync(run).isDirectory())
    throw new ConfigError(`${run}: no such run directory — give the --out folder of convts train`);
  return { config: readRunJson<RunConfig>(run, 'config.json'), summary: readRunJson<RunSummary>(run, 'summary.json') };
}

// The run's data is re-read with the run's own loading options (limits, subset, seed,
// normalization mode, image size, channels, validation hold-out), so that the images and their
// normalization are the ones training used. config.json is the run's record of them.
function loadOptions(config: RunConfig, sameData: boolean): LoadOptions {
  const pick = (k: string) => (config[k] === null ? undefined : config[k]);
  const shape = {
    normalize: pick('normalize'),
    flatten: pick('flatten'),
    size: pick('imageSize'),
    channels: pick('channels'),
  };
  return (
    sameData
      ? {
          ...shape,
          val: pick('val'),
          trainLimit: pick('trainLimit'),
          testLimit: pick('testLimit'),
          subset: pick('subset'),
          seed: pick('seed'),
        }
      : shape
  ) as LoadOptions;
}

/**
 * The images a run was evaluated on (or another data set given by flags): its test split (or
 * validation hold-out), limited as in training unless --test-limit says otherwise, or its
 * training split with --split train.
 */
export function runDataset(
  config: RunConfig,
  v: { dataset?: string; 'data-dir'?: string; 'test-limit'?: string; split?: string },
): Dataset {
  const sameData = v.dataset === undefined || v.dataset === config.dataset;
  const name = v.dataset ?? config.dataset ?? 'mnist';
  const dir = v['data-dir'] ?? (sameData ? config.dataDir : undefined) ?? resolveDataDir(undefined);
  const split = choice('split', v.split, ['test', 'train'] as const, 'test');
  const o = loadOptions(config, sameData);
  const limit =
    v['test-limit'] !== undefined
      ? num('test-limit', v['test-limit'], 0, { int: true, min: 1 })
      : split === 'test' && sameData
        ? o.testLimit
        : undefined;
  const loaded = loadDataset(name, dir, { ...o, testLimit: split === 'test' ? limit : undefined })[split];
  if (!loaded) throw new ConfigError(`${name} has no ${split} split here — give --split train or another --dataset`);
  // The model expects the normalization it was trained with (an imported model's is not its data set's).
  const data =
    config.normalization &&
    loaded instanceof ByteImageDataset &&
    loaded.norm.mean.length === config.normalization.mean.length
      ? loaded.with({ norm: config.normalization })
      : loaded;
  return limit && data.length > limit ? firstN(data, limit) : data;
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
