// The fuzz campaign's own judgement (bench/): what it counts as a clean refusal, a bad message or a hang.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { caseLimits, type Result, runCase } from '../bench/fuzz-case.js';
import { type Ending, judge } from '../bench/fuzz-judge.js';
import { type LogLine, resultTables, tablesFromLogs } from '../bench/fuzz-tables.js';
import { writeMnistDir } from './helpers/mnist.js';
import { tempDir } from './helpers/tmp.js';

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

test('a case that waits without using CPU (a starved one) is no hang; one that keeps computing is', async () => {
  const dir = tempDir();
  const cwd = join(dir, 'case');
  writeMnistDir(cwd, 24, 12);
  const train = (...more: string[]) => [
    'train',
    '--model',
    'seed-mnist',
    '--data-dir',
    cwd,
    '--batch-size',
    '8',
    '--out',
    join(cwd, 'out'),
    ...more,
  ];
  const saved = { ...caseLimits };
  Object.assign(caseLimits, { cpuMs: 3000, wallMs: 60_000 });
  try {
    // Asleep for 6 s after loading: over the CPU limit in wall time, about 1 s of CPU time.
    const waits = await runCase(
      { args: train('--epochs', '1'), env: { CONVTS_TEST_LOAD_HOLD_MS: '6000' }, culprit: /./, note: 'asleep' },
      cwd,
    );
    assert.equal(waits.outcome, 'accepted', waits.detail);
    assert.ok(waits.seconds > 6 && waits.cpuSeconds < 3, waits.detail);
    const spins = await runCase({ args: train('--epochs', '100000'), culprit: /./, note: 'endless' }, cwd);
    assert.equal(spins.outcome, 'hang', spins.detail);
    assert.ok(spins.cpuSeconds >= 3 && spins.seconds < 60, spins.detail);
  } finally {
    Object.assign(caseLimits, saved);
  }
});

test('--from-log tables give the limits the logged cases ran under, not the defaults', () => {
  const dir = tempDir();
  const result: Result = { outcome: 'hang', rssKb: 60_000, seconds: 70, cpuSeconds: 60.1, code: 137, detail: 'x' };
  const line = (k: number, limits?: LogLine['limits']) => JSON.stringify({ scenario: 's', k, limits, ...result });
  const limits = { cpuMs: 60_000, wallMs: 300_000, memoryBytes: 2 ** 29 };
  writeFileSync(join(dir, 'a.jsonl'), `${line(0, limits)}\n${line(1, limits)}\n`);
  writeFileSync(join(dir, 'old.jsonl'), `${line(2)}\n`);
  const text = resultTables(tablesFromLogs([join(dir, 'a.jsonl')])).join('\n');
  assert.match(text, /\| hangs \(over 60 s of CPU time or 300 s of wall time: process group killed\) \| 0 \| 2 \|/);
  assert.match(text, /0 case\(s\) over 512 MB/);
  assert.doesNotMatch(text, /120 s|1024 MB/);
  const mixed = resultTables(tablesFromLogs([join(dir, 'a.jsonl'), join(dir, 'old.jsonl')])).join('\n');
  assert.match(mixed, /hangs \(over 60 s of CPU time or 300 s of wall time; a limit not in the log: process group/);
});
