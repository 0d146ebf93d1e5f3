import type { Normalization } from '../data/dataset.js';
import { ConfigError } from '../errors.js';
import type { InputActivationLayer } from '../layers/activation.js';
import type { BatchNorm } from '../layers/batchnorm.js';
import { type Layer, pair } from '../layers/layer.js';
import type { Residual } from '../layers/residual.js';
import type { Sequential } from '../model/sequential.js';
import type { LayerSpec } from '../model/spec.js';
import { GraphBuilder, tensorInfo } from './graph.js';
import { ModelProto } from './schema.js';

/** The ONNX opset the exported graphs use (Softmax over one axis, Dropout with a ratio input). */
export const exportOpset = 13;

export interface OnnxExportOptions {
  /** The training data's per-channel normalization of pixels/255; part of the graph. [0, 1] scaling if absent. */
  normalization?: Normalization;
  /** For a model that takes flattened images: the picture's [channels, height, width]. */
  imageShape?: readonly [number, number, number];
  /** Class names, index = label (else the model spec's). */
  classNames?: readonly string[];
  /** The convts version written into the metadata. */
  version?: string;
  /** Extra metadata_props entries (e.g. the run's input preparation as JSON). */
  metadata?: Record<string, string>;
}

/** One layer kind's graph: takes the input value's name, returns the output's; `path` is the layer's state-dict prefix. */
type LayerExporter = (spec: LayerSpec, layer: Layer, x: string, g: GraphBuilder, path: string) => string;

const param = (layer: Layer, g: GraphBuilder, which: 'weight' | 'bias', path: string): string[] => {
  const p = layer.params.find((q) => q.name === which);
  return p ? [g.floats(`${path}.${which}`, p.value.shape, p.value.data)] : [];
};

const conv2d: LayerExporter = (spec, layer, x, g, path) => {
  if (spec.type !== 'conv2d') throw new Error('conv2d exporter called for another layer');
  const [kh, kw] = pair(spec.kernel, 1);
  // "same" is (k − 1)/2 on each side (odd kernels only), as the layer computes it.
  const [ph, pw] = spec.padding === 'same' ? [(kh - 1) / 2, (kw - 1) / 2] : pair(spec.padding, 0);
  const inputs = [x, ...param(layer, g, 'weight', path), ...param(layer, g, 'bias', path)];
  return g.node('Conv', inputs, path, {
    kernel_shape: [kh, kw],
    strides: pair(spec.stride, 1),
    pads: [ph, pw, ph, pw],
  });
};

const pool =
  (op: 'MaxPool' | 'AveragePool'): LayerExporter =>
  (spec, _layer, x, g, path) => {
    if (spec.type !== 'maxpool2d' && spec.type !== 'avgpool2d')
      throw new Error('pool exporter called for another layer');
    return g.node(op, [x], path, { kernel_shape: pair(spec.size, 2), strides: pair(spec.stride ?? spec.size, 2) });
  };

// convts's global pools give C features: the N×C×1×1 of ONNX's is flattened.
const globalPool =
  (op: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerExporter =>
  (_spec, _layer, x, g, path) =>
    g.node('Flatten', [g.node(op, [x], path)], `${path}_flatten`, { axis: 1 });

const dense: LayerExporter = (_spec, layer, x, g, path) =>
  g.node('Gemm', [x, ...param(layer, g, 'weight', path), ...param(layer, g, 'bias', path)], path, { transB: 1 });

const unary =
  (op: string, attrs: Record<string, number> = {}): LayerExporter =>
  (_spec, _layer, x, g, path) =>
    g.node(op, [x], path, attrs);

// Dropout keeps its rate for the round trip; without a training_mode input it is the identity.
const dropout: LayerExporter = (spec, _layer, x, g, path) => {
  const rate = spec.type === 'dropout' ? spec.rate : 0;
  return g.node('Dropout', [x, g.floats(`${path}.ratio`, [], Float32Array.of(rate))], path);
};

// Inference: the running statistics; ONNX's momentum is PyTorch's 1 − momentum.
const batchnorm: LayerExporter = (spec, layer, x, g, path) => {
  const bn = layer as BatchNorm;
  const c = bn.inShape[0];
  const scale = bn.weight
    ? param(layer, g, 'weight', path)
    : [g.floats(`${path}.ones`, [c], new Float32Array(c).fill(1))];
  const shift = bn.bias ? param(layer, g, 'bias', path) : [g.floats(`${path}.zeros`, [c], new Float32Array(c))];
  const stats = [bn.runningMean, bn.runningVar].map((b) => g.floats(`${path}.${b.name}`, [c], b.value.data));
  const momentum = spec.type === 'batchnorm' ? (spec.momentum ?? 0.1) : 0.1;
  return g.node('BatchNormalization', [x, ...scale, ...shift, ...stats], path, {
    epsilon: { float: bn.eps },
    momentum: { float: 1 - momentum },
  });
};

const leakyRelu: LayerExporter = (_spec, layer, x, g, path) =>
  g.node('LeakyRelu', [x], path, { alpha: { float: (layer as InputActivationLayer).slope } });

// GELU with the tanh approximation, as the layer computes it (opset 13 has no Gelu operator):
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
const gelu: LayerExporter = (_spec, _layer, x, g, path) => {
  const k = (name: string, v: number) => g.floats(`${path}.${name}`, [], Float32Array.of(v));
  const x3 = g.node('Mul', [g.node('Mul', [x, x], `${path}_x2`), x], `${path}_x3`);
  const inner = g.node('Add', [x, g.node('Mul', [x3, k('c', 0.044715)], `${path}_cx3`)], `${path}_inner`);
  const t = g.node(
    'Tanh',
    [g.node('Mul', [inner, k('sqrt_2_over_pi', Math.sqrt(2 / Math.PI))], `${path}_scaled`)],
    `${path}_tanh`,
  );
  const half = g.node('Mul', [x, k('half', 0.5)], `${path}_half`);
  return g.node('Mul', [half, g.node('Add', [t, k('one', 1)], `${path}_1pt`)], path);
};

// y = layers(x) + shortcut(x), the shortcut being x or a "same"-padded convolution.
const residual: LayerExporter = (spec, layer, x, g, path) => {
  if (spec.type !== 'residual') throw new Error('residual exporter called for another layer');
  const r = layer as Residual;
  let h = x;
  r.body.forEach((l, i) => {
    h = exportLayer(spec.layers[i] as LayerSpec, l, h, g, `${path}.layers.${l.name}`);
  });
  const sc = spec.shortcut;
  const side =
    r.shortcut && sc && sc !== 'identity'
      ? conv2d(
          { type: 'conv2d', filters: r.outShape[0], kernel: sc.conv, stride: sc.stride ?? 1, padding: 'same' },
          r.shortcut,
          x,
          g,
          `${path}.shortcut`,
        )
      : x;
  return g.node('Add', [h, side], path);
};

/** Every layer kind convts has, each a small graph. */
export const layerExporters: Record<string, LayerExporter> = {
  conv2d,
  maxpool2d: pool('MaxPool'),
  avgpool2d: pool('AveragePool'),
  globalavgpool: globalPool('GlobalAveragePool'),
  globalmaxpool: globalPool('GlobalMaxPool'),
  dense,
  flatten: unary('Flatten', { axis: 1 }),
  relu: unary('Relu'),
  sigmoid: unary('Sigmoid'),
  tanh: unary('Tanh'),
  'leaky-relu': leakyRelu,
  gelu,
  softmax: unary('Softmax', { axis: 1 }),
  dropout,
  batchnorm,
  residual,
};

function exportLayer(spec: LayerSpec, layer: Layer, x: string, g: GraphBuilder, path: string): string {
  const exporter = layerExporters[layer.kind];
  if (!exporter) throw new ConfigError(`export: layer ${path} (${layer.kind}) has no ONNX form yet`);
  return exporter(spec, layer, x, g, path);
}

/**
 * The model as an ONNX file (opset 13): input `image`, float32 [N, C, H, W] raw pixel values
 * 0–255, normalized inside the graph; outputs `logits` and `probabilities`; class names, the
 * normalization and the convts version in metadata_props. Weights keep PyTorch's names.
 */
export function exportOnnx(model: Sequential, o: OnnxExportOptions = {}): Uint8Array {
  const g = new GraphBuilder();
  const inShape = model.inputShape;
  const image = inShape.length === 3 ? (inShape as unknown as [number, number, number]) : o.imageShape;
  if (image && inShape.length === 1 && image[0] * image[1] * image[2] !== inShape[0]) {
    throw new ConfigError(
      `export: the image shape ${image.join('×')} does not give the model's ${inShape[0]} input features`,
    );
  }
  const inputName = image ? 'image' : 'features';
  let x = g.fresh(inputName);
  if (image) x = normalize(g, x, image[0], o.normalization);
  if (image && inShape.length === 1) x = g.node('Flatten', [x], 'flatten_input', { axis: 1 });

  const layers = model.layers;
  const last = layers[layers.length - 1].kind;
  const fused =
    (model.spec.loss === 'cross-entropy' && last === 'softmax') || (model.spec.loss === 'bce' && last === 'sigmoid');
  const depth = fused ? layers.length - 1 : layers.length;
  for (let i = 0; i < depth; i++) x = exportLayer(model.spec.layers[i], layers[i], x, g, layers[i].name);
  g.node('Identity', [x], 'logits_out', {}, g.fresh('logits'));
  // Probabilities: the fused final layer, else softmax for cross-entropy; mse scores stay as they are.
  const probOp = fused
    ? last === 'softmax'
      ? 'Softmax'
      : 'Sigmoid'
    : model.spec.loss === 'cross-entropy'
      ? 'Softmax'
      : 'Identity';
  g.node(
    probOp,
    [x],
    fused ? layers[depth].name : 'probabilities_out',
    probOp === 'Softmax' ? { axis: 1 } : {},
    g.fresh('probabilities'),
  );

  const classes = model.classes;
  const classNames = o.classNames ?? model.spec.classes ?? Array.from({ length: classes }, (_, i) => String(i));
  const norm = o.normalization ?? (image ? unit(image[0]) : undefined);
  const metadata: Record<string, string> = {
    classes: JSON.stringify(classNames),
    convts_version: o.version ?? 'unknown',
    convts_loss: model.spec.loss,
    ...(norm ? { normalization: JSON.stringify(norm) } : {}),
    ...o.metadata,
  };
  const msg = ModelProto.fromObject({
    ir_version: 8,
    opset_import: [{ domain: '', version: exportOpset }],
    producer_name: 'convts',
    producer_version: o.version ?? 'unknown',
    graph: {
      name: model.spec.name ?? 'convts',
      node: g.nodes,
      initializer: g.initializers,
      input: [tensorInfo(inputName, [null, ...(image ?? inShape)])],
      output: [tensorInfo('logits', [null, classes]), tensorInfo('probabilities', [null, classes])],
    },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return ModelProto.encode(msg).finish();
}

function unit(c: number): Normalization {
  return { mean: new Array(c).fill(0), std: new Array(c).fill(1) };
}

// (x/255 − mean)/std per channel, as convts computes it: x·(1/(255·std)) + (−mean/std).
function normalize(g: GraphBuilder, x: string, c: number, norm: Normalization = unit(c)): string {
  if (norm.mean.length !== c || norm.std.length !== c) {
    throw new ConfigError(`export: the normalization has ${norm.mean.length} channels, the model takes ${c}`);
  }
  const scale = Float32Array.from(norm.std, (s) => 1 / (255 * s));
  const offset = Float32Array.from(norm.mean, (m, i) => -m / norm.std[i]);
  const scaled = g.node('Mul', [x, g.floats('input.scale', [1, c, 1, 1], scale)], 'scale_pixels');
  return g.node('Add', [scaled, g.floats('input.offset', [1, c, 1, 1], offset)], 'normalize');
}
