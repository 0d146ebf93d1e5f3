/** A rectangle of a picture in whole pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Resizes the `crop` of c planes of h×w values to c planes of outH×outW: the one resampling rule
 * of every picture convts reads. Each axis separately: shrinking averages the source span each
 * output pixel covers (partial pixels weighted by their overlap, so nothing aliases), enlarging
 * interpolates linearly between pixel centres, and the same size copies the pixels exactly.
 */
export function resample(
  src: ArrayLike<number>,
  c: number,
  h: number,
  w: number,
  crop: Rect,
  outH: number,
  outW: number,
): Float64Array {
  const tx = taps(crop.x, crop.width, outW);
  const ty = taps(crop.y, crop.height, outH);
  const rows = new Float64Array(crop.height * outW); // one plane resized along x
  const out = new Float64Array(c * outH * outW);
  for (let ch = 0; ch < c; ch++) {
    const plane = ch * h * w;
    for (let y = 0; y < crop.height; y++) {
      const row = plane + (crop.y + y) * w;
      for (let j = 0; j < outW; j++) {
        let s = 0;
        for (let t = j * tx.k; t < (j + 1) * tx.k; t++) s += tx.w[t] * src[row + tx.at[t]];
        rows[y * outW + j] = s;
      }
    }
    for (let i = 0; i < outH; i++) {
      for (let j = 0; j < outW; j++) {
        let s = 0;
        for (let t = i * ty.k; t < (i + 1) * ty.k; t++) s += ty.w[t] * rows[(ty.at[t] - crop.y) * outW + j];
        out[ch * outH * outW + i * outW + j] = s;
      }
    }
  }
  return out;
}

/** k source indices and weights per output pixel of one axis (unused taps have weight 0). */
function taps(start: number, n: number, m: number): { k: number; at: Int32Array; w: Float64Array } {
  const s = n / m;
  const k = m === n ? 1 : m > n ? 2 : Math.ceil(s) + 1;
  const at = new Int32Array(m * k).fill(start);
  const w = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    if (m === n) {
      at[i] = start + i;
      w[i] = 1;
    } else if (m > n) {
      const f = Math.min(Math.max((i + 0.5) * s - 0.5, 0), n - 1);
      const i0 = Math.floor(f);
      at.set([start + i0, start + Math.min(i0 + 1, n - 1)], i * k);
      w.set([1 - (f - i0), f - i0], i * k);
    } else {
      const [a, b] = [i * s, (i + 1) * s];
      for (let p = Math.floor(a), t = i * k; p < Math.min(Math.ceil(b), n); p++, t++) {
        at[t] = start + p;
        w[t] = (Math.min(p + 1, b) - Math.max(p, a)) / s;
      }
    }
  }
  return { k, at, w };
}
