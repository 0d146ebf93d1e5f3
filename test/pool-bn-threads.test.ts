// A max pooling and the batch norm after it in the fused native kernels: the same bits on 1, 2 and 4
// threads, on maps large enough that every pass splits its work (convts-cifar's 2×2 pools of 31×31 and
// 15×15 maps), and the same as the kernels one by one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kernels, PoolGeom } from '../src/kernels/kernels.js';
import { nativeKernels } from '../src/kernels/native/index.js';
import { loadNativeAddon } from '../src/kernels/node-loader.js';
import { Rng } from '../src/tensor/rng.js';
import { randn } from './helpers/kernel-shapes.js';

/** Every output of the fused forward and backward (GELU, batch statistics) on one kernel set. */
function outputs(k: Kernels, g: PoolGeom, x: Float32Array, dy: Float32Array, fused: boolean): Float32Array[] {
  const { n, c } = g;
  const [xs, ys, ohw] = [x.length, dy.length, g.oh * g.ow];
  const [y, am, mean, variance] = [new Float32Array(ys), new Int32Array(ys), new Float32Array(c), new Float32Array(c)];
  if (fused) k.maxPoolBatchNormStats(y, am, mean, variance, x, g);
  else {
    k.maxPool2dForward(y, am, x, g);
    k.batchNormStats(mean, variance, y, n, c, ohw);
  }
  const invstd = variance.map((v) => 1 / Math.sqrt(v + 1e-5));
  const [gamma, beta] = [mean.map((_, i) => 1 + 0.1 * i), mean.map((_, i) => 0.05 * i)];
  const [dx, dz, dg, db] = [new Float32Array(xs), new Float32Array(ys), new Float32Array(c), new Float32Array(c)];
  const act = { f: 'gelu', slope: 0 } as const;
  if (fused) k.maxPoolBatchNormBackward(dx, dg, db, dz, dy, y, am, mean, invstd, gamma, beta, act, true, g);
  else {
    k.batchNormBackward(dz, dg, db, dy, y, mean, invstd, gamma, n, c, ohw, true, { act, beta });
    k.maxPool2dBackward(dx, dz, am, g);
  }
  return [y, new Float32Array(am.buffer), mean, variance, dx, dg, db];
}

test('native: a max pooling and the batch norm after it, fused, give the same bits on 1, 2 and 4 threads', (t) => {
  const addon = loadNativeAddon();
  if (!addon) return t.skip('native kernels not built');
  const r = new Rng(12);
  for (const [c, h] of [
    [16, 31],
    [40, 15],
  ]) {
    const o = h >> 1;
    const g: PoolGeom = { n: 8, c, h, w: h, kh: 2, kw: 2, sh: 2, sw: 2, oh: o, ow: o };
    const x = randn(r, 8 * c * h * h);
    const dy = randn(r, 8 * c * o * o);
    const want = outputs(nativeKernels(addon, 1), g, x, dy, false);
    for (const threads of [1, 2, 4]) {
      const got = outputs(nativeKernels(addon, threads), g, x, dy, true);
      for (const [i, a] of got.entries()) {
        const j = a.findIndex((v, at) => !Object.is(v, want[i][at]));
        assert.ok(
          j < 0,
          `${c}×${h}×${h}, ${threads} threads: output ${i} [${j}] ${a[j]}, one by one on 1 thread ${want[i][j]}`,
        );
      }
    }
  }
});
