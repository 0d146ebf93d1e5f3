// Task 1 benchmark (not a test): extracting the filter-bank features of all of MNIST
// (70,000 images) against one epoch of training seed-mnist on its 60,000 training images, in the
// same process on the same kernels, alternating, best of `rounds`.
// Usage: node dist/bench/task1.js [data dir] [rounds]
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../src/data/index.js';
import { extractFeatures, lmBank } from '../src/features/index.js';
import { kernels, useKernels } from '../src/kernels/index.js';
import { defaultKernels } from '../src/kernels/node-loader.js';
import { buildModel } from '../src/model/build.js';
import { builtinSpec } from '../src/model/builtins.js';
import { makeOptimizer } from '../src/optim/index.js';
import { train } from '../src/train/trainer.js';

export interface Task1Figures {
  kernels: string;
  extractSeconds: number;
  extractImagesPerSecond: number;
  epochSeconds: number;
  epochImagesPerSecond: number;
}

/** Times both jobs `rounds` times, alternating, and keeps the best of each. */
export async function benchTask1(dir: string, rounds = 2): Promise<Task1Figures> {
  useKernels(defaultKernels());
  const data = loadDataset('mnist', dir);
  const bank = lmBank();
  let extract = Infinity;
  let epoch = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (const ds of [data.train, data.test]) extractFeatures(ds, bank, { pool: 'max' });
    extract = Math.min(extract, (performance.now() - t0) / 1000);
    const model = buildModel(builtinSpec('seed-mnist'), { seed: 1 });
    const result = await train(model, data.train, null, {
      epochs: 1,
      batchSize: 32,
      seed: 1,
      optimizer: makeOptimizer({ kind: 'momentum', lr: 0.01 }),
    });
    epoch = Math.min(epoch, result.epochs[0].seconds);
  }
  const images = data.train.length + data.test.length;
  return {
    kernels: kernels().name,
    extractSeconds: extract,
    extractImagesPerSecond: images / extract,
    epochSeconds: epoch,
    epochImagesPerSecond: data.train.length / epoch,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const f = await benchTask1(process.argv[2] ?? '../shared/datasets', Number(process.argv[3] ?? 2));
  console.log(
    `kernels ${f.kernels}: features of 70,000 images ${f.extractSeconds.toFixed(2)} s ` +
      `(${Math.round(f.extractImagesPerSecond)} images/s); one seed-mnist epoch (60,000, batch 32) ` +
      `${f.epochSeconds.toFixed(2)} s (${Math.round(f.epochImagesPerSecond)} images/s)`,
  );
}
