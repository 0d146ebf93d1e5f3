import { ShapeError } from '../errors.js';

/**
 * Eigenvalues and eigenvectors of a symmetric n×n matrix (row-major, float64) by cyclic Jacobi
 * rotations: small matrices only (a patch covariance is at most a few hundred wide), exact to
 * rounding, no dependency. Values come out in descending order; vectors[k·n … k·n+n) is the
 * unit eigenvector of values[k].
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n); // columns are the eigenvectors as they converge
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        // The rotation that zeroes a[p][q] (Golub & Van Loan's symmetric Schur step).
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = Float64Array.from(order, (i) => a[i * n + i]);
  const vectors = new Float64Array(n * n);
  order.forEach((col, k) => {
    for (let r = 0; r < n; r++) vectors[k * n + r] = v[r * n + col];
  });
  return { values, vectors };
}

/**
 * The second moment (uncentred covariance) of every kh×kw patch, all channels, of `count` images
 * [c, h, w] stored one after another in `images`: a d×d matrix, d = c·kh·kw, in the order of a
 * convolution weight's [c, kh, kw].
 */
export function patchMoment(
  images: Float32Array,
  count: number,
  [c, h, w]: readonly number[],
  kh: number,
  kw: number,
): Float64Array {
  const d = c * kh * kw;
  // Entry (r, col) sums the products of two pixels over every patch position. Summed one entry at
  // a time, image after image and position after position, in a register: each entry adds the
  // same products in the same order as a loop over patches, so the result is the same to the bit,
  // several times faster.
  const upper = new Float64Array((d * (d + 1)) / 2);
  const offset = Int32Array.from({ length: d }, (_, j) => {
    const ch = Math.floor(j / (kh * kw));
    return (ch * h + Math.floor((j % (kh * kw)) / kw)) * w + (j % kw);
  });
  const ny = h - kh + 1;
  const nx = w - kw + 1;
  for (let img = 0; img < count; img++) {
    const base = img * c * h * w;
    let t = 0;
    for (let r = 0; r < d; r++) {
      for (let col = r; col < d; col++) {
        let acc = upper[t];
        const a0 = base + offset[r];
        const b0 = base + offset[col];
        for (let y = 0; y < ny; y++) {
          const ay = a0 + y * w;
          const by = b0 + y * w;
          for (let x = 0; x < nx; x++) acc += images[ay + x] * images[by + x];
        }
        upper[t++] = acc;
      }
    }
  }
  const patches = count * ny * nx;
  const m = new Float64Array(d * d);
  let t = 0;
  for (let r = 0; r < d; r++) {
    for (let col = r; col < d; col++) {
      m[r * d + col] = upper[t++] / patches;
      m[col * d + r] = m[r * d + col];
    }
  }
  return m;
}

/**
 * Weights of a patch-whitening convolution (as in Keller Jordan's airbench): with the patches'
 * second moment E = V Λ Vᵀ, filter k is the k-th eigenvector divided by √(λₖ + eps) and filter
 * d + k its negative, so the layer's outputs are decorrelated, unit-variance projections of every
 * patch, both signs kept for the nonlinearity that follows. Needs 2·c·kh·kw filters.
 */
export function patchWhiteningWeights(
  images: Float32Array,
  count: number,
  shape: readonly number[],
  filters: number,
  kh: number,
  kw: number,
  eps = 5e-4,
): Float32Array {
  const d = shape[0] * kh * kw;
  if (filters !== 2 * d) {
    throw new ShapeError(
      `patch whitening of ${shape[0]}-channel ${kh}×${kw} patches needs 2 × ${d} = ${2 * d} filters, got ${filters}`,
    );
  }
  if (count < 1 || shape[1] < kh || shape[2] < kw) throw new ShapeError('patch whitening needs at least one patch');
  const { values, vectors } = symmetricEigen(patchMoment(images, count, shape, kh, kw), d);
  const out = new Float32Array(filters * d);
  for (let k = 0; k < d; k++) {
    const scale = 1 / Math.sqrt(Math.max(values[k], 0) + eps);
    for (let j = 0; j < d; j++) {
      out[k * d + j] = vectors[k * d + j] * scale;
      out[(k + d) * d + j] = -vectors[k * d + j] * scale;
    }
  }
  return out;
}
