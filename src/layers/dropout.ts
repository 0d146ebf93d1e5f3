import { ConfigError } from '../errors.js';
import { kernels } from '../kernels/index.js';
import type { Rng } from '../tensor/rng.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { type BuildContext, Layer } from './layer.js';

export interface DropoutSpec {
  type: 'dropout';
  /** Probability of zeroing each value during training. */
  rate: number;
  name?: string;
}

/** Inverted dropout, as in PyTorch: kept values are scaled by 1/(1−rate) in training; eval is identity. */
export class Dropout extends Layer {
  readonly kind = 'dropout';
  readonly outShape: Shape;
  readonly rate: number;
  private readonly rng: Rng;
  private mask = new Float32Array(0);
  private active = false;

  constructor(spec: DropoutSpec, inShape: Shape, ctx: BuildContext) {
    super(inShape);
    if (!(spec.rate >= 0 && spec.rate < 1)) {
      throw new ConfigError(`rate must be in [0, 1), got ${spec.rate}`);
    }
    this.rate = spec.rate;
    this.rng = ctx.rng;
    this.outShape = this.inShape;
  }

  forward(x: Tensor, training: boolean): Tensor {
    this.active = training && this.rate > 0;
    if (!this.active) return x;
    if (this.mask.length < x.size) this.mask = new Float32Array(x.size); // grows only: batch sizes alternate
    const keep = 1 / (1 - this.rate);
    for (let i = 0; i < x.size; i++) this.mask[i] = this.rng.uniform() >= this.rate ? keep : 0;
    const y = this.output(x.shape[0]);
    kernels().mul(y.data, x.data, this.mask, x.size);
    return y;
  }

  backward(dy: Tensor): Tensor {
    if (!this.active) return dy;
    const dx = this.inputGrad(dy.shape[0]);
    kernels().mul(dx.data, dy.data, this.mask, dy.size);
    return dx;
  }
}
