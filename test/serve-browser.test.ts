import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { skipWithoutChromium, type WatchedBrowser } from './helpers/browser.js';
import { childEnv, convts, mainJs } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { servePages } from './helpers/serve.js';
import { tempDir } from './helpers/tmp.js';

// The dashboard in Debian's chromium (never a downloaded browser), on tiny runs trained here.

describe('convts serve in a browser', { skip: skipWithoutChromium }, () => {
  const base = tempDir('convts-serve-web-');
  const runs = join(base, 'runs');
  const data = join(base, 'data');
  let s: WatchedBrowser;
  const train = (out: string, ...more: string[]) => [
    'train',
    '--dataset',
    'mnist',
    '--data-dir',
    data,
    '--offline',
    '--batch-size',
    '8',
    '--out',
    out,
    ...more,
  ];

  before(async () => {
    writeMnistDir(data, 48, 40);
    for (const [name, lr] of [
      ['a', '0.01'],
      ['b', '0.05'],
    ]) {
      const r = await convts(...train(join(runs, name), '--epochs', '2', '--lr', lr));
      assert.equal(r.code, 0, r.stderr);
    }
    s = await servePages(runs, data);
  });
  after(() => s?.close());

  const open = (hash: string, width?: number): Promise<Page> => s.open(hash, width);

  test('runs page lists the runs; two ticked runs are overlaid, hover shows both values', async () => {
    const page = await open('#/');
    await page.waitForSelector('table.runs tbody tr');
    const ids = await page.$$eval('table.runs tbody tr td:nth-child(2)', (tds) => tds.map((t) => t.textContent));
    assert.deepEqual(ids.sort(), ['runs/a', 'runs/b']);
    await page.check('input[aria-label="compare runs/a"]');
    await page.check('input[aria-label="compare runs/b"]');
    const loss = page.locator('figure.chart', { hasText: 'Training loss' });
    await loss.locator('.u-over').waitFor();
    assert.deepEqual(await loss.locator('.legend li').allTextContents(), ['runs/a', 'runs/b']);
    const box = (await loss.locator('.u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    const tip = loss.locator('.tip');
    await tip.waitFor({ state: 'visible' });
    const text = (await tip.textContent()) ?? '';
    assert.match(text, /runs\/a: \d/);
    assert.match(text, /runs\/b: \d/);
    await page.close();
  });

  test('curves: drag zooms and a redraw keeps the zoom, double-click resets; PNG, SVG and CSV downloads', async () => {
    const page = await open('#/?compare=runs%2Fa,runs%2Fb');
    const loss = page.locator('figure.chart', { hasText: 'Training loss' });
    const over = loss.locator('.u-over');
    await over.waitFor();
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    assert.equal(await loss.getAttribute('data-zoomed'), 'true');
    await page.locator('input[aria-label="smoothing"]').fill('0.9');
    await page.locator('label.smoothing output', { hasText: '0.90' }).waitFor();
    assert.equal(await loss.getAttribute('data-zoomed'), 'true', 'new data keeps the zoom');
    await over.dblclick();
    assert.equal(await loss.getAttribute('data-zoomed'), 'false');
    const saved = async (button: string) => {
      const [d] = await Promise.all([
        page.waitForEvent('download'),
        loss.getByRole('button', { name: button }).click(),
      ]);
      return { name: d.suggestedFilename(), bytes: readFileSync((await d.path())!) };
    };
    const csv = await saved('CSV');
    assert.equal(csv.name, 'Training-loss.csv');
    const [head, ...rows] = csv.bytes.toString().trim().split('\n');
    assert.equal(head, '"step","runs/a (raw)","runs/a","runs/b (raw)","runs/b"');
    assert.ok(rows.length >= 10 && rows.every((r) => r.split(',').length === 5), `${rows.length} rows`);
    const svg = await saved('SVG');
    assert.equal(svg.name, 'Training-loss.svg');
    assert.match(svg.bytes.toString(), /^(<\?xml[^>]*>\s*)?<svg[^>]*>[\s\S]*runs\/b[\s\S]*<\/svg>\s*$/);
    const png = await saved('PNG');
    assert.equal(png.name, 'Training-loss.png');
    const decoded = PNG.sync.read(png.bytes);
    assert.ok(decoded.width >= 260 && decoded.height >= 200, `${decoded.width}×${decoded.height}`);
    await page.close();
  });

  test('a confusion-matrix cell shows its test images with their probabilities', async () => {
    const page = await open('#/run/runs%2Fa');
    const cell = page.locator('table.confusion td button').first();
    await cell.click();
    await page.locator('.cell-images .card').first().waitFor();
    assert.match((await page.locator('.cell-images .card').first().textContent()) ?? '', /#\d+ true .* predicted .*%/);
    await page.locator('.tiles canvas').first().waitFor(); // filters and feature maps drew
    // every picture drawn at 2 device pixels per screen pixel at least: sharp on high-DPI screens
    const sizes = await page.$$eval('.tiles canvas, .card canvas', (cs) =>
      (cs as HTMLCanvasElement[]).map((c) => [c.width, c.clientWidth, c.height, c.clientHeight]),
    );
    assert.ok(sizes.length > 10);
    for (const [w, cw, hh, ch] of sizes) assert.ok(w === 2 * cw && hh === 2 * ch, `${w}×${hh} for ${cw}×${ch}`);
    // the settings start with the command line the run was made with
    assert.match((await page.locator('pre.command').textContent()) ?? '', /^convts train --dataset mnist /);
    await page.close();
  });

  test('a run started during the test shows new points within 5 s', async () => {
    const out = join(runs, 'live');
    const child: ChildProcess = spawn(
      process.execPath,
      [mainJs, ...train(out, '--epochs', '100000', '--batch-size', '1', '--log-every', '24')],
      {
        env: childEnv(),
        stdio: 'ignore',
      },
    );
    try {
      while (!existsSync(join(out, 'metrics.jsonl'))) await new Promise((r) => setTimeout(r, 100));
      const page = await open('#/run/runs%2Flive');
      const loss = page.locator('figure.chart', { hasText: 'Training loss' });
      const points = async () => Number((await loss.getAttribute('data-points')) ?? 0);
      await page.waitForFunction(() => Number(document.querySelector('figure.chart')?.getAttribute('data-points')) > 0);
      const n = await points();
      const t0 = Date.now();
      await page.waitForFunction(
        (m) => Number(document.querySelector('figure.chart')?.getAttribute('data-points')) > m,
        n,
        { timeout: 5000 },
      );
      assert.ok(Date.now() - t0 < 5000);
      assert.match((await page.locator('.live').textContent()) ?? '', /images\/s, ETA \d/);
      await page.close();
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('the playground at /playground is cross-origin isolated and loads the data sets from the server', async () => {
    const page = await open('playground');
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    await page.waitForFunction(
      () => (globalThis as unknown as { playground: { state: { ready: boolean } } }).playground.state.ready,
    );
    await page.click('#load-server');
    await page.waitForFunction(
      () => (globalThis as unknown as { playground: { state: { data: unknown } } }).playground.state.data !== null,
    );
    assert.match((await page.locator('#data-status').textContent()) ?? '', /^48 training and 40 test images/);
    await page.close();
    // the dashboard links to it
    const runsPage = await open('#/');
    assert.equal(await runsPage.locator('header a[href="playground"]').count(), 1);
    await runsPage.close();
  });

  test('at 390 px nothing overflows sideways; traversal gets 404; no console errors; no request left the server', async () => {
    for (const hash of ['#/?compare=runs%2Fa,runs%2Fb', '#/run/runs%2Fb']) {
      const page = await open(hash, 390);
      await page.locator('figure.chart .u-over').first().waitFor();
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${hash} is ${overflow}px wider than a 390px screen`);
      await page.close();
    }
    const page = await open('#/');
    for (const path of ['files/runs/../../etc/passwd', 'files/runs/%2e%2e/%2e%2e/etc/passwd', 'files//etc/passwd'])
      assert.equal((await page.request.get(s.url + path)).status(), 404, path);
    await page.close();
    assert.deepEqual(s.errors, []);
    assert.deepEqual(s.foreign, []);
  });
});
