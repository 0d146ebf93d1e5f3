// The native addon's type: the functions native/addon.cc exports, as the kernel set (index.ts) calls them.

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
  /** Whether the three convolution passes take one dense product (native/conv_dense_map.cc) for geometry g. */
  conv2dUsesDenseMap(g: Int32Array): boolean;
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
    dw: Float32Array | null,
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
  maxPoolBatchNormStats(
    y: Float32Array,
    argmax: Int32Array,
    mean: Float32Array,
    variance: Float32Array,
    x: Float32Array,
    g: Int32Array,
    threads: number,
  ): void;
  maxPoolBatchNormBackward(
    act: number,
    slope: number,
    dx: Float32Array | null,
    dgamma: Float32Array | null,
    dbeta: Float32Array | null,
    dz: Float32Array,
    dy: Float32Array,
    x: Float32Array,
    argmax: Int32Array,
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
