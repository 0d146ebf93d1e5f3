import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { exportRun } from '../onnx/run-files.js';
import { openRun } from '../run/index.js';
import { choice, parseCommand } from './args.js';

export const exportHelp = `convts export — write a run's model in a format other tools run

Usage: convts export <run> [options]

Options
  --format F     onnx                                              [onnx]
  --out FILE     where to write it                                 [<run>/model.onnx]

The ONNX file (opset 13) takes "image": float32 [N, C, H, W] raw pixel values 0–255 (the run's
normalization is part of the graph) and gives "logits" and "probabilities"; the class names and
the convts version are in its metadata. onnxruntime (also onnxruntime-web in a page), OpenCV's
dnn module and PyTorch's onnx tools read it.

Example:
  convts export runs/mnist --format onnx --out mnist.onnx
`;

const options = {
  format: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `convts export`: returns the process exit code. */
export async function exportCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, options, exportHelp, 'export');
  if (!parsed) return 0;
  const { values: v, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`export takes one run directory, got ${positionals.length}`);
  const run = positionals[0];
  openRun(run, 'export');
  choice('format', v.format, ['onnx'] as const, 'onnx');
  const out = v.out ?? join(run, 'model.onnx');
  const size = exportRun(run, out);
  process.stderr.write(`wrote ${out} (${(size / 1024).toFixed(1)} KiB, ONNX opset 13, input "image" 0–255 pixels)\n`);
  return 0;
}
