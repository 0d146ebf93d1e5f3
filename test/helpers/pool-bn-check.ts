// A max pooling with the batch norm after it (convts-cifar's order) in the fused kernels
// (maxPoolBatchNormStats, maxPoolBatchNormBackward) against the same kernel set's kernels one by one:
// bit for bit, with each activation and none, with and without dx, batch or running statistics.
import { type Kernels, type PoolGeom, Rng, referenceKernels } from '../../src/core.js';
import { bnPoolGeoms, fusedActivations, sameBits } from './kernel-check.js';
import { geomStr, randn } from './kernel-shapes.js';

/** 2×2 pools of convts-cifar's maps (31×31, 15×15, 7×7), at a few channels, then bnPoolGeoms'. */
function geoms(r: Rng): PoolGeom[] {
  const cifar = (n: number, c: number, h: number) => ({
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
  return [cifar(3, 6, 31), cifar(2, 9, 15), cifar(5, 4, 7), ...bnPoolGeoms(r)];
}

export function checkPoolThenBatchNorm(
  k: Kernels,
  seed: number,
  againstReference?: (what: string, got: Float32Array, want: Float32Array, floor?: Float32Array) => void,
): void {
  const r = new Rng(seed + 9);
  const same = sameBits(k, seed);
  for (const [t, g] of geoms(r).entries()) {
    const { n, c } = g;
    const ohw = g.oh * g.ow;
    const [len, ys] = [n * c * g.h * g.w, n * c * ohw];
    const affine = t % 4 !== 1;
    const x = randn(r, len).map((v) => 3 * v + 1),
      dy = randn(r, ys);
    const gamma = affine ? randn(r, c) : null,
      beta = affine ? randn(r, c) : null;
    const fa = t % (fusedActivations.length + 1);
    const act = fa < fusedActivations.length ? fusedActivations[fa].act : null;
    const shape = `max pool ${geomStr(g)} + batch norm${act ? ` + ${act.f}${act.f === 'leaky-relu' ? ` ${act.slope}` : ''}` : ''}${affine ? '' : ' not affine'}`;
    // Forward: the pool, then the statistics of its output.
    const [y, am, mean, variance] = [
      new Float32Array(ys),
      new Int32Array(ys),
      new Float32Array(c),
      new Float32Array(c),
    ];
    k.maxPool2dForward(y, am, x, g);
    k.batchNormStats(mean, variance, y, n, c, ohw);
    const [yf, amf, mf, vf] = [randn(r, ys), new Int32Array(ys).fill(-1), randn(r, c), randn(r, c)];
    k.maxPoolBatchNormStats(yf, amf, mf, vf, x, g);
    same(`${shape} pooled`, yf, y);
    same(`${shape} argmax`, amf, am);
    same(`${shape} mean`, mf, mean);
    same(`${shape} variance`, vf, variance);
    if (againstReference) {
      const [wm, wv] = [new Float32Array(c), new Float32Array(c)];
      referenceKernels.maxPoolBatchNormStats(new Float32Array(ys), new Int32Array(ys), wm, wv, x, g);
      againstReference(`${shape} mean`, mf, wm);
      againstReference(`${shape} variance`, vf, wv);
    }
    const invstd = variance.map((v) => 1 / Math.sqrt(v + 1e-5));
    for (const batchStats of [true, false]) {
      const start = randn(r, c);
      const [g1, b1, g2, b2, g3, b3] = Array.from({ length: 6 }, () => start.slice());
      // One by one: the batch norm's backward (with its activation), then the pool's.
      const [dz, dx] = [new Float32Array(ys), new Float32Array(len)];
      const fused = act && { act, beta };
      k.batchNormBackward(
        dz,
        affine ? g1 : null,
        affine ? b1 : null,
        dy,
        y,
        mean,
        invstd,
        gamma,
        n,
        c,
        ohw,
        batchStats,
        fused,
      );
      k.maxPool2dBackward(dx, dz, am, g);
      const run = (kk: Kernels, into: Float32Array | null, dg: Float32Array, db: Float32Array) =>
        kk.maxPoolBatchNormBackward(
          into,
          affine ? dg : null,
          affine ? db : null,
          randn(r, ys),
          dy,
          y,
          am,
          mean,
          invstd,
          gamma,
          beta,
          act,
          batchStats,
          g,
        );
      const dxf = randn(r, len);
      run(k, dxf, g2, b2);
      const what = `${shape} backward (batch statistics ${batchStats})`;
      same(`${what} dx`, dxf, dx);
      same(`${what} dgamma`, g2, g1);
      same(`${what} dbeta`, b2, b1);
      // Without dx (the pool is a first layer): the parameters' gradients alone, the same.
      run(k, null, g3, b3);
      same(`${what} dgamma without dx`, g3, g1);
      same(`${what} dbeta without dx`, b3, b1);
      if (againstReference) {
        const want = new Float32Array(len);
        run(referenceKernels, want, start.slice(), start.slice());
        // With batch statistics dx is invstd·γ·(dz − mean dz − x̂·mean(dz·x̂)): over a few pooled values
        // per channel those terms cancel, so the error is measured against their size (GELU's slope < 1.2).
        let terms = 0;
        for (let j = 0; j < ys; j++) {
          const ch = Math.floor(j / ohw) % c;
          terms = Math.max(terms, 1.2 * Math.abs(dy[j]) * invstd[ch] * (gamma ? Math.abs(gamma[ch]) : 1));
        }
        againstReference(`${what} dx`, dxf, want, new Float32Array(len).fill(terms));
      }
    }
  }
}
