import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { ConvtsError, UsageError } from '../errors.js';
import { checkRedis, parseQueueUrl } from '../queue/connection.js';
import { dataIdentity } from '../queue/data-identity.js';
import { JobRefused, settingsVersion, type TrialJob, validateJob } from '../queue/job.js';
import { clearFinished, jobId, runOnQueue } from '../queue/owner.js';
import { prepareShared, writeRunDir } from '../queue/results.js';
import type { TrialResult } from '../report/sweep.js';
import { configFile } from '../run/index.js';
import { downloadReporter } from './download.js';
import { finished, resultLine, type Trial } from './sweep-trials.js';

/** What sweepOnQueue needs of the sweep. */
export interface QueueSweep {
  /** --queue's URL. */
  url: string;
  out: string;
  /** Every trial of the grid, and those still to run. */
  trials: Trial[];
  todo: Trial[];
  /** The trials' results so far (finished ones); filled as results arrive. */
  results: Map<string, TrialResult>;
  offline: boolean;
  /** --results: a folder every machine mounts, for the trials' files instead of Redis. */
  sharedDir?: string;
  log: (s: string) => void;
}

/** One sweep = this machine's output folder: the same command run again finds its jobs. */
export function sweepId(out: string): string {
  return createHash('sha256')
    .update(`${os.hostname()}\n${resolve(out)}`)
    .digest('hex')
    .slice(0, 12);
}

/**
 * A sweep's open trials through a Redis queue: each becomes a job for `convts worker`, and each
 * result comes back into the trial's run directory, so the rest of the sweep (report, resume)
 * is the local one's. Returns false when stopped by Ctrl-C before every trial ended.
 */
export async function sweepOnQueue(s: QueueSweep): Promise<boolean> {
  const { out, todo, results, log } = s;
  const target = parseQueueUrl(s.url);
  const sweep = sweepId(out);
  const shared = s.sharedDir === undefined ? undefined : resolve(s.sharedDir);
  if (shared !== undefined && !existsSync(shared))
    throw new UsageError(`--results ${shared} does not exist — give a folder that every machine mounts`);
  // Jobs of trials already complete here are leftovers of an owner stopped while collecting.
  const leftovers = s.trials
    .filter((t) => results.has(t.name))
    .map((t) => jobId({ sweep, trial: t.name, config: JSON.parse(JSON.stringify(t.config)) }));
  const clear = async () => {
    const n = await clearFinished(target, leftovers);
    if (n) log(`sweep: cleared ${n} job(s) left on the queue by an earlier run for trials already complete here`);
  };
  const dropShared = () => shared !== undefined && rmSync(join(shared, sweep), { recursive: true, force: true });
  if (!todo.length) {
    try {
      await checkRedis(target);
      await clear();
      dropShared();
    } catch (e) {
      if (!(e instanceof ConvtsError)) throw e;
      log(`sweep: every trial is done; could not look for leftovers on the queue: ${e.message}`);
    }
    return true;
  }
  const c = todo[0].config;
  if (c.features !== null || !['mnist', 'fashion-mnist', 'cifar-10'].includes(c.dataset))
    throw new UsageError(
      '--queue: workers check their own copy of a named data set (mnist, fashion-mnist, cifar-10) — --features files and folder: data sets cannot be sent yet; run this sweep without --queue',
    );
  const download = s.offline || process.env.CONVTS_OFFLINE === '1' ? false : downloadReporter();
  const data = await dataIdentity(c.dataset, c.dataDir, c.val === null, download);
  await checkRedis(target);
  await clear();
  if (shared !== undefined) {
    prepareShared(shared, sweep, { host: os.hostname(), out: resolve(out) });
    log(`sweep: workers that mount ${shared} write the trials' files there (the others send them through Redis)`);
  }

  const jobs = todo.map((t) => {
    const j: TrialJob = {
      version: settingsVersion,
      sweep,
      trial: t.name,
      params: t.params,
      config: { ...t.config },
      data,
      ...(shared === undefined ? {} : { shared }),
    };
    try {
      return validateJob(JSON.parse(JSON.stringify(j)), t.name);
    } catch (e) {
      if (e instanceof JobRefused) throw new UsageError(`--queue: ${e.message}`);
      throw e;
    }
  });
  const byName = new Map(todo.map((t) => [t.name, t]));
  let done = results.size;
  const total = s.trials.length;
  const record = (r: TrialResult, worker?: string) => {
    results.set(r.name, r);
    log(`${resultLine(++done, total, r)}${worker ? ` on ${worker}` : ''}`);
  };

  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const complete = await runOnQueue(
      target,
      jobs,
      {
        collected(name, files, worker) {
          const t = byName.get(name)!;
          // The worker trained from its own copy of the data (same checksums); this machine's is this one.
          withDataDir(files, t.config.dataDir);
          writeRunDir(t.dir, files);
          let r: TrialResult | null = null;
          let why = `the worker's result has no finished summary.json (${[...files.keys()].join(', ')})`;
          try {
            r = finished(t);
          } catch (e) {
            why = `the worker's result does not read back: ${(e as Error).message}`;
          }
          record(r ?? failedResult(t, why), worker);
        },
        failed: (name, error) => record(failedResult(byName.get(name)!, error)),
        log,
        cancelQueued: (queued) => askCancel(queued, log),
      },
      stop.signal,
      Boolean(process.stderr.isTTY),
    );
    if (complete) dropShared();
    return complete;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Sets config.json's dataDir among a received run's files (before they are written: no half-updated trial). */
function withDataDir(files: Map<string, Buffer>, dataDir: string): void {
  const raw = files.get(configFile);
  if (!raw) return;
  try {
    files.set(
      configFile,
      Buffer.from(`${JSON.stringify({ ...JSON.parse(raw.toString('utf8')), dataDir }, null, 2)}\n`),
    );
  } catch {
    // A config.json that does not parse is reported when the trial is read back.
  }
}

function failedResult(t: Trial, error: string): TrialResult {
  return {
    name: t.name,
    params: t.params,
    status: 'failed',
    testAccuracy: null,
    testLoss: null,
    trainAccuracy: null,
    seconds: null,
    perEpoch: [],
    error,
  };
}

/** On a terminal, asks; elsewhere the queued trials stay (the workers go on; a rerun collects them). */
export async function askCancel(
  queued: number,
  log: (s: string) => void,
  input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
  output: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
): Promise<boolean> {
  if (!input.isTTY || !output.isTTY) {
    log(`sweep: no terminal to ask whether to take the ${queued} queued trial(s) off the queue: they stay`);
    return false;
  }
  const rl = createInterface({ input, output });
  try {
    const a = await rl.question(
      `\nTake the ${queued} queued trial(s) off the queue? Running ones finish either way, and running this command again collects them. [y/N] `,
    );
    return /^y(es)?$/i.test(a.trim());
  } finally {
    rl.close();
  }
}
