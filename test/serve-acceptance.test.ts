import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { skipWithoutChromium, type WatchedBrowser, watchedBrowser } from './helpers/browser.js';
import { childEnv, convts, mainJs } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { tempDir } from './helpers/tmp.js';

// The acceptance walk-through: one `convts serve`, started as a user starts it, over a folder
// holding a finished run, a sweep and a run still training (its metrics.jsonl appended to while
// the page is open), walked through in Debian's chromium.

const skip = skipWithoutChromium;

describe('convts serve: a finished run, a sweep and a run in progress, walked through', { skip }, () => {
  const base = tempDir('convts-serve-accept-');
  const runs = join(base, 'runs');
  const data = join(base, 'data');
  const live = join(runs, 'live');
  const small = ['--dataset', 'mnist', '--data-dir', data, '--offline', '--batch-size', '8', '--epochs', '1'];
  let url = '';
  let server: ChildProcess | null = null;
  let b: WatchedBrowser | undefined;
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  let step = 0;

  /** Appends the live run's next step record, as `convts train` does every --log-every steps. */
  const appendStep = () => {
    step++;
    const record = { kind: 'step', step, epoch: 1, loss: 2 / step, accuracy: 0.5, lr: 0.01, imagesPerSecond: 480 };
    appendFileSync(join(live, 'metrics.jsonl'), `${JSON.stringify(record)}\n`);
    return Date.now();
  };

  before(async () => {
    writeMnistDir(data, 48, 40);
    const [done, sweep] = await Promise.all([
      convts('train', ...small, '--out', join(runs, 'done')),
      convts('sweep', ...small, '--grid', 'lr=0.01,0.1', '--out', join(runs, 'sweep')),
    ]);
    assert.equal(done.code, 0, done.stderr);
    assert.equal(sweep.code, 0, sweep.stderr);
    // The run in progress: a real run's config (50 epochs of 6 steps planned), a few step records so far.
    mkdirSync(live);
    const config = JSON.parse(readFileSync(join(runs, 'done', 'config.json'), 'utf8'));
    writeFileSync(join(live, 'config.json'), JSON.stringify({ ...config, epochs: 50 }));
    for (let i = 0; i < 3; i++) appendStep();
    // A run counts as running while its metrics file changed in the last 30 s: keep it so however slow the machine.
    keepAlive = setInterval(appendStep, 10_000);

    server = spawn(process.execPath, [mainJs, 'serve', runs, '--port', '0'], { env: childEnv() });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server!.stdout!.on('data', (b) => {
        out += b;
        const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]);
      });
      server!.on('exit', (code) => reject(new Error(`convts serve exited ${code}`)));
    });
    b = await watchedBrowser(url);
  });
  after(async () => {
    clearInterval(keepAlive);
    await b?.close();
    server?.kill('SIGINT');
  });

  const open = (hash: string): Promise<Page> => b!.open(hash);
  /** The /api/metrics requests the page makes, by run id. */
  const countPolls = (page: Page) => {
    const polls = new Map<string, number>();
    page.on('request', (q) => {
      const u = new URL(q.url());
      if (u.pathname === '/api/metrics')
        polls.set(u.searchParams.get('id')!, (polls.get(u.searchParams.get('id')!) ?? 0) + 1);
    });
    return polls;
  };
  const trial = (lr: string) => `runs/sweep/lr-${lr}`;

  test('runs table: every run with its status; two ticked runs overlaid', async () => {
    const page = await open('#/');
    await page.locator('table.runs tbody tr').first().waitFor();
    const rows = await page.$$eval('table.runs tbody tr', (trs) =>
      trs.map((tr) => [tr.children[1].textContent, tr.children[4].textContent]),
    );
    assert.deepEqual(Object.fromEntries(rows), {
      'runs/done': 'completed',
      'runs/live': 'running',
      [trial('0.01')]: 'completed',
      [trial('0.1')]: 'completed',
    });
    assert.equal(await page.locator('ul.sweeps a').textContent(), 'runs/sweep');
    await page.check('input[aria-label="compare runs/done"]');
    await page.check(`input[aria-label="compare ${trial('0.1')}"]`);
    const loss = page.locator('figure.chart', { hasText: 'Training loss' });
    await loss.locator('.u-over').waitFor();
    assert.deepEqual(await loss.locator('.legend li').allTextContents(), ['runs/done', trial('0.1')]);
    // two lines' worth of points: each run's own step records, 6 steps each
    assert.equal(await loss.getAttribute('data-points'), '12');
    const acc = page.locator('figure.chart', { hasText: 'Accuracy' });
    assert.deepEqual(await acc.locator('.legend li').allTextContents(), [
      'runs/done test',
      'runs/done train',
      `${trial('0.1')} test`,
      `${trial('0.1')} train`,
    ]);
    await page.close();
  });

  test('the run in progress gains its new point within 2 s, with images/s and ETA; the finished one is read once', async () => {
    const page = await open('#/');
    const polls = countPolls(page);
    await page.evaluate(() => {
      location.hash = '#/?compare=runs%2Fdone,runs%2Flive';
    });
    const loss = page.locator('figure.chart', { hasText: 'Training loss' });
    const points = async () => Number((await loss.getAttribute('data-points')) ?? 0);
    await page.waitForFunction(() => /ETA/.test(document.querySelector('.live')?.textContent ?? ''));
    assert.match(
      (await page.locator('.live').textContent()) ?? '',
      /^runs\/live: training, epoch 1 of 50, 480 images\/s, ETA \d/,
    );
    for (let i = 0; i < 2; i++) {
      const n = await points();
      const t0 = appendStep();
      await page.waitForFunction(
        (m) => Number(document.querySelector('figure.chart')?.getAttribute('data-points')) > m,
        n,
        { timeout: 5000, polling: 50 },
      );
      const ms = Date.now() - t0;
      assert.ok(ms <= 2000, `the new point showed ${ms} ms after it was written`);
    }
    assert.equal(polls.get('runs/done'), 1, 'the finished run is read once, not followed');
    assert.ok((polls.get('runs/live') ?? 0) >= 2, 'the run in progress is polled');
    // the run finishes: its last epoch record and summary.json; the page stops following it
    appendFileSync(
      join(live, 'metrics.jsonl'),
      `${JSON.stringify({ epoch: 1, lr: 0.01, trainLoss: 0.5, trainAccuracy: 0.8, testLoss: 0.6, testAccuracy: 0.75, seconds: 1, evalSeconds: 0.1 })}\n`,
    );
    clearInterval(keepAlive);
    writeFileSync(join(live, 'summary.json'), JSON.stringify({ status: 'completed', testAccuracy: 0.75 }));
    await page.waitForFunction(() => document.querySelector('.live')?.textContent === '', null, { timeout: 5000 });
    const before = polls.get('runs/live');
    await page.waitForTimeout(2500);
    assert.equal(polls.get('runs/live'), before, 'a finished run is no longer polled');
    await page.close();
  });

  test('sweep page: trials ranked, each linked to its run page', async () => {
    const page = await open('#/sweep/runs%2Fsweep');
    const ranking = page.locator('section', { hasText: 'Ranking' }).locator('tbody tr');
    await ranking.first().waitFor();
    assert.equal(await ranking.count(), 2);
    const accs = (await ranking.locator('td:nth-child(4)').allTextContents()).map((a) => Number.parseFloat(a));
    assert.ok(accs.every(Number.isFinite) && accs[0] >= accs[1], `best first: ${accs.join(', ')}`);
    const first = ranking.first().locator('a');
    const name = await first.textContent();
    await first.click();
    await page.waitForURL(`${url}#/run/${encodeURIComponent(`runs/sweep/${name}`)}`);
    assert.equal(await page.locator('h1').textContent(), `runs/sweep/${name}`);
    await page.close();
  });

  test('run page: the confusion matrix; a cell lists its images; no console errors, no request left the server', async () => {
    const page = await open('#/run/runs%2Fdone');
    const cells = page.locator('table.confusion td button');
    await cells.first().waitFor();
    const label = (await cells.first().getAttribute('aria-label')) ?? '';
    const [, n] = /: (\d+) images/.exec(label) ?? [];
    await cells.first().click();
    const cards = page.locator('.cell-images .card');
    await cards.first().waitFor();
    assert.equal(await cards.count(), Math.min(48, Number(n)), label);
    assert.match((await cards.first().textContent()) ?? '', /^#\d+ true \S+, predicted \S+.*%/);
    await page.close();
    assert.deepEqual(b!.errors, []);
    assert.deepEqual(b!.foreign, []);
  });
});
