import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inputPreparation } from '../data/image.js';
import {
  AugmentedDataset,
  ByteImageDataset,
  budgetName,
  datasetNames,
  defaultDataDirText,
  loadOrDownload,
  memoryBudget,
  type Normalization,
  parseAugmentation,
  resolveDataDir,
  subsetModes,
} from '../data/index.js';
import { ConfigError, DataFormatError, DivergenceError, UsageError } from '../errors.js';
import { loadFeatureDatasets } from '../features/index.js';
import { writeJsonAtomic } from '../files/atomic.js';
import { readJsonFile } from '../files/json.js';
import { lockDir } from '../files/lock.js';
import { parseInit } from '../init/initializers.js';
import { buildModel } from '../model/build.js';
import { builtinNames, builtinSpec } from '../model/builtins.js';
import { type ModelSpec, validateSpec } from '../model/spec.js';
import { loadWeights } from '../model/weights.js';
import { makeOptimizer, optimizerKinds, type ScheduleSpec } from '../optim/index.js';
import { writeRunReport } from '../report/run-report.js';
import {
  checkpointPath,
  epochRecord,
  loadCheckpoint,
  type RunConfig,
  readRunConfig,
  readTrainSettings,
  runEnvironment,
  saveCheckpoint,
  saveModelFiles,
  startMetrics,
  summarize,
  summaryFile,
  type TrainSettings,
} from '../run/index.js';
import { writeReportPage } from '../serve/report-page.js';
import { type EpochMetrics, type TrainResult, train } from '../train/trainer.js';
import { choice, num, parseCommand, readConfigFile } from './args.js';
import { downloadReporter } from './download.js';
import { clock, Progress } from './progress.js';
import { specModelPath, specModels } from './spec-models.js';

export const trainHelp = `convts train — train a model and write a run directory

Usage: convts train --model <name|spec.json> --dataset <name> [options]

Model
  --model NAME|FILE      ${[...builtinNames, ...specModels].join(', ')},
                         or a model spec .json                            [seed-mnist]
  --activation A         relu, sigmoid or tanh (built-in models)          [relu]
  --pool P               max or avg (built-in models)                     [max]
  --filters N[,M]        filters of the two conv layers (built-in models)  [8]
  --loss L               cross-entropy (softmax) or bce (sigmoid)          [cross-entropy]
  --init I               normal:<std>, glorot-normal, glorot-uniform, he-normal, he-uniform
  --init-from RUN        start from a run's weights and normalization (e.g. convts import's);
                         its model too, unless --model is given
Data
  --dataset NAME         ${datasetNames.join(', ')}, or folder:DIR          [mnist]
                         (DIR/<class>/*.png|jpg; DIR/train and DIR/test if both exist)
  --data-dir DIR         folder holding <dataset>/, or a search path a:b
                         [${defaultDataDirText}]
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
  --features FILE        train on a feature file made by convts features (task1-fc)
Training
  --epochs N             [1]
  --batch-size N         1 = the report's per-sample SGD          [32; task1-fc 1]
  --optimizer O          ${optimizerKinds.join(', ')}           [momentum; task1-fc sgd]
  --lr X                 learning rate   [0.01; 0.001 at batch size 1 or with adam; task1-fc 0.1]
  --momentum X           for momentum and nesterov                         [0.9]
  --weight-decay X       L2 penalty (adamw: decoupled decay)        [0; adamw 0.01]
  --wd-skip-norm         no weight decay on biases and batch-norm parameters
  --schedule S           constant, step:<epochs>:<gamma>, cosine (per epoch),
                         cosine:batch or onecycle (per batch)              [constant]
  --warmup E             linear warm-up over E epochs (fractions allowed), per batch
  --label-smoothing X    label smoothing of the cross-entropy loss         [0]
  --clip-grad X          clip the global gradient norm to X
  --ema D                evaluate and keep an exponential moving average of the
                         weights, decay D (e.g. 0.999)
  --tta flip             evaluate on each image and its mirror image (mean logits)
  --patience N           stop when the evaluation accuracy has not improved for N
                         epochs, and keep the weights of the best epoch
  --converge TOL:K       stop when the train loss moves less than TOL for K epochs
  --seed N               seeds weights and shuffling; same seed, same run  [1]
Output
  --out DIR              run directory                    [runs/<time>-<model>]
  --log-every N          a per-step record in metrics.jsonl every N steps
                         [about 100 per epoch]
  --json                 print the summary as JSON on stdout
  --config FILE.json     flags from a JSON file, e.g. {"lr": 0.1, "epochs": 3};
                         flags on the command line override it
  --resume RUN           continue a run stopped with Ctrl-C from its checkpoint, with
                         its own config (only --data-dir, --offline, --json may be added)

Ctrl-C stops after the current step and saves RUN/checkpoint.safetensors (exit code 130).

Examples:
  convts train --model seed-mnist --dataset mnist --data-dir ../shared/datasets --epochs 1 --out runs/mnist
  convts train --config mnist.json --lr 0.05
  convts train --resume runs/mnist
  convts train --model task1-fc --features cache/mnist-lm.feat --epochs 12
`;

export const trainOptions = {
  model: { type: 'string' },
  activation: { type: 'string' },
  pool: { type: 'string' },
  filters: { type: 'string' },
  loss: { type: 'string' },
  init: { type: 'string' },
  'init-from': { type: 'string' },
  dataset: { type: 'string' },
  'data-dir': { type: 'string' },
  'train-limit': { type: 'string' },
  offline: { type: 'boolean' },
  val: { type: 'string' },
  subset: { type: 'string' },
  normalize: { type: 'string' },
  flatten: { type: 'boolean' },
  augment: { type: 'string' },
  'image-size': { type: 'string' },
  channels: { type: 'string' },
  features: { type: 'string' },
  'test-limit': { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  momentum: { type: 'string' },
  'weight-decay': { type: 'string' },
  schedule: { type: 'string' },
  converge: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  'log-every': { type: 'string' },
  'wd-skip-norm': { type: 'boolean' },
  warmup: { type: 'string' },
  'label-smoothing': { type: 'string' },
  'clip-grad': { type: 'string' },
  ema: { type: 'string' },
  tta: { type: 'string' },
  patience: { type: 'string' },
  json: { type: 'boolean' },
  config: { type: 'string' },
  resume: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type TrainFlags = {
  [K in keyof typeof trainOptions]?: (typeof trainOptions)[K]['type'] extends 'boolean' ? boolean : string;
};
/** A run's resolved configuration, as config.json records it. */
export type TrainConfig = TrainSettings;

/** `convts train`: returns the process exit code. */
export async function trainCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, trainOptions, trainHelp, 'train');
  if (!parsed) return 0;
  const { values: flags, positionals } = parsed;
  if (positionals.length)
    throw new UsageError(
      `train takes no arguments, got "${positionals[0]}" — flags start with -- (see convts train --help)`,
    );
  const offline = Boolean(flags.offline) || process.env.CONVTS_OFFLINE === '1';
  if (flags.resume !== undefined) {
    const extra = Object.keys(flags).filter((k) => !['resume', 'data-dir', 'offline', 'json'].includes(k));
    if (extra.length)
      throw new UsageError(`--resume continues a run with its own config.json — drop --${extra.join(', --')}`);
    if (!existsSync(checkpointPath(flags.resume))) {
      throw new ConfigError(
        `${checkpointPath(flags.resume)} not found — --resume takes a run directory stopped with Ctrl-C` +
          (existsSync(join(flags.resume, 'summary.json')) ? ' (this run has a summary.json: it already finished)' : ''),
      );
    }
    const config = readTrainSettings(flags.resume);
    if (flags['data-dir'] !== undefined) config.dataDir = resolveDataDir(flags['data-dir']);
    return runTraining(config, flags.resume, { offline, json: Boolean(flags.json), resume: true });
  }
  const file = flags.config === undefined ? {} : readConfigFile(flags.config, trainOptions, 'train');
  const config = resolveLayers([
    { source: flags.config ?? '', flags: file },
    { source: '', flags },
  ]);
  const out =
    flags.out ??
    (file.out as string | undefined) ??
    join('runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${config.spec.name ?? 'model'}`);
  return runTraining(config, out, { offline, json: Boolean(flags.json ?? file.json), resume: false });
}

/**
 * resolveConfig over flags from several places (later ones win), e.g. a --config file and the
 * command line; a bad value is a UsageError that names the place it came from.
 */
export function resolveLayers(layers: { source: string; flags: TrainFlags }[]): TrainConfig {
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

/** Checks every flag and fills in the defaults: the configuration a run records and resumes from. */
export function resolveConfig(v: TrainFlags): TrainSettings {
  const initFrom = v['init-from'] ?? null;
  const modelArg = v.model ?? (initFrom ? join(initFrom, 'model.json') : 'seed-mnist');
  const names: readonly string[] = [...builtinNames, ...specModels];
  if (!modelArg.endsWith('.json') && !names.includes(modelArg))
    throw new UsageError(`unknown model "${modelArg}" — use one of ${names.join(', ')} or a spec file (.json)`);
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
  return {
    model: modelArg,
    dataset: datasetName,
    dataDir: resolveDataDir(v['data-dir']),
    features: v.features ?? null,
    trainLimit: v['train-limit'] === undefined ? null : num('train-limit', v['train-limit'], 0, { int: true, min: 1 }),
    testLimit: v['test-limit'] === undefined ? null : num('test-limit', v['test-limit'], 0, { int: true, min: 1 }),
    val: v.val === undefined ? null : num('val', v.val, 0, { int: true, min: 1 }),
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
    tta: v.tta === undefined ? null : choice('tta', v.tta, ['flip'] as const, 'flip'),
    patience: v.patience === undefined ? null : num('patience', v.patience, 0, { int: true, min: 1 }),
    convergence: parseConverge(v.converge),
    initFrom,
    init: v.init ? parseInit(v.init) : (spec.init ?? { kind: 'he-normal' as const }),
    seed,
    logEvery: v['log-every'] === undefined ? null : num('log-every', v['log-every'], 0, { int: true, min: 1 }),
    spec,
  };
}

/** Trains as `config` says into the run directory `out` (continuing its checkpoint if `resume`); returns the exit code. */
export async function runTraining(
  config: TrainConfig,
  out: string,
  o: { offline: boolean; json: boolean; resume: boolean },
): Promise<number> {
  lockDir(out);
  // Until training starts (and again while the results are saved), Ctrl-C is noted and honoured
  // between steps: loading stops before anything is written, a save completes before the exit.
  let interrupted = false;
  const noteSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('stopping once the current step is done (Ctrl-C again quits at once)…\n');
  };
  process.on('SIGINT', noteSigint);
  try {
    return await trainLocked(config, out, o, () => interrupted, noteSigint);
  } finally {
    process.off('SIGINT', noteSigint);
  }
}

async function trainLocked(
  config: TrainConfig,
  out: string,
  o: { offline: boolean; json: boolean; resume: boolean },
  interrupted: () => boolean,
  noteSigint: () => void,
): Promise<number> {
  const { spec, seed, optimizer } = config;
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
        },
        o.offline ? false : downloadReporter(),
      );
  const data = config.initFrom ? startingNormalization(config.initFrom, loaded) : loaded;
  const trainSet =
    config.augment && data.train instanceof ByteImageDataset
      ? new AugmentedDataset(data.train, config.augment, seed)
      : data.train;
  const testSet = data.test;
  if (interrupted()) {
    process.stderr.write(`stopped while loading the data; nothing was written to ${out}\n`);
    return 130;
  }
  const model = buildModel(
    { ...spec, classes: [...trainSet.classNames], init: config.init },
    { seed, maxBytes: memoryBudget(), batch: config.batchSize, budgetName: budgetName() },
  );
  const resolved: RunConfig = {
    ...config,
    classNames: [...trainSet.classNames],
    normalization: data.norm,
    input:
      data.norm && 'imageShape' in data.train
        ? inputPreparation(config.dataset, data.train.imageShape, data.norm)
        : null,
    trainSize: trainSet.length,
    testSize: testSet.length,
    environment: runEnvironment(),
  };
  if (!o.resume) writeJsonAtomic(join(out, 'config.json'), resolved);
  const optim = makeOptimizer({
    kind: optimizer,
    lr: config.lr,
    momentum: config.momentum,
    weightDecay: config.weightDecay,
    skipNormDecay: config.wdSkipNorm ?? false,
  });
  if (config.initFrom && !o.resume)
    loadWeights(
      model,
      readFileSync(join(config.initFrom, 'model.safetensors')),
      join(config.initFrom, 'model.safetensors'),
    );
  const resume = o.resume ? loadCheckpoint(out, model) : undefined;

  const progress = new Progress();
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(
    `${resume ? `resuming at epoch ${resume.epoch + 1}, image ${resume.start}/${trainSet.length}: ` : ''}training ${spec.name ?? config.model} on ${trainSet.length} ${config.features ? `feature vectors of ${config.features}` : `${config.dataset} images`}, evaluating on ${testSet.length} ${data.evaluatedOn} images → ${out}`,
  );
  const record = startMetrics(out, o.resume);
  const onEpoch = (m: EpochMetrics) => {
    progress.clear();
    record(epochRecord(m));
    log(
      `epoch ${m.epoch}/${config.epochs}  train loss ${m.trainLoss.toFixed(4)} acc ${pct(m.trainAccuracy)}` +
        (m.testAccuracy === null
          ? ''
          : `  ${data.evaluatedOn === 'validation' ? 'val' : 'test'} loss ${m.testLoss!.toFixed(4)} acc ${pct(m.testAccuracy)}`) +
        `  ${clock(m.seconds)} (${Math.round(trainSet.length / m.seconds)} img/s)`,
    );
    progress.startEpoch(m.seconds + m.evalSeconds);
  };
  // The first Ctrl-C asks the trainer to stop after its current step; a second one quits at once.
  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
    progress.clear();
    log('stopping after the current step and saving a checkpoint (Ctrl-C again quits without one)…');
  };
  process.off('SIGINT', noteSigint);
  process.on('SIGINT', onSigint);
  let result: TrainResult;
  try {
    result = await train(model, trainSet, testSet, {
      epochs: config.epochs,
      batchSize: config.batchSize,
      seed,
      optimizer: optim,
      schedule: config.schedule,
      convergence: config.convergence ?? undefined,
      warmupEpochs: config.warmup ?? undefined,
      labelSmoothing: config.labelSmoothing ?? undefined,
      clipGrad: config.clipGrad ?? undefined,
      ema: config.ema ?? undefined,
      tta: config.tta ?? undefined,
      patience: config.patience ?? undefined,
      onEpoch,
      onStep: record,
      logEvery: config.logEvery ?? undefined,
      onProgress: (p) => progress.update({ ...p, epochs: config.epochs }),
      signal: stop.signal,
      resume,
    });
  } catch (e) {
    progress.clear();
    if (e instanceof DivergenceError) {
      saveModelFiles(model, out);
      writeJsonAtomic(join(out, summaryFile), {
        status: 'diverged',
        error: e.message,
        epoch: e.epoch,
        step: e.step,
      });
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    process.on('SIGINT', noteSigint);
  }
  if (result.state) {
    saveCheckpoint(out, model, result.state);
    const at = { epoch: result.state.epoch + 1, image: result.state.start, of: trainSet.length };
    writeJsonAtomic(join(out, summaryFile), {
      status: 'interrupted',
      ...at,
      resume: `convts train --resume ${out}`,
    });
    if (o.json)
      process.stdout.write(`${JSON.stringify({ status: 'interrupted', ...at, checkpoint: checkpointPath(out) })}\n`);
    log(
      `stopped at epoch ${at.epoch}, image ${at.image}/${at.of}; saved ${checkpointPath(out)} — continue with: convts train --resume ${out}`,
    );
    return 130;
  }
  saveModelFiles(model, out);
  rmSync(checkpointPath(out), { force: true });
  const summary = summarize(
    model,
    config,
    result,
    { train: trainSet.length, test: testSet.length, evaluatedOn: data.evaluatedOn },
    trainSet.classNames,
  );
  writeJsonAtomic(join(out, summaryFile), summary);
  writeRunReport(out, { model, testSet, summary, config: resolved, metrics: result.epochs });
  writeReportPage(out, { model, config: resolved, data: testSet }); // report.html: the dashboard's run page
  if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else
    log(
      `${data.evaluatedOn} accuracy ${pct(summary.testAccuracy)}, loss ${summary.testLoss.toFixed(4)} after ${result.epochs.length} epoch(s), ${clock(result.seconds)} — wrote ${out}/summary.json and ${out}/report.html`,
    );
  // Last, where it is seen: the run finished, but learned nothing.
  for (const w of summary.warnings ?? []) log(`warning: ${w}`);
  return 0;
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
  return { ...data, train: train.with({ norm }), test: test.with({ norm }), norm } as D;
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
  const m = /^step:(\d+):([\d.eE+-]+)$/.exec(v);
  if (m && Number(m[1]) >= 1 && Number(m[2]) > 0) return { kind: 'step', stepSize: Number(m[1]), gamma: Number(m[2]) };
  throw new UsageError(
    `--schedule: expected constant, cosine, cosine:batch, onecycle or step:<epochs>:<gamma> (e.g. step:2:0.5), got "${v}"`,
  );
}

function parseConverge(v: string | undefined): { tol: number; patience: number } | null {
  if (v === undefined) return null;
  const [tol, k] = v.split(':');
  return { tol: num('converge', tol, 0, { min: 0 }), patience: num('converge', k ?? '2', 2, { int: true, min: 1 }) };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}
