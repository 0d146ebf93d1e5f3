import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type ByteImageDataset,
  catalog,
  checkContent,
  findFile,
  loadDataset,
  readCifarBatches,
  readSplit,
} from '../src/index.js';

// The real data sets, when this machine has them: $CONVTS_TEST_DATA_DIR, else ../shared/datasets
// beside the repository (dist/test/ is two levels below its root).
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = process.env.CONVTS_TEST_DATA_DIR ?? resolve(repo, '..', 'shared', 'datasets');
const has = (set: string) => existsSync(join(dataDir, set));
const skip = (set: string) =>
  has(set) ? false : `${join(dataDir, set)} is absent — set CONVTS_TEST_DATA_DIR to run this check`;

/** Mean and standard deviation of the raw pixels on the [0, 1] scale, per channel. */
const stats = (ds: ByteImageDataset) => ds.stats();

/** Every present file of the set matches the checksum table (the table is what downloads are verified against). */
function checksumsMatch(set: string, dir: string): void {
  for (const f of catalog[set].files) {
    const p = findFile(dir, set, f.name);
    if (p) assert.equal(checkContent(readFileSync(p), f, p), null, p);
  }
}

describe('real data sets (optional)', () => {
  test('MNIST: counts, class balance, checksums, train mean 0.1307 and std 0.3081', { skip: skip('mnist') }, () => {
    checksumsMatch('mnist', dataDir);
    const { train, test } = loadDataset('mnist', dataDir);
    assert.equal(train.length, 60000);
    assert.equal(test.length, 10000);
    assert.deepEqual(train.classCounts(), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert.deepEqual(test.classCounts(), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert.ok(Math.abs(train.norm.mean[0] - 0.1307) < 5e-5, `mean ${train.norm.mean[0]}`);
    assert.ok(Math.abs(train.norm.std[0] - 0.3081) < 5e-5, `std ${train.norm.std[0]}`);
  });

  test('CIFAR-10: 5×10,000 training images, 5,000 per class, per-channel means 0.4914/0.4822/0.4465; --val 10000 is data_batch_5', {
    skip: skip('cifar-10'),
  }, () => {
    checksumsMatch('cifar-10', dataDir);
    const train = readSplit('cifar-10', dataDir, 'train')!;
    assert.equal(train.length, 50000);
    assert.deepEqual(train.classCounts(), new Array(10).fill(5000));
    assert.deepEqual(train.classNames, [
      'airplane',
      'automobile',
      'bird',
      'cat',
      'deer',
      'dog',
      'frog',
      'horse',
      'ship',
      'truck',
    ]);
    const s = stats(train);
    [0.4914, 0.4822, 0.4465].forEach((m, c) => assert.ok(Math.abs(s.mean[c] - m) < 5e-5, `mean[${c}] ${s.mean[c]}`));
    [0.247, 0.2435, 0.2616].forEach((d, c) => assert.ok(Math.abs(s.std[c] - d) < 5e-5, `std[${c}] ${s.std[c]}`));
    const { train: t40, test: val, evaluatedOn } = loadDataset('cifar-10', dataDir, { val: 10000 });
    assert.equal(evaluatedOn, 'validation');
    assert.equal(t40.length, 40000);
    assert.equal(val.length, 10000);
    assert.equal(val.row(0), 40000);
    assert.deepEqual([...val.labels], [...train.labels.subarray(40000)]);
    const perClass = val.classCounts();
    assert.ok(Math.min(...perClass) === 952 && Math.max(...perClass) === 1025, perClass.join(','));
    const first1000 = findFile(dataDir, 'cifar-10', 'test_batch_first1000.bin');
    if (first1000) {
      assert.deepEqual(
        readCifarBatches([first1000], 'test-first1000').classCounts(),
        [103, 89, 100, 103, 90, 86, 112, 102, 106, 109],
      );
    }
  });

  test("Fashion-MNIST from Debian's package: counts, balance, checksums", {
    skip: existsSync('/usr/share/datasets/fashion-mnist') ? false : 'dataset-fashion-mnist is not installed',
  }, () => {
    checksumsMatch('fashion-mnist', '/usr/share/datasets');
    // An empty cache first on the search path: found in the system directory, as with the default data dir.
    const { train, test } = loadDataset(
      'fashion-mnist',
      [join(dataDir, 'nowhere'), '/usr/share/datasets'].join(delimiter),
    );
    assert.deepEqual(train.classCounts(), new Array(10).fill(6000));
    assert.deepEqual(test.classCounts(), new Array(10).fill(1000));
  });
});
