// The WebAssembly module's type: the functions native/wasm.cc exports, as the kernel set (index.ts) calls them.

/** What native/wasm.cc exports; array arguments are byte offsets into the module's memory. */
export interface WasmExports {
  /** Exported by the one-thread module; the threaded one imports a shared memory instead. */
  memory?: WebAssembly.Memory;
  stage(bytes: number): number;
  alloc(bytes: number): number;
  zero?(at: number, bytes: number): void;
  gemm(ta: number, tb: number, m: number, n: number, k: number, a: number, b: number, c: number, acc: number): void;
  denseForward(y: number, x: number, w: number, b: number, n: number, inF: number, outF: number): void;
  denseBackward(
    dx: number,
    dw: number,
    db: number,
    dy: number,
    x: number,
    w: number,
    n: number,
    inF: number,
    outF: number,
  ): void;
  conv2dForward(y: number, x: number, w: number, b: number, g: number): void;
  conv2dBackwardData(dx: number, dy: number, w: number, g: number): void;
  conv2dBackwardFilter(dw: number, db: number, dy: number, x: number, g: number): void;
  maxPool2dForward(y: number, argmax: number, x: number, g: number): void;
  maxPool2dBackward(dx: number, dy: number, argmax: number, g: number): void;
  avgPool2dForward(y: number, x: number, g: number): void;
  avgPool2dBackward(dx: number, dy: number, g: number): void;
  reluForward(y: number, x: number, len: number): void;
  activationBackward(kind: number, dx: number, dy: number, y: number, len: number): void;
  geluForward(y: number, x: number, len: number): void;
  geluBackward(dx: number, dy: number, x: number, len: number): void;
  batchNormStats(mean: number, variance: number, x: number, n: number, c: number, hw: number): void;
  /** act and slope as the native addon's (src/kernels/native/index.ts fusedCode). */
  batchNormForward(
    act: number,
    slope: number,
    y: number,
    x: number,
    mean: number,
    invstd: number,
    gamma: number,
    beta: number,
    n: number,
    c: number,
    hw: number,
  ): void;
  batchNormBackward(
    act: number,
    slope: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    dy: number,
    x: number,
    mean: number,
    invstd: number,
    gamma: number,
    beta: number,
    n: number,
    c: number,
    hw: number,
    batchStats: number,
  ): void;
  batchNormMaxPoolForward(
    act: number,
    slope: number,
    y: number,
    argmax: number,
    x: number,
    mean: number,
    invstd: number,
    gamma: number,
    beta: number,
    g: number,
  ): void;
  batchNormMaxPoolBackward(
    act: number,
    slope: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    dy: number,
    y: number,
    argmax: number,
    x: number,
    mean: number,
    invstd: number,
    gamma: number,
    beta: number,
    g: number,
    batchStats: number,
  ): void;
  maxPoolBatchNormStats(y: number, argmax: number, mean: number, variance: number, x: number, g: number): void;
  maxPoolBatchNormBackward(
    act: number,
    slope: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    dz: number,
    dy: number,
    x: number,
    argmax: number,
    mean: number,
    invstd: number,
    gamma: number,
    beta: number,
    g: number,
    batchStats: number,
  ): void;
  sgdStep(
    w: number,
    g: number,
    v: number,
    len: number,
    lr: number,
    mu: number,
    wd: number,
    nesterov: number,
    first: number,
  ): void;
}
