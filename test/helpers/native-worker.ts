// A worker thread of test/native-addon.test.ts: runs native convolutions on two threads, many times,
// and checks each result against the reference kernels; posts "ok" or what differed.
import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../../src/core.js';
import { nativeKernels } from '../../src/kernels/native/index.js';
import { loadNativeAddon } from '../../src/kernels/node-loader.js';
import { referenceKernels } from '../../src/kernels/reference/index.js';
import { relError, TOL } from './kernel-check.js';

const k = nativeKernels(loadNativeAddon()!, 2);
const g = { n: 8, c: 8, h: 24, w: 24, k: 8, kh: 5, kw: 5, sh: 1, sw: 1, ph: 0, pw: 0, oh: 20, ow: 20 };
const rng = new Rng(Math.floor(Math.random() * 2 ** 31));
const x = Float32Array.from({ length: g.n * g.c * g.h * g.w }, () => rng.normal());
const w = Float32Array.from({ length: g.k * g.c * g.kh * g.kw }, () => rng.normal());
const want = new Float32Array(g.n * g.k * g.oh * g.ow);
referenceKernels.conv2dForward(want, x, w, null, g);
let result = 'ok';
for (let r = 0; r < workerData.rounds && result === 'ok'; r++) {
  const y = new Float32Array(want.length);
  k.conv2dForward(y, x, w, null, g);
  const e = relError(y, want);
  if (!(e <= TOL)) result = `round ${r}: relative error ${e}`;
}
parentPort!.postMessage(result);
