import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseVal } from '../src/cli/train-settings.js';
import {
  AugmentedDataset,
  ByteImageDataset,
  buildModel,
  loadDataset,
  makeOptimizer,
  parseAugmentation,
  prepare,
  subset,
  train,
  warpImage,
} from '../src/index.js';
import { cifarRecords, tmpDir, writeCifarSet, writeIdxSet } from './helpers/data-files.js';

/** n images of c×h×w whose bytes are given by px(sample, channel, y, x); labels from lab(sample). */
function images(
  n: number,
  [c, h, w]: [number, number, number],
  px: (k: number, ch: number, y: number, x: number) => number,
  lab: (k: number) => number = (k) => k % 10,
): ByteImageDataset {
  const bytes = new Uint8Array(n * c * h * w);
  for (let k = 0; k < n; k++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          bytes[((k * c + ch) * h + y) * w + x] = px(k, ch, y, x);
        }
  const names = Array.from({ length: 10 }, (_, i) => `c${i}`);
  return new ByteImageDataset(
    'toy',
    bytes,
    Uint8Array.from({ length: n }, (_, k) => lab(k)),
    [c, h, w],
    names,
  );
}

function filled(ds: { fill: ByteImageDataset['fill']; shape: readonly number[] }, indices: number[]): Float32Array {
  const size = ds.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(indices.length * size);
  ds.fill(out, indices, 0, indices.length);
  return out;
}

describe('preparation', () => {
  test('--val holds out the last N in file order; z-score uses the remaining training images only, per channel', () => {
    // Sample k has value k in channel 0 and 2k in channel 1 everywhere.
    const ds = images(10, [2, 2, 2], (k, ch) => (ch + 1) * k);
    const p = prepare(ds, null, { val: 4 });
    assert.equal(p.evaluatedOn, 'validation');
    assert.equal(p.train.length, 6);
    assert.deepEqual([...p.test.labels], [6, 7, 8, 9]);
    const mean0 = 2.5 / 255; // mean of 0..5
    const std0 = Math.sqrt(35 / 12) / 255; // population std of 0..5
    assert.ok(Math.abs(p.norm.mean[0] - mean0) < 1e-12 && Math.abs(p.norm.std[0] - std0) < 1e-12);
    assert.ok(Math.abs(p.norm.mean[1] - 2 * mean0) < 1e-12 && Math.abs(p.norm.std[1] - 2 * std0) < 1e-12);
    // The held-out sample 9 is normalized with the training statistics, unchanged.
    const x = filled(p.test, [3]);
    assert.ok(Math.abs(x[0] - (9 / 255 - mean0) / std0) < 1e-4);
    assert.ok(Math.abs(x[4] - (18 / 255 - 2 * mean0) / (2 * std0)) < 1e-4);
    assert.throws(() => prepare(ds, null, {}), /no test split — hold out validation images with --val N/);
    assert.throws(() => prepare(ds, null, { val: 10 }), /--val 10: must hold out between 1 and 9/);
  });

  test('--val 0.2 holds out a fifth of each class (at least one of a class of two or more), the same images every time', () => {
    // Classes of 10, 7, 3, 2 and 1 images, interleaved; pixel = sample index, to follow the images.
    const sizes = [10, 7, 3, 2, 1];
    const labels = sizes.flatMap((n, c) => Array.from({ length: n }, () => c));
    const order = labels.map((_, i) => i).sort((a, b) => ((a * 7919) % 23) - ((b * 7919) % 23));
    const lab = order.map((i) => labels[i]);
    const ds = images(
      lab.length,
      [1, 1, 1],
      (k) => k,
      (k) => lab[k],
    );
    const p = prepare(ds, null, { val: 0.2, normalize: 'unit' });
    const count = (d: ByteImageDataset, c: number) => [...d.labels].filter((l) => l === c).length;
    assert.equal(p.evaluatedOn, 'validation');
    assert.deepEqual(
      sizes.map((_, c) => count(p.test, c)),
      [2, 1, 1, 1, 0],
    );
    const ids = (d: ByteImageDataset) => [...filled(d, [...d.labels.keys()])].map((v) => Math.round(v * 255));
    const [tr, va] = [ids(p.train), ids(p.test)];
    assert.deepEqual(
      [...tr, ...va].sort((a, b) => a - b),
      [...lab.keys()],
      'every image once, in one split',
    );
    assert.deepEqual(
      va,
      [...va].sort((a, b) => a - b),
      'file order is kept',
    );
    assert.deepEqual(ids(prepare(ds, null, { val: 0.2, normalize: 'unit', seed: 9 }).test), va, 'not moved by --seed');
    assert.throws(
      () =>
        prepare(
          images(
            3,
            [1, 1, 1],
            (k) => k,
            (k) => k,
          ),
          null,
          { val: 0.2 },
        ),
      /--val 0.2: holds out 0 of the 3/,
    );
  });

  test('--val on the command line: a count, or a fraction as 0.2 or 20 %; anything else named', () => {
    assert.deepEqual(['10000', '0.2', '20%', ' 5 % ', '1e3'].map(parseVal), [10000, 0.2, 0.2, 0.05, 1000]);
    for (const bad of ['0', '1.5', '100%', '-3', 'abc', '', '20%%', '150%'])
      assert.throws(
        () => parseVal(bad),
        /--val: expected a count of images \(10000: the last 10,000\) or a fraction of each class/,
        bad,
      );
  });

  test('unit scaling, flattening, and the training statistics on the real loaders', () => {
    const root = tmpDir();
    const { train: tr } = writeIdxSet(root, 20, 5);
    const p = loadDataset('mnist', root, { normalize: 'unit', flatten: true });
    assert.deepEqual(p.train.shape, [784]);
    assert.equal(p.test.length, 5);
    assert.equal(filled(p.train, [3])[100], Math.fround(tr.images[3 * 784 + 100] / 255));
    const z = loadDataset('mnist', root);
    const x = filled(
      z.train,
      Array.from({ length: 20 }, (_, i) => i),
    );
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const std = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length);
    assert.ok(Math.abs(mean) < 1e-4 && Math.abs(std - 1) < 1e-4, `${mean} ${std}`);

    writeCifarSet(root, 5, 4, 0);
    const c = loadDataset('cifar-10', root, { val: 4 }); // = the whole of data_batch_5
    assert.equal(c.train.length, 16);
    assert.deepEqual([...c.test.labels], [6, 7, 8, 9]);
    assert.equal(c.norm.mean.length, 3);
  });

  test('with --val, the test split is kept beside the hold-out (normalized alike); a partial CIFAR test batch counts', () => {
    const ds = images(10, [1, 2, 2], (k) => 10 * k);
    const test = images(
      3,
      [1, 2, 2],
      (k) => 100 + k,
      (k) => 9 - k,
    );
    const p = prepare(ds, test, { val: 4 });
    assert.equal(p.evaluatedOn, 'validation');
    assert.deepEqual([...p.test.labels], [6, 7, 8, 9]);
    assert.deepEqual([...p.testSplit!.labels], [9, 8, 7]);
    const x = filled(p.testSplit!, [1]);
    assert.ok(Math.abs(x[0] - (101 / 255 - p.norm.mean[0]) / p.norm.std[0]) < 1e-4);
    assert.equal(prepare(ds, test, {}).testSplit, undefined); // the test split is the evaluation set itself
    assert.equal(prepare(ds, test, { val: 4, testLimit: 2 }).testSplit!.length, 2);

    const root = tmpDir();
    writeCifarSet(root, 5, 4, 0);
    assert.equal(loadDataset('cifar-10', root, { val: 4 }).testSplit, undefined); // no test batch here
    const partial = join(root, 'cifar-10', 'test_batch_first1000.bin');
    writeFileSync(partial, cifarRecords([3, 1, 4]));
    const c = loadDataset('cifar-10', root, { val: 4 });
    assert.equal(c.testSplit!.name, 'cifar-10-test-first1000');
    assert.deepEqual([...c.testSplit!.labels], [3, 1, 4]);
    // Without --val the partial batch is not taken for the whole test set.
    assert.throws(() => loadDataset('cifar-10', root), /test_batch\.bin/);
  });

  test('subsets: first N, seeded random N, and stratified N spread over the classes', () => {
    const labels = [...Array(30).fill(0), ...Array(5).fill(1), ...Array(15).fill(2)];
    const ds = images(
      50,
      [1, 1, 1],
      (k) => k,
      (k) => labels[k],
    );
    assert.deepEqual([...subset(ds, 3, 'first').labels], [0, 0, 0]);
    const r1 = subset(ds, 10, 'random', 7);
    const r2 = subset(ds, 10, 'random', 7);
    assert.deepEqual([...r1.rows!], [...r2.rows!]);
    assert.ok(
      r1.rows!.every((v, i) => i === 0 || v > r1.rows![i - 1]),
      'file order kept',
    );
    assert.notDeepEqual([...subset(ds, 10, 'random', 8).rows!], [...r1.rows!]);
    const s = subset(ds, 12, 'stratified', 3);
    assert.deepEqual(s.classCounts().slice(0, 3), [4, 4, 4]);
    const big = subset(ds, 20, 'stratified', 3); // class 1 has only 5: the others share the rest
    assert.deepEqual(big.classCounts().slice(0, 3).sort(), [5, 7, 8].sort());
    assert.equal(new Set(big.rows).size, 20);
    // A subset of a subset maps back to the right images.
    assert.deepEqual(
      [...filled(s.slice(1, 3), [0, 1])].map((v) => Math.round(v * 255)),
      [...s.rows!.subarray(1, 3)],
    );
  });
});

describe('augmentation', () => {
  const ds = images(3, [2, 4, 4], (k, ch, y, x) => 1 + k * 40 + ch * 20 + y * 4 + x).with({
    norm: { mean: [0.1, 0.2], std: [0.5, 0.25] },
  });

  /**
   * The (dy, dx, flip) that explain sample s of the 2×4×4 batch `a` exactly: output (y, x) of
   * channel c shows source(c, y + dy, x' + dx), x' the mirrored column when flipping.
   */
  const explain = (a: Float32Array, s: number, source: (c: number, sy: number, sx: number) => number) =>
    [-1, 0, 1]
      .flatMap((dy) => [-1, 0, 1].flatMap((dx) => [false, true].map((flip) => ({ dy, dx, flip }))))
      .filter(({ dy, dx, flip }) => {
        for (let c = 0; c < 2; c++)
          for (let y = 0; y < 4; y++)
            for (let x = 0; x < 4; x++)
              if (Math.abs(a[s * 32 + c * 16 + y * 4 + x] - source(c, y + dy, (flip ? 3 - x : x) + dx)) > 1e-6)
                return false;
        return true;
      });

  test('each sample is its source shifted (zero-padded) and maybe flipped; seeded by (seed, epoch, index)', () => {
    const aug = new AugmentedDataset(ds, { shift: 1, flip: true }, 5);
    const plain = filled(ds, [0, 1, 2]);
    const pad = [ds.zeroValue(0), ds.zeroValue(1)];
    assert.ok(Math.abs(pad[0] - (0 - 0.1) / 0.5) < 1e-6);
    const seen = new Set<string>();
    for (let epoch = 0; epoch < 6; epoch++) {
      aug.startEpoch(epoch);
      const a = filled(aug, [0, 1, 2]);
      assert.deepEqual(a, filled(aug, [0, 1, 2]), 'same epoch, same transform');
      assert.deepEqual(filled(aug, [2]), a.subarray(64), 'independent of batch position');
      for (let s = 0; s < 3; s++) {
        const match = explain(a, s, (c, sy, sx) =>
          sy >= 0 && sy < 4 && sx >= 0 && sx < 4 ? plain[s * 32 + c * 16 + sy * 4 + sx] : pad[c],
        );
        assert.equal(match.length, 1, `sample ${s} epoch ${epoch}`);
        seen.add(JSON.stringify(match[0]));
      }
    }
    assert.ok(seen.size >= 6, `transforms vary: ${[...seen].join(' ')}`);
    assert.equal(aug.labels, ds.labels);
    const other = new AugmentedDataset(ds, { shift: 1, flip: true }, 6);
    aug.startEpoch(0);
    assert.notDeepEqual(filled(other, [0, 1, 2]), filled(aug, [0, 1, 2]));
  });

  test('shift:N:reflect fills the uncovered border with the mirrored image; flip:alternate flips every other epoch', () => {
    const plain = filled(ds, [0, 1, 2]);
    const reflect = (i: number) => (i < 0 ? -i : i > 3 ? 6 - i : i);
    const aug = new AugmentedDataset(ds, { shift: 1, flip: true, reflect: true, alternateFlip: true }, 5);
    const flips: boolean[][] = [];
    let moved = 0;
    for (let epoch = 0; epoch < 4; epoch++) {
      aug.startEpoch(epoch);
      const a = filled(aug, [0, 1, 2]);
      flips.push(
        [0, 1, 2].map((s) => {
          const match = explain(a, s, (c, sy, sx) => plain[s * 32 + c * 16 + reflect(sy) * 4 + reflect(sx)]);
          assert.ok(match.length >= 1, `sample ${s} epoch ${epoch}: no reflected shift explains it`);
          if (match[0].dy !== 0 || match[0].dx !== 0) moved++;
          return match[0].flip;
        }),
      );
    }
    assert.ok(moved > 0, 'some samples were shifted');
    for (let e = 1; e < 4; e++)
      assert.deepEqual(
        flips[e],
        flips[e - 1].map((f) => !f),
        `epoch ${e} flips exactly the images epoch ${e - 1} did not`,
      );
    assert.deepEqual(parseAugmentation('shift:2:reflect,flip:alternate', 'cifar-10'), {
      shift: 2,
      flip: true,
      reflect: true,
      alternateFlip: true,
    });
  });

  test('rotate and scale: exact quarter turns and zooms about the centre, bilinear in between, reproducible per epoch', () => {
    // A 3×5 (odd) image: a quarter turn of a 3×3 crop must permute pixels exactly.
    const src = Float32Array.from({ length: 9 }, (_, i) => i + 1);
    const out = new Float32Array(9);
    const base = { zoom: 1, dy: 0, dx: 0, flip: false, pads: [-1] };
    warpImage(out, src, [1, 3, 3], { ...base, angle: Math.PI / 2 });
    // Output (y, x) reads source (cy − (x − cx), cx + (y − cy)): the image turned a quarter.
    assert.deepEqual(
      Array.from(out, (v) => Math.round(v * 1e6) / 1e6),
      [7, 4, 1, 8, 5, 2, 9, 6, 3],
    );
    // Zoom 2 about the centre of a 1×5 row: output x reads source 2 + (x − 2) / 2.
    const row = Float32Array.from([0, 10, 20, 30, 40]);
    const zoomed = new Float32Array(5);
    warpImage(zoomed, row, [1, 1, 5], { ...base, angle: 0, zoom: 2 });
    assert.deepEqual(Array.from(zoomed), [10, 15, 20, 25, 30]);
    // Zoom ½: the outer pixels read past the edge and get the padding value, or the mirror with reflect.
    warpImage(zoomed, row, [1, 1, 5], { ...base, angle: 0, zoom: 0.5 });
    assert.deepEqual(Array.from(zoomed), [-1, 0, 20, 40, -1]);
    warpImage(zoomed, row, [1, 1, 5], { ...base, angle: 0, zoom: 0.5, reflect: true });
    assert.deepEqual(Array.from(zoomed), [20, 0, 20, 40, 20]);

    const aug = new AugmentedDataset(ds, { shift: 0, flip: false, rotate: 30, scale: 0.2 }, 3);
    const plain = filled(ds, [0, 1, 2]);
    aug.startEpoch(0);
    const a0 = filled(aug, [0, 1, 2]);
    aug.startEpoch(1);
    const a1 = filled(aug, [0, 1, 2]);
    aug.startEpoch(0);
    assert.deepEqual(filled(aug, [0, 1, 2]), a0, 'the same epoch gives the same transforms');
    assert.notDeepEqual(a0, a1, 'another epoch another transform');
    assert.notDeepEqual(a0, plain);
    // Bilinear weights are convex: every value lies between the image's (and padding's) extremes.
    const lo = Math.min(...plain, ds.zeroValue(0), ds.zeroValue(1));
    const hi = Math.max(...plain);
    for (const v of [...a0, ...a1]) assert.ok(v >= lo - 1e-5 && v <= hi + 1e-5, `${v} outside [${lo}, ${hi}]`);
    assert.deepEqual(parseAugmentation('shift:2,rotate:10,scale:0.1', 'mnist'), {
      shift: 2,
      flip: false,
      rotate: 10,
      scale: 0.1,
    });
    assert.throws(() => parseAugmentation('rotate:0', 'mnist'), /rotate takes degrees above 0 and at most 180/);
    assert.throws(() => parseAugmentation('scale:1.5', 'mnist'), /scale takes a fraction above 0 and at most 0.9/);
    assert.throws(() => parseAugmentation('rotate:x', 'mnist'), /--augment rotate:x/);
  });

  test('--augment parsing and per-data-set defaults', () => {
    assert.equal(parseAugmentation(undefined, 'mnist'), null);
    assert.equal(parseAugmentation('off', 'mnist'), null);
    assert.deepEqual(parseAugmentation('default', 'cifar-10'), { shift: 4, flip: true });
    assert.deepEqual(parseAugmentation('default', 'mnist'), { shift: 2, flip: false });
    assert.deepEqual(parseAugmentation('shift:3,flip', 'mnist'), { shift: 3, flip: true });
    assert.throws(() => parseAugmentation('turn:5', 'mnist'), /--augment: expected off, default, or a list/);
    assert.throws(
      () => new AugmentedDataset(ds, { shift: 4, flip: false }, 1),
      /shift:4 is not smaller than the 4×4 images/,
    );
  });

  test('the trainer tells the data set each epoch', async () => {
    const seen: number[] = [];
    const inner = images(
      8,
      [1, 2, 2],
      (k, _c, y, x) => (k * 17 + y * 5 + x * 3) % 256,
      (k) => k % 2,
    ).with({ flat: true });
    const spy = new AugmentedDataset(inner, { shift: 1, flip: false }, 1);
    const start = spy.startEpoch.bind(spy);
    spy.startEpoch = (e: number) => {
      seen.push(e);
      start(e);
    };
    const model = buildModel(
      {
        format: 'convts-model',
        version: 1,
        input: [4],
        layers: [{ type: 'dense', units: 2 }, { type: 'softmax' }],
        loss: 'cross-entropy',
        classes: ['a', 'b'],
      },
      { seed: 1 },
    );
    await train(model, spy, null, {
      epochs: 3,
      batchSize: 4,
      seed: 1,
      optimizer: makeOptimizer({ kind: 'sgd', lr: 0.01 }),
    });
    assert.deepEqual(seen, [0, 1, 2]);
  });
});
