import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ByteImageDataset } from '../data/dataset.js';
import { ConfigError, DataFormatError } from '../errors.js';
import type { FilterBank } from './bank.js';
import { FeatureDataset } from './dataset.js';
import { type ExtractOptions, extractFeatures } from './extract.js';
import {
  type FeatureHeader,
  featureFileVersion,
  readFeatureFile,
  readFeatureHeader,
  writeFeatureFile,
} from './feature-file.js';

export interface FeatureJob {
  bank: FilterBank;
  /** The data set's name ("mnist") and its splits as loaded, normalization included. */
  dataset: string;
  train: ByteImageDataset;
  test: ByteImageDataset;
  options?: ExtractOptions;
  /** Progress over both splits together. */
  onProgress?: (done: number, total: number) => void;
}

export interface FeatureResult {
  path: string;
  /** True when the file on disk was reused. */
  hit: boolean;
  /** Why an existing file was not reused: "stale" or "damaged: …". */
  rebuilt?: string;
  header: FeatureHeader;
  train: FeatureDataset;
  test: FeatureDataset;
  /** Extraction time (0 on a hit). */
  seconds: number;
}

const sha256 = (parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest('hex');
const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * The cache key: a hash of everything the features depend on — the bank's values and size, the
 * data's bytes, the normalization, and what follows the convolution — plus the readable parts.
 */
export function featureKey(job: FeatureJob): { key: string; about: Record<string, unknown> } {
  const { bank, train, test } = job;
  const o = job.options ?? {};
  const about = {
    format: featureFileVersion,
    bank: { count: bank.count, kh: bank.kh, kw: bank.kw, sha256: sha256([bytes(bank.data)]) },
    dataset: job.dataset,
    data: sha256([train.images, train.labels, test.images, test.labels]),
    sizes: [train.length, test.length],
    normalization: train.norm,
    pool: o.pool ?? 'max',
    poolSize: o.poolSize ?? 2,
    bias: o.bias ?? null,
    activation: o.activation ?? 'none',
  };
  return { key: sha256([Buffer.from(JSON.stringify(about))]), about };
}

export interface CacheOptions {
  /** The feature file; by default one file per key under `dir`. */
  path?: string;
  dir?: string;
  /** Extract even when the file holds this job's features. */
  force?: boolean;
  /** Called with the file's path before extracting into it (not on a cache hit): the CLI locks it here. */
  beforeWrite?: (path: string) => void;
}

/**
 * The features of a job's train and test splits: read from the file when it holds this job's
 * key and passes its checksum, otherwise extracted and written there atomically.
 */
export function cachedFeatures(job: FeatureJob, c: CacheOptions = {}): FeatureResult {
  const { key, about } = featureKey(job);
  const tag = `${job.dataset}-${job.bank.name === 'lm' ? 'lm' : 'bank'}-${job.options?.pool ?? 'max'}`;
  const path = c.path ?? join(c.dir ?? join('cache', 'features'), `${tag}-${key.slice(0, 12)}.feat`);
  const force = c.force ?? false;
  let rebuilt: string | undefined;
  if (!force && existsSync(path)) {
    try {
      if (readFeatureHeader(path).key === key) {
        const { header, splits } = readFeatureFile(path);
        return { path, hit: true, header, train: splits[0], test: splits[1], seconds: 0 };
      }
      rebuilt = 'stale: it was made from another bank, data set or options';
    } catch (e) {
      if (!(e instanceof DataFormatError)) throw e;
      rebuilt = `damaged: ${e.message}`;
    }
  }
  c.beforeWrite?.(path);
  const t0 = performance.now();
  const total = job.train.length + job.test.length;
  const o = job.options ?? {};
  const run = (ds: ByteImageDataset, before: number) => {
    const f = extractFeatures(ds, job.bank, o, (d) => job.onProgress?.(before + d, total));
    return new FeatureDataset(ds.name, f.data, ds.labels, f.dim, ds.classNames);
  };
  const train = run(job.train, 0);
  const test = run(job.test, job.train.length);
  const seconds = (performance.now() - t0) / 1000;
  const header = writeFeatureFile(path, { key, about: { ...about, bankName: job.bank.name } }, [train, test]);
  return { path, hit: false, rebuilt, header, train, test, seconds };
}

/** The train and test features stored in a feature file (for `convts train --features FILE`). */
export function loadFeatureDatasets(path: string): {
  train: FeatureDataset;
  test: FeatureDataset;
  header: FeatureHeader;
} {
  const { header, splits } = readFeatureFile(path);
  if (splits.length !== 2) {
    throw new ConfigError(
      `${path}: expected a train and a test split, found ${splits.map((s) => s.name).join(', ') || 'none'}`,
    );
  }
  const empty = splits.find((s) => s.length === 0);
  if (empty)
    throw new DataFormatError(`${path}: the ${empty.name} split holds no samples — rebuild it with convts features`);
  return { train: splits[0], test: splits[1], header };
}
