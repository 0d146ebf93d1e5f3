import { type ChildProcess, fork } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveDataDir } from '../data/index.js';
import { UsageError } from '../errors.js';
import { checkRedis, parseQueueUrl, queueName } from '../queue/connection.js';
import { checkSameData, dataIdentity } from '../queue/data-identity.js';
import type { TrialJob } from '../queue/job.js';
import { startWorker, type TrialContext, type TrialOutcome } from '../queue/worker.js';
import { readRunSummary, summaryFile } from '../run/index.js';
import { num, parseCommand } from './args.js';
import { downloadReporter } from './download.js';
import type { TrialMessage } from './trial-process.js';

export const workerHelp = `convts worker — run the trials of sweeps started with convts sweep --queue

Usage: convts worker --queue redis://HOST:PORT[/DB] [--jobs N] [--data-dir DIR] [--results DIR]

  --queue URL            the Redis server (and database) the sweep owner gave --queue;
                         redis://:PASSWORD@HOST:PORT/DB when it needs a password
  --jobs N               trials run at once, one process each           [1]
  --data-dir DIR         where this machine keeps its data sets (as convts train)
                         [$CONVTS_DATA_DIR, else ~/.cache/convts:/usr/share/datasets]
  --results DIR          where this machine mounts the shared folder a sweep gave --results,
                         when it is not at the same path as on the sweep's machine
  --offline              do not download a missing data set (also CONVTS_OFFLINE=1)

Each trial is trained exactly as convts train would, from the settings in the job (data
only: never a command line). Before training, the worker checks that its copy of the data
set has the checksums the trial names, downloading a missing set first. The finished run
directory goes back to the sweep's owner through Redis, or through the sweep's shared
results folder (sweep --results) when this machine sees it. Ctrl-C stops taking trials and lets
the running ones finish; a second Ctrl-C stops them and puts them back on the queue.

Example:
  convts worker --queue redis://10.0.0.5:6379 --jobs 2 --data-dir /data/convts
`;

const options = {
  queue: { type: 'string' },
  jobs: { type: 'string' },
  'data-dir': { type: 'string' },
  results: { type: 'string' },
  offline: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `convts worker`: returns the process exit code. */
export async function workerCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, options, workerHelp, 'worker');
  if (!parsed) return 0;
  const { values: flags, positionals } = parsed;
  if (positionals.length) throw new UsageError(`worker takes no arguments, got "${positionals[0]}"`);
  if (flags.queue === undefined)
    throw new UsageError('worker: give --queue redis://HOST:PORT, the one the sweep was started with');
  const target = parseQueueUrl(flags.queue);
  const jobs = num('jobs', flags.jobs, 1, { int: true, min: 1 });
  const dataDir = resolveDataDir(flags['data-dir']);
  const offline = Boolean(flags.offline) || process.env.CONVTS_OFFLINE === '1';
  await checkRedis(target);

  const log = (s: string) => process.stderr.write(`${s}\n`);
  const shared = flags.results === undefined ? undefined : resolve(flags.results);
  if (shared !== undefined && !existsSync(shared))
    throw new UsageError(
      `worker: --results ${shared} does not exist — give the folder where this machine mounts the shared results folder`,
    );
  removeStaleScratch(os.tmpdir());
  const scratch = mkdtempSync(join(os.tmpdir(), `${scratchPrefix}${process.pid}-`));
  // However the process ends short of SIGKILL (an error, a signal handled below), the folder goes.
  const removeScratch = () => rmSync(scratch, { recursive: true, force: true });
  process.on('exit', removeScratch);
  const children = new Map<string, ChildProcess>();
  const run = (job: TrialJob, ctx: TrialContext) =>
    runTrial(job, ctx, { dataDir, offline, scratch, jobs, children, log });
  const worker = await startWorker(target, jobs, run, log, shared);
  log(
    `worker ${worker.name}: taking trials from ${target.shown} (queue ${queueName}), ${jobs} at a time, data from ${dataDir}`,
  );

  let stops = 0;
  return new Promise((done) => {
    let code = 130;
    // SIGTERM (a service manager, a container stopping): as two Ctrl-Cs, the trials back on the queue.
    const onSigterm = () => {
      code = 143;
      if (stops === 0) onSigint();
      onSigint();
    };
    const onSigint = () => {
      if (++stops === 1) {
        log(
          `worker: no new trials; waiting for ${children.size} running one(s) (Ctrl-C again puts them back on the queue)`,
        );
        void worker.close().then(finish);
        return;
      }
      log('worker: stopping the running trials and putting them back on the queue');
      for (const [id, child] of children) {
        void worker.requeue(id);
        child.kill('SIGKILL');
      }
    };
    const finish = () => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      removeScratch();
      done(code);
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
  });
}

const scratchPrefix = 'convts-worker-';

/**
 * Removes the scratch folders (`convts-worker-PID-…` in `dir`) of workers that no longer run: a
 * worker killed with SIGKILL cannot remove its own, so the next one started on the machine does.
 */
export function removeStaleScratch(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = Number(new RegExp(`^${scratchPrefix}(\\d+)-`).exec(name)?.[1]);
    if (!pid || pid === process.pid || isRunning(pid)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One trial: checks the data, trains in a child process (its progress reported to the owner),
 * and returns the run directory or why it failed.
 */
async function runTrial(
  job: TrialJob,
  ctx: TrialContext,
  w: {
    dataDir: string;
    offline: boolean;
    scratch: string;
    jobs: number;
    children: Map<string, ChildProcess>;
    log: (s: string) => void;
  },
): Promise<TrialOutcome> {
  const say = (s: string) => w.log(`[${job.trial}] ${s}`);
  say(`started (sweep ${job.sweep}, attempt ${ctx.attempt})`);
  ctx.progress({ epoch: 0, epochs: job.config.epochs });
  try {
    const have = await dataIdentity(
      job.data.dataset,
      w.dataDir,
      job.config.val === null,
      w.offline ? false : downloadReporter(),
    );
    checkSameData(job.data, have, w.dataDir);
  } catch (e) {
    say(`failed: ${(e as Error).message}`);
    return { error: (e as Error).message, retry: true };
  }
  const out = join(w.scratch, ctx.id.replace(/[^\w.,=-]/g, '_'));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const logFile = createWriteStream(join(out, 'train.log'));
  const threads = process.env.CONVTS_THREADS ?? String(Math.max(1, Math.floor(os.availableParallelism() / w.jobs)));
  const child = fork(fileURLToPath(new URL('./trial-process.js', import.meta.url)), [], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, CONVTS_THREADS: threads },
  });
  w.children.set(ctx.id, child);
  let last = '';
  child.stderr!.on('data', (b: Buffer) => {
    logFile.write(b);
    for (const l of b
      .toString()
      .split('\n')
      .filter((x) => x.trim())) {
      last = l.replace(/^convts: /, '');
      const m = /^epoch (\d+)\/(\d+)/.exec(l);
      if (m) {
        ctx.progress({ epoch: Number(m[1]), epochs: Number(m[2]) });
        say(l);
      }
    }
  });
  const msg: TrialMessage = {
    config: { ...(job.config as unknown as TrialMessage['config']), dataDir: w.dataDir },
    out,
    offline: w.offline,
  };
  child.send(msg);
  const code = await new Promise<number | string>((r) => child.on('close', (c, s) => r(c ?? s ?? 'unknown')));
  w.children.delete(ctx.id);
  await new Promise((r) => logFile.end(r));
  const status = existsSync(join(out, summaryFile)) ? readRunSummary(out).status : null;
  if (status === 'completed' || status === 'diverged') {
    say(`${status}${status === 'diverged' ? `: ${last}` : ''} — sending the results`);
    return { dir: out };
  }
  say(`failed (exit ${code}): ${last}`);
  rmSync(out, { recursive: true, force: true });
  // A usage error (exit 2) is in the settings: it would fail the same way anywhere.
  return { error: `${last} (exit code ${code})`, retry: code !== 2 };
}
