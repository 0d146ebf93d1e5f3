import { ConfigError } from '../errors.js';
import type { Sequential } from '../model/sequential.js';
import { clipGradNorm, Ema, lrAtStep, type ScheduleSpec } from '../optim/index.js';
import type { Evaluation } from './trainer.js';

/** The training aids of modern recipes, all off unless given. */
export interface RecipeOptions {
  /** Label smoothing ε of the cross-entropy training loss, in [0, 1). */
  labelSmoothing?: number;
  /** Linear warm-up of the learning rate over this many epochs (fractions allowed), per batch. */
  warmupEpochs?: number;
  /** Clip the global gradient norm to this value before every step. */
  clipGrad?: number;
  /** Decay of an exponential moving average of the weights, used for evaluation (e.g. 0.999). */
  ema?: number;
  /** Stop once the evaluation accuracy has not improved for this many epochs; keep the best weights. */
  patience?: number;
  /**
   * Lookahead (Zhang et al., 2019) as airbench trains with it: every `every` steps the slow weights
   * move to decay_t·slow + (1 − decay_t)·weights and training restarts from them, where
   * decay_t = decay^every · (t/T)³ grows from 0 to decay^every over the T steps of the run; after the
   * last step the weights are the slow ones. Weights and batch norm's running statistics alike.
   */
  lookahead?: { every: number; decay: number };
}

/** The best evaluation so far and its weights (as evaluated: the average when there is one). */
export interface BestSoFar {
  accuracy: number;
  /** Epochs since it. */
  since: number;
  evaluation: Evaluation;
  weights: Float32Array[];
}

/**
 * Applies RecipeOptions around the trainer's steps: the learning rate of each step, gradient
 * clipping, the weight average and its use for evaluation.
 */
export class Recipe {
  readonly ema: Ema | null;
  /** Lookahead's slow weights (saved in a checkpoint where the average would be). */
  readonly slow: Ema | null;
  best: BestSoFar | null;
  private readonly warmupSteps: number;
  private readonly tensors: Float32Array[];

  constructor(
    private readonly model: Sequential,
    private readonly o: RecipeOptions & { schedule?: ScheduleSpec; epochs: number },
    private readonly stepsPerEpoch: number,
    emaState?: Float32Array[] | null,
    best?: BestSoFar | null,
  ) {
    const ls = o.labelSmoothing ?? 0;
    if (!(ls >= 0 && ls < 1)) throw new ConfigError(`label smoothing must be in [0, 1), got ${ls}`);
    if (ls > 0 && model.spec.loss !== 'cross-entropy') {
      throw new ConfigError(`label smoothing needs the cross-entropy loss, the model uses ${model.spec.loss}`);
    }
    model.labelSmoothing = ls;
    if (o.clipGrad !== undefined && !(o.clipGrad > 0))
      throw new ConfigError(`gradient clipping needs a norm > 0, got ${o.clipGrad}`);
    if (o.ema !== undefined && !(o.ema > 0 && o.ema < 1))
      throw new ConfigError(`the weight average's decay must be in (0, 1), got ${o.ema}`);
    const la = o.lookahead;
    if (la && !(Number.isInteger(la.every) && la.every >= 1 && la.decay >= 0 && la.decay < 1))
      throw new ConfigError(
        `lookahead needs a whole number of steps ≥ 1 and a decay in [0, 1), got ${la.every}:${la.decay}`,
      );
    if (la && o.ema !== undefined)
      throw new ConfigError('lookahead and a weight average (ema) cannot be combined: choose one');
    if (o.warmupEpochs !== undefined && !(o.warmupEpochs >= 0))
      throw new ConfigError(`warm-up must be ≥ 0 epochs, got ${o.warmupEpochs}`);
    if (o.patience !== undefined && !(Number.isInteger(o.patience) && o.patience >= 1))
      throw new ConfigError(`patience must be a whole number of epochs ≥ 1, got ${o.patience}`);
    this.warmupSteps = Math.round((o.warmupEpochs ?? 0) * stepsPerEpoch);
    const tensors = [
      ...model.params().map((p) => p.value.data),
      ...model
        .namedBuffers()
        .filter((b) => b.buffer.dtype === 'F32')
        .map((b) => b.buffer.value.data),
    ];
    if (emaState && emaState.length !== tensors.length)
      throw new ConfigError('cannot resume: the checkpoint has no weight average for this model');
    this.ema =
      o.ema === undefined
        ? null
        : new Ema(
            tensors,
            o.ema,
            emaState?.map((t) => t.slice()),
          );
    this.slow = la
      ? new Ema(
          tensors,
          la.decay,
          emaState?.map((t) => t.slice()),
        )
      : null;
    this.tensors = tensors;
    this.best = best ?? null;
  }

  /** After an epoch's evaluation: remembers the best one; true when training should stop (patience ran out). */
  afterEvaluation(ev: Evaluation): boolean {
    if (this.o.patience === undefined) return false;
    if (!this.best || ev.accuracy > this.best.accuracy) {
      const evaluated = this.ema ? this.ema.shadow : this.tensors;
      this.best = { accuracy: ev.accuracy, since: 0, evaluation: ev, weights: evaluated.map((t) => t.slice()) };
      return false;
    }
    return ++this.best.since >= this.o.patience;
  }

  /** With patience: puts the best weights into the model and returns their evaluation. */
  keepBest(): Evaluation | null {
    if (!this.best) return null;
    this.tensors.forEach((t, k) => t.set(this.best!.weights[k]));
    return this.best.evaluation;
  }

  /** The learning rate of step `step` (0-based) of epoch `epoch`. */
  lr(baseLr: number, epoch: number, step: number): number {
    const s = this.o.schedule ?? { kind: 'constant' };
    return lrAtStep(s, baseLr, {
      epoch,
      step,
      stepsPerEpoch: this.stepsPerEpoch,
      epochs: this.o.epochs,
      warmupSteps: this.warmupSteps,
    });
  }

  /** Between backward and the optimizer step. */
  beforeStep(): void {
    if (this.o.clipGrad !== undefined) clipGradNorm(this.model.params(), this.o.clipGrad);
  }

  /** After the optimizer step; `done` counts the steps of the whole run so far, this one included. */
  afterStep(done: number): void {
    this.ema?.update();
    const la = this.o.lookahead;
    if (this.slow && la && done % la.every === 0) {
      const total = this.o.epochs * this.stepsPerEpoch;
      this.slow.pull(la.decay ** la.every * Math.min(done / total, 1) ** 3);
    }
  }

  /** After the last step of the run: lookahead leaves the slow weights in the model. */
  finishTraining(): void {
    this.slow?.restore();
  }

  /** Runs f with the averaged weights in the model (when there is an average). */
  withAverage<T>(f: () => T): T {
    if (!this.ema) return f();
    this.ema.swap();
    try {
      return f();
    } finally {
      this.ema.swap();
    }
  }
}
