import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import {
  type ByteImageDataset,
  findFile,
  type InputPreparation,
  inputPreparation,
  loadDataset,
  loadModel,
  prepareImage,
  readCifarBatches,
  readMnistSplit,
  readPicture,
  Tensor,
} from '../src/index.js';
import { convts, readJson } from './helpers/cli.js';
import { tmpDir, writeCifarSet } from './helpers/data-files.js';
import { writeMnistDir } from './helpers/mnist.js';
import { drawRgb, writeJpeg, writePng } from './helpers/pictures.js';
import { bits } from './helpers/tmp.js';

// `convts predict` against the in-memory tensors of the data sets its runs were trained on: tiny
// MNIST-format, CIFAR-format and image-folder runs trained here, and the real data sets when present.

const root = tmpDir('convts-predict-');
const runs = {
  mnist: join(root, 'run-mnist'),
  fashion: join(root, 'run-fashion'),
  cifar: join(root, 'run-cifar'),
  folder: join(root, 'run-folder'),
  builtin: join(root, 'run-folder-seed-cifar'),
};
const photos = join(root, 'photos');
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const realDir = process.env.CONVTS_TEST_DATA_DIR ?? resolve(repo, '..', 'shared', 'datasets');

interface Answer {
  file: string;
  inverted: boolean;
  framed: boolean;
  top: { class: string; index: number; probability: number }[];
}

before(async () => {
  writeMnistDir(root, 30, 10);
  writeMnistDir(root, 20, 5, 'fashion-mnist');
  writeCifarSet(root, 5, 4, 0);
  ['ant', 'bee'].forEach((c, k) => {
    mkdirSync(join(photos, c), { recursive: true });
    for (let i = 0; i < 3; i++) {
      const [w, h] = [40 + 7 * i, 30 + 11 * k];
      const planes = drawRgb(w, h, (x, y) => [(x * 5 + k * 120) % 256, (y * 9 + i * 30) % 256, (x * y) % 256]);
      (i === 1 ? writeJpeg : writePng)(join(photos, c, `${i}.${i === 1 ? 'jpg' : 'png'}`), planes, 3, h, w);
    }
  });
  // The folder run's own net: two classes, so two outputs.
  const spec = join(root, 'two-classes.json');
  writeFileSync(
    spec,
    JSON.stringify({
      input: [3, 32, 32],
      layers: [
        { type: 'conv2d', filters: 4, kernel: 3 },
        { type: 'relu' },
        { type: 'maxpool2d', size: 3 },
        { type: 'flatten' },
        { type: 'dense', units: 2 },
      ],
      loss: 'cross-entropy',
    }),
  );
  const common = ['--epochs', '1', '--batch-size', '5', '--seed', '3'];
  const trained = await Promise.all([
    convts('train', '--data-dir', root, ...common, '--out', runs.mnist),
    convts('train', '--dataset', 'fashion-mnist', '--data-dir', root, ...common, '--out', runs.fashion),
    convts(
      'train',
      '--model',
      'seed-cifar',
      '--dataset',
      'cifar-10',
      '--data-dir',
      root,
      '--val',
      '10',
      ...common,
      '--out',
      runs.cifar,
    ),
    convts(
      'train',
      '--model',
      spec,
      '--dataset',
      `folder:${photos}`,
      '--image-size',
      '32',
      '--channels',
      '3',
      '--val',
      '2',
      ...common,
      '--out',
      runs.folder,
    ),
    // A built-in network on a two-class folder of 16×16 pictures: two outputs, 3×16×16 inputs.
    convts(
      'train',
      '--model',
      'seed-cifar',
      '--dataset',
      `folder:${photos}`,
      '--image-size',
      '16',
      '--val',
      '2',
      ...common,
      '--out',
      runs.builtin,
    ),
  ]);
  for (const r of trained) assert.equal(r.code, 0, r.stderr);
});

/** The run's record of how pictures become inputs (older runs: from its data set and normalization). */
function preparation(run: string): InputPreparation {
  const config = readJson(join(run, 'config.json'));
  return config.input ?? inputPreparation(config.dataset, config.spec.input, config.normalization);
}

/** Samples `indices` of `ds` written as files; returns the file names. */
function writeSamples(ds: ByteImageDataset, indices: number[], stem: string, write = writePng): string[] {
  const [c, h, w] = ds.imageShape;
  return indices.map((i) => {
    const row = ds.row(i) * c * h * w;
    return write(
      `${stem}-${i}.${write === writePng ? 'png' : 'jpg'}`,
      ds.images.subarray(row, row + c * h * w),
      c,
      h,
      w,
    );
  });
}

/** `convts predict --json` on the files, all classes listed. */
async function predict(run: string, files: string[], ...flags: string[]): Promise<Answer[]> {
  const r = await convts('predict', run, ...files, '--top', '10', '--json', ...flags);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** The model's probabilities for samples `indices` of `ds` (normalized as the run was), one batch as predict makes it. */
function inMemory(run: string, ds: ByteImageDataset, indices: number[]): Float32Array {
  const model = loadModel(run);
  const x = new Tensor([indices.length, ...model.inputShape]);
  ds.with({ norm: preparation(run).normalization }).fill(x.data, indices, 0, indices.length);
  return Float32Array.from(model.predict(x).data);
}

/** Every probability of every answer equals the expected one exactly (k classes per file). */
function samePredictions(answers: Answer[], expected: Float32Array, k = 10): void {
  answers.forEach((a, i) => {
    assert.equal(a.top.length, k);
    for (const t of a.top) assert.equal(t.probability, expected[i * k + t.index], `${a.file}, class ${t.index}`);
  });
}

/** The files' inputs as prepareImage makes them equal the data set's tensors bit for bit. */
function sameTensors(run: string, ds: ByteImageDataset, indices: number[], files: string[]): void {
  const prep = preparation(run);
  const want = new Float32Array(ds.imageShape.reduce((a, b) => a * b));
  files.forEach((f, k) => {
    ds.with({ norm: prep.normalization }).fill(want, indices, k, 1);
    assert.deepEqual(bits(prepareImage(readPicture(f), prep).x), bits(want), f);
  });
}

describe('convts predict', () => {
  test('MNIST-format test images as PNG predict exactly as the in-memory tensors; as JPEG q100 within 2/255', async () => {
    const { test: ts } = loadDataset('mnist', root);
    const indices = [0, 3, 7, 9];
    const files = writeSamples(ts, indices, join(root, 'mnist'));
    sameTensors(runs.mnist, ts, indices, files);
    const answers = await predict(runs.mnist, files);
    assert.deepEqual(
      answers.map((a) => [a.file, a.inverted, a.framed]),
      files.map((f) => [f, false, false]),
    );
    const expected = inMemory(runs.mnist, ts, indices);
    samePredictions(answers, expected);
    // JPEG is lossy even at quality 100 (rounding in the colour transform and the DCT).
    const jpegs = writeSamples(ts, indices, join(root, 'mnist'), writeJpeg);
    const prep = preparation(runs.mnist);
    for (const [k, f] of jpegs.entries()) {
      const got = prepareImage(readPicture(f), prep).bytes;
      const want = ts.images.subarray(ts.row(indices[k]) * 784, (ts.row(indices[k]) + 1) * 784);
      const worst = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
      assert.ok(worst <= 2, `${f}: a pixel off by ${worst}`);
    }
    const viaJpeg = await predict(runs.mnist, jpegs);
    viaJpeg.forEach((a, i) => {
      for (const t of a.top)
        assert.ok(Math.abs(t.probability - expected[i * 10 + t.index]) < 0.02, `${a.file}: ${t.probability}`);
    });
  });

  test('CIFAR-format validation images as PNG predict exactly, and a photo is never inverted', async () => {
    const { test: val } = loadDataset('cifar-10', root, { val: 10 });
    const indices = [0, 4, 9];
    const files = writeSamples(val!, indices, join(root, 'cifar'));
    sameTensors(runs.cifar, val!, indices, files);
    // An airplane-like photo: bright sky all round, a dark body; its mean is below 0.5.
    const sky = drawRgb(32, 32, (x, y) =>
      Math.abs(x - 16) < 14 && Math.abs(y - 16) < 10 ? [30, 30, 40] : [190, 210, 250],
    );
    assert.ok(sky.reduce((a, b) => a + b, 0) / sky.length < 127.5);
    const plane = writePng(join(root, 'plane.png'), sky, 3, 32, 32);
    const answers = await predict(runs.cifar, [...files, plane]);
    assert.ok(answers.every((a) => !a.inverted && !a.framed));
    samePredictions(answers.slice(0, 3), inMemory(runs.cifar, val!, indices));
    assert.equal(
      answers[3].top[0].class,
      readJson(join(runs.cifar, 'summary.json')).classNames[answers[3].top[0].index],
    );
  });

  test('a light-background digit is inverted for an MNIST run; --invert and --frame override', async () => {
    const { test: ts } = loadDataset('mnist', root);
    const row = ts.images.subarray(ts.row(2) * 784, ts.row(2) * 784 + 784);
    const light = writePng(
      join(root, 'light.png'),
      row.map((v) => 255 - v),
      1,
      28,
      28,
    );
    const big = writePng(
      join(root, 'drawn.png'),
      drawRgb(90, 120, (x, y) =>
        Math.hypot(x - 40, y - 60) < 30 && Math.hypot(x - 40, y - 60) > 22 ? [20, 20, 20] : [245, 245, 240],
      ),
      3,
      120,
      90,
    );
    const [a, b] = await predict(runs.mnist, [light, big]);
    assert.deepEqual([a.inverted, a.framed, b.inverted, b.framed], [true, false, true, true]);
    samePredictions([a], inMemory(runs.mnist, ts, [2]));
    const [c, d] = await predict(runs.mnist, [light, big], '--invert', 'no', '--frame', 'whole');
    assert.deepEqual([c.inverted, c.framed, d.inverted, d.framed], [false, false, false, false]);
    const [e] = await predict(runs.mnist, [light], '--frame', 'digit');
    assert.deepEqual([e.inverted, e.framed], [true, true]);
    const text = await convts('predict', runs.mnist, big);
    assert.match(
      text.stdout,
      /drawn\.png: \d \d+\.\d%, \d \d+\.\d%, \d \d+\.\d% {2}\(inverted: light background; framed like a digit\)\n$/,
    );
  });

  test('a Fashion-MNIST run records the objects kind: a product photo is inverted and cropped to the object', async () => {
    assert.equal(readJson(join(runs.fashion, 'config.json')).input.kind, 'objects');
    // A dark shirt-like shape on an off-white background, far from the 28×28 frame.
    const photo = writePng(
      join(root, 'shirt.png'),
      drawRgb(120, 90, (x, y) =>
        y > 20 && y < 80 && x > 30 + (y < 35 ? 0 : 12) && x < 90 - (y < 35 ? 0 : 12) ? [60, 40, 90] : [246, 246, 244],
      ),
      3,
      90,
      120,
    );
    const [a] = await predict(runs.fashion, [photo]);
    assert.deepEqual([a.inverted, a.framed], [true, true]);
    const want = prepareImage(readPicture(photo), preparation(runs.fashion));
    const model = loadModel(runs.fashion);
    const p = model.predict(new Tensor([1, ...model.inputShape], want.x)).data;
    for (const t of a.top) assert.equal(t.probability, p[t.index], `class ${t.index}`);
    const text = await convts('predict', runs.fashion, photo);
    assert.match(text.stdout, /shirt\.png: .*\(inverted: light background; cropped to the object\)\n$/);
  });

  test('an image-folder run predicts its own training files (any size, PNG or JPEG) as the data set has them', async () => {
    const { train } = loadDataset(`folder:${photos}`, '', { size: [32, 32], channels: 3, val: 2 });
    const files = ['ant/0.png', 'bee/0.png', 'ant/1.jpg', 'bee/1.jpg'].map((f) => join(photos, f)); // samples 0–3
    sameTensors(runs.folder, train, [0, 1, 2, 3], files);
    const answers = await predict(runs.folder, files);
    samePredictions(answers, inMemory(runs.folder, train, [0, 1, 2, 3]), 2);
    assert.deepEqual(answers[0].top.find((t) => t.index === 1)?.class, 'bee');
  });

  test('a built-in network trained on a two-class folder has two outputs; eval, predict and show load the run', async () => {
    const model = loadModel(runs.builtin);
    assert.deepEqual([model.inputShape, model.classes], [[3, 16, 16], 2]);
    const files = [join(photos, 'ant', '0.png'), join(photos, 'bee', '1.jpg')];
    const answers = await predict(runs.builtin, files);
    assert.deepEqual(
      answers.map((a) => a.top.map((t) => t.class).sort()),
      [
        ['ant', 'bee'],
        ['ant', 'bee'],
      ],
    );
    for (const args of [
      ['eval', runs.builtin],
      ['show', 'report', runs.builtin],
    ]) {
      const r = await convts(...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    // A spec file is taken as it is: ten outputs for two classes is refused before training.
    const spec = join(root, 'ten-outputs.json');
    writeFileSync(
      spec,
      JSON.stringify({
        input: [3, 16, 16],
        layers: [{ type: 'flatten' }, { type: 'dense', units: 10 }],
        loss: 'cross-entropy',
      }),
    );
    const r = await convts(
      'train',
      '--model',
      spec,
      '--dataset',
      `folder:${photos}`,
      '--image-size',
      '16',
      '--val',
      '2',
      '--out',
      join(root, 'ten'),
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /the model has 10 outputs, folder:.* has 2 classes \(ant, bee\) — give its last dense layer "units": 2/,
    );
  });

  test('bad files: one line naming the file, exit 1; bad flags exit 2', async () => {
    const png = PNG.sync.write(new PNG({ width: 4, height: 4 }));
    const huge = Buffer.from(png);
    huge.writeUInt32BE(65535, 16);
    huge.writeUInt32BE(65535, 20);
    const cases: [string, Uint8Array, RegExp][] = [
      ['text.png', Buffer.from('hello'), /not a PNG or JPEG image \(it starts with 68 65 6c 6c 6f\)/],
      ['cut.png', png.subarray(0, png.length - 20), /truncated or damaged PNG/],
      ['anim.gif', Buffer.from('GIF89a\x04\x00\x04\x00'), /not a PNG or JPEG image \(a GIF file\)/],
      ['huge.png', huge, /65535×65535 = 4295 megapixels is over the 50-megapixel budget/],
    ];
    const good = writePng(join(root, 'good.png'), new Uint8Array(784), 1, 28, 28);
    for (const [name, bytes, re] of cases) {
      const f = join(root, name);
      writeFileSync(f, bytes);
      const r = await convts('predict', runs.mnist, good, f);
      assert.equal(r.code, 1, name);
      assert.match(r.stdout, /^.*good\.png: \d \d+\.\d%.*\n$/, 'the good file is still predicted');
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.ok(r.stderr.startsWith(`convts: ${f}: `), r.stderr);
      assert.match(r.stderr, re);
    }
    // Every file is tried: each bad one named, the good ones predicted in order, exit 1 at the end.
    const [text, missing] = [join(root, 'text.png'), join(root, 'missing.png')];
    const r3 = await convts('predict', runs.mnist, good, text, good, missing, '--json');
    assert.equal(r3.code, 1);
    const answers = JSON.parse(r3.stdout);
    assert.deepEqual(
      answers.map((a: { file: string; error?: string; top?: unknown[] }) => [
        a.file,
        a.top?.length ?? a.error?.split(':')[0],
      ]),
      [
        [good, 3],
        [text, text],
        [good, 3],
        [missing, missing],
      ],
    );
    assert.match(answers[3].error, /missing\.png: cannot read .*not found \(ENOENT\)/);
    assert.deepEqual(
      r3.stderr
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(': ')[1]),
      [text, missing],
    );
    const allBad = await convts('predict', runs.mnist, missing);
    assert.deepEqual([allBad.code, allBad.stdout], [1, '']);
    // --max-pixels lowers (or raises) the budget: a 28×28 picture is over a 700-pixel one.
    let r = await convts('predict', runs.mnist, good, '--max-pixels', '700');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /28×28 = 0\.0 megapixels is over the 0\.0-megapixel budget — .*--max-pixels/);
    r = await convts('predict', runs.mnist, good, '--max-pixels', '784');
    assert.equal(r.code, 0, r.stderr);
    r = await convts('predict', runs.mnist);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give one or more PNG or JPEG images after the run/);
    r = await convts('predict', runs.mnist, good, '--frame', 'maybe');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--frame: "maybe" is not one of auto, digit, object, whole/);
  });

  test('real MNIST and CIFAR-10 images as PNG: the same tensors bit for bit, the same predictions', async (t) => {
    const mnistFile = findFile(realDir, 'mnist', 't10k-images-idx3-ubyte');
    const cifarFile = findFile(realDir, 'cifar-10', 'data_batch_5.bin');
    if (!mnistFile || !cifarFile) {
      t.skip(`MNIST or CIFAR-10 is absent from ${realDir} — set CONVTS_TEST_DATA_DIR to run this check`);
      return;
    }
    const indices = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1234, 9999];
    const sets: [string, ByteImageDataset][] = [
      [runs.mnist, readMnistSplit(realDir, 'test')],
      [runs.cifar, readCifarBatches([cifarFile], 'cifar-10-val')],
    ];
    for (const [run, ds] of sets) {
      const files = writeSamples(ds, indices, join(root, `real-${ds.name}`));
      sameTensors(run, ds, indices, files);
      const answers = await predict(run, files);
      assert.ok(
        answers.every((a) => !a.inverted && !a.framed),
        ds.name,
      );
      samePredictions(answers, inMemory(run, ds, indices));
    }
  });
});
