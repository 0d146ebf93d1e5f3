import { ConfigError } from '../errors.js';
import type { FilterBank } from './bank.js';

export interface LmOptions {
  /** Side of each square filter, in pixels. */
  size?: number;
  /** σ of the narrow axis for each scale; the long axis has σx = elongation·σ. */
  scales?: readonly number[];
  /** Number of filters: 2 (first and second derivative) × scales × orientations. */
  count?: number;
  elongation?: number;
}

export const lmDefaults = { size: 17, scales: [1, Math.SQRT2, 2], count: 36, elongation: 3 } as const;

/**
 * The oriented filters of the Leung–Malik bank (Leung & Malik 2001): first and second
 * derivatives of an elongated Gaussian at each scale and orientation, each made zero-mean and
 * scaled to unit L1 norm. Filters 0 … n−1 are the first derivatives and n … 2n−1 the second
 * (n = scales × orientations); within each half, index = scale·orientations + o. Orientation o
 * has angle θ = π·o/orientations; the derivative is taken along (sin θ, cos θ) in
 * (column, row) pixel offsets, so θ = 0 differentiates down the rows (a horizontal-edge filter).
 */
export function lmBank(o: LmOptions = {}): FilterBank {
  const size = o.size ?? lmDefaults.size;
  const scales = o.scales ?? lmDefaults.scales;
  const count = o.count ?? lmDefaults.count;
  const elong = o.elongation ?? lmDefaults.elongation;
  if (!(Number.isInteger(size) && size >= 1))
    throw new ConfigError(`LM bank: size must be a positive integer, got ${size}`);
  if (scales.length === 0 || !scales.every((s) => s > 0)) {
    throw new ConfigError(`LM bank: scales must be positive numbers, got [${scales.join(', ')}]`);
  }
  const orients = count / (2 * scales.length);
  if (!(Number.isInteger(orients) && orients >= 1)) {
    throw new ConfigError(
      `LM bank: ${count} filters cannot be split into 2 derivatives × ${scales.length} scales × orientations — use a multiple of ${2 * scales.length}`,
    );
  }
  if (!(elong > 0)) throw new ConfigError(`LM bank: elongation must be > 0, got ${elong}`);
  const plane = size * size;
  const data = new Float32Array(count * plane);
  const half = count / 2;
  const c0 = (size - 1) / 2;
  const f = new Float64Array(plane);
  for (let order = 1; order <= 2; order++) {
    scales.forEach((sigma, si) => {
      for (let or = 0; or < orients; or++) {
        const theta = (Math.PI * or) / orients;
        const cs = Math.cos(theta);
        const sn = Math.sin(theta);
        for (let r = 0; r < size; r++) {
          for (let c = 0; c < size; c++) {
            const x = c - c0;
            const y = r - c0;
            const u = cs * x - sn * y; // along the filter's long axis
            const v = sn * x + cs * y; // across it: the derivative direction
            f[r * size + c] = gauss(u, elong * sigma, 0) * gauss(v, sigma, order);
          }
        }
        normalize(f);
        data.set(f, ((order - 1) * half + si * orients + or) * plane);
      }
    });
  }
  return { name: 'lm', count, kh: size, kw: size, data };
}

/** A 1-D Gaussian of std s at x, or its first or second derivative. */
function gauss(x: number, s: number, order: number): number {
  const v = s * s;
  const g = Math.exp(-(x * x) / (2 * v)) / Math.sqrt(2 * Math.PI * v);
  if (order === 0) return g;
  if (order === 1) return (-x / v) * g;
  return ((x * x - v) / (v * v)) * g;
}

/** Zero mean, then unit L1 norm, in place (as the original makeLMfilters does). */
function normalize(f: Float64Array): void {
  let mean = 0;
  for (const v of f) mean += v;
  mean /= f.length;
  let l1 = 0;
  for (let i = 0; i < f.length; i++) {
    f[i] -= mean;
    l1 += Math.abs(f[i]);
  }
  if (l1 > 0) for (let i = 0; i < f.length; i++) f[i] /= l1;
}
