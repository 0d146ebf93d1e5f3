import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import jpeg from 'jpeg-js';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { loadModel, saveModelFiles } from '../src/index.js';
import { skipWithoutChromium, type WatchedBrowser } from './helpers/browser.js';
import { convts } from './helpers/cli.js';
import { writeMnistDir } from './helpers/mnist.js';
import { servePages } from './helpers/serve.js';
import { tempDir } from './helpers/tmp.js';

// Feature maps of a picture the reader uploads on the run page, in Debian's chromium: chosen with
// the page's file input, every conv and pool layer's maps drawn and labelled, dead maps marked.

/** A 40×30 picture of a dark stroke on a light background, as a photo of a written digit is. */
function digit(): PNG {
  const png = new PNG({ width: 40, height: 30 });
  png.data.fill(255);
  for (let y = 5; y < 25; y++) for (let x = 18; x < 22; x++) png.data.fill(20, (y * 40 + x) * 4, (y * 40 + x) * 4 + 3);
  return png;
}

describe('convts serve: feature maps of an uploaded picture', { skip: skipWithoutChromium }, () => {
  const base = tempDir('convts-serve-upload-');
  const runs = join(base, 'runs');
  const data = join(base, 'data');
  let s: WatchedBrowser;

  before(async () => {
    writeMnistDir(data, 32, 16);
    const run = join(runs, 'a');
    const r = await convts(
      ...['train', '--dataset', 'mnist', '--data-dir', data, '--offline', '--batch-size', '8', '--filters', '4'],
      ...['--out', run],
    );
    assert.equal(r.code, 0, r.stderr);
    // conv1's filter 2 zeroed: its map is 0 everywhere for any picture, and must be shown as such
    const model = loadModel(run);
    const conv1 = model.layers.find((l) => l.kind === 'conv2d')!;
    const [w, b] = conv1.params.map((p) => p.value);
    const per = w.size / w.shape[0];
    w.data.fill(0, 2 * per, 3 * per);
    b.data[2] = 0;
    saveModelFiles(model, run);
    s = await servePages(runs, data);
  });
  after(() => s?.close());

  /** The feature-maps section after choosing `file` in its file input. */
  async function upload(page: Page, file: { name: string; mimeType: string; buffer: Buffer }) {
    const section = page.locator('section', { has: page.locator('h2', { hasText: 'Feature maps' }) });
    await section.locator('h3', { hasText: /^test image 0/ }).waitFor(); // test image 0 is shown first
    await section.locator('input[type=file]').setInputFiles(file);
    await section.locator('h3', { hasText: /^uploaded image/ }).waitFor();
    return section;
  }

  test('a PNG chosen in the page: its maps of every conv and pool layer, labelled, scaled, dead ones marked', async () => {
    const page = await s.open('#/run/runs%2Fa');
    const png = { name: 'digit.png', mimeType: 'image/png', buffer: PNG.sync.write(digit()) };
    const section = await upload(page, png);
    const body = (await section.textContent()) ?? '';
    assert.match(body, /uploaded image 40×30 \(inverted: light background\)/);
    assert.match(body, /prediction: \d: \d+(\.\d)? %/);
    const heads = await section.locator('h3').allTextContents();
    assert.deepEqual(heads.slice(1), [
      'input 28×28, as the model takes it',
      'conv1 (conv2d): 4 maps of 24×24, 1 all 0',
      'conv2 (conv2d): 4 maps of 20×20',
      'pool1 (maxpool2d): 4 maps of 10×10',
    ]);
    // the input and each layer's maps: one labelled tile per map, its value range on hover
    const grids = section.locator('.tiles');
    assert.equal(await grids.count(), 4);
    assert.deepEqual(await grids.nth(0).locator('figcaption').allTextContents(), ['input']);
    assert.deepEqual(await grids.nth(1).locator('figcaption').allTextContents(), ['0', '1', '2: all 0', '3']);
    assert.equal(await grids.nth(1).locator('figure.tile.zero').count(), 1);
    assert.equal(await section.locator('figure.tile.zero').count(), 1, 'only the dead map is marked');
    const range = (await grids.nth(1).locator('figcaption').first().getAttribute('title')) ?? '';
    assert.match(range, /^values -?[\d.e+-]+ … -?[\d.e+-]+$/);
    for (const i of [2, 3])
      assert.deepEqual(await grids.nth(i).locator('figcaption').allTextContents(), ['0', '1', '2', '3']);
    // every map drawn at its size: 24×24 values, 2 screen pixels each, 2 device pixels per screen pixel
    const size = await grids
      .nth(1)
      .locator('canvas')
      .first()
      .evaluate((c) => [(c as HTMLCanvasElement).width, c.clientWidth]);
    assert.deepEqual(size, [96, 48]);
    // a test image by index, then the upload again: each shows in its turn
    await section.locator('input[aria-label="test image index"]').fill('3');
    await section.getByRole('button', { name: 'show' }).click();
    await section.locator('h3', { hasText: /^test image 3/ }).waitFor();
    await section.locator('input[type=file]').setInputFiles(png);
    await section.locator('h3', { hasText: /^uploaded image/ }).waitFor();
    await page.close();
  });

  test('a JPEG works too; a file that is not a picture gets the server’s one-line reason', async () => {
    const page = await s.open('#/run/runs%2Fa');
    const section = await upload(page, {
      name: 'digit.jpg',
      mimeType: 'image/jpeg',
      buffer: jpeg.encode(digit(), 90).data,
    });
    assert.match((await section.textContent()) ?? '', /uploaded image 40×30/);
    await section.locator('input[type=file]').setInputFiles({
      name: 'notes.png',
      mimeType: 'image/png',
      buffer: Buffer.from('not a picture'),
    });
    await section.locator('.error', { hasText: 'the upload is not a PNG or JPEG image' }).waitFor();
    await page.close();
    // the refusal is the answer shown, not a console error; nothing left the server
    assert.deepEqual(
      s.errors.filter((e) => !/422/.test(e)),
      [],
    );
    assert.deepEqual(s.foreign, []);
  });
});
