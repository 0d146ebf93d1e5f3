// Batch normalization per channel of x[n, c, hw], as src/kernels/reference/normalization.ts: the sums
// in double as there (in double vectors, so only their order differs), the element-wise passes in float
// vectors. Passes run image by image, over the rows as they lie in memory: each row's sums are kept and
// then added per channel in image order, the order a loop over the channel's rows would take.
#include "batchnorm.h"

void batchnorm_stats(float *mean, float *var, const float *x, int n, int c, int hw, int threads) {
  double *S = rowSums.grow((long)n * c);
  // Two passes over the rows, each row's sum kept: the channels' sums, then the squared deviations.
  rows_by_group(n, c, hw, threads, [&](int b, int ch0, int ch1) {
    for (long r = (long)b * c + ch0; r < (long)b * c + ch1; r++) S[r] = plane_sum(x + r * hw, hw);
  });
  stats_from_row_sums(mean, var, x, n, c, hw, threads, S);
}

void stats_from_row_sums(float *mean, float *var, const float *x, int n, int c, int hw, int threads, double *S) {
  double count = (double)n * hw, *md = chanMeans.grow(c);
  channel_sums(S, nullptr, n, c, threads, [&](int ch, double s, double) { md[ch] = s / count; });
  rows_by_group(n, c, hw, threads, [&](int b, int ch0, int ch1) {
    for (int ch = ch0; ch < ch1; ch++) {
      const float *p = x + ((long)b * c + ch) * hw;
      double m = md[ch];
      S[(long)b * c + ch] = row_sum(
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
  });
  channel_sums(S, nullptr, n, c, threads, [&](int ch, double q, double) {
    mean[ch] = (float)md[ch];
    var[ch] = (float)(q / count);
  });
}

namespace {

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
  // With an activation, dz = dy·act'(z) goes to dx first, and dx follows from it in place.
  const float *dz = act.kind != kBnNone ? dx : dy;
  backward_by_image(
      dx != nullptr, dgamma, dbeta, x, mean, invstd, gamma, n, c, hw, batch_stats, threads,
      [&](int b, int ch0, int ch1) {
        return act_dz_rows(dx + ((long)b * c + ch0) * hw, dy, x, mean, invstd, gamma, beta, c, hw, act, b, ch0, ch1);
      },
      [&](int b, int ch0, int ch1, const DxTerms *q, bool few) {
        for (long ch = ch0, o = ((long)b * c + ch0) * hw; ch < ch1; ch++, o += hw)
          dx_row(dx + o, dz + o, x + o, hw, q[ch], few);
      });
}
