/** `convts sweep`: the flags, the trials of a grid, run here or on a queue, and the sweep report. */
import os from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../files/atomic.js';
import { lockDir } from '../files/lock.js';
import { redactUrl } from '../queue/connection.js';
import { accuracyByParam, rankTrials, sweepMarkdown, sweepPage, type TrialResult } from '../report/sweep.js';
import { num, parseCommand, readConfigFile } from './args.js';
import { combinations, parseGrid, sweepable } from './sweep-grid.js';
import { finished, runLocally, type Trial } from './sweep-trials.js';
import { type TrainFlags, trainOptions } from './train-flags.js';
import { resolveLayers } from './train-settings.js';

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
  // One sweep per folder: a second sweep (or a train) writing it is refused with this one's pid.
  lockDir(out);
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
      : !(await (
          await import('./sweep-queue.js')
        ).sweepOnQueue({
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
  const wrote = `wrote ${join(out, 'sweep.md')} and ${join(out, 'sweep.html')}`;
  log(
    best?.testAccuracy == null
      ? `sweep: no trial has a test accuracy — ${wrote}`
      : `sweep: best ${best.name} at ${(100 * best.testAccuracy).toFixed(2)}% — ${wrote}`,
  );
  const failed = all.filter((r) => r.status === 'failed');
  if (!failed.length) return 0;
  // The failure, on one line of its own like every other command's (each trial's line is above).
  log(`convts: sweep: ${failed.length} of ${trials.length} trial(s) failed — ${failed[0].name}: ${failed[0].error}`);
  return 1;
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
