import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import {
  buildModel,
  builtinSpec,
  loadRun,
  readRunConfig,
  readRunSummary,
  saveModel,
  trainingWarnings,
} from '../src/index.js';
import { childEnv, convts, readJson } from './helpers/cli.js';
import { patternImages, writeMnistDir } from './helpers/mnist.js';
import { tempDir } from './helpers/tmp.js';

// The README's "As a library" example, run as written (on tiny MNIST-format data), and its
// output directory used by the command line; a CLI run loaded back by the library.

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

/** The README's library example, pointed at `data` and `out` and at this build of convts. */
function libraryExample(data: string, out: string): string {
  const section = readme.slice(readme.indexOf('### As a library'));
  const code = [...section.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .find((c) => c.includes("from 'convts';"));
  assert.ok(code, 'README has a ts block importing convts under "As a library"');
  const entry = pathToFileURL(join(import.meta.dirname, '..', 'src', 'index.js')).href;
  return code
    .replace("from 'convts'", `from ${JSON.stringify(entry)}`)
    .replaceAll("'../shared/datasets'", JSON.stringify(data))
    .replaceAll("'runs/mine'", JSON.stringify(out));
}

/** A 28×28 grey PNG of pattern image `i` of the test split. */
function digitPng(path: string, i: number): void {
  const { images } = patternImages(i + 1, 2);
  const png = new PNG({ width: 28, height: 28 });
  for (let p = 0; p < 28 * 28; p++) {
    const v = images[i * 784 + p];
    png.data.set([v, v, v, 255], 4 * p);
  }
  writeFileSync(path, PNG.sync.write(png));
}

describe('the library and the command line share run directories', () => {
  const dir = tempDir('convts-library-');
  before(() => writeMnistDir(dir, 64, 32));

  test("the README's library example writes a directory that convts eval, predict and show accept", async () => {
    const out = join(dir, 'mine');
    const script = join(dir, 'example.mjs');
    writeFileSync(script, libraryExample(dir, out));
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [script], { env: childEnv(), timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    const accuracy = Number(r.stdout.trim());
    assert.ok(accuracy >= 0 && accuracy <= 1, r.stdout);
    const config = readJson(join(out, 'config.json'));
    assert.equal(config.dataset, 'mnist');
    assert.equal(config.input.kind, 'digits');
    assert.equal(config.note, undefined, 'the normalization was given');

    const ev = await convts('eval', out, '--data-dir', dir, '--json');
    assert.equal(ev.code, 0, ev.stderr);
    const e = JSON.parse(ev.stdout);
    assert.equal(e.images, 32);
    assert.equal(e.accuracy, accuracy, 'eval measures what train measured');

    const png = join(dir, 'digit.png');
    digitPng(png, 0);
    const p = await convts('predict', out, png, '--json');
    assert.equal(p.code, 0, p.stderr);
    assert.ok(Array.isArray(JSON.parse(p.stdout)), p.stdout);

    const show = await convts('show', 'report', out, '--data-dir', dir);
    assert.equal(show.code, 0, show.stderr);
    assert.ok(existsSync(join(out, 'report.html')));
  });

  test('saveModel without a normalization records [0, 1] scaling and says so', () => {
    const out = join(dir, 'bare');
    saveModel(buildModel(builtinSpec('seed-mnist'), { seed: 1 }), out);
    const c = readRunConfig(out);
    assert.deepEqual(c.normalization, { mean: [0], std: [1] });
    assert.match(String(c.note), /no normalization: inputs are taken as pixels scaled to \[0, 1\]/);
    assert.deepEqual(c.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const run = loadRun(out);
    assert.deepEqual(run.input?.shape, [1, 28, 28]);
  });

  test('a run whose loss explodes and whose accuracy stays at chance ends with warnings saying what to try', async () => {
    const out = join(dir, 'lr5');
    const args = ['--dataset', 'mnist', '--data-dir', dir, '--offline', '--out', out, '--lr', '5', '--epochs', '2'];
    const t = await convts('train', ...args, '--batch-size', '8');
    assert.equal(t.code, 0, t.stderr);
    const tail = t.stderr.trimEnd().split('\n').slice(-2);
    assert.match(
      tail[0],
      /^warning: the loss exploded \(train loss \d+\.\d in epoch \d.* — lower the learning rate \(--lr 0\.5\)/,
    );
    assert.match(tail[1], /^warning: accuracy stayed at chance \(.* — lower the learning rate \(--lr 0\.5\)/);
    const summary = readRunSummary(out); // checked against the schema
    assert.equal(summary.status, 'completed');
    assert.deepEqual(
      summary.status === 'completed' ? summary.warnings : [],
      tail.map((l) => l.replace(/^warning: /, '')),
    );
  });

  test('trainingWarnings: quiet for a run that learned', () => {
    const epoch = {
      epoch: 1,
      lr: 0.01,
      trainLoss: 0.3,
      trainAccuracy: 0.9,
      testLoss: 0.2,
      testAccuracy: 0.95,
      seconds: 1,
      evalSeconds: 0,
    };
    const confusion = [
      [19, 1],
      [1, 19],
    ];
    assert.deepEqual(trainingWarnings([epoch], { loss: 0.2, accuracy: 0.95, confusion }), []);
    const chance = trainingWarnings([epoch], {
      loss: 0.69,
      accuracy: 0.5,
      confusion: [
        [20, 0],
        [20, 0],
      ],
    });
    assert.equal(chance.length, 1);
    assert.match(
      chance[0],
      /accuracy stayed at chance \(50\.0% .* gets 50\.0%\) — lower the learning rate \(--lr 0\.001\)/,
    );
  });

  test('a model trained by the CLI loads in the library with its input preparation', async () => {
    const out = join(dir, 'cli');
    const t = await convts('train', '--dataset', 'mnist', '--data-dir', dir, '--offline', '--out', out);
    assert.equal(t.code, 0, t.stderr);
    const run = loadRun(out);
    const config = readJson(join(out, 'config.json'));
    assert.equal(run.classNames.length, 10);
    assert.deepEqual(run.normalization, config.normalization);
    assert.deepEqual(run.input, { shape: [1, 28, 28], normalization: config.normalization, kind: 'digits' });
    assert.deepEqual(run.model.inputShape, [1, 28, 28]);
  });
});

test('runDataset reads a run’s test split alone, the same images as loading the whole data set gives', async () => {
  const { loadDataset, runDataset } = await import('../src/index.js');
  const data = tempDir('convts-test-split-');
  writeMnistDir(data, 40, 30);
  const norm = { mean: [0.2], std: [0.3] };
  for (const o of [
    {},
    { testLimit: 12, subset: 'random' as const, seed: 3 },
    { testLimit: 12, subset: 'stratified' as const },
  ]) {
    const alone = runDataset({ dataset: 'mnist', dataDir: data, normalization: norm, ...o });
    const whole = loadDataset('mnist', data, o).test.with({ norm });
    assert.deepEqual([...alone.labels], [...whole.labels], JSON.stringify(o));
    const [xa, xb] = [alone, whole].map((d) => {
      const x = new Float32Array(d.length * 28 * 28);
      d.fill(
        x,
        Array.from({ length: d.length }, (_, i) => i),
        0,
        d.length,
      );
      return x;
    });
    assert.deepEqual(xa, xb, JSON.stringify(o));
  }
});
