import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { DataFormatError } from '../errors.js';

/** What a worker returns for a trial (kept small: BullMQ copies it into its event stream). */
export interface TrialReturn {
  /** The Redis hash holding the run directory's files. */
  key: string;
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

/** The files of a finished run directory (not checkpoints or half-written temporaries). */
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
 * `dir`, so the sweep folder never holds half a trial.
 */
export function writeRunDir(dir: string, files: Map<string, Buffer>): void {
  const tmp = `${dir}.incoming-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [name, bytes] of files) {
    if (!fileName.test(name)) throw new DataFormatError(`a worker sent a file named "${name}" for ${dir} — refused`);
    writeFileSync(join(tmp, name), bytes);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}
