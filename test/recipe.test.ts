// The training aids inside the trainer: the weight average is what gets evaluated and kept, it
// survives a checkpoint bit for bit, and bad settings are refused before training.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildModel,
  evaluate,
  loadCheckpoint,
  type ModelSpec,
  makeOptimizer,
  saveCheckpoint,
  Tensor,
  type TrainOptions,
  train,
} from '../src/index.js';
import { Recipe } from '../src/train/recipe.js';
import { abortAfter } from './helpers/optimizer.js';
import { SyntheticDataset } from './helpers/synthetic.js';
import { bits, tempDir } from './helpers/tmp.js';

const spec: ModelSpec = {
  input: [3, 6, 6],
  loss: 'cross-entropy',
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3, padding: 'same', bias: false },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'residual', layers: [{ type: 'conv2d', filters: 4, kernel: 3, padding: 'same' }, { type: 'batchnorm' }] },
    { type: 'globalavgpool' },
    { type: 'dense', units: 3 },
  ],
};
const data = new SyntheticDataset('synthetic', 50, [3, 6, 6], 3, 1);
const held = new SyntheticDataset('held-out', 20, [3, 6, 6], 3, 2);
const state = (m: ReturnType<typeof buildModel>) => [
  ...m.params().map((p) => bits(p.value.data).slice()),
  ...m.namedBuffers().map((b) => bits(b.buffer.value.data).slice()),
];
const opts = (o: Partial<TrainOptions> = {}): TrainOptions => ({
  epochs: 3,
  batchSize: 8,
  seed: 2,
  optimizer: makeOptimizer({ kind: 'adamw', lr: 0.01, weightDecay: 0.05, skipNormDecay: true }),
  schedule: { kind: 'onecycle' },
  warmupEpochs: 0.5,
  labelSmoothing: 0.1,
  clipGrad: 1,
  ema: 0.9,
  ...o,
});

describe('a modern recipe in the trainer', () => {
  test('the weight average is evaluated and kept; a resumed run ends with the same average, bit for bit', async () => {
    const straight = buildModel(spec, { seed: 1 });
    const full = await train(straight, data, held, opts({ patience: 5 }));
    assert.deepEqual(full.test, evaluate(straight, held), 'the model holds the weights that were evaluated');

    const ctl = new AbortController();
    const stopping = abortAfter(opts().optimizer, 9, ctl);
    const first = buildModel(spec, { seed: 1 });
    const stopped = await train(first, data, held, opts({ optimizer: stopping, signal: ctl.signal, patience: 5 }));
    assert.equal(stopped.stoppedBy, 'interrupted');
    assert.ok(stopped.state!.ema, 'the state holds the average');
    const dir = tempDir('convts-ema-');
    saveCheckpoint(dir, first, stopped.state!);
    const again = buildModel(spec, { seed: 7 });
    const resumed = await train(again, data, held, opts({ resume: loadCheckpoint(dir, again), patience: 5 }));
    assert.deepEqual(state(again), state(straight));
    assert.deepEqual(resumed.test, full.test);
  });

  test('lookahead: slow weights pulled every K steps by 1 − D^K·(t/T)³, the model restarts from them and ends on them', () => {
    const m = buildModel({ input: [2], loss: 'cross-entropy', layers: [{ type: 'dense', units: 2, bias: false }] });
    const w = m.params()[0].value.data;
    w.fill(1);
    const r = new Recipe(m, { epochs: 2, lookahead: { every: 2, decay: 0.5 } }, 2); // 4 steps in all
    w.fill(3);
    r.afterStep(1);
    assert.equal(w[0], 3, 'no sync between the K steps');
    r.afterStep(2); // decay 0.5² · (2/4)³ = 1/32
    assert.equal(w[0], 1 / 32 + (31 / 32) * 3);
    w.fill(5);
    r.afterStep(3);
    r.afterStep(4); // decay 0.25
    const slow = 0.25 * (1 / 32 + (31 / 32) * 3) + 0.75 * 5;
    assert.equal(w[0], Math.fround(slow));
    w.fill(7);
    r.finishTraining();
    assert.equal(w[0], Math.fround(slow));
  });

  test('lookahead survives a checkpoint bit for bit, and the final weights are the slow ones', async () => {
    const la = { ema: undefined, lookahead: { every: 3, decay: 0.9 } };
    const straight = buildModel(spec, { seed: 1 });
    await train(straight, data, held, opts(la));
    const plain = buildModel(spec, { seed: 1 });
    await train(plain, data, held, opts({ ema: undefined }));
    assert.notDeepEqual(state(plain), state(straight));
    const ctl = new AbortController();
    const stopping = abortAfter(opts().optimizer, 11, ctl);
    const first = buildModel(spec, { seed: 1 });
    const stopped = await train(first, data, held, opts({ ...la, optimizer: stopping, signal: ctl.signal }));
    assert.equal(stopped.stoppedBy, 'interrupted');
    const dir = tempDir('convts-lookahead-');
    saveCheckpoint(dir, first, stopped.state!);
    const again = buildModel(spec, { seed: 7 });
    await train(again, data, held, opts({ ...la, resume: loadCheckpoint(dir, again) }));
    assert.deepEqual(state(again), state(straight));
  });

  test('without the average the model keeps its last weights, which differ from the averaged ones', async () => {
    const plain = buildModel(spec, { seed: 1 });
    await train(plain, data, null, opts({ ema: undefined }));
    const averaged = buildModel(spec, { seed: 1 });
    await train(averaged, data, null, opts());
    assert.notDeepEqual(state(plain), state(averaged));
  });

  test('patience stops when the accuracy stops improving and keeps the best epoch', async () => {
    const m = buildModel(spec, { seed: 1 });
    const r = await train(m, data, held, opts({ epochs: 12, patience: 1, ema: undefined }));
    assert.equal(r.stoppedBy, 'patience');
    assert.ok(r.epochs.length < 12);
    const accs = r.epochs.map((e) => e.testAccuracy!);
    assert.equal(r.test!.accuracy, Math.max(...accs));
    assert.ok(accs[accs.length - 1] <= accs[accs.length - 2], 'the last epoch did not improve');
    assert.deepEqual(evaluate(m, held), r.test, 'the model holds the best epoch’s weights');
    await assert.rejects(train(m, data, null, opts({ patience: 2 })), /patience needs an evaluation after every epoch/);
  });

  test('bad settings fail before the first step', async () => {
    const m = buildModel(spec, { seed: 1 });
    for (const [o, msg] of [
      [{ labelSmoothing: 1 }, /label smoothing must be in \[0, 1\), got 1/],
      [{ ema: 1 }, /decay must be in \(0, 1\), got 1/],
      [{ clipGrad: 0 }, /gradient clipping needs a norm > 0, got 0/],
      [{ warmupEpochs: -1 }, /warm-up must be ≥ 0 epochs, got -1/],
      [{ lookahead: { every: 5, decay: 0.95 } }, /lookahead and a weight average \(ema\) cannot be combined/],
      [{ ema: undefined, lookahead: { every: 0, decay: 0.95 } }, /lookahead needs a whole number of steps ≥ 1/],
    ] as [Partial<TrainOptions>, RegExp][]) {
      const before = state(m);
      await assert.rejects(train(m, data, null, opts(o)), msg);
      assert.deepEqual(state(m), before);
    }
    const bce = buildModel({ ...spec, loss: 'bce', layers: [...spec.layers, { type: 'sigmoid' }] });
    await assert.rejects(
      train(bce, data, null, opts()),
      /label smoothing needs the cross-entropy loss, the model uses bce/,
    );
  });
});

test('flip averaging scores each image by the mean logits of it and its mirror image', () => {
  const m = buildModel(spec, { seed: 4 });
  const x = new Tensor(
    [2, 3, 6, 6],
    Float32Array.from({ length: 216 }, (_, i) => Math.sin(i * 1.7)),
  );
  const mirrored = new Tensor(
    x.shape,
    x.data.map((_, i) => x.data[i - (i % 6) + 5 - (i % 6)]),
  );
  const a = Float32Array.from(m.logits(x).data);
  const b = Float32Array.from(m.logits(mirrored).data);
  const r = m.evaluate(x, [0, 1], true);
  assert.deepEqual(Array.from(r.scores.data), Array.from(a, (v, i) => (v + b[i]) / 2).map(Math.fround));
  assert.notDeepEqual(Array.from(a), Array.from(b), 'the test image is not symmetric');
  const flat = buildModel({ input: [4], loss: 'cross-entropy', layers: [{ type: 'dense', units: 2 }] });
  assert.throws(
    () => flat.evaluate(new Tensor([1, 4]), [0], true),
    /test-time augmentation needs images, the model takes 4/,
  );
});

test('flip-translate averaging: ½ the flip average, ¼ each for the image moved 1 pixel down-right and up-left', () => {
  const m = buildModel(spec, { seed: 4 });
  const [n, c, h, w] = [2, 3, 6, 6];
  const x = new Tensor(
    [n, c, h, w],
    Float32Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i * 1.7)),
  );
  // PyTorch: F.pad(x, (1, 1, 1, 1), 'reflect') then the crops [0:h, 0:w] and [2:h+2, 2:w+2].
  const reflect = (i: number, size: number) => (i < 0 ? -i : i >= size ? 2 * size - 2 - i : i);
  const moved = (d: number) =>
    new Tensor(
      x.shape,
      x.data.map((_, i) => {
        const [plane, y, xx] = [Math.floor(i / (h * w)), Math.floor(i / w) % h, i % w];
        return x.data[plane * h * w + reflect(y - d, h) * w + reflect(xx - d, w)];
      }),
    );
  const flipped = (t: Tensor) =>
    new Tensor(
      t.shape,
      t.data.map((_, i) => t.data[i - (i % w) + w - 1 - (i % w)]),
    );
  const flipMean = (t: Tensor) => {
    const a = Float32Array.from(m.logits(t).data);
    const b = m.logits(flipped(t)).data;
    return a.map((v, i) => (v + b[i]) / 2);
  };
  const centre = flipMean(x);
  const down = flipMean(moved(1));
  const up = flipMean(moved(-1));
  const want = centre.map((v, i) => 0.5 * v + 0.25 * down[i] + 0.25 * up[i]);
  const got = m.evaluate(x, [0, 1], 'flip-translate').scores.data;
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `logit ${i}: ${v} vs ${want[i]}`));
  assert.ok(
    got.some((v, i) => Math.abs(v - centre[i]) > 1e-4),
    'the moved images change the scores',
  );
  // "translate": the same three views and weights without their mirror images.
  const plain = (t: Tensor) => Float32Array.from(m.logits(t).data);
  const [p0, p1, p2] = [plain(x), plain(moved(1)), plain(moved(-1))];
  const noMirror = m.evaluate(x, [0, 1], 'translate').scores.data;
  noMirror.forEach((v, i) => {
    const t = 0.5 * p0[i] + 0.25 * p1[i] + 0.25 * p2[i];
    assert.ok(Math.abs(v - t) < 1e-6, `translate logit ${i}: ${v} vs ${t}`);
  });
  assert.ok(
    noMirror.some((v, i) => Math.abs(v - got[i]) > 1e-4),
    'without mirrors the scores differ',
  );
});
