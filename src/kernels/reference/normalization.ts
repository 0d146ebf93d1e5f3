// Batch normalization over x[n, c, hw] (hw = 1 for feature vectors), per channel c.

/** mean[c] and the biased variance var[c] of x over the batch and the spatial positions. */
export function batchNormStats(
  mean: Float32Array,
  variance: Float32Array,
  x: Float32Array,
  n: number,
  c: number,
  hw: number,
): void {
  const count = n * hw;
  for (let ch = 0; ch < c; ch++) {
    // Two passes in float64: the one-pass E[x²] − E[x]² loses everything when the mean is large.
    let s = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) s += x[o + i];
    }
    const m = s / count;
    let q = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const d = x[o + i] - m;
        q += d * d;
      }
    }
    mean[ch] = m;
    variance[ch] = q / count;
  }
}

/** y = (x − mean)·invstd·γ + β per channel; γ = 1 and β = 0 when null (affine off). */
export function batchNormForward(
  y: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  invstd: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  n: number,
  c: number,
  hw: number,
): void {
  for (let ch = 0; ch < c; ch++) {
    const a = invstd[ch] * (gamma ? gamma[ch] : 1);
    const shift = (beta ? beta[ch] : 0) - mean[ch] * a;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) y[o + i] = x[o + i] * a + shift;
    }
  }
}

/**
 * Backward of batchNormForward: dγ += Σ dy·x̂ and dβ += Σ dy (x̂ = (x − mean)·invstd); dx is
 * overwritten. With batch statistics the mean and variance depend on x too:
 * dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)); with running statistics dx = γ·invstd·dy.
 */
export function batchNormBackward(
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
): void {
  const count = n * hw;
  for (let ch = 0; ch < c; ch++) {
    const m = mean[ch];
    const is = invstd[ch];
    let sdy = 0;
    let sdyx = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        sdy += dy[o + i];
        sdyx += dy[o + i] * (x[o + i] - m);
      }
    }
    sdyx *= is;
    if (dgamma) dgamma[ch] += sdyx;
    if (dbeta) dbeta[ch] += sdy;
    if (!dx) continue;
    const a = is * (gamma ? gamma[ch] : 1);
    const mdy = batchStats ? sdy / count : 0;
    const k = batchStats ? (sdyx / count) * is : 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) dx[o + i] = a * (dy[o + i] - mdy - (x[o + i] - m) * k);
    }
  }
}
