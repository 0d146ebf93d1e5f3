import { UsageError } from '../errors.js';
import { imageToInput, readPngRgb } from '../io/png-input.js';
import { loadModel, openRun, runNormalization } from '../run/index.js';
import { Tensor } from '../tensor/tensor.js';
import { choice, num, parseCommand } from './args.js';

export const predictHelp = `convts predict — classify PNG images with a saved model

Usage: convts predict <run> <image.png>… [options]

Each image is made into the model's input the way its training data was: padded to the
model's aspect ratio, resized to its height × width, turned grey or kept in colour to match
its channels, and normalized with the training set's mean and standard deviation.

Options
  --top K            how many classes to list per image             [3]
  --invert M         auto, yes or no: flip light and dark; auto does it for a light
                     background when the model was trained on dark ones (MNIST)  [auto]
  --frame F          whole: resize the whole picture; digit: frame the ink like MNIST
                     (20×20 box, centre of mass in the middle)  [digit for MNIST runs, else whole]
  --data-dir DIR     only for runs whose config.json lacks the normalization: where
                     the training set is, to recompute it            [the run's]
  --json             print the results as JSON on stdout

Example:
  convts predict runs/mnist digit.png
`;

const options = {
  top: { type: 'string' },
  invert: { type: 'string' },
  frame: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `convts predict`: returns the process exit code. */
export async function predictCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, options, predictHelp, 'predict');
  if (!parsed) return 0;
  const { values: v, positionals } = parsed;
  const [run, ...images] = positionals;
  const { config } = openRun(run, 'predict');
  if (!images.length)
    throw new UsageError(`predict: give one or more PNG images after the run, e.g. "convts predict ${run} digit.png"`);
  const invert = choice('invert', v.invert, ['auto', 'yes', 'no'] as const, 'auto');
  const model = loadModel(run);
  const top = Math.min(num('top', v.top, 3, { int: true, min: 1 }), model.classes);
  const norm = runNormalization(config, v['data-dir'], (s) => process.stderr.write(`convts: ${s}\n`));
  const names = config.classNames ?? model.spec.classes ?? Array.from({ length: model.classes }, (_, i) => String(i));
  const frame = choice('frame', v.frame, ['whole', 'digit'] as const, config.dataset === 'mnist' ? 'digit' : 'whole');
  const inputs = images.map((f) => imageToInput(readPngRgb(f), model.inputShape, norm, { invert, frame }));
  const size = inputs[0].x.length;
  const x = new Tensor([images.length, ...model.inputShape]);
  inputs.forEach((inp, i) => x.data.set(inp.x, i * size));
  const p = model.predict(x).data;
  const k = model.classes;
  const results = images.map((file, i) => {
    const order = Array.from({ length: k }, (_, c) => c).sort((a, b) => p[i * k + b] - p[i * k + a]);
    return {
      file,
      inverted: inputs[i].inverted,
      top: order.slice(0, top).map((c) => ({ class: names[c] ?? String(c), index: c, probability: p[i * k + c] })),
    };
  });
  if (v.json) {
    process.stdout.write(`${JSON.stringify(results)}\n`);
    return 0;
  }
  for (const r of results) {
    const list = r.top.map((t) => `${t.class} ${(100 * t.probability).toFixed(1)}%`).join(', ');
    process.stdout.write(`${r.file}: ${list}${r.inverted ? '  (inverted: light background)' : ''}\n`);
  }
  return 0;
}
