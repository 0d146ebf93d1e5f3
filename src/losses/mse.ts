/**
 * Mean squared error between outputs and one-hot targets, averaged over every value
 * (PyTorch's MSELoss): L = mean (a − y)²; da = 2(a − y) / (n·classes).
 */
export function meanSquaredError(
  da: Float32Array,
  a: Float32Array,
  labels: ArrayLike<number>,
  n: number,
  classes: number,
): number {
  let total = 0;
  const scale = 2 / (n * classes);
  for (let i = 0; i < n; i++) {
    const o = i * classes;
    for (let j = 0; j < classes; j++) {
      const d = a[o + j] - (j === labels[i] ? 1 : 0);
      total += d * d;
      da[o + j] = d * scale;
    }
  }
  return total / (n * classes);
}
