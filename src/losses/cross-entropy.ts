/**
 * Softmax cross-entropy on logits z, mean over the batch (PyTorch's CrossEntropyLoss):
 * L = mean_i (logsumexp(z_i) − z_i[y_i]); dz = (softmax(z) − onehot(y)) / n.
 * Subtracting the row maximum keeps exp from overflowing.
 */
export function softmaxCrossEntropy(
  dz: Float32Array,
  z: Float32Array,
  labels: ArrayLike<number>,
  n: number,
  classes: number,
): number {
  let total = 0;
  const inv = 1 / n;
  for (let i = 0; i < n; i++) {
    const o = i * classes;
    let m = -Infinity;
    for (let j = 0; j < classes; j++) if (z[o + j] > m) m = z[o + j];
    let s = 0;
    for (let j = 0; j < classes; j++) s += Math.exp(z[o + j] - m);
    const lse = m + Math.log(s);
    const y = labels[i];
    total += lse - z[o + y];
    for (let j = 0; j < classes; j++) {
      dz[o + j] = (Math.exp(z[o + j] - lse) - (j === y ? 1 : 0)) * inv;
    }
  }
  return total * inv;
}
