import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModel, Rng } from '../src/index.js';
import { launchChromium, skipWithoutChromium } from './helpers/browser.js';
import { checkPng } from './helpers/png-check.js';

// End to end through the command line: a tiny MNIST-format data set is trained on for two
// epochs, then every picture and the report are drawn and the model is evaluated (predict: predict.test.ts).

const main = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
let dir = '';
let run = '';

function convts(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function idx(dims: number[], data: Uint8Array): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(0x800 + dims.length, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

// Class c is a bright bar across rows 2c+4 … 2c+6 over faint noise: learnable in two epochs.
// Every `mislabel`-th sample is given the next class's label, so that there are mistakes to show.
function writeSplit(folder: string, prefix: string, n: number, seed: number, mislabel = 0): void {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * 784);
  const drawn = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const labels = drawn.map((l, i) => (mislabel && i % mislabel === 0 ? (l + 1) % 10 : l));
  for (let s = 0; s < n; s++) {
    for (let p = 0; p < 784; p++) {
      const row = Math.floor(p / 28);
      const bar = row >= 2 * drawn[s] + 4 && row <= 2 * drawn[s] + 6 && p % 28 > 5 && p % 28 < 22;
      images[s * 784 + p] = bar ? 200 + rng.int(56) : rng.int(40);
    }
  }
  writeFileSync(join(folder, `${prefix}-images-idx3-ubyte`), idx([n, 28, 28], images));
  writeFileSync(join(folder, `${prefix}-labels-idx1-ubyte`), idx([n], labels));
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'convts-cli-report-'));
  mkdirSync(join(dir, 'mnist'));
  writeSplit(join(dir, 'mnist'), 'train', 60, 1);
  writeSplit(join(dir, 'mnist'), 't10k', 30, 2, 5);
  run = join(dir, 'run');
  const r = convts('train', '--data-dir', dir, '--epochs', '2', '--batch-size', '10', '--lr', '0.02', '--out', run);
  assert.equal(r.code, 0, r.err);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('show report: every picture and report.html in the run directory', () => {
  const r = convts('show', 'report', run);
  assert.equal(r.code, 0, r.err);
  for (const f of [
    'curves-loss.png',
    'curves-accuracy.png',
    'confusion.png',
    'filters-conv1.png',
    'filters-conv2.png',
    'feature-maps.png',
    'misclassified.png',
  ]) {
    checkPng(readFileSync(join(run, f)), undefined, undefined, f);
  }
  assert.ok(existsSync(join(run, 'report.html')));
});

test('show curves|confusion|filters|maps|misclassified: PNGs of the size the command states', () => {
  for (const what of ['curves', 'confusion', 'filters', 'maps', 'misclassified']) {
    const out = join(dir, `${what}.png`);
    const r = convts('show', what, run, '--out', out, ...(what === 'maps' ? ['--index', '3'] : []));
    assert.equal(r.code, 0, r.err);
    const m = /wrote .* \((\d+)×(\d+)\)/.exec(r.err);
    assert.ok(m, r.err);
    checkPng(readFileSync(out), Number(m[1]), Number(m[2]), what);
  }
  const layer = convts('show', 'filters', run, '--layer', 'conv2', '--out', join(dir, 'conv2.png'));
  assert.equal(layer.code, 0, layer.err);
  const one = convts('show', 'filters', run, '--layer', 'conv2', '--filter', '7', '--out', join(dir, 'one.png'));
  assert.equal(one.code, 0, one.err);
  const { width } = checkPng(readFileSync(join(dir, 'one.png')), undefined, undefined, 'one filter');
  assert.ok(width >= 8 * 5 * 8, 'eight 5×5 channels of at least 8 px per weight');
});

test('show: bad arguments say what to do', () => {
  let r = convts('show', 'pictures', run);
  assert.equal(r.code, 2);
  assert.match(r.err, /"pictures" is not one of curves, confusion, filters, maps, misclassified, report/);
  r = convts('show', 'filters', run, '--layer', 'conv7');
  assert.match(r.err, /no conv layer "conv7" — its conv layers are conv1, conv2/);
  r = convts('show', 'filters', run, '--filter', '8');
  assert.match(r.err, /--filter: expected an integer ≥ 0 and ≤ 7, got "8"/);
  r = convts('show', 'maps', run, '--index', '999');
  assert.match(r.err, /image index 999 is out of range — the test set has 30 images/);
  r = convts('show', 'curves', join(dir, 'nowhere'));
  assert.match(r.err, /no such run directory/);
  r = convts('show', 'curves', run, '--colour', 'red');
  assert.equal(r.code, 2);
  assert.match(r.err, /Unknown option '--colour'.*see convts show --help/);
  r = convts('show', 'curves', run, '--ind', '2');
  assert.match(r.err, /Unknown option '--ind' — did you mean --index\?/);
});

test('eval: the same accuracy and loss as training measured, with per-class precision and recall', () => {
  const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
  const r = convts('eval', run, '--json');
  assert.equal(r.code, 0, r.err);
  const e = JSON.parse(r.out);
  assert.equal(e.images, 30);
  assert.equal(e.accuracy, summary.testAccuracy);
  assert.ok(Math.abs(e.loss - summary.testLoss) < 1e-6, `${e.loss} vs ${summary.testLoss}`);
  assert.deepEqual(e.confusionMatrix, summary.confusionMatrix);
  assert.equal(e.precision.length, 10);
  assert.equal(e.recall.length, 10);
  const text = convts('eval', run);
  assert.match(text.out, /accuracy \d+\.\d\d%, loss \d\.\d{4}/);
  assert.match(text.out, /class\s+precision\s+recall\s+images/);
  assert.match(text.out, /confusion matrix \(rows: true class, columns: predicted\)/);
});

test('report.html from file://: the run page with its charts and model views, interactive, no network', async (t) => {
  if (skipWithoutChromium) {
    t.skip(skipWithoutChromium);
    return;
  }
  const html = join(run, 'report.html');
  if (!existsSync(html)) assert.equal(convts('show', 'report', run).code, 0);
  assert.match(readFileSync(html, 'utf8'), /"packed":\{"lo":\[/, 'the pictures are saved packed');
  const browser = (await launchChromium())!;
  try {
    for (const width of [1200, 390]) {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (q) => requests.push(q.url()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(`file://${html}`, { waitUntil: 'load' });
      // the same charts as the live page: loss per step, accuracy per epoch, learning rate
      const charts = page.locator('figure.chart');
      await charts.nth(2).locator('.u-over').waitFor();
      const points = await charts.evaluateAll((fs) =>
        fs.map((f) => [f.querySelector('figcaption span')?.textContent, Number(f.getAttribute('data-points'))]),
      );
      assert.deepEqual(
        points.map(([title]) => title),
        ['Training loss', 'Accuracy', 'Learning rate'],
      );
      assert.ok(
        points.every(([, n]) => (n as number) > 0),
        JSON.stringify(points),
      );
      const sections = await page.$$eval('section h2', (hs) => hs.map((x) => x.textContent));
      for (const s of [
        'Curves',
        'Summary',
        'Settings',
        'Accuracy per class',
        'Confusion matrix',
        'Filters',
        'Feature maps',
        'Worst mistakes',
      ])
        assert.ok(sections.includes(s), `${s} missing from ${sections.join(', ')}`);
      await page.locator('.tiles canvas').first().waitFor();
      await page.locator('table.confusion td button').first().click();
      await page.locator('.cell-images .card').first().waitFor();
      // The filters travel as bytes in the file: unpacked, each weight within one step of 256 of its layer's range.
      const saved = await page.evaluate(() => {
        const data = (window as unknown as { CONVTS_DATA: Record<string, unknown> }).CONVTS_DATA;
        return Object.entries(data).find(([k]) => k.startsWith('/api/filters'))![1] as {
          name: string;
          data: number[];
        }[];
      });
      const conv = loadModel(run).layers.filter((l) => l.kind === 'conv2d');
      assert.equal(saved.length, conv.length);
      saved.forEach((f, i) => {
        const w = conv[i].params[0].value.data;
        assert.equal(f.data.length, w.length, f.name);
        const step = (Math.max(...w) - Math.min(...w)) / 255;
        w.forEach((v, j) =>
          assert.ok(Math.abs(f.data[j] - v) <= step / 2 + 1e-4, `${f.name}[${j}]: ${f.data[j]} vs ${v}`),
        );
      });
      assert.deepEqual(
        requests.filter((u) => !/^(file|data|blob):/.test(u)),
        [],
        'no network requests',
      );
      assert.deepEqual(errors, []);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `report is ${overflow}px wider than a ${width}px screen`);
      await page.close();
    }
  } finally {
    await browser.close();
  }
});
