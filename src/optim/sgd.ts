import { kernels, type SgdStepOptions } from '../kernels/index.js';
import type { Param } from '../layers/layer.js';
import { type Optimizer, type OptimizerState, zeroBuffers } from './optimizer.js';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  /** L2 penalty: weightDecay·w is added to each gradient. */
  weightDecay?: number;
  /** Parameters weight decay leaves alone (biases and batch-norm parameters with --wd-skip-norm). */
  skipDecay?: (p: Param) => boolean;
}

/**
 * Stochastic gradient descent, with classic or Nesterov momentum, exactly as torch.optim.SGD
 * (dampening 0): g += wd·w; v = μ·v + g (v = g on the first step); w −= lr·(nesterov ? g + μ·v : v).
 */
export class Sgd implements Optimizer {
  lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private readonly skipDecay: (p: Param) => boolean;
  private velocity: Float32Array[] | null = null;
  private steps = 0;

  constructor(o: SgdOptions) {
    this.lr = o.lr;
    this.momentum = o.momentum ?? 0;
    this.nesterov = o.nesterov ?? false;
    this.weightDecay = o.weightDecay ?? 0;
    this.skipDecay = o.skipDecay ?? (() => false);
  }

  step(params: readonly Param[]): void {
    const mu = this.momentum;
    if (mu !== 0 && !this.velocity) this.velocity = zeroBuffers(params);
    const o: SgdStepOptions = {
      lr: this.lr,
      momentum: mu,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
      first: this.steps === 0,
    };
    const k = kernels();
    for (let p = 0; p < params.length; p++) {
      if (params[p].frozen) continue;
      const w = params[p].value.data;
      o.weightDecay = params[p].weightDecay ?? (this.skipDecay(params[p]) ? 0 : this.weightDecay);
      o.lr = this.lr * (params[p].lrScale ?? 1);
      k.sgdStep(w, params[p].grad.data, mu === 0 ? null : this.velocity![p], w.length, o);
    }
    this.steps++;
  }

  state(): OptimizerState {
    return { step: this.steps, buffers: this.velocity ? [this.velocity] : [] };
  }

  loadState(s: OptimizerState): void {
    this.steps = s.step;
    this.velocity = s.buffers[0] ?? null;
  }
}
