import { ConfigError } from '../errors.js';
import { type InitSpec, initKinds, isInitSpec } from '../init/initializers.js';
import type { ActivationSpec, GeluSpec, LeakyReluSpec } from '../layers/activation.js';
import type { BatchNormSpec } from '../layers/batchnorm.js';
import type { Conv2dSpec } from '../layers/conv2d.js';
import type { DenseSpec } from '../layers/dense.js';
import type { DropoutSpec } from '../layers/dropout.js';
import type { FlattenSpec } from '../layers/flatten.js';
import type { GlobalPoolSpec } from '../layers/global-pool.js';
import type { Pool2dSpec } from '../layers/pool2d.js';
import type { ResidualSpec } from '../layers/residual.js';
import type { SoftmaxSpec } from '../layers/softmax.js';
import type { LossKind } from '../losses/index.js';

export type LayerSpec =
  | Conv2dSpec
  | Pool2dSpec
  | DenseSpec
  | FlattenSpec
  | ActivationSpec
  | SoftmaxSpec
  | DropoutSpec
  | BatchNormSpec
  | GlobalPoolSpec
  | LeakyReluSpec
  | GeluSpec
  | ResidualSpec<LayerSpec>;

export type LayerType = LayerSpec['type'];

/** A model as plain JSON: the input shape per sample, the layers in order, the loss. */
export interface ModelSpec {
  format?: 'convts-model';
  version?: 1;
  name?: string;
  /** Per-sample input: [channels, height, width] for images, [features] for vectors. */
  input: number[];
  layers: LayerSpec[];
  loss: LossKind;
  /** How weights start (biases start at zero); he-normal unless given. */
  init?: InitSpec;
  /** Class names, index = label. */
  classes?: string[];
  /**
   * How this network is trained unless told otherwise: `convts train` flags by name, as in a
   * --config file (e.g. {"epochs": 10, "optimizer": "nesterov"}); a --config file and the command
   * line override them.
   */
  recipe?: Record<string, string | number | boolean>;
}

export const layerTypes: readonly LayerType[] = [
  'conv2d',
  'maxpool2d',
  'avgpool2d',
  'dense',
  'flatten',
  'relu',
  'sigmoid',
  'tanh',
  'softmax',
  'dropout',
  'batchnorm',
  'globalavgpool',
  'globalmaxpool',
  'leaky-relu',
  'gelu',
  'residual',
];
const lossKinds: readonly LossKind[] = ['cross-entropy', 'bce', 'mse'];

// Which fields each layer type takes, and whether each must be given.
type FieldKind =
  | 'posint'
  | 'size'
  | 'bool'
  | 'rate'
  | 'number'
  | 'positive'
  | 'nonneg'
  | 'unit'
  | 'layers'
  | 'shortcut'
  | 'freeze'
  | 'freezeafter'
  | 'convinit'
  | 'init';
const fields: Record<LayerType, Record<string, [FieldKind, boolean]>> = {
  conv2d: {
    filters: ['posint', true],
    kernel: ['size', true],
    stride: ['size', false],
    padding: ['size', false],
    bias: ['bool', false],
    inChannels: ['posint', false],
    init: ['convinit', false],
    freeze: ['freeze', false],
    freezeAfter: ['freezeafter', false],
    lrScale: ['positive', false],
    weightDecay: ['nonneg', false],
  },
  maxpool2d: { size: ['size', true], stride: ['size', false] },
  avgpool2d: { size: ['size', true], stride: ['size', false] },
  dense: {
    units: ['posint', true],
    bias: ['bool', false],
    inFeatures: ['posint', false],
    init: ['init', false],
    freeze: ['freeze', false],
    freezeAfter: ['freezeafter', false],
    lrScale: ['positive', false],
    weightDecay: ['nonneg', false],
  },
  flatten: {},
  relu: {},
  sigmoid: {},
  tanh: {},
  softmax: {},
  dropout: { rate: ['rate', true] },
  batchnorm: {
    momentum: ['unit', false],
    eps: ['positive', false],
    affine: ['bool', false],
    channels: ['posint', false],
    freeze: ['freeze', false],
    freezeAfter: ['freezeafter', false],
    lrScale: ['positive', false],
    weightDecay: ['nonneg', false],
  },
  globalavgpool: {},
  globalmaxpool: {},
  'leaky-relu': { slope: ['number', false] },
  gelu: {},
  residual: { layers: ['layers', true], shortcut: ['shortcut', false] },
};

// No size in a model can index more than a typed array holds.
const maxSize = 2 ** 31 - 1;

const wants: Record<FieldKind, string> = {
  posint: `a positive integer up to ${maxSize}`,
  size: 'an integer or [h, w]',
  bool: 'true or false',
  rate: 'a number in [0, 1)',
  number: 'a finite number',
  positive: 'a number > 0',
  nonneg: 'a number ≥ 0',
  unit: 'a number in [0, 1]',
  layers: 'a non-empty array of layers',
  shortcut: '"identity" or {"conv": k (odd), "stride": s, "bias": true|false}',
  freeze: 'true, false or a list of "weight" and "bias"',
  freezeafter: 'an object of "weight" and/or "bias" to a whole number of epochs ≥ 1, like {"bias": 3}',
  convinit: '"patch-whitening", "dirac" or an initializer like {"kind": "normal", "std": 0.01}',
  init: 'an initializer like {"kind": "normal", "std": 0.01}',
};

function fieldOk(kind: FieldKind, key: string, v: unknown): boolean {
  switch (kind) {
    case 'posint':
      return isPosInt(v);
    case 'size':
      return (
        isPosInt(v) ||
        (Array.isArray(v) && v.length === 2 && v.every(isPosInt)) ||
        (key === 'padding' && (v === 0 || v === 'same' || (Array.isArray(v) && v.length === 2 && v.every(isNonNegInt))))
      );
    case 'bool':
      return typeof v === 'boolean';
    case 'rate':
      return typeof v === 'number' && v >= 0 && v < 1;
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'positive':
      return typeof v === 'number' && v > 0 && Number.isFinite(v);
    case 'nonneg':
      return typeof v === 'number' && v >= 0 && Number.isFinite(v);
    case 'unit':
      return typeof v === 'number' && v >= 0 && v <= 1;
    case 'layers':
      return Array.isArray(v) && v.length > 0;
    case 'freeze':
      return typeof v === 'boolean' || (Array.isArray(v) && v.every((n) => n === 'weight' || n === 'bias'));
    case 'freezeafter':
      return (
        isObject(v) &&
        Object.keys(v).length > 0 &&
        Object.entries(v).every(([n, e]) => (n === 'weight' || n === 'bias') && isPosInt(e))
      );
    case 'convinit':
      return v === 'patch-whitening' || v === 'dirac' || isInitSpec(v);
    case 'init':
      return isInitSpec(v);
    case 'shortcut':
      return (
        v === 'identity' ||
        (isObject(v) &&
          Object.keys(v).every((k) => ['conv', 'stride', 'bias'].includes(k)) &&
          isPosInt(v.conv) &&
          (v.conv as number) % 2 === 1 &&
          (v.stride === undefined || isPosInt(v.stride)) &&
          (v.bias === undefined || typeof v.bias === 'boolean'))
      );
  }
}

/**
 * Checks that a parsed JSON value is a well-formed ModelSpec (field names, types and ranges);
 * shapes are checked when the model is built. `source` names the file in messages.
 */
export function validateSpec(raw: unknown, source = 'model spec'): ModelSpec {
  const fail = (msg: string): never => {
    throw new ConfigError(`${source}: ${msg}`);
  };
  if (!isObject(raw)) return fail('expected a JSON object with "input", "layers" and "loss"');
  const input = raw.input;
  if (!Array.isArray(input) || input.length < 1 || input.length > 3 || !input.every(isPosInt)) {
    fail(`"input" must be [channels, height, width] or [features] of positive integers, got ${brief(input)}`);
  }
  if (!Array.isArray(raw.layers) || raw.layers.length === 0) fail('"layers" must be a non-empty array');
  if (!lossKinds.includes(raw.loss as LossKind)) {
    fail(`"loss" must be one of ${lossKinds.join(', ')}, got ${brief(raw.loss)}`);
  }
  if (raw.init !== undefined) {
    const init = raw.init as { kind?: unknown; std?: unknown };
    if (!isInitSpec(init)) {
      fail(
        `"init" must be {"kind": one of ${initKinds.join(', ')}} (normal also needs "std" ≥ 0), got ${brief(raw.init)}`,
      );
    }
  }
  if (raw.classes !== undefined && !(Array.isArray(raw.classes) && raw.classes.every((c) => typeof c === 'string'))) {
    fail('"classes" must be an array of strings');
  }
  if (
    raw.recipe !== undefined &&
    !(
      isObject(raw.recipe) && Object.values(raw.recipe).every((v) => ['string', 'number', 'boolean'].includes(typeof v))
    )
  ) {
    fail('"recipe" must be an object of convts train flag names and values, e.g. {"epochs": 10}');
  }
  validateLayers(raw.layers as unknown[], '', fail);
  return raw as unknown as ModelSpec;
}

/** Checks each layer's type and fields; a residual block's layers are checked the same way, their paths as "layer 3 › layer 1". */
function validateLayers(layers: unknown[], path: string, fail: (msg: string) => never): void {
  layers.forEach((l, i) => {
    const at = `${path}layer ${i}`;
    if (!isObject(l)) return fail(`${at}: expected an object with a "type", got ${brief(l)}`);
    const type = l.type as LayerType;
    const allowed = typeof type === 'string' && Object.hasOwn(fields, type) ? fields[type] : undefined;
    if (!allowed)
      return fail(
        `${at}: ${l.type === undefined ? 'missing "type"' : `unknown type ${brief(l.type)}`} — use one of ${layerTypes.join(', ')}`,
      );
    for (const key of Object.keys(l)) {
      if (key !== 'type' && key !== 'name' && !(key in allowed)) {
        fail(`${at} (${type}): unknown field "${key}" — ${type} takes ${['name', ...Object.keys(allowed)].join(', ')}`);
      }
    }
    if (l.name !== undefined && (typeof l.name !== 'string' || !/^[A-Za-z_][\w-]*$/.test(l.name))) {
      fail(`${at} (${type}): "name" must be an identifier such as "conv1", got ${brief(l.name)}`);
    }
    for (const [key, [kind, required]] of Object.entries(allowed)) {
      const v = l[key];
      if (v === undefined) {
        if (required) fail(`${at} (${type}): missing "${key}"`);
        continue;
      }
      if (!fieldOk(kind, key, v)) fail(`${at} (${type}): "${key}" must be ${wants[kind]}, got ${brief(v)}`);
    }
    if (type === 'residual') validateLayers(l.layers as unknown[], `${at} › `, fail);
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPosInt(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) > 0 && (v as number) <= maxSize;
}

function isNonNegInt(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= maxSize;
}

/** A value quoted in a message: short, and safe for values nested too deeply to stringify. */
export function brief(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = Array.isArray(v) ? '[…] (nested too deeply)' : '{…} (nested too deeply)';
  }
  if (s === undefined) return v === undefined ? 'nothing' : String(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}
