import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Redis } from 'ioredis';
import { DataFormatError } from '../errors.js';
import { ensureDir, writeJsonAtomic } from '../files/atomic.js';

/**
 * What a worker returns for a trial (kept small: BullMQ copies it into its event stream). The
 * files are either in a Redis hash (`key`) or in a folder of the shared results folder (`shared`).
 */
export interface TrialReturn {
  /** The Redis hash holding the run directory's files. */
  key?: string;
  /** The folder, inside the sweep's shared results folder, holding the run directory's files. */
  shared?: string;
  worker: string;
  files: string[];
  bytes: number;
}

/**
 * How long a finished trial's files wait in Redis for the sweep owner to collect them. A result
 * left behind by a worker that lost its lock (another one finished the trial) expires too.
 */
export const resultTtlSeconds = 7 * 24 * 3600;

// File names a run directory holds; anything else (a path, "..") is refused on both sides.
const fileName = /^[\w][\w.-]{0,200}$/;

/** The files of a finished run directory (not checkpoints, locks or half-written temporaries). */
export function packRun(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(dir).sort()) {
    if (!fileName.test(name) || name.includes('.tmp-') || name.startsWith('checkpoint')) continue;
    const path = join(dir, name);
    if (statSync(path).isFile()) files.set(name, readFileSync(path));
  }
  return files;
}

/** Stores a run's files under `key` (one Redis hash, one field per file) with the result TTL. */
export async function storeResult(redis: Redis, key: string, files: Map<string, Buffer>): Promise<void> {
  const m = redis.multi().del(key);
  for (const [name, bytes] of files) m.hset(key, name, bytes);
  await m.expire(key, resultTtlSeconds).exec();
}

/** A result's files, or null when they are gone (expired or never stored). */
export async function fetchResult(redis: Redis, key: string): Promise<Map<string, Buffer> | null> {
  const h = await redis.hgetallBuffer(key);
  const names = Object.keys(h);
  return names.length ? new Map(names.map((n) => [n, h[n]])) : null;
}

/**
 * Writes a run directory received from a worker: into a temporary folder first, then renamed over
 * `dir`, so the sweep folder never holds half a trial. A temporary folder left by an owner killed
 * while writing is removed first.
 */
export function writeRunDir(dir: string, files: Map<string, Buffer>): void {
  ensureDir(dirname(dir));
  const stale = `${basename(dir)}.incoming-`;
  for (const f of readdirSync(dirname(dir)))
    if (f.startsWith(stale)) rmSync(join(dirname(dir), f), { recursive: true, force: true });
  const tmp = `${dir}.incoming-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  for (const [name, bytes] of files) {
    if (!fileName.test(name)) throw new DataFormatError(`a worker sent a file named "${name}" for ${dir} — refused`);
    writeFileSync(join(tmp, name), bytes);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

// A shared results folder (--results DIR) holds one folder per sweep, named by the sweep's id,
// with this marker in it: a worker writes there only when it finds the marker of the trial's
// sweep, i.e. when it sees the very folder the owner made (else its results go through Redis).
const sharedMarker = '.convts-sweep.json';
// A result folder's name there: the job id and the worker's lock token, made file-name safe.
const sharedName = /^[\w][\w.,=-]{0,300}$/;

/** The sweep's folder in the shared results folder `base`, made and marked by the owner. */
export function prepareShared(base: string, sweep: string, about: Record<string, unknown>): string {
  const dir = join(base, sweep);
  writeJsonAtomic(join(dir, sharedMarker), { sweep, ...about });
  return dir;
}

/** The sweep's folder in `base` when it is the owner's (its marker names the sweep), else null. */
export function findShared(base: string, sweep: string): string | null {
  const dir = join(base, sweep);
  try {
    return JSON.parse(readFileSync(join(dir, sharedMarker), 'utf8')).sweep === sweep ? dir : null;
  } catch {
    return null;
  }
}

/** A file-name-safe result folder name for a job and lock token. */
export function sharedResultName(jobId: string, token: string): string {
  return `${jobId}.${token}`.replace(/[^\w.,=-]/g, '_').slice(0, 300);
}

/** Writes a run's files to `dir/name` (under a temporary name first, so the owner never reads half of one). */
export function storeShared(dir: string, name: string, files: Map<string, Buffer>): void {
  const tmp = join(dir, `${name}.partial-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  for (const [f, bytes] of files) writeFileSync(join(tmp, f), bytes);
  rmSync(join(dir, name), { recursive: true, force: true });
  renameSync(tmp, join(dir, name));
}

/** A result's files from the shared folder, or null when they are not there. A bad name is refused. */
export function readShared(dir: string, name: string): Map<string, Buffer> | null {
  if (!sharedName.test(name)) throw new DataFormatError(`a worker named a result folder "${name}" — refused`);
  return existsSync(join(dir, name)) ? packRun(join(dir, name)) : null;
}

export function dropShared(dir: string, name: string): void {
  if (sharedName.test(name)) rmSync(join(dir, name), { recursive: true, force: true });
}
