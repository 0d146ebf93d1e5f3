import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  AvgPool2d,
  ByteImageDataset,
  buildModel,
  builtinSpec,
  ConfigError,
  Conv2d,
  cachedFeatures,
  type ExtractOptions,
  evaluate,
  extractFeatures,
  type FeatureJob,
  type FilterBank,
  featureMaps,
  lmBank,
  loadFeatureDatasets,
  MaxPool2d,
  Rng,
  Sgd,
  Tensor,
  train,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'convts-features-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** n random 28×28 "digits" with labels 0–9, z-scored with their own statistics. */
function images(n: number, seed: number): ByteImageDataset {
  const rng = new Rng(seed);
  const px = Uint8Array.from({ length: n * 784 }, () => (rng.uniform() < 0.7 ? 0 : Math.floor(256 * rng.uniform())));
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const ds = new ByteImageDataset(
    'toy',
    px,
    labels,
    [1, 28, 28],
    Array.from({ length: 10 }, (_, i) => String(i)),
  );
  return ds.with({ norm: ds.stats() });
}

/** Direct float64 valid convolution + bias + activation + 2×2 pooling, written out independently. */
function naiveFeatures(ds: ByteImageDataset, bank: FilterBank, o: ExtractOptions): Float64Array {
  const { count: K, kh, kw } = bank;
  const oh = 28 - kh + 1;
  const ow = 28 - kw + 1;
  const ph = Math.floor(oh / 2);
  const pw = Math.floor(ow / 2);
  const out = new Float64Array(ds.length * K * ph * pw);
  const x = new Float32Array(784);
  const act = (v: number) => (o.activation === 'relu' ? Math.max(v, 0) : o.activation === 'tanh' ? Math.tanh(v) : v);
  let q = 0;
  for (let s = 0; s < ds.length; s++) {
    ds.fill(x, [s], 0, 1);
    for (let k = 0; k < K; k++) {
      const map = new Float64Array(oh * ow);
      for (let r = 0; r < oh; r++) {
        for (let c = 0; c < ow; c++) {
          let v = o.bias ?? 0;
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) v += bank.data[(k * kh + i) * kw + j] * x[(r + i) * 28 + c + j];
          map[r * ow + c] = act(v);
        }
      }
      for (let r = 0; r < ph; r++) {
        for (let c = 0; c < pw; c++) {
          const w4 = [
            map[2 * r * ow + 2 * c],
            map[2 * r * ow + 2 * c + 1],
            map[(2 * r + 1) * ow + 2 * c],
            map[(2 * r + 1) * ow + 2 * c + 1],
          ];
          out[q++] = o.pool === 'avg' ? (w4[0] + w4[1] + w4[2] + w4[3]) / 4 : Math.max(...w4);
        }
      }
    }
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; at: number } {
  assert.equal(a.length, b.length);
  let diff = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) [diff, at] = [d, i];
  }
  return { diff, at };
}

test('extraction = valid convolution with the bank + pooling: 1296 features, to float32 tolerance', () => {
  const ds = images(7, 1);
  const bank = lmBank();
  for (const o of [
    { pool: 'max' },
    { pool: 'avg', bias: 0.25, activation: 'relu' },
    { pool: 'max', activation: 'tanh', batchSize: 3 },
  ] as ExtractOptions[]) {
    const f = extractFeatures(ds, bank, o);
    assert.equal(f.dim, 1296);
    const { diff, at } = maxDiff(f.data, naiveFeatures(ds, bank, o));
    assert.ok(diff < 2e-5, `${JSON.stringify(o)}: feature ${at} differs by ${diff}`);
  }
});

test('extraction = a Conv2d layer forward with the bank as frozen weights, then the pool layer', () => {
  const ds = images(5, 2);
  const bank = lmBank({ size: 9, scales: [1, 2], count: 8 });
  for (const pool of ['max', 'avg'] as const) {
    const conv = new Conv2d({ type: 'conv2d', filters: 8, kernel: 9, bias: false }, [1, 28, 28]);
    conv.weight.value.data.set(bank.data);
    const p =
      pool === 'max'
        ? new MaxPool2d({ type: 'maxpool2d', size: 2 }, conv.outShape)
        : new AvgPool2d({ type: 'avgpool2d', size: 2 }, conv.outShape);
    const x = new Tensor([5, 1, 28, 28]);
    ds.fill(x.data, [0, 1, 2, 3, 4], 0, 5);
    const want = p.forward(conv.forward(x)).data;
    const { diff, at } = maxDiff(extractFeatures(ds, bank, { pool }).data, want);
    assert.ok(diff < 1e-6, `${pool}: feature ${at} differs by ${diff}`);
    // The maps before pooling are the conv layer's output.
    const maps = featureMaps(bank, x.data.subarray(784, 1568), [1, 28, 28]);
    assert.equal(maps.length, 8);
    const y = conv.forward(x.reshape([5, 1, 28, 28])).data;
    assert.ok(maxDiff(maps[7], y.subarray((8 + 7) * 400, (8 + 8) * 400)).diff < 1e-6);
  }
});

test('feature cache: written, hit on the second run, rebuilt when damaged or stale', () => {
  const job: FeatureJob = { bank: lmBank(), dataset: 'toy', train: images(12, 3), test: images(4, 4) };
  const path = join(dir, 'toy.feat');
  const first = cachedFeatures(job, { path });
  assert.equal(first.hit, false);
  assert.equal(first.rebuilt, undefined);
  const second = cachedFeatures(job, { path });
  assert.equal(second.hit, true);
  assert.deepEqual(second.train.features, first.train.features);
  assert.deepEqual(second.test.labels, job.test.labels);
  assert.equal(second.header.key, first.header.key);

  const bytes = readFileSync(path);
  bytes[bytes.length - 100] ^= 0x40; // one bit in the test features
  writeFileSync(path, bytes);
  const third = cachedFeatures(job, { path });
  assert.equal(third.hit, false);
  assert.match(third.rebuilt!, /damaged: .*checksum mismatch/);
  assert.deepEqual(third.train.features, first.train.features);
  assert.equal(cachedFeatures(job, { path }).hit, true);

  writeFileSync(path, readFileSync(path).subarray(0, 5000));
  assert.match(cachedFeatures(job, { path }).rebuilt!, /damaged: .*truncated/);
  writeFileSync(path, 'not a feature file');
  assert.match(cachedFeatures(job, { path }).rebuilt!, /damaged: .*no "CVTSFEAT" magic/);

  const avg = cachedFeatures({ ...job, options: { pool: 'avg' } }, { path });
  assert.equal(avg.hit, false);
  assert.match(avg.rebuilt!, /stale/);
  const otherBank = cachedFeatures({ ...job, bank: lmBank({ scales: [1, 1.5, 2] }) }, { path });
  assert.match(otherBank.rebuilt!, /stale/);
  const otherData = cachedFeatures({ ...job, train: images(12, 5) }, { path });
  assert.match(otherData.rebuilt!, /stale/);
  assert.equal(cachedFeatures({ ...job, train: images(12, 5) }, { path }).hit, true);
  // Without a path, one file per key in the cache folder.
  const byKey = cachedFeatures(job, { dir });
  assert.ok(byKey.path.startsWith(join(dir, 'toy-lm-max-')));
  assert.equal(cachedFeatures(job, { dir }).hit, true);
});

test('task1-fc trains on a feature file through the ordinary trainer', async () => {
  const path = join(dir, 'train.feat');
  cachedFeatures({ bank: lmBank(), dataset: 'toy', train: images(20, 6), test: images(10, 7) }, { path });
  const { train: tr, test: te } = loadFeatureDatasets(path);
  assert.deepEqual([tr.shape, tr.length, te.length, tr.classNames.length], [[1296], 20, 10, 10]);
  const model = buildModel(builtinSpec('task1-fc'), { seed: 1 });
  const r = await train(model, tr, te, { epochs: 3, batchSize: 1, seed: 1, optimizer: new Sgd({ lr: 0.1 }) });
  assert.equal(r.epochs.length, 3);
  assert.ok(
    r.epochs[2].trainLoss < r.epochs[0].trainLoss,
    `train loss ${r.epochs.map((e) => e.trainLoss.toFixed(4)).join(' → ')}`,
  );
  assert.equal(
    evaluate(model, te)
      .confusion.flat()
      .reduce((a, b) => a + b, 0),
    10,
  );
  assert.throws(
    () => loadFeatureDatasets(join(dir, 'none.feat')),
    (e: unknown) =>
      e instanceof ConfigError && /none\.feat not found — make it with convts features/.test((e as Error).message),
  );
});
