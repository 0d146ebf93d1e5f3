// Batch normalization per channel of x[n, c, hw], as src/kernels/reference/normalization.ts. Each row
// of hw values (one channel of one sample) is summed in float vectors and the row sums are added in
// double, so the statistics keep the reference's accuracy at any batch size while the arithmetic runs
// at vector speed. One channel per task.
#include "base.h"
#include "kernels.h"
#include "simd.h"
#include "threads.h"

namespace {

// Σ f(i) over a row of len values, as float vectors (two accumulators) then one lane sum.
template <typename V, typename S>
float row_sum(int len, V vec, S scalar) {
  vf a0{}, a1{};
  int i = 0;
  for (; i + 2 * VW <= len; i += 2 * VW) {
    a0 += vec(i);
    a1 += vec(i + VW);
  }
  for (; i + VW <= len; i += VW) a0 += vec(i);
  float s = vsum(a0 + a1);
  for (; i < len; i++) s += scalar(i);
  return s;
}

}  // namespace

void batchnorm_stats(float *mean, float *var, const float *x, int n, int c, int hw, int threads) {
  double count = (double)n * hw;
  parallel_for(threads, c, [&](int, int ch) {
    double s = 0;
    for (int b = 0; b < n; b++) {
      const float *p = x + ((long)b * c + ch) * hw;
      s += row_sum(
          hw, [&](int i) { return vload(p + i); }, [&](int i) { return p[i]; });
    }
    float m = (float)(s / count);
    vf mv = vbroadcast(m);
    double q = 0;
    for (int b = 0; b < n; b++) {
      const float *p = x + ((long)b * c + ch) * hw;
      q += row_sum(
          hw,
          [&](int i) {
            vf d = vload(p + i) - mv;
            return d * d;
          },
          [&](int i) {
            float d = p[i] - m;
            return d * d;
          });
    }
    mean[ch] = m;
    var[ch] = (float)(q / count);
  });
}

void batchnorm_forward(float *y, const float *x, const float *mean, const float *invstd, const float *gamma,
                       const float *beta, int n, int c, int hw, int threads) {
  parallel_for(threads, c, [&](int, int ch) {
    // (x − m)·a + β rather than x·a + (β − m·a), which cancels when the variance is tiny.
    float a = (float)((double)invstd[ch] * (gamma ? gamma[ch] : 1.0)), m = mean[ch], beta_c = beta ? beta[ch] : 0.f;
    vf av = vbroadcast(a), mv = vbroadcast(m), bv = vbroadcast(beta_c);
    for (int b = 0; b < n; b++) {
      long o = ((long)b * c + ch) * hw;
      int i = 0;
      for (; i + VW <= hw; i += VW) vstore(y + o + i, vmadd(vload(x + o + i) - mv, av, bv));
      for (; i < hw; i++) y[o + i] = (x[o + i] - m) * a + beta_c;
    }
  });
}

void batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                        const float *invstd, const float *gamma, int n, int c, int hw, bool batch_stats, int threads) {
  double count = (double)n * hw;
  // A channel of few values (a dense layer at a small batch) is done in double as in the reference:
  // there dx is a difference of nearly equal terms (exactly zero for two values) that float would not keep.
  bool few = count <= 64;
  parallel_for(threads, c, [&](int, int ch) {
    float m = mean[ch];
    vf mv = vbroadcast(m);
    double is = invstd[ch], sdy = 0, sdyx = 0;
    for (int b = 0; b < n; b++) {
      long o = ((long)b * c + ch) * hw;
      const float *g = dy + o, *p = x + o;
      if (few) {
        for (int i = 0; i < hw; i++) {
          sdy += g[i];
          sdyx += g[i] * ((double)p[i] - m);
        }
        continue;
      }
      sdy += row_sum(
          hw, [&](int i) { return vload(g + i); }, [&](int i) { return g[i]; });
      sdyx += row_sum(
          hw, [&](int i) { return vload(g + i) * (vload(p + i) - mv); }, [&](int i) { return g[i] * (p[i] - m); });
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
        for (; i < hw; i++) dx[o + i] = (float)(a * (dy[o + i] - mdy - ((double)x[o + i] - m) * k));
        continue;
      }
      for (; i + VW <= hw; i += VW) vstore(dx + o + i, ((vload(dy + o + i) - mdv) - (vload(x + o + i) - mv) * kv) * av);
      for (; i < hw; i++) dx[o + i] = ((dy[o + i] - mf) - (x[o + i] - m) * kf) * af;
    }
  });
}
