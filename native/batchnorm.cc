// Batch normalization per channel of x[n, c, hw], as src/kernels/reference/normalization.ts: the sums
// in double as there (in double vectors, so only their order differs), the element-wise passes in float
// vectors. One channel per task.
#include "base.h"
#include "kernels.h"
#include "simd.h"
#include "threads.h"

namespace {

// Half a vector of floats widened to doubles: the sums run in double vectors, as exact as the
// reference's scalar double sums (only the order differs).
constexpr int DW = VW / 2;
typedef float hf __attribute__((vector_size(DW * 4), aligned(4)));
typedef double vd __attribute__((vector_size(DW * 8)));

static inline vd loadd(const float *p) {
  return __builtin_convertvector(*reinterpret_cast<const hf *>(p), vd);
}

// Σ f(i) over a row of len values: f gives DW terms at i as doubles, g one term.
template <typename V, typename S>
double row_sum(int len, V vec, S scalar) {
  vd a0{}, a1{};
  int i = 0;
  for (; i + 2 * DW <= len; i += 2 * DW) {
    a0 += vec(i);
    a1 += vec(i + DW);
  }
  for (; i + DW <= len; i += DW) a0 += vec(i);
  a0 += a1;
  double s = 0;
  for (int j = 0; j < DW; j++) s += a0[j];
  for (; i < len; i++) s += scalar(i);
  return s;
}

// Σ dy and Σ dy·(x − md) over a row in one pass over dy and x: each sum takes exactly the steps of
// row_sum (same lanes, same order), so the results are those of two row_sum calls, which read dy twice.
// Each product is its own statement: clang (the WebAssembly build) fuses a product into a sum of the
// same statement by default, which row_sum's separate lambda did not allow.
inline void row_sums_dy(int len, const float *g, const float *p, double md, double *sdy, double *sdyx) {
  vd a0{}, a1{}, b0{}, b1{};
  int i = 0;
  for (; i + 2 * DW <= len; i += 2 * DW) {
    vd g0 = loadd(g + i), g1 = loadd(g + i + DW);
    a0 += g0;
    a1 += g1;
    vd d0 = g0 * (loadd(p + i) - md), d1 = g1 * (loadd(p + i + DW) - md);
    b0 += d0;
    b1 += d1;
  }
  for (; i + DW <= len; i += DW) {
    vd g0 = loadd(g + i);
    a0 += g0;
    vd d0 = g0 * (loadd(p + i) - md);
    b0 += d0;
  }
  a0 += a1;
  b0 += b1;
  double s = 0, t = 0;
  for (int j = 0; j < DW; j++) s += a0[j];
  for (int j = 0; j < DW; j++) t += b0[j];
  for (int k = i; k < len; k++) s += (double)g[k];
  for (int k = i; k < len; k++) {
    double d = g[k] * ((double)p[k] - md);
    t += d;
  }
  *sdy += s;
  *sdyx += t;
}

}  // namespace

void batchnorm_stats(float *mean, float *var, const float *x, int n, int c, int hw, int threads) {
  double count = (double)n * hw;
  parallel_for(threads, c, [&](int, int ch) {
    double s = 0;
    for (int b = 0; b < n; b++) {
      const float *p = x + ((long)b * c + ch) * hw;
      s += row_sum(
          hw, [&](int i) { return loadd(p + i); }, [&](int i) { return (double)p[i]; });
    }
    double m = s / count, q = 0;
    for (int b = 0; b < n; b++) {
      const float *p = x + ((long)b * c + ch) * hw;
      q += row_sum(
          hw,
          [&](int i) {
            vd d = loadd(p + i) - m;
            return d * d;
          },
          [&](int i) {
            double d = p[i] - m;
            return d * d;
          });
    }
    mean[ch] = (float)m;
    var[ch] = (float)(q / count);
  });
}

namespace {

// One row of z = (x − m)·a + β, the forward's arithmetic wherever z is needed (the fused backward
// computes it again, bit for bit). (x − m)·a + β rather than x·a + (β − m·a), which cancels when the
// variance is tiny.
inline void bn_row(float *y, const float *x, int hw, float m, float a, float beta) {
  vf av = vbroadcast(a), mv = vbroadcast(m), bv = vbroadcast(beta);
  int i = 0;
  for (; i + VW <= hw; i += VW) vstore(y + i, vmadd(vload(x + i) - mv, av, bv));
  for (; i < hw; i++) y[i] = (x[i] - m) * a + beta;
}

// The activation in place, as its own kernel computes it.
inline void act_rows(const BnAct &act, float *y, int len) {
  if (act.kind == kBnRelu) return relu_row(y, y, len);
  if (act.kind == kBnGelu) return gelu_row(y, y, len);
  for (int i = 0; i < len; i++) y[i] = y[i] > 0.f ? y[i] : (float)(act.slope * y[i]);
}

// dz = dy·act'(z) in place of z, for GELU and leaky ReLU.
inline void act_grad_rows(const BnAct &act, float *dz, const float *dy, int len) {
  if (act.kind == kBnGelu) return gelu_grad_row(dz, dy, dz, len);
  for (int i = 0; i < len; i++) dz[i] = dz[i] > 0.f ? dy[i] : (float)(act.slope * dy[i]);
}

inline float scale(const float *invstd, const float *gamma, int ch) {
  return (float)((double)invstd[ch] * (gamma ? gamma[ch] : 1.0));
}

// Runs z = bn_row over the rows of x, image by image (the channels of an image are contiguous), and
// then(p, len) over groups of whole rows of at least 1,024 values while they are in the first-level
// cache: an activation then takes whole vectors across the rows of a group (a partial vector at the
// end of each row would cost GELU a whole vector's work, a quarter more at 7×7). Few images are split
// into parts of their channels, so that every thread has work.
template <typename F>
void rows_by_image(float *z, const float *x, const float *mean, const float *invstd, const float *gamma,
                   const float *beta, int n, int c, int hw, int threads, F then) {
  int parts = imin(c, imax(1, (4 * threads + n - 1) / n));
  parallel_for(threads, n * parts, [&](int, int item) {
    int b = item / parts, ch0, ch1;
    split_range(c, parts, item % parts, &ch0, &ch1);
    long g0 = ((long)b * c + ch0) * hw, o = g0;
    for (int ch = ch0; ch < ch1; ch++, o += hw) {
      bn_row(z + o, x + o, hw, mean[ch], scale(invstd, gamma, ch), beta ? beta[ch] : 0.f);
      if (o + hw - g0 >= 1024 || ch + 1 == ch1) {
        then(g0, (int)(o + hw - g0));
        g0 = o + hw;
      }
    }
  });
}

// ReLU's dz = dy where z > 0 over a row, z = bn_row's taken in registers: one pass.
inline void relu_grad_row(float *dz, const float *dy, const float *x, int hw, float m, float a, float beta) {
  vf av = vbroadcast(a), mv = vbroadcast(m), bv = vbroadcast(beta);
  int i = 0;
  for (; i + VW <= hw; i += VW) {
    vi keep = vmadd(vload(x + i) - mv, av, bv) > vf{};
    vstore(dz + i, (vf)((vi)vload(dy + i) & keep));
  }
  for (; i < hw; i++) {
    float z = (x[i] - m) * a + beta;
    dz[i] = z > 0.f ? dy[i] : 0.f;
  }
}

}  // namespace

void batchnorm_forward(float *y, const float *x, const float *mean, const float *invstd, const float *gamma,
                       const float *beta, int n, int c, int hw, BnAct act, int threads) {
  if (act.kind != kBnNone)
    return rows_by_image(y, x, mean, invstd, gamma, beta, n, c, hw, threads,
                         [&](long o, int len) { act_rows(act, y + o, len); });
  parallel_for(threads, c, [&](int, int ch) {
    float a = scale(invstd, gamma, ch), m = mean[ch], beta_c = beta ? beta[ch] : 0.f;
    for (int b = 0; b < n; b++) {
      long o = ((long)b * c + ch) * hw;
      bn_row(y + o, x + o, hw, m, a, beta_c);
    }
  });
}

void batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                        const float *invstd, const float *gamma, const float *beta, int n, int c, int hw,
                        bool batch_stats, BnAct act, int threads) {
  double count = (double)n * hw;
  // A channel of few values (a dense layer at a small batch) gets dx in double as in the reference: there
  // it is a difference of nearly equal terms (exactly zero for two values) that float would not keep.
  bool few = count <= 64;
  // With an activation, dz goes to dx first and the steps below read it from there: GELU's and leaky
  // ReLU's image by image, ReLU's channel by channel below.
  const float *g = act.kind != kBnNone ? dx : dy;
  if (act.kind == kBnGelu || act.kind == kBnLeaky)
    rows_by_image(dx, x, mean, invstd, gamma, beta, n, c, hw, threads,
                  [&](long o, int len) { act_grad_rows(act, dx + o, dy + o, len); });
  parallel_for(threads, c, [&](int, int ch) {
    float m = mean[ch];
    double md = m, is = invstd[ch], sdy = 0, sdyx = 0;
    vf mv = vbroadcast(m);
    float za = scale(invstd, gamma, ch), zb = beta ? beta[ch] : 0.f;
    // dz of the whole channel first: summing a row right after storing it stalls on the stores.
    if (act.kind == kBnRelu)
      for (int b = 0; b < n; b++) {
        long o = ((long)b * c + ch) * hw;
        relu_grad_row(dx + o, dy + o, x + o, hw, m, za, zb);
      }
    for (int b = 0; b < n; b++) {
      long o = ((long)b * c + ch) * hw;
      row_sums_dy(hw, g + o, x + o, md, &sdy, &sdyx);
    }
    sdyx *= is;
    if (dgamma) dgamma[ch] = (float)(dgamma[ch] + sdyx);
    if (dbeta) dbeta[ch] = (float)(dbeta[ch] + sdy);
    if (!dx) return;
    double a = is * (gamma ? gamma[ch] : 1.0);
    double mdy = batch_stats ? sdy / count : 0, k = batch_stats ? sdyx / count * is : 0;
    // dx = a·((dy − mean dy) − (x − m)·k), the differences first.
    float af = (float)a, mf = (float)mdy, kf = (float)k;
    vf av = vbroadcast(af), mdv = vbroadcast(mf), kv = vbroadcast(kf);
    for (int b = 0; b < n; b++) {
      long o = ((long)b * c + ch) * hw;
      int i = 0;
      if (few) {
        for (; i < hw; i++) dx[o + i] = (float)(a * (g[o + i] - mdy - ((double)x[o + i] - m) * k));
        continue;
      }
      for (; i + VW <= hw; i += VW) vstore(dx + o + i, ((vload(g + o + i) - mdv) - (vload(x + o + i) - mv) * kv) * av);
      for (; i < hw; i++) dx[o + i] = ((g[o + i] - mf) - (x[o + i] - m) * kf) * af;
    }
  });
}
