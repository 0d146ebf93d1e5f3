// IDX bytes already in memory (no file, no inflation): shared by the Node readers and the browser.
import { DataFormatError } from '../errors.js';

/** An IDX array of unsigned bytes (the only element type MNIST-style files use). */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** The dimensions an IDX header gives, after checking its magic number; throws when too short. */
export function parseIdxHeader(bytes: Uint8Array, path: string, expectDims: number): number[] {
  if (bytes.length < 4) throw new DataFormatError(`${path}: ${bytes.length} bytes is too short for an IDX file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const want = 0x800 | expectDims;
  if (magic !== want) {
    throw new DataFormatError(
      `${path}: bad magic number 0x${hex(magic)} at byte 0, expected 0x${hex(want)} (IDX uint8, ${expectDims} dimensions) — is it the right file?`,
    );
  }
  const headerLen = 4 + 4 * expectDims;
  if (bytes.length < headerLen)
    throw new DataFormatError(`${path}: truncated IDX header (${bytes.length} of ${headerLen} bytes)`);
  const dims: number[] = [];
  for (let i = 0; i < expectDims; i++) dims.push(view.getUint32(4 + 4 * i));
  return dims;
}

/**
 * Parses IDX bytes: magic 0x00 0x00 0x08 (uint8) ndims, then ndims big-endian uint32 sizes,
 * then the data. `expectDims` is the number of dimensions the caller needs.
 */
export function parseIdx(bytes: Uint8Array, path: string, expectDims: number): IdxArray {
  const dims = parseIdxHeader(bytes, path, expectDims);
  const headerLen = 4 + 4 * expectDims;
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== headerLen + size) {
    throw new DataFormatError(
      `${path}: header says ${dims.join('×')} = ${size} bytes of data, the file has ${bytes.length - headerLen} after byte ${headerLen} — ${bytes.length < headerLen + size ? 'truncated' : 'trailing bytes'}`,
    );
  }
  return { dims, data: bytes.subarray(headerLen) };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
