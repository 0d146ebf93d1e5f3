import { ConfigError, DataFormatError, UsageError } from '../errors.js';
import { Rng } from '../tensor/rng.js';
import { type ByteImageDataset, type Normalization, unitScale } from './dataset.js';

export const subsetModes = ['first', 'random', 'stratified'] as const;
export type SubsetMode = (typeof subsetModes)[number];

export interface PrepareOptions {
  /** z-score with the training set's per-channel statistics (default), or plain [0, 1] scaling. */
  normalize?: 'zscore' | 'unit';
  /** Report samples as flat vectors [C·H·W] instead of [C, H, W]. */
  flatten?: boolean;
  /**
   * Hold out validation images and evaluate on them instead of the test set: the last `val`
   * training images (file order) when `val` ≥ 1, a fraction `val` of each class (perClassHoldOut)
   * when it is between 0 and 1.
   */
  val?: number;
  trainLimit?: number;
  testLimit?: number;
  /** How limits pick their images: the first N, N at random, or N spread evenly over the classes. */
  subset?: SubsetMode;
  /** Seeds random and stratified subsets. */
  seed?: number;
}

export interface PreparedData {
  train: ByteImageDataset;
  /** The evaluation set: the test split, or the validation hold-out when `val` is set. */
  test: ByteImageDataset;
  evaluatedOn: 'test' | 'validation';
  /** With `val`: the test split too (when there is one), reported beside the validation set. */
  testSplit?: ByteImageDataset;
  norm: Normalization;
}

/**
 * Turns raw splits into what training uses: validation hold-out, subsets, then normalization with
 * statistics of the final training images only, applied unchanged to the evaluation set.
 */
export function prepare(train: ByteImageDataset, test: ByteImageDataset | null, o: PrepareOptions = {}): PreparedData {
  let evalSet: ByteImageDataset;
  let evaluatedOn: PreparedData['evaluatedOn'] = 'test';
  if (train.length === 0) throw new DataFormatError(`${train.name}: the training split holds no images`);
  if (test?.length === 0) throw new DataFormatError(`${test.name}: the test split holds no images`);
  if (o.val !== undefined) {
    [train, evalSet] = holdOut(train, o.val);
    evaluatedOn = 'validation';
  } else if (test) {
    evalSet = test;
  } else {
    throw new ConfigError(
      `${train.name}: there is no test split — hold out validation images with --val N (the last N) or --val 0.2 (a fifth of each class)`,
    );
  }
  const mode = o.subset ?? 'first';
  const seed = o.seed ?? 1;
  if (o.trainLimit !== undefined) train = subset(train, o.trainLimit, mode, seed);
  if (o.testLimit !== undefined) evalSet = subset(evalSet, o.testLimit, mode, seed + 1);
  const norm = o.normalize === 'unit' ? unitScale(train.imageShape[0]) : train.stats();
  const flat = o.flatten ?? false;
  const prepared: PreparedData = {
    train: train.with({ norm, flat }),
    test: evalSet.with({ norm, flat }),
    evaluatedOn,
    norm,
  };
  if (evaluatedOn === 'validation' && test) {
    const limited = o.testLimit === undefined ? test : subset(test, o.testLimit, mode, seed + 2);
    prepared.testSplit = limited.with({ norm, flat });
  }
  return prepared;
}

/** The training images and the validation hold-out `val` asks for (see PrepareOptions.val). */
function holdOut(train: ByteImageDataset, val: number): [ByteImageDataset, ByteImageDataset] {
  const n = train.length;
  if (val > 0 && val < 1) {
    const held = perClassHoldOut(train.labels, train.classNames.length, val);
    if (held.length === 0 || held.length === n) {
      throw new UsageError(
        `--val ${val}: holds out ${held.length} of the ${n} training images — a class needs two images or more to give one`,
      );
    }
    const inHeld = new Uint8Array(n);
    for (const i of held) inHeld[i] = 1;
    const kept = Int32Array.from({ length: n }, (_, i) => i).filter((i) => !inHeld[i]);
    return [train.select(kept), train.select(held, `${train.name}-val`)];
  }
  if (!(Number.isInteger(val) && val >= 1 && val < n)) {
    throw new UsageError(`--val ${val}: must hold out between 1 and ${n - 1} of the ${n} training images`);
  }
  return [train.slice(0, n - val), train.slice(n - val, n, `${train.name}-val`)];
}

/** Whether v is a hold-out `val` can hold: a count of images ≥ 1, or a fraction of each class in (0, 1). */
export function isHoldOut(v: unknown): v is number {
  return typeof v === 'number' && (Number.isSafeInteger(v) ? v >= 1 : v > 0 && v < 1);
}

/** The seed of the per-class hold-out, so that the playground and `convts train --val 0.2` hold out the same images. */
export const holdOutSeed = 1;

/**
 * A fraction of each class (at least one image of a class that has two or more), drawn with a fixed
 * seed, as indices in file order: the validation images of `--val 0.2` and of the playground's
 * picture folders without train/ and test/.
 */
export function perClassHoldOut(labels: Uint8Array, classes: number, fraction: number): Int32Array {
  const rng = new Rng(holdOutSeed);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((l, i) => byClass[l].push(i));
  const held: number[] = [];
  for (const list of byClass) {
    rng.shuffle(list);
    held.push(...list.slice(0, list.length < 2 ? 0 : Math.max(1, Math.round(fraction * list.length))));
  }
  return Int32Array.from(held).sort();
}

/** n samples of ds: the first n, n at random, or n spread evenly over the classes (seeded); file order is kept. */
export function subset(ds: ByteImageDataset, n: number, mode: SubsetMode = 'first', seed = 1): ByteImageDataset {
  if (!(Number.isInteger(n) && n >= 1)) throw new ConfigError(`subset size must be a positive integer, got ${n}`);
  if (n >= ds.length) return ds;
  if (mode === 'first') return ds.slice(0, n);
  const rng = new Rng(seed);
  if (mode === 'random') {
    const order = Int32Array.from({ length: ds.length }, (_, i) => i);
    rng.shuffle(order);
    return ds.select(order.subarray(0, n).sort());
  }
  return ds.select(stratifiedIndices(ds.labels, ds.classNames.length, n, rng));
}

/**
 * n indices with every class as equally represented as its size allows: each class gets
 * ⌊n/K⌋ (the remainder goes to randomly drawn classes), picked at random within the class.
 */
export function stratifiedIndices(labels: Uint8Array, classes: number, n: number, rng: Rng): Int32Array {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((l, i) => byClass[l].push(i));
  for (const list of byClass) rng.shuffle(list);
  const quota = new Array(classes).fill(0);
  let left = n;
  // Hand out one image per class per round, classes in random order, until n are taken.
  while (left > 0) {
    const order = Array.from({ length: classes }, (_, i) => i);
    rng.shuffle(order);
    let gave = false;
    for (const c of order) {
      if (left > 0 && quota[c] < byClass[c].length) {
        quota[c]++;
        left--;
        gave = true;
      }
    }
    if (!gave) break;
  }
  const picked = byClass.flatMap((list, c) => list.slice(0, quota[c]));
  return Int32Array.from(picked).sort();
}
