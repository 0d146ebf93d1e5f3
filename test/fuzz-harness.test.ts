// The fuzz campaign's own judgement (bench/): what it counts as a clean refusal, a bad message or a hang.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Ending, judge } from '../bench/fuzz-judge.js';

const ending = (stderr: string, more: Partial<Ending> = {}): Ending => ({
  limit: null,
  stderr,
  exit: 1,
  killedBy: null,
  overMemory: false,
  left: [],
  ...more,
});

test('a divergence names the learning rate and says to lower it: a clean refusal, whatever file the case damaged', () => {
  const config = { culprit: /train\.json/ };
  for (const loss of ['NaN', 'Infinity'])
    assert.equal(
      judge(
        config,
        ending(
          `training seed-mnist on 32 mnist images\nconvts: training diverged: the loss is ${loss} at epoch 1, step 3 (lr 1000000000) — the model keeps the last weights that gave a finite loss; lower the learning rate\n`,
        ),
      ),
      'clean refusal',
    );
  // Other messages with a bare NaN, or that do not name the culprit, are still bad.
  assert.equal(judge(config, ending('convts: train.json: "lr" must be a number, got NaN\n')), 'bad message');
  assert.equal(judge(config, ending('convts: the loss is NaN\n')), 'bad message');
  assert.equal(judge(config, ending('convts: train.json: "lr" must be a number, got "NaN"\n')), 'clean refusal');
  // A divergence that exits 0 or crashes is not excused.
  assert.equal(
    judge(
      { ...config, mustRefuse: true },
      ending('convts: training diverged: the loss is NaN at epoch 1, step 3 (lr 5) — lower the learning rate', {
        exit: 0,
      }),
    ),
    'bad input accepted',
  );
});
