import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ByteImageDataset, buildModel, builtinSpec, evaluate, Rng, type Sequential } from '../src/index.js';
import { blues, palette } from '../src/report/canvas.js';
import { confusionPicture } from '../src/report/confusion.js';
import { curvesPicture } from '../src/report/curves.js';
import { featureMapsPicture } from '../src/report/feature-maps.js';
import { convFilterPictures, filterGrid, filterPicture } from '../src/report/filters.js';
import { mistakesPicture, worstMistakes } from '../src/report/misclassified.js';
import { writeRunReport } from '../src/report/run-report.js';
import { checkPng } from './helpers/png-check.js';

function countColour(d: Uint8Array, c: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] === c[0] && d[i + 1] === c[1] && d[i + 2] === c[2]) n++;
  return n;
}

/** n random 1×28×28 byte images with labels 0–9. */
function tinySet(n: number, seed = 3): ByteImageDataset {
  const rng = new Rng(seed);
  const images = Uint8Array.from({ length: n * 784 }, () => Math.floor(rng.uniform() * 256));
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return new ByteImageDataset(
    'tiny',
    images,
    labels,
    [1, 28, 28],
    Array.from({ length: 10 }, (_, i) => String(i)),
    { mean: [0.5], std: [0.29] },
  );
}

const epochs = [1, 2, 3].map((e) => ({
  epoch: e,
  trainLoss: 1 / e,
  trainAccuracy: 0.5 + e / 10,
  testLoss: 1.2 / e,
  testAccuracy: 0.45 + e / 10,
}));

test('curves: a 1000×380 PNG with the train (blue) and test (orange) series drawn', () => {
  const { data } = checkPng(curvesPicture(epochs).png(), 1000, 380);
  // Each series has 3 dots per chart, each with a solid core of the series colour.
  assert.ok(countColour(data, palette[0]) > 6 * 20, 'train colour');
  assert.ok(countColour(data, palette[1]) > 6 * 20, 'test colour');
});

test('curves: one epoch and missing test values still draw', () => {
  checkPng(
    curvesPicture([{ epoch: 1, trainLoss: 0.3, trainAccuracy: 0.9, testLoss: null, testAccuracy: null }]).png(),
    1000,
    380,
  );
});

test('filter bank 36×1×17×17: a 6×6 grid of 68-pixel tiles, each filter scaled so its extremes are black and white', () => {
  const k = 36;
  const size = 17 * 17;
  const rng = new Rng(7);
  const w = Float32Array.from({ length: k * size }, () => (rng.uniform() - 0.5) * 0.8);
  for (let f = 0; f < k; f++) {
    w[f * size + (f % size)] = -1; // exactly one most-negative weight per filter …
    w[f * size + size - 1 - f] = 1; // … and one most-positive
  }
  const { width, height, data } = checkPng(filterGrid(w, [k, 1, 17, 17], { title: 'bank' }).png());
  assert.ok(width >= 6 * 68 && width < 6 * 68 + 200, `width ${width}`);
  assert.ok(height >= 6 * 68 && height < 6 * 68 + 300, `height ${height}`);
  assert.equal(countColour(data, [0, 0, 0]), k * 4 * 4, 'one 4×4 black square per filter');
});

test('single filter: drawn large enough to read, with its value range', () => {
  const w = Float32Array.from({ length: 17 * 17 }, (_, i) => Math.sin(i));
  const { width, height } = checkPng(filterPicture(w, [1, 17, 17]).png());
  assert.ok(width >= 17 * 18 && height >= 17 * 18, `${width}×${height}`);
});

test('conv filters: one grid per conv layer; a colour first layer is drawn in colour', () => {
  const model = buildModel(builtinSpec('seed-cifar'), { seed: 1 });
  const pics = convFilterPictures(model);
  assert.deepEqual(
    pics.map((p) => p.name),
    ['conv1', 'conv2'],
  );
  const first = checkPng(pics[0].picture.png());
  let coloured = 0;
  for (let i = 0; i < first.data.length; i += 4) if (first.data[i] !== first.data[i + 1]) coloured++;
  assert.ok(coloured > 10 * 25, 'conv1 (3 input channels) has colour tiles');
  const second = checkPng(pics[1].picture.png());
  assert.ok(second.width >= 10 * 5 * 8, 'conv2: one column per input channel');
});

test('confusion: a heat map whose full-row cells are the darkest blue', () => {
  const m = [
    [5, 0, 0],
    [0, 4, 0],
    [1, 0, 3],
  ];
  const { data } = checkPng(confusionPicture(m, ['cat', 'dog', 'automobile']).png());
  assert.ok(countColour(data, blues(1)) > 2 * 30 * 30, 'two whole-row diagonal cells');
});

test('feature maps and worst mistakes of a tiny model', () => {
  const model = buildModel(builtinSpec('seed-mnist'), { seed: 2 });
  const ds = tinySet(30);
  const x = new Float32Array(784);
  ds.fill(x, [0], 0, 1);
  const maps = checkPng(featureMapsPicture(model, x).png());
  assert.ok(maps.height > 3 * 72, 'input, conv1, conv2 and pool1 rows');
  const worst = worstMistakes(model, ds, 12);
  assert.ok(worst.length > 0 && worst.length <= 12);
  for (let i = 0; i < worst.length; i++) {
    assert.notEqual(worst[i].predicted, worst[i].label);
    if (i > 0) assert.ok(worst[i].pTrue >= worst[i - 1].pTrue, 'sorted by the probability of the true class');
  }
  checkPng(mistakesPicture(ds, worst, ds.classNames).png());
});

function fakeRun(model: Sequential, ds: ByteImageDataset) {
  const ev = evaluate(model, ds);
  const perEpoch = epochs.map((e) => ({ ...e, lr: 0.01, seconds: 0.5 }));
  return {
    summary: {
      status: 'completed',
      model: 'seed-mnist',
      dataset: 'tiny',
      trainSize: 30,
      testSize: ds.length,
      epochs: 3,
      testLoss: ev.loss,
      testAccuracy: ev.accuracy,
      classNames: [...ds.classNames],
      confusionMatrix: ev.confusion,
      perEpoch,
      seconds: 1.5,
    },
    config: {
      model: 'seed-mnist',
      dataset: 'tiny',
      epochs: 3,
      lr: 0.01,
      schedule: { kind: 'constant' },
      spec: model.spec,
    },
  };
}

test('writeRunReport: every picture as a PNG and one self-contained report.html with every section', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convts-report-'));
  try {
    const model = buildModel(builtinSpec('seed-mnist'), { seed: 2 });
    const ds = tinySet(20);
    const bank = Float32Array.from({ length: 4 * 9 * 9 }, (_, i) => Math.cos(i / 3));
    const written = writeRunReport(dir, {
      model,
      testSet: ds,
      ...fakeRun(model, ds),
      filterBanks: [{ name: 'bank', weights: bank, shape: [4, 1, 9, 9] }],
    });
    const names = written.map((p) => p.slice(dir.length + 1));
    assert.deepEqual(names, [
      'curves-loss.png',
      'curves-accuracy.png',
      'confusion.png',
      'filters-conv1.png',
      'filters-conv2.png',
      'filter-bank-bank.png',
      'feature-maps.png',
      'misclassified.png',
      'report.html',
    ]);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    for (const id of [
      'curves',
      'confusion',
      'filters',
      'maps',
      'misclassified',
      'summary',
      'hyperparameters',
      'timings',
      'machine',
    ]) {
      assert.match(html, new RegExp(`<section id="${id}">`), `section ${id}`);
    }
    // Every PNG is inlined, with the size it was written with; nothing is fetched.
    const imgs = [
      ...html.matchAll(/<img src="data:image\/png;base64,([^"]+)" alt="[^"]*" width="(\d+)" height="(\d+)"/g),
    ];
    assert.equal(imgs.length, names.length - 1);
    for (const [, b64, w, h] of imgs) checkPng(Buffer.from(b64, 'base64'), Number(w), Number(h));
    for (const f of names.filter((n) => n.endsWith('.png'))) checkPng(readFileSync(join(dir, f)));
    assert.doesNotMatch(html, /<script|<link|https?:\/\/|src="(?!data:)/);
    assert.match(html, /name="viewport"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeRunReport for a dense model on flat vectors: curves and confusion, no filters or maps; validation wording', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convts-report-'));
  try {
    const model = buildModel(
      { input: [12], layers: [{ type: 'dense', units: 10 }, { type: 'softmax' }], loss: 'cross-entropy' },
      { seed: 1 },
    );
    const flat = {
      name: 'flat',
      length: 20,
      shape: [12],
      labels: Uint8Array.from({ length: 20 }, (_, i) => i % 10),
      classNames: Array.from({ length: 10 }, (_, i) => `c${i}`),
      fill: (out: Float32Array, idx: ArrayLike<number>, start: number, n: number) => {
        for (let s = 0; s < n; s++) for (let j = 0; j < 12; j++) out[s * 12 + j] = Math.sin(idx[start + s] + j);
      },
    };
    const ev = evaluate(model, flat);
    const written = writeRunReport(dir, {
      model,
      testSet: flat,
      config: { model: 'dense' },
      summary: {
        testAccuracy: ev.accuracy,
        testLoss: ev.loss,
        confusionMatrix: ev.confusion,
        perEpoch: epochs,
        evaluatedOn: 'validation',
      },
    });
    assert.deepEqual(
      written.map((p) => p.slice(dir.length + 1)),
      ['curves-loss.png', 'curves-accuracy.png', 'confusion.png', 'report.html'],
    );
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.doesNotMatch(html, /<section id="(filters|maps|misclassified)">/);
    assert.match(html, /<span>validation accuracy<\/span>/);
    assert.match(html, /<td>c9<\/td>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
