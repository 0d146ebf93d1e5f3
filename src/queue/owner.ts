import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { type QueueTarget, queueName } from './connection.js';
import type { TrialJob } from './job.js';
import { dropShared, fetchResult, readShared, type TrialReturn } from './results.js';
import { ProgressLine, type TrialState } from './status.js';

/**
 * How often a trial that fails by itself is tried (a second worker may lack what the first did;
 * a diverged run is a result, not a failure, and runs once). A job refused as invalid is not retried.
 */
export const trialAttempts = 2;

export interface OwnerHooks {
  /** A finished trial's files arrived: write its run directory (and report it). */
  collected(trial: string, files: Map<string, Buffer>, worker: string): void;
  failed(trial: string, error: string): void;
  log(line: string): void;
  /** After `signal` fires: whether to take the queued trials off the queue. */
  cancelQueued(queued: number): Promise<boolean>;
}

/** The job id of a trial: its sweep, name and settings, so a rerun with other settings is another job. */
export function jobId(j: Pick<TrialJob, 'sweep' | 'trial' | 'config'>): string {
  const h = createHash('sha256').update(JSON.stringify(j.config)).digest('hex').slice(0, 10);
  return `${j.sweep}.${j.trial}.${h}`;
}

/**
 * The names of the convts queue's workers connected to database `db` (Redis's client list spans
 * every database; BullMQ names a worker's connection "bull:<queue>:w:<name>").
 */
export function connectedWorkers(clients: { db?: string; rawname?: string }[], db: number): Set<string> {
  return new Set(clients.filter((c) => c.db === String(db) && c.rawname).map((c) => c.rawname!.replace(/^.*?:w:/, '')));
}

// Tests set it to hold the owner between writing a trial's folder and clearing its job, to kill it there.
const collectPauseMs = Number(process.env.CONVTS_QUEUE_COLLECT_PAUSE_MS) || 0;

/** Where a finished job's files are: its Redis hash, or its folder in the sweep's shared results folder. */
function resultStore(redis: Redis, job: Job) {
  const rv = job.returnvalue as TrialReturn;
  const data = job.data as TrialJob;
  const folder = rv.shared !== undefined && data.shared ? join(data.shared, data.sweep) : null;
  return {
    where: folder ? join(folder, rv.shared!) : 'Redis',
    take: async () => (folder ? readShared(folder, rv.shared!) : rv.key ? fetchResult(redis, rv.key) : null),
    drop: async () => {
      if (folder) dropShared(folder, rv.shared!);
      else if (rv.key) await redis.del(rv.key);
    },
  };
}

/**
 * Removes the jobs (and their results) of trials that are already complete in the sweep folder:
 * what an owner killed between writing a trial and clearing its job leaves behind. Returns how many.
 */
export async function clearFinished(target: QueueTarget, ids: string[]): Promise<number> {
  if (!ids.length) return 0;
  const queue = new Queue(queueName, { connection: { ...target.options, maxRetriesPerRequest: null } });
  const redis = new Redis({ ...target.options, maxRetriesPerRequest: null });
  try {
    let cleared = 0;
    for (const id of ids) {
      const job = await queue.getJob(id);
      const state = job ? await job.getState() : 'missing';
      if (!job || state === 'missing' || state === 'unknown' || state === 'active') continue;
      if (state === 'completed' && job.returnvalue) await resultStore(redis, job).drop();
      await job.remove();
      cleared++;
    }
    return cleared;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/**
 * Puts each trial on the queue (or finds it there from an earlier run of the same sweep), shows
 * a live progress line, and hands each result to `hooks` as it arrives. Returns false when
 * stopped by `signal` before every trial ended.
 */
export async function runOnQueue(
  target: QueueTarget,
  jobs: TrialJob[],
  hooks: OwnerHooks,
  signal: AbortSignal,
  isTTY: boolean,
): Promise<boolean> {
  const connection = { ...target.options, maxRetriesPerRequest: null };
  const queue = new Queue(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  const redis = new Redis(connection);
  queue.on('error', (e) => hooks.log(`Redis: ${e.message}`));
  events.on('error', (e) => hooks.log(`Redis: ${e.message}`));
  const byId = new Map(jobs.map((j) => [jobId(j), j]));
  const states = new Map<string, TrialState>();
  const line = new ProgressLine(isTTY, (s) => process.stderr.write(s));
  const busy = new Set<string>();
  let workers: Set<string> | null = null;
  const show = () => line.show(states, workers);
  const log = (s: string) => {
    line.print(s, hooks.log);
    show();
  };
  const set = (id: string, s: TrialState) => {
    if (!byId.has(id) || states.get(id)?.kind === 'done') return;
    states.set(id, s);
    show();
  };
  const add = (j: TrialJob) =>
    queue.add(j.trial, j, {
      jobId: jobId(j),
      attempts: trialAttempts,
      backoff: { type: 'fixed', delay: 1000 },
      removeOnComplete: false,
      removeOnFail: false,
    });

  // Acts on a job's state in Redis: collects a result, records a failure, re-adds a lost job.
  const settle = async (id: string, job?: Job) => {
    if (!byId.has(id) || busy.has(id) || states.get(id)?.kind === 'done') return;
    busy.add(id);
    try {
      const j = byId.get(id)!;
      job ??= await queue.getJob(id);
      const state = job ? await job.getState() : 'missing';
      // The job was read before it finished: read it again for its return value.
      if (state === 'completed' && !job!.returnvalue) job = await queue.getJob(id);
      if (state === 'completed' && job?.returnvalue) {
        const rv = job.returnvalue as TrialReturn;
        const store = resultStore(redis, job);
        const files = await store.take();
        if (!files) {
          log(`${j.trial}: its result is gone from ${store.where} (expired or removed) — running it again`);
          await job.remove();
          await add(j);
          return set(id, { kind: 'queued' });
        }
        line.clear();
        hooks.collected(j.trial, files, rv.worker);
        // The trial's folder is complete here: its job and result go (a rerun clears them if this stops first).
        if (collectPauseMs) await new Promise((r) => setTimeout(r, collectPauseMs));
        await store.drop();
        await job.remove();
        set(id, { kind: 'done' });
      } else if (state === 'failed') {
        line.clear();
        hooks.failed(j.trial, job!.failedReason);
        await job!.remove();
        set(id, { kind: 'done', failed: true });
      } else if (state === 'missing' || state === 'unknown') {
        await add(j);
        set(id, { kind: 'queued' });
      } else if (state !== 'active') set(id, { kind: 'queued' });
      else if (states.get(id)?.kind !== 'running') set(id, { kind: 'running', worker: '?' });
    } finally {
      busy.delete(id);
    }
  };

  events.on('active', ({ jobId: id }) => set(id, { kind: 'running', worker: '?' }));
  events.on('progress', ({ jobId: id, data }) => {
    const p = data as { worker?: string; epoch?: number; epochs?: number };
    set(id, { kind: 'running', worker: String(p.worker ?? '?'), epoch: p.epoch, epochs: p.epochs });
  });
  const queued = ({ jobId: id }: { jobId: string }) => set(id, { kind: 'queued' });
  events.on('waiting', queued);
  events.on('stalled', queued);
  events.on('delayed', queued);
  const ended = ({ jobId: id }: { jobId: string }) => void settle(id).catch(fail);
  events.on('completed', ended);
  events.on('failed', ended);
  let problem: Error | null = null;
  const fail = (e: Error) => {
    problem ??= e;
  };

  try {
    await events.waitUntilReady();
    const previous = await Promise.all([...byId.keys()].map((id) => queue.getJob(id)));
    const resumed = previous.filter(Boolean).length;
    if (resumed)
      log(`${resumed} of these trials are on the queue already (an earlier run of this sweep): picking them up`);
    await Promise.all([...byId.keys()].map((id, i) => settle(id, previous[i])));
    // Events say what changed; a slow sweep of every open trial catches anything a dropped connection lost.
    let next = 0;
    while (!signal.aborted && [...states.values()].some((s) => s.kind !== 'done')) {
      if (problem) throw problem;
      if (Date.now() >= next) {
        workers = connectedWorkers(await queue.getWorkers(), target.options.db ?? 0);
        show();
        const open = [...byId.keys()].filter((id) => states.get(id)?.kind !== 'done');
        await Promise.all(open.map((id) => settle(id)));
        next = Date.now() + 3000;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (problem) throw problem;
    line.clear();
    if (!signal.aborted) return true;
    while (busy.size) await new Promise((r) => setTimeout(r, 50)); // a result being written lands first
    const open = [...states].filter(([, s]) => s.kind !== 'done');
    const waiting = open.filter(([, s]) => s.kind === 'queued').map(([id]) => id);
    let removed = 0;
    if (waiting.length && (await hooks.cancelQueued(waiting.length)))
      for (const id of waiting) removed += await queue.remove(id).catch(() => 0);
    hooks.log(
      `sweep: ${removed ? `took ${removed} queued trial(s) off the queue; ` : ''}${open.length - removed} unfinished trial(s) stay on the queue — the workers go on, and running the same command again collects their results`,
    );
    return false;
  } finally {
    line.clear();
    await Promise.allSettled([events.close(), queue.close()]);
    redis.disconnect();
  }
}
