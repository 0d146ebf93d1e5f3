import { DataFormatError } from '../errors.js';
import { shapeStr, sizeOf } from '../tensor/tensor.js';

// The safetensors layout (what PyTorch's `safetensors` library reads and writes): an 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__": {string: string}}, then the raw little-endian tensor bytes, offsets relative to
// the end of the header.

export interface NamedTensor {
  name: string;
  shape: number[];
  /** Float32 tensors are stored as F32, integer ones (indices, counts) as I32. */
  data: Float32Array | Int32Array;
  /**
   * "I64" stores the (integer) values as int64, as PyTorch saves counts such as num_batches_tracked;
   * "F16" stores float32 values as IEEE half floats (rounded to nearest), half the bytes.
   */
  dtype?: 'I64' | 'F16';
}

const MAX_HEADER = 100_000_000;

/** Encodes float32, int32 (and int64, float16) tensors (in the given order) and string metadata into safetensors bytes. */
export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.data.length * (t.dtype === 'I64' ? 8 : t.dtype === 'F16' ? 2 : 4);
    header[t.name] = {
      dtype: t.dtype ?? (t.data instanceof Int32Array ? 'I32' : 'F32'),
      shape: t.shape,
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + byteLength(json)) % 8)) % 8); // align the data to 8 bytes
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let pos = 8 + head.length;
  for (const t of tensors) {
    if (t.dtype === 'I64') {
      for (let i = 0; i < t.data.length; i++) view.setBigInt64(pos + 8 * i, BigInt(Math.round(t.data[i])), true);
      pos += 8 * t.data.length;
      continue;
    }
    if (t.dtype === 'F16') {
      for (let i = 0; i < t.data.length; i++) view.setUint16(pos + 2 * i, toF16(t.data[i]), true);
      pos += 2 * t.data.length;
      continue;
    }
    if (littleEndian) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    else if (t.data instanceof Int32Array)
      for (let i = 0; i < t.data.length; i++) view.setInt32(pos + 4 * i, t.data[i], true);
    else for (let i = 0; i < t.data.length; i++) view.setFloat32(pos + 4 * i, t.data[i], true);
    pos += t.data.byteLength;
  }
  return out;
}

export interface DecodedSafetensors {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

/**
 * Decodes safetensors bytes; F32 tensors are read exactly, F64 and F16/BF16 are converted to
 * float32, I32 is read as int32 and I64 too when every value fits. Anything truncated,
 * overlapping or malformed is refused, naming `source`.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): DecodedSafetensors {
  const fail = (msg: string): never => {
    throw new DataFormatError(`${source}: ${msg}`);
  };
  if (bytes.length < 8)
    fail(
      `file is ${bytes.length} bytes, too short for a safetensors header — it is truncated or not a safetensors file`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > bytes.length) {
    fail(
      `header claims ${n} bytes but the file has ${bytes.length - 8} after the length field — truncated or not a safetensors file`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    fail('header is not valid UTF-8 JSON — the file is corrupted or not a safetensors file');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const shape = e?.shape;
    const offs = e?.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(`tensor "${name}": bad shape ${JSON.stringify(shape)}`);
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((d) => Number.isInteger(d) && d >= 0) ||
      offs[1] < offs[0]
    ) {
      fail(`tensor "${name}": bad data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const width = ({ F32: 4, F64: 8, F16: 2, BF16: 2, I32: 4, I64: 8 } as Record<string, number>)[e.dtype as string];
    if (!width)
      fail(
        `tensor "${name}": dtype ${JSON.stringify(e.dtype)} is not supported — save it as float32 (F32) or int32 (I32)`,
      );
    const count = sizeOf(shape as number[]);
    if (end - begin !== count * width) {
      fail(
        `tensor "${name}": shape ${shapeStr(shape as number[])} of ${e.dtype} needs ${count * width} bytes, data_offsets span ${end - begin}`,
      );
    }
    if (end > dataLen)
      fail(`tensor "${name}": data ends at byte ${dataStart + end} but the file has ${bytes.length} bytes — truncated`);
    spans.push([begin, end, name]);
    tensors.set(name, {
      name,
      shape: shape as number[],
      data:
        e.dtype === 'I32' || e.dtype === 'I64'
          ? readInts(view, dataStart + begin, count, e.dtype, (i, v) =>
              fail(`tensor "${name}": I64 value ${v} at index ${i} does not fit in int32`),
            )
          : readFloats(view, dataStart + begin, count, e.dtype as string),
    });
  }
  // As in the format's spec, the tensors must tile the data exactly: no overlap, no holes, nothing after.
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (let i = 0; i < spans.length; i++) {
    const [begin, end, name] = spans[i];
    if (begin < covered) fail(`tensors "${spans[i - 1][2]}" and "${name}" overlap — the file is corrupted`);
    if (begin > covered)
      fail(
        `data bytes ${covered}–${begin} (before tensor "${name}") do not belong to any tensor — the file is corrupted`,
      );
    covered = end;
  }
  if (covered !== dataLen)
    fail(
      `the last ${dataLen - covered} data bytes do not belong to any tensor — the file is corrupted or has trailing data`,
    );
  return { tensors, metadata };
}

// Float32 bytes are copied as they are, which keeps every bit (NaN payloads included) and is fast;
// element-wise reads would quieten signalling NaNs.
const littleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function readFloats(view: DataView, pos: number, count: number, dtype: string): Float32Array {
  if (dtype === 'F32' && littleEndian) {
    return new Float32Array(view.buffer.slice(view.byteOffset + pos, view.byteOffset + pos + 4 * count));
  }
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    if (dtype === 'F32') out[i] = view.getFloat32(pos + 4 * i, true);
    else if (dtype === 'F64') out[i] = view.getFloat64(pos + 8 * i, true);
    else if (dtype === 'BF16') out[i] = bf16(view.getUint16(pos + 2 * i, true));
    else out[i] = f16(view.getUint16(pos + 2 * i, true));
  }
  return out;
}

function readInts(
  view: DataView,
  pos: number,
  count: number,
  dtype: 'I32' | 'I64',
  tooBig: (i: number, v: bigint) => never,
) {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    if (dtype === 'I32') out[i] = view.getInt32(pos + 4 * i, true);
    else {
      const v = view.getBigInt64(pos + 8 * i, true);
      if (v > 2147483647n || v < -2147483648n) tooBig(i, v);
      out[i] = Number(v);
    }
  }
  return out;
}

const conv = new DataView(new ArrayBuffer(4));
function bf16(h: number): number {
  conv.setUint32(0, h << 16);
  return conv.getFloat32(0);
}

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** A float's IEEE half-float bits, rounded to nearest (ties to even); too large is ±Infinity. */
function toF16(x: number): number {
  conv.setFloat32(0, x);
  const b = conv.getUint32(0);
  const s = (b >>> 16) & 0x8000;
  const e = (b >>> 23) & 0xff;
  const m = b & 0x7fffff;
  if (e === 255) return s | 0x7c00 | (m ? 0x200 : 0);
  const he = e - 112; // the exponent rebiased from 127 to 15
  if (he >= 31) return s | 0x7c00;
  // Normal halves keep 10 of the 23 mantissa bits; subnormal ones shift in the implicit 1 too.
  const [bits, shift] = he > 0 ? [(he << 10) | (m >>> 13), 13] : [(m | 0x800000) >>> Math.min(31, 14 - he), 14 - he];
  if (shift > 24) return s;
  const rem = (m | (he > 0 ? 0 : 0x800000)) & ((1 << shift) - 1);
  const mid = 1 << (shift - 1);
  return s | (bits + (rem > mid || (rem === mid && bits & 1) ? 1 : 0));
}

function byteLength(s: string): number {
  return new TextEncoder().encode(s).length;
}
