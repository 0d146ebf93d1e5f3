import { ConfigError, ConvtsError, formatBytes, LimitError, ShapeError } from '../errors.js';
import { type InitSpec, initParam } from '../init/initializers.js';
import { ActivationLayer } from '../layers/activation.js';
import { AvgPool2d } from '../layers/avgpool2d.js';
import { Conv2d } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { Dropout } from '../layers/dropout.js';
import { Flatten } from '../layers/flatten.js';
import type { BuildContext, Layer } from '../layers/layer.js';
import { MaxPool2d } from '../layers/maxpool2d.js';
import { Softmax } from '../layers/softmax.js';
import { Rng } from '../tensor/rng.js';
import { type Shape, shapeStr } from '../tensor/tensor.js';
import { Sequential } from './sequential.js';
import { type LayerSpec, type ModelSpec, validateSpec } from './spec.js';

/** Makes one layer from its spec and input shape. */
export function makeLayer(spec: LayerSpec, inShape: Shape, ctx: BuildContext): Layer {
  switch (spec.type) {
    case 'conv2d':
      return new Conv2d(spec, inShape);
    case 'maxpool2d':
      return new MaxPool2d(spec, inShape);
    case 'avgpool2d':
      return new AvgPool2d(spec, inShape);
    case 'dense':
      return new Dense(spec, inShape);
    case 'flatten':
      return new Flatten(spec, inShape);
    case 'relu':
    case 'sigmoid':
    case 'tanh':
      return new ActivationLayer(spec, inShape);
    case 'softmax':
      return new Softmax(spec, inShape);
    case 'dropout':
      return new Dropout(spec, inShape, ctx);
  }
}

// PyTorch-like default names: conv1, conv2, fc1, … for layers with weights, relu1, pool1, … otherwise.
const prefix: Record<string, string> = { conv2d: 'conv', dense: 'fc', maxpool2d: 'pool', avgpool2d: 'pool' };

export interface BuildOptions {
  /** Seed for the initial weights and dropout masks. */
  seed?: number;
  /** Overrides the spec's initializer. */
  init?: InitSpec;
  /**
   * Refuse, before allocating, a model whose weights, gradients, optimizer state and the buffers
   * of a training batch of `batch` samples would need more bytes than this (where it comes from
   * is `budgetName`, for the message).
   */
  maxBytes?: number;
  batch?: number;
  budgetName?: string;
}

/** Weights and biases a layer will allocate, from its spec and input shape alone. */
function paramCount(ls: LayerSpec, inShape: Shape): number {
  const size = (v: number | number[]) => (Array.isArray(v) ? v[0] * v[1] : v * v);
  const bias = (n: number) => ((ls as { bias?: boolean }).bias === false ? 0 : n);
  if (ls.type === 'conv2d') return ls.filters * inShape[0] * size(ls.kernel) + bias(ls.filters);
  if (ls.type === 'dense') return ls.units * inShape.reduce((a, b) => a * b, 1) + bias(ls.units);
  return 0;
}

// Per parameter: value, gradient and two optimizer moments; per output value: the output, its
// gradient and one more of the kind pooling and dropout keep. All float32.
const bytesPerParam = 16;
const bytesPerOutput = 12;

/** The memory a model will need to train (see BuildOptions.maxBytes); throws LimitError over the budget. */
function checkMemory(need: number, i: number, ls: LayerSpec, o: BuildOptions): void {
  if (o.maxBytes === undefined || need <= o.maxBytes) return;
  throw new LimitError(
    `layer ${i} (${ls.type}${ls.name ? ` "${ls.name}"` : ''}): the model needs at least ${formatBytes(need)} of memory ` +
      `to train at batch ${o.batch ?? 1} (weights, gradients, optimizer state, layer outputs), more than the ` +
      `budget of ${formatBytes(o.maxBytes)} (${o.budgetName ?? 'the available memory'}) — use fewer filters, units or layers`,
  );
}

/**
 * Builds a Sequential model from a spec, inferring every layer's shapes; a layer that does not
 * fit fails here, before any training, naming its index, kind and both shapes.
 */
export function buildModel(rawSpec: ModelSpec, opts: BuildOptions = {}): Sequential {
  const spec = validateSpec(rawSpec);
  const rng = new Rng(opts.seed ?? 0);
  const ctx: BuildContext = { rng };
  const counts = new Map<string, number>();
  const names = new Set<string>();
  const layers: Layer[] = [];
  let shape: Shape = spec.input;
  let need = 0;
  spec.layers.forEach((ls, i) => {
    need += bytesPerParam * paramCount(ls, shape);
    checkMemory(need, i, ls, opts);
    let layer: Layer;
    try {
      layer = makeLayer(ls, shape, ctx);
    } catch (e) {
      if (e instanceof ConvtsError) {
        const Cls = e instanceof ShapeError ? ShapeError : ConfigError;
        throw new Cls(
          `layer ${i} (${ls.type}${ls.name ? ` "${ls.name}"` : ''}): ${e.message} [input ${shapeStr(shape)}]`,
        );
      }
      throw e;
    }
    const p = prefix[ls.type] ?? ls.type;
    const k = (counts.get(p) ?? 0) + 1;
    counts.set(p, k);
    layer.name = ls.name ?? `${p}${k}`;
    if (names.has(layer.name)) {
      throw new ConfigError(
        `layer ${i} (${ls.type}): the name "${layer.name}" is used twice — give each layer its own name`,
      );
    }
    names.add(layer.name);
    layers.push(layer);
    shape = layer.outShape;
    need += bytesPerOutput * (opts.batch ?? 1) * shape.reduce((a, b) => a * b, 1);
    checkMemory(need, i, ls, opts);
  });
  if (layers.length > 0) layers[0].propagateDown = false;
  const model = new Sequential(spec, layers);
  model.rng = rng;
  const init = opts.init ?? spec.init ?? { kind: 'he-normal' };
  for (const { param } of model.namedParams()) initParam(param, init, rng);
  return model;
}
