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
  type Optimizer,
  saveCheckpoint,
  Tensor,
  type TrainOptions,
  train,
} from '../src/index.js';
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
    const inner = opts().optimizer;
    let steps = 0;
    const stopping: Optimizer = {
      get lr() {
        return inner.lr;
      },
      set lr(v) {
        inner.lr = v;
      },
      step: (p) => {
        inner.step(p);
        if (++steps === 9) ctl.abort();
      },
      state: () => inner.state(),
      loadState: (s) => inner.loadState(s),
    };
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
  assert.throws(() => flat.evaluate(new Tensor([1, 4]), [0], true), /flip averaging needs images, the model takes 4/);
});
