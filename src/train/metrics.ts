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
