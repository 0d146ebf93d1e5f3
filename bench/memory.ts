// `convts bench --memory`: does steady-state training allocate? Heap and resident-set growth from the
// end of epoch 2 (buffers allocated, code compiled) to the end of epoch 10.
import { withKernels } from '../src/core.js';
import type { Backend } from '../src/kernels/node-loader.js';
import { builtinSpec } from '../src/model/builtins.js';
import { makeStep } from './timing.js';

export interface MemoryGrowth {
  net: string;
  mode: 'memory';
  batch: number;
  backend: string;
  threads: number;
  epochs: number;
  gcExposed: boolean;
  heapGrowthBytes: number;
  rssGrowthBytes: number;
}

/**
 * Trains seed-mnist for 10 epochs of 200 steps (batch 32) on `b`. The heap is measured after a garbage
 * collection when node runs with --expose-gc (npm run bench does).
 */
export function memoryGrowth(b: Backend): MemoryGrowth {
  const batch = 32;
  const epochs = 10;
  const gc = (globalThis as { gc?: () => void }).gc;
  const sample = () => {
    gc?.();
    const u = process.memoryUsage();
    return { heap: u.heapUsed + u.external + u.arrayBuffers, rss: u.rss };
  };
  return withKernels(b.kernels, () => {
    const step = makeStep(builtinSpec('seed-mnist'), 'train', batch);
    let first = sample();
    for (let e = 1; e <= epochs; e++) {
      for (let s = 0; s < 200; s++) step();
      if (e === 2) first = sample();
    }
    const last = sample();
    const growth = { heapGrowthBytes: last.heap - first.heap, rssGrowthBytes: last.rss - first.rss };
    const who = { backend: b.name, threads: b.threads, epochs, gcExposed: gc !== undefined };
    return { net: 'seed-mnist', mode: 'memory', batch, ...who, ...growth };
  });
}

export function memoryLine(m: MemoryGrowth): string {
  return `${m.net} batch ${m.batch} on ${m.backend} (${m.threads} threads): from epoch 2 to ${m.epochs}, heap grew ${m.heapGrowthBytes} bytes, rss ${m.rssGrowthBytes} bytes\n`;
}
