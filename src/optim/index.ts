import { ConfigError } from '../errors.js';
import { isNormOrBias } from '../layers/layer.js';
import { Adam } from './adam.js';
import type { Optimizer } from './optimizer.js';
import { Sgd } from './sgd.js';

export { Adam, type AdamOptions } from './adam.js';
export { clipGradNorm } from './clip.js';
export { Ema } from './ema.js';
export type { Optimizer, OptimizerState } from './optimizer.js';
export { lrAt, lrAtStep, type ScheduleSpec, type StepClock } from './schedule.js';
export { Sgd, type SgdOptions } from './sgd.js';

export const optimizerKinds = ['sgd', 'momentum', 'nesterov', 'adam', 'adamw'] as const;
export type OptimizerKind = (typeof optimizerKinds)[number];

export interface OptimizerSpec {
  kind: OptimizerKind;
  lr: number;
  /** For momentum and nesterov; 0.9 unless given. */
  momentum?: number;
  /** L2 penalty (sgd, momentum, nesterov, adam) or decoupled decay (adamw: 0.01 unless given, as PyTorch). */
  weightDecay?: number;
  /** Leave biases and batch-norm parameters out of the weight decay. */
  skipNormDecay?: boolean;
}

/** Builds an optimizer by name, as the command line and configs give it. */
export function makeOptimizer(s: OptimizerSpec): Optimizer {
  if (!(s.lr > 0)) throw new ConfigError(`learning rate must be > 0, got ${s.lr}`);
  const weightDecay = s.weightDecay ?? (s.kind === 'adamw' ? 0.01 : 0);
  const skipDecay = s.skipNormDecay ? isNormOrBias : undefined;
  switch (s.kind) {
    case 'sgd':
      return new Sgd({ lr: s.lr, weightDecay, skipDecay });
    case 'momentum':
    case 'nesterov':
      return new Sgd({
        lr: s.lr,
        momentum: s.momentum ?? 0.9,
        nesterov: s.kind === 'nesterov',
        weightDecay,
        skipDecay,
      });
    case 'adam':
    case 'adamw':
      return new Adam({ lr: s.lr, weightDecay, decoupled: s.kind === 'adamw', skipDecay });
    default:
      throw new ConfigError(`unknown optimizer ${JSON.stringify(s.kind)} — use one of ${optimizerKinds.join(', ')}`);
  }
}
