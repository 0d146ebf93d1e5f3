/**
 * The heavy numerics behind one interface. Layers call these and never loop over pixels, so a
 * faster implementation (WebAssembly SIMD, native, threads) swaps in without touching a layer.
 * All arrays are flat, row-major, float32; images are NCHW.
 */

/** Geometry of a 2-D convolution over a batch. Weights are [k, c, kh, kw] as in PyTorch. */
export interface ConvGeom {
  n: number; // batch
  c: number; // input channels
  h: number;
  w: number;
  k: number; // output channels (filters)
  kh: number;
  kw: number;
  sh: number; // stride
  sw: number;
  ph: number; // zero padding on each side
  pw: number;
  oh: number; // output size: floor((h + 2ph - kh) / sh) + 1
  ow: number;
}

/** Geometry of a 2-D pooling window over a batch (no padding). */
export interface PoolGeom {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  oh: number; // floor((h - kh) / sh) + 1
  ow: number;
}

export type Activation = 'relu' | 'sigmoid' | 'tanh';

/**
 * An activation that batch norm applies in its own kernel (batchNormForward's `act`): ReLU, leaky ReLU
 * with its slope, or GELU (tanh approximation). Each gives the values the activation's own kernel
 * would give on the batch norm's output, bit for bit on every kernel set.
 */
export interface FusedActivation {
  f: 'relu' | 'leaky-relu' | 'gelu';
  /** Leaky ReLU's slope for negative inputs (unused by the others). */
  slope: number;
}

export interface Kernels {
  readonly name: string;
  /** Threads the set runs its kernels on (absent: one). */
  readonly threads?: number;
  /**
   * A zeroed array in the set's own memory, which its calls then use in place instead of copying it in
   * and out (the threaded WebAssembly kernels); absent, layers use plain arrays. A view of such an array
   * (subarray) must not outlive it: its memory is reused once it is collected.
   */
  allocF32?(length: number): Float32Array;
  /** The same for integers (max pooling's argmax). */
  allocI32?(length: number): Int32Array;
  /** Sets an array to zeros; for arrays in the set's own memory, faster than fill(0) there (absent: fill). */
  zero?(a: Float32Array): void;

  /** c = op(a)·op(b) (+ c when accumulate); op(a) is m×k, op(b) is k×n; ta/tb read a/b transposed. */
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
  ): void;

  /** y[n, outF] = x[n, inF]·wᵀ + b, with w stored [outF, inF] as in PyTorch. */
  denseForward(
    y: Float32Array,
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    n: number,
    inF: number,
    outF: number,
  ): void;
  /** dx = dy·w (skipped when dx is null); dw += dyᵀ·x; db += column sums of dy. */
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
  ): void;

  /** y = conv(x, w) + b (cross-correlation, as in PyTorch). */
  conv2dForward(y: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array | null, g: ConvGeom): void;
  /** dx = gradient of the input (overwritten). */
  conv2dBackwardData(dx: Float32Array, dy: Float32Array, w: Float32Array, g: ConvGeom): void;
  /** dw += gradient of the weights; db += gradient of the bias. dw null (a frozen weight): db alone. */
  conv2dBackwardFilter(
    dw: Float32Array | null,
    db: Float32Array | null,
    dy: Float32Array,
    x: Float32Array,
    g: ConvGeom,
  ): void;

  /** Max pooling; argmax keeps, for each output, the flat index into x of the winning input. */
  maxPool2dForward(y: Float32Array, argmax: Int32Array, x: Float32Array, g: PoolGeom): void;
  /** dx (overwritten) receives dy at the argmax positions. */
  maxPool2dBackward(dx: Float32Array, dy: Float32Array, argmax: Int32Array, g: PoolGeom): void;
  avgPool2dForward(y: Float32Array, x: Float32Array, g: PoolGeom): void;
  avgPool2dBackward(dx: Float32Array, dy: Float32Array, g: PoolGeom): void;

  /** y = f(x) elementwise over the first `len` values. */
  activationForward(f: Activation, y: Float32Array, x: Float32Array, len: number): void;
  /** dx = dy·f'(x), written from the forward output y (relu: y > 0, sigmoid: y(1−y), tanh: 1−y²). */
  activationBackward(f: Activation, dx: Float32Array, dy: Float32Array, y: Float32Array, len: number): void;

  /** Row-wise softmax of a rows×cols matrix, stable for any input size. */
  softmaxForward(y: Float32Array, x: Float32Array, rows: number, cols: number): void;
  /** dx = y ⊙ (dy − Σ dy·y) per row. */
  softmaxBackward(dx: Float32Array, dy: Float32Array, y: Float32Array, rows: number, cols: number): void;

  /** y = x ⊙ m elementwise (dropout applies and back-propagates its mask with this). */
  mul(y: Float32Array, x: Float32Array, m: Float32Array, len: number): void;
  /** y = a + b elementwise (the two branches of a residual block). */
  add(y: Float32Array, a: Float32Array, b: Float32Array, len: number): void;

  /** Leaky ReLU and its gradient, read from the input x. */
  leakyReluForward(y: Float32Array, x: Float32Array, slope: number, len: number): void;
  leakyReluBackward(dx: Float32Array, dy: Float32Array, x: Float32Array, slope: number, len: number): void;
  /** GELU with the tanh approximation, and its gradient read from the input x. */
  geluForward(y: Float32Array, x: Float32Array, len: number): void;
  geluBackward(dx: Float32Array, dy: Float32Array, x: Float32Array, len: number): void;

  /** Per-channel mean and biased variance of x[n, c, hw]. */
  batchNormStats(mean: Float32Array, variance: Float32Array, x: Float32Array, n: number, c: number, hw: number): void;
  /**
   * y = (x − mean)·invstd·γ + β per channel of x[n, c, hw]; γ, β null when the layer is not affine.
   * With `act`, y = act(z) of that z in the same pass; z is not kept (the backward computes it again).
   */
  batchNormForward(
    y: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    invstd: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    n: number,
    c: number,
    hw: number,
    act?: FusedActivation | null,
  ): void;
  /**
   * dγ += Σ dy·x̂, dβ += Σ dy; dx (overwritten, skipped when null) through the batch statistics when
   * `batchStats`, else through fixed (running) ones. With `fused` (the forward's activation, and β),
   * dy is the activation's output gradient: dz = dy·act'(z) first, z computed again from x and held
   * in dx on the way, which must not be null then.
   */
  batchNormBackward(
    dx: Float32Array | null,
    dgamma: Float32Array | null,
    dbeta: Float32Array | null,
    dy: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    invstd: Float32Array,
    gamma: Float32Array | null,
    n: number,
    c: number,
    hw: number,
    batchStats: boolean,
    fused?: { act: FusedActivation; beta: Float32Array | null } | null,
  ): void;

  /**
   * batchNormForward with `act` (or none) and then maxPool2dForward over its output, in one pass: y and
   * argmax are the pool's (argmax indexes the [n, c, h, w] batch-norm output, which is not written); g is
   * the pool's geometry, its n·c·h·w the batch norm's input.
   */
  batchNormMaxPoolForward(
    y: Float32Array,
    argmax: Int32Array,
    x: Float32Array,
    mean: Float32Array,
    invstd: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    act: FusedActivation | null,
    g: PoolGeom,
  ): void;
  /**
   * Backward of batchNormMaxPoolForward: maxPool2dBackward of the pooled gradient dy, then
   * batchNormBackward (with the activation), without the full-size gradient between them; dx may be null.
   * y and argmax are the forward's: ReLU's gradient is read from y (as activationBackward reads it), and
   * each argmax must lie in its own plane.
   */
  batchNormMaxPoolBackward(
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
    act: FusedActivation | null,
    batchStats: boolean,
    g: PoolGeom,
  ): void;

  /**
   * maxPool2dForward, then batchNormStats of its output y (the batch norm after the pool, in training):
   * the same y, argmax, mean and variance; the pool's forward takes the statistics' first pass.
   */
  maxPoolBatchNormStats(
    y: Float32Array,
    argmax: Int32Array,
    mean: Float32Array,
    variance: Float32Array,
    x: Float32Array,
    g: PoolGeom,
  ): void;
  /**
   * batchNormBackward (with the activation) of the pooled gradient dy, then maxPool2dBackward of its dx into
   * `dx` (the pool's input gradient; skipped when null), without the pooled dx between them. x is the pool's
   * output (the batch norm's input), dz a scratch array of its size (left unspecified), argmax the pool's
   * (each in its own plane).
   */
  maxPoolBatchNormBackward(
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
    act: FusedActivation | null,
    batchStats: boolean,
    g: PoolGeom,
  ): void;

  /**
   * One SGD update of a parameter, as torch.optim.SGD (dampening 0): g' = g + wd·w; with momentum μ,
   * v = μ·v + g' (v = g' when `first`) and the step is v, or g' + μ·v for Nesterov; w −= lr·step.
   * v is null when μ = 0. At batch 1 this touches every weight once per sample, so it is a kernel too.
   */
  sgdStep(w: Float32Array, g: Float32Array, v: Float32Array | null, len: number, o: SgdStepOptions): void;
}

export interface SgdStepOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
  /** The first step of a run: the velocity starts as the gradient. */
  first: boolean;
}
