import { DataFormatError } from '../errors.js';
import { readFileChecked } from '../files/checked.js';
import { checkBudget, memoryBudget } from './budget.js';
import { gunzipChecked, gunzipHead, gzipCeiling, isGzip } from './gzip.js';

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

/**
 * Reads an IDX file, gzipped or raw. The sizes its header claims are checked against the file's
 * size and the memory budget before anything is inflated, and inflation stops at that size.
 */
export function readIdx(path: string, expectDims: number, budget = memoryBudget()): IdxArray {
  return decodeIdx(readFileChecked(path, budget), path, expectDims, budget);
}

/** An IDX file's bytes as read from disk (gzipped or raw) → the array; see readIdx. */
export function decodeIdx(raw: Uint8Array, path: string, expectDims: number, budget = memoryBudget()): IdxArray {
  if (!isGzip(raw)) return parseIdx(raw, path, expectDims);
  const headerLen = 4 + 4 * expectDims;
  const dims = parseIdxHeader(gunzipHead(raw, headerLen, path), path, expectDims);
  const size = dims.reduce((a, b) => a * b, 1);
  if (headerLen + size > gzipCeiling(raw.length))
    throw new DataFormatError(
      `${path}: header says ${dims.join('×')} = ${size} bytes of data, more than a ${raw.length}-byte gzip file can hold — the file is damaged`,
    );
  checkBudget(headerLen + size, `${path} (${dims.join('×')} bytes)`, budget);
  return parseIdx(gunzipChecked(raw, path, headerLen + size, `its IDX header gives`), path, expectDims);
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
