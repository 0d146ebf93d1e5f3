import { ATTR, FLOAT, INT64, type NodeMsg, type TensorMsg, type ValueInfo } from './schema.js';

/** An attribute value as the exporters give it: ints, floats, int lists or a string. */
export type AttrValue = number | number[] | string | { float: number };

/** Collects nodes and initializers in order; every value gets a fresh, readable name. */
export class GraphBuilder {
  readonly nodes: NodeMsg[] = [];
  readonly initializers: TensorMsg[] = [];
  private readonly used = new Set<string>();

  /** A name not used yet, from `base` ("relu1", "relu1_1", …). */
  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  /** A float32 initializer (weights stay byte-exact: raw little-endian data). */
  floats(name: string, dims: readonly number[], data: Float32Array): string {
    const n = this.fresh(name);
    this.initializers.push({ name: n, dims: [...dims], data_type: FLOAT, raw_data: floatBytes(data) });
    return n;
  }

  /** An int64 initializer, e.g. a Reshape target. */
  int64s(name: string, values: readonly number[]): string {
    const n = this.fresh(name);
    this.initializers.push({ name: n, dims: [values.length], data_type: INT64, int64_data: [...values] });
    return n;
  }

  /** Adds a node and returns its (first) output's name, `out` if given. */
  node(op: string, inputs: string[], name: string, attrs: Record<string, AttrValue> = {}, out?: string): string {
    const nodeName = this.fresh(name);
    const output = out ?? this.fresh(`${nodeName}_out`);
    this.nodes.push({
      op_type: op,
      name: nodeName,
      input: inputs,
      output: [output],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }
}

function attribute(name: string, v: AttrValue) {
  if (typeof v === 'number') return { name, type: ATTR.INT, i: v };
  if (typeof v === 'string') return { name, type: ATTR.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: ATTR.INTS, ints: v };
  return { name, type: ATTR.FLOAT, f: v.float };
}

/** Float32 values as little-endian bytes (the layout of TensorProto.raw_data). */
export function floatBytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

/** A float32 tensor value description; `null` dims are the dynamic batch. */
export function tensorInfo(name: string, dims: readonly (number | null)[]): ValueInfo {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: FLOAT,
        shape: { dim: dims.map((d) => (d === null ? { dim_param: 'N' } : { dim_value: d })) },
      },
    },
  };
}
