import { ConfigError, ConvtsError, ShapeError } from '../errors.js';
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
  spec.layers.forEach((ls, i) => {
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
  });
  if (layers.length > 0) layers[0].propagateDown = false;
  const model = new Sequential(spec, layers);
  model.rng = rng;
  const init = opts.init ?? spec.init ?? { kind: 'he-normal' };
  for (const { param } of model.namedParams()) initParam(param, init, rng);
  return model;
}
