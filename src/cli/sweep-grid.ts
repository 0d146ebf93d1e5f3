/** A sweep's grid: which train flags it may vary, --grid parsing, and the combinations to run. */
import { UsageError } from '../errors.js';

/** The train flags a grid may vary. */
export const sweepable = [
  'lr',
  'filters',
  'batch-size',
  'activation',
  'pool',
  'optimizer',
  'momentum',
  'weight-decay',
  'epochs',
  'seed',
  'init',
  'schedule',
  'model',
  'loss',
  'train-limit',
  'test-limit',
  'val',
  'subset',
  'augment',
  'normalize',
] as const;

/** --grid lr=0.01,0.1 → ['lr', ['0.01', '0.1']], checking the key and that values are given once. */
export function parseGrid(args: string[]): [string, string[]][] {
  if (!args.length)
    throw new UsageError(
      'sweep: give at least one --grid KEY=V1,V2 (e.g. --grid lr=0.01,0.1,0.9) — see convts sweep --help',
    );
  const grid = args.map((a): [string, string[]] => {
    const m = /^([\w-]+)=(.+)$/.exec(a);
    if (!m) throw new UsageError(`--grid: expected KEY=V1,V2,… (e.g. lr=0.01,0.1), got "${a}"`);
    if (!(sweepable as readonly string[]).includes(m[1]))
      throw new UsageError(`--grid: "${m[1]}" cannot be swept — use one of ${sweepable.join(', ')}`);
    const values = m[2].split(',').map((v) => v.trim());
    if (values.some((v) => !v) || new Set(values).size !== values.length)
      throw new UsageError(`--grid ${a}: give each value once, with no empty ones`);
    return [m[1], values];
  });
  const dup = grid.find(([k], i) => grid.findIndex(([k2]) => k2 === k) !== i);
  if (dup) throw new UsageError(`--grid: "${dup[0]}" is given twice — list all its values in one --grid ${dup[0]}=…`);
  return grid;
}

/** Every combination of the grid's values, the first key varying slowest. */
export function combinations(grid: [string, string[]][]): Record<string, string>[] {
  return grid.reduce<Record<string, string>[]>(
    (acc, [k, vs]) => acc.flatMap((p) => vs.map((v) => ({ ...p, [k]: v }))),
    [{}],
  );
}
