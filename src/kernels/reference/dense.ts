import { gemm } from './gemm.js';

/** y = x·wᵀ + b; x is n×inF, w is outF×inF. */
export function denseForward(
  y: Float32Array,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  n: number,
  inF: number,
  outF: number,
): void {
  gemm(false, true, n, outF, inF, x, w, y, false);
  if (b) {
    for (let i = 0; i < n; i++) {
      const yi = i * outF;
      for (let j = 0; j < outF; j++) y[yi + j] += b[j];
    }
  }
}

/** dx = dy·w; dw += dyᵀ·x; db += Σ_rows dy. */
export function denseBackward(
  dx: Float32Array | null,
  dw: Float32Array,
  db: Float32Array | null,
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  n: number,
  inF: number,
  outF: number,
): void {
  if (dx) gemm(false, false, n, inF, outF, dy, w, dx, false);
  gemm(true, false, outF, inF, n, dy, x, dw, true);
  if (db) {
    for (let i = 0; i < n; i++) {
      const di = i * outF;
      for (let j = 0; j < outF; j++) db[j] += dy[di + j];
    }
  }
}
