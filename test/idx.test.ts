import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  ConfigError,
  DataFormatError,
  loadDataset,
  loadMnist,
  parseIdx,
  readIdx,
  readMnistSplit,
} from '../src/index.js';
import { idx, mnistFiles, patternImages, writeMnistDir } from './helpers/mnist.js';
import { tempDir } from './helpers/tmp.js';

const [trainImages, trainLabels, testImages, testLabels] = mnistFiles;

/** Writes the four MNIST files (raw, or gzipped when `gz`) into dir from the given bytes. */
function writeSplitFiles(dir: string, files: Record<string, Uint8Array>, gz = false): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files))
    writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
}

function refusedFile(fn: () => unknown, path: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataFormatError, `expected a DataFormatError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${path}: `), `the message should start with the file: ${e.message}`);
    assert.match(e.message, message);
    return true;
  });
}

describe('IDX files', () => {
  test('raw and gzipped files read the same', () => {
    const dir = tempDir();
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 37) % 256);
    writeFileSync(join(dir, 'a-idx3-ubyte'), idx([2, 3, 4], data));
    writeFileSync(join(dir, 'a-idx3-ubyte.gz'), gzipSync(idx([2, 3, 4], data)));
    for (const name of ['a-idx3-ubyte', 'a-idx3-ubyte.gz']) {
      const r = readIdx(join(dir, name), 3);
      assert.deepEqual(r.dims, [2, 3, 4]);
      assert.deepEqual([...r.data], [...data]);
    }
    assert.deepEqual([...parseIdx(idx([3], [7, 8, 9]), 'x', 1).data], [7, 8, 9]);
    assert.deepEqual(parseIdx(idx([0, 28, 28], []), 'x', 3).dims, [0, 28, 28]);
  });

  test('refuses bad magic, truncated data and trailing bytes', () => {
    refusedFile(
      () => parseIdx(idx([2], [1, 2]), 'lbl', 3),
      'lbl',
      /bad magic number 0x00000801 at byte 0, expected 0x00000803 \(IDX uint8, 3 dimensions\)/,
    );
    const float = idx([2], [1, 2]);
    float[2] = 0x0d; // IDX float32
    refusedFile(() => parseIdx(float, 'f', 1), 'f', /bad magic number 0x00000d01 .*expected 0x00000801/);
    refusedFile(() => parseIdx(new Uint8Array([0, 0, 8]), 'tiny', 1), 'tiny', /3 bytes is too short for an IDX file/);
    refusedFile(
      () => parseIdx(idx([2, 3, 4], new Uint8Array(24)).subarray(0, 10), 'h', 3),
      'h',
      /truncated IDX header \(10 of 16 bytes\)/,
    );
    const full = idx([2, 3, 4], new Uint8Array(24));
    refusedFile(
      () => parseIdx(full.subarray(0, full.length - 5), 'cut', 3),
      'cut',
      /header says 2×3×4 = 24 bytes of data, the file has 19 after byte 16 — truncated/,
    );
    const longer = new Uint8Array(full.length + 3);
    longer.set(full);
    refusedFile(
      () => parseIdx(longer, 'long', 3),
      'long',
      /24 bytes of data, the file has 27 after byte 16 — trailing bytes/,
    );
  });

  test('refuses a corrupted or cut gzip stream', () => {
    const dir = tempDir();
    const gz = gzipSync(
      idx(
        [64],
        Uint8Array.from({ length: 64 }, (_, i) => i),
      ),
    );
    const flipped = gz.slice();
    flipped[gz.length - 6] ^= 0xff; // inside the CRC-32 trailer
    const path = join(dir, 'bad.gz');
    writeFileSync(path, flipped);
    refusedFile(() => readIdx(path, 1), path, /corrupted gzip stream .*download it again/);
    writeFileSync(path, gz.subarray(0, gz.length - 12));
    refusedFile(() => readIdx(path, 1), path, /corrupted gzip stream/);
  });
});

describe('MNIST reader', () => {
  test('reads both layouts, raw or gzipped, into normalized data sets', () => {
    const root = tempDir();
    const train = patternImages(12, 1);
    const test = patternImages(5, 2);
    const files = {
      [trainImages]: idx([12, 28, 28], train.images),
      [trainLabels]: idx([12], train.labels),
      [testImages]: idx([5, 28, 28], test.images),
      [testLabels]: idx([5], test.labels),
    };
    writeSplitFiles(join(root, 'a', 'mnist'), files, true); // <dir>/mnist/*.gz, as downloaded
    writeSplitFiles(join(root, 'b'), files); // the files straight in <dir>, uncompressed
    for (const dir of [join(root, 'a'), join(root, 'b')]) {
      const split = readMnistSplit(dir, 'test');
      assert.equal(split.name, 'mnist-test');
      assert.equal(split.length, 5);
      assert.deepEqual(split.shape, [1, 28, 28]);
      assert.deepEqual([...split.labels], [...test.labels]);
      assert.deepEqual(split.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

      const { train: tr, test: te } = loadMnist(dir);
      // z-scored with the training set's statistics: train values have mean 0 and std 1.
      const x = new Float32Array(12 * 784);
      tr.fill(
        x,
        Int32Array.from({ length: 12 }, (_, i) => i),
        0,
        12,
      );
      const mean = x.reduce((a, b) => a + b, 0) / x.length;
      const std = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length);
      assert.ok(Math.abs(mean) < 1e-4 && Math.abs(std - 1) < 1e-4, `train mean ${mean}, std ${std}`);
      const m = train.images.reduce((a, b) => a + b, 0) / train.images.length;
      const s = Math.sqrt(train.images.reduce((a, b) => a + (b - m) ** 2, 0) / train.images.length);
      // Sample 3 of the test set, pixel 100, in the given order: (p − m)/s on the 0–255 scale.
      const one = new Float32Array(784);
      te.fill(one, [3], 0, 1);
      assert.ok(Math.abs(one[100] - (test.images[3 * 784 + 100] - m) / s) < 1e-4);
      assert.deepEqual(te.norm, tr.norm);
    }
    assert.equal(loadDataset('fashion-mnist', join(root, 'b')).train.name, 'fashion-mnist-train');
    assert.throws(() => loadDataset('svhn', root), {
      name: 'ConfigError',
      message: /unknown data set "svhn" — use one of mnist, fashion-mnist/,
    });
  });

  test('refuses files that do not belong together or hold bad labels', () => {
    const dir = tempDir();
    const { images, labels } = patternImages(4, 1);
    writeSplitFiles(dir, { [testImages]: idx([4, 28, 28], images), [testLabels]: idx([3], labels.subarray(0, 3)) });
    refusedFile(
      () => readMnistSplit(dir, 'test'),
      join(dir, testLabels),
      new RegExp(
        `3 labels for 4 images in ${join(dir, testImages).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} — the files do not belong together`,
      ),
    );
    writeSplitFiles(dir, { [testLabels]: idx([4], [1, 2, 10, 3]) });
    refusedFile(() => readMnistSplit(dir, 'test'), join(dir, testLabels), /label 10 at byte 10 is out of range 0–9/);
    writeSplitFiles(dir, { [testLabels]: idx([4, 1], [1, 2, 3, 4]) });
    refusedFile(
      () => readMnistSplit(dir, 'test'),
      join(dir, testLabels),
      /bad magic number 0x00000802 .*expected 0x00000801/,
    );
  });

  test('a missing file says which file and where it looked', () => {
    const dir = tempDir();
    writeMnistDir(dir, 4, 4);
    assert.doesNotThrow(() => loadMnist(dir));
    const elsewhere = join(dir, 'empty');
    mkdirSync(elsewhere);
    assert.throws(
      () => loadMnist(elsewhere),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes(`${trainImages}(.gz) not found in ${join(elsewhere, 'mnist')}`) &&
        /--data-dir/.test(e.message),
    );
    assert.throws(
      () => loadMnist(dir, 'fashion-mnist'),
      (e: unknown) => e instanceof ConfigError && e.message.includes(join(dir, 'fashion-mnist')),
    );
  });
});
