/** The data a training run reads: images (downloaded if missing) or a feature file, normalized as the run says. */
import { AugmentedDataset, ByteImageDataset, loadOrDownload, type Normalization } from '../data/index.js';
import { ConfigError, UsageError } from '../errors.js';
import { loadFeatureDatasets } from '../features/index.js';
import { readRunConfig } from '../run/index.js';
import { downloadReporter } from './download.js';
import type { TrainConfig } from './train-flags.js';

/**
 * The training set (augmented if asked) and the evaluation set, with the normalization they were
 * given; `stop` aborts a download of missing files (DownloadStopped, nothing partial left).
 */
export async function loadTrainingData(config: TrainConfig, offline: boolean, stop?: AbortSignal) {
  const { seed } = config;
  const loaded = config.features
    ? featureData(config.features, config)
    : await loadOrDownload(
        config.dataset,
        config.dataDir,
        {
          val: config.val ?? undefined,
          trainLimit: config.trainLimit ?? undefined,
          testLimit: config.testLimit ?? undefined,
          subset: config.subset,
          seed,
          normalize: config.normalize,
          flatten: config.flatten,
          size: config.imageSize ?? undefined,
          channels: config.channels ?? undefined,
          maxPixels: config.maxPixels ?? undefined,
        },
        offline ? false : { ...downloadReporter(), signal: stop },
      );
  const data = config.initFrom ? startingNormalization(config.initFrom, loaded) : loaded;
  const trainSet =
    config.augment && data.train instanceof ByteImageDataset
      ? new AugmentedDataset(data.train, config.augment, seed)
      : data.train;
  // With --val: the test split too, when it is here, reported beside the validation set.
  const testSplit = 'testSplit' in data ? (data.testSplit ?? null) : null;
  return { data, trainSet, testSet: data.test, testSplit };
}

/** A feature file's splits, limited like image data (first N), in the shape loadOrDownload returns. */
function featureData(
  path: string,
  c: { trainLimit: number | null; testLimit: number | null; augment: unknown; val: number | null },
) {
  if (c.augment || c.val) throw new UsageError('--augment and --val apply to images, not to a --features file');
  const f = loadFeatureDatasets(path);
  return {
    train: c.trainLimit ? f.train.head(c.trainLimit) : f.train,
    test: c.testLimit ? f.test.head(c.testLimit) : f.test,
    evaluatedOn: 'test' as const,
    norm: null,
  };
}

/** The data normalized as the --init-from run's model expects (its recorded normalization). */
function startingNormalization<D extends { train: unknown; test: unknown; norm: Normalization | null }>(
  run: string,
  data: D,
): D {
  const norm = readRunConfig(run).normalization;
  const { train, test } = data;
  if (!norm || !(train instanceof ByteImageDataset && test instanceof ByteImageDataset)) return data;
  if (norm.mean.length !== train.imageShape[0]) {
    throw new ConfigError(
      `--init-from: ${run} was trained on ${norm.mean.length}-channel images, this data has ${train.imageShape[0]}`,
    );
  }
  const split = (data as { testSplit?: ByteImageDataset }).testSplit;
  return {
    ...data,
    train: train.with({ norm }),
    test: test.with({ norm }),
    ...(split ? { testSplit: split.with({ norm }) } : {}),
    norm,
  } as D;
}
