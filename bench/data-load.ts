// Data-loading benchmark (not a test): how long reading MNIST and CIFAR-10 into memory takes, how
// long turning every image into normalized floats takes, and the process's peak memory.
// Usage: node dist/bench/data-load.js [data dir] — each set is measured in a fresh process so
// that its peak memory is its own.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ByteImageDataset,
  findFile,
  loadDataset,
  prepare,
  readCifarBatches,
  readSplit,
} from '../src/data/index.js';

export interface LoadFigures {
  set: string;
  images: number;
  /** Reading and decompressing the files, plus the z-score statistics. */
  loadSeconds: number;
  /** One pass turning every image into normalized float32, 256 at a time. */
  fillSeconds: number;
  peakMB: number;
}

/** Loads one data set (train + test) from `dir` and measures it. CIFAR-10 takes whichever test batch is there. */
export function benchDataLoad(set: 'mnist' | 'cifar-10', dir: string): LoadFigures {
  const t0 = performance.now();
  let sets: ByteImageDataset[];
  if (set === 'mnist') {
    const d = loadDataset('mnist', dir);
    sets = [d.train, d.test];
  } else {
    const train = readSplit('cifar-10', dir, 'train')!;
    // Here the canonical test_batch.bin may be replaced by its first 1,000 records.
    const testPath =
      findFile(dir, 'cifar-10', 'test_batch.bin') ?? findFile(dir, 'cifar-10', 'test_batch_first1000.bin');
    const test = testPath ? readCifarBatches([testPath], 'cifar-10-test', train.classNames) : null;
    const d = prepare(train, test, test ? {} : { val: 10000 });
    sets = [d.train, d.test];
  }
  const loadSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  for (const ds of sets) {
    const size = ds.shape.reduce((a, b) => a * b, 1);
    const batch = new Float32Array(256 * size);
    const order = Int32Array.from({ length: ds.length }, (_, i) => i);
    for (let s = 0; s < ds.length; s += 256) ds.fill(batch, order, s, Math.min(256, ds.length - s));
  }
  const fillSeconds = (performance.now() - t1) / 1000;
  const images = sets.reduce((a, ds) => a + ds.length, 0);
  return { set, images, loadSeconds, fillSeconds, peakMB: process.resourceUsage().maxRSS / 1024 };
}

function main(argv: string[]): void {
  const here = fileURLToPath(import.meta.url);
  const [dirArg, set] = argv;
  const dir = resolve(
    dirArg ?? process.env.CONVTS_DATA_DIR ?? join(here, '..', '..', '..', '..', 'shared', 'datasets'),
  );
  if (set === 'mnist' || set === 'cifar-10') {
    process.stdout.write(`${JSON.stringify(benchDataLoad(set, dir))}\n`);
    return;
  }
  for (const s of ['mnist', 'cifar-10'] as const) {
    if (!existsSync(join(dir, s))) {
      process.stdout.write(`${s}: not in ${dir}, skipped\n`);
      continue;
    }
    const f: LoadFigures = JSON.parse(execFileSync(process.execPath, [here, dir, s], { encoding: 'utf8' }));
    process.stdout.write(
      `${s.padEnd(8)} ${String(f.images).padStart(6)} images  load ${f.loadSeconds.toFixed(2)} s  ` +
        `normalize all ${f.fillSeconds.toFixed(2)} s  peak memory ${Math.round(f.peakMB)} MB\n`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
