// Shared by the test/kernels-*.test.ts files: checks a fast kernel set against the reference kernels on
// shapes drawn fresh each run (batch, channels, odd sizes, stride, padding, non-square kernels).
// The seed is printed in every failure; CONVTS_TEST_SEED=<seed> replays it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildModel,
  builtinSpec,
  type FusedActivation,
  type Kernels,
  type PoolGeom,
  Rng,
  referenceKernels,
  Sgd,
  Tensor,
  withKernels,
} from '../../src/core.js';
import {
  denseMapConvs,
  fixedConvs,
  geomStr,
  int,
  randn,
  randomConv,
  randomPool,
  relError,
  TOL,
  winogradConvs,
} from './kernel-shapes.js';

import { checkPoolThenBatchNorm } from './pool-bn-check.js';

export { relError, TOL };

/**
 * `floor`, when given, is the size of the terms each output sums (Σ|a||b|): a few terms that cancel
 * leave an output far smaller than its rounding error, so the error is measured against the terms.
 */
function close(what: string, seed: number, got: Float32Array, want: Float32Array, floor?: Float32Array): void {
  let e = relError(got, want);
  if (floor) {
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      diff = Math.max(diff, Math.abs(got[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]), floor[i]);
    }
    e = scale === 0 ? diff : diff / scale;
  }
  assert.ok(
    e <= TOL,
    `${what}: relative error ${e.toExponential(2)} > ${TOL} (seed ${seed}; rerun with CONVTS_TEST_SEED=${seed})`,
  );
}

const abs = (a: Float32Array) => a.map(Math.abs);

/**
 * GELU inputs: spread values of each length, the extremes (saturated at ±20, the tiny ±1e-8 where
 * y ≈ x/2, zeros of both signs) at random places, and tiny values alone so that their error is not
 * measured against a scale of 20.
 */
function geluInputs(r: Rng, lens: number[]): { what: string; x: Float32Array }[] {
  const extremes = [20, -20, 1e-8, -1e-8, 0, -0, 9, -9, 3, -3];
  return lens.flatMap((len) => {
    const spread = randn(r, len).map((v) => 6 * v);
    const mixed = spread.map((v, i) => (i % 5 === 0 ? extremes[int(r, 0, extremes.length - 1)] : v));
    const tiny = randn(r, len).map((v) => v * 1e-8);
    return [
      { what: 'x in ±6', x: spread },
      { what: 'with extremes', x: mixed },
      { what: 'x in ±1e-8', x: tiny },
    ];
  });
}

/** Registers the kernel-by-kernel and whole-model comparisons of `k` (or a skip when `k` is null). */
export function checkKernelSet(label: string, make: () => Kernels | null, whyMissing: string): void {
  const fast = make();
  if (!fast) {
    test(`${label} kernels`, { skip: `${label} backend not built here — ${whyMissing}` }, () => {});
    return;
  }
  const seed = Number(process.env.CONVTS_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const ref = referenceKernels;

  test(`${label}: gemm matches the reference for every transpose case (seed ${seed})`, () => {
    const r = new Rng(seed);
    for (let t = 0; t < 40; t++) {
      const [ta, tb, acc] = [t % 2 === 1, (t >> 1) % 2 === 1, (t >> 2) % 2 === 1];
      // Shallow products (k ≤ 6: batch-1 weight gradients) take their own path, so half the draws are shallow.
      const m = int(r, 1, 70),
        n = int(r, 1, 70),
        k = t % 16 < 8 ? int(r, 1, 6) : int(r, 1, 300);
      const a = randn(r, m * k),
        b = randn(r, k * n),
        c0 = randn(r, m * n);
      const want = c0.slice(),
        got = c0.slice();
      ref.gemm(ta, tb, m, n, k, a, b, want, acc);
      fast.gemm(ta, tb, m, n, k, a, b, got, acc);
      const terms = abs(c0);
      ref.gemm(ta, tb, m, n, k, abs(a), abs(b), terms, acc);
      close(`gemm ta=${ta} tb=${tb} acc=${acc} m=${m} n=${n} k=${k}`, seed, got, want, terms);
    }
  });

  test(`${label}: dense forward and backward match the reference (seed ${seed})`, () => {
    const r = new Rng(seed + 1);
    for (let t = 0; t < 30; t++) {
      const n = int(r, 1, 40),
        inF = int(r, 1, 300),
        outF = int(r, 1, 140);
      const bias = t % 3 !== 0;
      const x = randn(r, n * inF),
        w = randn(r, outF * inF),
        b = bias ? randn(r, outF) : null,
        dy = randn(r, n * outF);
      const shape = `dense n=${n} in=${inF} out=${outF} bias=${bias}`;
      const y1 = randn(r, n * outF),
        y2 = y1.slice();
      ref.denseForward(y1, x, w, b, n, inF, outF);
      fast.denseForward(y2, x, w, b, n, inF, outF);
      const terms = new Float32Array(n * outF);
      ref.denseForward(terms, abs(x), abs(w), b && abs(b), n, inF, outF);
      close(`${shape} forward`, seed, y2, y1, terms);
      const dw0 = randn(r, outF * inF),
        db0 = randn(r, outF);
      const [dx1, dw1, db1] = [new Float32Array(n * inF), dw0.slice(), db0.slice()];
      const [dx2, dw2, db2] = [randn(r, n * inF), dw0.slice(), db0.slice()];
      ref.denseBackward(dx1, dw1, bias ? db1 : null, dy, x, w, n, inF, outF);
      fast.denseBackward(dx2, dw2, bias ? db2 : null, dy, x, w, n, inF, outF);
      const [tx, tw, tb] = [new Float32Array(n * inF), abs(dw0), abs(db0)];
      ref.denseBackward(tx, tw, bias ? tb : null, abs(dy), abs(x), abs(w), n, inF, outF);
      close(`${shape} dx`, seed, dx2, dx1, tx);
      close(`${shape} dw`, seed, dw2, dw1, tw);
      close(`${shape} db`, seed, db2, db1, tb);
    }
  });

  test(`${label}: conv2d forward, backward-data and backward-filter match the reference (seed ${seed})`, () => {
    const r = new Rng(seed + 2);
    const geoms = [
      ...fixedConvs,
      ...winogradConvs,
      ...denseMapConvs,
      ...Array.from({ length: 60 }, () => randomConv(r)),
    ];
    for (const [t, g] of geoms.entries()) {
      const bias = t % 4 !== 3;
      const xs = g.n * g.c * g.h * g.w,
        ys = g.n * g.k * g.oh * g.ow,
        ws = g.k * g.c * g.kh * g.kw;
      const x = randn(r, xs),
        w = randn(r, ws),
        b = bias ? randn(r, g.k) : null,
        dy = randn(r, ys);
      const shape = `conv ${geomStr(g)} bias=${bias}`;
      const y1 = randn(r, ys),
        y2 = y1.slice();
      ref.conv2dForward(y1, x, w, b, g);
      fast.conv2dForward(y2, x, w, b, g);
      close(`${shape} forward`, seed, y2, y1);
      const dx1 = randn(r, xs),
        dx2 = randn(r, xs);
      ref.conv2dBackwardData(dx1, dy, w, g);
      fast.conv2dBackwardData(dx2, dy, w, g);
      close(`${shape} backward-data`, seed, dx2, dx1);
      const dw0 = randn(r, ws),
        db0 = randn(r, g.k);
      const [dw1, db1, dw2, db2] = [dw0.slice(), db0.slice(), dw0.slice(), db0.slice()];
      ref.conv2dBackwardFilter(dw1, bias ? db1 : null, dy, x, g);
      fast.conv2dBackwardFilter(dw2, bias ? db2 : null, dy, x, g);
      close(`${shape} backward-filter dw`, seed, dw2, dw1);
      close(`${shape} backward-filter db`, seed, db2, db1);
      if (!bias) continue;
      // A frozen weight (dw null): the bias gradient alone, the same bits as beside dw, on either set.
      for (const [k, full] of [
        [ref, db1],
        [fast, db2],
      ] as const) {
        const db = db0.slice();
        k.conv2dBackwardFilter(null, db, dy, x, g);
        assert.deepEqual(db, full, `${shape} backward-filter db alone, ${k.name} (seed ${seed})`);
      }
    }
  });

  test(`${label}: pooling and activations match the reference (seed ${seed})`, () => {
    const r = new Rng(seed + 3);
    for (let t = 0; t < 30; t++) {
      const g = randomPool(r);
      const xs = g.n * g.c * g.h * g.w,
        ys = g.n * g.c * g.oh * g.ow;
      const x = randn(r, xs),
        dy = randn(r, ys);
      const shape = `pool ${geomStr(g)}`;
      const [y1, y2, a1, a2] = [new Float32Array(ys), randn(r, ys), new Int32Array(ys), new Int32Array(ys)];
      ref.maxPool2dForward(y1, a1, x, g);
      fast.maxPool2dForward(y2, a2, x, g);
      assert.deepEqual([...a2], [...a1], `${shape} max argmax (seed ${seed})`);
      close(`${shape} max forward`, seed, y2, y1);
      const [dx1, dx2] = [new Float32Array(xs), randn(r, xs)];
      ref.maxPool2dBackward(dx1, dy, a1, g);
      fast.maxPool2dBackward(dx2, dy, a1, g);
      close(`${shape} max backward`, seed, dx2, dx1);
      ref.avgPool2dForward(y1, x, g);
      fast.avgPool2dForward(y2, x, g);
      close(`${shape} avg forward`, seed, y2, y1);
      ref.avgPool2dBackward(dx1, dy, g);
      fast.avgPool2dBackward(dx2, dy, g);
      close(`${shape} avg backward`, seed, dx2, dx1);
    }
    for (const f of ['relu', 'sigmoid', 'tanh'] as const) {
      const len = int(r, 1, 70000);
      const x = randn(r, len),
        dy = randn(r, len);
      const [y1, y2, d1, d2] = [new Float32Array(len), randn(r, len), new Float32Array(len), randn(r, len)];
      ref.activationForward(f, y1, x, len);
      fast.activationForward(f, y2, x, len);
      close(`${f} forward len=${len}`, seed, y2, y1);
      ref.activationBackward(f, d1, dy, y1, len);
      fast.activationBackward(f, d2, dy, y1, len);
      close(`${f} backward len=${len}`, seed, d2, d1);
    }
  });

  test(`${label}: GELU forward and backward match the reference, extreme inputs included (seed ${seed})`, () => {
    const r = new Rng(seed + 6);
    const lens = [1, 3, 7, 15, 17, 33, 1000, int(r, 1, 70000), (1 << 15) + 13, 200_003];
    for (const input of geluInputs(r, lens)) {
      const len = input.x.length;
      const dy = randn(r, len);
      const [y1, y2, d1, d2] = [new Float32Array(len), randn(r, len), new Float32Array(len), randn(r, len)];
      ref.geluForward(y1, input.x, len);
      fast.geluForward(y2, input.x, len);
      close(`gelu forward, ${input.what} len=${len}`, seed, y2, y1);
      ref.geluBackward(d1, dy, input.x, len);
      fast.geluBackward(d2, dy, input.x, len);
      close(`gelu backward, ${input.what} len=${len}`, seed, d2, d1);
    }
  });

  test(`${label}: batch norm statistics, forward and backward match the reference (seed ${seed})`, () => {
    const r = new Rng(seed + 5);
    for (let t = 0; t < 12; t++) {
      const { n, c, hw, len, x, dy, affine, gamma, beta } = batchNormCase(r, 40, t % 3 === 0, t % 4 !== 1);
      const shape = `batch norm n=${n} c=${c} hw=${hw}${affine ? '' : ' not affine'}`;
      const [m1, v1, m2, v2] = [new Float32Array(c), new Float32Array(c), randn(r, c), randn(r, c)];
      ref.batchNormStats(m1, v1, x, n, c, hw);
      fast.batchNormStats(m2, v2, x, n, c, hw);
      close(`${shape} mean`, seed, m2, m1);
      close(`${shape} variance`, seed, v2, v1);
      const invstd = v1.map((v) => 1 / Math.sqrt(v + 1e-5));
      const [y1, y2] = [new Float32Array(len), randn(r, len)];
      ref.batchNormForward(y1, x, m1, invstd, gamma, beta, n, c, hw);
      fast.batchNormForward(y2, x, m1, invstd, gamma, beta, n, c, hw);
      close(`${shape} forward`, seed, y2, y1);
      for (const batchStats of [true, false]) {
        const start = randn(r, c);
        const [dx1, dx2, g1, g2, b1, b2] = [
          new Float32Array(len),
          randn(r, len),
          start.slice(),
          start.slice(),
          start.slice(),
          start.slice(),
        ];
        ref.batchNormBackward(
          dx1,
          affine ? g1 : null,
          affine ? b1 : null,
          dy,
          x,
          m1,
          invstd,
          gamma,
          n,
          c,
          hw,
          batchStats,
        );
        fast.batchNormBackward(
          dx2,
          affine ? g2 : null,
          affine ? b2 : null,
          dy,
          x,
          m1,
          invstd,
          gamma,
          n,
          c,
          hw,
          batchStats,
        );
        close(`${shape} backward dx (batch statistics ${batchStats})`, seed, dx2, dx1);
        close(`${shape} backward dgamma`, seed, g2, g1);
        close(`${shape} backward dbeta`, seed, b2, b1);
      }
    }
  });

  test(`${label}: batch norm with its activation in one kernel gives the two kernels' values bit for bit (seed ${seed})`, () => {
    checkFusedBatchNorm(fast, seed, (what, got, want) =>
      close(`${what} (fused, against the reference)`, seed, got, want),
    );
  });

  test(`${label}: batch norm with its activation and max pooling in one kernel gives the kernels' values bit for bit (seed ${seed})`, () => {
    checkFusedBatchNormPool(fast, seed, (what, got, want) =>
      close(`${what} (fused, against the reference)`, seed, got, want),
    );
  });

  test(`${label}: max pooling with the batch norm after it in fused kernels gives the kernels' values bit for bit (seed ${seed})`, () => {
    checkPoolThenBatchNorm(fast, seed, (what, got, want, floor) =>
      close(`${what} (fused, against the reference)`, seed, got, want, floor),
    );
  });

  test(`${label}: SGD steps match the reference (seed ${seed})`, () => {
    const r = new Rng(seed + 4);
    for (let t = 0; t < 16; t++) {
      const len = int(r, 1, 100000);
      const o = {
        lr: r.uniform(),
        momentum: t % 4 === 0 ? 0 : r.uniform(),
        weightDecay: t % 2 ? 0 : r.uniform() * 0.1,
        nesterov: t % 3 === 0,
        first: t % 5 === 0,
      };
      const w = randn(r, len),
        g = randn(r, len),
        v = o.momentum ? randn(r, len) : null;
      const [w1, w2, v1, v2] = [w.slice(), w.slice(), v?.slice() ?? null, v?.slice() ?? null];
      ref.sgdStep(w1, g, v1, len, o);
      fast.sgdStep(w2, g, v2, len, o);
      close(`sgd ${JSON.stringify(o)} len=${len} w`, seed, w2, w1);
      if (v1 && v2) close(`sgd ${JSON.stringify(o)} len=${len} v`, seed, v2, v1);
    }
  });

  test(`${label}: seed-mnist and seed-cifar compute and train the same as with the reference kernels (seed ${seed})`, () => {
    const randomBatch = (shape: readonly number[]) => {
      const r = new Rng(seed);
      return new Tensor([5, ...shape], randn(r, 5 * shape.reduce((a, b) => a * b)));
    };
    for (const net of ['seed-mnist', 'seed-cifar']) {
      // The report's networks, forward: continuous in every weight, so the kernels' rounding stays small.
      const logits = (k: Kernels) =>
        withKernels(k, () => {
          const model = buildModel(builtinSpec(net), { seed });
          return model.logits(randomBatch(model.inputShape)).data.slice();
        });
      const e0 = relError(logits(fast), logits(ref));
      assert.ok(e0 <= TOL, `${net}: logits differ by ${e0.toExponential(2)} relative (seed ${seed})`);
      // Training: with ReLU and max pooling a rounding difference can flip a unit or a pooling choice
      // and change a gradient outright, so three momentum-SGD steps are compared on the smooth
      // variant (tanh, average pooling); the kernel tests above cover ReLU and max pooling.
      const trained = (k: Kernels) =>
        withKernels(k, () => {
          const model = buildModel(builtinSpec(net, { activation: 'tanh', pool: 'avg' }), { seed });
          const x = randomBatch(model.inputShape);
          const opt = new Sgd({ lr: 0.05, momentum: 0.9 });
          for (let s = 0; s < 3; s++) {
            model.zeroGrad();
            model.lossAndBackward(x, [0, 1, 2, 3, 4]);
            opt.step(model.params());
          }
          return model.logits(x).data.slice();
        });
      // Three steps compound the per-kernel rounding, hence 1e-4 for the whole model.
      const e3 = relError(trained(fast), trained(ref));
      assert.ok(
        e3 <= 1e-4,
        `${net} (tanh, avg pool): logits after 3 steps differ by ${e3.toExponential(2)} relative (seed ${seed})`,
      );
    }
  });
}

/** The activations batch norm can run in its own kernel, with the unfused kernels that give the same values. */
export const fusedActivations: {
  act: FusedActivation;
  fwd: (k: Kernels, y: Float32Array, z: Float32Array, len: number) => void;
  bwd: (k: Kernels, dz: Float32Array, dy: Float32Array, z: Float32Array, y: Float32Array, len: number) => void;
}[] = [
  {
    act: { f: 'relu', slope: 0 },
    fwd: (k, y, z, len) => k.activationForward('relu', y, z, len),
    bwd: (k, dz, dy, _z, y, len) => k.activationBackward('relu', dz, dy, y, len),
  },
  {
    act: { f: 'leaky-relu', slope: 0.01 },
    fwd: (k, y, z, len) => k.leakyReluForward(y, z, 0.01, len),
    bwd: (k, dz, dy, z, _y, len) => k.leakyReluBackward(dz, dy, z, 0.01, len),
  },
  {
    act: { f: 'leaky-relu', slope: -0.3 },
    fwd: (k, y, z, len) => k.leakyReluForward(y, z, -0.3, len),
    bwd: (k, dz, dy, z, _y, len) => k.leakyReluBackward(dz, dy, z, -0.3, len),
  },
  {
    act: { f: 'gelu', slope: 0 },
    fwd: (k, y, z, len) => k.geluForward(y, z, len),
    bwd: (k, dz, dy, z, _y, len) => k.geluBackward(dz, dy, z, len),
  },
];

/**
 * batchNormForward/Backward with an activation of `k` against its own batchNormForward + activation and activation
 * backward + batchNormBackward: equal bit for bit (the same operations in the same order), and within
 * the tolerance of the reference's fused kernels (`againstReference`, for a fast set).
 */
export function checkFusedBatchNorm(
  k: Kernels,
  seed: number,
  againstReference?: (what: string, got: Float32Array, want: Float32Array) => void,
): void {
  const r = new Rng(seed + 7);
  const same = (what: string, got: Float32Array, want: Float32Array) => {
    const i = got.findIndex((v, j) => !Object.is(v, want[j]));
    assert.ok(
      i < 0,
      `${k.name} ${what}: fused ${got[i]} at ${i}, two kernels ${want[i]} (seed ${seed}; rerun with CONVTS_TEST_SEED=${seed})`,
    );
  };
  for (let t = 0; t < 16; t++) {
    const { n, c, hw, len, x, dy, affine, gamma, beta } = batchNormCase(r, 24, t % 4 === 0, t % 4 !== 1);
    const mean = new Float32Array(c),
      variance = new Float32Array(c);
    k.batchNormStats(mean, variance, x, n, c, hw);
    const invstd = variance.map((v) => 1 / Math.sqrt(v + 1e-5));
    const { act, fwd, bwd } = fusedActivations[t % fusedActivations.length];
    const shape = `batch norm + ${act.f}${act.f === 'leaky-relu' ? ` ${act.slope}` : ''} n=${n} c=${c} hw=${hw}${affine ? '' : ' not affine'}`;
    const [z, y, fused] = [new Float32Array(len), new Float32Array(len), randn(r, len)];
    k.batchNormForward(z, x, mean, invstd, gamma, beta, n, c, hw);
    fwd(k, y, z, len);
    k.batchNormForward(fused, x, mean, invstd, gamma, beta, n, c, hw, act);
    same(`${shape} forward`, fused, y);
    if (againstReference) {
      const want = new Float32Array(len);
      referenceKernels.batchNormForward(want, x, mean, invstd, gamma, beta, n, c, hw, act);
      againstReference(`${shape} forward`, fused, want);
    }
    for (const batchStats of [true, false]) {
      const start = randn(r, c);
      const [dz, dx, dxf] = [new Float32Array(len), new Float32Array(len), randn(r, len)];
      const [g1, b1, g2, b2] = [start.slice(), start.slice(), start.slice(), start.slice()];
      bwd(k, dz, dy, z, y, len);
      k.batchNormBackward(dx, affine ? g1 : null, affine ? b1 : null, dz, x, mean, invstd, gamma, n, c, hw, batchStats);
      const fusedBackward = (kk: Kernels, out: Float32Array, dg: Float32Array, db: Float32Array) =>
        kk.batchNormBackward(
          out,
          affine ? dg : null,
          affine ? db : null,
          dy,
          x,
          mean,
          invstd,
          gamma,
          n,
          c,
          hw,
          batchStats,
          { act, beta },
        );
      fusedBackward(k, dxf, g2, b2);
      const what = `${shape} backward (batch statistics ${batchStats})`;
      same(`${what} dx`, dxf, dx);
      same(`${what} dgamma`, g2, g1);
      same(`${what} dbeta`, b2, b1);
      if (againstReference) {
        const want = new Float32Array(len);
        fusedBackward(referenceKernels, want, start.slice(), start.slice());
        // dγ is a sum that may cancel (one channel): the unfused kernel tests hold it to the reference.
        againstReference(`${what} dx`, dxf, want);
      }
    }
  }
}

/** A batch-norm input x[n, c, hw] (a feature vector when `flat`), its output gradient and γ, β when `affine`. */
function batchNormCase(r: Rng, maxC: number, flat: boolean, affine: boolean) {
  const [n, c, hw] = [int(r, 1, 9), int(r, 1, maxC), flat ? 1 : int(r, 1, 300)];
  const len = n * c * hw;
  const x = randn(r, len).map((v) => 3 * v + 1),
    dy = randn(r, len);
  const gamma = affine ? randn(r, c) : null,
    beta = affine ? randn(r, c) : null;
  return { n, c, hw, len, x, dy, affine, gamma, beta };
}

/** An assertion that a fused kernel's output equals the kernels' one by one, bit for bit. */
export function sameBits(k: Kernels, seed: number) {
  return (what: string, got: Float32Array | Int32Array, want: Float32Array | Int32Array) => {
    const i = got.findIndex((v, j) => !Object.is(v, want[j]));
    assert.ok(
      i < 0,
      `${k.name} ${what}: fused ${got[i]} at ${i}, kernels one by one ${want[i]} (seed ${seed}; rerun with CONVTS_TEST_SEED=${seed})`,
    );
  };
}

/** Pool geometries of the built-in nets (2×2 on 28, 14, 7 and 32) and random ones, overlapping windows included. */
export function bnPoolGeoms(r: Rng): PoolGeom[] {
  const square = (n: number, c: number, h: number) => ({
    n,
    c,
    h,
    w: h,
    kh: 2,
    kw: 2,
    sh: 2,
    sw: 2,
    oh: h >> 1,
    ow: h >> 1,
  });
  return [
    square(3, 5, 28),
    square(2, 7, 14),
    square(4, 3, 7),
    square(2, 3, 32),
    ...Array.from({ length: 12 }, () => randomPool(r)),
  ];
}

/**
 * batchNormMaxPoolForward/Backward of `k` (with each activation and none) against its own batchNormForward +
 * maxPool2dForward and maxPool2dBackward + batchNormBackward: equal bit for bit, argmax included, and within
 * the tolerance of the reference's (`againstReference`, for a fast set).
 */
export function checkFusedBatchNormPool(
  k: Kernels,
  seed: number,
  againstReference?: (what: string, got: Float32Array, want: Float32Array) => void,
): void {
  const r = new Rng(seed + 8);
  const same = sameBits(k, seed);
  for (const [t, g] of bnPoolGeoms(r).entries()) {
    const { n, c } = g;
    const [hw, ohw] = [g.h * g.w, g.oh * g.ow];
    const [len, ys] = [n * c * hw, n * c * ohw];
    const affine = t % 4 !== 1;
    const x = randn(r, len).map((v) => 3 * v + 1),
      dy = randn(r, ys);
    const gamma = affine ? randn(r, c) : null,
      beta = affine ? randn(r, c) : null;
    const mean = new Float32Array(c),
      variance = new Float32Array(c);
    k.batchNormStats(mean, variance, x, n, c, hw);
    const invstd = variance.map((v) => 1 / Math.sqrt(v + 1e-5));
    const fa = t % (fusedActivations.length + 1);
    const act = fa < fusedActivations.length ? fusedActivations[fa] : null;
    const shape = `batch norm${act ? ` + ${act.act.f}${act.act.f === 'leaky-relu' ? ` ${act.act.slope}` : ''}` : ''} + max pool ${geomStr(g)}${affine ? '' : ' not affine'}`;
    // One by one: batch norm, activation, pool.
    const [z, a, y, am] = [new Float32Array(len), new Float32Array(len), new Float32Array(ys), new Int32Array(ys)];
    k.batchNormForward(z, x, mean, invstd, gamma, beta, n, c, hw);
    if (act) act.fwd(k, a, z, len);
    const out = act ? a : z;
    k.maxPool2dForward(y, am, out, g);
    const [yf, amf] = [randn(r, ys), new Int32Array(ys).fill(-1)];
    k.batchNormMaxPoolForward(yf, amf, x, mean, invstd, gamma, beta, act?.act ?? null, g);
    same(`${shape} forward`, yf, y);
    same(`${shape} argmax`, amf, am);
    if (againstReference) {
      const [want, wam] = [new Float32Array(ys), new Int32Array(ys)];
      referenceKernels.batchNormMaxPoolForward(want, wam, x, mean, invstd, gamma, beta, act?.act ?? null, g);
      againstReference(`${shape} forward`, yf, want);
    }
    for (const batchStats of [true, false]) {
      const start = randn(r, c);
      const [dout, dz, dx, dxf] = [new Float32Array(len), new Float32Array(len), new Float32Array(len), randn(r, len)];
      const [g1, b1, g2, b2, g3, b3] = Array.from({ length: 6 }, () => start.slice());
      k.maxPool2dBackward(dout, dy, am, g);
      if (act) act.bwd(k, dz, dout, z, a, len);
      const dIn = act ? dz : dout;
      k.batchNormBackward(
        dx,
        affine ? g1 : null,
        affine ? b1 : null,
        dIn,
        x,
        mean,
        invstd,
        gamma,
        n,
        c,
        hw,
        batchStats,
      );
      const fused = (kk: Kernels, into: Float32Array | null, dg: Float32Array, db: Float32Array) =>
        kk.batchNormMaxPoolBackward(
          into,
          affine ? dg : null,
          affine ? db : null,
          dy,
          y,
          am,
          x,
          mean,
          invstd,
          gamma,
          beta,
          act?.act ?? null,
          batchStats,
          g,
        );
      fused(k, dxf, g2, b2);
      const what = `${shape} backward (batch statistics ${batchStats})`;
      same(`${what} dx`, dxf, dx);
      same(`${what} dgamma`, g2, g1);
      same(`${what} dbeta`, b2, b1);
      // Without dx (a first layer): the parameters' gradients alone, the same.
      fused(k, null, g3, b3);
      same(`${what} dgamma without dx`, g3, g1);
      same(`${what} dbeta without dx`, b3, b1);
      if (againstReference) {
        const want = new Float32Array(len);
        fused(referenceKernels, want, start.slice(), start.slice());
        againstReference(`${what} dx`, dxf, want);
      }
    }
  }
}
