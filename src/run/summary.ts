import { join } from 'node:path';
import { Ajv } from 'ajv';
import { DataFormatError } from '../errors.js';
import { writeJsonAtomic } from '../files/atomic.js';
import { jsonKind, jsonObject, readJsonFile } from '../files/json.js';
import type { Sequential } from '../model/sequential.js';
import type { EpochMetrics, TrainResult } from '../train/trainer.js';
import { type MachineInfo, machineInfo } from './machine.js';
import { summarySchema } from './summary-schema.js';
import { trainingWarnings } from './warnings.js';

/** summary.json of a run that trained every epoch (or converged) and was evaluated. */
export interface CompletedSummary {
  status: 'completed';
  model: string;
  dataset: string;
  trainSize: number;
  testSize: number;
  epochs: number;
  stoppedBy: 'epochs' | 'converged' | 'patience';
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  classNames: string[];
  /** Rows = true class, columns = predicted, counts over the evaluation set. */
  confusionMatrix: number[][];
  perEpoch: EpochMetrics[];
  parameters: number;
  seconds: number;
  trainImagesPerSecond: number;
  seed: number;
  machine: MachineInfo;
  /** What the test numbers were measured on: the test split or a validation hold-out. */
  evaluatedOn: 'test' | 'validation';
  /** With a validation hold-out: the test split evaluated beside it (final weights). */
  testSplit?: { name: string; size: number; loss: number; accuracy: number };
  /** Signs that training failed to learn (a loss that exploded, accuracy at chance) and what to try. */
  warnings?: string[];
}

/** summary.json of a run stopped by a NaN or infinite loss. */
export interface DivergedSummary {
  status: 'diverged';
  error: string;
  epoch: number;
  step: number;
}

/** summary.json of a run stopped by Ctrl-C; its checkpoint continues it. */
export interface InterruptedSummary {
  status: 'interrupted';
  /** The epoch in progress (1-based), the images of it already trained on, out of `of`. */
  epoch: number;
  image: number;
  of: number;
  /** The command that continues the run. */
  resume: string;
}

export type RunSummary = CompletedSummary | DivergedSummary | InterruptedSummary;

export const summaryFile = 'summary.json';

/** Writes `<dir>/summary.json` atomically: completed, diverged or interrupted. */
export function writeRunSummary(dir: string, summary: RunSummary): void {
  writeJsonAtomic(join(dir, summaryFile), summary);
}

/** The summary of a finished training: final numbers, per-epoch metrics, timings, machine and warnings. */
export function summarize(
  model: Sequential,
  config: { model: string; dataset: string; seed: number },
  r: TrainResult,
  sizes: {
    train: number;
    test: number;
    evaluatedOn: 'test' | 'validation';
    testSplit?: { name: string; size: number };
  },
  classNames: readonly string[],
): CompletedSummary {
  const last = r.epochs[r.epochs.length - 1];
  if (!r.test || r.stoppedBy === 'interrupted')
    throw new DataFormatError('summarize: the run has no final evaluation — summarize completed runs only');
  const warnings = trainingWarnings(r.epochs, r.test);
  return {
    status: 'completed',
    model: config.model,
    dataset: config.dataset,
    trainSize: sizes.train,
    testSize: sizes.test,
    epochs: r.epochs.length,
    stoppedBy: r.stoppedBy,
    trainLoss: last.trainLoss,
    trainAccuracy: last.trainAccuracy,
    testLoss: r.test.loss,
    testAccuracy: r.test.accuracy,
    classNames: [...classNames],
    confusionMatrix: r.test.confusion,
    perEpoch: r.epochs,
    parameters: model.params().reduce((s, p) => s + p.value.size, 0),
    seconds: r.seconds,
    trainImagesPerSecond: (sizes.train * r.epochs.length) / r.epochs.reduce((s, e) => s + e.seconds, 0),
    seed: config.seed,
    machine: machineInfo(),
    evaluatedOn: sizes.evaluatedOn,
    ...(r.testSplit && sizes.testSplit
      ? { testSplit: { ...sizes.testSplit, loss: r.testSplit.loss, accuracy: r.testSplit.accuracy } }
      : {}),
    ...(warnings.length ? { warnings } : {}),
  };
}

let ajv: Ajv | undefined;

/** Checks a summary against docs/summary.schema.json; the error names the file and the first bad field. */
export function checkSummary(value: unknown, path: string): RunSummary {
  const status = jsonObject(value, path, 'a JSON object (a run summary)').status;
  if (status !== 'completed' && status !== 'diverged' && status !== 'interrupted')
    throw new DataFormatError(
      `${path}: "status" must be completed, diverged or interrupted, got ${jsonKind(status)} — not a summary written by convts train`,
    );
  if (!ajv) {
    ajv = new Ajv();
    ajv.addSchema(summarySchema, 'summary');
  }
  // Checked against its own variant, so the error is about this kind of summary, not all three.
  const validate = ajv.getSchema(`summary#/definitions/${status}`)!;
  if (validate(value)) return value as RunSummary;
  const e = validate.errors?.[0];
  const field = e?.instancePath ? `"${e.instancePath.slice(1).replace(/\//g, '.')}"` : 'the summary';
  throw new DataFormatError(`${path}: ${field} ${e?.message ?? 'does not fit'} (a ${status} run's summary.json)`);
}

/** Reads and checks `<dir>/summary.json`. */
export function readRunSummary(dir: string): RunSummary {
  const path = join(dir, summaryFile);
  return checkSummary(readJsonFile(path, 'give a run directory written by convts train'), path);
}

/** The summary of a completed run, or null for a diverged or interrupted one. */
export function completedSummary(s: RunSummary): CompletedSummary | null {
  return s.status === 'completed' ? s : null;
}
