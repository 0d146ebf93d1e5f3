import { appendFileSync, existsSync } from 'node:fs';
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

/** Reads `<dir>/metrics.jsonl`: every record, in order; an unknown kind or a non-object is an error naming the line. */
export function readMetrics(dir: string): MetricsRecord[] {
  const path = join(dir, metricsFile);
  const text = readTextChecked(path);
  return parseJsonLines(text.slice(0, text.lastIndexOf('\n') + 1), path).map((r, i) => {
    const rec = r as Partial<MetricsRecord> | null;
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec))
      throw new DataFormatError(`${path}, record ${i + 1}: expected a JSON object`);
    const kind = rec.kind ?? 'epoch';
    if (kind !== 'epoch' && kind !== 'step')
      throw new DataFormatError(
        `${path}, record ${i + 1}: "kind" must be "epoch" or "step", got ${JSON.stringify(kind)}`,
      );
    if (kind === 'epoch' && typeof (rec as EpochRecord).epoch !== 'number')
      throw new DataFormatError(`${path}, record ${i + 1}: an epoch record needs a numeric "epoch"`);
    return { ...rec, kind } as MetricsRecord;
  });
}

/** The per-epoch metrics of a run: metrics.jsonl's epoch records, else summary.json's perEpoch, else none. */
export function readEpochMetrics(dir: string): EpochMetrics[] {
  if (existsSync(join(dir, metricsFile)))
    return readMetrics(dir).flatMap((r) => (r.kind === 'epoch' ? [withoutKind(r)] : []));
  if (!existsSync(join(dir, summaryFile))) return []; // a model saved by saveModel: no training records
  const s = readRunSummary(dir);
  return s.status === 'completed' ? s.perEpoch : [];
}

function withoutKind({ kind: _, ...m }: EpochRecord): EpochMetrics {
  return m;
}
