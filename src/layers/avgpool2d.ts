import { kernels, type PoolGeom } from '../kernels/index.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { Layer } from './layer.js';
import { type Pool2dSpec, poolGeom } from './pool2d.js';

/** Average pooling over each window. */
export class AvgPool2d extends Layer {
  readonly kind = 'avgpool2d';
  readonly outShape: Shape;
  private readonly geom: PoolGeom;

  constructor(spec: Pool2dSpec, inShape: Shape) {
    super(inShape);
    this.geom = poolGeom(spec, inShape);
    this.outShape = [this.geom.c, this.geom.oh, this.geom.ow];
  }

  forward(x: Tensor): Tensor {
    this.geom.n = x.shape[0];
    const y = this.output(this.geom.n);
    kernels().avgPool2dForward(y.data, x.data, this.geom);
    return y;
  }

  backward(dy: Tensor): Tensor {
    this.geom.n = dy.shape[0];
    const dx = this.inputGrad(this.geom.n);
    if (this.propagateDown) kernels().avgPool2dBackward(dx.data, dy.data, this.geom);
    return dx;
  }
}
