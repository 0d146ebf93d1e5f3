import { ShapeError } from '../errors.js';
import type { InitSpec } from '../init/initializers.js';
import { kernels } from '../kernels/index.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { Layer, type Param } from './layer.js';

export interface DenseSpec {
  type: 'dense';
  units: number;
  bias?: boolean;
  /** Optional check: the input features this layer expects. */
  inFeatures?: number;
  /** How this layer's weight starts, instead of the model's initializer. */
  init?: InitSpec;
  /** Parameters the optimizer leaves as they are: true for all, or a list ("weight", "bias"). */
  freeze?: boolean | Array<'weight' | 'bias'>;
  /** Parameters that train for the first N epochs only, then stay as they are: {"bias": 3}. */
  freezeAfter?: Partial<Record<'weight' | 'bias', number>>;
  /** Multiplies the learning rate of this layer's parameters (as a PyTorch parameter group). */
  lrScale?: number;
  /** Weight decay of this layer's parameters, in place of the optimizer's. */
  weightDecay?: number;
  name?: string;
}

/** Fully connected: y = x·wᵀ + b, weight [units, inFeatures] as in PyTorch's Linear. */
export class Dense extends Layer {
  readonly kind = 'dense';
  readonly outShape: Shape;
  readonly weight: Param;
  readonly bias: Param | null;
  readonly init: InitSpec | undefined;
  private readonly inF: number;
  private x: Tensor | null = null;

  constructor(spec: DenseSpec, inShape: Shape) {
    super(inShape);
    if (inShape.length !== 1) {
      throw new ShapeError(
        `expects a flat input of features, got shape ${inShape.join('×')} — add a flatten layer before it`,
      );
    }
    this.inF = inShape[0];
    if (spec.inFeatures !== undefined && spec.inFeatures !== this.inF) {
      throw new ShapeError(`expected ${spec.inFeatures} input features, got ${this.inF} — check the layers before it`);
    }
    this.outShape = [spec.units];
    this.weight = this.addParam('weight', [spec.units, this.inF], this.inF, spec.units);
    this.bias = spec.bias === false ? null : this.addParam('bias', [spec.units], this.inF, spec.units);
    this.init = spec.init;
    this.trainingOptions(spec);
  }

  forward(x: Tensor): Tensor {
    const n = x.shape[0];
    const y = this.output(n);
    kernels().denseForward(
      y.data,
      x.data,
      this.weight.value.data,
      this.bias?.value.data ?? null,
      n,
      this.inF,
      this.outShape[0],
    );
    this.x = x;
    return y;
  }

  backward(dy: Tensor): Tensor {
    const n = dy.shape[0];
    const dx = this.inputGrad(n);
    kernels().denseBackward(
      this.propagateDown ? dx.data : null,
      this.weight.grad.data,
      this.bias?.grad.data ?? null,
      dy.data,
      this.x!.data,
      this.weight.value.data,
      n,
      this.inF,
      this.outShape[0],
    );
    return dx;
  }
}
