import { ConfigError, DataFormatError, FileError } from '../errors.js';
import { readFileChecked } from '../files/checked.js';
import { bankFromArray, type FilterBank } from './bank.js';
import { type LmOptions, lmBank } from './lm.js';
import { isNpy, parseNpy } from './npy.js';

/** The bank a --bank value names: "lm" (built in, with `lm` options) or a .npy or JSON file. */
export function loadBank(spec: string, lm: LmOptions = {}): FilterBank {
  if (spec === 'lm') return lmBank(lm);
  let bytes: Buffer;
  try {
    bytes = readFileChecked(spec);
  } catch (e) {
    if (e instanceof FileError && e.code === 'ENOENT')
      throw new ConfigError(`--bank: ${spec} not found — give "lm" or a .npy or .json filter bank`);
    throw e;
  }
  if (isNpy(bytes)) {
    const a = parseNpy(bytes, spec);
    return bankFromArray(a.shape, a.data, spec);
  }
  return parseJsonBank(bytes.toString('utf8'), spec);
}

/**
 * A JSON bank: {"filters": [[[…]]]} (or the bare array), filters[k][row][col], every filter the
 * same size.
 */
export function parseJsonBank(text: string, source: string): FilterBank {
  const fail = (why: string): never => {
    throw new DataFormatError(`${source}: ${why}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(`neither a .npy file nor valid JSON (${(e as Error).message})`);
  }
  const filters = Array.isArray(raw) ? raw : (raw as { filters?: unknown } | null)?.filters;
  if (!Array.isArray(filters) || filters.length === 0)
    fail('expected {"filters": [[[…]]]}: a non-empty list of 2-D filters');
  const f = filters as unknown[];
  const rows = f[0];
  if (!Array.isArray(rows) || rows.length === 0 || !Array.isArray(rows[0]) || rows[0].length === 0) {
    fail('filter 0 is not a non-empty 2-D array of numbers');
  }
  const kh = (rows as unknown[][]).length;
  const kw = (rows as unknown[][])[0].length;
  const data = new Float32Array(f.length * kh * kw);
  f.forEach((filter, k) => {
    if (!Array.isArray(filter) || filter.length !== kh)
      fail(`filter ${k} has ${Array.isArray(filter) ? filter.length : 'no'} rows, filter 0 has ${kh}`);
    (filter as unknown[]).forEach((row, r) => {
      if (!Array.isArray(row) || row.length !== kw) fail(`filter ${k}, row ${r}: expected ${kw} numbers like filter 0`);
      (row as unknown[]).forEach((v, c) => {
        if (typeof v !== 'number') fail(`filter ${k}, row ${r}, column ${c}: ${JSON.stringify(v)} is not a number`);
        data[(k * kh + r) * kw + c] = v as number;
      });
    });
  });
  return { name: source, count: f.length, kh, kw, data };
}
