import { DataFormatError } from '../errors.js';
import { readFileChecked } from '../files/checked.js';
import { checkBudget, memoryBudget } from './budget.js';
import { gunzipChecked, gunzipHead, gzipCeiling, isGzip } from './gzip.js';

import { type IdxArray, parseIdx, parseIdxHeader } from './idx-bytes.js';

export { type IdxArray, parseIdx, parseIdxHeader };

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
