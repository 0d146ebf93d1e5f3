import assert from 'node:assert/strict';
import { test } from 'node:test';
import { epochBar, Progress } from '../src/cli/progress.js';

const p = { epoch: 2, epochs: 5, done: 3000, total: 6000, loss: 0.27114, accuracy: 0.912 };

test('the epoch bar shows position, running loss and accuracy, throughput, the epoch ETA and the run ETA', () => {
  // 1500 images in 1 s: 3000 left in this epoch → 2 s; three more epochs of 10 s each → 32 s.
  assert.equal(
    epochBar(p, 1, 1500, 10),
    'epoch 2/5 ████████████░░░░░░░░░░░░ 3000/6000  loss 0.2711  acc 91.20%  1500 img/s  ETA 0:02 (run 0:32)',
  );
  // Without a finished epoch the run ETA assumes whole epochs at the current rate: 2 s + 3 × 4 s.
  assert.match(epochBar(p, 1, 1500, null), /ETA 0:02 \(run 0:14\)$/);
  assert.match(epochBar({ ...p, epoch: 5 }, 1, 1500, 10), /ETA 0:02$/, 'no run ETA in the last epoch');
  assert.match(epochBar(p, 0, 0, null), /acc 91\.20% {2}…$/, 'no rate before any image');
});

test('Progress draws in place on a terminal and stays silent elsewhere', () => {
  const written: string[] = [];
  const fake = (isTTY: boolean) => ({ isTTY, write: (s: string) => written.push(s) }) as unknown as NodeJS.WriteStream;
  new Progress(fake(false)).update(p);
  assert.deepEqual(written, []);
  const bar = new Progress(fake(true));
  bar.update(p);
  bar.update({ ...p, done: 4000 });
  bar.clear();
  assert.equal(written.length, 3);
  assert.match(written[0], /^\r\x1b\[2Kepoch 2\/5 .* 3000\/6000 .*…$/);
  assert.match(written[1], /^\r\x1b\[2Kepoch 2\/5 .* 4000\/6000 .* img\/s {2}ETA /);
  assert.equal(written[2], '\r\x1b[2K');
});
