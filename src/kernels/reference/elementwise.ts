import type { Activation, SgdStepOptions } from '../kernels.js';

export function activationForward(f: Activation, y: Float32Array, x: Float32Array, len: number): void {
  switch (f) {
    case 'relu':
      for (let i = 0; i < len; i++) y[i] = Math.max(x[i], 0);
      break;
    case 'sigmoid':
      for (let i = 0; i < len; i++) y[i] = sigmoid(x[i]);
      break;
    case 'tanh':
      for (let i = 0; i < len; i++) y[i] = Math.tanh(x[i]);
      break;
  }
}

export function activationBackward(
  f: Activation,
  dx: Float32Array,
  dy: Float32Array,
  y: Float32Array,
  len: number,
): void {
  switch (f) {
    case 'relu':
      for (let i = 0; i < len; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
      break;
    case 'sigmoid':
      for (let i = 0; i < len; i++) dx[i] = dy[i] * y[i] * (1 - y[i]);
      break;
    case 'tanh':
      for (let i = 0; i < len; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
      break;
  }
}

/** σ(x) without overflow: exp is only taken of non-positive numbers. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function softmaxForward(y: Float32Array, x: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[o + j] - m);
      y[o + j] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let j = 0; j < cols; j++) y[o + j] *= inv;
  }
}

export function softmaxBackward(dx: Float32Array, dy: Float32Array, y: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[o + j] * y[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
  }
}

export function mul(y: Float32Array, x: Float32Array, m: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) y[i] = x[i] * m[i];
}

export function sgdStep(
  w: Float32Array,
  g: Float32Array,
  v: Float32Array | null,
  len: number,
  o: SgdStepOptions,
): void {
  const { lr, momentum: mu, weightDecay: wd, nesterov, first } = o;
  if (!v || mu === 0) {
    for (let i = 0; i < len; i++) w[i] -= lr * (g[i] + wd * w[i]);
    return;
  }
  for (let i = 0; i < len; i++) {
    const gi = g[i] + wd * w[i];
    const vi = first ? gi : mu * v[i] + gi;
    v[i] = vi;
    w[i] -= lr * (nesterov ? gi + mu * vi : vi);
  }
}

/** y = a + b elementwise (a residual block's two branches). */
export function add(y: Float32Array, a: Float32Array, b: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) y[i] = a[i] + b[i];
}

/** Leaky ReLU: y = x for x > 0, slope·x otherwise. */
export function leakyReluForward(y: Float32Array, x: Float32Array, slope: number, len: number): void {
  for (let i = 0; i < len; i++) y[i] = x[i] > 0 ? x[i] : slope * x[i];
}

export function leakyReluBackward(
  dx: Float32Array,
  dy: Float32Array,
  x: Float32Array,
  slope: number,
  len: number,
): void {
  for (let i = 0; i < len; i++) dx[i] = x[i] > 0 ? dy[i] : slope * dy[i];
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (PyTorch's approximate='tanh'): ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function geluForward(y: Float32Array, x: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) y[i] = gelu(x[i]);
}

export function gelu(v: number): number {
  return 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)));
}

/** dx = dy·(½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)), t the tanh of the forward pass. */
export function geluBackward(dx: Float32Array, dy: Float32Array, x: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) dx[i] = geluGrad(x[i], dy[i]);
}

export function geluGrad(v: number, dy: number): number {
  const t = Math.tanh(GELU_C * (v + 0.044715 * v * v * v));
  return dy * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * v * v));
}
