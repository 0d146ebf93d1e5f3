// One case of the fuzz campaign: convts run in a child process group under CPU-time, wall-time and
// memory watchdogs, and its outcome (clean refusal, accepted, stack trace, crash, hang, over the
// memory limit, bad message, bad input accepted, debris).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Rng } from '../src/tensor/rng.js';
import { judge, messageOf, type Outcome } from './fuzz-judge.js';

export const mainJs = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
/**
 * Per case: a hang is more CPU time than any case needs, or — for a process that waits for ever
 * without using CPU — a wall time long enough that a starved case (the machine busy with other
 * work at a higher priority) still finishes inside it. A memory limit: the goal is that no input
 * of ≤ 10 MB takes more than 1 GB.
 */
export const caseLimits = { cpuMs: 120_000, wallMs: 900_000, memoryBytes: 2 ** 30 };

/** The hang limits in words, for the tables. */
export const hangLimits = (l: { cpuMs: number; wallMs: number } = caseLimits) =>
  `over ${l.cpuMs / 1000} s of CPU time or ${l.wallMs / 1000} s of wall time`;

/** One run of convts: its arguments, extra environment, and what its message must name. */
export interface Case {
  args: string[];
  env?: Record<string, string>;
  /** A refusal's message must match this (the damaged file, the flag, the variable…). */
  culprit: RegExp;
  /** What was done to the input, for the list of bad cases. */
  note: string;
  /** Send SIGINT after this many ms (and a second one `twice` ms later). */
  sigint?: { after: number; twice?: number };
  /** Run as user nobody (so that permissions apply: the campaign runs as root here). */
  nobody?: boolean;
  /** Exit 0 is wrong for this case (the input is certainly bad). */
  mustRefuse?: boolean;
  /** Paths outside the case folder to remove afterwards. */
  cleanup?: string[];
}

export interface Scenario {
  name: string;
  /** Prepares case k in `dir` (a fresh copy of the base folder) and says how to run it. */
  make: (dir: string, rng: Rng, k: number) => Case;
}

export { kinds, type Outcome } from './fuzz-judge.js';

export interface Result {
  outcome: Outcome;
  rssKb: number;
  seconds: number;
  /** CPU time of the case's process group (user + system), sampled every 100 ms. */
  cpuSeconds: number;
  code: number | null;
  detail: string;
}

/** Files a failed or interrupted command must not leave: temporary files of an atomic write, locks. */
export function debris(dir: string, before: Set<string>, locksToo: boolean): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if ((/\.tmp-\d+$/.test(e.name) || (locksToo && /\.lock(\.\d+)?$/.test(e.name))) && !before.has(p))
        found.push(p);
    }
  };
  walk(dir);
  return found;
}

export function listFiles(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.add(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Resident memory (kB) and CPU time so far (clock ticks, per pid) of every process in group `pgid`,
 * from /proc: children that escape their parent still count.
 */
export function groupUsage(pgid: number): { kb: number; pids: number[]; ticks: Map<number, number> } {
  let kb = 0;
  const pids: number[] = [];
  const ticks = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return { kb, pids, ticks };
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      // The command name (field 2) may hold spaces and parentheses: fields are counted after its ")".
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // rest[0] is the state: a zombie has ended and holds no memory.
      if (Number(rest[2]) !== pgid || rest[0] === 'Z') continue;
      pids.push(Number(e));
      // utime and stime (fields 14 and 15); not the children's (16, 17): each child is in the group itself.
      ticks.set(Number(e), Number(rest[11]) + Number(rest[12]));
      const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${e}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return { kb, pids, ticks };
}

/** Clock ticks per second (USER_HZ): 100 on Linux for every architecture convts runs on. */
const ticksPerSecond = 100;

export const killGroup = (pgid: number) => {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // Already gone.
  }
};

/** Groups of the cases running now, killed if the campaign itself is stopped. */
export const running = new Set<number>();

/**
 * Runs convts in a process group of its own with a time limit and a memory watchdog. Over either
 * limit the whole group is killed (SIGKILL to -pgid: killing only the first process would leave
 * node running and holding the pipes, so the case would never end). Peak memory is the larger of
 * /usr/bin/time's figure and the group's sampled total.
 */
export function runCase(c: Case, cwd: string): Promise<Result> {
  const rssFile = join(cwd, '..', `${basename(cwd)}.rss`);
  rmSync(rssFile, { force: true });
  const timed = existsSync('/usr/bin/time');
  const node = [process.execPath, mainJs, ...c.args];
  const user = c.nobody ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  const argv = [...(timed ? ['/usr/bin/time', '-f', '%M', '-o', rssFile] : []), ...user, ...node];
  const before = listFiles(cwd);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd,
      detached: true,
      env: { ...process.env, CONVTS_OFFLINE: '1', CONVTS_DATA_DIR: '', CONVTS_THREADS: '1', ...c.env },
    });
    const pgid = child.pid!;
    running.add(pgid);
    let stderr = '';
    let limit: 'hang' | 'over 1 GB' | null = null;
    let sampledKb = 0;
    // The latest CPU figure of each process seen: one that has ended keeps its last figure.
    const cpuTicks = new Map<number, number>();
    const cpuSeconds = () => {
      let sum = 0;
      for (const t of cpuTicks.values()) sum += t;
      return sum / ticksPerSecond;
    };
    child.stderr.on('data', (b) => {
      if (stderr.length < 1e5) stderr += b;
    });
    child.stdout.resume();
    const stop = (why: 'hang' | 'over 1 GB') => {
      limit ??= why;
      killGroup(pgid);
    };
    const timer = setTimeout(() => stop('hang'), caseLimits.wallMs);
    const watchdog = setInterval(() => {
      const u = groupUsage(pgid);
      sampledKb = Math.max(sampledKb, u.kb);
      for (const [pid, t] of u.ticks) cpuTicks.set(pid, Math.max(t, cpuTicks.get(pid) ?? 0));
      if (u.kb * 1024 > caseLimits.memoryBytes) stop('over 1 GB');
      else if (cpuSeconds() * 1000 > caseLimits.cpuMs) stop('hang');
    }, 100);
    // SIGINT goes to node itself (time and setpriv exec or pass signals on only for their child).
    const interrupt = () => {
      const kids = spawnSync('pgrep', ['-P', String(pgid)], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n');
      const target = c.nobody || timed ? Number(kids.find(Boolean)) : pgid;
      if (target) {
        try {
          process.kill(target, 'SIGINT');
        } catch {}
      }
    };
    const timers = c.sigint
      ? [
          setTimeout(interrupt, c.sigint.after),
          c.sigint.twice ? setTimeout(interrupt, c.sigint.after + c.sigint.twice) : null,
        ]
      : [];
    // A process that left the group could hold the pipes open: 'close' would never come.
    let finished = false;
    let grace: NodeJS.Timeout | undefined;
    child.on('exit', () => {
      grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(child.exitCode, child.signalCode);
      }, 5000);
    });
    child.on('close', (code, signal) => finish(code, signal));
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(grace);
      clearInterval(watchdog);
      for (const t of timers) if (t) clearTimeout(t);
      // Whatever still runs in the group once its leader has ended was left behind.
      const stray = groupUsage(pgid).pids;
      killGroup(pgid);
      running.delete(pgid);
      const timeKb = existsSync(rssFile) ? Number(/(\d+)\s*$/.exec(readFileSync(rssFile, 'utf8'))?.[1] ?? 0) : 0;
      const rssKb = Math.max(timeKb, sampledKb);
      // `time` reports a signal death as "Command terminated by signal N" and exit code 128 + N.
      const exit = code ?? (signal ? 128 : 0);
      const killedBy = signal ?? (/terminated by signal (\d+)/.exec(stderr)?.[1] ? `signal` : null);
      const last = messageOf(stderr);
      // A lock left by a process that Ctrl-C killed names a dead pid: the next writer takes it over.
      const left = [...debris(cwd, before, !c.sigint), ...stray.map((p) => `process ${p}`)];
      const outcome = judge(c, {
        limit,
        stderr,
        exit,
        killedBy,
        overMemory: rssKb * 1024 > caseLimits.memoryBytes,
        left,
      });
      const extra = left.length ? ` left ${left.map((p) => p.replace(`${cwd}/`, '')).join(', ')}` : '';
      const took = ((Date.now() - started) / 1000).toFixed(1);
      resolve({
        outcome,
        rssKb,
        seconds: Number(took),
        cpuSeconds: cpuSeconds(),
        code: exit,
        detail: `[${c.note}] exit ${code ?? signal} after ${took} s (${cpuSeconds().toFixed(1)} s CPU), ${(rssKb / 1024).toFixed(0)} MB${extra}: ${last.slice(0, 240)}`,
      });
    };
  });
}
