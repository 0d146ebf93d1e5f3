// The machine's single-precision matrix-multiply peak, measured the way our kernels run: the native
// packed gemm on large square matrices, on 1 and on several threads. Figures elsewhere (convts bench,
// bench/kernel-profile.ts) are given as a share of it, so that a busy machine lowers both alike.
import os from 'node:os';
import type { NativeAddon } from '../src/kernels/native/index.js';
import { Rng } from '../src/tensor/rng.js';

export interface Peak {
  threads: number;
  size: number;
  /** Best of the timed runs, in GFLOP/s (2·n³ flops a product). */
  gflops: number;
}

/** Best GFLOP/s of n×n·n×n products on `threads` threads over about `seconds` of runs. */
export function gemmPeak(addon: NativeAddon, threads: number, size = 1024, seconds = 0.6): Peak {
  const rng = new Rng(3);
  const a = Float32Array.from({ length: size * size }, () => rng.uniform() - 0.5);
  const b = Float32Array.from({ length: size * size }, () => rng.uniform() - 0.5);
  const c = new Float32Array(size * size);
  addon.gemm(false, false, size, size, size, a, b, c, false, threads);
  let best = Number.POSITIVE_INFINITY;
  const t0 = performance.now();
  do {
    const t = performance.now();
    addon.gemm(false, false, size, size, size, a, b, c, false, threads);
    best = Math.min(best, performance.now() - t);
  } while (performance.now() - t0 < seconds * 1000);
  return { threads, size, gflops: (2 * size ** 3) / (best * 1e6) };
}

/** The 1-minute load average and the cores, printed beside every figure (the machine is shared). */
export function loadLine(): string {
  return `load average ${os.loadavg()[0].toFixed(2)} on ${os.availableParallelism()} cores`;
}
