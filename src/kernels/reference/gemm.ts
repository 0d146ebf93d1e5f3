/**
 * Plain matrix product, row-major: c = op(a)·op(b) (+ c). op(a) is m×k, op(b) is k×n.
 * Loop orders keep the innermost loop on contiguous memory for each transpose case, and the
 * row-times-matrix loops take four rows of b per pass so that each c value is loaded and stored
 * once per four multiply-adds.
 */
export function gemm(
  ta: boolean,
  tb: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  accumulate: boolean,
): void {
  if (!accumulate) c.fill(0, 0, m * n);
  if (!tb) {
    // c[i,:] += Σ_p op(a)[i,p] · b[p,:]
    const as = ta ? 1 : k; // stride between rows of op(a) …
    const ap = ta ? m : 1; // … and between its columns
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      const ai = i * as;
      let p = 0;
      for (; p + 4 <= k; p += 4) {
        const a0 = a[ai + p * ap];
        const a1 = a[ai + (p + 1) * ap];
        const a2 = a[ai + (p + 2) * ap];
        const a3 = a[ai + (p + 3) * ap];
        const b0 = p * n;
        const b1 = b0 + n;
        const b2 = b1 + n;
        const b3 = b2 + n;
        for (let j = 0; j < n; j++) {
          c[ci + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
        }
      }
      for (; p < k; p++) {
        const a0 = a[ai + p * ap];
        const b0 = p * n;
        for (let j = 0; j < n; j++) c[ci + j] += a0 * b[b0 + j];
      }
    }
  } else if (!ta) {
    // c[i,j] += a[i,:] · b[j,:], both rows contiguous
    for (let i = 0; i < m; i++) {
      const ai = i * k;
      for (let j = 0; j < n; j++) c[i * n + j] += dot(a, ai, b, j * k, k);
    }
  } else {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[p * m + i] * b[j * k + p];
        c[i * n + j] += s;
      }
    }
  }
}

/** Σ a[ao+p]·b[bo+p] over p < k, four partial sums. */
function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, k: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let p = 0;
  for (; p + 4 <= k; p += 4) {
    s0 += a[ao + p] * b[bo + p];
    s1 += a[ao + p + 1] * b[bo + p + 1];
    s2 += a[ao + p + 2] * b[bo + p + 2];
    s3 += a[ao + p + 3] * b[bo + p + 3];
  }
  for (; p < k; p++) s0 += a[ao + p] * b[bo + p];
  return s0 + s1 + s2 + s3;
}
