import type { Param } from '../layers/layer.js';
import { zeroBuffers, type Optimizer, type OptimizerState } from './optimizer.js';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  /** L2 penalty: weightDecay·w is added to each gradient. */
  weightDecay?: number;
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
  private velocity: Float32Array[] | null = null;
  private steps = 0;

  constructor(o: SgdOptions) {
    this.lr = o.lr;
    this.momentum = o.momentum ?? 0;
    this.nesterov = o.nesterov ?? false;
    this.weightDecay = o.weightDecay ?? 0;
  }

  step(params: readonly Param[]): void {
    const { lr, momentum: mu, nesterov, weightDecay: wd } = this;
    if (mu !== 0 && !this.velocity) this.velocity = zeroBuffers(params);
    const first = this.steps === 0;
    for (let p = 0; p < params.length; p++) {
      const w = params[p].value.data;
      const g = params[p].grad.data;
      if (mu === 0) {
        for (let i = 0; i < w.length; i++) w[i] -= lr * (g[i] + wd * w[i]);
        continue;
      }
      const v = this.velocity![p];
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] + wd * w[i];
        const vi = first ? gi : mu * v[i] + gi;
        v[i] = vi;
        w[i] -= lr * (nesterov ? gi + mu * vi : vi);
      }
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
