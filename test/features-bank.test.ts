import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bankFilter, lmBank } from '../src/features/index.js';

// Checks the built-in Leung–Malik bank against its definition: filter index = derivative order,
// scale, orientation θ = π·o/6; derivative along (sin θ, cos θ) in (column, row) offsets.
const orients = 6;
const at = (f: Float32Array, n: number, r: number, c: number) => f[r * n + c];

test('LM bank: 36 filters of 17×17, zero mean, unit L1 norm', () => {
  const b = lmBank();
  assert.equal(b.count, 36);
  assert.equal(b.kh, 17);
  assert.equal(b.kw, 17);
  for (let k = 0; k < b.count; k++) {
    const f = bankFilter(b, k);
    const sum = f.reduce((s, v) => s + v, 0);
    const l1 = f.reduce((s, v) => s + Math.abs(v), 0);
    assert.ok(Math.abs(sum) < 1e-6, `filter ${k}: mean·n = ${sum}`);
    assert.ok(Math.abs(l1 - 1) < 1e-5, `filter ${k}: L1 norm ${l1}`);
  }
});

test('LM bank: first derivatives are odd, second derivatives even about the centre', () => {
  const b = lmBank();
  const n = b.kh;
  for (let k = 0; k < b.count; k++) {
    const f = bankFilter(b, k);
    const sign = k < b.count / 2 ? -1 : 1;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const d = at(f, n, r, c) - sign * at(f, n, n - 1 - r, n - 1 - c);
        assert.ok(Math.abs(d) < 1e-7, `filter ${k} at (${r}, ${c}): point symmetry off by ${d}`);
      }
    }
  }
});

test('LM bank: orientation o+3 is orientation o turned by 90°, and 180°−θ is the mirror image of θ', () => {
  const b = lmBank();
  const n = b.kh;
  for (let k = 0; k < b.count; k++) {
    const o = k % orients;
    const f = bankFilter(b, k);
    const sign = k < b.count / 2 ? -1 : 1;
    if (o < 3) {
      const g = bankFilter(b, k + 3);
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < n; c++)
          assert.ok(Math.abs(at(g, n, r, c) - at(f, n, c, n - 1 - r)) < 1e-7, `filters ${k}, ${k + 3} at (${r}, ${c})`);
      }
    }
    // θ' = π − θ: f'(x, y) = (−1)^order · f(−x, y); for θ = 0 the partner is θ = π, which
    // is stored as θ = 0 with the opposite sign for odd filters.
    const m = bankFilter(b, k - o + ((orients - o) % orients));
    const s = o === 0 ? 1 : sign;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        assert.ok(Math.abs(at(m, n, r, c) - s * at(f, n, r, n - 1 - c)) < 1e-7, `filter ${k} mirrored at (${r}, ${c})`);
      }
    }
  }
});

/** The derivative direction of a filter (degrees in [0, 180) from the column axis), from its moments. */
function direction(f: Float32Array, n: number, order: number): number {
  const c0 = (n - 1) / 2;
  let mx = 0;
  let my = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const v = at(f, n, r, c);
      const x = c - c0;
      const y = r - c0;
      mx += v * x;
      my += v * y;
      sxx += v * x * x;
      syy += v * y * y;
      sxy += v * x * y;
    }
  }
  // Odd filter: its first moment points against the derivative direction. Even filter: the
  // principal axis of its second moments is the derivative direction.
  const rad = order === 1 ? Math.atan2(-my, -mx) : 0.5 * Math.atan2(2 * sxy, sxx - syy);
  return ((rad * 180) / Math.PI + 360) % 180;
}

function angleError(a: number, b: number): number {
  const d = Math.abs(a - b) % 180;
  return Math.min(d, 180 - d);
}

test('LM bank: each filter differentiates along its orientation (gradient direction)', () => {
  // Large support: the Gaussians are not truncated, so the moments give the exact direction.
  for (const [size, tol] of [
    [49, 0.05],
    [17, 15],
  ] as const) {
    const b = lmBank({ size });
    for (let k = 0; k < b.count; k++) {
      const theta = (180 * (k % orients)) / orients;
      const want = (90 - theta + 180) % 180; // (sin θ, cos θ) measured from the column axis
      const got = direction(bankFilter(b, k), size, k < b.count / 2 ? 1 : 2);
      assert.ok(
        angleError(got, want) < tol,
        `size ${size}, filter ${k}: direction ${got.toFixed(2)}°, want ${want}° (±${tol}°)`,
      );
    }
  }
  // First derivatives also have the right sign: the response to a ramp rising along the
  // derivative direction is negative (g' = −v/σ²·g), as in makeLMfilters.
  const b = lmBank({ size: 49 });
  const f = bankFilter(b, 0);
  let ramp = 0;
  for (let r = 0; r < 49; r++) for (let c = 0; c < 49; c++) ramp += at(f, 49, r, c) * (r - 24);
  assert.ok(ramp < 0);
});

test('LM bank: size, scales and count are parameters; bad ones are refused', () => {
  const b = lmBank({ size: 9, scales: [1, 2], count: 16 });
  assert.deepEqual([b.count, b.kh, b.kw, b.data.length], [16, 9, 9, 16 * 81]);
  assert.throws(() => lmBank({ count: 35 }), /multiple of 6/);
  assert.throws(() => lmBank({ scales: [] }), /scales/);
  assert.throws(() => lmBank({ size: 0 }), /size/);
  assert.throws(() => bankFilter(b, 16), /no filter 16/);
});
