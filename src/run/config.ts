import { join } from 'node:path';
import type { Augmentation } from '../data/augment.js';
import type { Normalization } from '../data/dataset.js';
import { type InputPreparation, inputKinds } from '../data/image.js';
import { isHoldOut, type SubsetMode } from '../data/prepare.js';
import { DataFormatError } from '../errors.js';
import { writeJsonAtomic } from '../files/atomic.js';
import { jsonObject, readJsonFile } from '../files/json.js';
import type { InitSpec } from '../init/initializers.js';
import { type ModelSpec, validateSpec } from '../model/spec.js';
import type { OptimizerKind, ScheduleSpec } from '../optim/index.js';
import type { RunEnvironment } from './environment.js';
import { checkTrainSettings } from './settings-schema.js';

/** The settings of a `convts train` run, every default filled in: what --resume continues with. */
export interface TrainSettings {
  /** Built-in model name or spec file, as given to --model. */
  model: string;
  dataset: string;
  dataDir: string;
  /** The feature file trained on instead of images (Task 1), or null. */
  features: string | null;
  trainLimit: number | null;
  testLimit: number | null;
  val: number | null;
  subset: SubsetMode;
  normalize: 'zscore' | 'unit';
  flatten: boolean;
  augment: Augmentation | null;
  imageSize: [number, number] | null;
  channels: 1 | 3 | null;
  /** The pixel budget of folder images (--max-pixels), or null for the default (absent in older runs). */
  maxPixels?: number | null;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerKind;
  lr: number;
  momentum: number;
  weightDecay: number;
  /** Leave biases and batch-norm parameters out of the weight decay (absent in older runs). */
  wdSkipNorm?: boolean;
  schedule: ScheduleSpec;
  /** Linear warm-up epochs, label smoothing, gradient-norm clipping, weight-average decay; null: off. */
  warmup?: number | null;
  labelSmoothing?: number | null;
  clipGrad?: number | null;
  ema?: number | null;
  /** Lookahead's sync interval (steps) and decay, or null (absent in older runs). */
  lookahead?: { every: number; decay: number } | null;
  /** Test-time augmentation of evaluations ("flip", "flip-translate", "translate"), or null. */
  tta?: 'flip' | 'flip-translate' | 'translate' | null;
  /** Early stopping: epochs without a better evaluation accuracy, or null. */
  patience?: number | null;
  /** Epochs between evaluations (the last epoch is always evaluated), or null for every epoch. */
  evalEvery?: number | null;
  convergence: { tol: number; patience: number } | null;
  init: InitSpec;
  /** The run whose weights (and normalization) training started from, or null. */
  initFrom?: string | null;
  seed: number;
  /** Steps between per-step records of metrics.jsonl; null: about 100 per epoch. */
  logEvery?: number | null;
  spec: ModelSpec;
}

/**
 * What every saved model records about its inputs, whoever saved it: the data set it learned
 * from, its class names, the training data's normalization and how a picture becomes an input
 * (null for models trained on feature vectors).
 */
export interface ModelRecord {
  dataset: string | null;
  classNames: string[];
  normalization: Normalization | null;
  input: InputPreparation | null;
  /** Why a field holds a default rather than a measured value. */
  note?: string;
}

/** What `convts train` knows once its data is loaded: the split sizes, and what it runs with. */
export interface RunStart {
  trainSize: number;
  testSize: number;
  environment: RunEnvironment;
}

/**
 * config.json: a model's record, plus the training settings and the start record when `convts
 * train` wrote it (runs of older versions lack the start record).
 */
export type RunConfig = Partial<TrainSettings> & Partial<ModelRecord> & Partial<RunStart>;

export const configFile = 'config.json';

/** Writes `<dir>/config.json` atomically: a model's record, with the training settings when trained by convts. */
export function writeRunConfig(dir: string, config: RunConfig | ModelRecord): void {
  writeJsonAtomic(join(dir, configFile), config);
}

/** Reads `<dir>/config.json`, checking the fields other commands rely on; errors name the file and field. */
export function readRunConfig(dir: string): RunConfig {
  const path = join(dir, configFile);
  const c = jsonObject(readJsonFile(path, 'give a run directory written by convts train or saveModel'), path);
  const fail = (field: string, want: string): never => {
    throw new DataFormatError(`${path}: "${field}" must be ${want}, got ${JSON.stringify(c[field])}`);
  };
  const isNums = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  const isNorm = (v: unknown) => isNums((v as Normalization)?.mean) && isNums((v as Normalization)?.std);
  for (const k of ['model', 'dataset', 'dataDir', 'features'] as const)
    if (c[k] !== undefined && c[k] !== null && typeof c[k] !== 'string') fail(k, 'a string');
  if (c.classNames !== undefined && !(Array.isArray(c.classNames) && c.classNames.every((n) => typeof n === 'string')))
    fail('classNames', 'a list of strings');
  if (c.normalization != null && !isNorm(c.normalization))
    fail('normalization', '{"mean": [numbers], "std": [numbers]} or null');
  const input = c.input as InputPreparation | null | undefined;
  if (
    input != null &&
    !(
      isNums(input.shape) &&
      input.shape.length === 3 &&
      isNorm(input.normalization) &&
      (inputKinds as readonly string[]).includes(input.kind)
    )
  )
    fail(
      'input',
      `{"shape": [c, h, w], "normalization": {…}, "kind": ${inputKinds.map((k) => `"${k}"`).join('|')}} or null`,
    );
  // Runs saved before Fashion-MNIST had its own kind recorded its pictures as digits.
  if (input && input.kind === 'digits' && c.dataset === 'fashion-mnist') c.input = { ...input, kind: 'objects' };
  for (const k of ['trainLimit', 'testLimit', 'seed', 'epochs', 'batchSize', 'maxPixels'] as const)
    if (c[k] !== undefined && c[k] !== null && !Number.isInteger(c[k])) fail(k, 'an integer');
  // A count of held-out images, or the share of each class held out (--val 0.2).
  if (c.val !== undefined && c.val !== null && !isHoldOut(c.val)) fail('val', 'a count ≥ 1 or a fraction in (0, 1)');
  return c as RunConfig;
}

/** Reads config.json of a `convts train` run, to resume it: every training setting must be there. */
export function readTrainSettings(dir: string): TrainSettings & Partial<ModelRecord> {
  const c = readRunConfig(dir);
  const need = ['model', 'spec', 'epochs', 'batchSize', 'optimizer', 'lr', 'seed', 'schedule', 'init'] as const;
  const missing = need.filter((k) => c[k] === undefined);
  if (missing.length)
    throw new DataFormatError(
      `${join(dir, configFile)}: no ${missing.map((k) => `"${k}"`).join(', ')} — it was not written by convts train, so there is no training to continue`,
    );
  checkTrainSettings(c, join(dir, configFile));
  // The spec is checked here, so that its errors name this file rather than "model spec".
  const spec = validateSpec(c.spec, `${join(dir, configFile)} "spec"`);
  return { ...c, spec } as TrainSettings & Partial<ModelRecord>;
}
