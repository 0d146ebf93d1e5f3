import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { readConfigFile } from '../src/cli/args.js';
import { readFileChecked } from '../src/files/checked.js';
import {
  ByteImageDataset,
  buildModel,
  ConfigError,
  ConvtsError,
  cachedFeatures,
  DataFormatError,
  FeatureDataset,
  FileError,
  LimitError,
  lmBank,
  prepare,
  readCifarBatches,
  readFeatureFile,
  readIdx,
  readMnistSplit,
  UsageError,
  validateSpec,
  writeFeatureFile,
} from '../src/index.js';
import { cifarRecords } from './helpers/data-files.js';
import { idx } from './helpers/mnist.js';
import { tempDir } from './helpers/tmp.js';

function refused(fn: () => unknown, cls: new (...a: never[]) => Error, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected a ${cls.name}, got ${e instanceof Error ? e.stack : String(e)}`);
    assert.match(e.message, message);
    assert.doesNotMatch(e.message, /undefined|NaN/);
    return true;
  });
}

describe('limits before work: data readers', () => {
  test('a gzip IDX file whose stream holds more than its header says stops inflating at the header size', () => {
    const dir = tempDir();
    const path = join(dir, 'bomb-idx3-ubyte.gz');
    // 2×2×2 claimed, 64 MB of zeros behind it: the cap stops inflation at 24 bytes.
    const body = new Uint8Array(64 << 20);
    body.set(idx([2, 2, 2], new Uint8Array(8)));
    writeFileSync(path, gzipSync(body));
    const before = process.memoryUsage().arrayBuffers;
    refused(() => readIdx(path, 3), DataFormatError, /holds more than the 24 bytes its IDX header gives/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 32 << 20, 'the stream was inflated past the cap');
  });

  test('an IDX header claiming more than its gzip can hold, or more than the budget, is refused up front', () => {
    const dir = tempDir();
    const lying = join(dir, 'lie-idx3-ubyte.gz');
    writeFileSync(lying, gzipSync(idx([60000, 280, 280], new Uint8Array(10))));
    refused(
      () => readIdx(lying, 3),
      DataFormatError,
      /60000×280×280 = 4704000000 bytes of data, more than a \d+-byte gzip/,
    );
    const ok = join(dir, 'ok-idx3-ubyte.gz');
    writeFileSync(ok, gzipSync(idx([100, 10, 10], new Uint8Array(10000))));
    refused(
      () => readIdx(ok, 3, 5000),
      LimitError,
      /100×10×10 bytes\) would need 10 kB of memory, more than the budget of 5 kB/,
    );
    assert.equal(readIdx(ok, 3).data.length, 10000);
  });

  test('an IDX set with no images is refused', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idx([0, 28, 28], []));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([0], []));
    refused(() => readMnistSplit(dir, 'test'), DataFormatError, /holds no images/);
  });

  test('CIFAR batches: multi-member gzip accepted, empty batches and budget overruns refused', () => {
    const dir = tempDir();
    const path = join(dir, 'data_batch_1.bin.gz');
    writeFileSync(path, Buffer.concat([gzipSync(cifarRecords([1, 2])), gzipSync(cifarRecords([3, 4, 5], 2))]));
    const ds = readCifarBatches([path], 'c');
    assert.deepEqual([...ds.labels], [1, 2, 3, 4, 5]);
    assert.equal(ds.images.length, 5 * 3072);
    const empty = join(dir, 'empty.bin');
    writeFileSync(empty, new Uint8Array(0));
    refused(() => readCifarBatches([empty], 'c'), DataFormatError, /empty.bin: the batch holds no records/);
    refused(
      () => readCifarBatches([path], 'c', undefined, 8000),
      DataFormatError,
      /holds more than the \d+ bytes the memory budget/,
    );
  });

  test('zero images or a --val larger than the data are refused (usage error for --val)', () => {
    const dir = tempDir();
    const path = join(dir, 'b.bin');
    writeFileSync(path, cifarRecords([1, 2, 3]));
    const ds = readCifarBatches([path], 'c');
    refused(() => prepare(ds, null, { val: 3 }), UsageError, /--val 3: must hold out between 1 and 2 of the 3/);
    refused(() => prepare(ds.slice(0, 0), ds), DataFormatError, /the training split holds no images/);
  });
});

describe('limits before work: feature files', () => {
  const splits = (names: string[]) => [
    new FeatureDataset('train', new Float32Array(6), Uint8Array.from([0, 9, 3]), 2, names),
    new FeatureDataset('test', new Float32Array(2), Uint8Array.from([5]), 2, names),
  ];

  test('labels outside the class names are refused, even with a valid checksum', () => {
    const path = join(tempDir(), 'f.feat');
    writeFeatureFile(path, { key: 'k', about: {} }, splits(['a', 'b']));
    refused(() => readFeatureFile(path), DataFormatError, /sample 1 has label 9 but the header names only 2 classes/);
  });

  test('a header length the file cannot hold is damage: the cache rebuilds instead of allocating it', () => {
    const dir = tempDir();
    const path = join(dir, 'f.feat');
    const header = writeFeatureFile(
      path,
      { key: 'k', about: {} },
      splits(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']),
    );
    assert.equal(header.splits.length, 2);
    const b = readFileChecked(path);
    b.writeUInt32LE(2 ** 31 + 5, 12);
    writeFileSync(path, b);
    refused(() => readFeatureFile(path), DataFormatError, /the header claims 2147483653 bytes, the file has only/);
    const names = Array.from({ length: 10 }, (_, i) => String(i));
    const ds = new ByteImageDataset('g', new Uint8Array(2 * 28 * 28), Uint8Array.from([1, 2]), [1, 28, 28], names);
    const r = cachedFeatures({ bank: lmBank({ size: 5 }), dataset: 'c', train: ds, test: ds }, { path });
    assert.equal(r.hit, false);
    assert.match(r.rebuilt ?? '', /^damaged: .*header claims 2147483653 bytes/);
  });
});

describe('limits before work: models and flags', () => {
  const spec = (layers: unknown[]) => ({ input: [1, 28, 28], layers, loss: 'cross-entropy' }) as never;

  test('a model over the memory budget is refused with the figure before anything is allocated', () => {
    refused(
      () => buildModel(spec([{ type: 'flatten' }, { type: 'dense', units: 1e9 }]), { maxBytes: 2 ** 30, batch: 32 }),
      LimitError,
      /layer 1 \(dense\): the model needs at least 12\.6 TB of memory to train at batch 32 .* budget of 1\.07 GB .* — use fewer filters, units or layers, or a smaller batch$/,
    );
    refused(
      () => buildModel(spec([{ type: 'flatten' }, { type: 'dense', units: 1e9 }]), { maxBytes: 2 ** 30, batch: 1 }),
      LimitError,
      /at batch 1 .* — use fewer filters, units or layers$/,
    );
    refused(
      () => buildModel(spec([{ type: 'conv2d', filters: 1e5, kernel: 3 }]), { maxBytes: 2 ** 30, batch: 32 }),
      LimitError,
      /layer 0 \(conv2d\): the model needs at least 26 GB/,
    );
    refused(
      () => buildModel(spec(Array.from({ length: 20000 }, () => ({ type: 'relu' }))), { maxBytes: 2 ** 30, batch: 32 }),
      LimitError,
      /layer \d+ \(relu\): the model needs at least/,
    );
  });

  test('absurd sizes, missing types and deep nesting give one clear ConfigError', () => {
    refused(
      () => validateSpec(spec([{ type: 'conv2d', filters: 1e308, kernel: 3 }])),
      ConfigError,
      /"filters" must be a positive integer up to 2147483647, got 1e\+308/,
    );
    refused(() => validateSpec(spec([{ units: 3 }])), ConfigError, /layer 0: missing "type" — use one of conv2d/);
    refused(() => validateSpec(spec([{ type: 'constructor' }])), ConfigError, /unknown type "constructor"/);
    const deep = JSON.parse(`${'['.repeat(100000)}${']'.repeat(100000)}`);
    refused(
      () => validateSpec(spec([deep])),
      ConfigError,
      /layer 0: expected an object with a "type", got \[…\] \(nested too deeply\)/,
    );
    refused(() => validateSpec({ input: deep, layers: [], loss: 'mse' }), ConfigError, /"input" must be/);
  });

  test('--config refuses keys inherited from Object.prototype', () => {
    const path = join(tempDir(), 'c.json');
    writeFileSync(path, '{"constructor": 1}');
    refused(
      () => readConfigFile(path, { lr: { type: 'string' } } as never, 'train'),
      UsageError,
      /"constructor" is not a train option/,
    );
  });
});

describe('one error path for file reads', () => {
  test('a directory, a dangling link or a missing file where a file is expected names the path', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'd'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'link'));
    refused(
      () => readFileChecked(join(dir, 'd')),
      FileError,
      /cannot read .*\/d: is a directory \(EISDIR\) — give the path of a file/,
    );
    refused(() => readFileChecked(join(dir, 'link')), FileError, /link: not found \(ENOENT\)/);
    refused(() => readCifarBatches([join(dir, 'd')], 'c'), FileError, /is a directory/);
    refused(() => readIdx(join(dir, 'd'), 3), FileError, /is a directory/);
    refused(() => readFeatureFile(join(dir, 'd')), FileError, /is a directory/);
    assert.ok(new FileError('x', 'p') instanceof ConvtsError);
  });
});
