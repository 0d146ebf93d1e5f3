import { ShapeError } from '../errors.js';
import { kernels } from '../kernels/index.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { Layer } from './layer.js';

export interface SoftmaxSpec {
  type: 'softmax';
  name?: string;
}

/** Softmax over the features of each sample. With cross-entropy loss the trainer fuses the two. */
export class Softmax extends Layer {
  readonly kind = 'softmax';
  readonly outShape: Shape;
  private y: Tensor | null = null;

  constructor(_spec: SoftmaxSpec, inShape: Shape) {
    super(inShape);
    if (inShape.length !== 1) {
      throw new ShapeError(
        `expects a flat input of features, got shape ${inShape.join('×')} — add a flatten layer before it`,
      );
    }
    this.outShape = this.inShape;
  }

  forward(x: Tensor): Tensor {
    const y = this.output(x.shape[0]);
    kernels().softmaxForward(y.data, x.data, x.shape[0], this.inShape[0]);
    this.y = y;
    return y;
  }

  backward(dy: Tensor): Tensor {
    const dx = this.inputGrad(dy.shape[0]);
    kernels().softmaxBackward(dx.data, dy.data, this.y!.data, dy.shape[0], this.inShape[0]);
    return dx;
  }
}
