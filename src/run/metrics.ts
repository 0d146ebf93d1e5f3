import { appendFileSync, closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataFormatError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import { readTextChecked } from '../files/checked.js';
import { parseJsonLines } from '../files/json.js';
import type { EpochMetrics, StepMetrics } from '../train/trainer.js';
import { readRunSummary, summaryFile } from './summary.js';

// metrics.jsonl holds one JSON record per line, tagged by `kind`. Files written before records had
// a kind hold epoch records only, so a line without one is read as an epoch record. A run that
// stopped mid-write may leave its last line unfinished: a line without its newline is ignored.

/** The numbers of one finished epoch. */
export interface EpochRecord extends EpochMetrics {
  kind: 'epoch';
}

/** Running numbers over the last few steps (the trainer's onStep). */
export type StepRecord = StepMetrics;

export type MetricsRecord = EpochRecord | StepRecord;

export const metricsFile = 'metrics.jsonl';

/** An epoch's metrics as a metrics.jsonl record. */
export const epochRecord = (m: EpochMetrics): EpochRecord => ({ kind: 'epoch', ...m });

/**
 * Starts `<dir>/metrics.jsonl` (a resumed run keeps its complete lines) and returns the function
 * that appends one record: appended, not rewritten, so a live view can read the file as it grows.
 */
export function startMetrics(dir: string, resume: boolean): (r: MetricsRecord) => void {
  const path = join(dir, metricsFile);
  const kept = resume && existsSync(path) ? readTextChecked(path).split('\n').slice(0, -1) : [];
  writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''));
  return (r) => appendFileSync(path, `${JSON.stringify(r)}\n`);
}

/** One parsed line as a record (a line without a kind is an old epoch record), or an error saying what is wrong. */
function asRecord(r: unknown): MetricsRecord | string {
  const rec = r as Partial<MetricsRecord> | null;
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) return 'expected a JSON object';
  const kind = rec.kind ?? 'epoch';
  if (kind !== 'epoch' && kind !== 'step') return `"kind" must be "epoch" or "step", got ${JSON.stringify(kind)}`;
  if (typeof rec.epoch !== 'number') return `a${kind === 'epoch' ? 'n epoch' : ' step'} record needs a numeric "epoch"`;
  return { ...rec, kind } as MetricsRecord;
}

/** Reads `<dir>/metrics.jsonl`: every record, in order; an unknown kind or a non-object is an error naming the line. */
export function readMetrics(dir: string): MetricsRecord[] {
  return readMetricsLines(dir).records;
}

/** metrics.jsonl's records, and the number of its last line if that line has no newline (0 if none). */
function readMetricsLines(dir: string): { records: MetricsRecord[]; cutLine: number } {
  const path = join(dir, metricsFile);
  const text = readTextChecked(path);
  const records = parseJsonLines(text.slice(0, text.lastIndexOf('\n') + 1), path).map((r, i) => {
    const rec = asRecord(r);
    if (typeof rec === 'string') throw new DataFormatError(`${path}, record ${i + 1}: ${rec}`);
    return rec;
  });
  return { records, cutLine: text.length > 0 && !text.endsWith('\n') ? text.split('\n').length : 0 };
}

/** The records of metrics.jsonl from a byte offset on, for a reader that follows the file as it grows. */
export interface MetricsTail {
  records: MetricsRecord[];
  /** Byte offset after the last line read: where the next read starts. */
  next: number;
  /** The first line that is not a record ("metrics.jsonl, line 7: …"); reading stops there. */
  damaged: string | null;
}

/**
 * Reads `<dir>/metrics.jsonl` from byte `from` (after `line0` lines). A last line without its
 * newline is still being written: it is left for the next read while the run is `growing`, and
 * read (so a cut line shows as damage) once it is not. A missing file has no records yet.
 */
export function readMetricsTail(dir: string, from = 0, line0 = 0, growing = false): MetricsTail {
  const path = join(dir, metricsFile);
  const size = statSync(path, { throwIfNoEntry: false })?.size;
  if (size === undefined) return { records: [], next: 0, damaged: null };
  const buf = Buffer.alloc(Math.max(0, size - from));
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  return parseMetricsTail(buf, from, line0, growing);
}

/** The records of `buf`, metrics.jsonl's bytes from offset `from` (after `line0` lines) on, as readMetricsTail reads them. */
export function parseMetricsTail(buf: Buffer, from: number, line0: number, growing: boolean): MetricsTail {
  const end = buf.lastIndexOf(10) + 1;
  const upto = growing || end === buf.length ? end : buf.length;
  const records: MetricsRecord[] = [];
  let damaged: string | null = null;
  const lines = buf.subarray(0, upto).toString('utf8').split('\n');
  for (let i = 0; i < lines.length && !damaged; i++) {
    if (!lines[i].trim()) continue;
    let rec: MetricsRecord | string;
    try {
      rec = asRecord(JSON.parse(lines[i]));
    } catch (e) {
      rec = `not valid JSON (${(e as Error).message})`;
    }
    if (typeof rec === 'string') damaged = `${metricsFile}, line ${line0 + i + 1}: not a metrics record (${rec})`;
    else records.push(rec);
  }
  return { records, next: from + upto, damaged };
}

/**
 * The per-epoch metrics of a run: metrics.jsonl's epoch records, else summary.json's perEpoch, else
 * none. A completed run wrote one epoch record per epoch its summary counts: fewer or more means
 * metrics.jsonl was damaged (cut, a line lost), and the error names it — not an unfinished run.
 */
export function readEpochMetrics(dir: string): EpochMetrics[] {
  const summary = existsSync(join(dir, summaryFile)) ? readRunSummary(dir) : null;
  const path = join(dir, metricsFile);
  if (existsSync(path)) {
    const { records, cutLine: cut } = readMetricsLines(dir);
    const epochs = records.flatMap((r) => (r.kind === 'epoch' ? [withoutKind(r)] : []));
    if (summary?.status === 'completed' && epochs.length !== summary.epochs)
      throw new DataFormatError(
        `${path}: ${epochs.length} epoch record(s), but ${join(dir, summaryFile)} counts ${summary.epochs} epoch(s)` +
          `${cut ? ` — line ${cut} is cut off (no newline at its end)` : ''}: the file is damaged; remove it to use summary.json's per-epoch numbers`,
      );
    return epochs;
  }
  // Without metrics.jsonl: a model saved by saveModel (no summary), or an older run.
  return summary?.status === 'completed' ? summary.perEpoch : [];
}

function withoutKind({ kind: _, ...m }: EpochRecord): EpochMetrics {
  return m;
}
