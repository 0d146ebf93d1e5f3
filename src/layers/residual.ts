import { ShapeError } from '../errors.js';
import { kernels } from '../kernels/index.js';
import { type Shape, shapeStr, type Tensor } from '../tensor/tensor.js';
import { joinName, Layer, type LayerBuffer, type Named, type Param } from './layer.js';
import { backwardLayers, forwardLayers } from './sequence.js';

/** The spec of a residual block; its layers are any layer specs, blocks included. */
export interface ResidualSpec<L = unknown> {
  type: 'residual';
  layers: L[];
  /** "identity" (the default), or a k×k convolution (k odd, bias-free padding (k−1)/2) with a stride. */
  shortcut?: 'identity' | { conv: number; stride?: number; bias?: boolean };
  name?: string;
}

/**
 * y = layers(x) + shortcut(x). In a PyTorch state dict the block's layers sit under
 * "<block>.layers.<name>" and a convolution shortcut under "<block>.shortcut".
 */
export class Residual extends Layer {
  readonly kind = 'residual';
  readonly outShape: Shape;
  readonly body: readonly Layer[];
  readonly shortcut: Layer | null;

  constructor(inShape: Shape, body: Layer[], shortcut: Layer | null) {
    super(inShape);
    if (body.length === 0) throw new ShapeError('a residual block needs at least one layer in "layers"');
    const main = body[body.length - 1].outShape;
    const side = shortcut ? shortcut.outShape : inShape;
    if (main.length !== side.length || main.some((d, i) => d !== side[i])) {
      throw new ShapeError(
        `the branches do not match: the layers give ${shapeStr(main)}, the shortcut (${shortcut ? 'conv' : 'identity'}) gives ${shapeStr(side)} — ` +
          (shortcut
            ? 'change the shortcut stride or the layers'
            : 'use "shortcut": {"conv": 1, "stride": s} or keep the shape'),
      );
    }
    this.outShape = [...main];
    this.body = body;
    this.shortcut = shortcut;
    for (const l of [...body, ...(shortcut ? [shortcut] : [])]) {
      this.params.push(...l.params);
      this.buffers.push(...l.buffers);
    }
  }

  override namedParams(prefix: string): Named<Param>[] {
    return this.children(prefix).flatMap(([p, l]) => l.namedParams(p));
  }

  override namedBuffers(prefix: string): Named<LayerBuffer>[] {
    return this.children(prefix).flatMap(([p, l]) => l.namedBuffers(p));
  }

  override trainBatchProblem(n: number): string | null {
    for (const l of [...this.body, ...(this.shortcut ? [this.shortcut] : [])]) {
      const problem = l.trainBatchProblem(n);
      if (problem) return `${l.name} (${l.kind}): ${problem}`;
    }
    return null;
  }

  forward(x: Tensor, training: boolean): Tensor {
    const h = forwardLayers(this.body, x, training);
    const s = this.shortcut ? this.shortcut.forward(x, training) : x;
    const y = this.output(x.shape[0]);
    kernels().add(y.data, h.data, s.data, y.size);
    return y;
  }

  backward(dy: Tensor): Tensor {
    const d = backwardLayers(this.body, dy);
    const ds = this.shortcut ? this.shortcut.backward(dy) : dy;
    const dx = this.inputGrad(dy.shape[0]);
    kernels().add(dx.data, d.data, ds.data, dx.size);
    return dx;
  }

  private children(prefix: string): [string, Layer][] {
    const out: [string, Layer][] = this.body.map((l) => [joinName(prefix, `layers.${l.name}`), l]);
    if (this.shortcut) out.push([joinName(prefix, 'shortcut'), this.shortcut]);
    return out;
  }
}
