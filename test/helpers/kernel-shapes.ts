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
// The report's layers (seed-mnist and seed-cifar conv2 at batch 3) are checked beside random shapes.
export const fixedConvs: ConvGeom[] = [
  { n: 3, c: 8, h: 24, w: 24, k: 8, kh: 5, kw: 5, sh: 1, sw: 1, ph: 0, pw: 0, oh: 20, ow: 20 },
  { n: 1, c: 10, h: 28, w: 28, k: 10, kh: 5, kw: 5, sh: 1, sw: 1, ph: 0, pw: 0, oh: 24, ow: 24 },
];
