import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConvGeom } from '../src/kernels/kernels.js';
import { convGeomArray, type NativeAddon, nativeKernels } from '../src/kernels/native/index.js';
import { loadNativeAddon, runnableNativeVariants } from '../src/kernels/node-loader.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { Rng } from '../src/tensor/rng.js';
import { checkKernelSet } from './helpers/kernel-check.js';
import {
  denseMapConvs,
  fixedConvs,
  geomStr,
  randn,
  relError,
  TOL,
  winogradConvs,
  winogradGradTiles,
  winogradTiles,
} from './helpers/kernel-shapes.js';

// Every variant this CPU runs is checked on one thread; the one convts picks also on two.
const variants = runnableNativeVariants();
const picked = variants[variants.length - 1];
const why = 'npm install builds it with node-gyp; see the notice it printed';
if (!variants.length) checkKernelSet('native', () => null, why);
for (const v of variants) {
  for (const threads of v === picked ? [1, 2] : [1]) {
    checkKernelSet(
      `native ${v} (${threads} thread${threads > 1 ? 's' : ''})`,
      () => nativeKernels(loadNativeAddon(v)!, threads),
      why,
    );
  }
}

// Same inputs, same thread count → the same bits, however the pool hands out the work (bit-identical
// runs). Four threads on any machine make the claiming order vary from call to call.
test('native conv weight gradients are bit-identical from call to call with several threads', (t) => {
  const addon = loadNativeAddon();
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

/** Asserts that conv2dBackwardFilter gives the same bits on 1, 2 and 4 threads for geometry g. */
function sameBitsOnThreads(addon: NativeAddon, g: ConvGeom, seed: number, what: string): void {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: g.n * g.c * g.h * g.w }, () => rng.normal());
  const dy = Float32Array.from({ length: g.n * g.k * g.oh * g.ow }, () => rng.normal());
  const run = (threads: number) => {
    const dw = new Float32Array(g.k * g.c * g.kh * g.kw);
    const db = new Float32Array(g.k);
    nativeKernels(addon, threads).conv2dBackwardFilter(dw, db, dy, x, g);
    return [...new Uint32Array(dw.buffer), ...new Uint32Array(db.buffer)];
  };
  const one = run(1);
  for (const threads of [2, 4, 2, 4]) assert.deepEqual(run(threads), one, `${what}: ${threads} threads differ from 1`);
}

// The wide layers' weight gradient (output channels along the vectors) gives every thread its own tiles
// of the gradient and sums the batch in sample order, so the bits do not depend on the thread count.
test('native weight gradients of a wide 3×3 layer are the same bits on 1, 2 and 4 threads', (t) => {
  const addon = loadNativeAddon();
  if (!addon) return t.skip('native kernels not built');
  const g = { n: 6, c: 8, h: 8, w: 8, k: 32, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, oh: 8, ow: 8 };
  sameBitsOnThreads(addon, g, 9, addon.variant);
});

/** Runs f with the addon's Winograd tile forced to `tile`, then lets the shapes choose again. */
function withTile<T>(addon: NativeAddon, tile: 0 | 2 | 4, f: () => T): T {
  addon.setWinogradTile(tile);
  try {
    return f();
  } finally {
    addon.setWinogradTile(0);
  }
}

// The Winograd weight gradient cuts its chunks of tiles into groups fixed by the shape, each summed in
// chunk order by one thread into its own M, the groups then added in order: the same bits on any thread
// count, on every variant and with either tile (14×14 maps of 64 channels: 10 chunks in 4 uneven groups
// at 2×2 tiles, 8 in 4 at 4×4).
test('native Winograd weight gradients are the same bits on 1, 2 and 4 threads', (t) => {
  if (!variants.length) return t.skip('native kernels not built');
  const g = { n: 48, c: 24, h: 14, w: 14, k: 64, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, oh: 14, ow: 14 };
  for (const v of variants) {
    const addon = loadNativeAddon(v)!;
    for (const tile of [2, 4] as const) {
      withTile(addon, tile, () => {
        assert.equal(addon.conv2dFilterUsesWinograd(convGeomArray(g)), tile, `${v}: ${geomStr(g)} misses F(${tile})`);
        sameBitsOnThreads(addon, g, 11, `${v} F(${tile}×${tile})`);
      });
    }
  }
});

// The Winograd forward cuts its tiles into chunks by the thread count and rounds them to whole micro-tiles
// of the gemm: no output is summed across chunks, so the bits never depend on either (7×7 maps: 4 tiles
// a row of 2×2, chunks of 8 rows fill the micro-tiles; 2 a row of 4×4, two rows a vector).
test('native Winograd forward is the same bits on 1, 2 and 4 threads', (t) => {
  if (!variants.length) return t.skip('native kernels not built');
  const g = { n: 96, c: 16, h: 7, w: 7, k: 48, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, oh: 7, ow: 7 };
  const rng = new Rng(13);
  const x = Float32Array.from({ length: g.n * g.c * g.h * g.w }, () => rng.normal());
  const w = Float32Array.from({ length: g.k * g.c * 9 }, () => rng.normal());
  for (const v of variants) {
    const addon = loadNativeAddon(v)!;
    for (const tile of [2, 4] as const) {
      withTile(addon, tile, () => {
        assert.equal(addon.conv2dUsesWinograd(convGeomArray(g)), tile, `${v}: ${geomStr(g)} misses F(${tile})`);
        const run = (threads: number) => {
          const y = new Float32Array(g.n * g.k * g.oh * g.ow);
          nativeKernels(addon, threads).conv2dForward(y, x, w, null, g);
          return [...new Uint32Array(y.buffer)];
        };
        const one = run(1);
        for (const threads of [2, 4])
          assert.deepEqual(run(threads), one, `${v} F(${tile}×${tile}): ${threads} threads differ from 1`);
      });
    }
  }
});

// The kernel checks above reach each Winograd shape with the tile it picks; here every shape also runs
// with the other, forward, backward-data and weight gradient, against the reference at the same TOL.
test('native Winograd with 2×2 and with 4×4 tiles matches the reference on the Winograd shapes', (t) => {
  if (!variants.length) return t.skip('native kernels not built');
  const r = new Rng(17);
  for (const g of winogradConvs) {
    const x = randn(r, g.n * g.c * g.h * g.w);
    const w = randn(r, g.k * g.c * 9);
    const b = randn(r, g.k);
    const dy = randn(r, g.n * g.k * g.oh * g.ow);
    const run = (k: typeof referenceKernels) => {
      const y = new Float32Array(dy.length);
      const dx = new Float32Array(x.length);
      const dw = new Float32Array(w.length);
      const db = new Float32Array(g.k);
      k.conv2dForward(y, x, w, b, g);
      k.conv2dBackwardData(dx, dy, w, g);
      k.conv2dBackwardFilter(dw, db, dy, x, g);
      return { y, dx, dw, db };
    };
    const want = run(referenceKernels);
    for (const v of variants) {
      const addon = loadNativeAddon(v)!;
      for (const tile of [2, 4] as const) {
        const got = withTile(addon, tile, () => run(nativeKernels(addon, 2)));
        for (const key of ['y', 'dx', 'dw', 'db'] as const) {
          const e = relError(got[key], want[key]);
          assert.ok(
            e <= TOL,
            `${v} F(${tile}×${tile}) ${geomStr(g)} ${key}: relative error ${e.toExponential(2)} > ${TOL}`,
          );
        }
      }
    }
  }
});

// F(4×4, 3×3)'s error grows with the channels summed: on 256 → 256 channels (convts-cifar's widest
// layers) its interpolation points decide whether it stays within TOL. Lavin and Gray's 0, ±1, ±2 gave
// 1.2e-5 here (forward and backward-data); 0, ±1, 2, −½ give 4–5e-6.
test('native Winograd 4×4 stays within TOL on a 256 → 256 channel layer', (t) => {
  if (!variants.length) return t.skip('native kernels not built');
  const g = { n: 84, c: 256, h: 7, w: 7, k: 256, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, oh: 7, ow: 7 };
  const r = new Rng(7);
  const x = randn(r, g.n * g.c * g.h * g.w);
  const w = randn(r, g.k * g.c * 9);
  const dy = randn(r, g.n * g.k * g.oh * g.ow);
  const [y1, dx1] = [new Float32Array(dy.length), new Float32Array(x.length)];
  referenceKernels.conv2dForward(y1, x, w, null, g);
  referenceKernels.conv2dBackwardData(dx1, dy, w, g);
  for (const v of variants) {
    const addon = loadNativeAddon(v)!;
    assert.equal(addon.conv2dUsesWinograd(convGeomArray(g)), 4, `${v}: ${geomStr(g)} misses F(4×4)`);
    const k = nativeKernels(addon, 2);
    const [y2, dx2] = [new Float32Array(dy.length), new Float32Array(x.length)];
    k.conv2dForward(y2, x, w, null, g);
    k.conv2dBackwardData(dx2, dy, w, g);
    for (const [what, e] of [
      ['forward', relError(y2, y1)],
      ['backward-data', relError(dx2, dx1)],
    ] as const)
      assert.ok(e <= TOL, `${v} ${what}: relative error ${e.toExponential(2)} > ${TOL}`);
  }
});

test('native setWinogradTile refuses a tile other than 0, 2 or 4', (t) => {
  const addon = loadNativeAddon();
  if (!addon) return t.skip('native kernels not built');
  assert.throws(
    () => addon.setWinogradTile(3 as number as 2),
    /setWinogradTile: argument tile must be 0 \(by shape\), 2 or 4, got 3/,
  );
  assert.throws(() => addon.setWinogradTile(8 as number as 2), /argument tile must be a whole number in 0 … 4, got 8/);
  const g = winogradConvs[0];
  assert.equal(addon.conv2dUsesWinograd(convGeomArray(g)), winogradTiles[0], 'a refused tile changed the choice');
});

// The Winograd shapes of the kernel checks above must reach the Winograd path, forward, through the
// backward-data's transposed convolution and in the weight gradient, on every variant; small layers
// must not (they measured slower).
test('native: the Winograd shapes of the kernel checks take the Winograd path, small layers do not', (t) => {
  if (!variants.length) return t.skip('native kernels not built');
  const transposed = (g: ConvGeom): ConvGeom => ({
    ...{ n: g.n, c: g.k, h: g.oh, w: g.ow, k: g.c, kh: 3, kw: 3, sh: 1, sw: 1 },
    ...{ ph: 2 - g.ph, pw: 2 - g.pw, oh: g.h, ow: g.w },
  });
  for (const v of variants) {
    const addon = loadNativeAddon(v)!;
    for (const [i, g] of winogradConvs.entries()) {
      const tile = winogradTiles[i];
      assert.equal(addon.conv2dUsesWinograd(convGeomArray(g)), tile, `${v}: forward ${geomStr(g)} misses F(${tile})`);
      const d = transposed(g);
      assert.equal(addon.conv2dUsesWinograd(convGeomArray(d)), tile, `${v}: backward-data ${geomStr(g)} misses it`);
      const gradTile = winogradGradTiles(addon.simd)[i];
      assert.equal(
        addon.conv2dFilterUsesWinograd(convGeomArray(g)),
        gradTile,
        `${v}: weight gradient ${geomStr(g)} misses F(${gradTile})`,
      );
    }
    for (const g of fixedConvs) {
      assert.ok(!addon.conv2dUsesWinograd(convGeomArray(g)), `${v}: small ${geomStr(g)} takes the Winograd path`);
      assert.ok(
        !addon.conv2dFilterUsesWinograd(convGeomArray(g)),
        `${v}: small ${geomStr(g)} weight gradient takes it`,
      );
    }
  }
});

// Layers on maps no bigger than their kernel run as one dense product on gemm_threads (native/
// conv_dense_map.cc): the kernel checks' shapes take it, small batches and larger maps do not, and the
// three passes give the same bits on 1, 2 and 4 threads.
test('native: maps no bigger than the kernel take the dense product, the same bits on any thread count', (t) => {
  if (!variants.length) return t.skip('native kernels not built');
  const cifar = { n: 512, c: 256, h: 3, w: 3, k: 256, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, oh: 3, ow: 3 };
  const g = denseMapConvs[0];
  const r = new Rng(23);
  const [x, w, b, dy] = [randn(r, g.n * g.c * 9), randn(r, g.k * g.c * 9), randn(r, g.k), randn(r, g.n * g.k * 9)];
  for (const v of variants) {
    const addon = loadNativeAddon(v)!;
    for (const d of [...denseMapConvs, cifar])
      assert.ok(addon.conv2dUsesDenseMap(convGeomArray(d)), `${v}: ${geomStr(d)} misses the dense product`);
    for (const d of [{ ...cifar, n: 64 }, ...fixedConvs, ...winogradConvs])
      assert.ok(!addon.conv2dUsesDenseMap(convGeomArray(d)), `${v}: ${geomStr(d)} takes the dense product`);
    const run = (threads: number) => {
      const k = nativeKernels(addon, threads);
      const [y, dx, dw, db] = [new Float32Array(dy.length), new Float32Array(x.length), w.map(() => 0), b.map(() => 0)];
      k.conv2dForward(y, x, w, b, g);
      k.conv2dBackwardData(dx, dy, w, g);
      k.conv2dBackwardFilter(dw, db, dy, x, g);
      return [y, dx, dw, db].flatMap((a) => [...new Uint32Array(a.buffer)]);
    };
    const one = run(1);
    for (const threads of [2, 4]) assert.deepEqual(run(threads), one, `${v}: ${threads} threads differ from 1`);
  }
});
