import { ConfigError } from '../errors.js';

/**
 * Learning-rate schedules. Per epoch (0-based), as PyTorch's per-epoch schedulers: constant; step
 * (StepLR: lr·γ^⌊epoch/stepSize⌋); cosine (CosineAnnealingLR over `epochs`; with `perBatch`, the
 * same curve stepped every batch). Per batch: onecycle (OneCycleLR without momentum cycling: from
 * lr/divFactor up to lr over the first pctStart of the steps, then down to lr/divFactor/finalDivFactor,
 * along a cosine or, with anneal 'linear', straight lines).
 */
export type ScheduleSpec =
  | { kind: 'constant' }
  | { kind: 'step'; stepSize: number; gamma: number }
  | { kind: 'cosine'; epochs: number; minLr?: number; perBatch?: boolean }
  | { kind: 'onecycle'; pctStart?: number; divFactor?: number; finalDivFactor?: number; anneal?: 'cos' | 'linear' };

/** Where training is, for schedules that step per batch. */
export interface StepClock {
  /** 0-based epoch, and the 0-based step within it. */
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  /** Epochs of the whole run. */
  epochs: number;
  /** Linear warm-up over the first steps: the rate is multiplied by (t + 1)/warmupSteps at step t. */
  warmupSteps?: number;
}

/**
 * The learning rate of one training step: the schedule (per batch where it steps per batch),
 * times the linear warm-up factor during warm-up (PyTorch: LinearLR(start_factor=1/W,
 * total_iters=W−1) chained with the schedule).
 */
export function lrAtStep(s: ScheduleSpec, baseLr: number, c: StepClock): number {
  const t = c.epoch * c.stepsPerEpoch + c.step;
  let lr: number;
  if (s.kind === 'onecycle') lr = oneCycle(s, baseLr, t, c.epochs * c.stepsPerEpoch);
  else if (s.kind === 'cosine' && s.perBatch) lr = lrAt(s, baseLr, t / c.stepsPerEpoch);
  else lr = lrAt(s, baseLr, c.epoch);
  if (c.warmupSteps && t < c.warmupSteps) lr *= (t + 1) / c.warmupSteps;
  return lr;
}

function oneCycle(s: ScheduleSpec & { kind: 'onecycle' }, maxLr: number, t: number, total: number): number {
  const initial = maxLr / (s.divFactor ?? 25);
  const final = initial / (s.finalDivFactor ?? 1e4);
  const peak = (s.pctStart ?? 0.3) * total - 1; // the step at which the rate is highest, as PyTorch
  const anneal =
    s.anneal === 'linear'
      ? (from: number, to: number, pct: number) => from + (to - from) * pct
      : (from: number, to: number, pct: number) => to + ((from - to) * (1 + Math.cos(Math.PI * pct))) / 2;
  if (t <= peak) return anneal(initial, maxLr, t / peak);
  return anneal(maxLr, final, (t - peak) / (total - 1 - peak));
}

export function lrAt(s: ScheduleSpec, baseLr: number, epoch: number): number {
  switch (s.kind) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * s.gamma ** Math.floor(epoch / s.stepSize);
    case 'onecycle':
      throw new ConfigError('the onecycle schedule steps per batch: use lrAtStep');
    case 'cosine': {
      const min = s.minLr ?? 0;
      const t = Math.min(epoch, s.epochs);
      return min + ((baseLr - min) * (1 + Math.cos((Math.PI * t) / s.epochs))) / 2;
    }
    default:
      throw new ConfigError(
        `unknown learning-rate schedule ${JSON.stringify((s as { kind: unknown }).kind)} — use constant, step, cosine or onecycle`,
      );
  }
}
