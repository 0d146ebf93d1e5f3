// Random shapes for comparing a fast kernel set with the reference, browser-safe (no Node import), so
// that the same draws run under node:test (kernel-check.ts) and inside Chromium (kernel-compare.ts).
import type { ConvGeom, PoolGeom, Rng } from '../../src/core.js';

/** Largest |a − b| over the largest |b|: the relative error every fast kernel must keep ≤ 1e-5. */
export const TOL = 1e-5;

export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

export const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r.uniform() * (hi - lo + 1));
export const randn = (r: Rng, len: number) => Float32Array.from({ length: len }, () => r.uniform() * 2 - 1);

export function randomConv(r: Rng): ConvGeom {
  for (;;) {
    const g = {
      n: int(r, 1, 4),
      c: int(r, 1, 6),
      h: int(r, 1, 17),
      w: int(r, 1, 17),
      k: int(r, 1, 12),
      kh: int(r, 1, 5),
      kw: int(r, 1, 5),
      sh: int(r, 1, 3),
      sw: int(r, 1, 3),
      ph: int(r, 0, 2),
      pw: int(r, 0, 2),
      oh: 0,
      ow: 0,
    };
    g.oh = Math.floor((g.h + 2 * g.ph - g.kh) / g.sh) + 1;
    g.ow = Math.floor((g.w + 2 * g.pw - g.kw) / g.sw) + 1;
    if (g.oh >= 1 && g.ow >= 1) return g;
  }
}

export function randomPool(r: Rng): PoolGeom {
  for (;;) {
    const g = {
      n: int(r, 1, 4),
      c: int(r, 1, 6),
      h: int(r, 1, 15),
      w: int(r, 1, 15),
      kh: int(r, 1, 4),
      kw: int(r, 1, 4),
      sh: int(r, 1, 3),
      sw: int(r, 1, 3),
      oh: 0,
      ow: 0,
    };
    g.oh = Math.floor((g.h - g.kh) / g.sh) + 1;
    g.ow = Math.floor((g.w - g.kw) / g.sw) + 1;
    if (g.oh >= 1 && g.ow >= 1) return g;
  }
}

export const geomStr = (g: object) => JSON.stringify(g);
const conv = (n: number, c: number, h: number, w: number, k: number, kh: number, kw: number, p: number) => ({
  ...{ n, c, h, w, k, kh, kw, sh: 1, sw: 1, ph: p, pw: p },
  ...{ oh: h + 2 * p - kh + 1, ow: w + 2 * p - kw + 1 },
});
// The report's layers (seed-mnist and seed-cifar conv2 at batch 3) and layers of the wide CIFAR nets
// (≥ 32 output or input channels: the channel-vector kernels, a channel count that is not a whole
// number of vectors, a first layer of 3 channels, 1×1 and 5×5, maps of 8×8 down to 1×1) are checked
// beside random shapes.
export const fixedConvs: ConvGeom[] = [
  conv(3, 8, 24, 24, 8, 5, 5, 0),
  conv(1, 10, 28, 28, 10, 5, 5, 0),
  conv(2, 3, 12, 10, 32, 3, 3, 1),
  conv(3, 16, 8, 8, 40, 3, 3, 1),
  conv(2, 36, 6, 7, 20, 3, 3, 1),
  conv(2, 64, 5, 5, 64, 1, 1, 0),
  conv(7, 8, 4, 4, 32, 3, 3, 1),
  conv(1, 8, 32, 30, 32, 3, 3, 1),
  conv(1, 4, 9, 9, 33, 5, 5, 2),
  conv(5, 32, 1, 1, 48, 3, 3, 1),
  // Output rows taken a vector at a time (native/conv_wide.cc "grouped"): 16-wide rows on every build, and
  // 13-wide rows (lanes past the row dropped) of a map much taller than wide.
  conv(2, 3, 14, 14, 6, 3, 3, 2),
  conv(2, 2, 34, 17, 3, 5, 5, 0),
  // convts-cifar's first layer (2×2, no padding), batch 8: enough work for two threads.
  conv(8, 3, 32, 32, 24, 2, 2, 0),
  // Rows that reach the zero padding take only the taps of real rows (conv_wide.cc, rows of whole
  // micro-tiles): a map shorter than the kernel, so every output row has taps of its own.
  conv(2, 3, 3, 8, 4, 5, 5, 2),
];
// 3×3 stride-1 layers big enough for the native Winograd path (native/winograd.cc: ≥ 4096 output
// pixels a call, ≥ 16 channels each side and ≥ 64 together), at the same tolerance TOL as every kernel,
// with what its tiles must get right at the edges: batch 1, sizes that are not multiples of the tile
// (a last 4×4 tile 1, 2 or 3 rows or columns inside the map), padding 1 and 0 (and 2 in the
// backward-data of padding 0), channel counts that are not whole vectors, maps wider than a vector of
// tiles. The first four, 7×7 and 13×14 take 4×4 tiles (7×7: two samples of 2×2 tiles a vector of 8,
// the batch being even; 13×14: four rows of tiles a vector on AVX-512, two on AVX2); 5×5 and 10×9
// maps take 2×2 tiles. The transposed geometry of each
// backward-data takes the path too.
export const winogradConvs: ConvGeom[] = [
  conv(1, 20, 67, 65, 44, 3, 3, 1),
  conv(3, 19, 40, 41, 45, 3, 3, 0),
  conv(16, 33, 16, 17, 31, 3, 3, 1),
  conv(1, 24, 71, 66, 40, 3, 3, 0),
  conv(90, 24, 7, 7, 40, 3, 3, 1),
  conv(24, 24, 13, 14, 40, 3, 3, 1),
  conv(200, 16, 5, 5, 48, 3, 3, 1),
  conv(48, 20, 10, 9, 44, 3, 3, 1),
];
// Stride-1 layers on maps no bigger than the kernel, batches large enough for the dense product
// (native/conv_dense_map.cc): 3×3 maps 'same', padding 0 with h = kh (one output pixel), 2×2 and 1×1
// maps, a 2×3 map, a 5×5 kernel on a 3×3 map; channel counts that are not whole vectors.
export const denseMapConvs: ConvGeom[] = [
  conv(320, 19, 3, 3, 21, 3, 3, 1),
  conv(333, 13, 3, 3, 10, 3, 3, 0),
  conv(40, 17, 2, 2, 23, 3, 3, 1),
  conv(9, 33, 1, 1, 35, 3, 3, 1),
  conv(7, 5, 1, 1, 6, 3, 3, 1),
  conv(96, 6, 2, 3, 7, 3, 3, 1),
  conv(30, 7, 3, 3, 9, 5, 5, 2),
  conv(321, 3, 3, 3, 5, 3, 3, 1),
];
/** The Winograd tile side (native/winograd.cc) each of winogradConvs takes, forward and weight gradient. */
export const winogradTiles = [4, 4, 4, 4, 4, 4, 2, 2];
/**
 * The weight gradient's tiles for kernels compiled with `simd` (the addon's simd name): those of the
 * forward, but 8-lane kernels (AVX) take 2×2 where 4×4 tiles' products are over 0.6 of 2×2 tiles' (16×17
 * maps: 0.63, 13×14: 0.73).
 */
export function winogradGradTiles(simd: string): number[] {
  return /^avx(?!512)/.test(simd) ? [4, 4, 2, 4, 4, 2, 2, 2] : winogradTiles;
}
