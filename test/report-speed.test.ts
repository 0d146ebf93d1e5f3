import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { encodePng } from '../src/files/png-encode.js';
import { ByteImageDataset, buildModel, builtinSpec, evaluate, Rng } from '../src/index.js';
import { Canvas, drawImage } from '../src/report/canvas.js';
import { filterGrid, filterSample } from '../src/report/filters.js';
import { worstMistakes } from '../src/report/misclassified.js';

// What keeps a report quick on a wide network and 10,000 test images: the evaluation's
// probabilities are used, not recomputed; huge filter grids show a sample; pictures are drawn
// a pixel word at a time and encoded in one pass. Each must still give the same pictures and numbers.

test('the PNG encoder gives back every pixel, and packs flat colour small', () => {
  const rng = new Rng(5);
  const cv = new Canvas(97, 41);
  for (let i = 0; i < 200; i++)
    cv.fillRect(rng.uniform() * 97, rng.uniform() * 41, 1 + rng.uniform() * 9, 1 + rng.uniform() * 9, [
      Math.floor(rng.uniform() * 256),
      Math.floor(rng.uniform() * 256),
      Math.floor(rng.uniform() * 256),
    ]);
  cv.plot(3, 4, [10, 20, 30], 0.5); // a blended pixel
  const png = cv.png();
  const back = PNG.sync.read(Buffer.from(png));
  assert.deepEqual([back.width, back.height], [97, 41]);
  assert.deepEqual(Buffer.from(back.data), Buffer.from(cv.data));
  // Grey rows of an odd width (not four bytes a step), some rows repeated
  const grey = Uint8Array.from({ length: 33 * 9 }, (_, i) => (Math.floor(i / 66) * 37 + (i % 33) * 11) & 255);
  const g = PNG.sync.read(Buffer.from(encodePng(33, 9, grey, 1)));
  assert.deepEqual(Array.from(g.data.filter((_, i) => i % 4 === 0)), Array.from(grey));
  const flat = encodePng(1000, 1000, new Canvas(1000, 1000).data);
  assert.ok(flat.length < 20_000, `a white 1000×1000 picture (4 MB of pixels) is ${flat.length} bytes`);
});

test('a 256 × 256 grid of 3×3 filters shows a sample, drawn as in the full grid; a small one as before', () => {
  const rng = new Rng(1);
  const w = Float32Array.from({ length: 256 * 256 * 9 }, () => rng.uniform() - 0.5);
  const big = filterGrid(w, [256, 256, 3, 3], { title: 'wide' });
  // 64 filters × 32 input channels at the usual 13 pixels a weight: a few megapixels, not 134
  assert.ok(big.width * big.height <= 1600 * 3000, `${big.width}×${big.height}`);
  assert.ok(big.width >= 32 * 39 && big.height >= 64 * 39, `${big.width}×${big.height}`);
  // The sample's tiles are the full grid's, where they stand in it (each filter scaled by its
  // largest weight over all its channels): compared below the title, on a grid just past the sample
  const w2 = w.subarray(0, 70 * 40 * 9);
  const sample = filterGrid(w2, [70, 40, 3, 3], { title: 'a' });
  const saved = { ...filterSample };
  Object.assign(filterSample, { rows: 1000, cols: 1000 });
  const full = (() => {
    try {
      return filterGrid(w2, [70, 40, 3, 3], { title: 'a' });
    } finally {
      Object.assign(filterSample, saved);
    }
  })();
  assert.ok(full.width > sample.width && full.height > sample.height);
  for (let y = 30; y < sample.height - 10; y++) {
    const row = (cv: Canvas) => Buffer.from(cv.data.subarray(y * cv.width * 4, (y * cv.width + sample.width - 10) * 4));
    assert.ok(row(sample).equals(row(full)), `row ${y} of the sample differs from the full grid`);
  }
  // 8 filters of 8×3×3: the usual 13 pixels a weight, every filter
  const small = filterGrid(w.subarray(0, 8 * 8 * 9), [8, 8, 3, 3]);
  assert.ok(small.width >= 8 * 39, `${small.width}`);
});

test('filter pictures write whole pixel words exactly as a rectangle per value did', () => {
  const rng = new Rng(9);
  const x = Float32Array.from({ length: 3 * 5 * 7 }, () => rng.uniform() * 4 - 2);
  for (const [ch, px, py] of [
    ['rgb', 3, 2],
    [1, 0, 0],
    [2, 4.5, 1.5], // off the pixel grid: the rectangle path
    [0, 30, 20], // partly outside: clipped
  ] as const) {
    const fast = new Canvas(40, 30);
    drawImage(fast, x, 0, [3, 5, 7], px, py, 3, -1.5, 1.7, ch);
    const slow = new Canvas(40, 30);
    const level = (v: number) => (v + 1.5) * (255 / 3.2);
    for (let j = 0; j < 5; j++)
      for (let i = 0; i < 7; i++) {
        const p = j * 7 + i;
        const col: [number, number, number] =
          ch === 'rgb'
            ? [level(x[p]), level(x[p + 35]), level(x[p + 70])]
            : [level(x[p + ch * 35]), level(x[p + ch * 35]), level(x[p + ch * 35])];
        slow.fillRect(px + i * 3, py + j * 3, 3, 3, col);
      }
    assert.deepEqual(Buffer.from(fast.data), Buffer.from(slow.data), `channel ${ch} at ${px}, ${py}`);
  }
});

test('evaluate gives each image’s class probabilities; the worst mistakes come from them without running the model', () => {
  const rng = new Rng(3);
  const n = 40;
  const ds = new ByteImageDataset(
    'tiny',
    Uint8Array.from({ length: n * 784 }, () => Math.floor(rng.uniform() * 256)),
    Uint8Array.from({ length: n }, (_, i) => i % 10),
    [1, 28, 28],
    Array.from({ length: 10 }, (_, i) => String(i)),
    { mean: [0.5], std: [0.29] },
  );
  const model = buildModel(builtinSpec('seed-mnist'), { seed: 2 });
  const ev = evaluate(model, ds, 16);
  const p = ev.probabilities!;
  assert.equal(p.length, n * 10);
  for (let i = 0; i < n; i++) {
    const row = p.subarray(i * 10, i * 10 + 10);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, `row ${i} sums to 1`);
  }
  const before = worstMistakes(model, ds, 12); // by running the model, as before
  const predict = model.predict;
  model.predict = () => {
    throw new Error('the model ran again');
  };
  try {
    const given = worstMistakes(model, ds, 12, p);
    assert.deepEqual(
      given.map((m) => [m.index, m.predicted]),
      before.map((m) => [m.index, m.predicted]),
    );
    for (const [i, m] of given.entries()) assert.ok(Math.abs(m.pTrue - before[i].pTrue) < 1e-5);
  } finally {
    model.predict = predict;
  }
});
