import { ConfigError, DataFormatError, FileError } from '../errors.js';
import { readTextChecked } from './checked.js';

/**
 * Reads and parses a JSON file. A missing file is a ConfigError saying `missing` (what to give
 * instead); text that is not JSON is a DataFormatError naming the file and the parser's complaint.
 */
export function readJsonFile(path: string, missing = 'check the path'): unknown {
  let text: string;
  try {
    text = readTextChecked(path);
  } catch (e) {
    if (e instanceof FileError && e.code === 'ENOENT') throw new ConfigError(`${path} not found — ${missing}`);
    throw e;
  }
  return parseJson(text, path);
}

/** JSON.parse with an error that names where the text came from (`source`: a file, a line of one…). */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DataFormatError(`${source}: not valid JSON (${(e as Error).message})`);
  }
}

/** The non-empty lines of a JSON Lines file, each parsed; an error names the file and the line. */
export function parseJsonLines(text: string, path: string): unknown[] {
  return text.split('\n').flatMap((l, i) => (l.trim() ? [parseJson(l, `${path}, line ${i + 1}`)] : []));
}

/** "format "x", version 2" for messages about a file's identity; absent fields are said to be absent. */
export function formatVersion(format: unknown, version: unknown): string {
  const say = (name: string, v: unknown) => (v === undefined ? `no "${name}"` : `${name} ${JSON.stringify(v)}`);
  return `${say('format', format)}, ${say('version', version)}`;
}

/** Checks that a parsed value is a JSON object (not an array, not null), naming the file otherwise. */
export function jsonObject(value: unknown, path: string, what = 'a JSON object'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new DataFormatError(`${path}: expected ${what}, got ${jsonKind(value)}`);
  return value as Record<string, unknown>;
}

/** A parsed JSON value described for a message: `an array`, `null`, `the number 3`, `the string "NaN"`. */
export function jsonKind(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return `the ${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}
