import type { Param } from '../layers/layer.js';
import { type Optimizer, type OptimizerState, zeroBuffers } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** L2 penalty added to the gradient (torch.optim.Adam's weight_decay), or with `decoupled` AdamW's. */
  weightDecay?: number;
  /** AdamW (torch.optim.AdamW): w −= lr·wd·w before the step, the gradient left alone. */
  decoupled?: boolean;
  /** Parameters weight decay leaves alone (biases and batch-norm parameters with --wd-skip-norm). */
  skipDecay?: (p: Param) => boolean;
}

/**
 * Adam with bias correction, as torch.optim.Adam: w −= lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε); with
 * `decoupled`, AdamW: the weights first shrink by lr·wd, and the decay never enters m and v.
 */
export class Adam implements Optimizer {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  private readonly skipDecay: (p: Param) => boolean;
  private m: Float32Array[] | null = null;
  private v: Float32Array[] | null = null;
  private t = 0;

  constructor(o: AdamOptions) {
    this.lr = o.lr;
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
    this.decoupled = o.decoupled ?? false;
    this.skipDecay = o.skipDecay ?? (() => false);
  }

  step(params: readonly Param[]): void {
    if (!this.m || !this.v) {
      this.m = zeroBuffers(params);
      this.v = zeroBuffers(params);
    }
    const { beta1: b1, beta2: b2, eps } = this;
    this.t++;
    const bc1 = 1 - b1 ** this.t;
    const sqrtBc2 = Math.sqrt(1 - b2 ** this.t);
    for (let p = 0; p < params.length; p++) {
      if (params[p].frozen) continue;
      const w = params[p].value.data;
      const g = params[p].grad.data;
      const m = this.m[p];
      const v = this.v[p];
      const decay = params[p].weightDecay ?? (this.skipDecay(params[p]) ? 0 : this.weightDecay);
      const lr = this.lr * (params[p].lrScale ?? 1);
      const stepSize = lr / bc1;
      const wd = this.decoupled ? 0 : decay;
      if (this.decoupled && decay !== 0) {
        const shrink = 1 - lr * decay;
        for (let i = 0; i < w.length; i++) w[i] *= shrink;
      }
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] + wd * w[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / sqrtBc2 + eps);
      }
    }
  }

  state(): OptimizerState {
    return { step: this.t, buffers: this.m && this.v ? [this.m, this.v] : [] };
  }

  loadState(s: OptimizerState): void {
    this.t = s.step;
    this.m = s.buffers[0] ?? null;
    this.v = s.buffers[1] ?? null;
  }
}
