// The playground on a folder of pictures by class, in Debian's chromium: a folder dropped whole (a
// real drag through CDP) and chosen with the folder input, a zip of it, training above chance, a
// saved model the command line reads the same way, and bad folders and zips named in the page.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { loadDataset } from '../src/index.js';
import { chromiumPath, launchChromium, staticServer } from './helpers/browser.js';
import { convts } from './helpers/cli.js';
import { drawRgb, writePng } from './helpers/pictures.js';
import { tempDir } from './helpers/tmp.js';
import { zipBytes } from './helpers/zip.js';

const webDir = fileURLToPath(new URL('../web/', import.meta.url));
const tmp = tempDir('convts-pictures-');
const classes = ['blue', 'green', 'red'];
const perClass = 30;

/**
 * DIR/<colour>/<n>.png: 16×16 noise over one dominant colour (two pictures of each class 20×24, resized
 * to the common size), plus what a folder copied from a Mac holds: .DS_Store, ._ files, __MACOSX/.
 */
function writePictureFolder(dir: string, n = perClass): void {
  let seed = 5;
  const noise = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % 90;
  };
  classes.forEach((c, k) => {
    mkdirSync(join(dir, c), { recursive: true });
    for (let i = 0; i < n; i++) {
      const [w, h] = i < 2 ? [24, 20] : [16, 16];
      const rgb = drawRgb(w, h, () => [0, 1, 2].map((ch) => (ch === 2 - k ? 150 : 40) + noise()));
      writePng(join(dir, c, `${i}.png`), rgb, 3, h, w);
    }
    writeFileSync(join(dir, c, `._0.png`), 'AppleDouble resource fork');
  });
  writeFileSync(join(dir, '.DS_Store'), 'Finder');
  mkdirSync(join(dir, '__MACOSX', 'red'), { recursive: true });
  writeFileSync(join(dir, '__MACOSX', 'red', '._1.png'), 'resource fork');
  writeFileSync(join(dir, 'README.txt'), 'pictures by colour');
}

/** Every file below dir, as zip entries under `prefix` (stored and deflated by turns). */
function zipOf(dir: string, prefix: string): Buffer {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }))
      e.isDirectory() ? walk(join(d, e.name)) : files.push(join(d, e.name));
  };
  walk(dir);
  return zipBytes(
    files.map((f, i) => ({
      name: `${prefix}${relative(dir, f)}`,
      data: readFileSync(f),
      method: i % 2 ? 0 : 8,
    })),
  );
}

const folder = join(tmp, 'colours');
writePictureFolder(folder);
const zipPath = join(tmp, 'colours.zip');
writeFileSync(zipPath, zipOf(folder, 'colours/'));

let browser: Browser | null = null;
let base = '';
let server: { close(): void } | null = null;
before(async () => {
  browser = await launchChromium();
  const s = await staticServer(webDir);
  base = s.url;
  server = s.server;
});
after(async () => {
  await browser?.close();
  server?.close();
});

type State = Record<string, unknown>;
const state = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { playground: { state: State } }).playground.state);
const until = (page: Page, f: string, timeout = 120_000) =>
  page.waitForFunction(`(() => { const s = playground.state; return ${f}; })()`, null, { timeout, polling: 50 });
type Data = { train: number; test: number; shape: number[]; classNames: string[] };

async function openPage(): Promise<Page> {
  const page = await (browser as Browser).newPage({ acceptDownloads: true });
  page.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
  await page.goto(`${base}playground.html`);
  await until(page, 's.ready', 30_000);
  return page;
}

const skip = (t: { skip: (m: string) => void }) => {
  if (browser) return false;
  t.skip(`${chromiumPath} not found (apt-get install -y chromium) — playground checks skipped`);
  return true;
};

/** Drops `paths` (files or folders) on the page's drop zone as the OS would: CDP drag events. */
async function dropOn(page: Page, paths: string[]): Promise<void> {
  const box = await page.locator('#drop').boundingBox();
  assert.ok(box);
  const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
  const cdp = await page.context().newCDPSession(page);
  const data = { items: [], files: paths, dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop'] as const)
    await cdp.send('Input.dispatchDragEvent', { type, x, y, data });
  await cdp.detach();
}

/** Trains the loaded pictures for a few epochs; returns the last evaluation's accuracy (and loss). */
async function trainAndEvaluate(page: Page): Promise<number> {
  return (await trainAndEvaluated(page)).accuracy;
}

async function trainAndEvaluated(page: Page): Promise<{ accuracy: number; loss: number }> {
  for (const [id, v] of [
    ['#batch', '8'],
    ['#epochs', '4'],
    ['#eval-every', '0'],
    ['#lr', '0.01'],
  ])
    await page.fill(id, v);
  await until(page, "!document.getElementById('spec-status').classList.contains('bad')", 5_000);
  await page.click('#start');
  await until(page, "s.phase === 'done' || s.phase === 'stopped'", 180_000);
  const s = (await state(page)) as {
    lastEval: { accuracy: number; loss: number } | null;
    phase: string;
    errors: string[];
  };
  assert.equal(s.phase, 'done', s.errors.join('\n'));
  assert.ok(s.lastEval);
  return s.lastEval;
}

test('a folder of pictures by class dropped whole: classes from its folders, a fifth held out, trained above chance, saved for the CLI', async (t) => {
  if (skip(t)) return;
  const page = await openPage();
  await dropOn(page, [folder]);
  await until(page, 's.data !== null', 60_000);
  const d = (await state(page)).data as Data;
  // 90 pictures: 6 of each class's 30 held out; the 20×24 ones resized to the common 16×16; RGB.
  assert.deepEqual(d, { type: 'data', train: 72, test: 18, shape: [3, 16, 16], classNames: classes });
  assert.match((await page.textContent('#data-status')) ?? '', /72 training and 18 test images of 3×16×16, 3 classes/);
  // A built-in made for the data: seed-cifar on 3×16×16 with three outputs.
  await until(page, "document.getElementById('builtin').value === 'seed-cifar'", 5_000);
  const spec = JSON.parse(await page.inputValue('#spec'));
  assert.deepEqual(spec.input, [3, 16, 16]);
  const { accuracy, loss } = await trainAndEvaluated(page);
  t.diagnostic(`dropped folder: ${(100 * accuracy).toFixed(1)}% of the 18 held-out pictures after 4 epochs`);
  assert.ok(accuracy > 0.6, `accuracy ${accuracy} is not above chance (1/3)`);

  // Saved: config.json records the size, channels and classes; convts eval reads the folder the same way.
  const dir = join(tmp, 'saved');
  mkdirSync(dir, { recursive: true });
  const saving: Promise<void>[] = [];
  page.on('download', (dl) => saving.push(dl.saveAs(join(dir, dl.suggestedFilename()))));
  await page.click('#save');
  for (let i = 0; i < 100 && saving.length < 3; i++) await page.waitForTimeout(50);
  await Promise.all(saving);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(
    [config.dataset, config.classNames, config.imageSize, config.channels, config.input.shape, config.input.kind],
    ['folder:colours', classes, [16, 16], 3, [3, 16, 16], 'photos'],
  );
  assert.equal(config.val, 0.2, 'config.json records the hold-out');
  // The page's held-out fifth is the one convts holds out of the same folder (--val 0.2): same images, so
  // the same accuracy and loss (other images of these classes would move the loss).
  const held = await convts('eval', dir, '--dataset', `folder:${folder}`, '--split', 'validation', '--json');
  assert.equal(held.code, 0, held.stderr);
  const onHeld = JSON.parse(held.stdout) as { images: number; accuracy: number; loss: number };
  assert.deepEqual([onHeld.images, onHeld.accuracy], [18, accuracy], 'convts eval --split validation = the page');
  assert.ok(Math.abs(onHeld.loss - loss) <= 1e-4 * Math.max(1, loss), `loss: convts eval ${onHeld.loss}, page ${loss}`);
  const r = await convts('eval', dir, '--dataset', `folder:${folder}`, '--split', 'train', '--json');
  assert.equal(r.code, 0, r.stderr);
  const evaluated = JSON.parse(r.stdout) as { images: number; accuracy: number };
  assert.equal(evaluated.images, 90);
  assert.ok(evaluated.accuracy > 0.6, `convts eval: ${evaluated.accuracy}`);
  // The same pictures give the same top-1 in the page (pixels sent as the drawing pad sends them) and in convts predict.
  const pictures = classes.map((c) => join(folder, c, '5.png'));
  const cli = await convts('predict', dir, ...pictures, '--json');
  assert.equal(cli.code, 0, cli.stderr);
  const cliTop = (JSON.parse(cli.stdout) as { top: { class: string }[] }[]).map((x) => x.top[0].class);
  assert.deepEqual(cliTop, classes, 'convts predict names each colour');
  await page.close();
});

test('the same folder chosen with the folder input, and as a zip (stored and deflated entries)', async (t) => {
  if (skip(t)) return;
  const page = await openPage();
  await page.setInputFiles('#folder', folder);
  await until(page, 's.data !== null', 60_000);
  assert.deepEqual(((await state(page)).data as Data).classNames, classes);
  await page.selectOption('#picture-size', '28');
  await page.setInputFiles('#files', zipPath);
  await until(page, 's.data !== null && s.data.shape[1] === 28', 60_000);
  assert.deepEqual((await state(page)).data, {
    type: 'data',
    train: 72,
    test: 18,
    shape: [3, 28, 28],
    classNames: classes,
  });
  const accuracy = await trainAndEvaluate(page);
  t.diagnostic(`zip at 28×28: ${(100 * accuracy).toFixed(1)}% of the 18 held-out pictures`);
  assert.ok(accuracy > 0.6, `accuracy ${accuracy} is not above chance (1/3)`);
  await page.close();
});

test('train/ and test/ folders are the splits, and the page decodes and resizes a picture to the same input as convts train', async (t) => {
  if (skip(t)) return;
  const split = join(tmp, 'split');
  for (const [part, n] of [
    ['train', 10],
    ['test', 4],
  ] as const)
    writePictureFolder(join(split, part), n);
  // The first test picture is 20×24: resized to the common 16×16 in the page and by --image-size 16.
  const page = await openPage();
  await page.setInputFiles('#folder', split);
  await until(page, 's.data !== null', 60_000);
  assert.deepEqual((await state(page)).data, {
    type: 'data',
    train: 30,
    test: 12,
    shape: [3, 16, 16],
    classNames: classes,
  });
  // The watched test image (index 0) as the worker sends it at step 0: normalized C×H×W floats.
  await page.evaluate(() => {
    const g = globalThis as unknown as { playground: { worker(): Worker }; firstImage: number[] | null };
    g.firstImage = null;
    g.playground.worker().addEventListener('message', (e: MessageEvent) => {
      if (e.data.type === 'features' && g.firstImage === null)
        g.firstImage = Array.from(e.data.image.data as Float32Array);
    });
  });
  await page.click('#start');
  await page.waitForFunction('firstImage !== null', null, { timeout: 60_000, polling: 50 });
  const pageImage = (await page.evaluate('firstImage')) as number[];
  await until(page, "s.phase === 'done'", 60_000); // one step of 30 images
  const cli = loadDataset(`folder:${split}`, '', { size: [16, 16] });
  const x = new Float32Array(3 * 16 * 16);
  cli.test.fill(x, [0], 0, 1);
  const worst = pageImage.reduce((m, v, i) => Math.max(m, Math.abs(v - x[i])), 0);
  assert.ok(worst < 1e-5, `the page's input differs from convts train's by up to ${worst}`);
  await page.close();
});

/** A PNG signature and image header declaring width×height pixels, with no image data. */
function pngHeader(width: number, height: number): Buffer {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.set([8, 2, 0, 0, 0], 24);
  return b;
}

test('bad folders and zips: a message naming the problem, the data kept, the worker alive', async (t) => {
  if (skip(t)) return;
  const page = await openPage();
  await page.setInputFiles('#folder', folder);
  await until(page, 's.data !== null', 60_000);
  const bad = join(tmp, 'bad');
  const one = join(bad, 'one');
  mkdirSync(join(one, 'cat'), { recursive: true });
  writePng(join(one, 'cat', '1.png'), new Uint8Array(3 * 4 * 4), 3, 4, 4);
  const none = join(bad, 'none');
  mkdirSync(join(none, 'a'), { recursive: true });
  writeFileSync(join(none, 'a', 'notes.txt'), 'no pictures here');
  const broken = join(bad, 'broken');
  for (const c of ['a', 'b']) {
    mkdirSync(join(broken, c), { recursive: true });
    writePng(join(broken, c, '1.png'), new Uint8Array(3 * 4 * 4), 3, 4, 4);
  }
  writeFileSync(join(broken, 'b', '2.png'), 'this is not a picture');
  const truncated = join(bad, 'cut.zip');
  const zip = readFileSync(zipPath);
  writeFileSync(truncated, zip.subarray(0, zip.length - 200));
  const notZip = join(bad, 'text.zip');
  writeFileSync(notZip, 'a text file named .zip');
  const damaged = join(bad, 'damaged.zip');
  const z = Buffer.from(zip);
  // A byte inside a picture's data (after its local header's name): its CRC no longer matches.
  const at = z.indexOf('colours/blue/0.png') + 'colours/blue/0.png'.length + 40;
  z[at] ^= 0xff;
  writeFileSync(damaged, z);
  // Headers alone that declare 7,000×7,000 pixels (each under the decoder's limit): eight of them
  // would need 1.18 GB of rows, refused before anything is decoded or allocated.
  const huge = join(bad, 'huge');
  for (const c of ['a', 'b']) {
    mkdirSync(join(huge, c), { recursive: true });
    for (let i = 0; i < 4; i++) writeFileSync(join(huge, c, `${i}.png`), pngHeader(7000, 7000));
  }
  const cases: [() => Promise<void>, RegExp][] = [
    [() => page.setInputFiles('#folder', huge), /huge: 8 pictures of 7000×7000 would need 1\.18 GB in the page/],
    [() => page.setInputFiles('#folder', one), /found 1 class folder\(s\) with pictures \(cat\) — need 2 to 256/],
    [() => dropOn(page, [none]), /none: no pictures \(\.png, \.jpg\) — found 1 other file\(s\): none\/a\/notes\.txt/],
    [() => page.setInputFiles('#folder', broken), /broken\/b\/2\.png: not a PNG or JPEG image/],
    [() => page.setInputFiles('#files', truncated), /cut\.zip: the zip archive is cut short/],
    [() => dropOn(page, [notZip]), /text\.zip: not a zip archive/],
    [
      () => page.setInputFiles('#files', damaged),
      /damaged\.zip: colours\/.*(CRC-32|deflate data is damaged|not a PNG)/,
    ],
  ];
  for (const [act, message] of cases) {
    const before = ((await state(page)).errors as string[]).length;
    await act();
    await until(page, `s.errors.length > ${before}`, 60_000);
    assert.match((await page.textContent('#message')) ?? '', message);
    assert.deepEqual(((await state(page)).data as Data).classNames, classes, 'the loaded data is kept');
  }
  // Still alive: the good zip loads after all that.
  await page.setInputFiles('#files', zipPath);
  await until(page, 's.data !== null && s.data.train === 72', 60_000);
  assert.equal((await state(page)).workerCrashed, false);
  await page.close();
});

test('3,000 pictures dropped as a folder load without a frame gap over 100 ms (decoded in the worker)', async (t) => {
  if (skip(t)) return;
  const many = join(tmp, 'many');
  writePictureFolder(many, 1000);
  const page = await openPage();
  await page.evaluate(() => {
    (globalThis as unknown as { playground: { state: { maxFrameGap: number } } }).playground.state.maxFrameGap = 0;
  });
  const t0 = Date.now();
  await dropOn(page, [many]);
  await until(page, 's.data !== null', 180_000);
  const s = await state(page);
  t.diagnostic(
    `3,000 pictures loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s; longest frame gap ${Math.round(s.maxFrameGap as number)} ms`,
  );
  assert.deepEqual([(s.data as Data).train, (s.data as Data).test], [2400, 600]);
  assert.ok((s.maxFrameGap as number) < 100, `a frame gap of ${s.maxFrameGap} ms while loading`);
  await page.close();
});
