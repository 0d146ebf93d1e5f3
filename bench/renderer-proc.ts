// Chromium's renderer processes started by this process, read from Linux's /proc: a page, its Web
// Workers and the kernels' pool of workers all run in its renderer, so its CPU time is what the page
// costs (the page cannot measure it) and its resident memory is what the page holds. Elsewhere than
// Linux both read 0.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const ticksPerSecond = 100; // USER_HZ: the unit of /proc/PID/stat's times on Linux
const pageBytes = 4096;

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // the process ended meanwhile, or no /proc
  }
}

/** The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | null {
  const stat = read(`/proc/${pid}/stat`);
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : null;
}

function numbered(dir: string): number[] {
  try {
    return readdirSync(dir)
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return []; // gone meanwhile, or no /proc
  }
}

/** Process ids of the processes descended from this one (Chromium's browser, zygotes, renderers, GPU…). */
function descendants(): number[] {
  const parent = new Map<number, number>();
  for (const pid of numbered('/proc')) {
    const f = statFields(pid);
    if (f) parent.set(pid, Number(f[1]));
  }
  const ours = (pid: number, depth = 0): boolean =>
    pid === process.pid || (pid > 1 && depth < 32 && ours(parent.get(pid) ?? 0, depth + 1));
  return [...parent.keys()].filter((pid) => pid !== process.pid && ours(pid));
}

/** Process ids of the renderers descended from this process. */
export function rendererPids(): number[] {
  return descendants().filter((pid) => read(`/proc/${pid}/cmdline`)?.includes('--type=renderer'));
}

/**
 * Gives every thread of the processes descended from this one (Chromium's; PyTorch's bench server)
 * this process's nice value.
 * Chromium sets its own: renderers 0 and its browser process −8 as root, so under `nice -n 10` the
 * page outranked the Node side of a race ninefold whenever anything else wanted a core. Linux keeps a
 * nice value per thread, and threads started later (the pool's workers) take their creator's. Returns
 * the threads it could not set (none when it may; raising a nice value needs no privilege).
 */
export function matchNice(): number {
  if (process.platform !== 'linux') return 0;
  const nice = os.getPriority();
  let failed = 0;
  for (const pid of descendants())
    for (const tid of numbered(`/proc/${pid}/task`)) {
      try {
        if (os.getPriority(tid) !== nice) os.setPriority(tid, nice);
      } catch {
        failed++; // the thread ended meanwhile, or no permission
      }
    }
  return failed;
}

/** CPU seconds (user + system, every thread) the processes have used so far. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (f) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / ticksPerSecond;
}

/** Resident bytes of the processes. */
export function residentBytes(pids: number[]): number {
  let pages = 0;
  for (const pid of pids) pages += Number(read(`/proc/${pid}/statm`)?.split(' ')[1] ?? 0);
  return pages * pageBytes;
}
