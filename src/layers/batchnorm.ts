import { ConfigError, ShapeError } from '../errors.js';
import { type FusedActivation, kernels } from '../kernels/index.js';
import { type Shape, shapeStr, Tensor } from '../tensor/tensor.js';
import { Layer, type LayerBuffer, type Param } from './layer.js';
import type { MaxPool2d } from './maxpool2d.js';

export interface BatchNormSpec {
  type: 'batchnorm';
  /** Weight of the new batch in the running statistics, as PyTorch's momentum (0.1). */
  momentum?: number;
  /** Added to the variance before the square root (1e-5, as PyTorch). */
  eps?: number;
  /** Learn a scale and shift per channel (true, as PyTorch's affine). */
  affine?: boolean;
  /** Optional check: the channels (C of a C×H×W input) or features this layer expects. */
  channels?: number;
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

/**
 * Batch normalization per channel of a C×H×W input (PyTorch's BatchNorm2d) or per feature of a
 * vector (BatchNorm1d). Training normalizes with the batch's mean and biased variance and moves
 * the running statistics toward them (the variance unbiased, as PyTorch); evaluation uses the
 * running ones.
 */
export class BatchNorm extends Layer {
  readonly kind = 'batchnorm';
  readonly outShape: Shape;
  readonly weight: Param | null;
  readonly bias: Param | null;
  readonly runningMean: LayerBuffer;
  readonly runningVar: LayerBuffer;
  readonly batchesTracked: LayerBuffer;
  readonly momentum: number;
  readonly eps: number;
  private readonly c: number;
  private readonly hw: number;
  private readonly mean: Float32Array;
  private readonly invstd: Float32Array;
  private readonly variance: Float32Array;
  private x: Tensor | null = null;
  private batchStats = false;
  /** The activation the last forward applied in the same kernel (the layer after this one), or null. */
  private act: FusedActivation | null = null;
  /** The max pooling the last forward applied in the same kernel (after the activation, if any), or null. */
  private pool: MaxPool2d | null = null;
  /** The max pooling before this layer that the last forward ran (its input is the pool's), or null. */
  private before: MaxPool2d | null = null;

  constructor(spec: BatchNormSpec, inShape: Shape) {
    super(inShape);
    if (inShape.length !== 3 && inShape.length !== 1) {
      throw new ShapeError(`expects a C×H×W input or a feature vector, got ${shapeStr(inShape)}`);
    }
    const c = inShape[0];
    if (spec.channels !== undefined && spec.channels !== c) {
      const got = inShape.length === 3 ? `${c} channels (input ${shapeStr(inShape)})` : `${c} features (a flat vector)`;
      throw new ShapeError(
        `expected ${spec.channels} channels, got ${got} — ${inShape.length === 1 ? 'put batchnorm before flatten, or ' : ''}set "channels" to ${c}`,
      );
    }
    this.momentum = spec.momentum ?? 0.1;
    this.eps = spec.eps ?? 1e-5;
    if (!(this.momentum >= 0 && this.momentum <= 1))
      throw new ConfigError(`momentum must be in [0, 1], got ${this.momentum}`);
    if (!(this.eps > 0)) throw new ConfigError(`eps must be > 0, got ${this.eps}`);
    this.c = c;
    this.hw = inShape.length === 3 ? inShape[1] * inShape[2] : 1;
    this.outShape = this.inShape;
    const affine = spec.affine ?? true;
    this.weight = affine ? this.addParam('weight', [c], 1, 1, 1) : null;
    this.bias = affine ? this.addParam('bias', [c], 1, 1, 0) : null;
    this.trainingOptions(spec);
    this.runningMean = this.addBuffer('running_mean', [c], 0, 'F32');
    this.runningVar = this.addBuffer('running_var', [c], 1, 'F32');
    this.batchesTracked = this.addBuffer('num_batches_tracked', [], 0, 'I64');
    this.mean = new Float32Array(c);
    this.invstd = new Float32Array(c);
    this.variance = new Float32Array(c);
  }

  override trainBatchProblem(n: number): string | null {
    if (n * this.hw > 1) return null;
    return `batch statistics need more than one value per channel, but a training batch of ${n} gives ${shapeStr([n, ...this.inShape])} — use a batch size of at least 2`;
  }

  /**
   * With `act`, the activation layer after this one runs in the same kernel and the output is its
   * output (forwardLayers decides; the backward then returns the gradient of this layer's input from
   * the activation's output gradient). With `pool` too, the max pooling after them: the output is the
   * pool's, and this layer's (or the activation's) full-size output is never written.
   */
  forward(
    input: Tensor,
    training: boolean,
    act: FusedActivation | null = null,
    pool: MaxPool2d | null = null,
    before: MaxPool2d | null = null,
  ): Tensor {
    const n = input.shape[0];
    const k = kernels();
    if (before && pool) throw new TypeError('batchnorm: a max pooling on both sides does not run fused');
    this.batchStats = training;
    this.before = before;
    let x = input;
    if (training) {
      const problem = this.trainBatchProblem(n);
      if (problem) throw new ShapeError(`${this.name || 'batchnorm'}: ${problem}`);
      if (before) {
        // The pool before this layer, with the statistics' first pass over its output in its own.
        const p = before.fusedOutput(n);
        k.maxPoolBatchNormStats(p.y.data, p.argmax, this.mean, this.variance, input.data, p.geom);
        x = p.y;
      } else k.batchNormStats(this.mean, this.variance, x.data, n, this.c, this.hw);
      const count = n * this.hw;
      const m = this.momentum;
      const rm = this.runningMean.value.data;
      const rv = this.runningVar.value.data;
      for (let ch = 0; ch < this.c; ch++) {
        this.invstd[ch] = 1 / Math.sqrt(this.variance[ch] + this.eps);
        rm[ch] = (1 - m) * rm[ch] + m * this.mean[ch];
        rv[ch] = (1 - m) * rv[ch] + (m * this.variance[ch] * count) / (count - 1);
      }
      this.batchesTracked.value.data[0]++;
    } else {
      if (before) x = before.forward(input);
      this.mean.set(this.runningMean.value.data);
      const rv = this.runningVar.value.data;
      for (let ch = 0; ch < this.c; ch++) this.invstd[ch] = 1 / Math.sqrt(rv[ch] + this.eps);
    }
    const [gamma, beta] = [this.weight?.value.data ?? null, this.bias?.value.data ?? null];
    this.x = x;
    this.act = act;
    this.pool = pool;
    if (pool) {
      const { y, argmax, geom } = pool.fusedOutput(n);
      k.batchNormMaxPoolForward(y.data, argmax, x.data, this.mean, this.invstd, gamma, beta, act, geom);
      return y;
    }
    const y = this.output(n);
    k.batchNormForward(y.data, x.data, this.mean, this.invstd, gamma, beta, n, this.c, this.hw, act);
    return y;
  }

  /** How many layers after this one the last forward ran too (an activation, a max pooling): its backward covers them. */
  get fusedLayers(): number {
    return (this.act ? 1 : 0) + (this.pool ? 1 : 0);
  }

  /** How many layers before this one the last forward ran too (a max pooling): its backward covers them. */
  get fusedBefore(): number {
    return this.before ? 1 : 0;
  }

  backward(dy: Tensor): Tensor {
    const n = this.x!.shape[0];
    const dx = this.inputGrad(n);
    if (this.before) {
      // dx holds the activation's gradient on the way; the pool's input gradient is the result.
      const { argmax, geom } = this.before.fusedOutput(n);
      const down = this.before.fusedInputGrad(n);
      kernels().maxPoolBatchNormBackward(
        this.before.propagateDown ? down.data : null,
        this.weight?.grad.data ?? null,
        this.bias?.grad.data ?? null,
        dx.data,
        dy.data,
        this.x!.data,
        argmax,
        this.mean,
        this.invstd,
        this.weight?.value.data ?? null,
        this.bias?.value.data ?? null,
        this.act,
        this.batchStats,
        geom,
      );
      return down;
    }
    if (this.pool) {
      const { y, argmax, geom } = this.pool.fusedOutput(n);
      kernels().batchNormMaxPoolBackward(
        this.propagateDown ? dx.data : null,
        this.weight?.grad.data ?? null,
        this.bias?.grad.data ?? null,
        dy.data,
        y.data,
        argmax,
        this.x!.data,
        this.mean,
        this.invstd,
        this.weight?.value.data ?? null,
        this.bias?.value.data ?? null,
        this.act,
        this.batchStats,
        geom,
      );
      return dx;
    }
    // With the activation, dx holds its gradient on the way: computed even for a first layer.
    const fused = this.act && { act: this.act, beta: this.bias?.value.data ?? null };
    kernels().batchNormBackward(
      this.propagateDown || fused ? dx.data : null,
      this.weight?.grad.data ?? null,
      this.bias?.grad.data ?? null,
      dy.data,
      this.x!.data,
      this.mean,
      this.invstd,
      this.weight?.value.data ?? null,
      n,
      this.c,
      this.hw,
      this.batchStats,
      fused,
    );
    return dx;
  }

  private addBuffer(name: string, shape: Shape, start: number, dtype: 'F32' | 'I64'): LayerBuffer {
    const b: LayerBuffer = { name, value: new Tensor(shape), dtype };
    b.value.data.fill(start);
    this.buffers.push(b);
    return b;
  }
}
