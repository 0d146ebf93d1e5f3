import { ConfigError, ShapeError } from '../errors.js';
import { kernels } from '../kernels/index.js';
import { batchBuffer, type Layer, type LayerBuffer, type Param } from '../layers/layer.js';
import { backwardLayers, forwardLayers, setPropagation } from '../layers/sequence.js';
import { type LossFn, losses } from '../losses/index.js';
import type { Rng } from '../tensor/rng.js';
import { flipWidth, type Shape, shapeStr, Tensor, translateReflect } from '../tensor/tensor.js';
import type { ModelSpec } from './spec.js';

/** Test-time augmentation: mirror images, one-pixel moves, or both. */
export type Tta = 'flip' | 'flip-translate' | 'translate';

export interface NamedParam {
  /** As in a PyTorch state dict: "conv1.weight". */
  name: string;
  param: Param;
}

/**
 * Layers applied in order, plus the loss. A final softmax (with cross-entropy) or sigmoid (with
 * bce) is fused into the loss during training and evaluation: the loss reads the logits, which is
 * numerically stable and gives the simple output gradient a − y; `predict` applies it. A batch norm
 * and the activation after it run as one kernel (layers/sequence.ts).
 */
export class Sequential {
  readonly spec: ModelSpec;
  readonly layers: readonly Layer[];
  private readonly lossFn: LossFn;
  /** Number of layers run before the loss (the fused final layer is skipped). */
  private readonly lossDepth: number;
  private readonly gradBufs = new Map<number, Tensor>();
  /** The generator layers draw from while training (dropout masks); checkpoints save its state. */
  rng: Rng | null = null;
  /** Label smoothing of the training loss (cross-entropy); evaluation reports the plain loss. */
  labelSmoothing = 0;

  constructor(spec: ModelSpec, layers: Layer[]) {
    this.spec = spec;
    this.layers = layers;
    this.lossFn = losses[spec.loss];
    const last = layers[layers.length - 1]?.kind;
    const fuse = (spec.loss === 'cross-entropy' && last === 'softmax') || (spec.loss === 'bce' && last === 'sigmoid');
    if (spec.loss === 'bce' && !fuse) {
      throw new ConfigError(
        `loss bce needs the model to end in a sigmoid layer (it fuses them), but the last layer is ${last} — add {"type": "sigmoid"}`,
      );
    }
    this.lossDepth = fuse ? layers.length - 1 : layers.length;
    setPropagation(layers);
    const out = this.outputShape;
    if (out.length !== 1) {
      throw new ConfigError(
        `the model's output must be a flat vector of class scores, got ${shapeStr(out)} — end with flatten and dense`,
      );
    }
  }

  get inputShape(): Shape {
    return this.spec.input;
  }

  get outputShape(): Shape {
    return this.layers[this.layers.length - 1].outShape;
  }

  get classes(): number {
    return this.outputShape[0];
  }

  /** Parameters with state-dict names, in layer order (weight before bias). */
  namedParams(): NamedParam[] {
    return this.layers.flatMap((l) => l.namedParams(l.name).map(({ name, value }) => ({ name, param: value })));
  }

  /** Saved, untrained state (batch norm's running statistics) with state-dict names. */
  namedBuffers(): { name: string; buffer: LayerBuffer }[] {
    return this.layers.flatMap((l) => l.namedBuffers(l.name).map(({ name, value }) => ({ name, buffer: value })));
  }

  /** Throws a ShapeError naming the layer when a training batch of n cannot be used (batch norm on one value). */
  checkTrainBatch(n: number, what = `a training batch of ${n}`): void {
    this.layers.forEach((l, i) => {
      const problem = l.trainBatchProblem(n);
      if (problem) throw new ShapeError(`layer ${i} (${l.kind} "${l.name}"), ${what}: ${problem}`);
    });
  }

  params(): Param[] {
    return this.layers.flatMap((l) => l.params);
  }

  /**
   * Before 0-based epoch `epoch` of a run: parameters whose "freezeAfter" epochs are over are frozen
   * (the others as the spec says), and the backward pass stops where nothing before it trains.
   */
  startEpoch(epoch: number): void {
    for (const p of this.params()) if (p.freezeAfter !== undefined) p.frozen = epoch >= p.freezeAfter;
    setPropagation(this.layers);
  }

  /** Runs every layer: class probabilities (or raw outputs for a model without a final softmax/sigmoid). */
  predict(x: Tensor): Tensor {
    return this.run(x, this.layers.length, false);
  }

  /** Runs the layers the loss reads from: logits when the last layer is fused into the loss. */
  logits(x: Tensor, training = false): Tensor {
    return this.run(x, this.lossDepth, training);
  }

  /**
   * Loss of a batch without gradients; `scores` (logits) come back for accuracy and confusion.
   * Test-time augmentation: with "flip" (or true) the logits are the mean over each image and its
   * mirror image; with "flip-translate" half of that plus a quarter each of the same for the image
   * moved one pixel down-right and one pixel up-left (reflected borders), as airbench's
   * multi-crop evaluation; "translate" is that without the mirror images (for digits and text).
   */
  evaluate(x: Tensor, labels: ArrayLike<number>, tta: boolean | Tta = false): { loss: number; scores: Tensor } {
    const z = tta
      ? this.averagedLogits(x, tta === 'flip-translate' || tta === 'translate', tta !== 'translate')
      : this.logits(x, false);
    const n = z.shape[0];
    const grad = this.lossGrad(z);
    return { loss: this.lossFn(grad.data, z.data, labels, n, z.size / n), scores: z };
  }

  private averagedLogits(x: Tensor, translate: boolean, mirror: boolean): Tensor {
    if (x.shape.length !== 4)
      throw new ConfigError(`test-time augmentation needs images, the model takes ${shapeStr(this.inputShape)}`);
    const [h, w] = [x.shape[2], x.shape[3]];
    const views: [number, number, number][] =
      translate && h > 1 && w > 1
        ? [
            [0, 0, 0.5],
            [1, 1, 0.25],
            [-1, -1, 0.25],
          ]
        : [[0, 0, 1]];
    const moved = new Tensor(x.shape);
    const mirrored = new Tensor(x.shape);
    let sum: Float32Array | null = null;
    for (const [dy, dx, weight] of views) {
      const view = dy === 0 && dx === 0 ? x : moved;
      if (view === moved) translateReflect(moved.data, x.data, h, w, dy, dx);
      if (mirror) flipWidth(mirrored.data, view.data, w);
      for (const input of mirror ? [view, mirrored] : [view]) {
        const z = this.logits(input, false).data; // a layer's buffer: add it up before the next pass
        if (!sum) sum = new Float32Array(z.length);
        for (let i = 0; i < z.length; i++) sum[i] += (mirror ? weight / 2 : weight) * z[i];
      }
    }
    return new Tensor([x.shape[0], sum!.length / x.shape[0]], sum!);
  }

  /**
   * Forward in training mode, loss, and backward: gradients are added into every param's grad
   * (call zeroGrad first). Returns the batch loss and the logits.
   */
  lossAndBackward(x: Tensor, labels: ArrayLike<number>): { loss: number; scores: Tensor } {
    const z = this.logits(x, true);
    const n = z.shape[0];
    const grad = this.lossGrad(z);
    const loss = this.lossFn(grad.data, z.data, labels, n, z.size / n, this.labelSmoothing);
    backwardLayers(this.layers, grad, this.lossDepth);
    return { loss, scores: z };
  }

  zeroGrad(): void {
    // No array per step; the kernel set zeroes the arrays in its own memory (a shared WebAssembly
    // memory's fill(0) is slow).
    const k = kernels();
    for (const l of this.layers)
      for (const p of l.params) {
        if (k.zero) k.zero(p.grad.data);
        else p.grad.data.fill(0);
      }
  }

  private run(x: Tensor, depth: number, training: boolean): Tensor {
    const want = this.inputShape;
    if (x.shape.length !== want.length + 1 || want.some((d, i) => x.shape[i + 1] !== d)) {
      throw new ShapeError(`model input: expected a batch of ${shapeStr(want)}, got ${shapeStr(x.shape)}`);
    }
    return forwardLayers(this.layers, x, training, depth);
  }

  private lossGrad(z: Tensor): Tensor {
    return batchBuffer(this.gradBufs, z.shape[0], z.shape.slice(1));
  }
}
