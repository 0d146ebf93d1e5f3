import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { skipWithoutChromium, type WatchedBrowser } from './helpers/browser.js';
import { convts } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { servePages, serveRuns } from './helpers/serve.js';
import { tempDir } from './helpers/tmp.js';

// The dashboard's sweep page, the settings diff, the keyboard, and the page at phone and desktop
// widths, in Debian's chromium on a real sweep and two runs trained here.

describe('convts serve: sweep page, settings diff, keyboard, widths', { skip: skipWithoutChromium }, () => {
  const base = tempDir('convts-serve-pages-');
  const runs = join(base, 'runs');
  const data = join(base, 'data');
  const small = ['--dataset', 'mnist', '--data-dir', data, '--offline', '--train-limit', '16', '--test-limit', '8'];
  let s: WatchedBrowser;

  before(async () => {
    writeMnistDir(data, 32, 16);
    const sweep = await convts(
      'sweep',
      ...small,
      ...['--epochs', '1', '--grid', 'lr=0.01,0.1', '--grid', 'batch-size=8', '--out', join(runs, 'sweep')],
    );
    assert.equal(sweep.code, 0, sweep.stderr);
    for (const [name, pool] of [
      ['max', 'max'],
      ['avg', 'avg'],
    ]) {
      const r = await convts('train', ...small, '--pool', pool, '--out', join(runs, name));
      assert.equal(r.code, 0, r.stderr);
    }
    s = await servePages(runs, data);
  });
  after(() => s?.close());

  const open = (hash: string, width?: number): Promise<Page> => s.open(hash, width);

  test('sweep page: ranking linked to each trial, accuracy by lr on a log axis, heat map, all curves', async () => {
    const page = await open('#/sweep/runs%2Fsweep');
    const ranking = page.locator('section', { hasText: 'Ranking' }).locator('tbody tr');
    await ranking.first().waitFor();
    assert.equal(await ranking.count(), 2);
    const links = await ranking.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(
      [...links].sort(),
      ['lr-0.01_batch-size-8', 'lr-0.1_batch-size-8'].map((t) => `#/run/${encodeURIComponent(`runs/sweep/${t}`)}`),
    );
    const accs = await ranking.locator('td:nth-child(5)').allTextContents();
    const values = accs.map((a) => Number.parseFloat(a));
    assert.deepEqual(
      values,
      [...values].sort((a, b) => b - a),
      'best first',
    );
    const byLr = page.locator('figure.chart', { hasText: 'Test accuracy by lr' });
    await byLr.locator('.u-over').waitFor();
    assert.equal(await byLr.getAttribute('data-x-scale'), 'log');
    const byBatch = page.locator('figure.chart', { hasText: 'Test accuracy by batch-size' });
    assert.equal(await byBatch.getAttribute('data-x-scale'), 'linear');
    const heat = page.locator('table.heat tbody td a');
    assert.equal(await heat.count(), 2, 'a heat-map cell per trial, each a link');
    const all = page
      .locator('section', { hasText: 'All trials' })
      .locator('figure.chart', { hasText: 'Training loss' });
    await all.locator('.u-over').waitFor();
    assert.equal(await all.locator('.legend li').count(), 2);
    await ranking.first().locator('a').click();
    await page.waitForURL(/#\/run\/runs%2Fsweep%2Flr-/);
    await page.locator('pre.command').waitFor();
    await page.close();
  });

  test('settings diff: picking another run highlights the settings that differ', async () => {
    const page = await open('#/run/runs%2Fmax');
    const pick = page.locator('select[aria-label="run to compare settings with"]');
    await page.waitForFunction(() => document.querySelectorAll('select option').length > 1);
    await pick.selectOption('runs/avg');
    const note = page.locator('.diff p.note');
    await note.waitFor();
    assert.match((await note.textContent()) ?? '', /^\d+ of \d+ settings differ/);
    const changed = await page
      .locator('.diff tbody tr', { has: page.locator('code.changed') })
      .locator('td:first-child')
      .allTextContents();
    assert.ok(changed.includes('pool'), `pool differs: ${changed.join(', ')}`);
    assert.ok(!changed.includes('lr'), 'lr is the same');
    await page.close();
  });

  test('keyboard: Tab reaches the filter, the sort buttons, the ticks and the links; Space ticks, Enter follows', async () => {
    const page = await open('#/');
    await page.locator('table.runs tbody tr').first().waitFor();
    assert.match((await page.locator('.compare').textContent()) ?? '', /Tick runs/);
    const reached: string[] = [];
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      reached.push(
        await page.evaluate(() => {
          const e = document.activeElement as HTMLElement;
          return `${e.tagName.toLowerCase()}:${e.getAttribute('aria-label') ?? e.textContent?.trim() ?? ''}`;
        }),
      );
      if (reached.at(-1) === 'input:compare runs/max') break;
    }
    for (const want of ['input:filter runs', 'button:run', 'a:playground'])
      assert.ok(
        reached.some((r) => r.startsWith(want)),
        `${want} reached by Tab: ${reached.join(' | ')}`,
      );
    assert.equal(reached.at(-1), 'input:compare runs/max');
    await page.keyboard.press('Space');
    await page.locator('.compare figure.chart .u-over').first().waitFor();
    // a sweep link, followed with Enter
    await page.locator('ul.sweeps a').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/sweep\//);
    await page.close();
  });

  test('a layer with more than 1,024 filter tiles draws 1,024, then more when asked', async () => {
    const wide = join(base, 'wide');
    const r = await convts('train', ...small, '--filters', '4,300', '--out', join(wide, 'w'));
    assert.equal(r.code, 0, r.stderr);
    const server = await serveRuns(wide, data);
    try {
      const page = await s.browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${server.url}#/run/wide%2Fw`);
      // the innermost div holding the heading: the layer's own
      const layer = page.locator('section div', { has: page.locator('h3', { hasText: /^conv2: 300 filters/ }) }).last();
      await layer.locator('.tiles canvas').first().waitFor();
      assert.equal(await layer.locator('.tiles figure').count(), 1024);
      const more = layer.locator('.bar button');
      assert.equal(await more.textContent(), 'showing 1,024 of 1,200 — show 176 more');
      const filters = page.locator('section', { has: page.locator('h2', { hasText: 'Filters' }) });
      assert.equal(await filters.locator('.bar button:visible').count(), 1, 'only the wide layer has a button');
      await more.click();
      assert.equal(await layer.locator('.tiles figure').count(), 1200);
      assert.ok(await more.isHidden());
      assert.equal(await filters.locator('.bar button:visible').count(), 0, 'no layer left to show more of');
      await page.close();
    } finally {
      server.close();
    }
  });

  test('with more than 200 runs the table draws 200 until "show all"; a ticked run beyond them stays drawn', async () => {
    const many = join(base, 'many');
    for (let i = 0; i < 205; i++) {
      const dir = join(many, `run-${String(i).padStart(3, '0')}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ model: 'seed-mnist', dataset: 'mnist', lr: 0.01 }));
      writeFileSync(join(dir, 'summary.json'), JSON.stringify({ status: 'completed', testAccuracy: i / 1000 }));
    }
    const server = await serveRuns(many, data);
    try {
      const page = await s.browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${server.url}#/?compare=many%2Frun-204`);
      await page.locator('table.runs tbody tr').first().waitFor();
      assert.equal(await page.locator('.count').textContent(), '205 of 205 runs');
      assert.equal(await page.locator('table.runs tbody tr').count(), 201, 'the first 200 and the ticked run-204');
      assert.ok(await page.locator('input[aria-label="compare many/run-204"]').isChecked());
      const more = page.locator('.bar button');
      assert.equal(await more.textContent(), 'showing 201 — show all 205');
      await more.click();
      assert.equal(await page.locator('table.runs tbody tr').count(), 205);
      assert.ok(await more.isHidden());
      await page.close();
    } finally {
      server.close();
    }
  });

  test('at 390 px and 1,920 px nothing overflows sideways; no console errors; no request left the server', async () => {
    for (const width of [390, 1920])
      for (const hash of ['#/', '#/?compare=runs%2Fmax,runs%2Favg', '#/run/runs%2Favg', '#/sweep/runs%2Fsweep']) {
        const page = await open(hash, width);
        await page
          .locator(hash === '#/' ? 'table.runs tbody tr' : 'figure.chart .u-over')
          .first()
          .waitFor();
        await page.waitForTimeout(200);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${hash} is ${overflow}px wider than a ${width}px screen`);
        await page.close();
      }
    assert.deepEqual(s.errors, []);
    assert.deepEqual(s.foreign, []);
  });
});
