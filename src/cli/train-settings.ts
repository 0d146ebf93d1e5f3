/** Turns `convts train` flags into the checked settings a run records (config.json) and resumes from. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { datasetNames, isHoldOut, parseAugmentation, resolveDataDir, subsetModes } from '../data/index.js';
import { ConfigError, DataFormatError, UsageError } from '../errors.js';
import { readJsonFile } from '../files/json.js';
import { parseInit } from '../init/initializers.js';
import { builtinNames, builtinSpec } from '../model/builtins.js';
import type { Tta } from '../model/sequential.js';
import { type ModelSpec, validateSpec } from '../model/spec.js';
import { optimizerKinds, type ScheduleSpec } from '../optim/index.js';
import { modelFile, type TrainSettings } from '../run/index.js';
import { choice, flagObject, num } from './args.js';
import { specModelPath, specModels } from './spec-models.js';
import { type TrainConfig, type TrainFlags, trainOptions } from './train-flags.js';

/**
 * resolveConfig over flags from several places (later ones win), e.g. a --config file and the
 * command line; a bad value is a UsageError that names the place it came from.
 */
export function resolveLayers(given: { source: string; flags: TrainFlags }[]): TrainConfig {
  // The model's own recipe comes first: everything given overrides it.
  const recipe = modelRecipe(Object.assign({}, ...given.map((l) => l.flags)) as TrainFlags);
  const layers = recipe ? [recipe, ...given] : given;
  try {
    return resolveConfig(Object.assign({}, ...layers.map((l) => l.flags)) as TrainFlags);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const flag = /^--([\w-]+):/.exec(e.message)?.[1] as keyof TrainFlags | undefined;
    const from = flag && [...layers].reverse().find((l) => l.flags[flag] !== undefined)?.source;
    if (from) throw new UsageError(`${from}: "${flag}"${e.message.slice(flag.length + 2)}`);
    throw e instanceof UsageError ? e : new UsageError(e.message); // every flag problem is a usage error (exit code 2)
  }
}

/**
 * The "recipe" of the spec file --model names (a built-in spec model's models/<name>.json or a
 * .json path): its default flags, checked against the flag table. Null without one; a spec that
 * cannot be read is left for resolveConfig to report.
 */
export function modelRecipe(v: TrainFlags): { source: string; flags: TrainFlags } | null {
  const m = v.model;
  if (m === undefined) return null;
  const path = (specModels as readonly string[]).includes(m) ? specModelPath(m) : m.endsWith('.json') ? m : null;
  if (!path || !existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = readJsonFile(path);
  } catch {
    return null;
  }
  const recipe = (raw as { recipe?: unknown } | null)?.recipe;
  if (recipe === undefined) return null;
  const source = `${path} "recipe"`;
  const flags = flagObject(recipe, source, trainOptions, 'train') as TrainFlags;
  const fixed = ['model', 'out', 'json', 'init-from'].filter((k) => k in flags);
  if (fixed.length) throw new UsageError(`${source}: "${fixed[0]}" cannot be part of a model's recipe`);
  return { source, flags };
}

/** Checks every flag and fills in the defaults: the configuration a run records and resumes from. */
export function resolveConfig(v: TrainFlags): TrainSettings {
  const initFrom = v['init-from'] ?? null;
  const modelArg = v.model ?? (initFrom ? join(initFrom, modelFile) : 'seed-mnist');
  const names: readonly string[] = [...builtinNames, ...specModels];
  if (!modelArg.endsWith('.json') && !names.includes(modelArg))
    throw new UsageError(
      `--model: unknown model "${modelArg}" — use one of ${names.join(', ')} or a spec file (.json)`,
    );
  const spec = modelArg.endsWith('.json')
    ? readSpec(modelArg)
    : (specModels as readonly string[]).includes(modelArg)
      ? readSpec(specModelPath(modelArg))
      : builtinSpec(modelArg, {
          activation: choice(
            'activation',
            v.activation,
            ['relu', 'sigmoid', 'tanh'] as const,
            modelArg === 'task1-fc' ? 'sigmoid' : 'relu',
          ),
          pool: choice('pool', v.pool, ['max', 'avg'] as const, 'max'),
          filters: parseFilters(v.filters),
          loss:
            v.loss === undefined
              ? undefined
              : choice('loss', v.loss, ['cross-entropy', 'bce'] as const, 'cross-entropy'),
        });
  const seed = num('seed', v.seed, 1, { int: true, min: 0 });
  const datasetName = v.dataset?.startsWith('folder:')
    ? v.dataset
    : choice('dataset', v.dataset, datasetNames, 'mnist');
  // Task 1 is trained as the report did: per-sample plain SGD (lr 0.1 measured best on MNIST features).
  const task1 = modelArg === 'task1-fc';
  if (task1 && v.features === undefined && !v.flatten) {
    throw new UsageError(
      'task1-fc takes 1296 filter-bank features: make them with convts features --bank lm --dataset mnist --out FILE, then give --features FILE',
    );
  }
  const optimizer = choice('optimizer', v.optimizer, optimizerKinds, task1 ? 'sgd' : 'momentum');
  const batchSize = num('batch-size', v['batch-size'], task1 ? 1 : 32, { int: true, min: 1 });
  const epochs = num('epochs', v.epochs, 1, { int: true, min: 1 });
  if (v.ema !== undefined && v.lookahead !== undefined && v.lookahead !== 'off')
    throw new UsageError("--lookahead and --ema cannot be combined: choose one (--lookahead off drops a recipe's)");
  return {
    model: modelArg,
    dataset: datasetName,
    dataDir: resolveDataDir(v['data-dir']),
    features: v.features ?? null,
    trainLimit: v['train-limit'] === undefined ? null : num('train-limit', v['train-limit'], 0, { int: true, min: 1 }),
    testLimit: v['test-limit'] === undefined ? null : num('test-limit', v['test-limit'], 0, { int: true, min: 1 }),
    val: parseVal(v.val),
    subset: choice('subset', v.subset, subsetModes, 'first'),
    normalize: choice('normalize', v.normalize, ['zscore', 'unit'] as const, 'zscore'),
    flatten: v.flatten ?? false,
    augment: parseAugmentation(v.augment, datasetName),
    imageSize: parseImageSize(v['image-size']),
    channels:
      v.channels === undefined
        ? null
        : choice('channels', v.channels, ['1', '3'] as const, '3') === '1'
          ? (1 as const)
          : (3 as const),
    maxPixels: v['max-pixels'] === undefined ? null : num('max-pixels', v['max-pixels'], 0, { int: true, min: 1 }),
    epochs,
    batchSize,
    optimizer,
    lr: num('lr', v.lr, task1 && optimizer === 'sgd' ? 0.1 : defaultLr(optimizer, batchSize), { above: 0 }),
    momentum: num('momentum', v.momentum, 0.9, { min: 0, max: 1 }),
    weightDecay: num('weight-decay', v['weight-decay'], optimizer === 'adamw' ? 0.01 : 0, { min: 0 }),
    wdSkipNorm: v['wd-skip-norm'] ?? false,
    schedule: parseSchedule(v.schedule, epochs),
    warmup: v.warmup === undefined ? null : num('warmup', v.warmup, 0, { min: 0 }),
    labelSmoothing:
      v['label-smoothing'] === undefined ? null : num('label-smoothing', v['label-smoothing'], 0, { min: 0, below: 1 }),
    clipGrad: v['clip-grad'] === undefined ? null : num('clip-grad', v['clip-grad'], 0, { above: 0 }),
    ema: v.ema === undefined ? null : num('ema', v.ema, 0, { above: 0, below: 1 }),
    lookahead: parseLookahead(v.lookahead),
    tta: ttaSetting(v.tta),
    patience: v.patience === undefined ? null : num('patience', v.patience, 0, { int: true, min: 1 }),
    evalEvery: v['eval-every'] === undefined ? null : num('eval-every', v['eval-every'], 1, { int: true, min: 1 }),
    convergence: parseConverge(v.converge),
    initFrom,
    init: v.init ? parseInit(v.init) : (spec.init ?? { kind: 'he-normal' as const }),
    seed,
    logEvery: v['log-every'] === undefined ? null : num('log-every', v['log-every'], 0, { int: true, min: 1 }),
    spec,
  };
}

function readSpec(path: string): ModelSpec {
  if (!existsSync(path))
    throw new ConfigError(
      `--model: ${path} not found — give a built-in name (${[...builtinNames, ...specModels].join(', ')}) or a spec file`,
    );
  const raw = readJsonFile(path);
  try {
    return validateSpec(raw, path);
  } catch (e) {
    // a broken spec file is a data problem (exit code 1), not a bad flag
    throw e instanceof ConfigError ? new DataFormatError(e.message) : e;
  }
}

/** Per-sample updates with momentum 0.9 need a smaller step than mini-batches (measured on MNIST). */
function defaultLr(optimizer: string, batchSize: number): number {
  return optimizer === 'adam' || optimizer === 'adamw' || batchSize === 1 ? 0.001 : 0.01;
}

function parseFilters(v: string | undefined): number | [number, number] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(',').map((s) => num('filters', s, 0, { int: true, min: 1 }));
  if (parts.length === 1) return parts[0];
  if (parts.length === 2) return [parts[0], parts[1]];
  throw new UsageError(`--filters: give one count or two ("8" or "8,16"), got "${v}"`);
}

function parseImageSize(v: string | undefined): [number, number] | null {
  if (v === undefined) return null;
  const [h, w] = v.split('x').map((s) => num('image-size', s, 0, { int: true, min: 1 }));
  return [h, w ?? h];
}

function parseSchedule(v: string | undefined, epochs: number): ScheduleSpec {
  if (v === undefined || v === 'constant') return { kind: 'constant' };
  if (v === 'cosine') return { kind: 'cosine', epochs };
  if (v === 'cosine:batch') return { kind: 'cosine', epochs, perBatch: true };
  if (v === 'onecycle') return { kind: 'onecycle' };
  const oc = /^onecycle:([\d.eE+-]+)(?::([\d.eE+-]+)(?::([\d.eE+-]+)(:linear)?)?)?$/.exec(v);
  if (
    oc &&
    Number(oc[1]) > 0 &&
    Number(oc[1]) < 1 &&
    (oc[2] === undefined || Number(oc[2]) >= 1) &&
    (oc[3] === undefined || Number(oc[3]) >= 1)
  )
    return {
      kind: 'onecycle',
      pctStart: Number(oc[1]),
      ...(oc[2] === undefined ? {} : { divFactor: Number(oc[2]) }),
      ...(oc[3] === undefined ? {} : { finalDivFactor: Number(oc[3]) }),
      ...(oc[4] === undefined ? {} : { anneal: 'linear' as const }),
    };
  const m = /^step:(\d+):([\d.eE+-]+)$/.exec(v);
  if (m && Number(m[1]) >= 1 && Number(m[2]) > 0) return { kind: 'step', stepSize: Number(m[1]), gamma: Number(m[2]) };
  throw new UsageError(
    `--schedule: expected constant, cosine, cosine:batch, onecycle[:<peak fraction>[:<start divisor>[:<final divisor>[:linear]]]] (e.g. onecycle:0.25:5 or onecycle:0.23:5:2.857:linear) or step:<epochs>:<gamma> (e.g. step:2:0.5), got "${v}"`,
  );
}

function parseLookahead(v: string | undefined): { every: number; decay: number } | null {
  if (v === undefined || v === 'off') return null;
  const m = /^(\d+):([\d.eE+-]+)$/.exec(v);
  if (!m || !(Number(m[1]) >= 1) || !(Number(m[2]) >= 0 && Number(m[2]) < 1))
    throw new UsageError(`--lookahead: expected <steps ≥ 1>:<decay in [0, 1)> (e.g. 5:0.95) or off, got "${v}"`);
  return { every: Number(m[1]), decay: Number(m[2]) };
}

function ttaSetting(v: string | undefined): Tta | null {
  if (v === undefined) return null;
  const t = choice('tta', v, ['flip', 'flip-translate', 'translate', 'off'] as const, 'off');
  return t === 'off' ? null : t;
}

function parseConverge(v: string | undefined): { tol: number; patience: number } | null {
  if (v === undefined) return null;
  const [tol, k] = v.split(':');
  return { tol: num('converge', tol, 0, { min: 0 }), patience: num('converge', k ?? '2', 2, { int: true, min: 1 }) };
}

/** --val: a count of images (the last N), or a fraction of each class as 0.2 or 20%. */
export function parseVal(v: string | undefined): number | null {
  if (v === undefined) return null;
  const percent = /^\s*([0-9.]+)\s*%\s*$/.exec(v);
  const x = percent ? Number(percent[1]) / 100 : Number(v);
  if (v.trim() !== '' && isHoldOut(x) && !(percent && x >= 1)) return x;
  throw new UsageError(
    `--val: expected a count of images (10000: the last 10,000) or a fraction of each class (0.2 or 20%), got "${v}"`,
  );
}
