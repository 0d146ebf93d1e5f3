import type { LossKind } from '../losses/index.js';

/** Index of the largest of `classes` scores starting at offset o. */
export function argmax(scores: Float32Array, o: number, classes: number): number {
  let best = 0;
  for (let j = 1; j < classes; j++) if (scores[o + j] > scores[o + best]) best = j;
  return best;
}

/** A classes×classes count matrix, rows = true class, columns = predicted class. */
export function emptyConfusion(classes: number): number[][] {
  return Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
}

/** Adds a batch of predictions (argmax of scores) to a confusion matrix; returns how many were right. */
export function addToConfusion(
  m: number[][] | null,
  scores: Float32Array,
  labels: ArrayLike<number>,
  n: number,
  classes: number,
): number {
  let right = 0;
  for (let i = 0; i < n; i++) {
    const p = argmax(scores, i * classes, classes);
    if (p === labels[i]) right++;
    if (m) m[labels[i]][p]++;
  }
  return right;
}

/** Per-class precision and recall from a confusion matrix (0 where undefined). */
export function precisionRecall(m: number[][]): { precision: number[]; recall: number[] } {
  const k = m.length;
  const precision: number[] = [];
  const recall: number[] = [];
  for (let c = 0; c < k; c++) {
    let col = 0;
    let row = 0;
    for (let j = 0; j < k; j++) {
      col += m[j][c];
      row += m[c][j];
    }
    precision.push(col ? m[c][c] / col : 0);
    recall.push(row ? m[c][c] / row : 0);
  }
  return { precision, recall };
}

/** Scores (logits) as class probabilities, into `out` from `at`: softmax for cross-entropy, sigmoid for bce, as they are for mse. */
export function asProbabilities(
  loss: LossKind,
  z: Float32Array,
  n: number,
  k: number,
  out: Float32Array,
  at: number,
): void {
  if (loss !== 'cross-entropy') {
    for (let i = 0; i < n * k; i++) out[at + i] = loss === 'bce' ? 1 / (1 + Math.exp(-z[i])) : z[i];
    return;
  }
  for (let r = 0; r < n; r++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, z[r * k + c]);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(z[r * k + c] - max);
    for (let c = 0; c < k; c++) out[at + r * k + c] = Math.exp(z[r * k + c] - max) / sum;
  }
}
