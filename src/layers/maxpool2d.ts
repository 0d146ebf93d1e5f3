import { ints, kernels, type PoolGeom } from '../kernels/index.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { Layer } from './layer.js';
import { type Pool2dSpec, poolGeom } from './pool2d.js';

/** Max pooling; the forward pass keeps the argmax that the backward pass routes gradients to. */
export class MaxPool2d extends Layer {
  readonly kind = 'maxpool2d';
  readonly outShape: Shape;
  private readonly geom: PoolGeom;
  private argmax: Int32Array = new Int32Array(0);

  constructor(spec: Pool2dSpec, inShape: Shape) {
    super(inShape);
    this.geom = poolGeom(spec, inShape);
    this.outShape = [this.geom.c, this.geom.oh, this.geom.ow];
  }

  forward(x: Tensor): Tensor {
    const { y, argmax, geom } = this.fusedOutput(x.shape[0]);
    kernels().maxPool2dForward(y.data, argmax, x.data, geom);
    return y;
  }

  /**
   * The output and argmax for a batch of n, and the geometry: for a batch norm before this layer that
   * pools its own output, or after it that takes its statistics in the pool's pass (sequence.ts), whose
   * backward then covers this layer's.
   */
  fusedOutput(n: number): { y: Tensor; argmax: Int32Array; geom: PoolGeom } {
    this.geom.n = n;
    const y = this.output(n);
    if (this.argmax.length < y.size) this.argmax = ints(y.size); // grows only: batch sizes alternate
    return { y, argmax: this.argmax, geom: this.geom };
  }

  /** The input-gradient buffer for a batch of n: for a batch norm after this layer whose backward covers this one's. */
  fusedInputGrad(n: number): Tensor {
    return this.inputGrad(n);
  }

  backward(dy: Tensor): Tensor {
    this.geom.n = dy.shape[0];
    const dx = this.inputGrad(this.geom.n);
    if (this.propagateDown) kernels().maxPool2dBackward(dx.data, dy.data, this.argmax, this.geom);
    return dx;
  }
}
