import { createHash } from 'node:crypto';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../errors.js';
import { writeJsonAtomic } from '../files/atomic.js';
import { checkRedis, parseQueueUrl } from '../queue/connection.js';
import { dataIdentity } from '../queue/data-identity.js';
import { JobRefused, settingsVersion, type TrialJob, validateJob } from '../queue/job.js';
import { runOnQueue } from '../queue/owner.js';
import { writeRunDir } from '../queue/results.js';
import type { TrialResult } from '../report/sweep.js';
import { configFile, readRunConfig } from '../run/index.js';
import { downloadReporter } from './download.js';
import { finished, resultLine, type Trial } from './sweep-trials.js';

/**
 * A sweep's open trials through a Redis queue: each becomes a job for `convts worker`, and each
 * result comes back into the trial's run directory, so the rest of the sweep (report, resume)
 * is the local one's. Returns false when stopped by Ctrl-C before every trial ended.
 */
export async function sweepOnQueue(
  url: string,
  out: string,
  todo: Trial[],
  results: Map<string, TrialResult>,
  total: number,
  offline: boolean,
  log: (s: string) => void,
): Promise<boolean> {
  const target = parseQueueUrl(url);
  if (!todo.length) return true;
  const c = todo[0].config;
  if (c.features !== null || !['mnist', 'fashion-mnist', 'cifar-10'].includes(c.dataset))
    throw new UsageError(
      '--queue: workers check their own copy of a named data set (mnist, fashion-mnist, cifar-10) — --features files and folder: data sets cannot be sent yet; run this sweep without --queue',
    );
  const download = offline || process.env.CONVTS_OFFLINE === '1' ? false : downloadReporter();
  const data = await dataIdentity(c.dataset, c.dataDir, c.val === null, download);
  await checkRedis(target);

  // One sweep = this machine's output folder: the same command run again finds its jobs.
  const sweep = createHash('sha256')
    .update(`${os.hostname()}\n${resolve(out)}`)
    .digest('hex')
    .slice(0, 12);
  const jobs = todo.map((t) => {
    const j: TrialJob = {
      version: settingsVersion,
      sweep,
      trial: t.name,
      params: t.params,
      config: { ...t.config },
      data,
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
    return await runOnQueue(
      target,
      jobs,
      {
        collected(name, files, worker) {
          const t = byName.get(name)!;
          writeRunDir(t.dir, files);
          // The worker trained from its own copy of the data (same checksums); this machine's is this one.
          writeJsonAtomic(join(t.dir, configFile), { ...readRunConfig(t.dir), dataDir: t.config.dataDir });
          const r = finished(t);
          record(
            r ?? failedResult(t, `the worker's result has no finished summary.json (${[...files.keys()].join(', ')})`),
            worker,
          );
        },
        failed: (name, error) => record(failedResult(byName.get(name)!, error)),
        log,
        cancelQueued: (queued) => askCancel(queued, log),
      },
      stop.signal,
      Boolean(process.stderr.isTTY),
    );
  } finally {
    process.off('SIGINT', onSigint);
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
async function askCancel(queued: number, log: (s: string) => void): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    log(`sweep: no terminal to ask whether to take the ${queued} queued trial(s) off the queue: they stay`);
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const a = await rl.question(
      `\nTake the ${queued} queued trial(s) off the queue? Running ones finish either way, and running this command again collects them. [y/N] `,
    );
    return /^y(es)?$/i.test(a.trim());
  } finally {
    rl.close();
  }
}
