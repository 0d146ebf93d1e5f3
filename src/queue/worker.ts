import { rmSync } from 'node:fs';
import os from 'node:os';
import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type QueueTarget, queueName } from './connection.js';
import { JobRefused, type TrialJob, validateJob } from './job.js';
import { findShared, packRun, sharedResultName, storeResult, storeShared, type TrialReturn } from './results.js';

/**
 * How BullMQ tells a dead worker from a busy one. A worker renews the lock on each trial it runs
 * every lockDuration/2; when a machine dies, the lock runs out and the next stalled check (every
 * stalledInterval, run by any live worker) puts the trial back in the queue. Production values:
 * 30 s and 30 s (BullMQ's defaults; a lost trial restarts within about a minute). The tests set
 * CONVTS_QUEUE_LOCK_MS and CONVTS_QUEUE_STALLED_MS to a few seconds.
 */
export function lockTimings(env: NodeJS.ProcessEnv = process.env) {
  const ms = (v: string | undefined, d: number) => (v && Number(v) >= 500 ? Number(v) : d);
  return {
    lockDuration: ms(env.CONVTS_QUEUE_LOCK_MS, 30_000),
    stalledInterval: ms(env.CONVTS_QUEUE_STALLED_MS, 30_000),
    // A trial may lose its machine twice and still run; the third loss fails it.
    maxStalledCount: 2,
  };
}

/** What a trial's run gives back: its run directory, or why it failed and whether another attempt could help. */
export type TrialOutcome = { dir: string } | { error: string; retry: boolean };

export interface TrialContext {
  id: string;
  attempt: number;
  worker: string;
  /** Reported to the sweep owner (e.g. the epoch). */
  progress: (p: Record<string, unknown>) => void;
}

export interface WorkerHandle {
  name: string;
  /** Stops taking trials; resolves when the running ones have ended. */
  close(): Promise<void>;
  /** Puts a running trial back in the queue (its run was stopped here). */
  requeue(id: string): Promise<void>;
}

/**
 * Takes trials from the queue, `concurrency` at a time, and runs each with `run` (which must
 * not throw for a trial's own failure: it returns the error). A finished trial's files go to the
 * sweep's shared results folder when the owner named one and it is mounted here (at the owner's
 * path, or at `sharedDir`), else to Redis; a job that fails validation is refused without a retry.
 */
export async function startWorker(
  target: QueueTarget,
  concurrency: number,
  run: (job: TrialJob, ctx: TrialContext) => Promise<TrialOutcome>,
  log: (line: string) => void,
  sharedDir?: string,
): Promise<WorkerHandle> {
  const name = `${os.hostname()}#${process.pid}`;
  const results = new Redis({ ...target.options, maxRetriesPerRequest: null });
  const noShare = new Set<string>();
  // The trial's files into the shared folder; null (said once per sweep) when it is not reachable here.
  const toShared = (trial: TrialJob, id: string, token: string, files: Map<string, Buffer>): string | null => {
    if (trial.shared === undefined) return null;
    const base = sharedDir ?? trial.shared;
    const folder = findShared(base, trial.sweep);
    let why = `${base} does not hold this sweep's results folder (${trial.sweep}) here — give convts worker --results where this machine mounts the owner's ${trial.shared}`;
    if (folder) {
      const dir = sharedResultName(id, token);
      try {
        storeShared(folder, dir, files);
        return dir;
      } catch (e) {
        why = `cannot write to ${folder}: ${(e as Error).message}`;
      }
    }
    if (!noShare.has(trial.sweep)) log(`results of sweep ${trial.sweep} go through Redis: ${why}`);
    noShare.add(trial.sweep);
    return null;
  };
  const requeued = new Set<string>();
  const tokens = new Map<string, { job: Job; token: string }>();
  const processor = async (job: Job, token?: string): Promise<TrialReturn> => {
    const id = job.id!;
    let trial: TrialJob;
    try {
      trial = validateJob(job.data, id);
    } catch (e) {
      if (!(e instanceof JobRefused)) throw e;
      log(`refused ${e.message}`);
      throw new UnrecoverableError(`refused by ${name}: ${e.message}`);
    }
    tokens.set(id, { job, token: token! });
    try {
      const attempt = job.attemptsMade + 1;
      const outcome = await run(trial, {
        id,
        attempt,
        worker: name,
        progress: (p) => void job.updateProgress({ worker: name, ...p }).catch(() => {}),
      });
      if (requeued.has(id)) throw new WaitingError();
      if ('error' in outcome) {
        const why = `${outcome.error} (on ${name}, attempt ${attempt} of ${job.opts.attempts ?? 1})`;
        throw outcome.retry ? new Error(why) : new UnrecoverableError(why);
      }
      const files = packRun(outcome.dir);
      const about = {
        worker: name,
        files: [...files.keys()],
        bytes: [...files.values()].reduce((s, b) => s + b.length, 0),
      };
      // The lock token in the name: a worker that lost its lock writes beside, not over, the winner's result.
      const shared = toShared(trial, id, token!, files);
      const key = `convts:result:${id}:${token}`;
      if (shared === null) await storeResult(results, key, files);
      rmSync(outcome.dir, { recursive: true, force: true });
      return shared === null ? { key, ...about } : { shared, ...about };
    } finally {
      tokens.delete(id);
    }
  };
  const worker = new Worker(queueName, processor, {
    connection: { ...target.options, maxRetriesPerRequest: null },
    concurrency,
    name,
    ...lockTimings(),
  });
  worker.on('error', (e) => log(`Redis: ${e.message}`));
  await worker.waitUntilReady();
  return {
    name,
    close: async () => {
      await worker.close();
      results.disconnect();
    },
    requeue: async (id) => {
      const t = tokens.get(id);
      if (!t) return;
      requeued.add(id);
      await t.job.moveToWait(t.token).catch(() => {});
    },
  };
}
