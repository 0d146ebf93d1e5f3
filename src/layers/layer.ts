import { ConfigError } from '../errors.js';
import { floats } from '../kernels/index.js';
import type { Rng } from '../tensor/rng.js';
import { type Shape, sizeOf, Tensor } from '../tensor/tensor.js';

/** A trainable tensor and its gradient; fans are what the initializers scale by. */
export interface Param {
  readonly name: 'weight' | 'bias';
  readonly value: Tensor;
  readonly grad: Tensor;
  readonly fanIn: number;
  readonly fanOut: number;
  /** A batch-norm scale starts at one, whatever the initializer. */
  readonly startAt?: number;
  /** A normalization layer's scale or shift: weight decay skips it when asked to (as biases). */
  readonly norm?: boolean;
  /** Kept as it is by the optimizers (PyTorch's requires_grad = False); set by a layer's "freeze". */
  frozen?: boolean;
  /** Trains for this many epochs, then frozen (airbench's whitening bias); a layer's "freezeAfter". */
  freezeAfter?: number;
  /** Multiplies the optimizer's learning rate for this parameter (a PyTorch parameter group's lr); a layer's "lrScale". */
  lrScale?: number;
  /**
   * This parameter's own weight-decay coefficient, in place of the optimizer's and of --wd-skip-norm
   * (a PyTorch parameter group's weight_decay); a layer's "weightDecay".
   */
  weightDecay?: number;
}

/** Whether weight decay that skips biases and normalization parameters skips p. */
export const isNormOrBias = (p: Param): boolean => p.name === 'bias' || p.norm === true;

/** State that is saved with the weights but not trained (batch norm's running statistics). */
export interface LayerBuffer {
  readonly name: string;
  readonly value: Tensor;
  /** How the file stores it: an integer count is int64, as in PyTorch's state dict. */
  readonly dtype: 'F32' | 'I64';
}

/** A parameter or buffer under its state-dict name ("conv1.weight", "res1.layers.bn1.running_mean"). */
export interface Named<T> {
  name: string;
  value: T;
}

/** "a.b", or b alone under an empty prefix. */
export const joinName = (prefix: string, name: string): string => (prefix ? `${prefix}.${name}` : name);

/** What a layer may need when it is built, besides its input shape. */
export interface BuildContext {
  rng: Rng;
}

/**
 * One step of a Sequential model. Shapes are per sample (C×H×W or F); tensors carry the batch
 * as their first dimension. A layer keeps what its backward pass needs from the last forward
 * and reuses its output buffers as long as the batch size stays the same.
 */
export abstract class Layer {
  abstract readonly kind: string;
  name = '';
  readonly params: Param[] = [];
  readonly buffers: LayerBuffer[] = [];
  /**
   * False where nothing before this layer trains (the first layer, a frozen whitening layer and
   * what follows it): its input gradient is never used, so it is not computed.
   */
  propagateDown = true;
  readonly inShape: Shape;
  abstract readonly outShape: Shape;

  private readonly yBufs = new Map<number, Tensor>();
  private readonly dxBufs = new Map<number, Tensor>();

  constructor(inShape: Shape) {
    this.inShape = [...inShape];
  }

  /** Forward pass for a batch; `training` switches dropout on. */
  abstract forward(x: Tensor, training: boolean): Tensor;
  /** Backward pass: adds parameter gradients into each param's grad and returns dL/dx. */
  abstract backward(dy: Tensor): Tensor;

  /** Parameters under their state-dict names below `prefix` (a block adds its children's). */
  namedParams(prefix: string): Named<Param>[] {
    return this.params.map((p) => ({ name: joinName(prefix, p.name), value: p }));
  }

  /** Buffers under their state-dict names below `prefix`. */
  namedBuffers(prefix: string): Named<LayerBuffer>[] {
    return this.buffers.map((b) => ({ name: joinName(prefix, b.name), value: b }));
  }

  /**
   * A message when this layer cannot train on a batch of n (batch statistics of a single value),
   * else null; the trainer asks before its first step.
   */
  trainBatchProblem(_n: number): string | null {
    return null;
  }

  /** Output buffer for a batch of n, reused between calls of the same n. */
  protected output(n: number): Tensor {
    return batchBuffer(this.yBufs, n, this.outShape);
  }

  /** Input-gradient buffer for a batch of n. */
  protected inputGrad(n: number): Tensor {
    return batchBuffer(this.dxBufs, n, this.inShape);
  }

  /** The spec's per-layer training options: "freeze", "freezeAfter", "lrScale" and "weightDecay". */
  protected trainingOptions(spec: {
    freeze?: boolean | readonly string[];
    freezeAfter?: Partial<Record<string, number>>;
    lrScale?: number;
    weightDecay?: number;
  }): void {
    if (spec.freeze !== undefined) this.freeze(spec.freeze);
    for (const [n, epochs] of Object.entries(spec.freezeAfter ?? {})) {
      const p = this.param('freezeAfter', n);
      if (p.frozen) throw new ConfigError(`"freezeAfter": ${JSON.stringify(n)} is frozen from the start by "freeze"`);
      p.freezeAfter = epochs;
    }
    if (spec.lrScale !== undefined) for (const p of this.params) p.lrScale = spec.lrScale;
    if (spec.weightDecay !== undefined) for (const p of this.params) p.weightDecay = spec.weightDecay;
  }

  /** Freezes every parameter (true) or the named ones; a name the layer does not have is an error. */
  freeze(which: boolean | readonly string[]): void {
    if (which === false) return;
    const names = which === true ? this.params.map((p) => p.name) : which;
    for (const n of names) this.param('freeze', n).frozen = true;
  }

  private param(option: string, n: string): Param {
    const p = this.params.find((q) => q.name === n);
    if (!p) {
      throw new ConfigError(
        `"${option}": this layer has no ${JSON.stringify(n)} to freeze — it has ${this.params.map((q) => q.name).join(' and ') || 'no parameters'}`,
      );
    }
    return p;
  }

  protected addParam(name: 'weight' | 'bias', shape: Shape, fanIn: number, fanOut: number, startAt?: number): Param {
    const norm = startAt !== undefined || undefined;
    const [value, grad] = [new Tensor(shape, floats(sizeOf(shape))), new Tensor(shape, floats(sizeOf(shape)))];
    const p: Param = { name, value, grad, fanIn, fanOut, startAt, norm };
    this.params.push(p);
    return p;
  }
}

/**
 * A [n, ...shape] buffer from a cache keyed by batch size. Training alternates between a few sizes
 * (the batch, the last partial batch, the evaluation batch and its remainder); keeping each one
 * means no buffer is allocated again after the first epoch. The oldest size goes past four.
 */
export function batchBuffer(cache: Map<number, Tensor>, n: number, shape: Shape): Tensor {
  let t = cache.get(n);
  if (!t) {
    if (cache.size >= 4) cache.delete(cache.keys().next().value!);
    t = new Tensor([n, ...shape], floats(n * sizeOf(shape)));
    cache.set(n, t);
  }
  return t;
}

/** Reads a size given as n or [h, w]. */
export function pair(v: number | readonly number[] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  return [v[0], v[1]];
}
