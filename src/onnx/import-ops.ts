import { DataFormatError } from '../errors.js';
import type { LayerSpec } from '../model/spec.js';
import type { Shape } from '../tensor/tensor.js';
import { type Const, intAttr, intsAttr, nodeLabel } from './decode.js';
import type { NodeMsg } from './schema.js';

/** Weights read for one layer, in PyTorch layouts. */
export interface LayerWeights {
  weight?: Float32Array;
  bias?: Float32Array;
  /** Saved state that is not trained: batch norm's running statistics. */
  buffers?: Record<string, Float32Array>;
}

/** What an operator handler sees: the node, its constant inputs, the running per-sample shape and the layers so far. */
export interface OpContext {
  node: NodeMsg;
  /** The node's inputs after the main one: constants (undefined where absent or not constant). */
  consts: (Const | undefined)[];
  /** Symbolic int vectors (from Shape chains) for Reshape targets; 'N' is the batch. */
  syms: ((number | 'N')[] | undefined)[];
  shape: Shape;
  layers: LayerSpec[];
  weights: LayerWeights[];
  /** The layer name PyTorch gave the weights ("conv1" from "conv1.weight"), when it is an identifier. */
  weightName: string | undefined;
}

/** Adds a layer (with its weights), returns nothing for a passthrough (Identity), or throws. */
export type OpHandler = (c: OpContext) => void;

export function fail(c: OpContext, msg: string): never {
  throw new DataFormatError(`${nodeLabel(c.node)}: ${msg}`);
}

function push(c: OpContext, spec: LayerSpec, w: LayerWeights = {}): void {
  const named = c.weightName && !c.layers.some((l) => l.name === c.weightName) ? { name: c.weightName } : {};
  c.layers.push({ ...spec, ...(w.weight ? named : {}) } as LayerSpec);
  c.weights.push(w);
}

function weightConst(c: OpContext, k: number, rank: number, what: string): Const & { floats: Float32Array } {
  const w = c.consts[k];
  if (!w?.floats) fail(c, `the ${what} must be a float32 constant (an initializer), not computed in the graph`);
  if (w.dims.length !== rank) fail(c, `the ${what} has shape [${w.dims.join(', ')}], expected ${rank} dimensions`);
  return w as Const & { floats: Float32Array };
}

function image(c: OpContext): [number, number, number] {
  if (c.shape.length !== 3) fail(c, `expects an N×C×H×W input, got per-sample shape [${c.shape.join(', ')}]`);
  return c.shape as unknown as [number, number, number];
}

function checkOnes(c: OpContext, name: string): void {
  const v = intsAttr(c.node, name);
  if (v?.some((d) => d !== 1)) fail(c, `${name} [${v.join(', ')}] is not supported by convts (only 1)`);
}

function checkAutoPad(c: OpContext): void {
  const a = c.node.attribute?.find((x) => x.name === 'auto_pad')?.s;
  const mode = a ? new TextDecoder().decode(a) : 'NOTSET';
  if (mode !== 'NOTSET' && mode !== 'VALID') fail(c, `auto_pad ${mode} is not supported — export with explicit pads`);
}

/** Symmetric pads [top, left, bottom, right] as [h, w]. */
function symmetricPads(c: OpContext): [number, number] {
  const p = intsAttr(c.node, 'pads') ?? [0, 0, 0, 0];
  if (p.length !== 4 || p[0] !== p[2] || p[1] !== p[3]) {
    fail(c, `pads [${p.join(', ')}] are not symmetric — convts pads top=bottom and left=right`);
  }
  return [p[0], p[1]];
}

const conv: OpHandler = (c) => {
  const [ch] = image(c);
  const w = weightConst(c, 0, 4, 'weight');
  if (intAttr(c.node, 'group', 1) !== 1) fail(c, 'grouped convolution (group > 1) is not supported by convts');
  checkOnes(c, 'dilations');
  checkAutoPad(c);
  const [k, wc, kh, kw] = w.dims;
  if (wc !== ch) fail(c, `the weight takes ${wc} input channels, the input has ${ch}`);
  const b = c.consts[1];
  if (b && (!b.floats || b.floats.length !== k)) fail(c, `the bias must be ${k} float32 values`);
  push(
    c,
    {
      type: 'conv2d',
      filters: k,
      kernel: [kh, kw],
      stride: pair(intsAttr(c.node, 'strides')),
      padding: symmetricPads(c),
      bias: Boolean(b),
    },
    { weight: w.floats, bias: b?.floats },
  );
};

const pair = (v: number[] | undefined): [number, number] => (v ? [v[0], v[1]] : [1, 1]);

const pool =
  (type: 'maxpool2d' | 'avgpool2d'): OpHandler =>
  (c) => {
    const [, h, w] = image(c);
    checkOnes(c, 'dilations');
    checkAutoPad(c);
    if (intAttr(c.node, 'storage_order', 0) !== 0) fail(c, 'storage_order 1 is not supported');
    const [kh, kw] = pair(intsAttr(c.node, 'kernel_shape'));
    const [sh, sw] = pair(intsAttr(c.node, 'strides'));
    const [ph, pw] = symmetricPads(c);
    if (ph || pw) fail(c, `padding [${ph}, ${pw}] in pooling is not supported by convts — pool without padding`);
    // ceil_mode only matters where the windows do not tile the input.
    if (intAttr(c.node, 'ceil_mode', 0) === 1 && ((h - kh) % sh !== 0 || (w - kw) % sw !== 0)) {
      fail(c, `ceil_mode 1 on a ${h}×${w} input adds a partial window; convts pools with floor (ceil_mode 0)`);
    }
    push(c, { type, size: [kh, kw], stride: [sh, sw] });
  };

const globalPool =
  (type: 'globalmaxpool' | 'globalavgpool'): OpHandler =>
  (c) => {
    image(c);
    push(c, { type });
  };

const flatten: OpHandler = (c) => {
  if (intAttr(c.node, 'axis', 1) !== 1)
    fail(c, `axis ${intAttr(c.node, 'axis', 1)} — convts flattens after the batch (axis 1)`);
  if (c.shape.length > 1) push(c, { type: 'flatten' });
};

// PyTorch's x.view(x.size(0), -1) / x.flatten(1): a Reshape to [batch, features].
const reshape: OpHandler = (c) => {
  const t = c.syms[0] ?? c.consts[0]?.ints;
  if (!t) fail(c, 'the target shape is computed in a way convts cannot follow — use nn.Flatten()');
  const size = c.shape.reduce((a, b) => a * b, 1);
  const ok =
    t.length === 2 &&
    (t[0] === 'N' || t[0] === 0 || t[0] === -1) &&
    (t[1] === -1 || t[1] === size) &&
    !(t[0] === -1 && t[1] === -1);
  if (!ok) fail(c, `Reshape to [${t.join(', ')}] is not a flatten to [batch, ${size}] — convts reshapes only that way`);
  if (c.shape.length > 1) push(c, { type: 'flatten' });
};

function dense(c: OpContext, w: Float32Array, out: number, inF: number, bias?: Float32Array): void {
  if (c.shape.length !== 1)
    fail(c, `expects a flat input, got per-sample shape [${c.shape.join(', ')}] — flatten first`);
  if (inF !== c.shape[0]) fail(c, `the weight takes ${inF} features, the input has ${c.shape[0]}`);
  if (bias && bias.length !== out) fail(c, `the bias has ${bias.length} values, expected ${out}`);
  push(c, { type: 'dense', units: out, bias: Boolean(bias) }, { weight: w, bias });
}

const gemm: OpHandler = (c) => {
  if (intAttr(c.node, 'transA', 0) !== 0) fail(c, 'transA 1 is not supported');
  const alpha = c.node.attribute?.find((a) => a.name === 'alpha')?.f ?? 1;
  const beta = c.node.attribute?.find((a) => a.name === 'beta')?.f ?? 1;
  if (alpha !== 1 || beta !== 1) fail(c, `alpha ${alpha} and beta ${beta} — convts needs 1 and 1`);
  const w = weightConst(c, 0, 2, 'weight');
  const b = c.consts[1];
  if (c.node.input?.[2] && !b?.floats) fail(c, 'the bias must be a float32 constant');
  if (intAttr(c.node, 'transB', 0) === 1) dense(c, w.floats, w.dims[0], w.dims[1], b?.floats);
  else dense(c, transpose(w.floats, w.dims[0], w.dims[1]), w.dims[1], w.dims[0], b?.floats);
};

// MatMul by a constant [in, out] is a dense layer without bias; a following Add gives it one.
const matmul: OpHandler = (c) => {
  const w = weightConst(c, 0, 2, 'weight');
  dense(c, transpose(w.floats, w.dims[0], w.dims[1]), w.dims[1], w.dims[0]);
};

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

/** An Add of a constant right after a layer without bias is that layer's bias. */
const add: OpHandler = (c) => {
  const b = c.consts[0];
  const last = c.layers[c.layers.length - 1];
  const units = last?.type === 'dense' ? last.units : last?.type === 'conv2d' ? last.filters : 0;
  if (
    !b?.floats ||
    (last?.type !== 'dense' && last?.type !== 'conv2d') ||
    last.bias !== false ||
    b.floats.length !== units
  ) {
    fail(
      c,
      'only an Add of a bias constant right after a MatMul or Conv without bias is supported (no residual connections yet)',
    );
  }
  last.bias = true;
  c.weights[c.weights.length - 1].bias = b.floats;
};

// ONNX stores these as float32; 6 digits give back the 0.1 or 1e-5 that was written.
const short = (v: number) => Number(v.toPrecision(6));

/** BatchNormalization with its running statistics; ONNX's momentum is PyTorch's 1 − momentum. */
const batchNorm: OpHandler = (c) => {
  if (intAttr(c.node, 'training_mode', 0) !== 0) fail(c, 'training_mode 1 — export the model in eval mode');
  const k = c.shape[0];
  const [scale, bias, mean, variance] = [0, 1, 2, 3].map((i) => c.consts[i]?.floats);
  if (![scale, bias, mean, variance].every((v) => v?.length === k))
    fail(c, `scale, B, mean and var must be ${k} float32 constants`);
  const eps = c.node.attribute?.find((a) => a.name === 'epsilon')?.f ?? 1e-5;
  const momentum = c.node.attribute?.find((a) => a.name === 'momentum')?.f ?? 0.9;
  push(
    c,
    { type: 'batchnorm', eps: short(eps), momentum: short(1 - momentum) },
    { weight: scale, bias, buffers: { running_mean: mean!, running_var: variance! } },
  );
};

const softmax: OpHandler = (c) => {
  const axis = intAttr(c.node, 'axis', 1);
  if (c.shape.length !== 1 || (axis !== 1 && axis !== -1))
    fail(c, `softmax over axis ${axis} of [N, ${c.shape.join(', ')}] — convts takes softmax over flat class scores`);
  push(c, { type: 'softmax' });
};

const dropout: OpHandler = (c) => {
  const r = c.consts[0]?.floats?.[0] ?? c.node.attribute?.find((a) => a.name === 'ratio')?.f ?? 0.5;
  push(c, { type: 'dropout', rate: r < 1 && r >= 0 ? r : 0.5 });
};

// PyTorch writes AvgPool2d as a Pad of zeros before AveragePool.
const pad: OpHandler = (c) => {
  const p = c.consts[0]?.ints ?? c.node.attribute?.find((a) => a.name === 'pads')?.ints;
  if (!p || p.some((v) => v !== 0))
    fail(c, `padding [${p?.join(', ') ?? 'computed'}] outside a Conv is not supported by convts`);
};

const leakyRelu: OpHandler = (c) =>
  push(c, { type: 'leaky-relu', slope: short(c.node.attribute?.find((a) => a.name === 'alpha')?.f ?? 0.01) });

const activation =
  (type: 'relu' | 'sigmoid' | 'tanh'): OpHandler =>
  (c) =>
    push(c, { type });

/** The operators convts reads, as torch.onnx.export writes them for its layers. */
export const opHandlers: Record<string, OpHandler> = {
  Conv: conv,
  MaxPool: pool('maxpool2d'),
  AveragePool: pool('avgpool2d'),
  GlobalAveragePool: globalPool('globalavgpool'),
  GlobalMaxPool: globalPool('globalmaxpool'),
  Flatten: flatten,
  Reshape: reshape,
  Gemm: gemm,
  MatMul: matmul,
  Add: add,
  BatchNormalization: batchNorm,
  Relu: activation('relu'),
  LeakyRelu: leakyRelu,
  Sigmoid: activation('sigmoid'),
  Tanh: activation('tanh'),
  Softmax: softmax,
  Dropout: dropout,
  Pad: pad,
  Identity: () => {},
};
