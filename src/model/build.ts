import { ConfigError, ConvtsError, formatBytes, LimitError, ShapeError } from '../errors.js';
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

/** Every layer of a list, those inside residual blocks (and their shortcuts) included. */
export function allLayers(layers: readonly Layer[]): Layer[] {
  return layers.flatMap((l) =>
    l instanceof Residual ? [l, ...allLayers(l.body), ...(l.shortcut ? [l.shortcut] : [])] : [l],
  );
}

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
function buildLayers(
  specs: readonly LayerSpec[],
  inShape: Shape,
  ctx: BuildContext,
  /** Called before each layer is made (layer undefined) and after. */
  watch?: (ls: LayerSpec, i: number, inShape: Shape, layer?: Layer) => void,
): Layer[] {
  const counts = new Map<string, number>();
  const names = new Set<string>();
  const layers: Layer[] = [];
  let shape: Shape = inShape;
  specs.forEach((ls, i) => {
    watch?.(ls, i, shape);
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
    watch?.(ls, i, shape, layer);
    shape = layer.outShape;
  });
  return layers;
}

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
  if (ls.type === 'residual') {
    // The block's convolutions change the channel count as they go; the shortcut maps in to out.
    let c = inShape[0];
    let n = 0;
    for (const l of ls.layers) {
      n += paramCount(l, [c, ...inShape.slice(1)]);
      if (l.type === 'conv2d') c = l.filters;
    }
    const sc = ls.shortcut;
    return n + (sc !== undefined && sc !== 'identity' ? c * inShape[0] * size(sc.conv) : 0);
  }
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
      `budget of ${formatBytes(o.maxBytes)} (${o.budgetName ?? 'the available memory'}) — use fewer filters, units or layers${(o.batch ?? 1) > 1 ? ', or a smaller batch' : ''}`,
  );
}

/**
 * Builds a Sequential model from a spec, inferring every layer's shapes; a layer that does not
 * fit fails here, before any training, naming its index, kind and both shapes.
 */
export function buildModel(rawSpec: ModelSpec, opts: BuildOptions = {}): Sequential {
  const spec = validateSpec(rawSpec);
  const rng = new Rng(opts.seed ?? 0);
  let need = 0;
  const layers = buildLayers(spec.layers, spec.input, { rng }, (ls, i, shape, layer) => {
    if (!layer) need += bytesPerParam * paramCount(ls, shape);
    else need += bytesPerOutput * (opts.batch ?? 1) * layer.outShape.reduce((x, y) => x * y, 1);
    checkMemory(need, i, ls, opts);
  });
  const model = new Sequential(spec, layers);
  model.rng = rng;
  const init = opts.init ?? spec.init ?? { kind: 'he-normal' };
  for (const { param } of model.namedParams()) initParam(param, init, rng);
  for (const layer of allLayers(model.layers)) {
    const own = layer instanceof Conv2d || layer instanceof Dense ? layer.init : undefined;
    if (typeof own === 'object') initParam(layer.params[0], own, rng);
    if (layer instanceof Conv2d && own === 'dirac') layer.dirac();
  }
  return model;
}
