import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataFormatError, UsageError } from '../errors.js';
import { ensureDir, writeFileAtomic, writeJsonAtomic } from '../files/atomic.js';
import { redactUrl } from '../queue/connection.js';
import { accuracyByParam, rankTrials, sweepMarkdown, sweepPage, type TrialResult } from '../report/sweep.js';
import {
  checkpointPath,
  metricsFile,
  type RunSummary,
  readEpochMetrics,
  readRunConfig,
  readRunSummary,
  summaryFile,
} from '../run/index.js';
import { num, parseCommand, readConfigFile } from './args.js';
import { sweepOnQueue } from './sweep-queue.js';
import { resolveLayers, type TrainConfig, type TrainFlags, trainOptions } from './train.js';

/** The train flags a grid may vary. */
const sweepable = [
  'lr',
  'filters',
  'batch-size',
  'activation',
  'pool',
  'optimizer',
  'momentum',
  'weight-decay',
  'epochs',
  'seed',
  'init',
  'schedule',
  'model',
  'loss',
  'train-limit',
  'test-limit',
  'val',
  'subset',
  'augment',
  'normalize',
] as const;

export const sweepHelp = `convts sweep — train every combination of a grid of hyperparameters

Usage: convts sweep --grid KEY=V1,V2,… [--grid …] [train options] [--jobs N] [--out DIR]

  --grid KEY=V1,V2,…     values to try for one train flag; repeat for more flags
                         (KEY: ${sweepable.join(', ')})
  --jobs N               trials run at once, one process each     [the CPU count, ${os.availableParallelism()} here]
  --out DIR              sweep folder; each trial is a run directory inside it
                                                                   [runs/sweep-<time>]
  --queue redis://HOST:PORT[/DB]
                         put the trials on a Redis queue instead, for convts worker
                         processes on any number of machines; results come back here
  --results DIR          with --queue: a folder every machine mounts (NFS, …); workers
                         that see it write the trials' files there instead of into Redis
  --json                 print the trials' results as JSON on stdout
  --config FILE.json     train flags from a JSON file (flags override it)
  every other convts train flag applies to all trials (see convts train --help)

Running the same command again resumes: finished trials are skipped, trials stopped by
Ctrl-C continue from their checkpoints. With --queue, Ctrl-C asks whether to take the queued
trials off the queue (without a terminal they stay queued: the workers go on, and running the
same command again collects their results). Writes DIR/sweep.md, DIR/sweep.html (sortable, with
each trial's curves), DIR/sweep-<key>.png (test accuracy by each swept key) and DIR/sweep.json.

Example:
  convts sweep --dataset mnist --data-dir ../shared/datasets --train-limit 2000 --epochs 3 \\
    --grid lr=0.01,0.1,0.9 --grid filters=4,8,16 --out runs/sweep-mnist
`;

const options = {
  ...trainOptions,
  grid: { type: 'string', multiple: true },
  jobs: { type: 'string' },
  queue: { type: 'string' },
  results: { type: 'string' },
} as const;

export interface Trial {
  name: string;
  params: Record<string, string>;
  dir: string;
  /** The resolved train config, to tell a finished trial of this sweep from one of another. */
  config: TrainConfig;
}

/** `convts sweep`: returns the process exit code. */
export async function sweepCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, options, sweepHelp, 'sweep');
  if (!parsed) return 0;
  const { values: flags, positionals } = parsed;
  if (positionals.length)
    throw new UsageError(`sweep takes no arguments, got "${positionals[0]}" — give the grid as --grid lr=0.01,0.1`);
  if (flags.resume !== undefined)
    throw new UsageError('sweep: --resume is per run — to resume a sweep, run the same sweep command again');
  const { grid: gridArgs, jobs: jobsArg, queue, results: sharedDir, out: outArg, json, config, ...rest } = flags;
  if (sharedDir !== undefined && queue === undefined)
    throw new UsageError(
      'sweep: --results DIR is where workers on other machines write results — give it with --queue',
    );
  const file = config === undefined ? {} : readConfigFile(config, trainOptions, 'train');
  const { out: _o, json: _j, ...base }: TrainFlags = { ...file, ...rest };
  const grid = parseGrid(gridArgs ?? []);
  const keys = grid.map(([k]) => k);
  const out =
    outArg ??
    (file.out as string | undefined) ??
    join('runs', `sweep-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const jobs = num('jobs', jobsArg, os.availableParallelism(), { int: true, min: 1 });
  const trials = combinations(grid).map((params): Trial => {
    // Check every trial's flags now, so a bad value fails before anything runs.
    const trialConfig = resolveLayers([
      { source: config ?? '', flags: file },
      { source: '', flags: rest },
      {
        source: `--grid ${Object.entries(params)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
        flags: params,
      },
    ]);
    const name = Object.entries(params)
      .map(([k, v]) => `${k}-${v}`)
      .join('_')
      .replace(/[^\w.,=-]/g, '_');
    return { name, params, dir: join(out, name), config: trialConfig };
  });
  writeJsonAtomic(join(out, 'sweep.json'), { grid: Object.fromEntries(grid), base, trials: trials.map((t) => t.name) });

  const log = (s: string) => process.stderr.write(`${s}\n`);
  const results = new Map<string, TrialResult>();
  const todo: Trial[] = [];
  for (const t of trials) {
    const r = finished(t);
    if (r) results.set(t.name, r);
    else todo.push(t);
  }
  log(
    `sweep: ${trials.length} trials of ${keys.join(' × ')} → ${out}` +
      (results.size ? ` (${results.size} already done, skipped)` : '') +
      (queue === undefined
        ? `, ${Math.min(jobs, todo.length)} at a time`
        : `, through the queue at ${redactUrl(queue)}`),
  );
  const stopped =
    queue === undefined
      ? await runLocally(todo, base, results, trials.length, jobs, log)
      : !(await sweepOnQueue({
          url: queue,
          out,
          trials,
          todo,
          results,
          offline: Boolean(base.offline),
          sharedDir,
          log,
        }));

  const all = trials.flatMap((t) => results.get(t.name) ?? []);
  writeSweepReport(out, all, keys);
  if (json) process.stdout.write(`${JSON.stringify(rankTrials(all).map(({ perEpoch: _, ...r }) => r))}\n`);
  const best = rankTrials(all)[0];
  if (stopped) {
    log(
      `sweep: stopped; ${all.filter((r) => r.status === 'completed').length}/${trials.length} trials done — run the same command again to continue`,
    );
    return 130;
  }
  log(
    `sweep: best ${best?.name} at ${best?.testAccuracy == null ? '—' : `${(100 * best.testAccuracy).toFixed(2)}%`} — wrote ${join(out, 'sweep.md')} and ${join(out, 'sweep.html')}`,
  );
  return all.some((r) => r.status === 'failed') ? 1 : 0;
}

/** Runs the trials here, `jobs` child processes at a time; returns true when stopped by Ctrl-C. */
async function runLocally(
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

/** --grid lr=0.01,0.1 → ['lr', ['0.01', '0.1']], checking the key and that values are given once. */
function parseGrid(args: string[]): [string, string[]][] {
  if (!args.length)
    throw new UsageError(
      'sweep: give at least one --grid KEY=V1,V2 (e.g. --grid lr=0.01,0.1,0.9) — see convts sweep --help',
    );
  const grid = args.map((a): [string, string[]] => {
    const m = /^([\w-]+)=(.+)$/.exec(a);
    if (!m) throw new UsageError(`--grid: expected KEY=V1,V2,… (e.g. lr=0.01,0.1), got "${a}"`);
    if (!(sweepable as readonly string[]).includes(m[1]))
      throw new UsageError(`--grid: "${m[1]}" cannot be swept — use one of ${sweepable.join(', ')}`);
    const values = m[2].split(',').map((v) => v.trim());
    if (values.some((v) => !v) || new Set(values).size !== values.length)
      throw new UsageError(`--grid ${a}: give each value once, with no empty ones`);
    return [m[1], values];
  });
  const dup = grid.find(([k], i) => grid.findIndex(([k2]) => k2 === k) !== i);
  if (dup) throw new UsageError(`--grid: "${dup[0]}" is given twice — list all its values in one --grid ${dup[0]}=…`);
  return grid;
}

/** Every combination of the grid's values, the first key varying slowest. */
function combinations(grid: [string, string[]][]): Record<string, string>[] {
  return grid.reduce<Record<string, string>[]>(
    (acc, [k, vs]) => acc.flatMap((p) => vs.map((v) => ({ ...p, [k]: v }))),
    [{}],
  );
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

/** sweep.md, sweep.html and one sweep-<key>.png per swept key. */
function writeSweepReport(out: string, trials: TrialResult[], keys: string[]): void {
  const plots = keys.map((key) => {
    const cv = accuracyByParam(trials, key, keys);
    const png = cv.png();
    writeFileAtomic(join(out, `sweep-${key}.png`), png);
    return { key, png, width: cv.width, height: cv.height };
  });
  writeFileAtomic(join(out, 'sweep.md'), sweepMarkdown(trials, keys));
  writeFileAtomic(join(out, 'sweep.html'), sweepPage(`convts sweep: ${keys.join(' × ')}`, trials, keys, plots));
}
