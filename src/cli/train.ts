import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AugmentedDataset, datasetNames, loadOrDownload, parseAugmentation, resolveDataDir, subsetModes } from '../data/index.js';
import { ConfigError, DataFormatError, DivergenceError } from '../errors.js';
import { parseInit } from '../init/initializers.js';
import { writeFileAtomic, writeJsonAtomic } from '../io/files.js';
import { writeRunReport } from '../report/run-report.js';
import { saveModel } from '../io/model-file.js';
import { buildModel } from '../model/build.js';
import { builtinNames, builtinSpec } from '../model/builtins.js';
import type { Sequential } from '../model/sequential.js';
import { validateSpec, type ModelSpec } from '../model/spec.js';
import { makeOptimizer, optimizerKinds, type ScheduleSpec } from '../optim/index.js';
import { train, type EpochMetrics, type TrainResult } from '../train/trainer.js';
import { choice, num } from './args.js';
import { downloadReporter } from './download.js';
import { Progress, clock } from './progress.js';

export const trainHelp = `convts train — train a model and write a run directory

Usage: convts train --model <name|spec.json> --dataset <name> [options]

Model
  --model NAME|FILE      ${builtinNames.join(', ')}, or a model spec .json   [seed-mnist]
  --activation A         relu, sigmoid or tanh (built-in models)          [relu]
  --pool P               max or avg (built-in models)                     [max]
  --filters N[,M]        filters of the two conv layers (built-in models)  [8]
  --loss L               cross-entropy (softmax) or bce (sigmoid)          [cross-entropy]
  --init I               normal:<std>, glorot-normal, glorot-uniform, he-normal, he-uniform
Data
  --dataset NAME         ${datasetNames.join(', ')}, or folder:DIR          [mnist]
                         (DIR/<class>/*.png|jpg; DIR/train and DIR/test if both exist)
  --data-dir DIR         folder holding <dataset>/, or a search path a:b
                         [$CONVTS_DATA_DIR, else ~/.cache/convts:/usr/share/datasets]
  --offline              do not download missing files (also CONVTS_OFFLINE=1)
  --val N                hold out the last N training images (file order) and evaluate
                         on them instead of the test set (cifar-10: --val 10000 = data_batch_5)
  --train-limit N        train on N training images
  --test-limit N         evaluate on N images of the evaluation set
  --subset S             how limits pick images: first, random, stratified     [first]
  --normalize N          zscore (training-set mean/std per channel) or unit ([0,1]) [zscore]
  --flatten              feed images as flat vectors (for dense-only models)
  --augment A            off, default (cifar: crop pad 4 + flip; else shift 2),
                         or a list like shift:2,flip                           [off]
  --image-size H[xW]     resize folder images                   [first image's size]
  --channels 1|3         grey or RGB for folder images              [from the images]
Training
  --epochs N             [1]
  --batch-size N         1 = the report's per-sample SGD                   [32]
  --optimizer O          ${optimizerKinds.join(', ')}                    [momentum]
  --lr X                 learning rate             [0.01; 0.001 at batch size 1 or with adam]
  --momentum X           for momentum and nesterov                         [0.9]
  --weight-decay X       L2 penalty                                        [0]
  --schedule S           constant, step:<epochs>:<gamma> or cosine         [constant]
  --converge TOL:K       stop when the train loss moves less than TOL for K epochs
  --seed N               seeds weights and shuffling; same seed, same run  [1]
Output
  --out DIR              run directory                    [runs/<time>-<model>]
  --json                 print the summary as JSON on stdout

Example:
  convts train --model seed-mnist --dataset mnist --data-dir ../shared/datasets --epochs 1 --out runs/mnist
`;

const options = {
  model: { type: 'string' }, activation: { type: 'string' }, pool: { type: 'string' },
  filters: { type: 'string' }, loss: { type: 'string' }, init: { type: 'string' },
  dataset: { type: 'string' }, 'data-dir': { type: 'string' }, 'train-limit': { type: 'string' },
  offline: { type: 'boolean' }, val: { type: 'string' }, subset: { type: 'string' }, normalize: { type: 'string' },
  flatten: { type: 'boolean' }, augment: { type: 'string' }, 'image-size': { type: 'string' }, channels: { type: 'string' },
  'test-limit': { type: 'string' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' },
  optimizer: { type: 'string' }, lr: { type: 'string' }, momentum: { type: 'string' },
  'weight-decay': { type: 'string' }, schedule: { type: 'string' }, converge: { type: 'string' },
  seed: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

/** `convts train`: returns the process exit code. */
export async function trainCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  if (v.help) {
    process.stdout.write(trainHelp);
    return 0;
  }
  const modelArg = v.model ?? 'seed-mnist';
  const spec = modelArg.endsWith('.json') ? readSpec(modelArg) : builtinSpec(modelArg, {
    activation: choice('activation', v.activation, ['relu', 'sigmoid', 'tanh'] as const, modelArg === 'task1-fc' ? 'sigmoid' : 'relu'),
    pool: choice('pool', v.pool, ['max', 'avg'] as const, 'max'),
    filters: parseFilters(v.filters),
    loss: v.loss === undefined ? undefined : choice('loss', v.loss, ['cross-entropy', 'bce'] as const, 'cross-entropy'),
  });
  const seed = num('seed', v.seed, 1, { int: true, min: 0 });
  const datasetName = v.dataset?.startsWith('folder:') ? v.dataset : choice('dataset', v.dataset, datasetNames, 'mnist');
  const optimizer = choice('optimizer', v.optimizer, optimizerKinds, 'momentum');
  const config = {
    model: modelArg,
    dataset: datasetName,
    dataDir: resolveDataDir(v['data-dir']),
    trainLimit: v['train-limit'] === undefined ? null : num('train-limit', v['train-limit'], 0, { int: true, min: 1 }),
    testLimit: v['test-limit'] === undefined ? null : num('test-limit', v['test-limit'], 0, { int: true, min: 1 }),
    val: v.val === undefined ? null : num('val', v.val, 0, { int: true, min: 1 }),
    subset: choice('subset', v.subset, subsetModes, 'first'),
    normalize: choice('normalize', v.normalize, ['zscore', 'unit'] as const, 'zscore'),
    flatten: v.flatten ?? false,
    augment: parseAugmentation(v.augment, datasetName),
    imageSize: parseImageSize(v['image-size']),
    channels: v.channels === undefined ? null : choice('channels', v.channels, ['1', '3'] as const, '3') === '1' ? 1 as const : 3 as const,
    epochs: num('epochs', v.epochs, 1, { int: true, min: 1 }),
    batchSize: num('batch-size', v['batch-size'], 32, { int: true, min: 1 }),
    optimizer,
    lr: num('lr', v.lr, defaultLr(optimizer, num('batch-size', v['batch-size'], 32, { int: true, min: 1 })), { min: Number.MIN_VALUE }),
    momentum: num('momentum', v.momentum, 0.9, { min: 0, max: 1 }),
    weightDecay: num('weight-decay', v['weight-decay'], 0, { min: 0 }),
    schedule: parseSchedule(v.schedule, num('epochs', v.epochs, 1, { int: true, min: 1 })),
    convergence: parseConverge(v.converge),
    init: v.init ? parseInit(v.init) : spec.init ?? { kind: 'he-normal' as const },
    seed,
    spec,
  };
  const out = v.out ?? join('runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${spec.name ?? 'model'}`);

  const data = await loadOrDownload(config.dataset, config.dataDir, {
    val: config.val ?? undefined, trainLimit: config.trainLimit ?? undefined, testLimit: config.testLimit ?? undefined,
    subset: config.subset, seed, normalize: config.normalize, flatten: config.flatten,
    size: config.imageSize ?? undefined, channels: config.channels ?? undefined,
  }, v.offline || process.env.CONVTS_OFFLINE === '1' ? false : downloadReporter());
  const trainSet = config.augment ? new AugmentedDataset(data.train, config.augment, seed) : data.train;
  const testSet = data.test;
  const model = buildModel({ ...spec, classes: [...trainSet.classNames], init: config.init }, { seed });
  const resolved = { ...config, normalization: data.norm };
  writeJsonAtomic(join(out, 'config.json'), resolved);

  const progress = new Progress();
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`training ${spec.name ?? modelArg} on ${trainSet.length} ${config.dataset} images, evaluating on ${testSet.length} ${data.evaluatedOn} images → ${out}`);
  const metricsLines: string[] = [];
  const onEpoch = (m: EpochMetrics) => {
    progress.clear();
    metricsLines.push(JSON.stringify(m));
    writeFileAtomic(join(out, 'metrics.jsonl'), `${metricsLines.join('\n')}\n`);
    log(`epoch ${m.epoch}/${config.epochs}  train loss ${m.trainLoss.toFixed(4)} acc ${pct(m.trainAccuracy)}` +
      (m.testAccuracy === null ? '' : `  ${data.evaluatedOn === 'validation' ? 'val' : 'test'} loss ${m.testLoss!.toFixed(4)} acc ${pct(m.testAccuracy)}`) +
      `  ${clock(m.seconds)} (${Math.round(trainSet.length / m.seconds)} img/s)`);
    progress.startEpoch();
  };
  let result: TrainResult;
  try {
    result = await train(model, trainSet, testSet, {
      epochs: config.epochs, batchSize: config.batchSize, seed,
      optimizer: makeOptimizer({ kind: optimizer, lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay }),
      schedule: config.schedule, convergence: config.convergence ?? undefined, onEpoch,
      onProgress: (p) => progress.update({ ...p, epochs: config.epochs }),
    });
  } catch (e) {
    progress.clear();
    if (e instanceof DivergenceError) {
      saveModel(model, out);
      writeJsonAtomic(join(out, 'summary.json'), { status: 'diverged', error: e.message, epoch: e.epoch, step: e.step });
    }
    throw e;
  }
  saveModel(model, out);
  const summary = { ...summarize(model, config, result, trainSet.length, testSet.length, trainSet.classNames), evaluatedOn: data.evaluatedOn };
  writeJsonAtomic(join(out, 'summary.json'), summary);
  writeRunReport(out, { model, testSet, summary, config: resolved, metrics: result.epochs });
  if (v.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else log(`${data.evaluatedOn} accuracy ${pct(summary.testAccuracy)}, loss ${summary.testLoss.toFixed(4)} after ${result.epochs.length} epoch(s), ${clock(result.seconds)} — wrote ${out}/summary.json and ${out}/report.html`);
  return 0;
}

function summarize(model: Sequential, config: { model: string; dataset: string; seed: number }, r: TrainResult,
                   trainSize: number, testSize: number, classNames: readonly string[]) {
  const last = r.epochs[r.epochs.length - 1];
  return {
    status: 'completed',
    model: config.model,
    dataset: config.dataset,
    trainSize,
    testSize,
    epochs: r.epochs.length,
    stoppedBy: r.stoppedBy,
    trainLoss: last.trainLoss,
    trainAccuracy: last.trainAccuracy,
    testLoss: r.test!.loss,
    testAccuracy: r.test!.accuracy,
    classNames,
    confusionMatrix: r.test!.confusion,
    perEpoch: r.epochs,
    parameters: model.params().reduce((s, p) => s + p.value.size, 0),
    seconds: r.seconds,
    trainImagesPerSecond: (trainSize * r.epochs.length) / r.epochs.reduce((s, e) => s + e.seconds, 0),
    seed: config.seed,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: process.platform },
  };
}

function readSpec(path: string): ModelSpec {
  if (!existsSync(path)) throw new ConfigError(`--model: ${path} not found — give a built-in name (${builtinNames.join(', ')}) or a spec file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new DataFormatError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return validateSpec(raw, path);
}

/** Per-sample updates with momentum 0.9 need a smaller step than mini-batches (measured on MNIST). */
function defaultLr(optimizer: string, batchSize: number): number {
  return optimizer === 'adam' || batchSize === 1 ? 0.001 : 0.01;
}

function parseFilters(v: string | undefined): number | [number, number] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(',').map((s) => num('filters', s, 0, { int: true, min: 1 }));
  if (parts.length === 1) return parts[0];
  if (parts.length === 2) return [parts[0], parts[1]];
  throw new ConfigError(`--filters: give one count or two ("8" or "8,16"), got "${v}"`);
}

function parseImageSize(v: string | undefined): [number, number] | null {
  if (v === undefined) return null;
  const [h, w] = v.split('x').map((s) => num('image-size', s, 0, { int: true, min: 1 }));
  return [h, w ?? h];
}

function parseSchedule(v: string | undefined, epochs: number): ScheduleSpec {
  if (v === undefined || v === 'constant') return { kind: 'constant' };
  if (v === 'cosine') return { kind: 'cosine', epochs };
  const m = /^step:(\d+):([\d.eE+-]+)$/.exec(v);
  if (m && Number(m[1]) >= 1 && Number(m[2]) > 0) return { kind: 'step', stepSize: Number(m[1]), gamma: Number(m[2]) };
  throw new ConfigError(`--schedule: expected constant, cosine or step:<epochs>:<gamma> (e.g. step:2:0.5), got "${v}"`);
}

function parseConverge(v: string | undefined): { tol: number; patience: number } | null {
  if (v === undefined) return null;
  const [tol, k] = v.split(':');
  return { tol: num('converge', tol, 0, { min: 0 }), patience: num('converge', k ?? '2', 2, { int: true, min: 1 }) };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}
