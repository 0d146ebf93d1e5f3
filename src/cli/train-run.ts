/** A training run from its settings to its run directory: Ctrl-C handling, progress, checkpoint, summary and report. */
import { rmSync } from 'node:fs';
import { inputPreparation } from '../data/image.js';
import { budgetName, DownloadStopped, memoryBudget } from '../data/index.js';
import { ConfigError, DivergenceError, LimitError } from '../errors.js';
import { lockDir } from '../files/lock.js';
import { buildModel } from '../model/build.js';
import { builtinNames, fitToData } from '../model/builtins.js';
import { makeOptimizer } from '../optim/index.js';
import { writeRunReport } from '../report/run-report.js';
import {
  checkpointPath,
  epochRecord,
  loadCheckpoint,
  loadRunWeights,
  type RunConfig,
  runEnvironment,
  saveCheckpoint,
  saveModelFiles,
  saveProbabilities,
  startMetrics,
  summarize,
  writeRunConfig,
  writeRunSummary,
} from '../run/index.js';
import { writeReportPage } from '../serve/report-page.js';
import { type EpochMetrics, type TrainResult, train } from '../train/trainer.js';
import { clock, Progress } from './progress.js';
import { specModels } from './spec-models.js';
import { loadTrainingData } from './train-data.js';
import type { TrainConfig } from './train-flags.js';

/** How a run is started; `batchFrom` names where the batch size came from when it was a file (`train.json: "batch-size"`). */
export interface RunOptions {
  offline: boolean;
  json: boolean;
  resume: boolean;
  batchFrom?: string;
}

/** Trains as `config` says into the run directory `out` (continuing its checkpoint if `resume`); returns the exit code. */
export async function runTraining(config: TrainConfig, out: string, o: RunOptions): Promise<number> {
  lockDir(out);
  // Until training starts (and again while the results are saved), Ctrl-C is noted and honoured
  // between steps: loading stops before anything is written, a save completes before the exit.
  let interrupted = false;
  const stopLoading = new AbortController(); // a download of missing data stops at once, leaving nothing partial
  const noteSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    stopLoading.abort();
    process.stderr.write('stopping once the current step is done (Ctrl-C again quits at once)…\n');
  };
  // One listener for the whole run, handing each Ctrl-C to the current phase's handler: removing
  // the last listener stops Node's signal watcher, and a Ctrl-C not yet dispatched is then lost.
  let handler = noteSigint;
  const listener = () => handler();
  process.on('SIGINT', listener);
  try {
    return await trainLocked(
      config,
      out,
      o,
      stopLoading.signal,
      () => interrupted,
      (h) => {
        handler = h ?? noteSigint;
      },
    );
  } finally {
    process.off('SIGINT', listener);
  }
}

/**
 * CONVTS_TEST_LOAD_HOLD_MS: the tests' stand-in for a long synchronous load (a big gzip inflated,
 * pictures decoded): the event loop is blocked, so a Ctrl-C meanwhile waits to be dispatched.
 */
function holdForTests(): void {
  const ms = Number(process.env.CONVTS_TEST_LOAD_HOLD_MS) || 0;
  if (!ms) return;
  process.stderr.write('holding after loading (CONVTS_TEST_LOAD_HOLD_MS)\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Lets a signal that arrived during synchronous work reach its listener: signals are read in the
 * event loop's poll phase, and one setImmediate may run before the next poll (when queued from an
 * I/O callback); a second one runs after it.
 */
const settleSignals = () => new Promise((r) => setImmediate(() => setImmediate(r)));

async function trainLocked(
  config: TrainConfig,
  out: string,
  o: RunOptions,
  stopLoading: AbortSignal,
  interrupted: () => boolean,
  onSigint: (handler?: () => void) => void,
): Promise<number> {
  const { spec, seed, optimizer } = config;
  const stopped = () => {
    process.stderr.write(`stopped while loading the data; nothing was written to ${out}\n`);
    return 130;
  };
  let loaded: Awaited<ReturnType<typeof loadTrainingData>>;
  try {
    loaded = await loadTrainingData(config, o.offline, stopLoading);
  } catch (e) {
    if (e instanceof DownloadStopped) return stopped();
    throw e;
  }
  const { data, trainSet, testSet, testSplit } = loaded;
  holdForTests();
  // Loading is mostly synchronous: a Ctrl-C during it is only seen once the event loop runs.
  await settleSignals();
  if (interrupted()) return stopped();
  const classNames = [...trainSet.classNames];
  // A built-in network takes its input shape and output count from the data; a spec file must fit as it is.
  const builtin = ([...builtinNames, ...specModels] as readonly string[]).includes(config.model);
  let model: ReturnType<typeof buildModel>;
  try {
    model = buildModel(
      {
        ...(builtin ? fitToData(spec, trainSet.shape, classNames.length) : spec),
        classes: classNames,
        init: config.init,
      },
      { seed, maxBytes: memoryBudget(), batch: config.batchSize, budgetName: budgetName() },
    );
  } catch (e) {
    // A batch size that makes the model too large is named with the file that gave it, as its other errors are.
    if (e instanceof LimitError && o.batchFrom && config.batchSize > 1)
      throw new LimitError(`${o.batchFrom}: ${e.message}`);
    throw e;
  }
  if (model.classes !== classNames.length) {
    const names = classNames.length > 6 ? `${classNames.slice(0, 6).join(', ')}, …` : classNames.join(', ');
    throw new ConfigError(
      `--model ${config.model}: the model has ${model.classes} outputs, ${config.features ?? config.dataset} has ${classNames.length} classes (${names}) — give its last dense layer "units": ${classNames.length}`,
    );
  }
  const resolved: RunConfig = {
    ...config,
    classNames,
    normalization: data.norm,
    input:
      data.norm && 'imageShape' in data.train
        ? inputPreparation(config.dataset, data.train.imageShape, data.norm)
        : null,
    trainSize: trainSet.length,
    testSize: testSet.length,
    environment: runEnvironment(),
  };
  if (!o.resume) writeRunConfig(out, resolved);
  const optim = makeOptimizer({
    kind: optimizer,
    lr: config.lr,
    momentum: config.momentum,
    weightDecay: config.weightDecay,
    skipNormDecay: config.wdSkipNorm ?? false,
  });
  if (config.initFrom && !o.resume) loadRunWeights(model, config.initFrom);
  const resume = o.resume ? loadCheckpoint(out, model) : undefined;

  const progress = new Progress();
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(
    `${resume ? `resuming at epoch ${resume.epoch + 1}, image ${resume.start}/${trainSet.length}: ` : ''}training ${spec.name ?? config.model} on ${trainSet.length} ${config.features ? `feature vectors of ${config.features}` : `${config.dataset} images`}, evaluating on ${testSet.length} ${data.evaluatedOn} images${testSplit ? ` and ${testSplit.length} test images (${testSplit.name})` : ''} → ${out}`,
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
        (m.testSplitAccuracy === undefined
          ? ''
          : `  test loss ${m.testSplitLoss!.toFixed(4)} acc ${pct(m.testSplitAccuracy)}`) +
        `  ${clock(m.seconds)} (${Math.round(trainSet.length / m.seconds)} img/s)`,
    );
    progress.startEpoch(m.seconds + m.evalSeconds);
  };
  // The first Ctrl-C asks the trainer to stop after its current step; a second one quits at once.
  const stop = new AbortController();
  const stopTraining = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
    progress.clear();
    log('stopping after the current step and saving a checkpoint (Ctrl-C again quits without one)…');
  };
  onSigint(stopTraining);
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
      lookahead: config.lookahead ?? undefined,
      tta: config.tta ?? undefined,
      testSplit,
      patience: config.patience ?? undefined,
      evalEvery: config.evalEvery ?? undefined,
      onEpoch,
      onStep: record,
      logEvery: config.logEvery ?? undefined,
      onProgress: (p) => progress.update({ ...p, epochs: config.epochs }),
      signal: stop.signal,
      resume,
      dataInit: !config.initFrom,
      onDataInit: log,
    });
  } catch (e) {
    progress.clear();
    if (e instanceof DivergenceError) {
      saveModelFiles(model, out);
      writeRunSummary(out, {
        status: 'diverged',
        error: e.message,
        epoch: e.epoch,
        step: e.step,
      });
    }
    throw e;
  } finally {
    onSigint();
  }
  if (result.state) {
    saveCheckpoint(out, model, result.state);
    const at = { epoch: result.state.epoch + 1, image: result.state.start, of: trainSet.length };
    writeRunSummary(out, {
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
    {
      train: trainSet.length,
      test: testSet.length,
      evaluatedOn: data.evaluatedOn,
      ...(testSplit ? { testSplit: { name: testSplit.name, size: testSplit.length } } : {}),
    },
    trainSet.classNames,
  );
  writeRunSummary(out, summary);
  // The final evaluation's class probabilities: the report's mistakes and cell images, without running the model again.
  const probabilities = result.test?.probabilities;
  // Saved for convts serve's confusion-matrix cells and worst mistakes: of the evaluated set (the
  // validation hold-out with --val), as its confusion matrix and runDataset are.
  if (probabilities && testSet.shape.length === 3)
    saveProbabilities(out, probabilities, testSet.labels, model.classes, config.tta);
  writeRunReport(out, { model, testSet, summary, config: resolved, metrics: result.epochs, probabilities });
  writeReportPage(out, { model, config: resolved, data: testSet, probabilities }); // report.html: the dashboard's run page
  if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else
    log(
      `${data.evaluatedOn} accuracy ${pct(summary.testAccuracy)}, loss ${summary.testLoss.toFixed(4)}${summary.testSplit ? `; test accuracy ${pct(summary.testSplit.accuracy)}, loss ${summary.testSplit.loss.toFixed(4)} (${summary.testSplit.size} images)` : ''} after ${result.epochs.length} epoch(s), ${clock(result.seconds)} — wrote ${out}/summary.json and ${out}/report.html`,
    );
  // Last, where it is seen: the run finished, but learned nothing.
  for (const w of summary.warnings ?? []) log(`warning: ${w}`);
  return 0;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}
