import {
  defaultMaxPixels,
  type InputPreparation,
  inputPreparation,
  kindFrame,
  type PreparedImage,
  prepareImage,
  readPicture,
} from '../data/index.js';
import { ConfigError, DataFormatError, FileError, LimitError, UsageError } from '../errors.js';
import { foldBatchNorm } from '../model/fold.js';
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
ratio and never invert. Digit models (MNIST) invert a light-background image and frame one of
another size like MNIST: the ink scaled into a 20×20 box of the 28×28 frame, its centre of mass
in the middle. Clothing models (Fashion-MNIST) invert a light-background image (a product
photo) and frame one of another size as Fashion-MNIST did: cropped to the object, scaled so
that its longer side fills the frame, centred.

Options
  --top K            how many classes to list per image             [3]
  --invert M         auto, yes or no: flip light and dark            [auto: light-background
                     images for digit and clothing models, never for photos]
  --frame F          auto, digit, object or whole: digit frames the ink like MNIST, object
                     crops to the object like Fashion-MNIST, whole resamples the picture
                     [auto: digit or object as the model's data set was made, unless the
                     image is already the model's size; whole for photos]
  --data-dir DIR     only for runs whose config.json lacks the normalization: where
                     the training set is, to recompute it            [the run's]
  --max-pixels N     refuse images whose header declares more pixels     [50000000]
  --json             print [{file, inverted, framed, top: [{class, index, probability}]}] on stdout
                     ({file, error} for a file that could not be read)

A file that cannot be read or decoded is reported on its own line (naming it) and the others
are still predicted; the exit code is then 1.
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

/** One file's answer in --json: its top classes, or why it could not be read. */
type Answer =
  | { file: string; inverted: boolean; framed: boolean; top: { class: string; index: number; probability: number }[] }
  | { file: string; error: string };

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
  const frame = choice('frame', v.frame, ['auto', 'digit', 'object', 'whole'] as const, 'auto');
  const loaded = loadRun(run);
  const { input, classNames: names } = loaded;
  const model = foldBatchNorm(loaded.model).model; // the same outputs with fewer layers to run
  const top = Math.min(num('top', v.top, 3, { int: true, min: 1 }), model.classes);
  const prep =
    input ??
    runPreparation(run, config, model, () =>
      runNormalization(config, v['data-dir'], (s) => process.stderr.write(`convts: ${s}\n`)),
    );
  const maxPixels = num('max-pixels', v['max-pixels'], defaultMaxPixels, { int: true, min: 1 });
  // Each file on its own: a bad one is reported, and the others still predicted.
  const inputs = images.map((file): PreparedImage | { error: string } => {
    try {
      return prepareImage(readPicture(file, { maxPixels }), prep, { invert, frame });
    } catch (e) {
      if (!(e instanceof DataFormatError || e instanceof FileError || e instanceof LimitError)) throw e;
      const error = e.message.startsWith(file) ? e.message : `${file}: ${e.message}`;
      process.stderr.write(`convts: ${error}\n`);
      return { error };
    }
  });
  const good = inputs.flatMap((inp, i) => ('x' in inp ? [{ i, inp }] : []));
  const x = new Tensor([good.length, ...model.inputShape]);
  good.forEach(({ inp }, row) => x.data.set(inp.x, row * inp.x.length));
  const p = good.length ? model.predict(x).data : new Float32Array(0);
  const rowOf = new Map(good.map(({ i }, row) => [i, row]));
  const k = model.classes;
  const results = images.map((file, i): Answer => {
    const inp = inputs[i];
    const row = rowOf.get(i);
    if (!('x' in inp) || row === undefined) return { file, error: 'error' in inp ? inp.error : '' };
    const order = Array.from({ length: k }, (_, c) => c).sort((a, b) => p[row * k + b] - p[row * k + a]);
    const best = order
      .slice(0, top)
      .map((c) => ({ class: names[c] ?? String(c), index: c, probability: p[row * k + c] }));
    return { file, inverted: inp.inverted, framed: inp.framed, top: best };
  });
  const code = good.length === images.length ? 0 : 1;
  if (v.json) {
    process.stdout.write(`${JSON.stringify(results)}\n`);
    return code;
  }
  const framing =
    (frame === 'auto' ? kindFrame(prep.kind) : frame) === 'object' ? 'cropped to the object' : 'framed like a digit';
  for (const r of results) {
    if ('error' in r) continue;
    const list = r.top.map((t) => `${t.class} ${(100 * t.probability).toFixed(1)}%`).join(', ');
    const done = [r.inverted && 'inverted: light background', r.framed && framing].filter(Boolean);
    process.stdout.write(`${r.file}: ${list}${done.length ? `  (${done.join('; ')})` : ''}\n`);
  }
  return code;
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
