import type { Activation, ConvGeom, FusedActivation, Kernels, PoolGeom, SgdStepOptions } from '../kernels.js';
import { referenceKernels } from '../reference/index.js';

/** The C++ addon's functions (native/addon.cc), as Node loads them; typed arrays are used in place. */
export interface NativeAddon {
  /** The vector code compiled in (native/simd.h), e.g. avx2-fma. */
  simd: string;
  /** The build variant (binding.gyp): baseline, avx2, avx512. */
  variant: string;
  /** The CPU features that choose a variant, e.g. ['avx2', 'fma'] (x86-64; empty elsewhere). */
  cpu: string[];
  /** The most threads a call takes (4 × the cores). */
  maxThreads: number;
  /**
   * The Winograd tile side (native/winograd.cc: 2 for F(2×2, 3×3), 4 for F(4×4, 3×3)) conv2dForward
   * takes for geometry g (convGeomArray), 0 where it takes the direct kernels.
   */
  conv2dUsesWinograd(g: Int32Array): number;
  /** The same for conv2dBackwardFilter. */
  conv2dFilterUsesWinograd(g: Int32Array): number;
  /** Forces tile side 2 or 4 wherever Winograd is taken, for tests and measurements; 0 restores the choice by shape. */
  setWinogradTile(tile: 0 | 2 | 4): void;
  gemm(
    ta: boolean,
    tb: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    accumulate: boolean,
    threads?: number,
  ): void;
  denseForward(
    y: Float32Array,
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    n: number,
    inF: number,
    outF: number,
    threads: number,
  ): void;
  denseBackward(
    dx: Float32Array | null,
    dw: Float32Array,
    db: Float32Array | null,
    dy: Float32Array,
    x: Float32Array,
    w: Float32Array,
    n: number,
    inF: number,
    outF: number,
    threads: number,
  ): void;
  conv2dForward(
    y: Float32Array,
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    g: Int32Array,
    threads: number,
  ): void;
  conv2dBackwardData(dx: Float32Array, dy: Float32Array, w: Float32Array, g: Int32Array, threads: number): void;
  conv2dBackwardFilter(
    dw: Float32Array,
    db: Float32Array | null,
    dy: Float32Array,
    x: Float32Array,
    g: Int32Array,
    threads: number,
  ): void;
  maxPool2dForward(y: Float32Array, argmax: Int32Array, x: Float32Array, g: Int32Array, threads: number): void;
  maxPool2dBackward(dx: Float32Array, dy: Float32Array, argmax: Int32Array, g: Int32Array, threads: number): void;
  avgPool2dForward(y: Float32Array, x: Float32Array, g: Int32Array, threads: number): void;
  avgPool2dBackward(dx: Float32Array, dy: Float32Array, g: Int32Array, threads: number): void;
  activationForward(kind: number, y: Float32Array, x: Float32Array, len: number, threads: number): void;
  activationBackward(
    kind: number,
    dx: Float32Array,
    dy: Float32Array,
    y: Float32Array,
    len: number,
    threads: number,
  ): void;
  geluForward(y: Float32Array, x: Float32Array, len: number, threads: number): void;
  geluBackward(dx: Float32Array, dy: Float32Array, x: Float32Array, len: number, threads: number): void;
  batchNormStats(
    mean: Float32Array,
    variance: Float32Array,
    x: Float32Array,
    n: number,
    c: number,
    hw: number,
    threads: number,
  ): void;
  /** act: 0 none, else 1 + its index in FUSED (native/kernels.h BnActKind); slope for leaky ReLU. */
  batchNormForward(
    act: number,
    slope: number,
    y: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    invstd: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    n: number,
    c: number,
    hw: number,
    threads: number,
  ): void;
  batchNormBackward(
    act: number,
    slope: number,
    dx: Float32Array | null,
    dgamma: Float32Array | null,
    dbeta: Float32Array | null,
    dy: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    invstd: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    n: number,
    c: number,
    hw: number,
    batchStats: boolean,
    threads: number,
  ): void;
  batchNormMaxPoolForward(
    act: number,
    slope: number,
    y: Float32Array,
    argmax: Int32Array,
    x: Float32Array,
    mean: Float32Array,
    invstd: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    g: Int32Array,
    threads: number,
  ): void;
  batchNormMaxPoolBackward(
    act: number,
    slope: number,
    dx: Float32Array | null,
    dgamma: Float32Array | null,
    dbeta: Float32Array | null,
    dy: Float32Array,
    y: Float32Array,
    argmax: Int32Array,
    x: Float32Array,
    mean: Float32Array,
    invstd: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    g: Int32Array,
    batchStats: boolean,
    threads: number,
  ): void;
  sgdStep(
    w: Float32Array,
    g: Float32Array,
    v: Float32Array | null,
    len: number,
    lr: number,
    momentum: number,
    weightDecay: number,
    nesterov: boolean,
    first: boolean,
    threads: number,
  ): void;
}

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
    sgdStep: (w, g, v, len, o: SgdStepOptions) =>
      addon.sgdStep(w, g, v, len, o.lr, o.momentum, o.weightDecay, o.nesterov, o.first, t),
  };
}
