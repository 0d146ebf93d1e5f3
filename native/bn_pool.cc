// Batch norm fused with a max pooling on either side. After it (convts-mnist's conv → batch norm → ReLU →
// pool): the batch norm's output is pooled plane by plane from a scratch block in cache and never written
// whole. Before it (convts-cifar's conv → pool → batch norm → GELU): the pool's forward takes the sums of
// its output planes while they are in cache (the statistics' first pass), and the batch norm's gradient
// goes through the argmax plane by plane, so the pooled gradient is never written. The same arithmetic as
// the kernels one by one (native/batchnorm.cc, native/pooling.cc), so the same bits.
#include "batchnorm.h"

void batchnorm_maxpool_forward(float *y, int *argmax, const float *x, const float *mean, const float *invstd,
                               const float *gamma, const float *beta, BnAct act, const PoolGeom &g, int threads) {
  int hw = g.h * g.w, ohw = g.oh * g.ow, planes = g.n * g.c;
  PoolGeom one = g;
  one.n = one.c = 1;
  if ((long)planes * hw < (1 << 16)) threads = 1;
  int parts = imin(planes, 4 * threads);
  // The batch norm's output goes to a scratch block of whole planes (one, or as many as make some 1,024
  // values), still in the first-level cache when pooled; two vectors more, which the pool's vector loads
  // may read past the last window.
  int group = imax(1, 1024 / hw);
  parallel_for(threads, parts, [&](int, int item) {
    int p0, p1;
    split_range(planes, parts, item, &p0, &p1);
    float *z = planeZ.grow((long)group * hw + 2 * VW);
    for (int q = p0; q < p1; q += group) {
      int k = imin(group, p1 - q);
      for (int p = q; p < q + k; p++) {
        int ch = p % g.c;
        bn_row(z + (long)(p - q) * hw, x + (long)p * hw, hw, mean[ch], scale(invstd, gamma, ch), beta ? beta[ch] : 0.f);
      }
      if (act.kind != kBnNone) act_rows(act, z, k * hw);
      maxpool_planes(y + (long)q * ohw, argmax + (long)q * ohw, z, one, 0, k, (long)k * hw + 2 * VW, (long)q * hw);
    }
  });
}

void batchnorm_maxpool_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *y,
                                const int *argmax, const float *x, const float *mean, const float *invstd,
                                const float *gamma, const float *beta, bool batch_stats, BnAct act, const PoolGeom &g,
                                int threads) {
  int c = g.c, hw = g.h * g.w, ohw = g.oh * g.ow;
  // dz of the rows: the pool's gradient of each plane, masked by ReLU's output (no pass over x), or then
  // GELU's or leaky ReLU's gradient; in dx, or in scratch planes without dx.
  backward_by_image(
      dx != nullptr, dgamma, dbeta, x, mean, invstd, gamma, g.n, c, hw, batch_stats, threads,
      [&](int b, int ch0, int ch1) -> const float * {
        long p0 = (long)b * c + ch0, len = (ch1 - ch0) * (long)hw;
        float *d = dx ? dx + p0 * hw : planeD.grow(len);
        for (long p = p0; p < p0 + ch1 - ch0; p++)
          unpool_plane(d + (p - p0) * hw, dy + p * ohw, argmax + p * ohw, act.kind == kBnRelu ? y + p * ohw : nullptr,
                       p * hw, g);
        if (act.kind == kBnGelu || act.kind == kBnLeaky) {
          float *z = planeZ.grow(len);
          for (int ch = ch0; ch < ch1; ch++)
            bn_row(z + (long)(ch - ch0) * hw, x + (p0 + ch - ch0) * hw, hw, mean[ch], scale(invstd, gamma, ch),
                   beta ? beta[ch] : 0.f);
          act_grad_rows(act, z, d, (int)len);
          copy_floats(d, z, len);
        }
        return d;
      },
      [&](int b, int ch0, int ch1, const DxTerms *q, bool few) {
        for (long ch = ch0, o = ((long)b * c + ch0) * hw; ch < ch1; ch++, o += hw)
          dx_row(dx + o, dx + o, x + o, hw, q[ch], few);
      });
}

void maxpool_batchnorm_stats(float *y, int *argmax, float *mean, float *var, const float *x, const PoolGeom &g,
                             int threads) {
  int planes = g.n * g.c, ohw = g.oh * g.ow;
  long total = (long)planes * g.h * g.w;
  double *S = rowSums.grow(planes);
  int t = total < (1 << 16) ? 1 : threads, parts = imin(planes, 4 * t), group = imax(1, 1024 / ohw);
  // Some 1,024 pooled values at a time, summed as batchnorm_stats sums each row, while in cache.
  parallel_for(t, parts, [&](int, int item) {
    int p0, p1;
    split_range(planes, parts, item, &p0, &p1);
    for (int q = p0; q < p1; q += group) {
      int e = imin(q + group, p1);
      maxpool_planes(y, argmax, x, g, q, e, total, 0);
      for (long p = q; p < e; p++) S[p] = plane_sum(y + p * ohw, ohw);
    }
  });
  stats_from_row_sums(mean, var, y, g.n, g.c, ohw, threads, S);
}

void maxpool_batchnorm_backward(float *dx, float *dgamma, float *dbeta, float *dz, const float *dy, const float *x,
                                const int *argmax, const float *mean, const float *invstd, const float *gamma,
                                const float *beta, bool batch_stats, BnAct act, const PoolGeom &g, int threads) {
  int c = g.c, hw = g.h * g.w, ohw = g.oh * g.ow;
  const float *d = act.kind != kBnNone ? dz : dy;
  // dz (the activation's gradient) is kept in `dz` between the passes: computing it again in the second
  // (GELU's gradient twice) measured slower than the write and read it saves. The batch norm's input
  // gradient of each pooled plane goes to a scratch plane, and from there through the argmax into the
  // pool's input gradient, zeroed and added to as maxpool_backward does (unpool_plane's vector rows
  // measured slower here, natively and in WebAssembly).
  backward_by_image(
      dx != nullptr, dgamma, dbeta, x, mean, invstd, gamma, g.n, c, ohw, batch_stats, threads,
      [&](int b, int ch0, int ch1) {
        return act_dz_rows(dz + ((long)b * c + ch0) * ohw, dy, x, mean, invstd, gamma, beta, c, ohw, act, b, ch0, ch1);
      },
      [&](int b, int ch0, int ch1, const DxTerms *q, bool few) {
        float *plane = planeD.grow(ohw);
        for (long ch = ch0, p = (long)b * c + ch0; ch < ch1; ch++, p++) {
          dx_row(plane, d + p * ohw, x + p * ohw, ohw, q[ch], few);
          float *dp = dx + p * hw;
          const int *ap = argmax + p * ohw;
          zero_floats(dp, hw);
          for (int k = 0; k < ohw; k++) dp[ap[k] - p * hw] += plane[k];
        }
      });
}
