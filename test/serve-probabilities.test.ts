import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeSafetensors, encodeSafetensors } from '../src/model/safetensors.js';
import {
  probabilitiesFile,
  readProbabilities,
  readRunConfig,
  readRunSummary,
  runDataset,
  saveProbabilities,
} from '../src/run/index.js';
import type { ImagesResponse, PendingResponse, RunsResponse } from '../src/serve/api-types.js';
import { childEnv, convts, mainJs } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { serveRuns } from './helpers/serve.js';
import { tempDir } from './helpers/tmp.js';

// The test images' class probabilities behind the confusion-matrix cells and the worst mistakes:
// saved by training, read back checked, and for a run without them computed off the server's
// event loop while it keeps answering.

test('float16 probabilities: saved and read back to half precision, the predicted classes exact', () => {
  const dir = tempDir('convts-probs-');
  const p = Float32Array.of(0.5, 0.25, 0.25, 1e-6, 0.3333, 0.6667 - 1e-6, 0.1, 0.9, 0);
  saveProbabilities(dir, p, [0, 1, 2], 3, null);
  const r = readProbabilities(dir, [0, 1, 2], 3)!;
  assert.equal(r.tta, 'none');
  assert.deepEqual([...r.predicted], [0, 2, 1]);
  for (let i = 0; i < p.length; i++)
    assert.ok(
      Math.abs(r.probabilities[i] - p[i]) <= p[i] * 2 ** -11 + 2 ** -25,
      `${i}: ${r.probabilities[i]} vs ${p[i]}`,
    );
  assert.equal(r.probabilities[3] > 0, true, 'a tiny probability stays above 0 (a subnormal half)');
  assert.equal(statSync(join(dir, probabilitiesFile)).size < 9 * 2 + 6 * 4 + 400, true);
  assert.equal(readProbabilities(tempDir('convts-probs-none-'), [0], 3), null, 'no file: null');
  assert.throws(() => readProbabilities(dir, [0, 1], 3), /holds 3×3 probabilities; the test set has 2 images/);
  assert.throws(() => readProbabilities(dir, [0, 1, 1], 3), /image 2 is labelled 2 there and 1 in the test set/);
  const { tensors, metadata } = decodeSafetensors(readFileSync(join(dir, probabilitiesFile)));
  const probs = tensors.get('probabilities')!;
  probs.data[4] = 1.5;
  writeFileSync(
    join(dir, probabilitiesFile),
    encodeSafetensors([{ ...probs, dtype: 'F16' }, tensors.get('predicted')!, tensors.get('labels')!], metadata),
  );
  assert.throws(() => readProbabilities(dir, [0, 1, 2], 3), /probability 1\.5 at image 1, class 1 is not in \[0, 1\]/);
});

describe('convts serve: the test probabilities behind cells and mistakes', () => {
  const base = tempDir('convts-serve-probs-');
  const runs = join(base, 'runs');
  const data = join(base, 'data');
  const run = join(runs, 'a');
  let url = '';
  let close = () => {};
  const ask = async <T>(path: string) => {
    const r = await fetch(url + path.slice(1));
    return { status: r.status, body: (await r.json()) as T };
  };
  let saved: ImagesResponse;
  // A change to a run's model files is what makes the server forget what it computed or read for it.
  const touchModel = (minutes: number) => {
    const at = new Date(Date.now() + minutes * 60_000);
    utimesSync(join(run, 'model.safetensors'), at, at);
  };

  before(async () => {
    // Enough test images, each evaluated six times (flip-translate), that the computation takes a while.
    writeMnistDir(data, 32, 3000);
    const r = await convts(
      ...['train', '--dataset', 'mnist', '--data-dir', data, '--offline', '--batch-size', '16', '--epochs', '1'],
      ...['--tta', 'flip-translate', '--filters', '16', '--out', run],
    );
    assert.equal(r.code, 0, r.stderr);
    ({ url, close } = await serveRuns(runs));
  });
  after(() => close());

  test('training saves them: a few bytes an image, and the cells and mistakes come from them at once', async () => {
    const size = statSync(join(run, probabilitiesFile)).size;
    assert.ok(size < 3000 * (10 * 2 + 2 * 4) + 1000, `${size} bytes`);
    const m = await ask<ImagesResponse>('/api/mistakes?id=runs/a&limit=200');
    assert.equal(m.status, 200);
    saved = m.body;
    const cm = (readRunSummary(run) as { confusionMatrix: number[][] }).confusionMatrix;
    assert.equal(saved.total, cm.flat().reduce((a, b) => a + b, 0) - cm.reduce((s, row, c) => s + row[c], 0));
    assert.equal(saved.note, null);
    const [t, p] = cm.flatMap((row, a) => row.map((n, b) => [a, b, n])).find(([a, b, n]) => a !== b && n > 0)!;
    const cell = await ask<ImagesResponse>(`/api/cell?id=runs/a&label=${t}&predicted=${p}`);
    assert.equal(cell.body.total, cm[t][p], 'the cell holds as many images as the confusion matrix says');
  });

  test('a run without them: computed in a worker with progress while the server answers other requests', async () => {
    rmSync(join(run, probabilitiesFile));
    touchModel(1);
    const first = await ask<PendingResponse>('/api/mistakes?id=runs/a&limit=200');
    assert.equal(first.status, 202, 'not computed inside the request');
    assert.deepEqual(first.body.pending.total, 3000);
    let listed = 0;
    let pendingAfterList = 0;
    const seen: number[] = [];
    for (;;) {
      const t0 = Date.now();
      const list = await ask<RunsResponse>('/api/runs');
      assert.equal(list.status, 200);
      assert.ok(Date.now() - t0 < 1000, `the runs list answered in ${Date.now() - t0} ms`);
      listed++;
      const r = await ask<ImagesResponse | PendingResponse>('/api/mistakes?id=runs/a&limit=200');
      if (r.status === 200) {
        const got = r.body as ImagesResponse;
        assert.equal(got.total, saved.total);
        // The same ranking as from the saved file, up to its float16 rounding (near-ties may swap).
        const pTrue = (r: ImagesResponse) => r.images.map((i) => i.probabilities[i.label]);
        pTrue(got).forEach((v, i) => assert.ok(Math.abs(v - pTrue(saved)[i]) < 1e-3, `mistake ${i}: ${v}`));
        break;
      }
      assert.equal(r.status, 202);
      pendingAfterList++;
      seen.push((r.body as PendingResponse).pending.done);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(listed > 0 && pendingAfterList > 0, 'the runs list answered while the probabilities were computed');
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
      'progress only goes up',
    );
    assert.ok(
      seen.some((d) => d > 0 && d < 3000),
      `progress between 0 and all images was shown: ${seen.join(' ')}`,
    );
  });

  test('a damaged probabilities file: the reason is shown, and they are computed again', async () => {
    saveProbabilities(run, new Float32Array(3000 * 10).fill(0.1), new Int32Array(3000), 10, null);
    const f = join(run, probabilitiesFile);
    writeFileSync(f, readFileSync(f).subarray(0, 5000)); // cut short, as a full disk leaves it
    touchModel(2);
    for (;;) {
      const r = await ask<ImagesResponse | PendingResponse>('/api/mistakes?id=runs/a&limit=5');
      assert.match(String(r.body.note), /^probabilities\.safetensors: .*computed again from the model instead/);
      if (r.status === 200) {
        assert.equal((r.body as ImagesResponse).total, saved.total);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The runs list and the other views keep working.
    assert.equal((await ask<RunsResponse>('/api/runs')).status, 200);
    assert.equal((await ask('/api/filters?id=runs/a')).status, 200);
  });

  test('convts serve stops on SIGTERM while a computation runs: the worker does not keep it alive', async () => {
    rmSync(join(run, probabilitiesFile));
    const child = spawn(process.execPath, [mainJs, 'serve', runs, '--port', '0'], { env: childEnv() });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const served = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout.on('data', (b) => {
        out += b;
        const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]);
      });
    });
    assert.equal((await fetch(`${served}api/mistakes?id=runs/a`)).status, 202);
    child.kill('SIGTERM');
    const t0 = Date.now();
    assert.equal(await exited, 0);
    assert.ok(Date.now() - t0 < 5000, `stopped ${Date.now() - t0} ms after SIGTERM`);
  });
});

test('a --val run saves the validation images’ probabilities: the set its confusion matrix and runDataset are of', async () => {
  const base = tempDir('convts-probs-val-');
  writeMnistDir(join(base, 'data'), 60, 30);
  const run = join(base, 'run');
  const r = await convts(
    ...['train', '--dataset', 'mnist', '--data-dir', join(base, 'data'), '--offline', '--epochs', '1', '--val', '20'],
    ...['--out', run],
  );
  assert.equal(r.code, 0, r.stderr);
  const data = runDataset(readRunConfig(run));
  const saved = readProbabilities(run, data.labels, 10)!;
  const cm = (readRunSummary(run) as { confusionMatrix: number[][] }).confusionMatrix;
  assert.equal(saved.predicted.length, 20);
  cm.forEach((row, t) =>
    row.forEach((n, p) =>
      assert.equal(saved.predicted.filter((q, i) => q === p && data.labels[i] === t).length, n, `cell ${t},${p}`),
    ),
  );
});
