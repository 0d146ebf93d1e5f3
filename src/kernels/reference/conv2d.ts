import type { ConvGeom } from '../kernels.js';
import { gemm } from './gemm.js';

// Convolution as im2col + matrix product, one sample at a time: the column matrix of a sample is
// [c·kh·kw, oh·ow], so y = w·col, dw += dy·colᵀ and dcol = wᵀ·dy (then col2im).
let colBuf = new Float32Array(0);

function scratch(g: ConvGeom): Float32Array {
  const need = g.c * g.kh * g.kw * g.oh * g.ow;
  if (colBuf.length < need) colBuf = new Float32Array(need);
  return colBuf;
}

/** Unfolds the input patches of one sample (x at offset xo) into col. */
function im2col(col: Float32Array, x: Float32Array, xo: number, g: ConvGeom): void {
  const { c, h, w, kh, kw, sh, sw, ph, pw, oh, ow } = g;
  let r = 0;
  for (let ci = 0; ci < c; ci++) {
    const plane = xo + ci * h * w;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, r++) {
        const row = r * oh * ow;
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - ph + ki;
          const dst = row + oy * ow;
          if (iy < 0 || iy >= h) {
            col.fill(0, dst, dst + ow);
            continue;
          }
          const src = plane + iy * w;
          for (let ox = 0; ox < ow; ox++) {
            const ix = ox * sw - pw + kj;
            col[dst + ox] = ix >= 0 && ix < w ? x[src + ix] : 0;
          }
        }
      }
    }
  }
}

/** Folds col back, adding overlapping patches, into dx at offset xo (which must start zeroed). */
function col2im(dx: Float32Array, xo: number, col: Float32Array, g: ConvGeom): void {
  const { c, h, w, kh, kw, sh, sw, ph, pw, oh, ow } = g;
  let r = 0;
  for (let ci = 0; ci < c; ci++) {
    const plane = xo + ci * h * w;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, r++) {
        const row = r * oh * ow;
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - ph + ki;
          if (iy < 0 || iy >= h) continue;
          const dst = plane + iy * w;
          const src = row + oy * ow;
          for (let ox = 0; ox < ow; ox++) {
            const ix = ox * sw - pw + kj;
            if (ix >= 0 && ix < w) dx[dst + ix] += col[src + ox];
          }
        }
      }
    }
  }
}

export function conv2dForward(
  y: Float32Array,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
): void {
  const col = scratch(g);
  const ckk = g.c * g.kh * g.kw;
  const ohw = g.oh * g.ow;
  for (let s = 0; s < g.n; s++) {
    im2col(col, x, s * g.c * g.h * g.w, g);
    const ys = y.subarray(s * g.k * ohw, (s + 1) * g.k * ohw);
    gemm(false, false, g.k, ohw, ckk, w, col, ys, false);
    if (b) {
      for (let f = 0; f < g.k; f++) {
        const bf = b[f];
        for (let j = f * ohw, e = j + ohw; j < e; j++) ys[j] += bf;
      }
    }
  }
}

export function conv2dBackwardData(dx: Float32Array, dy: Float32Array, w: Float32Array, g: ConvGeom): void {
  const col = scratch(g);
  const ckk = g.c * g.kh * g.kw;
  const ohw = g.oh * g.ow;
  dx.fill(0, 0, g.n * g.c * g.h * g.w);
  for (let s = 0; s < g.n; s++) {
    const dys = dy.subarray(s * g.k * ohw, (s + 1) * g.k * ohw);
    gemm(true, false, ckk, ohw, g.k, w, dys, col, false);
    col2im(dx, s * g.c * g.h * g.w, col, g);
  }
}

export function conv2dBackwardFilter(
  dw: Float32Array | null,
  db: Float32Array | null,
  dy: Float32Array,
  x: Float32Array,
  g: ConvGeom,
): void {
  const col = scratch(g);
  const ckk = g.c * g.kh * g.kw;
  const ohw = g.oh * g.ow;
  for (let s = 0; s < g.n; s++) {
    const dys = dy.subarray(s * g.k * ohw, (s + 1) * g.k * ohw);
    if (dw) {
      im2col(col, x, s * g.c * g.h * g.w, g);
      gemm(false, true, g.k, ckk, ohw, dys, col, dw, true);
    }
    if (db) {
      for (let f = 0; f < g.k; f++) {
        let sum = 0;
        for (let j = f * ohw, e = j + ohw; j < e; j++) sum += dys[j];
        db[f] += sum;
      }
    }
  }
}
