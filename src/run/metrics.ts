import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataFormatError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import { parseJsonLines } from '../files/json.js';
import type { EpochMetrics } from '../train/trainer.js';
import { readRunSummary } from './summary.js';

// metrics.jsonl holds one JSON record per line, tagged by `kind`. Files written before records had
// a kind hold epoch records only, so a line without one is read as an epoch record.

/** The numbers of one finished epoch. */
export interface EpochRecord extends EpochMetrics {
  kind: 'epoch';
}

/** Running numbers during an epoch, every few steps. */
export interface StepRecord {
  kind: 'step';
  /** Steps (batches) since the run began. */
  step: number;
  /** 1-based epoch in progress. */
  epoch: number;
  /** Running mean loss and accuracy over the epoch so far. */
  loss: number;
  accuracy: number;
  lr: number;
  imagesPerSecond: number;
}

export type MetricsRecord = EpochRecord | StepRecord;

export const metricsFile = 'metrics.jsonl';

/** An epoch's metrics as a metrics.jsonl record. */
export const epochRecord = (m: EpochMetrics): EpochRecord => ({ kind: 'epoch', ...m });

/** Writes `<dir>/metrics.jsonl` (atomically) with these records, one per line. */
export function writeMetrics(dir: string, records: readonly MetricsRecord[]): void {
  writeFileAtomic(join(dir, metricsFile), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** Reads `<dir>/metrics.jsonl`: every record, in order; an unknown kind or a non-object is an error naming the line. */
export function readMetrics(dir: string): MetricsRecord[] {
  const path = join(dir, metricsFile);
  return parseJsonLines(readFileSync(path, 'utf8'), path).map((r, i) => {
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

/** The per-epoch metrics of a run: metrics.jsonl's epoch records, else summary.json's perEpoch. */
export function readEpochMetrics(dir: string): EpochMetrics[] {
  if (existsSync(join(dir, metricsFile)))
    return readMetrics(dir).flatMap((r) => (r.kind === 'epoch' ? [withoutKind(r)] : []));
  const s = readRunSummary(dir);
  return s.status === 'completed' ? s.perEpoch : [];
}

function withoutKind({ kind: _, ...m }: EpochRecord): EpochMetrics {
  return m;
}
