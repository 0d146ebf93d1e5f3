import { UsageError } from '../errors.js';
import { importRun } from '../onnx/run-files.js';
import { parseCommand } from './args.js';

export const importHelp = `convts import — make a run directory from a model file made elsewhere

Usage: convts import <model.onnx> --out <run> [options]

Options
  --out DIR            the new run directory (must not exist, or be empty)
  --dataset NAME       the data set it is for: eval's default            [none]
  --data-dir DIR       where that data set lives
  --mean M[,M,M]       per-channel mean and standard deviation the model was trained with,
  --std S[,S,S]        on pixels/255 (ignored for a convts export, which carries its own) [0, 1]
  --input-shape C,H,W  sizes for a graph whose input has dynamic height or width

Reads the operators torch.onnx.export writes for convts's layers: Conv, MaxPool, AveragePool,
GlobalAveragePool, GlobalMaxPool, Flatten or Reshape, Gemm or MatMul + Add, BatchNormalization,
Relu, LeakyRelu, Sigmoid, Tanh, Softmax, Dropout. Anything else (residual connections too, for
now) fails naming the node.
The run works with convts eval, predict, and train --init-from.

Example:
  convts import net.onnx --out runs/from-torch --dataset mnist --mean 0.1307 --std 0.3081
`;

const options = {
  out: { type: 'string' },
  dataset: { type: 'string' },
  'data-dir': { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
  'input-shape': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `convts import`: returns the process exit code. */
export async function importCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, options, importHelp, 'import');
  if (!parsed) return 0;
  const { values: v, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('import: give one .onnx file — see convts import --help');
  if (!v.out) throw new UsageError('import: give --out DIR, the run directory to create');
  if ((v.mean === undefined) !== (v.std === undefined)) throw new UsageError('import: give --mean and --std together');
  const mean = numbers('mean', v.mean);
  const std = numbers('std', v.std);
  if (std?.some((s) => s <= 0)) throw new UsageError(`--std: values must be positive, got ${v.std}`);
  if (mean && std && mean.length !== std.length)
    throw new UsageError('--mean and --std need the same number of values');
  const r = importRun(positionals[0], v.out, {
    dataset: v.dataset,
    dataDir: v['data-dir'],
    normalization: mean && std ? { mean, std } : undefined,
    inputShape: numbers('input-shape', v['input-shape'], true),
  });
  process.stderr.write(`wrote ${v.out}: ${r.layers} layers, ${r.params} parameters\n`);
  return 0;
}

function numbers(flag: string, s: string | undefined, int = false): number[] | undefined {
  if (s === undefined) return undefined;
  const xs = s.split(',').map(Number);
  if (xs.some((x) => !Number.isFinite(x) || (int && !(Number.isInteger(x) && x > 0)))) {
    throw new UsageError(`--${flag}: expected comma-separated ${int ? 'positive integers' : 'numbers'}, got "${s}"`);
  }
  return xs;
}
