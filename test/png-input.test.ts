import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PNG } from 'pngjs';
import { imageToInput, type RgbImage, readPngRgb } from '../src/io/png-input.js';

const dir = mkdtempSync(join(tmpdir(), 'convts-png-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes RGBA pixels as a PNG file of the given colour type (0 grey, 2 RGB, 6 RGBA). */
function png(name: string, width: number, height: number, rgba: number[], colorType: 0 | 2 | 6): string {
  const f = join(dir, name);
  const p = new PNG({ width, height });
  p.data.set(rgba);
  writeFileSync(f, PNG.sync.write(p, { colorType }));
  return f;
}

const dark = { mean: [0.1], std: [0.3] };

test('readPngRgb: grey, RGB and RGBA (transparent shows as white) become 0–255 RGB', () => {
  const g = readPngRgb(png('g.png', 2, 1, [0, 0, 0, 255, 200, 200, 200, 255], 0));
  assert.deepEqual([...g.rgb], [0, 0, 0, 200, 200, 200]);
  const c = readPngRgb(png('c.png', 1, 1, [10, 20, 30, 255], 2));
  assert.deepEqual([...c.rgb], [10, 20, 30]);
  const rgba = readPngRgb(png('rgba.png', 2, 1, [10, 20, 30, 255, 0, 0, 0, 0], 6));
  assert.deepEqual([...rgba.rgb], [10, 20, 30, 255, 255, 255]);
});

test("imageToInput: an image of the model's size is only normalized", () => {
  const rgb = Float32Array.from({ length: 28 * 28 * 3 }, (_, i) => Math.floor(i / 3) % 256);
  const { x, inverted } = imageToInput({ width: 28, height: 28, rgb }, [1, 28, 28], dark, {
    frame: 'whole',
    invert: 'no',
  });
  assert.equal(inverted, false);
  for (let i = 0; i < 784; i++) assert.ok(Math.abs(x[i] - ((i % 256) / 255 - 0.1) / 0.3) < 1e-5, `pixel ${i}`);
});

test('imageToInput: a dark stroke on white is inverted and framed like an MNIST digit', () => {
  // A vertical bar, 10 px wide and 110 px tall, off-centre on a 150×150 white picture.
  const w = 150;
  const rgb = new Float32Array(w * w * 3).fill(255);
  for (let y = 20; y < 130; y++) for (let x = 30; x < 40; x++) rgb.fill(0, (y * w + x) * 3, (y * w + x) * 3 + 3);
  const img: RgbImage = { width: w, height: w, rgb };
  const { x, inverted } = imageToInput(img, [1, 28, 28], { mean: [0], std: [1] }, { frame: 'digit' });
  assert.equal(inverted, true, 'light background, dark training images');
  const inkRows = [...Array(28).keys()].filter((r) => x.subarray(r * 28, r * 28 + 28).some((v) => v > 0.5));
  assert.equal(inkRows.length, 20, 'the ink fills 20 of 28 rows');
  let m = 0;
  let mx = 0;
  for (let i = 0; i < 784; i++) {
    m += x[i];
    mx += x[i] * (i % 28);
  }
  assert.ok(Math.abs(mx / m - 13.5) <= 0.5, `centre of mass at column ${mx / m}`);
  assert.equal(
    imageToInput(img, [1, 28, 28], { mean: [0.6], std: [0.3] }).inverted,
    false,
    'light training images: no inversion',
  );
});

test('imageToInput: a colour model gets three channels; a flat model is refused', () => {
  const rgb = new Float32Array(4 * 4 * 3);
  for (let i = 0; i < 16; i++) rgb.set([255, 0, 0], i * 3);
  const norm = { mean: [0, 0, 0], std: [1, 1, 1] };
  const { x } = imageToInput({ width: 4, height: 4, rgb }, [3, 2, 2], norm, { invert: 'no' });
  assert.deepEqual([...x], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(
    () => imageToInput({ width: 4, height: 4, rgb }, [1296], norm),
    /takes inputs of 1296, not grey or colour images/,
  );
});
