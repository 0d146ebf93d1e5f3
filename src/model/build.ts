import { ConfigError, ConvtsError, ShapeError } from '../errors.js';
import { type InitSpec, initParam } from '../init/initializers.js';
import { ActivationLayer, InputActivationLayer } from '../layers/activation.js';
import { AvgPool2d } from '../layers/avgpool2d.js';
import { BatchNorm } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { Dropout } from '../layers/dropout.js';
import { Flatten } from '../layers/flatten.js';
import { GlobalPool } from '../layers/global-pool.js';
import type { BuildContext, Layer } from '../layers/layer.js';
import { MaxPool2d } from '../layers/maxpool2d.js';
import { Residual, type ResidualSpec } from '../layers/residual.js';
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
    case 'batchnorm':
      return new BatchNorm(spec, inShape);
    case 'globalavgpool':
    case 'globalmaxpool':
      return new GlobalPool(spec, inShape);
    case 'leaky-relu':
    case 'gelu':
      return new InputActivationLayer(spec, inShape);
    case 'residual':
      return makeResidual(spec, inShape, ctx);
  }
}

function makeResidual(spec: ResidualSpec<LayerSpec>, inShape: Shape, ctx: BuildContext): Residual {
  const body = buildLayers(spec.layers, inShape, ctx);
  const sc = spec.shortcut;
  let shortcut: Layer | null = null;
  if (sc !== undefined && sc !== 'identity') {
    const filters = body[body.length - 1].outShape[0];
    const conv = { type: 'conv2d', filters, kernel: sc.conv, stride: sc.stride ?? 1, padding: 'same' } as const;
    shortcut = wrapError('shortcut', 'conv2d', undefined, inShape, () =>
      makeLayer({ ...conv, bias: sc.bias ?? false }, inShape, ctx),
    );
    shortcut.name = 'shortcut';
  }
  return new Residual(inShape, body, shortcut);
}

// PyTorch-like default names: conv1, conv2, fc1, … for layers with weights, relu1, pool1, … otherwise.
const prefix: Record<string, string> = {
  conv2d: 'conv',
  dense: 'fc',
  maxpool2d: 'pool',
  avgpool2d: 'pool',
  globalavgpool: 'pool',
  globalmaxpool: 'pool',
  batchnorm: 'bn',
  residual: 'res',
  'leaky-relu': 'lrelu',
};

/** Runs make(), prefixing a convts error with where it happened ("layer 3 (residual) › layer 0 (conv2d): …"). */
function wrapError<T>(where: string, type: string, name: string | undefined, shape: Shape, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof ConvtsError) {
      const Cls = e instanceof ShapeError ? ShapeError : ConfigError;
      const nested = e.message.startsWith('layer ') || e.message.startsWith('shortcut ');
      throw new Cls(
        `${where} (${type}${name ? ` "${name}"` : ''})${nested ? ' › ' : ': '}${e.message}${nested ? '' : ` [input ${shapeStr(shape)}]`}`,
      );
    }
    throw e;
  }
}

/**
 * Builds layers in order from their specs, inferring each one's input shape and naming them
 * (unique within the list; a block's layers get names of their own list).
 */
function buildLayers(specs: readonly LayerSpec[], inShape: Shape, ctx: BuildContext): Layer[] {
  const counts = new Map<string, number>();
  const names = new Set<string>();
  const layers: Layer[] = [];
  let shape: Shape = inShape;
  specs.forEach((ls, i) => {
    const layer = wrapError(`layer ${i}`, ls.type, ls.name, shape, () => makeLayer(ls, shape, ctx));
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
  return layers;
}

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
  const layers = buildLayers(spec.layers, spec.input, { rng });
  if (layers.length > 0) layers[0].propagateDown = false;
  const model = new Sequential(spec, layers);
  model.rng = rng;
  const init = opts.init ?? spec.init ?? { kind: 'he-normal' };
  for (const { param } of model.namedParams()) initParam(param, init, rng);
  return model;
}
