import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, renameSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MetricsResponse } from '../src/serve/api-types.js';
import { skipWithoutChromium, watchedBrowser } from './helpers/browser.js';
import { convts } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { serveRuns } from './helpers/serve.js';
import { tempDir } from './helpers/tmp.js';

// A run trained again into its folder replaces metrics.jsonl: the server notices (inode, size,
// mtime, the bytes before the reader's offset) and says reset; an open run page starts over.

const step = (s: number) => ({
  kind: 'step',
  step: s,
  epoch: 1,
  loss: 0.5,
  accuracy: 0.5,
  lr: 0.01,
  imagesPerSecond: 9,
});
const lines = (steps: number[]) => steps.map((s) => `${JSON.stringify(step(s))}\n`).join('');

describe('convts serve: a run whose metrics file was replaced starts over', () => {
  const base = tempDir('convts-serve-reset-');
  const runs = join(base, 'runs');
  const data = join(base, 'data');
  const run = join(runs, 'fake');
  const path = join(run, 'metrics.jsonl');
  let url = '';
  let close = () => {};

  before(async () => {
    writeMnistDir(data, 48, 16);
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'config.json'), JSON.stringify({ model: 'seed-mnist', dataset: 'mnist', epochs: 1 }));
    writeFileSync(path, lines([1, 2, 3]));
    ({ url, close } = await serveRuns(runs, data));
  });
  after(() => close());

  /** Polls as the page does, handing back the previous answer's offset, line count and file. */
  const poll = async (prev: MetricsResponse | null, lineCount: number) => {
    const q = prev ? `&from=${prev.next}&line=${lineCount}&file=${encodeURIComponent(prev.file)}` : '';
    const r = await fetch(`${url}api/metrics?id=runs/fake${q}`);
    assert.equal(r.status, 200);
    const m = (await r.json()) as MetricsResponse;
    return { m, steps: m.records.map((x) => (x.kind === 'step' ? x.step : -1)) };
  };

  test('appended: only the new records; replaced, rewritten in place, cut, or same length: all of it, reset', async () => {
    let a = await poll(null, 0);
    assert.deepEqual([a.steps, a.m.reset], [[1, 2, 3], false]);
    appendFileSync(path, lines([4]));
    let b = await poll(a.m, 3);
    assert.deepEqual([b.steps, b.m.reset], [[4], false], 'an append is read on from the offset');
    b = await poll(b.m, 4);
    assert.deepEqual([b.steps, b.m.reset], [[], false], 'nothing new, nothing read');

    // convts train into the same folder: a new file renamed over the old one, shorter
    writeFileSync(`${path}.new`, lines([7]));
    renameSync(`${path}.new`, path);
    a = await poll(b.m, 4);
    assert.deepEqual([a.steps, a.m.reset], [[7], true], 'replaced by a shorter file');

    // the same file rewritten in place (a copy over it), longer than what was read
    writeFileSync(`${path}.new`, lines([1]));
    renameSync(`${path}.new`, path);
    a = await poll(null, 0);
    writeFileSync(path, lines([5, 6, 7]));
    b = await poll(a.m, 1);
    assert.deepEqual([b.steps, b.m.reset], [[5, 6, 7], true], 'rewritten in place, longer');

    // cut short
    truncateSync(path, Buffer.byteLength(lines([5])));
    a = await poll(b.m, 3);
    assert.deepEqual([a.steps, a.m.reset], [[5], true], 'shrank');

    // rewritten in place to the same length with the same last bytes: only the time tells
    writeFileSync(path, lines([1, 2]));
    a = await poll(null, 0);
    writeFileSync(path, lines([3, 2])); // step numbers of one digit: lines of one length
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    b = await poll(a.m, 2);
    assert.deepEqual([b.steps, b.m.reset], [[3, 2], true], 'same length, newer time');

    // gone
    renameSync(path, `${path}.old`);
    b = await poll(b.m, 2);
    assert.deepEqual([b.steps, b.m.reset], [[], true], 'the file went away');
    renameSync(`${path}.old`, path);
  });

  test('an open run page drops the old run’s curves, summary and filters when the run is trained again', {
    skip: skipWithoutChromium,
    timeout: 120_000,
  }, async () => {
    const train = (epochs: string, filters: string) =>
      convts(
        ...['train', '--dataset', 'mnist', '--data-dir', data, '--offline', '--batch-size', '8'],
        ...['--epochs', epochs, '--filters', filters, '--out', join(runs, 'a')],
      );
    const stepsOnDisk = () =>
      readFileSync(join(runs, 'a', 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"kind":"step"')).length;
    let r = await train('2', '4');
    assert.equal(r.code, 0, r.stderr);
    const before = stepsOnDisk();
    const b = await watchedBrowser(url);
    try {
      const page = await b.open('#/run/runs%2Fa');
      const points = (n: number) =>
        page.waitForFunction(
          (k) => Number(document.querySelector('figure.chart')?.getAttribute('data-points')) === k,
          n,
          { timeout: 20_000 },
        );
      const epochs = () => page.locator('.facts div', { hasText: 'epochs' }).locator('dd').textContent();
      await points(before);
      assert.equal(await epochs(), '2 of 2');
      await page.locator('h3', { hasText: /^conv1: 4 filters/ }).waitFor();

      r = await train('1', '6');
      assert.equal(r.code, 0, r.stderr);
      const now = stepsOnDisk();
      assert.ok(now < before, `${now} step records now, ${before} before`);
      await points(now); // within a few seconds, without a reload
      await page.locator('.facts dd', { hasText: '1 of 1' }).waitFor({ timeout: 20_000 });
      await page.locator('h3', { hasText: /^conv1: 6 filters/ }).waitFor({ timeout: 20_000 });
      assert.equal(await page.locator('h3', { hasText: /^conv1: 4 filters/ }).count(), 0);
      await page.close();
    } finally {
      await b.close();
    }
    assert.deepEqual(b.errors, []);
    assert.deepEqual(b.foreign, []);
  });
});
