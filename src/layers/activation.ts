import { type Activation, kernels } from '../kernels/index.js';
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
  private y: Tensor | null = null;

  constructor(spec: ActivationSpec, inShape: Shape) {
    super(inShape);
    this.kind = spec.type;
    this.outShape = this.inShape;
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
