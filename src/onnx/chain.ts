import { DataFormatError } from '../errors.js';
import type { LayerSpec } from '../model/spec.js';
import type { Shape } from '../tensor/tensor.js';
import type { LayerWeights } from './import-ops.js';

/** One imported layer: its spec and weights; a residual block's also its body and shortcut. */
export interface Entry {
  spec: LayerSpec;
  w: LayerWeights;
  outShape: Shape;
  body?: Entry[];
  shortcut?: Entry;
}

/** A value of the graph: the layers from the input to it (shared with the values it branched from). */
export interface Value {
  entries: Entry[];
  shape: Shape;
}

/**
 * An Add of two values that branched from one: a residual block whose body is the longer branch
 * and whose shortcut is the other — nothing (identity) or one "same"-padded convolution.
 */
export function residualJoin(
  a: Value,
  b: Value,
  where: string,
): { spec: LayerSpec; entry: Omit<Entry, 'outShape'>; fork: number } {
  let k = 0;
  while (k < a.entries.length && k < b.entries.length && a.entries[k] === b.entries[k]) k++;
  const [long, short] = a.entries.length - k >= b.entries.length - k ? [a, b] : [b, a];
  const body = long.entries.slice(k);
  const side = short.entries.slice(k);
  const fail = (msg: string): never => {
    throw new DataFormatError(`${where}: ${msg}`);
  };
  if (body.length === 0)
    fail('adds a value to itself or to an earlier value without layers between — not a residual block');
  let shortcut: 'identity' | { conv: number; stride: number; bias: boolean } = 'identity';
  if (side.length > 1)
    fail(
      `the shortcut has ${side.length} layers (${side.map((e) => e.spec.type).join(', ')}); convts's is nothing or one convolution`,
    );
  if (side.length === 1) {
    const s = side[0].spec;
    const kernel = s.type === 'conv2d' ? (Array.isArray(s.kernel) ? s.kernel : [s.kernel, s.kernel]) : [];
    const stride = s.type === 'conv2d' ? (Array.isArray(s.stride) ? s.stride : [s.stride ?? 1, s.stride ?? 1]) : [];
    const pad = s.type === 'conv2d' && Array.isArray(s.padding) ? s.padding : [];
    const same =
      kernel[0] === kernel[1] &&
      kernel[0] % 2 === 1 &&
      stride[0] === stride[1] &&
      pad[0] === (kernel[0] - 1) / 2 &&
      pad[1] === pad[0];
    if (s.type !== 'conv2d' || !same)
      fail(
        `the shortcut is a ${s.type} convts cannot take: it must be a square odd-kernel convolution with "same" padding`,
      );
    shortcut = {
      conv: kernel[0] as number,
      stride: stride[0] as number,
      bias: s.type === 'conv2d' && s.bias !== false,
    };
  }
  const spec: LayerSpec = { type: 'residual', layers: body.map((e) => e.spec), shortcut } as LayerSpec;
  return { spec, entry: { spec, w: {}, body, shortcut: side[0] }, fork: k };
}
