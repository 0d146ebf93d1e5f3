import { DataFormatError } from '../errors.js';

/** An array read from a NumPy .npy file, converted to float32 in C (row-major) order. */
export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** True when the bytes start like a .npy file. */
export function isNpy(b: Uint8Array): boolean {
  return b.length >= magic.length && magic.every((m, i) => b[i] === m);
}

/**
 * Parses a .npy file (format versions 1–3) holding float32 or float64 values in either byte
 * order and either memory order. `source` names the file in error messages.
 */
export function parseNpy(b: Uint8Array, source: string): NpyArray {
  const fail = (why: string): never => {
    throw new DataFormatError(`${source}: ${why}`);
  };
  if (!isNpy(b)) fail('not a NumPy .npy file (it does not start with "\\x93NUMPY")');
  if (b.length < 10) fail('truncated .npy header');
  const major = b[6];
  if (major < 1 || major > 3) fail(`.npy format version ${major}.${b[7]} is not supported (1.0, 2.0 and 3.0 are)`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (b.length < 8 + lenBytes) fail('truncated .npy header');
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = 8 + lenBytes + hlen;
  if (start > b.length)
    fail(`the header claims ${hlen} bytes but the file has only ${b.length - 8 - lenBytes} after the preamble`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(b.subarray(8 + lenBytes, start)).trim();
  if (!header.startsWith('{') || !header.endsWith('}'))
    fail(`the header is not a Python dict: ${JSON.stringify(header.slice(0, 80))}`);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    fail(`the header lacks descr, fortran_order or shape: ${JSON.stringify(header.slice(0, 120))}`);
  }
  const dtype = /^([<>=|])f([48])$/.exec(descr!);
  if (!dtype) fail(`dtype "${descr}" is not supported — save float32 or float64 (a.astype(np.float32))`);
  const little = dtype![1] !== '>'; // '=' is native, and every platform Node runs on is little-endian
  const item = Number(dtype![2]);
  const dims = shapeText!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (!dims.every((s) => /^\d+$/.test(s))) fail(`shape (${shapeText}) is not a tuple of integers`);
  const shape = dims.map(Number);
  const n = shape.reduce((p, d) => p * d, 1);
  const have = b.length - start;
  if (have !== n * item)
    fail(`shape (${shape.join(', ')}) of ${descr} needs ${n * item} data bytes, the file has ${have}`);
  const raw = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    raw[i] = item === 4 ? dv.getFloat32(start + 4 * i, little) : dv.getFloat64(start + 8 * i, little);
  }
  return { shape, data: fortran === 'True' ? fortranToC(raw, shape) : raw };
}

/** Reorders column-major data (first index fastest) to row-major. */
function fortranToC(a: Float32Array, shape: number[]): Float32Array {
  const out = new Float32Array(a.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let f = 0; f < a.length; f++) {
    // f walks the Fortran order; compute the matching C offset from the index tuple.
    let c = 0;
    for (let d = 0; d < shape.length; d++) c = c * shape[d] + idx[d];
    out[c] = a[f];
    for (let d = 0; d < shape.length; d++) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}
