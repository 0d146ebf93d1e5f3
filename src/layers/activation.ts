import { ConfigError } from '../errors.js';
import { type Activation, type FusedActivation, kernels } from '../kernels/index.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { Layer } from './layer.js';

export interface ActivationSpec {
  type: Activation;
  name?: string;
}

/** ReLU, sigmoid and tanh: elementwise, any shape; the forward output is all backward needs. */
export class ActivationLayer extends Layer {
  readonly kind: Activation;
  readonly outShape: Shape;
  /** What a batch norm before this layer may apply in its own kernel: ReLU only. */
  readonly fusable: FusedActivation | null;
  private y: Tensor | null = null;

  constructor(spec: ActivationSpec, inShape: Shape) {
    super(inShape);
    this.kind = spec.type;
    this.outShape = this.inShape;
    this.fusable = this.kind === 'relu' ? { f: 'relu', slope: 0 } : null;
  }

  forward(x: Tensor): Tensor {
    const y = this.output(x.shape[0]);
    kernels().activationForward(this.kind, y.data, x.data, x.size);
    this.y = y;
    return y;
  }

  backward(dy: Tensor): Tensor {
    const dx = this.inputGrad(dy.shape[0]);
    kernels().activationBackward(this.kind, dx.data, dy.data, this.y!.data, dy.size);
    return dx;
  }
}

export interface LeakyReluSpec {
  type: 'leaky-relu';
  /** Slope for negative inputs (0.01, as PyTorch's negative_slope). */
  slope?: number;
  name?: string;
}

export interface GeluSpec {
  type: 'gelu';
  name?: string;
}

/**
 * Leaky ReLU (x for x > 0, slope·x otherwise) and GELU with the tanh approximation (PyTorch's
 * GELU(approximate='tanh')): their gradients are read from the input, which the forward keeps.
 */
export class InputActivationLayer extends Layer {
  readonly kind: 'leaky-relu' | 'gelu';
  readonly outShape: Shape;
  readonly slope: number;
  /** What a batch norm before this layer applies in its own kernel. */
  readonly fusable: FusedActivation;
  private x: Tensor | null = null;

  constructor(spec: LeakyReluSpec | GeluSpec, inShape: Shape) {
    super(inShape);
    this.kind = spec.type;
    this.slope = spec.type === 'leaky-relu' ? (spec.slope ?? 0.01) : 0;
    if (!Number.isFinite(this.slope)) throw new ConfigError(`slope must be a finite number, got ${this.slope}`);
    this.outShape = this.inShape;
    this.fusable = { f: this.kind, slope: this.slope };
  }

  forward(x: Tensor): Tensor {
    const y = this.output(x.shape[0]);
    if (this.kind === 'gelu') kernels().geluForward(y.data, x.data, x.size);
    else kernels().leakyReluForward(y.data, x.data, this.slope, x.size);
    this.x = x;
    return y;
  }

  backward(dy: Tensor): Tensor {
    const dx = this.inputGrad(dy.shape[0]);
    if (this.kind === 'gelu') kernels().geluBackward(dx.data, dy.data, this.x!.data, dy.size);
    else kernels().leakyReluBackward(dx.data, dy.data, this.x!.data, this.slope, dy.size);
    return dx;
  }
}
