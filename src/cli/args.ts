import { existsSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ConvtsError, UsageError } from '../errors.js';
import { readJsonFile } from '../files/json.js';
import type { RunDataOptions } from '../run/index.js';

export type Options = NonNullable<ParseArgsConfig['options']> & { help: { type: 'boolean'; short: 'h' } };
/** Flags and positionals of a command, as node:util parseArgs gives them. */
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
>;

/**
 * Parses a command's flags and positionals; prints `help` and returns null for --help. An unknown
 * flag or a flag without its value is a UsageError that names the closest known flag.
 */
export function parseCommand<O extends Options>(
  argv: string[],
  options: O,
  help: string,
  command: string,
): Parsed<O> | null {
  let r: Parsed<O>;
  try {
    r = parseArgs({ args: argv, options, strict: true, allowPositionals: true }) as Parsed<O>;
  } catch (e) {
    if (!(e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw e;
    const flag = /'(-[^' ]+)/.exec((e as Error).message)?.[1] ?? '';
    const near = closest(flag.replace(/^-+/, ''), Object.keys(options));
    throw new UsageError(
      `${(e as Error).message.replace(/\. To specify.*$/s, '')}${near ? ` — did you mean --${near}?` : ''} (see convts ${command} --help)`,
    );
  }
  if ((r.values as { help?: boolean }).help) {
    process.stdout.write(help);
    return null;
  }
  return r;
}

/**
 * Reads a --config file: a JSON object whose keys are the command's flag names (without "--")
 * and whose values are what the flags take (numbers may be JSON numbers). Checked against the
 * command's own flag table, so the file and the command line accept exactly the same things.
 */
export function readConfigFile(path: string, options: Options, command: string): Record<string, string | boolean> {
  if (!existsSync(path))
    throw new UsageError(
      `--config: ${path} not found — give a JSON file of flag names and values, e.g. {"lr": 0.1, "epochs": 2}`,
    );
  let raw: unknown;
  try {
    raw = readJsonFile(path);
  } catch (e) {
    throw e instanceof ConvtsError ? new UsageError(e.message) : e; // a bad --config is a usage error (exit code 2)
  }
  return flagObject(raw, path, options, command);
}

/**
 * Checks a JSON object of flag names and values (a --config file, a model spec's "recipe") against
 * a command's flag table; `where` names it in messages. Numbers become the strings flags give.
 */
export function flagObject(
  raw: unknown,
  where: string,
  options: Options,
  command: string,
): Record<string, string | boolean> {
  const path = where;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new UsageError(`${path}: expected a JSON object of flag names and values, e.g. {"lr": 0.1}`);
  const out: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(raw)) {
    const o = Object.hasOwn(options, k) ? options[k] : undefined;
    if (!o || k === 'help' || k === 'config' || k === 'resume') {
      const near = closest(k, Object.keys(options));
      throw new UsageError(
        `${path}: "${k}" is not a ${command} option${near ? ` — did you mean "${near}"?` : ''} (the keys are the flag names of convts ${command} --help)`,
      );
    }
    const ok =
      o.type === 'boolean'
        ? typeof v === 'boolean'
        : typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
    if (!ok)
      throw new UsageError(
        `${path}: "${k}" must be ${o.type === 'boolean' ? 'true or false' : 'a string or a number'}, got ${JSON.stringify(v)}`,
      );
    out[k] = typeof v === 'number' ? String(v) : (v as string | boolean);
  }
  return out;
}

/** Parses a flag value as a number in a range, or says which flag is wrong and why. */
export function num(
  flag: string,
  v: string | undefined,
  fallback: number,
  o: { int?: boolean; min?: number; above?: number; max?: number; below?: number } = {},
): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  const ok =
    v.trim() !== '' &&
    Number.isFinite(x) &&
    // A count past 2^53 cannot be held exactly (1e308 epochs would also never end).
    (!o.int || Number.isSafeInteger(x)) &&
    (o.min === undefined || x >= o.min) &&
    (o.above === undefined || x > o.above) &&
    (o.max === undefined || x <= o.max) &&
    (o.below === undefined || x < o.below);
  if (!ok) {
    const kind = o.int ? 'an integer' : 'a number';
    const range = [
      o.min !== undefined ? ` ≥ ${o.min}` : '',
      o.above !== undefined ? ` > ${o.above}` : '',
      o.max !== undefined ? ` ≤ ${o.max}` : '',
      o.below !== undefined ? ` < ${o.below}` : '',
    ]
      .filter(Boolean)
      .join(' and');
    const huge = o.int && Number.isInteger(x) && !Number.isSafeInteger(x) ? ' (past 2^53, too large to count)' : '';
    throw new UsageError(`--${flag}: expected ${kind}${range}, got "${v}"${huge}`);
  }
  return x;
}

/** Checks a flag value against a list of choices. */
export function choice<T extends string>(flag: string, v: string | undefined, choices: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v)) {
    const near = closest(v, choices);
    throw new UsageError(
      `--${flag}: "${v}" is not one of ${choices.join(', ')}${near ? ` — did you mean ${near}?` : ''}`,
    );
  }
  return v as T;
}

/** The candidate within edit distance 2 of `s` (or starting with it), if there is one. */
function closest(s: string, candidates: readonly string[]): string | undefined {
  if (!s) return undefined;
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = c.startsWith(s) ? 1 : editDistance(s, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The flags of eval and show that choose a run's images: --dataset, --data-dir, --test-limit, --split. */
export function runDataFlags(v: {
  dataset?: string;
  'data-dir'?: string;
  'test-limit'?: string;
  split?: string;
}): RunDataOptions {
  return {
    dataset: v.dataset,
    dataDir: v['data-dir'],
    testLimit: v['test-limit'] === undefined ? undefined : num('test-limit', v['test-limit'], 0, { int: true, min: 1 }),
    split: choice('split', v.split, ['test', 'train', 'validation'] as const, 'test'),
  };
}
