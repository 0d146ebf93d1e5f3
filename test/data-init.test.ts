// Layer options of airbench-style networks: patch-whitening filters computed from the training
// images, dirac (identity) starts, and frozen parameters that no optimizer moves.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildModel,
  ConfigError,
  type Conv2d,
  initFromData,
  type ModelSpec,
  makeOptimizer,
  patchMoment,
  patchWhiteningWeights,
  Rng,
  ShapeError,
  symmetricEigen,
  train,
} from '../src/index.js';
import { SyntheticDataset } from './helpers/synthetic.js';

const net = (layers: unknown[], input = [3, 8, 8]): ModelSpec =>
  ({ input, layers, loss: 'cross-entropy' }) as ModelSpec;

describe('symmetricEigen', () => {
  test('reconstructs a random symmetric matrix from its descending eigenpairs', () => {
    const n = 12;
    const rng = new Rng(3);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rng.normal();
    const { values, vectors } = symmetricEigen(a, n);
    for (let k = 1; k < n; k++) assert.ok(values[k - 1] >= values[k]);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let r = 0;
        let dot = 0;
        for (let k = 0; k < n; k++) {
          r += vectors[k * n + i] * values[k] * vectors[k * n + j];
          dot += vectors[i * n + k] * vectors[j * n + k];
        }
        assert.ok(Math.abs(r - a[i * n + j]) < 1e-9, `A[${i}][${j}]: ${r} vs ${a[i * n + j]}`);
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-9, 'eigenvectors are orthonormal');
      }
    }
  });
});

describe('patch whitening', () => {
  // Correlated channels: the second and third are mostly copies of the first.
  const shape = [3, 8, 8];
  const count = 40;
  const rng = new Rng(5);
  const images = new Float32Array(count * 192);
  for (let s = 0; s < count; s++) {
    for (let p = 0; p < 64; p++) {
      const v = rng.normal();
      images[s * 192 + p] = v;
      images[s * 192 + 64 + p] = 0.9 * v + 0.1 * rng.normal();
      images[s * 192 + 128 + p] = -0.5 * v + 0.3 * rng.normal();
    }
  }

  test('the first half of the filters decorrelates the patches to unit variance; the second half is its negative', () => {
    const w = patchWhiteningWeights(images, count, shape, 24, 2, 2, 0);
    const m = patchMoment(images, count, shape, 2, 2);
    for (let a = 0; a < 12; a++) {
      for (let b = 0; b < 12; b++) {
        let c = 0; // wₐᵀ M w_b
        for (let i = 0; i < 12; i++) for (let j = 0; j < 12; j++) c += w[a * 12 + i] * m[i * 12 + j] * w[b * 12 + j];
        assert.ok(Math.abs(c - (a === b ? 1 : 0)) < 1e-3, `filters ${a}, ${b}: ${c}`);
      }
      for (let i = 0; i < 12; i++) assert.equal(w[(a + 12) * 12 + i], -w[a * 12 + i]);
    }
  });

  test('the patch moment equals, to the bit, the patch-by-patch sum (any kernel and image shape)', () => {
    const r = new Rng(4);
    const [c, h, w, kh, kw, n] = [2, 5, 7, 3, 2, 3];
    const x = Float32Array.from({ length: n * c * h * w }, () => r.normal());
    const d = c * kh * kw;
    const want = new Float64Array(d * d);
    let patches = 0;
    for (let s = 0; s < n; s++)
      for (let y = 0; y + kh <= h; y++)
        for (let xx = 0; xx + kw <= w; xx++, patches++) {
          const p: number[] = [];
          for (let ch = 0; ch < c; ch++)
            for (let dy = 0; dy < kh; dy++)
              for (let dx = 0; dx < kw; dx++) p.push(x[s * c * h * w + (ch * h + y + dy) * w + xx + dx]);
          for (let i = 0; i < d; i++) for (let j = i; j < d; j++) want[i * d + j] += p[i] * p[j];
        }
    for (let i = 0; i < d; i++)
      for (let j = i; j < d; j++) {
        want[i * d + j] /= patches;
        want[j * d + i] = want[i * d + j];
      }
    assert.deepEqual(Array.from(patchMoment(x, n, [c, h, w], kh, kw)), Array.from(want));
  });

  test('training starts from the whitening filters of the training images, and a frozen weight stays so', async () => {
    const ds = new SyntheticDataset('syn', 64, [3, 8, 8], 4, 1);
    const spec = net([
      { type: 'conv2d', filters: 24, kernel: 2, init: 'patch-whitening', freeze: ['weight'] },
      { type: 'gelu' },
      { type: 'globalavgpool' },
      { type: 'dense', units: 4 },
    ]);
    const model = buildModel(spec, { seed: 1 });
    const conv = model.layers[0] as Conv2d;
    const images = new Float32Array(64 * 192);
    ds.fill(
      images,
      Int32Array.from({ length: 64 }, (_, i) => i),
      0,
      64,
    );
    const expected = patchWhiteningWeights(images, 64, [3, 8, 8], 24, 2, 2);
    const told: string[] = [];
    await train(model, ds, null, {
      epochs: 2,
      batchSize: 16,
      seed: 1,
      optimizer: makeOptimizer({ kind: 'momentum', lr: 0.1, weightDecay: 0.01 }),
      onDataInit: (w) => told.push(w),
    });
    assert.deepEqual(conv.weight.value.data, expected, 'the weight is the whitening and never moved');
    assert.ok(
      conv.bias!.value.data.some((b) => b !== 0),
      'the bias trained',
    );
    assert.match(told.join(), /conv1: patch-whitening filters from 64 training images/);
  });

  test('refused with the filter count it needs, or when it is not the first layer', () => {
    assert.throws(
      () => buildModel(net([{ type: 'conv2d', filters: 16, kernel: 2, init: 'patch-whitening' }])),
      (e: unknown) => e instanceof ShapeError && /needs 2 × 3·2·2 = 24 filters .*got 16/.test((e as Error).message),
    );
    const model = buildModel(
      net([
        { type: 'conv2d', filters: 3, kernel: 1 },
        { type: 'conv2d', filters: 24, kernel: 2, init: 'patch-whitening' },
        { type: 'globalavgpool' },
        { type: 'dense', units: 4 },
      ]),
    );
    assert.throws(
      () => initFromData(model, new SyntheticDataset('syn', 8, [3, 8, 8], 4, 1)),
      (e: unknown) => e instanceof ConfigError && /conv2.*must be the model's first layer/.test((e as Error).message),
    );
  });
});

describe('dirac and freeze', () => {
  test('a dirac convolution passes its channels through, the extra filters keep the model initializer', () => {
    const model = buildModel(
      net([
        { type: 'conv2d', filters: 5, kernel: 3, padding: 'same', init: 'dirac', bias: false },
        { type: 'globalavgpool' },
        { type: 'dense', units: 2 },
      ]),
      { seed: 2 },
    );
    const w = (model.layers[0] as Conv2d).weight.value.data;
    for (let f = 0; f < 3; f++)
      for (let i = 0; i < 27; i++) assert.equal(w[f * 27 + i], i === f * 9 + 4 ? 1 : 0, `filter ${f} tap ${i}`);
    assert.ok(
      w.subarray(81).some((v) => v !== 0 && v !== 1),
      'filters 3 and 4 are random',
    );
  });

  test('frozen parameters are left alone by SGD and Adam; unknown names and values are refused', async () => {
    for (const kind of ['nesterov', 'adamw'] as const) {
      const spec = net(
        [
          { type: 'conv2d', filters: 4, kernel: 3, freeze: true },
          { type: 'batchnorm', freeze: ['weight'] },
          { type: 'relu' },
          { type: 'flatten' },
          { type: 'dense', units: 4, freeze: ['bias'] },
        ],
        [3, 6, 6],
      );
      const model = buildModel(spec, { seed: 3 });
      const before = model.params().map((p) => p.value.data.slice());
      await train(model, new SyntheticDataset('syn', 32, [3, 6, 6], 4, 2), null, {
        epochs: 1,
        batchSize: 8,
        seed: 1,
        optimizer: makeOptimizer({ kind, lr: 0.05, weightDecay: 0.1 }),
        clipGrad: 1,
      });
      const names = model.namedParams().map((p) => p.name);
      model.params().forEach((p, i) => {
        const moved = p.value.data.some((v, j) => v !== before[i][j]);
        const frozen = ['conv1.weight', 'conv1.bias', 'bn1.weight', 'fc1.bias'].includes(names[i]);
        assert.equal(moved, !frozen, `${kind} ${names[i]}`);
      });
    }
    assert.throws(
      () => buildModel(net([{ type: 'conv2d', filters: 4, kernel: 3, bias: false, freeze: ['bias'] }])),
      /layer 0 \(conv2d\): "freeze": this layer has no "bias" to freeze — it has weight/,
    );
    assert.throws(() => buildModel(net([{ type: 'dense', units: 4, freeze: 'yes' }], [4])), /freeze/);
  });

  test('"freezeAfter" trains a parameter for its epochs, then freezes it and cuts the backward pass before it', async () => {
    const spec = net(
      [
        { type: 'conv2d', filters: 4, kernel: 3, freeze: ['weight'], freezeAfter: { bias: 2 } },
        { type: 'gelu' },
        { type: 'conv2d', filters: 4, kernel: 3 },
        { type: 'flatten' },
        { type: 'dense', units: 4 },
      ],
      [3, 8, 8],
    );
    const model = buildModel(spec, { seed: 3 });
    assert.deepEqual(
      model.layers.map((l) => l.propagateDown),
      [false, true, true, true, true],
      'the first bias trains: the gradient reaches it',
    );
    const bias = (model.layers[0] as Conv2d).bias!.value.data;
    const seen = [bias.slice()];
    const propagates: boolean[][] = [];
    await train(model, new SyntheticDataset('syn', 32, [3, 8, 8], 4, 2), null, {
      epochs: 4,
      batchSize: 8,
      seed: 1,
      optimizer: makeOptimizer({ kind: 'nesterov', lr: 0.05, weightDecay: 0.01 }),
      onEpoch: () => {
        seen.push(bias.slice());
        propagates.push(model.layers.map((l) => l.propagateDown));
      },
    });
    const moved = seen.slice(1).map((b, e) => b.some((v, j) => v !== seen[e][j]));
    assert.deepEqual(moved, [true, true, false, false], 'the bias moves in epochs 1 and 2 only');
    assert.deepEqual(propagates[1], [false, true, true, true, true]);
    assert.deepEqual(propagates[2], [false, false, false, true, true], 'nothing before the second conv trains');
    // A new run trains it again: the freeze follows the run's epochs, not the model's history.
    model.startEpoch(0);
    assert.equal((model.layers[0] as Conv2d).bias!.frozen, false);
    assert.equal(model.layers[1].propagateDown, true);

    const bad: [unknown, RegExp][] = [
      [{ bias: 0 }, /"freezeAfter".*whole number of epochs ≥ 1/],
      [{ bias: 1.5 }, /"freezeAfter"/],
      [{ gamma: 1 }, /"freezeAfter"/],
      [{}, /"freezeAfter"/],
      [[3], /"freezeAfter"/],
    ];
    for (const [freezeAfter, msg] of bad) {
      assert.throws(() => buildModel(net([{ type: 'conv2d', filters: 4, kernel: 3, freezeAfter } as never])), msg);
    }
    assert.throws(
      () => buildModel(net([{ type: 'conv2d', filters: 4, kernel: 3, freeze: ['bias'], freezeAfter: { bias: 2 } }])),
      /layer 0 \(conv2d\): "freezeAfter": "bias" is frozen from the start by "freeze"/,
    );
    assert.throws(
      () => buildModel(net([{ type: 'conv2d', filters: 4, kernel: 3, bias: false, freezeAfter: { bias: 2 } }])),
      /"freezeAfter": this layer has no "bias" to freeze — it has weight/,
    );
  });

  test("lrScale multiplies the learning rate of a layer's parameters, for SGD and AdamW", () => {
    for (const kind of ['sgd', 'adamw'] as const) {
      const spec = net(
        [
          { type: 'dense', units: 3, bias: false },
          { type: 'dense', units: 2, bias: false, lrScale: 4 },
        ],
        [3],
      );
      const model = buildModel(spec, { seed: 4 });
      const before = model.params().map((p) => p.value.data.slice());
      for (const p of model.params()) p.grad.data.fill(0.5);
      makeOptimizer({ kind, lr: 0.01, weightDecay: 0 }).step(model.params());
      const moved = model.params().map((p, i) => p.value.data[0] - before[i][0]);
      assert.ok(Math.abs(moved[1] / moved[0] - 4) < 1e-4, `${kind}: ${moved[1]} vs ${moved[0]}`);
    }
    assert.throws(() => buildModel(net([{ type: 'dense', units: 4, lrScale: 0 }], [4])), /lrScale/);
  });

  test("weightDecay replaces the optimizer's decay for a layer, even one --wd-skip-norm would skip", () => {
    // Zero gradients: one step moves a weight by −lr·wd·w (SGD, L2) or −lr·wd·w (AdamW, decoupled).
    for (const kind of ['sgd', 'adamw'] as const) {
      const spec = net(
        [
          { type: 'dense', units: 3, bias: false },
          { type: 'batchnorm', weightDecay: 0.5 },
          { type: 'dense', units: 2, bias: false, weightDecay: 0 },
        ],
        [3],
      );
      const model = buildModel(spec, { seed: 4 });
      const params = model.params();
      for (const p of params) p.value.data.fill(2);
      for (const p of params) p.grad.data.fill(0);
      makeOptimizer({ kind, lr: 0.1, weightDecay: 0.01, skipNormDecay: true }).step(params);
      const moved = model.namedParams().map((p) => [p.name, 2 - p.param.value.data[0]]);
      assert.deepEqual(
        moved.map(([n, d]) => [n, Math.round((d as number) * 1e6) / 1e6]),
        [
          ['fc1.weight', 0.002], // the optimizer's 0.01
          ['bn1.weight', 0.1], // its own 0.5, where --wd-skip-norm would have left it alone
          ['bn1.bias', 0.1],
          ['fc2.weight', 0], // its own 0
        ],
        kind,
      );
    }
    assert.throws(() => buildModel(net([{ type: 'dense', units: 4, weightDecay: -1 }], [4])), /weightDecay.*≥ 0/);
  });

  test('a layer initializer of its own, and torch-default weights within ±1/√fanIn', () => {
    const model = buildModel(
      {
        ...net(
          [
            { type: 'conv2d', filters: 6, kernel: 3 },
            { type: 'flatten' },
            { type: 'dense', units: 3, init: { kind: 'normal', std: 0.001 } },
          ],
          [2, 5, 5],
        ),
        init: { kind: 'torch-default' },
      },
      { seed: 5 },
    );
    const conv = model.params()[0].value.data;
    const limit = 1 / Math.sqrt(18);
    assert.ok(conv.every((v) => Math.abs(v) <= limit) && conv.some((v) => Math.abs(v) > limit / 2));
    const dense = model.params()[2].value.data;
    const std = Math.sqrt(dense.reduce((a, v) => a + v * v, 0) / dense.length);
    assert.ok(std > 0.0007 && std < 0.0013, `dense std ${std}`);
    assert.throws(
      () => buildModel(net([{ type: 'dense', units: 4, init: { kind: 'normal' } }], [4])),
      /"init".*an initializer like/,
    );
  });
});
