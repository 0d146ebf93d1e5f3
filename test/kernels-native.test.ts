import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNativeAddon } from '../src/io/backends.js';
import { nativeKernels } from '../src/kernels/native/index.js';
import { Rng } from '../src/tensor/rng.js';
import { checkKernelSet } from './kernel-check.js';

const addon = loadNativeAddon();
for (const threads of [1, 2]) {
  checkKernelSet(
    `native (${threads} thread${threads > 1 ? 's' : ''})`,
    () => addon && nativeKernels(addon, threads),
    'npm install builds it with node-gyp; see the notice it printed',
  );
}

// Same inputs, same thread count → the same bits, however the pool hands out the work: the
// same seed and thread count must give a bit-identical run. Four threads on any machine make the claiming order vary from call to call.
test('native conv weight gradients are bit-identical from call to call with several threads', (t) => {
  const k = addon && nativeKernels(addon, 4);
  if (!k) return t.skip('native kernels not built');
  const g = { n: 32, c: 8, h: 24, w: 24, k: 8, kh: 5, kw: 5, sh: 1, sw: 1, ph: 0, pw: 0, oh: 20, ow: 20 };
  const rng = new Rng(7);
  const x = Float32Array.from({ length: g.n * g.c * g.h * g.w }, () => rng.normal());
  const dy = Float32Array.from({ length: g.n * g.k * g.oh * g.ow }, () => rng.normal());
  const run = () => {
    const dw = new Float32Array(g.k * g.c * g.kh * g.kw);
    const db = new Float32Array(g.k);
    k.conv2dBackwardFilter(dw, db, dy, x, g);
    return [...new Uint32Array(dw.buffer), ...new Uint32Array(db.buffer)];
  };
  const first = run();
  for (let i = 0; i < 20; i++) assert.deepEqual(run(), first, `call ${i + 2} differs from the first`);
});
