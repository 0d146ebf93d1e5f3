import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DataFormatError } from '../errors.js';
import { probabilitiesFile, readProbabilities } from '../run/index.js';
import { type Loaded, needData } from './compute.js';
import type { ProbabilitiesMessage } from './probabilities-worker.js';

// The test images' class probabilities behind the run page's confusion-matrix cells and worst
// mistakes: handed over by training, read from the run's probabilities.safetensors, or computed
// in a worker thread, one run at a time, while the server answers everything else.

/** The test images' class probabilities and predicted classes, and what was wrong with the saved ones. */
export interface TestProbabilities {
  probs: Float32Array;
  predicted: Int32Array | null;
  note: string | null;
}

/** The probabilities are still being computed: how far, and how many runs' computations are ahead. */
export interface Pending {
  pending: { done: number; total: number; queued: number };
  note: string | null;
}

interface Job {
  files: string;
  note: string | null;
  done: number;
  total: number;
  probs?: Float32Array;
  error?: string;
}

// Computed probabilities by run directory (the newest few), and the computations queued or running.
const computed = new Map<string, TestProbabilities & { files: string }>();
const jobs = new Map<string, Job>();
let queue: Promise<void> = Promise.resolve();

function keep(dir: string, files: string, p: TestProbabilities): TestProbabilities {
  computed.delete(dir);
  computed.set(dir, { ...p, files });
  if (computed.size > 8) computed.delete(computed.keys().next().value!);
  return p;
}

const workers = new Set<Worker>();

/** Stops the computations running (a server shutting down): a worker busy for minutes would keep the process alive. */
export function stopComputations(): void {
  for (const w of workers) void w.terminate();
}

/** Runs one job in a worker thread; resolves when the worker has stopped. */
function runJob(dir: string, job: Job): Promise<void> {
  return new Promise((resolve) => {
    const w = new Worker(new URL('./probabilities-worker.js', import.meta.url), { workerData: { dir } });
    workers.add(w);
    w.unref(); // a command that writes a report and ends is not kept alive by it
    w.on('message', (m: ProbabilitiesMessage) => {
      if ('done' in m) job.done = m.done;
      else if ('probabilities' in m) job.probs = m.probabilities;
      else job.error = m.error;
    });
    w.on('error', (e) => {
      job.error ??= e.message;
    });
    w.on('exit', (code) => {
      workers.delete(w);
      if (!job.probs) job.error ??= `the computation stopped (exit code ${code})`;
      resolve();
    });
  });
}

/**
 * The run's test probabilities: handed over by training, saved in the run folder, or computed
 * here. Computing them takes a pass of the model over the test set (several with test-time
 * augmentation), seconds to minutes: it runs in a worker thread, one run at a time, and until it
 * is done the answer says how far it is, so the server keeps answering everything else.
 */
export function testProbabilities(dir: string, l: Loaded): TestProbabilities | Pending {
  if (l.probs) return { probs: l.probs, predicted: null, note: null };
  const ds = needData(l);
  const hit = computed.get(dir);
  if (hit?.files === l.files) return hit;
  const job = jobs.get(dir);
  if (job?.files === l.files) {
    if (job.error) {
      jobs.delete(dir); // asked again, it is tried again
      throw new DataFormatError(`the test images' probabilities cannot be computed: ${job.error}`);
    }
    if (job.probs) {
      jobs.delete(dir);
      if (job.probs.length !== ds.length * l.model.classes)
        throw new DataFormatError(`the computed probabilities do not fit the test set of ${ds.length} images`);
      return keep(dir, l.files, { probs: job.probs, predicted: null, note: job.note });
    }
    const ahead = [...jobs.values()].filter((j) => !j.probs && !j.error);
    return { pending: { done: job.done, total: job.total, queued: ahead.indexOf(job) }, note: job.note };
  }
  let note: string | null = null;
  try {
    const saved = readProbabilities(dir, ds.labels, l.model.classes);
    if (saved) return keep(dir, l.files, { probs: saved.probabilities, predicted: saved.predicted, note: null });
  } catch (e) {
    // named by its file: the page has no use for where the served folder lies on the disk
    note = `${(e as Error).message.replace(`${join(dir, probabilitiesFile)}:`, `${probabilitiesFile}:`)} — computed again from the model instead`;
  }
  const fresh: Job = { files: l.files, note, done: 0, total: ds.length };
  jobs.set(dir, fresh);
  queue = queue.then(() => runJob(dir, fresh));
  return { pending: { done: 0, total: ds.length, queued: jobs.size - 1 }, note };
}
