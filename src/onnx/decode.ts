import protobuf from 'protobufjs';
import { DataFormatError } from '../errors.js';
import { type Attribute, FLOAT, INT64, type ModelMsg, ModelProto, type NodeMsg, type TensorMsg } from './schema.js';

/** Decodes an .onnx file; a truncated or corrupt one fails naming the byte offset. */
export function decodeOnnx(bytes: Uint8Array, source: string): ModelMsg {
  let msg: ModelMsg;
  try {
    msg = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as ModelMsg;
  } catch (e) {
    throw new DataFormatError(`${source}: not a readable ONNX file: ${whereBroken(bytes, e)} — truncated or not ONNX?`);
  }
  if (!msg.graph?.node?.length) {
    throw new DataFormatError(
      `${source}: no graph with nodes in this file (${bytes.length} bytes) — is it an ONNX model?`,
    );
  }
  if (msg.functions?.length) throw new DataFormatError(`${source}: model-local functions are not supported`);
  return msg;
}

// The decoder's own message rarely says where; walking the top-level fields finds the one that breaks.
function whereBroken(bytes: Uint8Array, e: unknown): string {
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const start = r.pos;
    try {
      const tag = r.uint32();
      if (tag >>> 3 === 0) return `field number 0 at byte ${start}`;
      if ((tag & 7) === 2) {
        const len = r.uint32();
        if (r.pos + len > r.len)
          return `field ${tag >>> 3} at byte ${start} needs ${len} bytes, the file ends ${r.len - r.pos} bytes later`;
        r.skip(len);
      } else r.skipType(tag & 7);
    } catch (inner) {
      return `${(inner as Error).message} in the field at byte ${start}`;
    }
  }
  return `${(e as Error).message} inside a nested message`;
}

/** A node's label for messages: its name and operator. */
export function nodeLabel(node: NodeMsg): string {
  return `node "${node.name || node.output?.[0] || '?'}" (${node.op_type})`;
}

/** A node's attribute by name, as a number, number list, string or tensor. */
export function attr(node: NodeMsg, name: string): Attribute | undefined {
  return node.attribute?.find((a) => a.name === name);
}

export function intAttr(node: NodeMsg, name: string, fallback: number): number {
  const a = attr(node, name);
  return a?.i ?? fallback;
}

export function intsAttr(node: NodeMsg, name: string): number[] | undefined {
  return attr(node, name)?.ints;
}

/** A constant tensor: float32 data, or int64 values as numbers. */
export interface Const {
  dims: number[];
  floats?: Float32Array;
  ints?: number[];
}

/** Reads an initializer or Constant value; external data and other element types fail with the tensor's name. */
export function readTensor(t: TensorMsg, where: string): Const {
  const dims = t.dims ?? [];
  const size = dims.reduce((a, b) => a * b, 1);
  const name = `${where}: tensor "${t.name ?? '?'}"`;
  if (t.data_location === 1 || t.external_data?.length) {
    const loc = t.external_data?.find((e) => e.key === 'location')?.value;
    throw new DataFormatError(
      `${name} keeps its data in an external file${loc ? ` "${loc}"` : ''} — save the model as one file (onnx.save_model(m, path, save_as_external_data=False))`,
    );
  }
  const raw = t.raw_data;
  if (t.data_type === FLOAT) {
    let floats: Float32Array;
    if (raw?.length) {
      if (raw.length !== size * 4)
        throw new DataFormatError(`${name}: ${raw.length} bytes of data for ${size} float32 values`);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      floats = Float32Array.from({ length: size }, (_, i) => view.getFloat32(i * 4, true));
    } else floats = Float32Array.from(t.float_data ?? []);
    if (floats.length !== size)
      throw new DataFormatError(`${name}: ${floats.length} values for shape [${dims.join(', ')}]`);
    return { dims, floats };
  }
  if (t.data_type === INT64) {
    let ints: number[];
    if (raw?.length) {
      if (raw.length !== size * 8)
        throw new DataFormatError(`${name}: ${raw.length} bytes of data for ${size} int64 values`);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      ints = Array.from({ length: size }, (_, i) => Number(view.getBigInt64(i * 8, true)));
    } else ints = [...(t.int64_data ?? [])];
    if (ints.length !== size)
      throw new DataFormatError(`${name}: ${ints.length} values for shape [${dims.join(', ')}]`);
    return { dims, ints };
  }
  throw new DataFormatError(`${name} has element type ${t.data_type}; convts reads float32 weights and int64 shapes`);
}
