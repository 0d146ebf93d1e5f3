/**
 * The training loop and evaluation. `train` stays one function on purpose: epochs, steps, resume from a
 * checkpoint, early stopping and Ctrl-C share its state, and splitting it would pass that state around.
 */
import { ConfigError, DivergenceError, ShapeError } from '../errors.js';
import { floats } from '../kernels/index.js';
import type { Sequential, Tta } from '../model/sequential.js';
import type { Optimizer, OptimizerState, ScheduleSpec } from '../optim/index.js';
import { Rng } from '../tensor/rng.js';
import { shapeStr, sizeOf, Tensor } from '../tensor/tensor.js';
import { initFromData } from './data-init.js';
import { type Dataset, forEachBatch } from './dataset.js';
import { addToConfusion, asProbabilities, emptyConfusion } from './metrics.js';
import { type BestSoFar, Recipe, type RecipeOptions } from './recipe.js';

export interface EpochMetrics {
  epoch: number; // 1-based
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number | null;
  testAccuracy: number | null;
  /** With a test split beside a validation set (TrainOptions.testSplit): its loss and accuracy. */
  testSplitLoss?: number;
  testSplitAccuracy?: number;
  /** Training time of the epoch, evaluation excluded. */
  seconds: number;
  evalSeconds: number;
}

/** Training progress over the last few steps, as a per-step record of metrics.jsonl. */
export interface StepMetrics {
  kind: 'step';
  /** 1-based, counted over the whole run (epochs × steps per epoch). */
  step: number;
  epoch: number; // 1-based
  /** Mean loss and accuracy over the samples of the steps since the previous record. */
  loss: number;
  accuracy: number;
  lr: number;
  imagesPerSecond: number;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  /** Rows = true class, columns = predicted. */
  confusion: number[][];
  /**
   * Every sample's class probabilities as evaluated (test-time augmentation included), sample by
   * sample: what a report's mistakes and confusion-cell images are picked from, without running the model again.
   */
  probabilities?: Float32Array;
}

export interface TrainOptions extends RecipeOptions {
  epochs: number;
  /** 1 is the report's per-sample SGD: forward, backward, update for every sample. */
  batchSize: number;
  optimizer: Optimizer;
  schedule?: ScheduleSpec;
  /** Seeds the shuffling; the same seed (and initial weights) gives a bit-identical run. */
  seed: number;
  /** Stop early once the train loss changed by less than `tol` for `patience` epochs in a row. */
  convergence?: { tol: number; patience: number };
  /** Test-time augmentation of every evaluation (see Sequential.evaluate). */
  tta?: Tta;
  /**
   * A second evaluation set reported beside the first (which is then a validation hold-out): the
   * test split, evaluated whenever the first one is. Patience and the best weights follow the first.
   */
  testSplit?: Dataset | null;
  /** Evaluate on the test set after every epoch (otherwise only at the end). */
  evalEveryEpoch?: boolean;
  /** With evalEveryEpoch: evaluate every this many epochs, and after the last (1). */
  evalEvery?: number;
  onEpoch?: (m: EpochMetrics) => void;
  /** Called every `logEvery` steps and at the end of each epoch. */
  onStep?: (m: StepMetrics) => void;
  /** Steps between onStep calls; by default an epoch gives about 100 records. */
  logEvery?: number;
  /** Called every few steps with the samples done in this epoch, and the running loss and accuracy. */
  onProgress?: (p: { epoch: number; done: number; total: number; loss: number; accuracy: number }) => void;
  /** Checked after every step: once aborted, training stops and returns its state to resume from. */
  signal?: AbortSignal;
  /** Continue a stopped run: the state it returned, with the model holding its weights then. */
  resume?: TrainState;
  /**
   * Data-dependent initializations (a first convolution's "patch-whitening") before the first
   * step, unless resuming; false when the weights come from elsewhere (another run's). Default true.
   */
  dataInit?: boolean;
  /** Told what the data-dependent initialization did. */
  onDataInit?: (what: string) => void;
}

/**
 * Everything besides the weights that a stopped run needs to continue bit-identically: where it
 * was, the shuffle order and RNG states, the optimizer's buffers and the metrics so far.
 */
export interface TrainState {
  /** 0-based epoch in progress, and the position in `order` of the next sample. */
  epoch: number;
  start: number;
  order: Int32Array;
  rng: number[];
  /** The model's own RNG (dropout masks), if it has one. */
  modelRng: number[] | null;
  optimizer: OptimizerState;
  /** The weight average (weights, then running statistics), when training keeps one. */
  ema?: Float32Array[] | null;
  /** With patience: the best evaluation so far and its weights. */
  best?: BestSoFar | null;
  /** Running sums of the epoch in progress, training seconds spent in it, and in the whole run. */
  lossSum: number;
  right: number;
  seconds: number;
  elapsed: number;
  calm: number;
  epochs: EpochMetrics[];
}

export interface TrainResult {
  epochs: EpochMetrics[];
  stoppedBy: 'epochs' | 'converged' | 'patience' | 'interrupted';
  test: Evaluation | null;
  /** The final evaluation of TrainOptions.testSplit, when given. */
  testSplit?: Evaluation | null;
  seconds: number;
  /** Set when stopped by `signal`: pass it back as `resume` to continue. */
  state?: TrainState;
}

/** Loss, accuracy and confusion matrix of a model over a whole data set, in batches; `onBatch` hears how many images are done. */
export function evaluate(
  model: Sequential,
  ds: Dataset,
  batchSize = 256,
  tta?: Tta,
  onBatch?: (done: number) => void,
): Evaluation {
  checkFits(model, ds);
  const classes = model.classes;
  const confusion = emptyConfusion(classes);
  const probabilities = new Float32Array(ds.length * classes);
  let loss = 0;
  let right = 0;
  forEachBatch(ds, batchSize, (x, start, n) => {
    const labels = ds.labels.subarray(start, start + n);
    const r = model.evaluate(x, labels, tta ?? false);
    loss += r.loss * n;
    right += addToConfusion(confusion, r.scores.data, labels, n, classes);
    asProbabilities(model.spec.loss, r.scores.data, n, classes, probabilities, start * classes);
    onBatch?.(start + n);
  });
  return { loss: loss / ds.length, accuracy: right / ds.length, confusion, probabilities };
}

/**
 * Trains `model` on `train` with mini-batch (or per-sample) gradient descent. A NaN or infinite
 * loss stops training with a DivergenceError naming the epoch and step; the model then holds the
 * last weights that gave a finite loss.
 */
export async function train(
  model: Sequential,
  trainSet: Dataset,
  testSet: Dataset | null,
  o: TrainOptions,
): Promise<TrainResult> {
  checkFits(model, trainSet);
  if (testSet) checkFits(model, testSet);
  if (o.testSplit) checkFits(model, o.testSplit);
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1))
    throw new ConfigError(`batch size must be a positive integer, got ${o.batchSize}`);
  if (!(Number.isInteger(o.epochs) && o.epochs >= 1))
    throw new ConfigError(`epochs must be a positive integer, got ${o.epochs}`);
  // Batch statistics of a single value fail mid-run otherwise: refuse such batches up front.
  model.checkTrainBatch(Math.min(o.batchSize, trainSet.length));
  const rest = trainSet.length % o.batchSize;
  if (rest > 0 && trainSet.length > o.batchSize) {
    model.checkTrainBatch(
      rest,
      `the last training batch of ${rest} (${trainSet.length} images in batches of ${o.batchSize})`,
    );
  }
  const r0 = o.resume;
  if (!r0 && o.dataInit !== false) for (const what of initFromData(model, trainSet)) o.onDataInit?.(what);
  const t0 = performance.now() - (r0?.elapsed ?? 0) * 1000;
  const rng = new Rng(o.seed);
  const params = model.params();
  const lastGood = params.map((p) => new Float32Array(p.value.size));
  const order = Int32Array.from({ length: trainSet.length }, (_, i) => i);
  if (r0) {
    if (r0.order.length !== trainSet.length) {
      throw new ConfigError(
        `cannot resume: the checkpoint shuffled ${r0.order.length} training images, the data set has ${trainSet.length} — resume with the run's own data options`,
      );
    }
    order.set(r0.order);
    rng.setState(r0.rng);
    if (r0.modelRng) model.rng?.setState(r0.modelRng);
    o.optimizer.loadState(r0.optimizer);
  }
  const sampleSize = sizeOf(trainSet.shape);
  // In the kernel set's memory, as the layers' own arrays: the first layer reads each batch in place.
  const full = new Tensor([o.batchSize, ...trainSet.shape], floats(o.batchSize * sampleSize));
  const labelBuf = new Uint8Array(o.batchSize);
  const classes = model.classes;
  const baseLr = o.optimizer.lr;
  const epochs: EpochMetrics[] = r0 ? [...r0.epochs] : [];
  let stoppedBy: TrainResult['stoppedBy'] = 'epochs';
  let calm = r0?.calm ?? 0;
  let lastEval: Evaluation | null = null;
  let lastSplitEval: Evaluation | null = null;
  let yieldAt = performance.now() + 100;
  const stepsPerEpoch = Math.ceil(trainSet.length / o.batchSize);
  const logEvery = o.logEvery ?? defaultLogEvery(trainSet.length, o.batchSize);
  if (o.patience !== undefined && (!testSet || o.evalEveryEpoch === false || (o.evalEvery ?? 1) !== 1))
    throw new ConfigError('patience needs an evaluation after every epoch: give a test or validation set');
  const recipe = new Recipe(model, o, stepsPerEpoch, r0?.ema, r0?.best);

  for (let epoch = r0?.epoch ?? 0; epoch < o.epochs; epoch++) {
    const resuming = r0 !== undefined && epoch === r0.epoch;
    const te = performance.now() - (resuming ? r0.seconds * 1000 : 0);
    if (!resuming) rng.shuffle(order);
    trainSet.startEpoch?.(epoch);
    model.startEpoch(epoch);
    let lossSum = resuming ? r0.lossSum : 0;
    let right = resuming ? r0.right : 0;
    let start = resuming ? r0.start : 0;
    if (resuming) params.forEach((p, i) => lastGood[i].set(p.value.data));
    const win = { loss: 0, right: 0, n: 0, t: performance.now() };
    for (let step = Math.ceil(start / o.batchSize); start < trainSet.length; step++) {
      const n = Math.min(o.batchSize, trainSet.length - start);
      const x = n === o.batchSize ? full : new Tensor([n, ...trainSet.shape], full.data.subarray(0, n * sampleSize));
      trainSet.fill(x.data, order, start, n);
      for (let i = 0; i < n; i++) labelBuf[i] = trainSet.labels[order[start + i]];
      const labels = labelBuf.subarray(0, n);
      o.optimizer.lr = recipe.lr(baseLr, epoch, step);
      model.zeroGrad();
      const { loss, scores } = model.lossAndBackward(x, labels);
      if (!Number.isFinite(loss)) {
        if (epoch > 0 || step > 0) params.forEach((p, i) => p.value.data.set(lastGood[i]));
        throw new DivergenceError(
          `training diverged: the loss is ${loss} at epoch ${epoch + 1}, step ${step + 1} (lr ${o.optimizer.lr}) — ` +
            'the model keeps the last weights that gave a finite loss; lower the learning rate',
          epoch + 1,
          step + 1,
        );
      }
      params.forEach((p, i) => lastGood[i].set(p.value.data));
      recipe.beforeStep();
      o.optimizer.step(params);
      recipe.afterStep(epoch * stepsPerEpoch + step + 1);
      const hits = addToConfusion(null, scores.data, labels, n, classes);
      lossSum += loss * n;
      right += hits;
      start += n;
      if (o.onStep) {
        win.loss += loss * n;
        win.right += hits;
        win.n += n;
        if ((step + 1) % logEvery === 0 || start >= trainSet.length) {
          const now = performance.now();
          o.onStep({
            kind: 'step',
            step: epoch * stepsPerEpoch + step + 1,
            epoch: epoch + 1,
            loss: win.loss / win.n,
            accuracy: win.right / win.n,
            lr: o.optimizer.lr,
            imagesPerSecond: win.n / Math.max((now - win.t) / 1000, 1e-9),
          });
          Object.assign(win, { loss: 0, right: 0, n: 0, t: now });
        }
      }
      if (o.signal?.aborted) {
        o.optimizer.lr = baseLr;
        const state: TrainState = {
          epoch,
          start,
          order: order.slice(),
          rng: rng.getState(),
          modelRng: model.rng?.getState() ?? null,
          optimizer: o.optimizer.state(),
          ema: (recipe.ema ?? recipe.slow)?.shadow ?? null,
          best: recipe.best,
          lossSum,
          right,
          seconds: (performance.now() - te) / 1000,
          elapsed: (performance.now() - t0) / 1000,
          calm,
          epochs: [...epochs],
        };
        return { epochs, stoppedBy: 'interrupted', test: null, seconds: (performance.now() - t0) / 1000, state };
      }
      if (performance.now() >= yieldAt) {
        o.onProgress?.({
          epoch: epoch + 1,
          done: start,
          total: trainSet.length,
          loss: lossSum / start,
          accuracy: right / start,
        });
        await nextTask(); // lets signals, timers and a worker's messages through
        yieldAt = performance.now() + 100;
      }
    }
    const last = epoch === o.epochs - 1;
    if (last) recipe.finishTraining();
    const trainLoss = lossSum / trainSet.length;
    const trainSeconds = (performance.now() - te) / 1000;
    const ev =
      testSet && ((o.evalEveryEpoch !== false && (epoch + 1) % (o.evalEvery ?? 1) === 0) || last)
        ? recipe.withAverage(() => evaluate(model, testSet, 256, o.tta))
        : null;
    const splitEv = ev && o.testSplit ? recipe.withAverage(() => evaluate(model, o.testSplit!, 256, o.tta)) : null;
    lastEval = ev;
    lastSplitEval = splitEv;
    const m: EpochMetrics = {
      epoch: epoch + 1,
      lr: o.optimizer.lr,
      trainLoss,
      trainAccuracy: right / trainSet.length,
      testLoss: ev?.loss ?? null,
      testAccuracy: ev?.accuracy ?? null,
      ...(splitEv ? { testSplitLoss: splitEv.loss, testSplitAccuracy: splitEv.accuracy } : {}),
      seconds: trainSeconds,
      evalSeconds: (performance.now() - te) / 1000 - trainSeconds,
    };
    epochs.push(m);
    o.onEpoch?.(m);
    if (ev && recipe.afterEvaluation(ev)) {
      stoppedBy = 'patience';
      break;
    }
    if (o.convergence && epochs.length > 1) {
      calm = Math.abs(epochs[epochs.length - 2].trainLoss - trainLoss) < o.convergence.tol ? calm + 1 : 0;
      if (calm >= o.convergence.patience) {
        stoppedBy = 'converged';
        break;
      }
    }
  }
  o.optimizer.lr = baseLr; // a later train() with the same optimizer starts from the base rate again
  let test = testSet ? (lastEval ?? recipe.withAverage(() => evaluate(model, testSet, 256, o.tta))) : null;
  recipe.ema?.swap(); // the model keeps the averaged weights, which are the ones evaluated and saved
  const best = recipe.keepBest();
  test = best ?? test;
  // The test split of the weights kept: the last epoch's, or evaluated again for the best epoch's.
  const testSplit = o.testSplit
    ? best || !lastSplitEval
      ? evaluate(model, o.testSplit, 256, o.tta)
      : lastSplitEval
    : null;
  return { epochs, stoppedBy, test, ...(o.testSplit ? { testSplit } : {}), seconds: (performance.now() - t0) / 1000 };
}

/** Steps between per-step records so that an epoch gives about 100 of them. */
export function defaultLogEvery(samples: number, batchSize: number): number {
  return Math.max(1, Math.round(Math.ceil(samples / batchSize) / 100));
}

function checkFits(model: Sequential, ds: Dataset): void {
  const want = model.inputShape;
  if (ds.shape.length !== want.length || ds.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(
      `data set ${ds.name} has samples of ${shapeStr(ds.shape)}, the model takes ${shapeStr(want)} — pick the model made for this data set`,
    );
  }
  const bad = ds.labels.findIndex((l) => l >= model.classes);
  if (bad >= 0) {
    throw new ShapeError(
      `data set ${ds.name}: label ${ds.labels[bad]} of sample ${bad} is out of range for a model with ${model.classes} outputs`,
    );
  }
}

// setImmediate where there is one (Node); a message round trip elsewhere (browsers and workers
// have no setImmediate, and a nested setTimeout(0) waits at least 4 ms).
function nextTask(): Promise<void> {
  // Read from globalThis: the browser build has no Node types to declare it.
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  if (typeof immediate === 'function') return new Promise((r) => immediate(r));
  return new Promise((r) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      r();
    };
    ch.port2.postMessage(null);
  });
}
