import type { Activation, ConvGeom, FusedActivation, Kernels, PoolGeom, SgdStepOptions } from '../kernels.js';
import { referenceKernels } from '../reference/index.js';

import type { NativeAddon } from './addon.js';

export type { NativeAddon };

/** Activation codes of the C kernels (native/kernels.h). */
export const ACTIVATIONS: readonly Activation[] = ['relu', 'sigmoid', 'tanh'];

/** The C code of an activation batch norm applies itself (native/kernels.h BnActKind): 0 for none. */
export const fusedCode = (act: FusedActivation | null | undefined): number =>
  act ? ['relu', 'leaky-relu', 'gelu'].indexOf(act.f) + 1 : 0;

// Geometry goes to C as one int array in the field order of the C structs (native/kernels.h).
const convBuf = new Int32Array(13);
const poolBuf = new Int32Array(10);

export function convGeomArray(g: ConvGeom, out = convBuf): Int32Array {
  out[0] = g.n;
  out[1] = g.c;
  out[2] = g.h;
  out[3] = g.w;
  out[4] = g.k;
  out[5] = g.kh;
  out[6] = g.kw;
  out[7] = g.sh;
  out[8] = g.sw;
  out[9] = g.ph;
  out[10] = g.pw;
  out[11] = g.oh;
  out[12] = g.ow;
  return out;
}

export function poolGeomArray(g: PoolGeom, out = poolBuf): Int32Array {
  out[0] = g.n;
  out[1] = g.c;
  out[2] = g.h;
  out[3] = g.w;
  out[4] = g.kh;
  out[5] = g.kw;
  out[6] = g.sh;
  out[7] = g.sw;
  out[8] = g.oh;
  out[9] = g.ow;
  return out;
}

/**
 * SIMD C++ kernels on `threads` threads (a pool inside the addon). Softmax and mul touch a few
 * values per sample here, so they stay in TypeScript, where no call crosses into C.
 */
export function nativeKernels(addon: NativeAddon, threads: number): Kernels {
  const t = Math.max(1, Math.floor(threads));
  return {
    ...referenceKernels,
    name: `native-${addon.simd}`,
    threads: t,
    gemm: (ta, tb, m, n, k, a, b, c, acc) => addon.gemm(ta, tb, m, n, k, a, b, c, acc, t),
    denseForward: (y, x, w, b, n, inF, outF) => addon.denseForward(y, x, w, b, n, inF, outF, t),
    denseBackward: (dx, dw, db, dy, x, w, n, inF, outF) => addon.denseBackward(dx, dw, db, dy, x, w, n, inF, outF, t),
    conv2dForward: (y, x, w, b, g) => addon.conv2dForward(y, x, w, b, convGeomArray(g), t),
    conv2dBackwardData: (dx, dy, w, g) => addon.conv2dBackwardData(dx, dy, w, convGeomArray(g), t),
    conv2dBackwardFilter: (dw, db, dy, x, g) => addon.conv2dBackwardFilter(dw, db, dy, x, convGeomArray(g), t),
    maxPool2dForward: (y, am, x, g) => addon.maxPool2dForward(y, am, x, poolGeomArray(g), t),
    maxPool2dBackward: (dx, dy, am, g) => addon.maxPool2dBackward(dx, dy, am, poolGeomArray(g), t),
    avgPool2dForward: (y, x, g) => addon.avgPool2dForward(y, x, poolGeomArray(g), t),
    avgPool2dBackward: (dx, dy, g) => addon.avgPool2dBackward(dx, dy, poolGeomArray(g), t),
    activationForward: (f, y, x, len) => addon.activationForward(ACTIVATIONS.indexOf(f), y, x, len, t),
    activationBackward: (f, dx, dy, y, len) => addon.activationBackward(ACTIVATIONS.indexOf(f), dx, dy, y, len, t),
    geluForward: (y, x, len) => addon.geluForward(y, x, len, t),
    geluBackward: (dx, dy, x, len) => addon.geluBackward(dx, dy, x, len, t),
    batchNormStats: (mean, variance, x, n, c, hw) => addon.batchNormStats(mean, variance, x, n, c, hw, t),
    batchNormForward: (y, x, mean, invstd, gamma, beta, n, c, hw, act) =>
      addon.batchNormForward(fusedCode(act), act?.slope ?? 0, y, x, mean, invstd, gamma, beta, n, c, hw, t),
    batchNormBackward: (dx, dgamma, dbeta, dy, x, mean, invstd, gamma, n, c, hw, batchStats, fused) => {
      const [code, slope, beta] = [fusedCode(fused?.act), fused?.act.slope ?? 0, fused?.beta ?? null];
      addon.batchNormBackward(
        code,
        slope,
        dx,
        dgamma,
        dbeta,
        dy,
        x,
        mean,
        invstd,
        gamma,
        beta,
        n,
        c,
        hw,
        batchStats,
        t,
      );
    },
    batchNormMaxPoolForward: (y, am, x, mean, invstd, gamma, beta, act, g) =>
      addon.batchNormMaxPoolForward(
        fusedCode(act),
        act?.slope ?? 0,
        y,
        am,
        x,
        mean,
        invstd,
        gamma,
        beta,
        poolGeomArray(g),
        t,
      ),
    batchNormMaxPoolBackward: (dx, dgamma, dbeta, dy, y, am, x, mean, invstd, gamma, beta, act, batchStats, g) => {
      const [code, slope, geom] = [fusedCode(act), act?.slope ?? 0, poolGeomArray(g)];
      addon.batchNormMaxPoolBackward(
        code,
        slope,
        dx,
        dgamma,
        dbeta,
        dy,
        y,
        am,
        x,
        mean,
        invstd,
        gamma,
        beta,
        geom,
        batchStats,
        t,
      );
    },
    maxPoolBatchNormStats: (y, am, mean, variance, x, g) =>
      addon.maxPoolBatchNormStats(y, am, mean, variance, x, poolGeomArray(g), t),
    maxPoolBatchNormBackward: (dx, dgamma, dbeta, dz, dy, x, am, mean, invstd, gamma, beta, act, batchStats, g) => {
      const [code, slope, geom] = [fusedCode(act), act?.slope ?? 0, poolGeomArray(g)];
      addon.maxPoolBatchNormBackward(
        code,
        slope,
        dx,
        dgamma,
        dbeta,
        dz,
        dy,
        x,
        am,
        mean,
        invstd,
        gamma,
        beta,
        geom,
        batchStats,
        t,
      );
    },
    sgdStep: (w, g, v, len, o: SgdStepOptions) =>
      addon.sgdStep(w, g, v, len, o.lr, o.momentum, o.weightDecay, o.nesterov, o.first, t),
  };
}
