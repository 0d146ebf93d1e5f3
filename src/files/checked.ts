import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { FileError } from '../errors.js';

// What to do about each failure, after "<action> <path>: <what>".
const advice: Record<string, [string, string]> = {
  ENOENT: ['not found', 'check the path (a dangling symbolic link counts as missing)'],
  EISDIR: ['is a directory', 'give the path of a file inside it'],
  ENOTDIR: ['a part of the path is a file, not a directory', 'check each folder on the path'],
  EACCES: ['permission denied', 'choose a path you may read and write, or change its permissions'],
  EPERM: ['operation not permitted', 'choose another path (system folders such as /proc and /sys refuse files)'],
  ENOSPC: ['no space left on the device', 'free some space or choose another disk'],
  EDQUOT: ['disk quota exceeded', 'free some space or choose another disk'],
  ENAMETOOLONG: ['the name is too long', 'use a shorter file or folder name (at most 255 bytes each)'],
  EROFS: ['read-only file system', 'choose a writable path'],
  EEXIST: ['already exists', 'remove it or choose another path'],
  EMFILE: ['too many open files', 'close other programs or raise the limit (ulimit -n)'],
  ELOOP: ['too many symbolic links', 'check the links on the path'],
  EINVAL: ['invalid argument', 'choose a regular path (special file systems such as /proc refuse files)'],
  ENOTEMPTY: ['the directory is not empty', 'remove its contents or choose another path'],
  EIO: ['input/output error', 'the disk may be failing; try another path'],
};

/** The errno code of a Node file-system error, or undefined. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

/**
 * Turns a Node file-system error into a FileError with one line naming the path and what to do;
 * anything that is not one is returned unchanged. `action` reads like "cannot read".
 */
export function fileError(e: unknown, path: string, action: string): unknown {
  const code = errnoCode(e);
  if (!code || e instanceof FileError) return e;
  const [what, fix] = advice[code] ?? [(e as Error).message, 'check the path'];
  return new FileError(`${action} ${path}: ${what} (${code}) — ${kernelFsAdvice(path) ?? fix}`, path, code);
}

/**
 * What to do about a path under /proc or /sys: the kernel makes up their contents, so advice about
 * links, permissions or free space would send the user the wrong way.
 */
export function kernelFsAdvice(path: string): string | undefined {
  const top = /^\/(proc|sys)(\/|$)/.exec(resolve(path))?.[1];
  if (!top) return undefined;
  return `/${top} is the kernel's view of ${top === 'proc' ? 'processes' : 'devices'}, not a disk: no file can be made or kept there — choose a path on a disk`;
}

/**
 * Runs `f`, which writes temporary files that stand for `path` (a folder built aside, then
 * renamed): a file error anywhere inside is told as about `path`, the name the user gave, not
 * the temporary one they never saw.
 */
export function onFileFor<T>(path: string, action: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const code = e instanceof FileError ? e.code : errnoCode(e);
    if (!code || !advice[code]) throw e instanceof FileError ? e : fileError(e, path, action);
    const [what, fix] = advice[code];
    throw new FileError(`${action} ${path}: ${what} (${code}) — ${kernelFsAdvice(path) ?? fix}`, path, code);
  }
}

/** Runs `f`, rethrowing its file-system errors as FileErrors about `path`. */
export function onFile<T>(path: string, action: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw fileError(e, path, action);
  }
}

/**
 * The bytes of a regular file; a directory, a dangling link, a missing or unreadable file or one
 * larger than `maxBytes` gives a FileError naming the path.
 */
export function readFileChecked(path: string, maxBytes = Number.POSITIVE_INFINITY): Buffer {
  const size = fileSize(path);
  if (size > maxBytes)
    throw new FileError(
      `cannot read ${path}: ${size} bytes, more than the ${maxBytes} this kind of file can hold — is it the right file?`,
      path,
    );
  return onFile(path, 'cannot read', () => readFileSync(path));
}

/** A UTF-8 text file, through readFileChecked. */
export function readTextChecked(path: string, maxBytes?: number): string {
  return readFileChecked(path, maxBytes).toString('utf8');
}

/** The size of a regular file; a FileError for a directory, a device or anything missing. */
export function fileSize(path: string): number {
  const st = onFile(path, 'cannot read', () => statSync(path));
  if (st.isDirectory()) throw fileError(Object.assign(new Error('EISDIR'), { code: 'EISDIR' }), path, 'cannot read');
  if (!st.isFile())
    throw new FileError(`cannot read ${path}: not a regular file — give the path of a file`, path, 'EINVAL');
  return st.size;
}

const verbs: Record<string, string> = {
  open: 'open',
  read: 'read',
  stat: 'read',
  lstat: 'read',
  scandir: 'list',
  write: 'write',
  mkdir: 'create folder',
  rename: 'rename',
  unlink: 'remove',
  rmdir: 'remove',
  copyfile: 'copy',
};

/** A FileError for a Node file-system error that no helper caught, from the path and call it carries. */
export function escapedFileError(e: unknown): FileError | undefined {
  if (e instanceof FileError) return e;
  if (!errnoCode(e)) return undefined;
  const { path, syscall } = e as { path?: string; syscall?: string };
  const out = fileError(e, path ?? '(a file)', `cannot ${verbs[syscall ?? ''] ?? syscall ?? 'use'}`);
  return out instanceof FileError ? out : undefined;
}
