import { defaultMaxPixels, type InputPreparation, inputPreparation, prepareImage, readPicture } from '../data/index.js';
import { ConfigError, UsageError } from '../errors.js';
import type { Sequential } from '../model/sequential.js';
import { loadRun, openRun, type RunConfig, runNormalization } from '../run/index.js';
import { Tensor } from '../tensor/tensor.js';
import { choice, num, parseCommand } from './args.js';

export const predictHelp = `convts predict — classify PNG and JPEG images with a saved model

Usage: convts predict <run> <image.png|jpg>… [options]

Each image is made into the model's input exactly as the training images were: grey or colour
to match the model, resampled to its height × width (area averaging to shrink, bilinear to
enlarge), normalized with the training set's mean and standard deviation. An image from the
training set written to a file gets the training tensor, bit for bit.
Photo models (CIFAR-10, image folders) take the largest centred part of the model's aspect
ratio and never invert. Digit models (MNIST, Fashion-MNIST) invert a light-background image
and frame one of another size like MNIST: the ink scaled into a 20×20 box of the 28×28
frame, its centre of mass in the middle.

Options
  --top K            how many classes to list per image             [3]
  --invert M         auto, yes or no: flip light and dark            [auto: light-background
                     images for digit models, never for photos]
  --frame F          auto, digit or whole: digit frames the ink like MNIST, whole resamples
                     the picture   [auto: digit for digit models unless the image is already
                     the model's size, whole for photos]
  --data-dir DIR     only for runs whose config.json lacks the normalization: where
                     the training set is, to recompute it            [the run's]
  --max-pixels N     refuse images whose header declares more pixels     [50000000]
  --json             print [{file, inverted, framed, top: [{class, index, probability}]}] on stdout

JPEGs are turned upright by their Exif orientation. Images over the pixel budget (by their
header) are refused before decoding.

Example:
  convts predict runs/mnist digit.png photo.jpg --top 5
`;

const options = {
  top: { type: 'string' },
  invert: { type: 'string' },
  frame: { type: 'string' },
  'data-dir': { type: 'string' },
  'max-pixels': { type: 'string' },
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
    throw new UsageError(
      `predict: give one or more PNG or JPEG images after the run, e.g. "convts predict ${run} digit.png"`,
    );
  const invert = choice('invert', v.invert, ['auto', 'yes', 'no'] as const, 'auto');
  const frame = choice('frame', v.frame, ['auto', 'digit', 'whole'] as const, 'auto');
  const { model, input, classNames: names } = loadRun(run);
  const top = Math.min(num('top', v.top, 3, { int: true, min: 1 }), model.classes);
  const prep =
    input ??
    runPreparation(run, config, model, () =>
      runNormalization(config, v['data-dir'], (s) => process.stderr.write(`convts: ${s}\n`)),
    );
  const maxPixels = num('max-pixels', v['max-pixels'], defaultMaxPixels, { int: true, min: 1 });
  const inputs = images.map((f) => prepareImage(readPicture(f, { maxPixels }), prep, { invert, frame }));
  const size = inputs[0].x.length;
  const x = new Tensor([images.length, ...model.inputShape]);
  inputs.forEach((inp, i) => x.data.set(inp.x, i * size));
  const p = model.predict(x).data;
  const k = model.classes;
  const results = images.map((file, i) => {
    const order = Array.from({ length: k }, (_, c) => c).sort((a, b) => p[i * k + b] - p[i * k + a]);
    const { inverted, framed } = inputs[i];
    const best = order
      .slice(0, top)
      .map((c) => ({ class: names[c] ?? String(c), index: c, probability: p[i * k + c] }));
    return { file, inverted, framed, top: best };
  });
  if (v.json) {
    process.stdout.write(`${JSON.stringify(results)}\n`);
    return 0;
  }
  for (const r of results) {
    const list = r.top.map((t) => `${t.class} ${(100 * t.probability).toFixed(1)}%`).join(', ');
    const done = [r.inverted && 'inverted: light background', r.framed && 'framed like a digit'].filter(Boolean);
    process.stdout.write(`${r.file}: ${list}${done.length ? `  (${done.join('; ')})` : ''}\n`);
  }
  return 0;
}

/**
 * How a run without a recorded input preparation (written before it was recorded, or lacking
 * its normalization) made pictures into inputs: the kind its data set implies, the model's input
 * shape and the normalization, recomputed from the training set when config.json lacks it.
 */
function runPreparation(
  run: string,
  config: RunConfig,
  model: Sequential,
  normalization: () => InputPreparation['normalization'],
): InputPreparation {
  const [c, h, w] = model.inputShape;
  if (model.inputShape.length !== 3 || config.features) {
    throw new ConfigError(
      `${run}: the model takes inputs of ${model.inputShape.join('×')}, not pictures — predict works on models trained on images, not on features`,
    );
  }
  return inputPreparation(config.dataset ?? 'mnist', [c, h, w], normalization());
}
