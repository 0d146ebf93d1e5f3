import { existsSync, linkSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { ensureDir } from './atomic.js';
import { errnoCode, fileError, onFile } from './checked.js';

/** The lock file a writer keeps in its output folder. */
export const lockFile = '.convts.lock';

/** Whether a process with this id runs (EPERM: it does, under another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

function holder(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Takes `<dir>/.convts.lock` for this process so that two convts commands never write the same
 * folder; a second one is refused naming the first one's pid. A lock left by a process that no
 * longer runs (kill -9) is taken over. Released on exit (with the folder, if this made it and it
 * stayed empty); returns the release function.
 */
export function lockDir(dir: string): () => void {
  const created = !existsSync(dir);
  ensureDir(dir);
  return takeLock(join(dir, lockFile), dir, () => {
    // A command that failed before writing anything leaves no empty folder behind.
    if (created)
      try {
        rmdirSync(dir);
      } catch {}
  });
}

/**
 * The same for one output file (a feature file): `<file>.lock` beside it, so that other files in
 * the same folder stay free. Creates the folder; returns the release function.
 */
export function lockOutputFile(file: string): () => void {
  ensureDir(dirname(file));
  return takeLock(`${file}.lock`, file, () => {});
}

function takeLock(path: string, what: string, cleanup: () => void): () => void {
  const mine = `${path}.${process.pid}`;
  onFile(mine, 'cannot write', () => writeFileSync(mine, `${process.pid}\n`));
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(mine, path); // atomic: fails when the lock exists
        break;
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST' || attempt >= 5) throw fileError(e, path, 'cannot take the lock');
      }
      const pid = holder(path);
      if (pid !== null && pid !== process.pid && alive(pid))
        throw new ConfigError(
          `${what} is being written by convts process ${pid} — wait for it to finish, or give another --out`,
        );
      // Stale: move it aside (only one taker wins the rename), then try again.
      try {
        renameSync(path, `${mine}.stale`);
        rmSync(`${mine}.stale`, { force: true });
      } catch {}
    }
  } finally {
    rmSync(mine, { force: true });
  }
  const release = () => {
    if (holder(path) === process.pid) rmSync(path, { force: true });
    cleanup();
    process.off('exit', release);
  };
  process.on('exit', release);
  return release;
}
