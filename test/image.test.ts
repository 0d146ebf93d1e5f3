import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PNG } from 'pngjs';
import { resample } from '../src/data/resample.js';
import {
  DataFormatError,
  decodePicture,
  FileError,
  imageBytes,
  inputPreparation,
  loadDataset,
  type Picture,
  prepareImage,
  readPicture,
} from '../src/index.js';
import { tmpDir } from './helpers/data-files.js';
import { drawRgb, planesToRgba, writeJpeg, writePng } from './helpers/pictures.js';
import { bits } from './helpers/tmp.js';

const dir = tmpDir('convts-image-');

/** Asserts fn throws a DataFormatError whose message names the file and matches `re`. */
function refuses(fn: () => unknown, name: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataFormatError, `expected a DataFormatError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${name}: `), e.message);
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.match(e.message, re);
    return true;
  });
}

const picture = (planes: Uint8Array, c: number, h: number, w: number): Picture => ({
  width: w,
  height: h,
  rgba: planesToRgba(planes, c, h, w),
});

describe('decoding', () => {
  test('PNG of any colour type and depth, and JPEG, decode to 8-bit RGBA; transparency shows as white', () => {
    for (const [colorType, bitDepth] of [
      [0, 8],
      [2, 8],
      [6, 8],
      [2, 16],
    ] as const) {
      const p = new PNG({ width: 2, height: 1 });
      p.data.set([10, 20, 30, 255, 40, 50, 60, 0]);
      const pic = decodePicture(PNG.sync.write(p, { colorType, bitDepth, inputHasAlpha: true }), 'x.png');
      assert.deepEqual([pic.width, pic.height, pic.rgba.length], [2, 1, 8], `colour type ${colorType}`);
      if (colorType === 6) {
        const { bytes } = imageBytes(pic, [3, 1, 2], 'photos');
        assert.deepEqual([...bytes], [10, 255, 20, 255, 30, 255], 'transparent pixel on white');
      }
    }
    const f = writeJpeg(
      join(dir, 'j.jpg'),
      drawRgb(8, 8, () => [200, 100, 50]),
      3,
      8,
      8,
    );
    const j = readPicture(f);
    assert.deepEqual([j.width, j.height], [8, 8]);
    assert.ok(Math.abs(j.rgba[0] - 200) <= 2 && Math.abs(j.rgba[1] - 100) <= 2, `${j.rgba.subarray(0, 4)}`);
  });

  test('a JPEG is turned upright as its Exif orientation says (big- and little-endian Exif)', () => {
    const grey = Uint8Array.of(0, 50, 100, 150, 200, 250); // 3 wide, 2 high
    const jpg = readFileSync(writeJpeg(join(dir, 'o.jpg'), grey, 1, 2, 3));
    const exif = (le: boolean, orientation: number) => {
      const t = Buffer.alloc(26);
      const [u16, u32] = le
        ? (['writeUInt16LE', 'writeUInt32LE'] as const)
        : (['writeUInt16BE', 'writeUInt32BE'] as const);
      t.write(le ? 'II' : 'MM', 0, 'latin1');
      t[u16](42, 2);
      t[u32](8, 4);
      t[u16](1, 8); // one entry: Orientation, SHORT, 1 value
      t[u16](0x0112, 10);
      t[u16](3, 12);
      t[u32](1, 14);
      t[u16](orientation, 18);
      const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), t]);
      const head = Buffer.from([0xff, 0xe1, 0, 0]);
      head.writeUInt16BE(body.length + 2, 2);
      return Buffer.concat([jpg.subarray(0, 2), head, body, jpg.subarray(2)]);
    };
    const rows = (p: Picture) =>
      Array.from({ length: p.height }, (_, y) =>
        Array.from({ length: p.width }, (_, x) => p.rgba[(y * p.width + x) * 4]),
      );
    const near = (got: number[][], want: number[][]) =>
      assert.ok(got.flat().every((v, i) => Math.abs(v - want.flat()[i]) <= 4) && got.length === want.length, `${got}`);
    near(rows(decodePicture(jpg, 'o.jpg')), [
      [0, 50, 100],
      [150, 200, 250],
    ]);
    near(rows(decodePicture(exif(false, 6), 'cw.jpg')), [
      [150, 0],
      [200, 50],
      [250, 100],
    ]);
    near(rows(decodePicture(exif(true, 8), 'ccw.jpg')), [
      [100, 250],
      [50, 200],
      [0, 150],
    ]);
    near(rows(decodePicture(exif(true, 3), 'half.jpg')), [
      [250, 200, 150],
      [100, 50, 0],
    ]);
  });

  test('the pixel budget is checked from the header, before decoding', () => {
    // A real 1×1 PNG whose header is edited to claim 65,535×65,535: 4.3 gigapixels in 67 bytes.
    const one = PNG.sync.write(new PNG({ width: 1, height: 1 }));
    const huge = Buffer.from(one);
    huge.writeUInt32BE(65535, 16);
    huge.writeUInt32BE(65535, 20);
    assert.equal(huge.length, 67);
    refuses(
      () => decodePicture(huge, 'huge.png'),
      'huge.png',
      /PNG of 65535×65535 = 4295 megapixels is over the 50-megapixel budget/,
    );
    const jpg = Buffer.from(readFileSync(writeJpeg(join(dir, 'k.jpg'), new Uint8Array(3 * 64), 3, 8, 8)));
    const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
    jpg.writeUInt16BE(60000, sof + 5);
    jpg.writeUInt16BE(50000, sof + 7);
    refuses(() => decodePicture(jpg, 'huge.jpg'), 'huge.jpg', /JPEG of 50000×60000 = 3000 megapixels is over/);
    refuses(
      () => decodePicture(one, 'one.png', { maxPixels: 0 }),
      'one.png',
      /1×1 = 0\.0 megapixels is over the 0\.0-megapixel/,
    );
  });

  test('not an image, truncated, unsupported: one line naming the file', () => {
    refuses(
      () => decodePicture(Buffer.from('hello world'), 'a.png'),
      'a.png',
      /not a PNG or JPEG image \(it starts with 68 65 6c/,
    );
    refuses(() => decodePicture(Buffer.alloc(0), 'e.jpg'), 'e.jpg', /not a PNG or JPEG image \(the file is empty\)/);
    refuses(
      () => decodePicture(Buffer.from('GIF89a\x01\x00\x01\x00'), 'g.png'),
      'g.png',
      /\(a GIF file\) — convert it to PNG/,
    );
    const p = new PNG({ width: 16, height: 16 });
    p.data.fill(90);
    const png = PNG.sync.write(p);
    refuses(() => decodePicture(png.subarray(0, png.length - 30), 't.png'), 't.png', /truncated or damaged PNG/);
    refuses(() => decodePicture(png.subarray(0, 20), 'h.png'), 'h.png', /truncated or damaged PNG — no image header/);
    const jpg = readFileSync(writeJpeg(join(dir, 'c.jpg'), new Uint8Array(3 * 256).fill(7), 3, 16, 16));
    refuses(() => decodePicture(jpg.subarray(0, 40), 't.jpg'), 't.jpg', /truncated or damaged JPEG/);
    const arith = Buffer.from(jpg);
    arith[arith.indexOf(Buffer.from([0xff, 0xc0])) + 1] = 0xc9;
    refuses(() => decodePicture(arith, 'a.jpg'), 'a.jpg', /arithmetic-coded JPEG \(SOF9\) is not supported/);
    // Damage the decoder trips on (a TypeError inside it, "marker NaN") is told without its slip.
    let seed = 7;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let t = 0; t < 800; t++) {
      const b = Buffer.from(jpg);
      for (let i = 1 + next(3); i > 0; i--) b[next(b.length)] = next(256);
      try {
        decodePicture(b, 'd.jpg');
      } catch (e) {
        refuses(
          () => {
            throw e;
          },
          'd.jpg',
          /^d\.jpg: (?!.*\b(undefined|NaN|Cannot (read|set) properties)\b)/,
        );
      }
    }
    for (const [path, code] of [
      [join(dir, 'missing.png'), 'ENOENT'],
      [dir, 'EISDIR'],
      [join(dir, 'c.jpg', 'x.png'), 'ENOTDIR'],
    ]) {
      assert.throws(
        () => readPicture(path),
        (e: unknown) =>
          e instanceof FileError &&
          e.path === path &&
          e.message.startsWith(`cannot read ${path}: `) &&
          e.message.includes(`(${code})`),
        `${code}: ${path}`,
      );
    }
  });
});

describe('the resampling rule', () => {
  const row = (v: number[], out: number) => [
    ...resample(v, 1, 1, v.length, { x: 0, y: 0, width: v.length, height: 1 }, 1, out),
  ];

  test('same size copies, shrinking averages areas, enlarging interpolates between pixel centres', () => {
    assert.deepEqual(row([3, 250, 17], 3), [3, 250, 17]);
    assert.deepEqual(row([0, 60, 120, 180], 2), [30, 150]);
    assert.deepEqual(row([0, 90, 180], 2), [30, 150]); // spans [0, 1.5) and [1.5, 3)
    assert.deepEqual(row([0, 100], 4), [0, 25, 75, 100]);
    // Separable: a 2×2 crop of a 3×3 plane, enlarged to 4×4, bilinear along both axes.
    const plane = [0, 0, 0, 0, 0, 100, 0, 100, 200];
    const out = resample(plane, 1, 3, 3, { x: 1, y: 1, width: 2, height: 2 }, 4, 4);
    assert.deepEqual([...out.subarray(0, 4)], [0, 25, 75, 100]);
    assert.deepEqual([...out.subarray(12, 16)], [100, 125, 175, 200]);
  });
});

describe('prepareImage', () => {
  const unit1 = { mean: [0], std: [1] };

  test('photos: the centred part of the model aspect ratio, resampled; never inverted, even with a light border', () => {
    // A 6×4 picture: a 1-pixel grey frame each side of a 4×4 centre; the model is square.
    const planes = drawRgb(6, 4, (x) => (x === 0 || x === 5 ? [9, 9, 9] : [240, 10, 10 * x]));
    const { bytes, inverted, framed } = imageBytes(picture(planes, 3, 4, 6), [3, 2, 2], 'photos');
    assert.deepEqual([inverted, framed], [false, false]);
    assert.deepEqual([...bytes], [240, 240, 240, 240, 10, 10, 10, 10, 15, 35, 15, 35]);
    // A CIFAR-like photo: light sky border, dark object, mean below 0.5 — a photo stays a photo.
    const plane = drawRgb(32, 32, (x, y) =>
      Math.abs(x - 16) < 12 && Math.abs(y - 16) < 12 ? [20, 30, 40] : [200, 220, 250],
    );
    const prep = inputPreparation('cifar-10', [3, 32, 32], { mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] });
    const r = prepareImage(picture(plane, 3, 32, 32), prep);
    assert.equal(r.inverted, false);
    assert.deepEqual([...r.bytes], [...plane]);
  });

  test('digits: a light-background picture is inverted and framed like MNIST', () => {
    // A dark bar 10 px wide and 110 px tall, off-centre on a 150×140 white picture.
    const planes = drawRgb(150, 140, (x, y) => (y >= 20 && y < 130 && x >= 30 && x < 40 ? [0, 0, 0] : [255, 255, 255]));
    const prep = inputPreparation('mnist', [1, 28, 28], unit1);
    const { x, inverted, framed } = prepareImage(picture(planes, 3, 140, 150), prep);
    assert.deepEqual([inverted, framed], [true, true]);
    const inkRows = [...Array(28).keys()].filter((r) => x.subarray(r * 28, r * 28 + 28).some((v) => v > 0.5));
    assert.equal(inkRows.length, 20, 'the ink fills 20 of 28 rows');
    let [m, mx, my] = [0, 0, 0];
    x.forEach((v, i) => {
      [m, mx, my] = [m + v, mx + v * (i % 28), my + v * Math.floor(i / 28)];
    });
    assert.ok(Math.abs(mx / m - 14) <= 0.5 && Math.abs(my / m - 14) <= 0.5, `centre of mass at ${mx / m}, ${my / m}`);
    assert.equal(x[0], 0, 'the background is black');
    // Overrides: not inverted, not framed.
    const kept = prepareImage(picture(planes, 3, 140, 150), prep, { invert: 'no', frame: 'whole' });
    assert.deepEqual([kept.inverted, kept.framed], [false, false]);
    assert.equal(kept.x[0], 1, 'white stays white');
  });

  test('digits: a picture of the model size is taken as it is, inverted when its background is light', () => {
    const digit = Uint8Array.from({ length: 784 }, (_, i) => (i % 28 > 3 && i % 28 < 9 ? 250 : i % 7));
    const prep = inputPreparation('mnist', [1, 28, 28], { mean: [0.13], std: [0.31] });
    const asIs = prepareImage(picture(digit, 1, 28, 28), prep);
    assert.deepEqual([asIs.inverted, asIs.framed, [...asIs.bytes]], [false, false, [...digit]]);
    const light = prepareImage(
      picture(
        digit.map((v) => 255 - v),
        1,
        28,
        28,
      ),
      prep,
    );
    assert.deepEqual([light.inverted, light.framed], [true, false]);
    assert.deepEqual(bits(light.x), bits(asIs.x));
    const forced = prepareImage(picture(digit, 1, 28, 28), prep, { frame: 'digit', invert: 'yes' });
    assert.deepEqual([forced.inverted, forced.framed], [true, true]);
  });

  test('objects (Fashion-MNIST): a product photo is inverted, cropped to the object and scaled to fill the frame, centred', () => {
    // A dark 40×60 box off-centre on a 150×100 off-white photo.
    const planes = drawRgb(150, 100, (x, y) =>
      x >= 20 && x < 60 && y >= 30 && y < 90 ? [30, 30, 30] : [250, 248, 245],
    );
    const prep = inputPreparation('fashion-mnist', [1, 28, 28], unit1);
    assert.equal(prep.kind, 'objects');
    const { x, inverted, framed } = prepareImage(picture(planes, 3, 100, 150), prep);
    assert.deepEqual([inverted, framed], [true, true]);
    const rows = [...Array(28).keys()].filter((r) => x.subarray(r * 28, r * 28 + 28).some((v) => v > 0.5));
    const cols = [...Array(28).keys()].filter((c) => [...Array(28).keys()].some((r) => x[r * 28 + c] > 0.5));
    assert.equal(rows.length, 28, 'the taller side fills the frame');
    assert.deepEqual([cols[0], cols.length], [4, Math.round((40 * 28) / 60)], 'aspect kept, centred');
    assert.ok(x[0] < 0.05, 'the background is dark');
    // The same photo for a digit model: the ink fills 20 of 28 rows, as MNIST frames digits.
    const digit = prepareImage(picture(planes, 3, 100, 150), inputPreparation('mnist', [1, 28, 28], unit1));
    assert.equal(
      [...Array(28).keys()].filter((r) => digit.x.subarray(r * 28, r * 28 + 28).some((v) => v > 0.5)).length,
      20,
    );
    // --frame object on a digit model does what the objects kind does.
    const forced = prepareImage(picture(planes, 3, 100, 150), inputPreparation('mnist', [1, 28, 28], unit1), {
      frame: 'object',
    });
    assert.deepEqual(bits(forced.x), bits(x));
    // A picture of the model's size is taken as it is (the data set's own images).
    const own = Uint8Array.from({ length: 784 }, (_, i) => (i % 28 > 5 && i % 28 < 20 ? 200 : 3));
    assert.deepEqual([...prepareImage(picture(own, 1, 28, 28), prep).bytes], [...own]);
  });

  test('a model that does not take grey or colour pictures is refused', () => {
    assert.throws(
      () => imageBytes(picture(new Uint8Array(4), 1, 2, 2), [2, 2, 2], 'photos'),
      /takes 2×2×2 inputs, not grey or colour pictures/,
    );
  });
});

test('folder data sets and prepareImage give the same tensor for the same file, PNG or JPEG, any size', () => {
  const root = join(dir, 'folder');
  const files: string[] = [];
  ['ant', 'bee'].forEach((c, k) => {
    mkdirSync(join(root, c), { recursive: true });
    const [w, h] = k ? [13, 7] : [9, 16];
    const planes = drawRgb(w, h, (x, y) => [(x * 37 + k * 90) % 256, (y * 53) % 256, (x * y * 11) % 256]);
    files.push(writePng(join(root, c, 'a.png'), planes, 3, h, w));
    files.push(writeJpeg(join(root, c, 'b.jpg'), planes, 3, h, w, 90));
  });
  writeFileSync(join(root, 'ant', 'notes.txt'), 'not an image');
  const name = `folder:${root}`;
  const { train, test } = loadDataset(name, '', { size: [8, 10], channels: 3, val: 1 });
  const prep = inputPreparation(name, [3, 8, 10], train.norm);
  const order = [files[0], files[2], files[1], files[3]]; // classes interleaved, files sorted; the last held out
  order.forEach((f, i) => {
    const want = new Float32Array(240);
    (i < 3 ? train : test!).fill(want, [i % 3], 0, 1);
    assert.deepEqual(bits(prepareImage(readPicture(f), prep).x), bits(want), f);
  });
});
