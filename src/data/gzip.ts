import { constants, gunzipSync } from 'node:zlib';
import { DataFormatError } from '../errors.js';

/** Deflate's largest expansion is about 1032:1; a header claiming more than that is lying. */
export const maxGzipRatio = 1032;

/** True when the bytes start with the gzip magic number. */
export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

const corrupted = (path: string, e: unknown) =>
  new DataFormatError(
    `${path}: corrupted gzip stream (${(e as Error).message}) — delete the file and download it again`,
  );

/**
 * Gunzips bytes read from `path` (every member of a multi-member file), never inflating more than
 * `max` bytes: a stream that holds more is refused with `why` (what set the cap) in the message.
 */
export function gunzipChecked(raw: Uint8Array, path: string, max = 2 ** 31 - 1, why = 'a file can hold'): Uint8Array {
  try {
    return gunzipSync(raw, { maxOutputLength: Math.max(1, Math.min(max, 2 ** 31 - 1)) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new DataFormatError(
        `${path}: the gzip stream holds more than the ${max} bytes ${why} — the file is damaged or not what it claims`,
      );
    throw corrupted(path, e);
  }
}

/**
 * The first `n` bytes of a gzip file's content (fewer when it holds fewer), inflating only a small
 * prefix of the file: enough to read a header before deciding how much to inflate.
 */
export function gunzipHead(raw: Uint8Array, n: number, path: string): Uint8Array {
  let out: Uint8Array = new Uint8Array(0);
  // A few kB of deflate data hold any header; more is needed only after long gzip name fields.
  for (let p = 4096; out.length < n; p *= 16) {
    try {
      out = gunzipSync(raw.subarray(0, p), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 2 ** 24 });
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        throw new DataFormatError(`${path}: the gzip header fields are too long to be a data file`);
      throw corrupted(path, e);
    }
    if (p >= raw.length) break;
  }
  return out.subarray(0, n);
}

/** The most a gzip of `compressed` bytes can inflate to. */
export function gzipCeiling(compressed: number): number {
  return compressed * maxGzipRatio + 64;
}
