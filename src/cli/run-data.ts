import { existsSync, statSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { datasetNames, loadDataset, resolveDataDir, type ByteImageDataset, type Normalization } from '../data/index.js';
import { ConfigError } from '../errors.js';
import { readRunJson, type RunSummary } from '../report/run-report.js';
import { choice, num } from './args.js';

/** Flags and positionals of a command, as node:util parseArgs gives them. */
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>>;
type Options = NonNullable<ParseArgsConfig['options']> & { help: { type: 'boolean'; short: 'h' } };

/** Parses a command's flags and positionals (unknown flags are errors); prints `help` and returns null for --help. */
export function parseCommand<O extends Options>(argv: string[], options: O, help: string): Parsed<O> | null {
  const r = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  if ((r.values as { help?: boolean }).help) {
    process.stdout.write(help);
    return null;
  }
  return r as Parsed<O>;
}

/** What the commands that work on a saved run read from its config.json. */
export interface RunConfig {
  model?: string;
  dataset?: string;
  dataDir?: string;
  testLimit?: number | null;
  normalization?: Normalization;
  [key: string]: unknown;
}

/** Checks that `run` is a run directory and reads its config.json and summary.json. */
export function openRun(run: string | undefined, command: string): { config: RunConfig; summary: RunSummary } {
  if (!run) throw new ConfigError(`${command}: give a run directory written by convts train (e.g. runs/mnist) — see convts ${command} --help`);
  if (!existsSync(run) || !statSync(run).isDirectory()) throw new ConfigError(`${run}: no such run directory — give the --out folder of convts train`);
  return { config: readRunJson<RunConfig>(run, 'config.json'), summary: readRunJson<RunSummary>(run, 'summary.json') };
}

/**
 * The data set a run was tested on (or another one given by flags): its test split, limited as
 * in training unless --test-limit says otherwise, or its training split with --split train.
 */
export function runDataset(config: RunConfig, v: { dataset?: string; 'data-dir'?: string; 'test-limit'?: string; split?: string }): ByteImageDataset {
  const name = choice('dataset', v.dataset ?? config.dataset, datasetNames, 'mnist');
  const dir = v['data-dir'] ?? (v.dataset === undefined ? config.dataDir : undefined) ?? resolveDataDir(undefined);
  const split = choice('split', v.split, ['test', 'train'] as const, 'test');
  const data = loadDataset(name, dir)[split];
  const limit = v['test-limit'] !== undefined ? num('test-limit', v['test-limit'], 0, { int: true, min: 1 })
    : split === 'test' && v.dataset === undefined ? config.testLimit ?? null : null;
  return limit ? data.head(limit) : data;
}

/**
 * The normalization the run's training data had: config.json's "normalization", else
 * recomputed from its training set (as convts train did).
 */
export function runNormalization(config: RunConfig, dataDir: string | undefined, say: (s: string) => void): Normalization {
  if (config.normalization) return config.normalization;
  const name = choice('dataset', config.dataset, datasetNames, 'mnist');
  say(`config.json records no normalization; recomputing it from the ${name} training set`);
  return loadDataset(name, dataDir ?? config.dataDir ?? resolveDataDir(undefined)).train.norm;
}
