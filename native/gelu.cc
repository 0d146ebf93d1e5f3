// GELU with the tanh approximation (src/kernels/reference/elementwise.ts), vectorized. With
// u = √(2/π)(x + 0.044715x³): ½(1 + tanh u) = σ(2u), so y = x·σ(2u) and
// dy/dx = σ(2u) + 2x·σ(2u)(1 − σ(2u))·√(2/π)(1 + 3·0.044715x²). σ comes from e = exp(−2|u|) ≤ 1, which
// cannot overflow; exp is a polynomial on vectors (no libm: the WebAssembly build has none), and the last
// partial vector goes through the same code, so every element of every build follows one formula.

#include "base.h"
#include "kernels.h"
#include "simd.h"
#include "threads.h"

namespace {

const float kC = 0.7978845608028654f;  // √(2/π)
const float kA = 0.044715f;

// exp(z) for z ≤ 0, within ~2 ulp (Cephes expf's polynomial); 0 below −87, where it would be subnormal.
inline vf vexp_neg(vf z) {
  vi tiny = z < vbroadcast(-87.f);
  z = vselect(tiny, vbroadcast(-87.f), z);
  // n = round(z/ln 2) through the 1.5·2²³ trick, r = z − n·ln 2 in two parts (exact first product).
  const float magic = 12582912.f;
  vf t = vmadd(z, vbroadcast(1.44269504088896341f), vbroadcast(magic));
  vf n = t - vbroadcast(magic);
  vf r = vmadd(n, vbroadcast(-0.693359375f), z);
  r = vmadd(n, vbroadcast(2.12194440e-4f), r);
  vf p = vbroadcast(1.9875691500e-4f);
  p = vmadd(p, r, vbroadcast(1.3981999507e-3f));
  p = vmadd(p, r, vbroadcast(8.3334519073e-3f));
  p = vmadd(p, r, vbroadcast(4.1665795894e-2f));
  p = vmadd(p, r, vbroadcast(1.6666665459e-1f));
  p = vmadd(p, r, vbroadcast(5.0000001201e-1f));
  p = vmadd(p * r, r, r + vbroadcast(1.f));
  // 2ⁿ (n in −126 … 0) built in the exponent field; the integer bits of t − magic are n.
  vi two_n = ((vi)t - (vi)vbroadcast(magic) + 127) << 23;
  vf e = p * (vf)two_n;
  return (vf)((vi)e & ~tiny);
}

// s = σ(2u) and, when d is wanted, s(1 − s), from x.
template <bool kGrad>
inline vf sigma2u(vf x, vf *d) {
  vf u = vbroadcast(kC) * vmadd(vbroadcast(kA) * x * x, x, x);
  vf e = vexp_neg(vbroadcast(-2.f) * vselect(u < vf{}, -u, u));
  vf q = vbroadcast(1.f) / (vbroadcast(1.f) + e);
  if (kGrad) *d = e * q * q;
  return vselect(u < vf{}, e * q, q);
}

inline vf gelu(vf x) {
  return x * sigma2u<false>(x, nullptr);
}

inline vf gelu_grad(vf x, vf dy) {
  vf d;
  vf s = sigma2u<true>(x, &d);
  // Where e is 0 (|x| > ~10) the product term is 0, even when x² overflows (x·∞·0 would be NaN).
  vf slope = vbroadcast(2.f * kC) * x * vmadd(vbroadcast(3.f * kA) * x, x, vbroadcast(1.f));
  vf term = vselect(d == vf{}, vf{}, slope * d);
  return dy * (s + term);
}

// Runs f(vector) over [i0, i1): whole vectors, then the rest through a zero-padded vector.
template <typename F>
inline void each_vector(int i0, int i1, F f) {
  int i = i0;
  for (; i + VW <= i1; i += VW) f(i, VW);
  if (i < i1) f(i, i1 - i);
}

inline vf load_part(const float *p, int n) {
  if (n == VW) return vload(p);
  vf v{};
  for (int j = 0; j < n; j++) v[j] = p[j];
  return v;
}
inline void store_part(float *p, vf v, int n) {
  if (n == VW) return vstore(p, v);
  for (int j = 0; j < n; j++) p[j] = v[j];
}

// About 20 operations and a division per value: a thread pays off from some 32k values on.
template <typename F>
void over_range(long len, int threads, F body) {
  if (len < (1 << 15)) threads = 1;
  int parts = threads <= 1 ? 1 : 4 * threads;
  parallel_for(threads, parts, [&](int, int i) {
    int i0, i1;
    split_range((int)len, parts, i, &i0, &i1);
    body(i0, i1);
  });
}

}  // namespace

void gelu_row(float *y, const float *x, int len) {
  each_vector(0, len, [&](int i, int n) { store_part(y + i, gelu(load_part(x + i, n)), n); });
}

void gelu_grad_row(float *dx, const float *dy, const float *x, int len) {
  each_vector(0, len,
              [&](int i, int n) { store_part(dx + i, gelu_grad(load_part(x + i, n), load_part(dy + i, n)), n); });
}

void gelu_forward(float *y, const float *x, long len, int threads) {
  over_range(len, threads, [&](int i0, int i1) { gelu_row(y + i0, x + i0, i1 - i0); });
}

void gelu_backward(float *dx, const float *dy, const float *x, long len, int threads) {
  over_range(len, threads, [&](int i0, int i1) { gelu_grad_row(dx + i0, dy + i0, x + i0, i1 - i0); });
}
