import type { EpochRecord, MetricRecord, MetricsResponse, RunStatus, StepRecord } from '../../src/serve/api-types.js';
import { get, inlined } from './api.js';

// A run's metrics as the page holds them: read once, then followed by polling the file's tail
// (every second while the run is running), so a new record shows within about a second. A finished
// run is still checked now and then: training into its folder again replaces the file, the server
// says so (reset), and the page drops what it held and reads the new file.

export interface RunMetrics {
  id: string;
  steps: StepRecord[];
  epochs: EpochRecord[];
  status: RunStatus;
  damaged: string | null;
}

/** What a read brought: `reset`, the file was replaced and the records read anew; `finished`, the run stopped running. */
export interface MetricsChange {
  reset: boolean;
  finished: boolean;
}

const pollMs = 1000;
const idleMs = 3000;
interface Held {
  m: RunMetrics;
  next: number;
  lines: number;
  /** The server's description of the file read so far, handed back with each poll. */
  file: string;
  polled: boolean;
  listeners: Set<(c: MetricsChange) => void>;
  timer: number | null;
}
const held = new Map<string, Held>();

/** Starts (or joins) following a run's metrics; `onChange` runs after every read that changed them. */
export function follow(id: string, onChange: (c: MetricsChange) => void): { metrics: RunMetrics; stop: () => void } {
  let h = held.get(id);
  if (!h) {
    h = {
      m: { id, steps: [], epochs: [], status: 'running', damaged: null },
      next: 0,
      lines: 0,
      file: '',
      polled: false,
      listeners: new Set(),
      timer: null,
    };
    held.set(id, h);
    void poll(id);
  }
  h.listeners.add(onChange);
  const hh = h;
  return {
    metrics: h.m,
    stop: () => {
      hh.listeners.delete(onChange);
      // Nobody left: forget the run, so that opening it again reads it afresh.
      if (hh.listeners.size === 0 && held.get(id) === hh) {
        if (hh.timer !== null) clearTimeout(hh.timer);
        held.delete(id);
      }
    },
  };
}

async function poll(id: string): Promise<void> {
  const h = held.get(id);
  if (!h) return;
  h.timer = null;
  try {
    const r = await get<MetricsResponse>(
      '/api/metrics',
      inlined() ? { id } : { id, from: h.next, line: h.lines, ...(h.file ? { file: h.file } : {}) },
    );
    if (held.get(id) !== h) return; // stopped while asking
    if (r.reset) {
      h.m.steps.length = 0;
      h.m.epochs.length = 0;
      h.lines = 0;
    }
    add(h.m, r.records);
    h.lines += r.records.length;
    h.next = r.next;
    h.file = r.file ?? '';
    // A run that just finished often has no new records left: redraw anyway, so "training" goes.
    const changed = r.status !== h.m.status || r.damaged !== h.m.damaged;
    const finished = h.polled && h.m.status === 'running' && r.status !== 'running';
    h.m.status = r.status;
    h.m.damaged = r.damaged;
    const first = !h.polled;
    h.polled = true;
    if (r.records.length || first || changed || r.reset)
      for (const f of h.listeners) f({ reset: Boolean(r.reset), finished });
  } catch {
    // a run folder that vanished: stop following it quietly, the table will drop it
    h.m.status = 'failed';
    return;
  }
  if (held.get(id) === h && !inlined())
    h.timer = window.setTimeout(() => void poll(id), h.m.status === 'running' ? pollMs : idleMs);
}

function add(m: RunMetrics, records: MetricRecord[]): void {
  for (const r of records) {
    if (r.kind === 'step') m.steps.push(r);
    else m.epochs.push(r);
  }
}

/** Steps in an epoch: the last step of epoch 1 once it is over, or (old runs) the training set over the batch size. */
export function stepsPerEpoch(m: RunMetrics, trainSize?: number | null, batchSize?: number | null): number | null {
  const e1 = m.steps.filter((s) => s.epoch === 1);
  if (e1.length && (m.epochs.length > 0 || m.steps.some((s) => s.epoch > 1))) return e1[e1.length - 1].step;
  return trainSize && batchSize ? Math.ceil(trainSize / batchSize) : null;
}

/** TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to 0. */
export function smooth(ys: number[], weight: number): number[] {
  let last = 0;
  return ys.map((y, i) => {
    last = last * weight + (1 - weight) * y;
    return weight > 0 ? last / (1 - weight ** (i + 1)) : y;
  });
}

/**
 * Images per second of the last step record, and the seconds left at that rate: from the first
 * step record on, since the steps in an epoch follow from the training set's size.
 */
export function speed(
  m: RunMetrics,
  epochsPlanned: number | null,
  batchSize: number | null,
  trainSize?: number | null,
) {
  const last = m.steps[m.steps.length - 1];
  if (!last) return null;
  const per = stepsPerEpoch(m, trainSize, batchSize);
  const left = per && epochsPlanned && batchSize ? Math.max(0, epochsPlanned * per - last.step) : null;
  return {
    imagesPerSecond: last.imagesPerSecond,
    eta: left !== null ? (left * batchSize!) / last.imagesPerSecond : null,
  };
}
