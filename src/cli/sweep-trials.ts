/** Running a sweep's trials as `convts train` child processes, and reading back the ones that already ended. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataFormatError, UsageError } from '../errors.js';
import { ensureDir } from '../files/atomic.js';
import type { TrialResult } from '../report/sweep.js';
import {
  checkpointPath,
  metricsFile,
  type RunSummary,
  readEpochMetrics,
  readRunConfig,
  readRunSummary,
  summaryFile,
} from '../run/index.js';
import type { TrainConfig, TrainFlags } from './train-flags.js';

export interface Trial {
  name: string;
  params: Record<string, string>;
  dir: string;
  /** The resolved train config, to tell a finished trial of this sweep from one of another. */
  config: TrainConfig;
}

/** Runs the trials here, `jobs` child processes at a time; returns true when stopped by Ctrl-C. */
export async function runLocally(
  todo: Trial[],
  base: TrainFlags,
  results: Map<string, TrialResult>,
  total: number,
  jobs: number,
  log: (s: string) => void,
): Promise<boolean> {
  // Children run in their own process group, so a terminal's Ctrl-C reaches them once, from here.
  const running = new Set<ChildProcess>();
  let stopping = false;
  const onSigint = () => {
    if (!stopping)
      log('sweep: stopping — each running trial saves a checkpoint (run the same command again to resume)…');
    stopping = true;
    for (const c of running) c.kill('SIGINT');
  };
  process.on('SIGINT', onSigint);
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  let done = results.size;
  const worker = async () => {
    for (let t = todo.shift(); t && !stopping; t = todo.shift()) {
      const r = await runTrial(t, base, main, running);
      results.set(t.name, r);
      log(resultLine(++done, total, r));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, todo.length)) }, worker));
  } finally {
    process.off('SIGINT', onSigint);
  }
  return stopping;
}

/** "[3/9] lr-0.1_filters-8: test accuracy 91.20%, loss 0.2706 (12.3 s)", or the status and why. */
export function resultLine(done: number, total: number, r: TrialResult): string {
  return `[${done}/${total}] ${r.name}: ${
    r.status === 'completed'
      ? `test accuracy ${(100 * r.testAccuracy!).toFixed(2)}%, loss ${r.testLoss!.toFixed(4)} (${r.seconds!.toFixed(1)} s)`
      : `${r.status}${r.error ? ` — ${r.error}` : ''}`
  }`;
}

/** The result of a trial that already ended (completed or diverged), or null if it must run. */
export function finished(t: Trial): TrialResult | null {
  if (!existsSync(join(t.dir, summaryFile))) return null;
  let s: RunSummary;
  try {
    s = readRunSummary(t.dir);
  } catch (e) {
    if (e instanceof DataFormatError) return null; // a damaged summary: train the trial again
    throw e;
  }
  if (s.status === 'interrupted') return null;
  const had = readRunConfig(t.dir) as Record<string, unknown>;
  const differ = Object.entries(t.config)
    .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(had[k]))
    .map(([k]) => k);
  if (differ.length) {
    throw new UsageError(
      `${t.dir} finished with other settings (${differ.join(', ')} differ${differ.length === 1 ? 's' : ''}) — give this sweep another --out, or the same flags as before`,
    );
  }
  const done = s.status === 'completed' ? s : null;
  return {
    name: t.name,
    params: t.params,
    status: s.status,
    testAccuracy: done?.testAccuracy ?? null,
    testLoss: done?.testLoss ?? null,
    trainAccuracy: done?.trainAccuracy ?? null,
    seconds: done?.seconds ?? null,
    perEpoch: existsSync(join(t.dir, metricsFile)) ? readEpochMetrics(t.dir) : [],
    ...(s.status === 'diverged' ? { error: s.error } : {}),
  };
}

/** Runs one trial as `convts train` in a child process (resuming its checkpoint if it has one). */
function runTrial(t: Trial, base: TrainFlags, main: string, running: Set<ChildProcess>): Promise<TrialResult> {
  const args = existsSync(checkpointPath(t.dir))
    ? [
        '--resume',
        t.dir,
        ...(base['data-dir'] ? ['--data-dir', base['data-dir']] : []),
        ...(base.offline ? ['--offline'] : []),
      ]
    : [
        ...Object.entries({ ...base, ...t.params }).flatMap(([k, v]) =>
          v === true ? [`--${k}`] : v === false || v === undefined ? [] : [`--${k}`, String(v)],
        ),
        '--out',
        t.dir,
      ];
  ensureDir(t.dir);
  const logFile = createWriteStream(join(t.dir, 'train.log'), { flags: 'a' });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, 'train', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    running.add(child);
    let lastLine = '';
    child.stderr!.on('data', (b: Buffer) => {
      logFile.write(b);
      const lines = b
        .toString()
        .split('\n')
        .filter((l) => l.trim());
      if (lines.length) lastLine = lines[lines.length - 1].replace(/^convts: /, '');
    });
    child.on('close', (code, signal) => {
      const stopped = code === 130 || signal === 'SIGINT'; // SIGINT before its handler was set: nothing to save yet
      running.delete(child);
      logFile.end();
      let r: TrialResult | null = null;
      try {
        r = finished(t);
      } catch (e) {
        lastLine = (e as Error).message;
      }
      resolve(
        r ?? {
          name: t.name,
          params: t.params,
          status: stopped ? 'interrupted' : 'failed',
          testAccuracy: null,
          testLoss: null,
          trainAccuracy: null,
          seconds: null,
          perEpoch: [],
          ...(stopped ? {} : { error: `${lastLine} (exit code ${code ?? signal}; see ${join(t.dir, 'train.log')})` }),
        },
      );
    });
  });
}
