import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { defaultDataDirText } from '../src/index.js';
import { convts, readJson } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { checkPng } from './helpers/png-check.js';
import { tempDir } from './helpers/tmp.js';

describe('convts features', () => {
  const dir = tempDir('convts-features-cli-');
  const feat = join(dir, 'f.feat');
  before(() => writeMnistDir(dir, 40, 20));
  const features = (...args: string[]) =>
    convts('features', '--bank', 'lm', '--dataset', 'mnist', '--data-dir', dir, '--out', feat, ...args);

  test('extracts once, then reuses the file', async () => {
    const first = await features('--json');
    assert.equal(first.code, 0, first.stderr);
    const a = JSON.parse(first.stdout);
    assert.deepEqual([a.hit, a.train, a.test, a.dim], [false, 40, 20, 1296]);
    const b = JSON.parse((await features('--json')).stdout);
    assert.deepEqual([b.hit, b.key], [true, a.key]);
  });

  test('--pictures draws the bank, chosen filters and the maps of a test image', async () => {
    const pics = join(dir, 'pics');
    const r = await features('--pictures', pics, '--show-filters', '5,7', '--show-maps', '35', '--image', '3');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(pics).sort(), ['bank.png', 'filter-5.png', 'filter-7.png', 'map-35.png', 'maps.png']);
    for (const f of readdirSync(pics)) checkPng(readFileSync(join(pics, f)), undefined, undefined, f);
    const bad = await features('--pictures', pics, '--show-maps', '36');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--show-maps: expected an integer ≥ 0 and ≤ 35, got "36"/);
  });

  test('convts train --model task1-fc --features trains on the file with per-sample SGD', async () => {
    const out = join(dir, 'run');
    const r = await convts('train', '--model', 'task1-fc', '--features', feat, '--epochs', '1', '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    const config = readJson(join(out, 'config.json'));
    assert.deepEqual([config.optimizer, config.batchSize, config.lr, config.features], ['sgd', 1, 0.1, feat]);
    const summary = JSON.parse(r.stdout);
    assert.deepEqual([summary.trainSize, summary.testSize], [40, 20]);
    assert.ok(summary.testAccuracy >= 0 && summary.testAccuracy <= 1);
  });

  test('eval and show on a --features run read the feature file, and say how to get it back when it is gone', async () => {
    const run = join(dir, 'run'); // trained by the test above
    const ev = await convts('eval', run, '--json');
    assert.equal(ev.code, 0, ev.stderr);
    const e = JSON.parse(ev.stdout);
    assert.equal(e.images, 20);
    assert.equal(e.accuracy, readJson(join(run, 'summary.json')).testAccuracy, 'the numbers training measured');
    const report = await convts('show', 'report', run);
    assert.equal(report.code, 0, report.stderr);
    for (const what of ['maps', 'misclassified']) {
      const r = await convts('show', what, run);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /trained on feature vectors of .*f\.feat \(1296 values each\), not on images/);
    }
    const moved = join(dir, 'run-moved');
    cpSync(run, moved, { recursive: true });
    const config = readJson(join(moved, 'config.json'));
    writeFileSync(join(moved, 'config.json'), JSON.stringify({ ...config, features: join(dir, 'gone.feat') }));
    const gone = await convts('eval', moved);
    assert.equal(gone.code, 1);
    assert.match(
      gone.stderr,
      /gone\.feat not found: the run was trained on this feature file — make it again with the convts features command/,
    );
  });

  test('--help names the data directory actually used, and every command numbers from 0', async () => {
    const help = (await convts('features', '--help')).stdout;
    assert.ok(help.includes(`[${defaultDataDirText}]`), help);
    assert.ok(!help.includes('./data'), 'not a directory that is never read');
    for (const command of ['features', 'show'])
      assert.match((await convts(command, '--help')).stdout, /numbered from 0, as in every convts command/);
  });

  test('task1-fc without --features says how to make them', async () => {
    const r = await convts('train', '--model', 'task1-fc', '--dataset', 'mnist', '--data-dir', dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /convts features --bank lm .* --features FILE/);
  });
});
