import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataFormatError } from '../errors.js';

/** True when the bytes start with the gzip magic number. */
export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Gunzips bytes read from `path`, turning zlib's failure into an error that names the file. */
export function gunzipChecked(raw: Uint8Array, path: string): Uint8Array {
  try {
    return gunzipSync(raw);
  } catch (e) {
    throw new DataFormatError(
      `${path}: corrupted gzip stream (${(e as Error).message}) — delete the file and download it again`,
    );
  }
}

/** Reads a file, gunzipping it when it starts with the gzip magic bytes (whatever its name). */
export function readMaybeGzip(path: string): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw new DataFormatError(`${path}: cannot read (${(e as Error).message})`);
  }
  return isGzip(raw) ? gunzipChecked(raw, path) : raw;
}
