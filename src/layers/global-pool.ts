import { ShapeError } from '../errors.js';
import { kernels, type PoolGeom } from '../kernels/index.js';
import { type Shape, shapeStr, type Tensor } from '../tensor/tensor.js';
import { Layer } from './layer.js';

export interface GlobalPoolSpec {
  type: 'globalavgpool' | 'globalmaxpool';
  name?: string;
}

/**
 * Average or maximum of each channel over the whole image: C×H×W → C features, so a dense layer
 * can follow directly (PyTorch: AdaptiveAvgPool2d(1) or AdaptiveMaxPool2d(1), then Flatten). It is
 * a pool whose window is the image, so it runs on the pooling kernels.
 */
export class GlobalPool extends Layer {
  readonly kind: GlobalPoolSpec['type'];
  readonly outShape: Shape;
  private readonly geom: PoolGeom;
  private argmax = new Int32Array(0);

  constructor(spec: GlobalPoolSpec, inShape: Shape) {
    super(inShape);
    if (inShape.length !== 3) {
      throw new ShapeError(`expects a C×H×W input, got ${shapeStr(inShape)} — pool before flatten`);
    }
    const [c, h, w] = inShape;
    this.kind = spec.type;
    this.geom = { n: 0, c, h, w, kh: h, kw: w, sh: h, sw: w, oh: 1, ow: 1 };
    this.outShape = [c];
  }

  forward(x: Tensor): Tensor {
    this.geom.n = x.shape[0];
    const y = this.output(this.geom.n);
    if (this.kind === 'globalavgpool') {
      kernels().avgPool2dForward(y.data, x.data, this.geom);
    } else {
      if (this.argmax.length < y.size) this.argmax = new Int32Array(y.size); // grows only
      kernels().maxPool2dForward(y.data, this.argmax, x.data, this.geom);
    }
    return y;
  }

  backward(dy: Tensor): Tensor {
    this.geom.n = dy.shape[0];
    const dx = this.inputGrad(this.geom.n);
    if (!this.propagateDown) return dx;
    if (this.kind === 'globalavgpool') kernels().avgPool2dBackward(dx.data, dy.data, this.geom);
    else kernels().maxPool2dBackward(dx.data, dy.data, this.argmax, this.geom);
    return dx;
  }
}
