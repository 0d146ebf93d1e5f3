/**
 * Binary cross-entropy of sigmoid outputs a = σ(z) against one-hot targets, computed from the
 * logits z: summed over the classes and averaged over the batch, so that one sample's gradient is
 * the report's output rule dz = a − y. Per value, −[y·log a + (1−y)·log(1−a)] is rewritten as
 * max(z, 0) − z·y + log(1 + e^−|z|), which never overflows. PyTorch equivalent:
 * BCEWithLogitsLoss(reduction='sum')(z, onehot) / n.
 */
export function binaryCrossEntropy(
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
    const label = labels[i];
    for (let j = 0; j < classes; j++) {
      const v = z[o + j];
      const y = j === label ? 1 : 0;
      total += Math.max(v, 0) - v * y + Math.log1p(Math.exp(-Math.abs(v)));
      const a = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
      dz[o + j] = (a - y) * inv;
    }
  }
  return total * inv;
}
