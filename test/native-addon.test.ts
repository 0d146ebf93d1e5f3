// The native addon's guard rails: checked arguments, several JavaScript threads, portable variants
// chosen from the CPU's features, and the thread count from the environment.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { convGeomArray, poolGeomArray } from '../src/kernels/native/index.js';
import { loadNativeAddon, nativeVariants, runnableNativeVariants, runnableOn } from '../src/kernels/node-loader.js';

const addon = loadNativeAddon();
const skip = addon ? false : 'native kernels not built here';
const f32 = (n: number) => new Float32Array(n);
const conv = { n: 2, c: 3, h: 8, w: 8, k: 4, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, oh: 8, ow: 8 };

test('a wrong-length, wrong-type or inconsistent argument throws a TypeError naming it', { skip }, () => {
  const a = addon!;
  const cases: [() => void, RegExp][] = [
    [
      () => a.gemm(false, false, 4, 5, 6, f32(24), f32(29), f32(20), false),
      /gemm: argument b must hold at least 30 values/,
    ],
    [
      () => a.gemm(false, false, 4, 5, 6, f32(24), f32(30), new Float64Array(20) as never, false),
      /gemm: argument c must be a Float32Array/,
    ],
    [
      () => a.gemm(false, false, -1, 5, 6, f32(24), f32(30), f32(20), false),
      /gemm: argument m must be a whole number in 1/,
    ],
    [
      () => a.denseForward(f32(10), f32(6), f32(15), f32(4), 2, 3, 5, 1),
      /denseForward: argument b must hold at least 5/,
    ],
    [
      () => a.denseBackward(null, f32(15), null, f32(10), f32(6), f32(14), 2, 3, 5, 1),
      /denseBackward: argument w must hold at least 15/,
    ],
    [
      () => a.conv2dForward(f32(2 * 4 * 64 - 1), f32(2 * 3 * 64), f32(108), null, convGeomArray(conv), 1),
      /conv2dForward: argument y must hold at least 512/,
    ],
    [
      () => a.conv2dBackwardData(f32(384), f32(512), f32(108), convGeomArray({ ...conv, oh: 9 }), 1),
      /argument g \(convolution geometry\) is not consistent/,
    ],
    [
      () => a.conv2dBackwardFilter(f32(108), f32(4), f32(512), f32(384), new Int32Array(5), 1),
      /argument g \(convolution geometry\) must hold at least 13/,
    ],
    [
      () =>
        a.maxPool2dForward(
          f32(32),
          new Float32Array(32) as never,
          f32(128),
          poolGeomArray({ n: 2, c: 1, h: 8, w: 8, kh: 2, kw: 2, sh: 2, sw: 2, oh: 4, ow: 4 }),
          1,
        ),
      /maxPool2dForward: argument argmax must be an Int32Array/,
    ],
    [
      () =>
        a.maxPool2dBackward(
          f32(128),
          f32(32),
          Int32Array.from({ length: 32 }, (_, i) => (i === 5 ? 128 : 0)),
          poolGeomArray({ n: 2, c: 1, h: 8, w: 8, kh: 2, kw: 2, sh: 2, sw: 2, oh: 4, ow: 4 }),
          1,
        ),
      /argmax\[5\] = 128 lies outside dx's 128 values/,
    ],
    [
      () => a.activationForward(3, f32(4), f32(4), 4, 1),
      /activationForward: argument kind must be a whole number in 0 … 2/,
    ],
    [
      () => a.activationBackward(0, f32(4), f32(3), f32(4), 4, 1),
      /activationBackward: argument dy must hold at least 4/,
    ],
    [() => a.geluForward(f32(9), f32(8), 9, 1), /geluForward: argument x must hold at least 9 values/],
    [
      () => a.geluBackward(f32(4), new Float64Array(4) as never, f32(4), 4, 1),
      /geluBackward: argument dy must be a Float32Array/,
    ],
    [() => a.geluBackward(f32(4), f32(4), f32(4), -1, 1), /geluBackward: argument len must be a whole number in 0/],
    [() => a.geluForward(f32(4), f32(4), 4, 0), /geluForward: argument threads must be a whole number in 1/],
    [
      () => a.sgdStep(f32(8), f32(8), f32(7), 8, 0.1, 0.9, 0, false, false, 1),
      /sgdStep: argument v must hold at least 8/,
    ],
    [
      () => a.sgdStep(f32(8), f32(8), null, 8, 0.1, 0, 0, false, false, 1e9),
      /sgdStep: argument threads must be a whole number in 1 … \d+, got 1e\+09/,
    ],
    [
      () => a.sgdStep(f32(8), f32(8), null, 8, '0.1' as never, 0, 0, false, false, 1),
      /sgdStep: argument lr must be a number/,
    ],
  ];
  for (const [call, want] of cases)
    assert.throws(call, (e: unknown) => e instanceof TypeError && want.test(e.message), String(want));
});

test('an argmax outside its plane is refused before any output changes, on one thread or two', { skip }, () => {
  const a = addon!;
  // 64·64 planes of 8×8 pooled to 4×4: enough values for the check to run on both threads.
  const [n, c, h, o] = [64, 64, 8, 4];
  const g = poolGeomArray({ n, c, h, w: h, kh: 2, kw: 2, sh: 2, sw: 2, oh: o, ow: o });
  const ys = n * c * o * o;
  const am = Int32Array.from({ length: ys }, (_, i) => Math.floor(i / (o * o)) * h * h);
  const ones = () => new Float32Array(c).fill(1);
  for (const [at, value] of [
    [ys - 1, (n * c - 1) * h * h - 1],
    [5, -1],
    [ys - 3, 2147483647],
  ])
    for (const threads of [1, 2]) {
      const bad = am.slice();
      bad[at] = value;
      const [dgamma, dx] = [ones(), f32(n * c * h * h).fill(7)];
      assert.throws(
        () =>
          a.maxPoolBatchNormBackward(
            0,
            0,
            dx,
            dgamma,
            ones(),
            f32(ys),
            f32(ys),
            f32(ys),
            bad,
            ones(),
            ones(),
            null,
            null,
            g,
            true,
            threads,
          ),
        new RegExp(`argmax\\[${at}\\] = ${value} lies outside its plane`),
      );
      assert.ok(dgamma.every((v) => v === 1) && dx.every((v) => v === 7));
    }
  a.maxPoolBatchNormBackward(
    0,
    0,
    f32(n * c * h * h),
    ones(),
    ones(),
    f32(ys),
    f32(ys),
    f32(ys),
    am,
    ones(),
    ones(),
    null,
    null,
    g,
    true,
    2,
  );
});

test('two worker threads using the native kernels at once both get correct results', {
  skip,
  timeout: 120_000,
}, async () => {
  const worker = fileURLToPath(new URL('./helpers/native-worker.js', import.meta.url));
  const run = () =>
    new Promise<string>((resolve, reject) => {
      const w = new Worker(worker, { workerData: { rounds: 60 } });
      w.once('message', resolve);
      w.once('error', reject);
    });
  const results = await Promise.all([run(), run(), run()]);
  for (const r of results) assert.equal(r, 'ok');
});

test('each variant reports the vector code it was compiled with; the loader picks the best the CPU has', {
  skip,
}, () => {
  const expected: Record<string, RegExp> = { baseline: /^(sse2|neon|scalar)$/, avx2: /^avx2-fma$/, avx512: /^avx512$/ };
  const runnable = runnableNativeVariants();
  assert.ok(runnable.includes('baseline'));
  for (const v of runnable) {
    const a = loadNativeAddon(v)!;
    assert.equal(a.variant, v);
    assert.match(a.simd, expected[v]);
  }
  assert.equal(loadNativeAddon()!.variant, runnable[runnable.length - 1]);
  const built = () => true;
  assert.deepEqual(runnableOn([], built), ['baseline'], 'a CPU without AVX2 (an AVX-only one too) runs the baseline');
  assert.deepEqual(runnableOn(['avx2', 'fma'], built), ['baseline', 'avx2']);
  assert.deepEqual(runnableOn(nativeVariants[2].needs, built), ['baseline', 'avx2', 'avx512']);
  assert.deepEqual(
    runnableOn(nativeVariants[2].needs, (v) => v !== 'avx512'),
    ['baseline', 'avx2'],
  );
});

const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const quick = [
  '--net',
  'seed-mnist',
  '--mode',
  'infer',
  '--batch',
  '1',
  '--warmup',
  '0',
  '--slice',
  '0.02',
  '--slices',
  '1',
];
const bench = (env: Record<string, string>) =>
  spawnSync(process.execPath, [main, 'bench', ...quick, '--backend', 'native', '--json'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });

test('CONVTS_NATIVE_VARIANT forces a variant; an unknown one is a usage error', { skip }, () => {
  for (const v of runnableNativeVariants()) {
    const r = bench({ CONVTS_NATIVE_VARIANT: v, CONVTS_THREADS: '1' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.split('\n')[0]).kernels, `native-${loadNativeAddon(v)!.simd}`);
  }
  const r = bench({ CONVTS_NATIVE_VARIANT: 'avx9000' });
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /^convts: CONVTS_NATIVE_VARIANT="avx9000" is not a native variant: use baseline, avx2, avx512\n$/,
  );
});

test('CONVTS_THREADS outside 1 … 4 × cores is a one-line usage error, not a crash', () => {
  for (const bad of ['1e9', '0', 'two']) {
    const r = bench({ CONVTS_THREADS: bad });
    assert.equal(r.status, 2, `CONVTS_THREADS=${bad}: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(
        `^convts: CONVTS_THREADS must be a whole number from 1 to \\d+ \\(4 × \\d+ cores\\), got "${bad}"\\n$`,
      ),
    );
  }
});
