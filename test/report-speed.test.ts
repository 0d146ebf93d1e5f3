import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { encodePng } from '../src/files/png-encode.js';
import { ByteImageDataset, buildModel, builtinSpec, evaluate, Rng } from '../src/index.js';
import { Canvas } from '../src/report/canvas.js';
import { filterGrid } from '../src/report/filters.js';
import { worstMistakes } from '../src/report/misclassified.js';

// What keeps a report quick on a wide network and 10,000 test images: the evaluation's
// probabilities are used, not recomputed; huge filter grids are drawn smaller; PNGs are encoded
// in one pass. Each must still give the same pictures and numbers.

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
  const flat = encodePng(1000, 1000, new Canvas(1000, 1000).data);
  assert.ok(flat.length < 10_000, `a white 1000×1000 picture is ${flat.length} bytes`);
});

test('a 256 × 256 grid of 3×3 filters is drawn within 4096² pixels, every filter in it; a small one as before', () => {
  const rng = new Rng(1);
  const w = Float32Array.from({ length: 256 * 256 * 9 }, () => rng.uniform() - 0.5);
  const big = filterGrid(w, [256, 256, 3, 3]);
  assert.ok(big.width * big.height <= 4096 * 4096, `${big.width}×${big.height}`);
  assert.ok(
    big.width >= 256 * 3 * 3 && big.height >= 256 * 3 * 3,
    `${big.width}×${big.height}: 3 pixels a weight at least`,
  );
  // 8 filters of 8×3×3: the usual 13 pixels a weight
  const small = filterGrid(w.subarray(0, 8 * 8 * 9), [8, 8, 3, 3]);
  assert.ok(small.width >= 8 * 39, `${small.width}`);
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
