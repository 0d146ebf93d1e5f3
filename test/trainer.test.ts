import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildModel,
  DivergenceError,
  type EpochMetrics,
  evaluate,
  type Kernels,
  kernels,
  type ModelSpec,
  makeOptimizer,
  type Optimizer,
  referenceKernels,
  ShapeError,
  type StepMetrics,
  Tensor,
  type TrainOptions,
  train,
  useKernels,
} from '../src/index.js';
import { wrap } from './helpers/optimizer.js';
import { SyntheticDataset } from './helpers/synthetic.js';
import { bits } from './helpers/tmp.js';

const CLASSES = 4;
const spec: ModelSpec = {
  input: [1, 6, 6],
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3 },
    { type: 'relu' },
    { type: 'maxpool2d', size: 2 },
    { type: 'flatten' },
    { type: 'dense', units: CLASSES },
    { type: 'softmax' },
  ],
  loss: 'cross-entropy',
};
const trainSet = new SyntheticDataset('synthetic-train', 160, [1, 6, 6], CLASSES, 1);
const testSet = new SyntheticDataset('synthetic-test', 80, [1, 6, 6], CLASSES, 2);

function opts(o: Partial<TrainOptions> = {}): TrainOptions {
  return { epochs: 3, batchSize: 8, seed: 7, optimizer: makeOptimizer({ kind: 'momentum', lr: 0.05 }), ...o };
}

const weights = (m: ReturnType<typeof buildModel>) => m.params().map((p) => bits(p.value.data).slice());
const withoutTime = (e: EpochMetrics[]) => e.map(({ seconds: _, evalSeconds: _v, ...rest }) => rest);

describe('train', () => {
  test('learns with mini-batches and with batch size 1', async () => {
    for (const [batchSize, epochs, lr] of [
      [8, 4, 0.05],
      [1, 2, 0.01],
    ]) {
      const model = buildModel(spec, { seed: 3 });
      const before = evaluate(model, testSet);
      const r = await train(
        model,
        trainSet,
        testSet,
        opts({ batchSize, epochs, optimizer: makeOptimizer({ kind: 'momentum', lr }) }),
      );
      assert.equal(r.stoppedBy, 'epochs');
      assert.equal(r.epochs.length, epochs);
      assert.ok(
        r.test!.accuracy >= 0.9,
        `batch ${batchSize}: test accuracy ${r.test!.accuracy} (chance 0.25, before ${before.accuracy})`,
      );
      assert.ok(r.test!.loss < before.loss / 2, `batch ${batchSize}: test loss ${before.loss} → ${r.test!.loss}`);
      assert.ok(r.epochs[epochs - 1].trainLoss < r.epochs[0].trainLoss);
      assert.deepEqual(r.test, evaluate(model, testSet), "the reported test result is the final model's");
    }
  });

  test('the same seed gives a bit-identical run; another seed a different one', async () => {
    const run = async (seed: number) => {
      const model = buildModel(spec, { seed: 3 });
      const r = await train(model, trainSet, testSet, opts({ seed }));
      return { w: weights(model), epochs: withoutTime(r.epochs), test: r.test };
    };
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    assert.deepEqual(b, a);
    assert.notDeepEqual(c.w, a.w);
    assert.notDeepEqual(
      c.epochs.map((e) => e.trainLoss),
      a.epochs.map((e) => e.trainLoss),
    );
  });

  test('a huge learning rate stops with a DivergenceError and keeps the last finite weights', async () => {
    const model = buildModel(spec, { seed: 3 });
    // Before each update, the optimizer sees the weights that have just given a finite loss.
    const inner = makeOptimizer({ kind: 'sgd', lr: 1e6 });
    let lastGood: Uint32Array[] = [];
    const spy = wrap(inner, () => {
      lastGood = weights(model);
    });
    const err = await train(model, trainSet, testSet, opts({ optimizer: spy })).then(
      () => assert.fail('training with lr 1e6 should diverge'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DivergenceError, String(err));
    assert.match(
      err.message,
      new RegExp(
        `^training diverged: the loss is (NaN|-?Infinity) at epoch ${err.epoch}, step ${err.step} \\(lr 1000000\\) — .*lower the learning rate`,
      ),
    );
    assert.ok(
      err.epoch === 1 && err.step > 2,
      `diverged at epoch ${err.epoch}, step ${err.step}: too early to tell the last good weights from the initial ones`,
    );
    for (const p of model.params())
      assert.ok(p.value.data.every(Number.isFinite), 'weights after divergence must be finite');
    assert.deepEqual(weights(model), lastGood, 'the model holds the weights of the last step with a finite loss');
  });

  test('stops early once the train loss settles', async () => {
    const model = buildModel(spec, { seed: 3 });
    const seen: number[] = [];
    // Any change counts as calm with an infinite tolerance: epochs 2 and 3 are calm, so it stops after 3.
    const r = await train(
      model,
      trainSet,
      null,
      opts({ epochs: 10, convergence: { tol: Infinity, patience: 2 }, onEpoch: (m) => seen.push(m.epoch) }),
    );
    assert.equal(r.stoppedBy, 'converged');
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(r.test, null);
    const never = await train(
      buildModel(spec, { seed: 3 }),
      trainSet,
      null,
      opts({ epochs: 3, convergence: { tol: 0, patience: 1 } }),
    );
    assert.equal(never.stoppedBy, 'epochs');
    assert.equal(never.epochs.length, 3);
  });

  test('schedules set the learning rate per epoch, and the optimizer uses it', async () => {
    const lrsOf = async (schedule: TrainOptions['schedule'], epochs: number) => {
      const inner = makeOptimizer({ kind: 'sgd', lr: 0.1 });
      const used: number[][] = [];
      // Records the lr of every step, grouped by epoch through onEpoch.
      let current: number[] = [];
      const spy: Optimizer = wrap(inner, () => current.push(inner.lr));
      const seen: number[] = [];
      await train(
        buildModel(spec, { seed: 3 }),
        trainSet,
        null,
        opts({
          epochs,
          schedule,
          optimizer: spy,
          batchSize: 40,
          onEpoch: (m) => {
            seen.push(m.lr);
            used.push(current);
            current = [];
          },
        }),
      );
      for (const [e, steps] of used.entries())
        assert.ok(steps.length === 4 && steps.every((lr) => lr === seen[e]), `epoch ${e + 1}`);
      return seen;
    };
    const close = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-12);
    const step = await lrsOf({ kind: 'step', stepSize: 2, gamma: 0.5 }, 5);
    assert.ok(close(step, [0.1, 0.1, 0.05, 0.05, 0.025]), `step: ${step}`);
    const cos = await lrsOf({ kind: 'cosine', epochs: 4 }, 4);
    // CosineAnnealingLR: lr_e = (1 + cos(πe/4))/2 · 0.1 for e = 0…3
    assert.ok(close(cos, [0.1, 0.0853553390593274, 0.05, 0.0146446609406726]), `cosine: ${cos}`);
    const cosMin = await lrsOf({ kind: 'cosine', epochs: 2, minLr: 0.02 }, 3);
    assert.ok(close(cosMin, [0.1, 0.06, 0.02]), `cosine with minLr: ${cosMin}`);
    assert.ok(close(await lrsOf(undefined, 2), [0.1, 0.1]));
  });

  test('with evalEveryEpoch false the test set is scored only after the last epoch', async () => {
    const r = await train(buildModel(spec, { seed: 3 }), trainSet, testSet, opts({ epochs: 2, evalEveryEpoch: false }));
    assert.deepEqual(
      r.epochs.map((e) => e.testAccuracy === null),
      [true, false],
    );
    assert.equal(r.epochs[1].testAccuracy, r.test!.accuracy);
  });

  test('refuses a data set that does not fit the model, naming both shapes', async () => {
    const small = new SyntheticDataset('five-by-five', 8, [1, 5, 5], CLASSES, 1);
    const check = (e: unknown) =>
      e instanceof ShapeError &&
      e.message ===
        'data set five-by-five has samples of 1×5×5, the model takes 1×6×6 — pick the model made for this data set';
    await assert.rejects(train(buildModel(spec), small, null, opts()), check);
    await assert.rejects(train(buildModel(spec), trainSet, small, opts()), check);
    assert.throws(() => evaluate(buildModel(spec), small), check);
    const sixClasses = new SyntheticDataset('six', 12, [1, 6, 6], 6, 1);
    await assert.rejects(
      train(buildModel(spec), sixClasses, null, opts()),
      (e: unknown) =>
        e instanceof ShapeError &&
        /data set six: label [45] of sample \d+ is out of range for a model with 4 outputs/.test(e.message),
    );
  });
});

describe("batches in the kernel set's memory", () => {
  test("training and evaluation hand the first layer batches from the kernel set's allocator", async () => {
    // A kernel set that allocates like the WebAssembly one (allocF32) and records what the first layer reads.
    const own = new WeakSet<ArrayBufferLike>();
    const seen: boolean[] = [];
    const k: Kernels = {
      ...referenceKernels,
      name: 'recording',
      allocF32(n) {
        const a = new Float32Array(n);
        own.add(a.buffer);
        return a;
      },
      conv2dForward(y, x, w, b, g) {
        seen.push(own.has(x.buffer));
        referenceKernels.conv2dForward(y, x, w, b, g);
      },
    };
    const prev = kernels();
    useKernels(k);
    try {
      await train(buildModel(spec, { seed: 3 }), trainSet, testSet, opts({ epochs: 1 }));
      evaluate(buildModel(spec, { seed: 3 }), testSet, 7); // a partial last batch: a view of the buffer
    } finally {
      useKernels(prev);
    }
    assert.ok(seen.length >= 160 / 8 + Math.ceil(80 / 7), `${seen.length} calls of the first layer`);
    assert.ok(
      seen.every((s) => s),
      'every batch the first layer read came from allocF32',
    );
  });
});

describe('evaluate', () => {
  test('the confusion matrix counts every sample once, rows = true class', () => {
    const model = buildModel(spec, { seed: 9 });
    const r = evaluate(model, testSet, 7); // 7 does not divide 80: the last batch is partial
    const x = new Float32Array(testSet.length * 36);
    testSet.fill(
      x,
      Int32Array.from({ length: testSet.length }, (_, i) => i),
      0,
      testSet.length,
    );
    const p = model.predict(new Tensor([testSet.length, 1, 6, 6], x)).data;
    const pred = Array.from({ length: testSet.length }, (_, i) => {
      const row = [...p.subarray(i * CLASSES, (i + 1) * CLASSES)];
      return row.indexOf(Math.max(...row));
    });
    const want = Array.from({ length: CLASSES }, () => new Array<number>(CLASSES).fill(0));
    testSet.labels.forEach((label, i) => want[label][pred[i]]++);
    assert.deepEqual(r.confusion, want);
    assert.equal(
      r.confusion.flat().reduce((a, b) => a + b, 0),
      testSet.length,
    );
    assert.deepEqual(
      r.confusion.map((row) => row.reduce((a, b) => a + b, 0)),
      Array.from({ length: CLASSES }, (_, c) => testSet.labels.filter((l) => l === c).length),
    );
    assert.equal(r.accuracy, want.reduce((s, row, c) => s + row[c], 0) / testSet.length);
    assert.ok(
      Math.abs(r.loss - evaluate(model, testSet, 80).loss) < 1e-6,
      'the loss does not depend on the batch size',
    );
  });
});

test('per-step records: every logEvery steps and at each epoch end, averaging exactly the steps they cover', async () => {
  const model = buildModel(spec, { seed: 3 });
  const steps: StepMetrics[] = [];
  // 160 images in batches of 12: 14 steps an epoch, the last of 4 images
  const r = await train(
    model,
    trainSet,
    null,
    opts({ epochs: 2, batchSize: 12, logEvery: 5, onStep: (m) => steps.push(m) }),
  );
  assert.deepEqual(
    steps.map((m) => [m.epoch, m.step]),
    [
      [1, 5],
      [1, 10],
      [1, 14],
      [2, 19],
      [2, 24],
      [2, 28],
    ],
  );
  for (const [e, epoch] of r.epochs.entries()) {
    const mine = steps.filter((m) => m.epoch === e + 1);
    const sizes = mine.map((_, i) => (i < 2 ? 60 : 40)); // 5 + 5 + 4 steps: 60, 60 and 40 images
    const loss = mine.reduce((s, m, i) => s + m.loss * sizes[i], 0) / 160;
    const acc = mine.reduce((s, m, i) => s + m.accuracy * sizes[i], 0) / 160;
    assert.ok(Math.abs(loss - epoch.trainLoss) < 1e-9, `epoch ${e + 1}: ${loss} vs ${epoch.trainLoss}`);
    assert.ok(Math.abs(acc - epoch.trainAccuracy) < 1e-9);
  }
  assert.ok(steps.every((m) => m.kind === 'step' && m.lr === 0.05 && m.imagesPerSecond > 0));
});
