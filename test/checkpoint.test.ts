import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildModel,
  type EpochMetrics,
  loadCheckpoint,
  type ModelSpec,
  makeOptimizer,
  type OptimizerSpec,
  saveCheckpoint,
  type TrainOptions,
  train,
} from '../src/index.js';
import { abortAfter } from './helpers/optimizer.js';
import { SyntheticDataset } from './helpers/synthetic.js';
import { bits, tempDir } from './helpers/tmp.js';

// Dropout makes the model's own RNG part of the state that must survive an interruption.
const spec: ModelSpec = {
  input: [1, 6, 6],
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3 },
    { type: 'relu' },
    { type: 'maxpool2d', size: 2 },
    { type: 'flatten' },
    { type: 'dropout', rate: 0.25 },
    { type: 'dense', units: 4 },
    { type: 'softmax' },
  ],
  loss: 'cross-entropy',
};
const trainSet = new SyntheticDataset('synthetic-train', 100, [1, 6, 6], 4, 1);
const testSet = new SyntheticDataset('synthetic-test', 40, [1, 6, 6], 4, 2);
const weights = (m: ReturnType<typeof buildModel>) => m.params().map((p) => bits(p.value.data).slice());
const withoutTime = (e: EpochMetrics[]) => e.map(({ seconds: _, evalSeconds: _v, ...rest }) => rest);

describe('checkpoint and resume', () => {
  for (const [label, opt] of [
    ['momentum', { kind: 'momentum', lr: 0.05 }],
    ['adam', { kind: 'adam', lr: 0.01 }],
  ] as [string, OptimizerSpec][]) {
    test(`${label}: a run stopped mid-epoch and resumed from its checkpoint file ends with bit-identical weights`, async () => {
      const o = (extra: Partial<TrainOptions> = {}): TrainOptions => ({
        epochs: 3,
        batchSize: 8,
        seed: 5,
        optimizer: makeOptimizer(opt),
        schedule: { kind: 'step', stepSize: 1, gamma: 0.5 },
        ...extra,
      });
      const straight = buildModel(spec, { seed: 3 });
      const full = await train(straight, trainSet, testSet, o());

      const dir = tempDir('convts-ckpt-');
      const ctl = new AbortController();
      const first = buildModel(spec, { seed: 3 });
      const stopped = await train(
        first,
        trainSet,
        testSet,
        o({ optimizer: abortAfter(makeOptimizer(opt), 17, ctl), signal: ctl.signal }),
      );
      assert.equal(stopped.stoppedBy, 'interrupted');
      assert.equal(stopped.state!.epoch, 1, 'step 17 of 13 per epoch is in the second epoch');
      assert.equal(stopped.state!.start, 4 * 8);
      saveCheckpoint(dir, first, stopped.state!);

      const again = buildModel(spec, { seed: 99 }); // other weights and RNG: all must come from the checkpoint
      const resumed = await train(again, trainSet, testSet, o({ resume: loadCheckpoint(dir, again) }));
      assert.equal(resumed.stoppedBy, 'epochs');
      assert.deepEqual(withoutTime(resumed.epochs), withoutTime(full.epochs));
      assert.deepEqual(weights(again), weights(straight));
      assert.deepEqual(resumed.test, full.test);
    });
  }

  test('a checkpoint refuses a model of another shape', async () => {
    const dir = tempDir('convts-ckpt-');
    const ctl = new AbortController();
    const m = buildModel(spec, { seed: 1 });
    const r = await train(m, trainSet, null, {
      epochs: 1,
      batchSize: 8,
      seed: 1,
      optimizer: abortAfter(makeOptimizer({ kind: 'sgd', lr: 0.1 }), 2, ctl),
      signal: ctl.signal,
    });
    saveCheckpoint(dir, m, r.state!);
    const other = buildModel({
      ...spec,
      layers: spec.layers.map((l) => (l.type === 'conv2d' ? { ...l, filters: 5 } : l)),
    });
    assert.throws(
      () => loadCheckpoint(dir, other),
      /checkpoint\.safetensors: tensor "model\.conv1\.weight" has 36 float32 values, the model in .*config\.json needs 45 float32 values — one of the two files is damaged or from another run$/,
    );
    assert.throws(
      () => loadCheckpoint(tempDir('convts-ckpt-'), m),
      /checkpoint\.safetensors not found — --resume takes a run directory/,
    );
  });
});
