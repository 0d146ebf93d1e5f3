import type { PoolGeom } from '../kernels.js';

// Each (sample, channel) plane is pooled on its own; planes are contiguous in NCHW.

export function maxPool2dForward(y: Float32Array, argmax: Int32Array, x: Float32Array, g: PoolGeom): void {
  const { h, w, kh, kw, sh, sw, oh, ow } = g;
  const planes = g.n * g.c;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, o++) {
        let best = base + oy * sh * w + ox * sw;
        let m = x[best];
        for (let ki = 0; ki < kh; ki++) {
          const row = base + (oy * sh + ki) * w + ox * sw;
          for (let kj = 0; kj < kw; kj++) {
            const v = x[row + kj];
            // First maximum in scan order wins ties; NaN propagates, as in PyTorch.
            if (v > m || (v !== v && m === m)) {
              m = v;
              best = row + kj;
            }
          }
        }
        y[o] = m;
        argmax[o] = best;
      }
    }
  }
}

export function maxPool2dBackward(dx: Float32Array, dy: Float32Array, argmax: Int32Array, g: PoolGeom): void {
  dx.fill(0, 0, g.n * g.c * g.h * g.w);
  const len = g.n * g.c * g.oh * g.ow;
  for (let o = 0; o < len; o++) dx[argmax[o]] += dy[o];
}

export function avgPool2dForward(y: Float32Array, x: Float32Array, g: PoolGeom): void {
  const { h, w, kh, kw, sh, sw, oh, ow } = g;
  const planes = g.n * g.c;
  const inv = 1 / (kh * kw);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, o++) {
        let s = 0;
        for (let ki = 0; ki < kh; ki++) {
          const row = base + (oy * sh + ki) * w + ox * sw;
          for (let kj = 0; kj < kw; kj++) s += x[row + kj];
        }
        y[o] = s * inv;
      }
    }
  }
}

export function avgPool2dBackward(dx: Float32Array, dy: Float32Array, g: PoolGeom): void {
  const { h, w, kh, kw, sh, sw, oh, ow } = g;
  dx.fill(0, 0, g.n * g.c * h * w);
  const planes = g.n * g.c;
  const inv = 1 / (kh * kw);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, o++) {
        const d = dy[o] * inv;
        for (let ki = 0; ki < kh; ki++) {
          const row = base + (oy * sh + ki) * w + ox * sw;
          for (let kj = 0; kj < kw; kj++) dx[row + kj] += d;
        }
      }
    }
  }
}
