import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import {
  DataFormatError,
  dataDirs,
  loadDataset,
  MissingDataError,
  readCifarSplit,
  readFolder,
  readMnistSplit,
  readSplit,
  resolveDataDir,
} from '../src/index.js';
import { cifarPixel, cifarRecords, tmpDir, writeCifarSet, writeIdxSet } from './helpers/data-files.js';

/** Asserts fn throws a DataFormatError whose message starts with the file and matches `re`. */
function refuses(fn: () => unknown, path: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataFormatError, `expected a DataFormatError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${path}: `), e.message);
    assert.match(e.message, re);
    return true;
  });
}

function all(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

describe('IDX data sets', () => {
  test('MNIST and Fashion-MNIST splits keep bytes and labels in file order', () => {
    const root = tmpDir();
    const { test: t } = writeIdxSet(root, 12, 7, 'fashion-mnist');
    const ds = readMnistSplit(root, 'test', 'fashion-mnist');
    assert.equal(ds.length, 7);
    assert.deepEqual(ds.shape, [1, 28, 28]);
    assert.deepEqual([...ds.labels], [...t.labels]);
    assert.equal(ds.classNames[9], 'Ankle boot');
    const x = new Float32Array(7 * 784);
    ds.fill(x, all(7), 0, 7); // [0, 1] scaling until prepared
    assert.ok(x.every((v, i) => Math.abs(v - t.images[i] / 255) < 1e-6));
  });
});

describe('CIFAR-10 binary reader', () => {
  test('concatenates data_batch_1..5 in order, raw or gzipped, with class names from batches.meta.txt', () => {
    for (const gz of [false, true]) {
      const root = tmpDir();
      writeCifarSet(root, 5, 3, 4, gz);
      const train = readCifarSplit(root, 'train');
      assert.equal(train.length, 15);
      assert.deepEqual(train.shape, [3, 32, 32]);
      assert.deepEqual(
        [...train.labels],
        Array.from({ length: 15 }, (_, i) => i % 10),
      );
      assert.deepEqual(train.classNames.slice(0, 2), ['plane', 'car']);
      const x = new Float32Array(3072);
      train.fill(x, [13], 0, 1); // batch 5, record 1: R, G and B planes as written
      for (const i of [0, 1023, 1024, 2047, 2048, 3071])
        assert.ok(Math.abs(x[i] - cifarPixel(13, i) / 255) < 1e-6, `pixel ${i}`);
      const test = readCifarSplit(root, 'test');
      assert.deepEqual([...test.labels], [0, 3, 6, 9]);
    }
  });

  test('a missing test_batch.bin names the file, its checksum and suggests --val', () => {
    const root = tmpDir();
    writeCifarSet(root, 5, 2, 0);
    assert.equal(readSplit('cifar-10', root, 'train')!.length, 10);
    assert.throws(
      () => loadDataset('cifar-10', root),
      (e: unknown) => {
        assert.ok(e instanceof MissingDataError);
        assert.match(e.message, /test_batch\.bin\(\.gz\) not found in .*cifar-10/);
        assert.match(e.message, /803d5f7f4d78ea53de84dbe85f74fb6d/);
        assert.match(e.message, /--val 10000/);
        return true;
      },
    );
    assert.equal(loadDataset('cifar-10', root, { val: 2 }).test.length, 2);
  });

  test('refuses truncated files, bad labels, corrupted gzip and a bad class list', () => {
    const root = tmpDir();
    writeCifarSet(root, 5, 2, 2);
    const dir = join(root, 'cifar-10');
    const path = join(dir, 'data_batch_3.bin');
    const good = readFileSync(path);
    writeFileSync(path, good.subarray(0, 3073 + 100));
    refuses(
      () => readCifarSplit(root, 'train'),
      path,
      /3173 bytes is not a whole number of 3073-byte records — record 1 at byte 3073 is cut short/,
    );
    const bad = cifarRecords([1, 12]);
    writeFileSync(path, bad);
    refuses(() => readCifarSplit(root, 'train'), path, /label 12 of record 1 at byte 3073 is out of range 0–9/);
    rmSync(path);
    const gz = gzipSync(good);
    writeFileSync(`${path}.gz`, gz.subarray(0, gz.length >> 1));
    refuses(() => readCifarSplit(root, 'train'), `${path}.gz`, /corrupted gzip stream/);
    const flipped = Uint8Array.from(gz); // a copy (Buffer.slice would be a view)
    flipped[gz.length - 6] ^= 0xff; // in the CRC
    writeFileSync(`${path}.gz`, flipped);
    refuses(() => readCifarSplit(root, 'train'), `${path}.gz`, /corrupted gzip stream/);
    writeFileSync(`${path}.gz`, gz);
    assert.equal(readCifarSplit(root, 'train').length, 10);
    writeFileSync(join(dir, 'batches.meta.txt'), 'a\nb\n');
    refuses(
      () => readCifarSplit(root, 'train'),
      join(dir, 'batches.meta.txt'),
      /expected 10 class names, one per line, found 2/,
    );
  });
});

describe('folder data set', () => {
  const png = (w: number, h: number, rgb: (x: number, y: number) => [number, number, number]): Buffer => {
    const p = new PNG({ width: w, height: h });
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const [r, g, b] = rgb(x, y);
        p.data.set([r, g, b, 255], (y * w + x) * 4);
      }
    }
    return PNG.sync.write(p);
  };

  test('reads root/<class>/*.png|jpg, interleaving classes, as grey or RGB, resized', () => {
    const root = tmpDir();
    for (const c of ['cat', 'dog']) mkdirSync(join(root, c));
    writeFileSync(
      join(root, 'cat', 'a.png'),
      png(4, 4, () => [200, 10, 10]),
    );
    writeFileSync(
      join(root, 'cat', 'b.png'),
      png(4, 4, (x) => [x * 60, x * 60, x * 60]),
    );
    writeFileSync(
      join(root, 'dog', 'a.png'),
      png(4, 4, () => [10, 10, 200]),
    );
    const raw = new Uint8Array(4 * 4 * 4).fill(255);
    writeFileSync(join(root, 'dog', 'z.jpg'), jpeg.encode({ data: raw, width: 4, height: 4 }, 95).data);
    writeFileSync(join(root, 'notes.txt'), 'ignored');

    const rgb = readFolder(root);
    assert.deepEqual(rgb.classNames, ['cat', 'dog']);
    assert.deepEqual([...rgb.labels], [0, 1, 0, 1]); // cat/a, dog/a, cat/b, dog/z
    assert.deepEqual(rgb.imageShape, [3, 4, 4]);
    const x = new Float32Array(4 * 48);
    rgb.fill(x, all(4), 0, 4);
    assert.deepEqual(
      [x[0], x[16], x[32]].map((v) => Math.round(v * 255)),
      [200, 10, 10],
    );
    assert.deepEqual(
      [x[48], x[64], x[80]].map((v) => Math.round(v * 255)),
      [10, 10, 200],
    );
    assert.ok(Math.abs(x[3 * 48] * 255 - 255) <= 2, 'white JPEG stays white');

    const grey = readFolder(root, { channels: 1, size: [2, 2] });
    assert.deepEqual(grey.shape, [1, 2, 2]);
    const g = new Float32Array(4);
    grey.fill(g, [0], 0, 1);
    assert.equal(Math.round(g[0] * 255), Math.round(0.299 * 200 + 0.587 * 10 + 0.114 * 10));
    grey.fill(g, [2], 0, 1); // the horizontal ramp 0, 60, 120, 180 averaged over pixel pairs
    assert.deepEqual(
      [...g].map((v) => Math.round(v * 255)),
      [30, 150, 30, 150],
    );
  });

  test('folder:DIR uses DIR/train and DIR/test when both exist, and they must agree', () => {
    const root = tmpDir();
    for (const split of ['train', 'test']) {
      for (const c of ['a', 'b']) {
        mkdirSync(join(root, split, c), { recursive: true });
        writeFileSync(
          join(root, split, c, '1.png'),
          png(3, 3, () => [c === 'a' ? 0 : 255, 0, 0]),
        );
      }
    }
    const d = loadDataset(`folder:${root}`, '', { normalize: 'unit' });
    assert.equal(d.evaluatedOn, 'test');
    assert.deepEqual([d.train.length, d.test.length], [2, 2]);
    mkdirSync(join(root, 'test', 'c'));
    writeFileSync(
      join(root, 'test', 'c', '1.png'),
      png(3, 3, () => [0, 0, 0]),
    );
    assert.throws(
      () => loadDataset(`folder:${root}`, ''),
      /the test classes \(a, b, c\) differ from the training classes \(a, b\)/,
    );
  });

  test('a PNG of the wrong size or a broken file is refused with its path', () => {
    const root = tmpDir();
    for (const c of ['a', 'b']) mkdirSync(join(root, c));
    writeFileSync(
      join(root, 'a', '1.png'),
      png(4, 4, () => [1, 1, 1]),
    );
    writeFileSync(
      join(root, 'b', '1.png'),
      png(5, 4, () => [1, 1, 1]),
    );
    refuses(() => readFolder(root), join(root, 'b', '1.png'), /image is 4×5, expected 4×4 .*--image-size/);
    assert.equal(readFolder(root, { size: [4, 4] }).length, 2);
    writeFileSync(join(root, 'b', '1.png'), Buffer.from('not a png at all'));
    refuses(() => readFolder(root, { size: [4, 4] }), join(root, 'b', '1.png'), /not a PNG or JPEG image/);
  });
});

test('the data directory: --data-dir, else $CONVTS_DATA_DIR, else the user cache then /usr/share/datasets', () => {
  assert.equal(resolveDataDir('d', { CONVTS_DATA_DIR: 'e' }), 'd');
  assert.equal(resolveDataDir(undefined, { CONVTS_DATA_DIR: 'e', XDG_CACHE_HOME: '/c' }), 'e');
  assert.deepEqual(dataDirs(resolveDataDir(undefined, { XDG_CACHE_HOME: '/c' })), ['/c/convts', '/usr/share/datasets']);
  assert.match(dataDirs(resolveDataDir(undefined, {}))[0], /\.cache\/convts$/);
  // Files are found in any folder of a search path, in order.
  const a = tmpDir();
  const b = tmpDir();
  writeIdxSet(b, 3, 2);
  assert.equal(loadDataset('mnist', [a, b].join(delimiter)).train.length, 3);
});
