// Batch normalization over x[n, c, hw] (hw = 1 for feature vectors), per channel c.
import type { FusedActivation, PoolGeom } from '../kernels.js';
import { gelu, geluGrad } from './elementwise.js';
import { maxPool2dForward } from './pool2d.js';

/** mean[c] and the biased variance var[c] of x over the batch and the spatial positions. */
export function batchNormStats(
  mean: Float32Array,
  variance: Float32Array,
  x: Float32Array,
  n: number,
  c: number,
  hw: number,
): void {
  const count = n * hw;
  for (let ch = 0; ch < c; ch++) {
    // Two passes in float64: the one-pass E[x²] − E[x]² loses everything when the mean is large.
    let s = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) s += x[o + i];
    }
    const m = s / count;
    let q = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const d = x[o + i] - m;
        q += d * d;
      }
    }
    mean[ch] = m;
    variance[ch] = q / count;
  }
}

/**
 * y = (x − mean)·invstd·γ + β per channel; γ = 1 and β = 0 when null (affine off). With `act`, y is
 * act(z) of that z rounded to float32, as the activation's own kernel would read it.
 */
export function batchNormForward(
  y: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  invstd: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  n: number,
  c: number,
  hw: number,
  act: FusedActivation | null = null,
): void {
  const f = activate(act);
  for (let ch = 0; ch < c; ch++) {
    const [a, shift] = scaleShift(ch, mean, invstd, gamma, beta);
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      if (!f) for (let i = 0; i < hw; i++) y[o + i] = x[o + i] * a + shift;
      else for (let i = 0; i < hw; i++) y[o + i] = f(Math.fround(x[o + i] * a + shift));
    }
  }
}

/** The forward's per-channel scale invstd·γ and shift β − mean·scale. */
function scaleShift(
  ch: number,
  mean: Float32Array,
  invstd: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
): [number, number] {
  const a = invstd[ch] * (gamma ? gamma[ch] : 1);
  return [a, (beta ? beta[ch] : 0) - mean[ch] * a];
}

/** f(z) as the activation's own kernel computes it (ReLU from its input: max(z, 0) > 0 exactly when z > 0). */
function activate(act: FusedActivation | null): ((z: number) => number) | null {
  if (!act) return null;
  const slope = act.slope;
  if (act.f === 'relu') return (z) => Math.max(z, 0);
  if (act.f === 'leaky-relu') return (z) => (z > 0 ? z : slope * z);
  return gelu;
}

/** dy·f'(z), as the activation's own backward kernel. */
function activateGrad(act: FusedActivation): (z: number, dy: number) => number {
  const slope = act.slope;
  if (act.f === 'relu') return (z, dy) => (z > 0 ? dy : 0);
  if (act.f === 'leaky-relu') return (z, dy) => (z > 0 ? dy : slope * dy);
  return geluGrad;
}

/**
 * Backward of batchNormForward: dγ += Σ dy·x̂ and dβ += Σ dy (x̂ = (x − mean)·invstd); dx is
 * overwritten. With batch statistics the mean and variance depend on x too:
 * dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)); with running statistics dx = γ·invstd·dy.
 * With `fused`, per channel dz = dy·f'(z) goes to dx first (z computed again as the forward did) and
 * the steps above read it from there.
 */
export function batchNormBackward(
  dx: Float32Array | null,
  dgamma: Float32Array | null,
  dbeta: Float32Array | null,
  dy: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  invstd: Float32Array,
  gamma: Float32Array | null,
  n: number,
  c: number,
  hw: number,
  batchStats: boolean,
  fused: { act: FusedActivation; beta: Float32Array | null } | null = null,
): void {
  const count = n * hw;
  const g = fused && activateGrad(fused.act);
  if (g && !dx)
    throw new TypeError("batchNormBackward: dx cannot be null with an activation (it holds the activation's gradient)");
  for (let ch = 0; ch < c; ch++) {
    if (g && dx) {
      const [a, shift] = scaleShift(ch, mean, invstd, gamma, fused.beta);
      for (let b = 0; b < n; b++) {
        const o = (b * c + ch) * hw;
        for (let i = 0; i < hw; i++) dx[o + i] = g(Math.fround(x[o + i] * a + shift), dy[o + i]);
      }
    }
    const d = g ? dx! : dy;
    const m = mean[ch];
    const is = invstd[ch];
    let sdy = 0;
    let sdyx = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        sdy += d[o + i];
        sdyx += d[o + i] * (x[o + i] - m);
      }
    }
    sdyx *= is;
    if (dgamma) dgamma[ch] += sdyx;
    if (dbeta) dbeta[ch] += sdy;
    if (!dx) continue;
    const a = is * (gamma ? gamma[ch] : 1);
    const mdy = batchStats ? sdy / count : 0;
    const k = batchStats ? (sdyx / count) * is : 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) dx[o + i] = a * (d[o + i] - mdy - (x[o + i] - m) * k);
    }
  }
}

/** Channel ch of a per-channel array, as an array of one (null stays null). */
const one = <T extends Float32Array | null>(a: T, ch: number): T => (a ? a.subarray(ch, ch + 1) : a) as T;

/**
 * batchNormForward, then maxPool2dForward of its output, a plane at a time through a plane-sized array:
 * the two kernels' values without the full-size output.
 */
export function batchNormMaxPoolForward(
  y: Float32Array,
  argmax: Int32Array,
  x: Float32Array,
  mean: Float32Array,
  invstd: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  act: FusedActivation | null,
  g: PoolGeom,
): void {
  const [hw, ohw] = [g.h * g.w, g.oh * g.ow];
  const z = new Float32Array(hw);
  for (let p = 0; p < g.n * g.c; p++) {
    const ch = p % g.c;
    const xp = x.subarray(p * hw, (p + 1) * hw);
    batchNormForward(z, xp, one(mean, ch), one(invstd, ch), one(gamma, ch), one(beta, ch), 1, 1, hw, act);
    const am = argmax.subarray(p * ohw, (p + 1) * ohw);
    maxPool2dForward(y.subarray(p * ohw, (p + 1) * ohw), am, z, { ...g, n: 1, c: 1 });
    for (let i = 0; i < ohw; i++) am[i] += p * hw;
  }
}

/**
 * maxPool2dBackward of the pooled gradient dy, then batchNormBackward (through the activation), a
 * channel at a time: each channel's gradient is gathered into a channel-sized array, so the full-size
 * gradient between the two is never written. ReLU's gradient is read from the pooled output y.
 */
export function batchNormMaxPoolBackward(
  dx: Float32Array | null,
  dgamma: Float32Array | null,
  dbeta: Float32Array | null,
  dy: Float32Array,
  y: Float32Array,
  argmax: Int32Array,
  x: Float32Array,
  mean: Float32Array,
  invstd: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  act: FusedActivation | null,
  batchStats: boolean,
  g: PoolGeom,
): void {
  const { n, c } = g;
  const [hw, ohw] = [g.h * g.w, g.oh * g.ow];
  const [d, xc, dxc] = [new Float32Array(n * hw), new Float32Array(n * hw), new Float32Array(n * hw)];
  const relu = act?.f === 'relu';
  for (let ch = 0; ch < c; ch++) {
    d.fill(0);
    for (let b = 0; b < n; b++) {
      const p = b * c + ch;
      xc.set(x.subarray(p * hw, (p + 1) * hw), b * hw);
      // ReLU's gradient read from the pooled output, where its output is positive exactly where z is.
      for (let o = p * ohw; o < (p + 1) * ohw; o++) d[argmax[o] - p * hw + b * hw] += relu && !(y[o] > 0) ? 0 : dy[o];
    }
    const fused = act && !relu ? { act, beta: one(beta, ch) } : null;
    const [m, is, gm] = [one(mean, ch), one(invstd, ch), one(gamma, ch)];
    batchNormBackward(
      dx || act ? dxc : null,
      one(dgamma, ch),
      one(dbeta, ch),
      d,
      xc,
      m,
      is,
      gm,
      n,
      1,
      hw,
      batchStats,
      fused,
    );
    if (dx) for (let b = 0; b < n; b++) dx.set(dxc.subarray(b * hw, (b + 1) * hw), (b * c + ch) * hw);
  }
}
