import { ConfigError } from '../errors.js';
import { Adam } from './adam.js';
import type { Optimizer } from './optimizer.js';
import { Sgd } from './sgd.js';

export { Adam, type AdamOptions } from './adam.js';
export type { Optimizer, OptimizerState } from './optimizer.js';
export { lrAt, type ScheduleSpec } from './schedule.js';
export { Sgd, type SgdOptions } from './sgd.js';

export const optimizerKinds = ['sgd', 'momentum', 'nesterov', 'adam'] as const;
export type OptimizerKind = (typeof optimizerKinds)[number];

export interface OptimizerSpec {
  kind: OptimizerKind;
  lr: number;
  /** For momentum and nesterov; 0.9 unless given. */
  momentum?: number;
  weightDecay?: number;
}

/** Builds an optimizer by name, as the command line and configs give it. */
export function makeOptimizer(s: OptimizerSpec): Optimizer {
  if (!(s.lr > 0)) throw new ConfigError(`learning rate must be > 0, got ${s.lr}`);
  const weightDecay = s.weightDecay ?? 0;
  switch (s.kind) {
    case 'sgd':
      return new Sgd({ lr: s.lr, weightDecay });
    case 'momentum':
    case 'nesterov':
      return new Sgd({ lr: s.lr, momentum: s.momentum ?? 0.9, nesterov: s.kind === 'nesterov', weightDecay });
    case 'adam':
      return new Adam({ lr: s.lr, weightDecay });
    default:
      throw new ConfigError(`unknown optimizer ${JSON.stringify(s.kind)} — use one of ${optimizerKinds.join(', ')}`);
  }
}
