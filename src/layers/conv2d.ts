import { ShapeError } from '../errors.js';
import type { InitSpec } from '../init/initializers.js';
import { type ConvGeom, kernels } from '../kernels/index.js';
import type { Shape, Tensor } from '../tensor/tensor.js';
import { Layer, type Param, pair } from './layer.js';

export interface Conv2dSpec {
  type: 'conv2d';
  filters: number;
  kernel: number | [number, number];
  stride?: number | [number, number];
  /** Zero padding on each side, or "same" ((k − 1)/2 for odd kernels: same size at stride 1). */
  padding?: number | [number, number] | 'same';
  bias?: boolean;
  /** Optional check: the input channels this layer expects. */
  inChannels?: number;
  /**
   * How this layer's weight starts instead of the model's initializer: an initializer of its own;
   * "dirac": the first min(filters, channels) filters pass their channel through
   * (torch.nn.init.dirac_), the rest as the model's; "patch-whitening": computed from the training
   * images when training starts.
   */
  init?: 'patch-whitening' | 'dirac' | InitSpec;
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

/** 2-D convolution (cross-correlation) with zero padding; weight [filters, c, kh, kw]. */
export class Conv2d extends Layer {
  readonly kind = 'conv2d';
  readonly outShape: Shape;
  readonly weight: Param;
  readonly bias: Param | null;
  readonly init: Conv2dSpec['init'];
  private readonly geom: ConvGeom;
  private x: Tensor | null = null;

  constructor(spec: Conv2dSpec, inShape: Shape) {
    super(inShape);
    if (inShape.length !== 3) {
      throw new ShapeError(
        `expects a C×H×W input, got a ${inShape.length}-D shape [${inShape.join(', ')}] — put it before flatten/dense`,
      );
    }
    const [c, h, w] = inShape;
    if (spec.inChannels !== undefined && spec.inChannels !== c) {
      throw new ShapeError(`expected ${spec.inChannels} input channels, got ${c} — check the previous layer's filters`);
    }
    const [kh, kw] = pair(spec.kernel, 1);
    const [sh, sw] = pair(spec.stride, 1);
    if (spec.padding === 'same' && (kh % 2 === 0 || kw % 2 === 0)) {
      throw new ShapeError(`padding "same" needs an odd kernel, got ${kh}×${kw} — give the padding as numbers instead`);
    }
    const [ph, pw] = spec.padding === 'same' ? [(kh - 1) / 2, (kw - 1) / 2] : pair(spec.padding, 0);
    const oh = Math.floor((h + 2 * ph - kh) / sh) + 1;
    const ow = Math.floor((w + 2 * pw - kw) / sw) + 1;
    if (oh < 1 || ow < 1) {
      throw new ShapeError(
        `a ${kh}×${kw} kernel with padding ${ph}×${pw} does not fit a ${h}×${w} input — use a smaller kernel or more padding`,
      );
    }
    this.geom = { n: 0, c, h, w, k: spec.filters, kh, kw, sh, sw, ph, pw, oh, ow };
    this.outShape = [spec.filters, oh, ow];
    const fanIn = c * kh * kw;
    this.weight = this.addParam('weight', [spec.filters, c, kh, kw], fanIn, spec.filters * kh * kw);
    this.bias = spec.bias === false ? null : this.addParam('bias', [spec.filters], fanIn, spec.filters * kh * kw);
    this.init = spec.init;
    if (spec.init === 'patch-whitening' && spec.filters !== 2 * fanIn) {
      throw new ShapeError(
        `"init": "patch-whitening" needs 2 × ${c}·${kh}·${kw} = ${2 * fanIn} filters (each whitened patch direction and its negative), got ${spec.filters}`,
      );
    }
    this.trainingOptions(spec);
  }

  /** Sets the first min(filters, channels) filters to pass their channel through the kernel's centre. */
  dirac(): void {
    const { k, c, kh, kw } = this.geom;
    const w = this.weight.value.data;
    for (let f = 0; f < Math.min(k, c); f++) {
      w.fill(0, f * c * kh * kw, (f + 1) * c * kh * kw);
      w[((f * c + f) * kh + (kh >> 1)) * kw + (kw >> 1)] = 1;
    }
  }

  forward(x: Tensor): Tensor {
    const g = this.batchGeom(x.shape[0]);
    const y = this.output(g.n);
    kernels().conv2dForward(y.data, x.data, this.weight.value.data, this.bias?.value.data ?? null, g);
    this.x = x;
    return y;
  }

  backward(dy: Tensor): Tensor {
    const g = this.batchGeom(dy.shape[0]);
    const k = kernels();
    // A frozen parameter's gradient is never read: a frozen weight (a whitening first layer) costs
    // only the bias's sum.
    const dw = this.weight.frozen ? null : this.weight.grad.data;
    const db = this.bias && !this.bias.frozen ? this.bias.grad.data : null;
    if (dw || db) k.conv2dBackwardFilter(dw, db, dy.data, this.x!.data, g);
    const dx = this.inputGrad(g.n);
    if (this.propagateDown) k.conv2dBackwardData(dx.data, dy.data, this.weight.value.data, g);
    return dx;
  }

  private batchGeom(n: number): ConvGeom {
    this.geom.n = n;
    return this.geom;
  }
}
