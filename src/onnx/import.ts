import type { Normalization } from '../data/dataset.js';
import { ConvtsError, DataFormatError } from '../errors.js';
import type { BuildContext } from '../layers/layer.js';
import { buildModel, makeLayer } from '../model/build.js';
import type { Sequential } from '../model/sequential.js';
import type { LayerSpec, ModelSpec } from '../model/spec.js';
import { Rng } from '../tensor/rng.js';
import type { Shape } from '../tensor/tensor.js';
import { type Const, decodeOnnx, nodeLabel, readTensor } from './decode.js';
import { fail, type LayerWeights, type OpContext, opHandlers } from './import-ops.js';
import type { GraphMsg, NodeMsg } from './schema.js';

export interface OnnxImportOptions {
  /** Names the file in messages. */
  source?: string;
  /** Per-sample [C, H, W] (or [F]) for a graph whose input has dynamic sizes besides the batch. */
  inputShape?: number[];
}

export interface OnnxImport {
  model: Sequential;
  /** The pixel normalization the graph itself applies (convts exports); else undefined. */
  normalization?: Normalization;
  /** The ONNX file's metadata_props. */
  metadata: Record<string, string>;
}

type Sym = (number | 'N')[];

/**
 * An ONNX model as a convts model: the graph must be a chain of the operators torch.onnx.export
 * writes for convts's layers; anything else fails naming the node and its operator.
 */
export function importOnnx(bytes: Uint8Array, o: OnnxImportOptions = {}): OnnxImport {
  const source = o.source ?? 'model.onnx';
  const msg = decodeOnnx(bytes, source);
  const graph = msg.graph as GraphMsg;
  const metadata = Object.fromEntries((msg.metadata_props ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  for (const op of msg.opset_import ?? []) {
    if ((op.domain ?? '') === '' && (op.version ?? 0) < 7) {
      throw new DataFormatError(`${source}: opset ${op.version} is older than convts reads (7 and later)`);
    }
  }
  if (graph.sparse_initializer?.length) throw new DataFormatError(`${source}: sparse initializers are not supported`);

  const consts = new Map<string, Const>();
  for (const t of graph.initializer ?? []) consts.set(t.name ?? '', readTensor(t, source));
  const inputs = (graph.input ?? []).filter((v) => !consts.has(v.name ?? ''));
  if (inputs.length !== 1) {
    throw new DataFormatError(
      `${source}: the graph has ${inputs.length} inputs (${inputs.map((v) => v.name).join(', ')}); convts models take one`,
    );
  }
  const input = inputs[0];
  const inShape = inputShape(input, o.inputShape, source);
  const pixels = metadata.normalization !== undefined;

  const syms = new Map<string, Sym>();
  const main = new Map<string, number>([[input.name ?? '', 0]]);
  const layers: LayerSpec[] = [];
  const weights: LayerWeights[] = [];
  const ctx: BuildContext = { rng: new Rng(0) };
  let shape: Shape = inShape;
  let headOps = 0;

  for (const node of graph.node ?? []) {
    const ins = node.input ?? [];
    const op = node.op_type ?? '';
    if (node.domain && node.domain !== 'ai.onnx') {
      throw new DataFormatError(
        `${source}: ${nodeLabel(node)} is from operator domain "${node.domain}", which convts does not read`,
      );
    }
    if (op === 'Constant') {
      const t = node.attribute?.find((a) => a.name === 'value')?.t;
      if (!t) throw new DataFormatError(`${source}: ${nodeLabel(node)}: only tensor-valued constants are supported`);
      consts.set(node.output?.[0] ?? '', readTensor(t, `${source}: ${nodeLabel(node)}`));
      continue;
    }
    const mainIns = ins.filter((n) => main.has(n));
    if (mainIns.length === 0) {
      evalSym(node, consts, syms, source);
      continue;
    }
    const x = mainIns[0];
    if (mainIns.length > 1 || main.get(x) !== layers.length) {
      throw new DataFormatError(
        `${source}: ${nodeLabel(node)}: branches off or joins an earlier value (a residual connection?) — convts models are a chain of layers`,
      );
    }
    if (op === 'Shape') {
      syms.set(node.output?.[0] ?? '', ['N', ...shape]);
      continue;
    }
    // The pixel scaling of a convts export (Mul, Add per channel) is recorded as the run's normalization.
    if (pixels && layers.length === 0 && headOps < 2 && (op === 'Mul' || op === 'Add')) {
      headOps++;
      main.set(node.output?.[0] ?? '', 0);
      continue;
    }
    const handler = opHandlers[op];
    if (!handler) {
      throw new DataFormatError(
        `${source}: ${nodeLabel(node)}: operator ${op} is not supported — convts reads ${Object.keys(opHandlers).join(', ')}`,
      );
    }
    const others = ins.filter((n) => n !== x);
    const first = others.map((n) => consts.get(n)).find((t) => t?.floats);
    const c: OpContext = {
      node,
      consts: others.map((n) => consts.get(n)),
      syms: others.map((n) => syms.get(n)),
      shape,
      layers,
      weights,
      weightName: weightName(others.find((n) => consts.get(n) === first)),
    };
    const before = layers.length;
    try {
      handler(c);
      for (let i = before; i < layers.length; i++) shape = makeLayer(layers[i], shape, ctx).outShape;
    } catch (e) {
      if (e instanceof ConvtsError && !e.message.startsWith('node ')) fail(c, e.message);
      throw prefixed(e, source);
    }
    for (const out of (node.output ?? []).slice(0, 1)) main.set(out, layers.length);
  }

  for (const out of graph.output ?? []) {
    const d = main.get(out.name ?? '');
    if (d === undefined)
      throw new DataFormatError(`${source}: graph output "${out.name}" is not computed from the input`);
  }
  if (layers.length === 0) throw new DataFormatError(`${source}: the graph has no layers`);
  const model = assemble(layers, weights, inShape, metadata, graph.name, source);
  const normalization = pixels ? parseNormalization(metadata.normalization, source) : undefined;
  return { model, normalization, metadata };
}

function prefixed(e: unknown, source: string): unknown {
  return e instanceof DataFormatError ? new DataFormatError(`${source}: ${e.message}`) : e;
}

function weightName(init: string | undefined): string | undefined {
  const prefix = init?.replace(/\.(weight|bias)$/, '');
  return prefix && prefix !== init && /^[A-Za-z_][\w-]*$/.test(prefix) ? prefix : undefined;
}

function inputShape(
  input: GraphMsg['input'] extends (infer V)[] | undefined ? V : never,
  given: number[] | undefined,
  source: string,
): number[] {
  const t = input.type?.tensor_type;
  if (t?.elem_type !== undefined && t.elem_type !== 1) {
    throw new DataFormatError(`${source}: input "${input.name}" has element type ${t.elem_type}; convts takes float32`);
  }
  const dims = (t?.shape?.dim ?? []).map((d) => d.dim_value ?? d.dim_param ?? '?');
  if (dims.length !== 2 && dims.length !== 4) {
    throw new DataFormatError(
      `${source}: input "${input.name}" has shape [${dims.join(', ')}]; convts takes [N, C, H, W] or [N, F]`,
    );
  }
  const rest = dims.slice(1);
  if (given) {
    if (given.length !== rest.length || rest.some((d, i) => typeof d === 'number' && d !== given[i])) {
      throw new DataFormatError(
        `${source}: --input-shape ${given.join(',')} does not fit the input's [${dims.join(', ')}]`,
      );
    }
    return given;
  }
  const dynamic = rest.find((d) => typeof d !== 'number' || d <= 0);
  if (dynamic !== undefined) {
    throw new DataFormatError(
      `${source}: input "${input.name}" has a dynamic size "${dynamic}" in [${dims.join(', ')}] — give the sizes with --input-shape ${rest.length === 3 ? 'C,H,W' : 'F'}`,
    );
  }
  return rest as number[];
}

// Shape arithmetic PyTorch writes for x.view(x.size(0), -1): Gather, Unsqueeze, Concat over int vectors.
function evalSym(node: NodeMsg, consts: Map<string, Const>, syms: Map<string, Sym>, source: string): void {
  const ins = (node.input ?? []).map((n) => syms.get(n) ?? consts.get(n)?.ints);
  const out = node.output?.[0] ?? '';
  const op = node.op_type;
  if (ins.every((v) => v !== undefined)) {
    const vs = ins as Sym[];
    if (op === 'Gather' && vs.length === 2 && vs[1].length <= 1) {
      const i = vs[1][0] as number;
      syms.set(out, [vs[0][i < 0 ? vs[0].length + i : i]]);
      return;
    }
    if (op === 'Unsqueeze' || op === 'Squeeze' || op === 'Identity' || op === 'Cast') {
      syms.set(out, vs[0]);
      return;
    }
    if (op === 'Concat') {
      syms.set(out, vs.flat());
      return;
    }
  }
  throw new DataFormatError(`${source}: ${nodeLabel(node)}: operator ${op} on constants is not supported`);
}

function assemble(
  layers: LayerSpec[],
  weights: LayerWeights[],
  input: number[],
  metadata: Record<string, string>,
  name: string | undefined,
  source: string,
): Sequential {
  const loss = ['cross-entropy', 'bce', 'mse'].includes(metadata.convts_loss)
    ? (metadata.convts_loss as ModelSpec['loss'])
    : 'cross-entropy';
  let classes: string[] | undefined;
  try {
    const c = JSON.parse(metadata.classes ?? 'null');
    if (Array.isArray(c) && c.every((s) => typeof s === 'string')) classes = c;
  } catch {
    classes = undefined;
  }
  const spec: ModelSpec = { ...(name ? { name } : {}), input, layers, loss, ...(classes ? { classes } : {}) };
  let model: Sequential;
  try {
    model = buildModel(spec);
  } catch (e) {
    if (!(e instanceof ConvtsError)) throw e;
    model = buildModel({ ...spec, layers: layers.map(({ name: _n, ...l }) => l as LayerSpec) }); // clashing names: use convts's
  }
  if (classes && classes.length !== model.classes)
    throw new DataFormatError(
      `${source}: metadata lists ${classes.length} classes, the model has ${model.classes} outputs`,
    );
  model.layers.forEach((layer, i) => {
    for (const p of layer.params) p.value.data.set(weights[i][p.name]!);
    for (const b of layer.buffers) {
      const v = weights[i].buffers?.[b.name];
      if (v) b.value.data.set(v);
    }
  });
  return model;
}

function parseNormalization(json: string, source: string): Normalization {
  try {
    const n = JSON.parse(json);
    if (Array.isArray(n.mean) && Array.isArray(n.std)) return { mean: n.mean, std: n.std };
  } catch {
    /* reported below */
  }
  throw new DataFormatError(`${source}: metadata "normalization" is not {"mean": [...], "std": [...]}`);
}
