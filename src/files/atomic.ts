import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileError } from '../errors.js';
import { fileError } from './checked.js';

/**
 * Creates a folder and its missing parents. Unlike mkdirSync's recursive mode, which spins
 * forever on paths such as /proc/x/y where mkdir keeps answering ENOENT, it gives up with a
 * FileError naming the folder.
 */
export function ensureDir(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(d);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'ENOENT') throw fileError(e, d, 'cannot create folder');
    }
    if (st) {
      if (!st.isDirectory())
        throw new FileError(
          `cannot create folder ${dir}: ${d} is a file, not a directory (ENOTDIR) — choose another path`,
          d,
          'ENOTDIR',
        );
      break;
    }
    if (dirname(d) === d) break;
    missing.push(d);
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw fileError(e, d, 'cannot create folder');
    }
  }
}

/**
 * Writes a file under a temporary name and renames it, so a crash never leaves half a file; a
 * failure (disk full, no permission…) is a FileError naming the path, and leaves no temporary file.
 * `write` stands in for writeFileSync in tests.
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  write: (path: string, data: string | Uint8Array) => void = writeFileSync,
): void {
  ensureDir(dirname(path));
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    write(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fileError(e, path, 'cannot write');
  }
}

/** JSON with two-space indentation and a final newline. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
