import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ConvtsError } from '../errors.js';
import { jsonObject, parseJson } from '../files/json.js';
import { configFile, metricsFile, modelFile, readMetricsTail, summaryFile, weightsFile } from '../run/index.js';
import type { EpochRecord, MetricRecord, RunRow, RunStatus, SweepRow } from './api-types.js';

/** A served folder: its name in ids (unique among the roots) and where it is. */
export interface Root {
  name: string;
  dir: string;
}

/** Names each folder by its base name, numbered when two share one. */
export function makeRoots(dirs: string[]): Root[] {
  const seen = new Map<string, number>();
  return dirs.map((d) => {
    const dir = resolve(d);
    const base = basename(dir) || 'root';
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { name: n === 1 ? base : `${base}-${n}`, dir };
  });
}

/** A run still writing metrics this recently (ms) counts as running. */
const liveMs = 30_000;
const runFiles = [configFile, summaryFile, metricsFile];

/** Every run and sweep directory under the roots: runs hold a run file, sweeps a sweep.json. */
export function findDirs(roots: Root[]): {
  runs: { id: string; dir: string }[];
  sweeps: { id: string; dir: string }[];
} {
  const runs: { id: string; dir: string }[] = [];
  const sweeps: { id: string; dir: string }[] = [];
  const walk = (dir: string, id: string, depth: number) => {
    // A run directory is recognised by its files without listing it: thousands list faster so.
    if (runFiles.some((f) => existsSync(join(dir, f)))) {
      runs.push({ id, dir });
      return;
    }
    if (existsSync(join(dir, 'sweep.json'))) sweeps.push({ id, dir });
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable: not ours to show
    }
    // Symbolic links are not followed: only what lies under a served folder is shown.
    if (depth < 8)
      for (const e of entries)
        if (e.isDirectory() && !e.name.startsWith('.')) walk(join(dir, e.name), `${id}/${e.name}`, depth + 1);
  };
  for (const r of roots) walk(r.dir, r.name, 0);
  return { runs, sweeps };
}

const epochRecords = (rs: MetricRecord[]) => rs.filter((r): r is EpochRecord => r.kind !== 'step');

// A file the listing shows: missing is no error, a damaged one is reported on its row. Read without
// asking first whether it exists: thousands of runs list faster with a system call fewer each.
function readJson(path: string): { value: Record<string, unknown> | null; error: string | null } {
  try {
    return { value: jsonObject(parseJson(readFileSync(path, 'utf8'), basename(path)), basename(path)), error: null };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { value: null, error: null };
    if (!(e instanceof ConvtsError)) return { value: null, error: `${basename(path)}: ${(e as Error).message}` };
    return { value: null, error: e.message };
  }
}

/** Checks model.safetensors' header against its size: a cut or garbled file is named here. */
export function checkSafetensors(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null; // no weights (yet): nothing to check
    return `model.safetensors: cannot be opened (${(e as Error).message})`;
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) < 8) return 'model.safetensors: shorter than its 8-byte header length';
    const n = Number(head.readBigUInt64LE(0));
    if (n <= 0 || 8 + n > size) return `model.safetensors: header of ${n} bytes does not fit in ${size} bytes`;
    const json = Buffer.alloc(n);
    readSync(fd, json, 0, n, 8);
    const h = JSON.parse(json.toString('utf8')) as Record<string, { data_offsets?: [number, number] }>;
    const end = Math.max(0, ...Object.values(h).map((t) => t.data_offsets?.[1] ?? 0));
    if (8 + n + end !== size) return `model.safetensors: ${size} bytes, its header describes ${8 + n + end}`;
    return null;
  } catch (e) {
    return `model.safetensors: unreadable header (${(e as Error).message})`;
  } finally {
    closeSync(fd);
  }
}

const mtime = (path: string) => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0;
const cache = new Map<string, { key: string; row: RunRow }>();
/** Forgets every cached row, so that a benchmark can time a first listing again. */
export const forgetRows = () => cache.clear();
/** Damage found in metrics.jsonl by a full read (the run page's), by run directory. */
const metricsDamage = new Map<string, string>();

/** Records what a full read of a run's metrics.jsonl found, so the runs table shows it too. */
export function noteMetricsDamage(dir: string, damaged: string | null): void {
  if (damaged) metricsDamage.set(dir, damaged);
  else metricsDamage.delete(dir);
}

/**
 * The runs-table row of one run directory; cached until one of its files changes. A finished run
 * is read from its summary alone (its per-epoch records are there), so thousands list quickly.
 */
export function runRow(id: string, dir: string, sweep: string | null, now = Date.now()): RunRow {
  const times = runFiles.map((f) => mtime(join(dir, f)));
  const updated = Math.max(...times);
  // Running: metrics written lately, and after any summary.json (a resumed run). File times are
  // coarse (a few ms), so the last record and the summary written just after it often share one.
  const running = now - times[2] < liveMs && times[2] > times[1];
  const key = `${times.join(',')}|${running}|${sweep}|${metricsDamage.get(dir)}`;
  const hit = cache.get(dir);
  if (hit?.key === key) return hit.row;
  const config = readJson(join(dir, configFile));
  const summary = readJson(join(dir, summaryFile));
  const c = config.value ?? {};
  const s = summary.value ?? {};
  const metrics =
    Array.isArray(s.perEpoch) && !running
      ? { records: s.perEpoch as MetricRecord[], damaged: metricsDamage.get(dir) ?? null }
      : (readMetricsTail(dir, 0, 0, running) as { records: MetricRecord[]; damaged: string | null });
  const epochs = epochRecords(metrics.records);
  const accs = epochs.map((e) => e.testAccuracy).filter((a): a is number => typeof a === 'number');
  const last = typeof s.testAccuracy === 'number' ? s.testAccuracy : (accs[accs.length - 1] ?? null);
  const damaged =
    config.error ?? summary.error ?? metrics.damaged ?? (s.status === 'completed' ? modelProblem(dir) : null);
  const status: RunStatus = damaged
    ? 'damaged'
    : running
      ? 'running'
      : s.status === 'completed' || s.status === 'interrupted' || s.status === 'diverged'
        ? s.status
        : 'failed';
  const seconds =
    typeof s.seconds === 'number' ? s.seconds : epochs.reduce((t, e) => t + (e.seconds ?? 0) + (e.evalSeconds ?? 0), 0);
  const row: RunRow = {
    id,
    model: str(s.model ?? c.model),
    dataset: str(s.dataset ?? c.dataset),
    status,
    damaged,
    bestAccuracy: accs.length ? Math.max(...accs, last ?? 0) : last,
    lastAccuracy: last,
    epochs: epochs.length,
    epochsPlanned: typeof c.epochs === 'number' ? c.epochs : null,
    trainSize: num(s.trainSize ?? c.trainSize), // config.json has it from the start: an ETA in epoch 1
    seconds: seconds || null,
    hyper: {
      optimizer: str(c.optimizer),
      lr: num(c.lr),
      batchSize: num(c.batchSize),
      ...layerKeys(c),
      seed: num(c.seed),
    },
    updated,
    sweep,
  };
  cache.set(dir, { key, row });
  return row;
}

function modelProblem(dir: string): string | null {
  const spec = readJson(join(dir, modelFile));
  return spec.error ?? checkSafetensors(join(dir, weightsFile));
}

const str = (v: unknown) => (typeof v === 'string' ? v : null);
const num = (v: unknown) => (typeof v === 'number' ? v : null);

/** Filter counts of the conv layers ("8,8"), the activation and the pooling of a run's spec. */
function layerKeys(c: Record<string, unknown>): Record<string, string | null> {
  const layers = (c.spec as { layers?: { type?: string; filters?: number }[] } | undefined)?.layers ?? [];
  const f = layers.filter((l) => l.type === 'conv2d').map((l) => l.filters);
  return {
    filters: f.length ? f.join(',') : null,
    activation:
      layers.find((l) => ['relu', 'sigmoid', 'tanh', 'gelu', 'leaky-relu'].includes(l.type ?? ''))?.type ?? null,
    pool: layers.find((l) => l.type?.endsWith('pool2d'))?.type?.replace('pool2d', '') ?? null,
  };
}

/** A sweep directory's grid and trials, each trial's swept values read back from its name. */
export function sweepRow(id: string, dir: string): SweepRow | null {
  const { value } = readJson(join(dir, 'sweep.json'));
  const raw = value?.grid as Record<string, (string | number)[]> | undefined;
  const names = value?.trials as string[] | undefined;
  if (!raw || !Array.isArray(names)) return null;
  const grid = Object.fromEntries(Object.entries(raw).map(([k, vs]) => [k, vs.map(asValue)]));
  const keys = Object.keys(grid).sort((a, b) => b.length - a.length); // "batch-size" before "batch"
  return {
    id,
    grid,
    trials: names.map((name) => {
      const params: Record<string, string | number> = {};
      for (const part of name.split('_')) {
        const k = keys.find((key) => part.startsWith(`${key}-`));
        if (k) {
          params[k] = asValue(part.slice(k.length + 1));
        }
      }
      return { id: `${id}/${name}`, name, params };
    }),
  };
}

/** A swept value: numbers as numbers ("0.01" and 0.01 are the same trial), the rest as text. */
const asValue = (v: string | number) =>
  typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
