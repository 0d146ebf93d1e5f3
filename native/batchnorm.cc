// Batch normalization per channel of x[n, c, hw], as src/kernels/reference/normalization.ts: sums in
// double in the same order, so the results are the reference's. One channel per task.
#include "base.h"
#include "kernels.h"
#include "threads.h"

void batchnorm_stats(float *mean, float *var, const float *x, int n, int c, int hw, int threads) {
  double count = (double)n * hw;
  parallel_for(threads, c, [&](int, int ch) {
    double s = 0;
    for (int b = 0; b < n; b++) {
      const float *p = x + ((long)b * c + ch) * hw;
      for (int i = 0; i < hw; i++) s += p[i];
    }
    double m = s / count, q = 0;
    for (int b = 0; b < n; b++) {
      const float *p = x + ((long)b * c + ch) * hw;
      for (int i = 0; i < hw; i++) {
        double d = p[i] - m;
        q += d * d;
      }
    }
    mean[ch] = (float)m;
    var[ch] = (float)(q / count);
  });
}

void batchnorm_forward(float *y, const float *x, const float *mean, const float *invstd, const float *gamma,
                       const float *beta, int n, int c, int hw, int threads) {
  parallel_for(threads, c, [&](int, int ch) {
    double a = (double)invstd[ch] * (gamma ? gamma[ch] : 1.0);
    double shift = (beta ? beta[ch] : 0.0) - mean[ch] * a;
    for (int b = 0; b < n; b++) {
      long o = ((long)b * c + ch) * hw;
      for (int i = 0; i < hw; i++) y[o + i] = (float)(x[o + i] * a + shift);
    }
  });
}

void batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                        const float *invstd, const float *gamma, int n, int c, int hw, bool batch_stats, int threads) {
  double count = (double)n * hw;
  parallel_for(threads, c, [&](int, int ch) {
    double m = mean[ch], is = invstd[ch], sdy = 0, sdyx = 0;
    for (int b = 0; b < n; b++) {
      long o = ((long)b * c + ch) * hw;
      for (int i = 0; i < hw; i++) {
        sdy += dy[o + i];
        sdyx += dy[o + i] * (x[o + i] - m);
      }
    }
    sdyx *= is;
    if (dgamma) dgamma[ch] = (float)(dgamma[ch] + sdyx);
    if (dbeta) dbeta[ch] = (float)(dbeta[ch] + sdy);
    if (!dx) return;
    double a = is * (gamma ? gamma[ch] : 1.0);
    double mdy = batch_stats ? sdy / count : 0, k = batch_stats ? sdyx / count * is : 0;
    for (int b = 0; b < n; b++) {
      long o = ((long)b * c + ch) * hw;
      for (int i = 0; i < hw; i++) dx[o + i] = (float)(a * (dy[o + i] - mdy - (x[o + i] - m) * k));
    }
  });
}
