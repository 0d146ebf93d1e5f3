import { isHoldOut } from '../data/prepare.js';
import { parseInit } from '../init/initializers.js';
import { validateSpec } from '../model/spec.js';
import { optimizerKinds } from '../optim/index.js';
import type { TrainSettings } from '../run/config.js';
import type { DataIdentity } from './data-identity.js';

/**
 * The version of the settings a trial job carries. A worker refuses jobs of a later version (they
 * may hold settings it would silently ignore); bump it whenever the resolved train settings change
 * meaning or gain a field.
 */
export const settingsVersion = 1;

/**
 * One trial of a sweep as it travels through Redis: data only — the resolved, validated train
 * settings and the identity of the data set — never a command line, a path to run or code.
 */
export interface TrialJob {
  version: number;
  /** Which sweep it belongs to (a hash of the owner's host and output folder) and the trial's name there. */
  sweep: string;
  trial: string;
  params: Record<string, string>;
  /** The resolved train settings, as config.json records them (dataDir is the owner's: each worker uses its own). */
  config: Record<string, unknown>;
  data: DataIdentity;
  /**
   * The owner's shared results folder (--results DIR), absolute: a worker that sees the sweep's
   * marked folder there (or in its own --results) writes the trial's files into it instead of Redis.
   */
  shared?: string;
}

/** A job's settings do not fit this convts: the worker refuses it (no retry: it would fail again anywhere alike). */
export class JobRefused extends Error {}

type Check = (v: unknown) => boolean;
const int =
  (min: number): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min;
const numIn =
  (min: number, max = Infinity, open = false): Check =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && (open ? v > min : v >= min) && v <= max;
const oneOf =
  (...xs: unknown[]): Check =>
  (v) =>
    xs.includes(v);
const orNull =
  (c: Check): Check =>
  (v) =>
    v === null || c(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj =
  (fields: Record<string, Check>): Check =>
  (v) =>
    isObj(v) && Object.keys(v).every((k) => fields[k]?.(v[k]));
const str: Check = (v) => typeof v === 'string' && v.length < 1000;

// Every resolved train setting and what it may hold (the type makes a new setting a compile
// error here until it is checked). dataset and features are limited to what a worker can check
// against its own copy: a named data set, no feature files.
const settings: { [K in keyof TrainSettings]-?: Check } = {
  model: str,
  dataset: oneOf('mnist', 'fashion-mnist', 'cifar-10'),
  dataDir: str,
  features: (v) => v === null,
  trainLimit: orNull(int(1)),
  testLimit: orNull(int(1)),
  val: orNull(isHoldOut),
  subset: oneOf('first', 'random', 'stratified'),
  normalize: oneOf('zscore', 'unit'),
  flatten: oneOf(true, false),
  augment: orNull(
    obj({ shift: int(0), flip: oneOf(true, false), reflect: oneOf(true, false), alternateFlip: oneOf(true, false) }),
  ),
  imageSize: orNull((v) => Array.isArray(v) && v.length === 2 && v.every(int(1))),
  channels: oneOf(null, 1, 3),
  maxPixels: (v) => v === undefined || orNull(int(1))(v),
  epochs: int(1),
  batchSize: int(1),
  optimizer: oneOf(...optimizerKinds),
  lr: numIn(0, Infinity, true),
  momentum: numIn(0, 1),
  weightDecay: numIn(0),
  schedule: (v) =>
    obj({
      kind: oneOf('constant', 'step', 'cosine', 'onecycle'),
      perBatch: oneOf(true, false),
      stepSize: int(1),
      gamma: numIn(0, Infinity, true),
      epochs: int(1),
      minLr: numIn(0),
      pctStart: numIn(0, 1, true),
      divFactor: numIn(1),
      finalDivFactor: numIn(1),
      anneal: oneOf('cos', 'linear'),
    })(v),
  convergence: orNull(obj({ tol: numIn(0), patience: int(1) })),
  wdSkipNorm: oneOf(true, false),
  warmup: orNull(numIn(0)),
  labelSmoothing: orNull((v) => typeof v === 'number' && v >= 0 && v < 1),
  clipGrad: orNull(numIn(0, Infinity, true)),
  ema: orNull((v) => typeof v === 'number' && v > 0 && v < 1),
  lookahead: orNull(obj({ every: int(1), decay: numIn(0, 1) })),
  tta: oneOf(null, 'flip', 'flip-translate', 'translate'),
  patience: orNull(int(1)),
  evalEvery: orNull(int(1)),
  init: (v) =>
    isObj(v) &&
    typeof v.kind === 'string' &&
    parses(() => parseInit(v.kind === 'normal' ? `normal:${v.std}` : String(v.kind))),
  seed: int(0),
  initFrom: (v) => v === null, // a worker has no copy of another run's weights
  logEvery: orNull(int(1)),
  spec: (v) => parses(() => validateSpec(v, "the trial's model spec")),
};

function parses(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks a job's payload field by field and returns it typed; throws JobRefused naming what is
 * wrong: a newer settings version, a missing or unknown setting, a value out of range.
 */
export function validateJob(raw: unknown, id: string): TrialJob {
  const refuse = (why: string): never => {
    throw new JobRefused(`job ${id}: ${why}`);
  };
  if (!isObj(raw)) return refuse('not a convts trial (expected an object)');
  const v = raw.version;
  if (typeof v !== 'number' || !Number.isInteger(v)) return refuse('not a convts trial (no settings version)');
  if (v > settingsVersion)
    refuse(
      `comes from a newer convts (settings version ${v}; this worker reads up to ${settingsVersion}) — update convts on this machine`,
    );
  if (typeof raw.sweep !== 'string' || typeof raw.trial !== 'string' || !/^[\w.,=-]{1,200}$/.test(raw.trial))
    refuse('no valid sweep and trial name');
  if (!isObj(raw.params) || !Object.values(raw.params).every((p) => typeof p === 'string')) refuse('bad params');
  const c = raw.config;
  if (!isObj(c)) return refuse('no settings');
  for (const k of Object.keys(settings)) if (!(k in c)) refuse(`setting "${k}" is missing`);
  for (const [k, x] of Object.entries(c)) {
    const check = (settings as Record<string, Check>)[k];
    if (!check) refuse(`unknown setting "${k}" — a newer convts wrote it; update convts on this machine`);
    if (!check(x)) refuse(`setting "${k}" has a value this convts does not take: ${JSON.stringify(x).slice(0, 200)}`);
  }
  const d = raw.data;
  if (
    !isObj(d) ||
    d.dataset !== c.dataset ||
    !Array.isArray(d.files) ||
    !d.files.every((f) => isObj(f) && typeof f.name === 'string' && /^[0-9a-f]{64}$/.test(String(f.sha256)))
  )
    refuse('no valid data set identity (name and checksums)');
  if (
    raw.shared !== undefined &&
    !(typeof raw.shared === 'string' && /^(\/|[A-Za-z]:[\\/])/.test(raw.shared) && raw.shared.length < 1000)
  )
    refuse('the shared results folder is not an absolute path');
  return raw as unknown as TrialJob;
}
