/**
 * Softmax cross-entropy on logits z, mean over the batch (PyTorch's CrossEntropyLoss):
 * L = mean_i (logsumexp(z_i) − Σ_j t_ij·z_ij), dz = (softmax(z) − t) / n, with targets
 * t = (1 − ε)·onehot(y) + ε/classes (ε = `smoothing`, PyTorch's label_smoothing; 0 by default).
 * Subtracting the row maximum keeps exp from overflowing.
 */
export function softmaxCrossEntropy(
  dz: Float32Array,
  z: Float32Array,
  labels: ArrayLike<number>,
  n: number,
  classes: number,
  smoothing = 0,
): number {
  let total = 0;
  const inv = 1 / n;
  const off = smoothing / classes;
  const on = 1 - smoothing + off;
  for (let i = 0; i < n; i++) {
    const o = i * classes;
    let m = -Infinity;
    for (let j = 0; j < classes; j++) if (z[o + j] > m) m = z[o + j];
    let s = 0;
    let zsum = 0;
    for (let j = 0; j < classes; j++) {
      s += Math.exp(z[o + j] - m);
      zsum += z[o + j];
    }
    const lse = m + Math.log(s);
    const y = labels[i];
    total += smoothing === 0 ? lse - z[o + y] : lse - (1 - smoothing) * z[o + y] - off * zsum;
    for (let j = 0; j < classes; j++) {
      dz[o + j] = (Math.exp(z[o + j] - lse) - (j === y ? on : off)) * inv;
    }
  }
  return total * inv;
}
