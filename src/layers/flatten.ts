import { type Shape, sizeOf, type Tensor } from '../tensor/tensor.js';
import { Layer } from './layer.js';

export interface FlattenSpec {
  type: 'flatten';
  name?: string;
}

/** C×H×W → C·H·W features; a view, nothing is copied (NCHW order, as torch.flatten). */
export class Flatten extends Layer {
  readonly kind = 'flatten';
  readonly outShape: Shape;

  constructor(_spec: FlattenSpec, inShape: Shape) {
    super(inShape);
    this.outShape = [sizeOf(inShape)];
  }

  forward(x: Tensor): Tensor {
    return x.reshape([x.shape[0], this.outShape[0]]);
  }

  backward(dy: Tensor): Tensor {
    return dy.reshape([dy.shape[0], ...this.inShape]);
  }
}
