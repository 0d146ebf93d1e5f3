import type { Rng } from '../tensor/rng.js';
import { type Shape, Tensor } from '../tensor/tensor.js';

/** A trainable tensor and its gradient; fans are what the initializers scale by. */
export interface Param {
  readonly name: 'weight' | 'bias';
  readonly value: Tensor;
  readonly grad: Tensor;
  readonly fanIn: number;
  readonly fanOut: number;
}

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
  /** False for the first layer: its input gradient is never used, so it is not computed. */
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

  /** Output buffer for a batch of n, reused between calls of the same n. */
  protected output(n: number): Tensor {
    return batchBuffer(this.yBufs, n, this.outShape);
  }

  /** Input-gradient buffer for a batch of n. */
  protected inputGrad(n: number): Tensor {
    return batchBuffer(this.dxBufs, n, this.inShape);
  }

  protected addParam(name: 'weight' | 'bias', shape: Shape, fanIn: number, fanOut: number): Param {
    const p: Param = { name, value: new Tensor(shape), grad: new Tensor(shape), fanIn, fanOut };
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
    t = new Tensor([n, ...shape]);
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
