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

namespace {

// Batch norm's gradient of channel ch from its dz, row by row: dγ and dβ from Σ dz and Σ dz·(x − m), then
// dx when wanted. rows(b) gives dz's row of image b for the sums (it may compute it there), and the whole
// dz is at `dz` by the time dx is computed (dx may be dz).
template <typename R>
void channel_backward(float *dx, float *dgamma, float *dbeta, const float *x, const float *mean, const float *invstd,
                      const float *gamma, int n, int c, int hw, int ch, bool batch_stats, R rows, const float *dz) {
  double count = (double)n * hw;
  // A channel of few values (a dense layer at a small batch) gets dx in double as in the reference: there
  // it is a difference of nearly equal terms (exactly zero for two values) that float would not keep.
  bool few = count <= 64;
  float m = mean[ch];
  double md = m, is = invstd[ch], sdy = 0, sdyx = 0;
  vf mv = vbroadcast(m);
  for (int b = 0; b < n; b++) row_sums_dy(hw, rows(b), x + ((long)b * c + ch) * hw, md, &sdy, &sdyx);
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
    const float *g = dz + o;
    int i = 0;
    if (few) {
      for (; i < hw; i++) dx[o + i] = (float)(a * (g[i] - mdy - ((double)x[o + i] - m) * k));
      continue;
    }
    for (; i + VW <= hw; i += VW) vstore(dx + o + i, ((vload(g + i) - mdv) - (vload(x + o + i) - mv) * kv) * av);
    for (; i < hw; i++) dx[o + i] = ((g[i] - mf) - (x[o + i] - m) * kf) * af;
  }
}

// Scratch plane of each thread, for the passes fused with max pooling.
THREAD_LOCAL Buf<float> planeZ, planeD;

// What dx of a channel needs from its sums: dx = a·((dz − mdy) − (x − m)·k).
struct DxTerms {
  double a, mdy, k;
  float m;
};

// dx of one row of dz (g), as channel_backward computes it.
inline void dx_row(float *dx, const float *g, const float *x, int hw, const DxTerms &q, bool few) {
  int i = 0;
  if (few) {
    for (; i < hw; i++) dx[i] = (float)(q.a * (g[i] - q.mdy - ((double)x[i] - q.m) * q.k));
    return;
  }
  float af = (float)q.a, mf = (float)q.mdy, kf = (float)q.k;
  vf av = vbroadcast(af), mdv = vbroadcast(mf), kv = vbroadcast(kf), mv = vbroadcast(q.m);
  for (; i + VW <= hw; i += VW) vstore(dx + i, ((vload(g + i) - mdv) - (vload(x + i) - mv) * kv) * av);
  for (; i < hw; i++) dx[i] = ((g[i] - mf) - (x[i] - q.m) * kf) * af;
}

Buf<double> rowSums;
Buf<DxTerms> dxTerms;

// channel_backward image by image, the way the rows lie in memory: rows(b, ch) computes dz's row (b, ch)
// and returns it, and its two sums are kept; then each channel adds its rows' sums in image order (as
// channel_backward does: the same values) and dx follows row by row from dz (dx may be dz).
template <typename R>
void backward_by_image(float *dx, float *dgamma, float *dbeta, const float *x, const float *mean, const float *invstd,
                       const float *gamma, int n, int c, int hw, bool batch_stats, int threads, R rows,
                       const float *dz) {
  long rc = (long)n * c;
  double *S = rowSums.grow(2 * rc), *T = S + rc;
  int parts = imin(c, imax(1, (4 * threads + n - 1) / n));
  auto by_image = [&](auto f) {
    parallel_for(threads, n * parts, [&](int, int item) {
      int b = item / parts, ch0, ch1;
      split_range(c, parts, item % parts, &ch0, &ch1);
      for (int ch = ch0; ch < ch1; ch++) f(b, ch, ((long)b * c + ch) * hw);
    });
  };
  by_image([&](int b, int ch, long o) {
    double s = 0, t = 0;
    row_sums_dy(hw, rows(b, ch), x + o, (double)mean[ch], &s, &t);
    S[(long)b * c + ch] = s;
    T[(long)b * c + ch] = t;
  });
  double count = (double)n * hw;
  DxTerms *q = dxTerms.grow(c);
  for (int ch = 0; ch < c; ch++) {
    double is = invstd[ch], sdy = 0, sdyx = 0;
    for (int b = 0; b < n; b++) {
      sdy += S[(long)b * c + ch];
      sdyx += T[(long)b * c + ch];
    }
    sdyx *= is;
    if (dgamma) dgamma[ch] = (float)(dgamma[ch] + sdyx);
    if (dbeta) dbeta[ch] = (float)(dbeta[ch] + sdy);
    q[ch] = {is * (gamma ? gamma[ch] : 1.0), batch_stats ? sdy / count : 0, batch_stats ? sdyx / count * is : 0,
             mean[ch]};
  }
  if (dx) by_image([&](int, int ch, long o) { dx_row(dx + o, dz + o, x + o, hw, q[ch], count <= 64); });
}

}  // namespace

void batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                        const float *invstd, const float *gamma, const float *beta, int n, int c, int hw,
                        bool batch_stats, BnAct act, int threads) {
  // With an activation, dz goes to dx first and the steps below read it from there: GELU's and leaky
  // ReLU's image by image, ReLU's channel by channel below.
  const float *g = act.kind != kBnNone ? dx : dy;
  if (act.kind == kBnGelu || act.kind == kBnLeaky)
    rows_by_image(dx, x, mean, invstd, gamma, beta, n, c, hw, threads,
                  [&](long o, int len) { act_grad_rows(act, dx + o, dy + o, len); });
  parallel_for(threads, c, [&](int, int ch) {
    // dz of the whole channel first: summing a row right after storing it stalls on the stores.
    if (act.kind == kBnRelu) {
      float za = scale(invstd, gamma, ch), zb = beta ? beta[ch] : 0.f;
      for (int b = 0; b < n; b++) {
        long o = ((long)b * c + ch) * hw;
        relu_grad_row(dx + o, dy + o, x + o, hw, mean[ch], za, zb);
      }
    }
    channel_backward(
        dx, dgamma, dbeta, x, mean, invstd, gamma, n, c, hw, ch, batch_stats,
        [&](int b) { return g + ((long)b * c + ch) * hw; }, g);
  });
}

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

namespace {

// Lanes 0, 0, 1, 1, …: each of DW values twice (the two columns of a window two wide).
#if VW_16
#define PAIRS 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7
#elif VW_8
#define PAIRS 0, 0, 1, 1, 2, 2, 3, 3
#else
#define PAIRS 0, 0, 1, 1
#endif
typedef int hi __attribute__((vector_size(DW * 4), aligned(4)));

// Windows two wide at stride two, not overlapping, at least DW to a row: each row of the plane written
// once, DW windows (a vector) at a time, a window's value where its argmax is and 0 elsewhere.
void unpool_pairs(float *d, const float *gp, const int *am, const float *keep, long o, const PoolGeom &g) {
  vi lane;
  for (int j = 0; j < VW; j++) lane[j] = j;
  for (int r = 0, oy = 0, ki = 0; r < g.h; r++) {
    float *dr = d + (long)r * g.w;
    if (oy >= g.oh || ki >= g.kh) {
      zero_floats(dr, g.w);
    } else {
      const int *ar = am + (long)oy * g.ow;
      const float *gr = gp + (long)oy * g.ow, *kr = keep ? keep + (long)oy * g.ow : nullptr;
      vi at = lane + (int)(o + (long)r * g.w);
      // Whole vectors, the last one moved back over windows already done (the same values again).
      for (int ox = 0; ox < g.ow; ox += DW) {
        if (ox + DW > g.ow) ox = g.ow - DW;
        hi a = *reinterpret_cast<const hi *>(ar + ox);
        hf v = *reinterpret_cast<const hf *>(gr + ox);
        vi take = (vi)__builtin_shufflevector(a, a, PAIRS) == at + 2 * ox;
        if (kr) {
          hf k = *reinterpret_cast<const hf *>(kr + ox);
          take &= __builtin_shufflevector(k, k, PAIRS) > vf{};
        }
        // 0 + g, as maxpool_backward's sum into zeros; 0 where the window's ReLU output is not positive.
        vstore(dr + 2 * ox, (vf)((vi)(vf{} + __builtin_shufflevector(v, v, PAIRS)) & take));
      }
      for (int j = 2 * g.ow; j < g.w; j++) dr[j] = 0.f;
    }
    if (++ki == g.sh) ki = 0, oy++;
  }
}

// maxpool_backward's gradient of one plane (o its first index) from the pooled gradient gp and argmax am,
// in d; with `keep`, ReLU's gradient too, read from its pooled output (0 where that is not positive).
void unpool_plane(float *d, const float *gp, const int *am, const float *keep, long o, const PoolGeom &g) {
  int hw = g.h * g.w, ohw = g.oh * g.ow;
  if (g.kw == 2 && g.sw == 2 && g.sh >= g.kh && g.ow >= DW) return unpool_pairs(d, gp, am, keep, o, g);
  zero_floats(d, hw);
  for (int k = 0; k < ohw; k++) {
    unsigned long i = (unsigned long)(am[k] - o);
    if (i < (unsigned long)hw) d[i] += keep && !(keep[k] > 0.f) ? 0.f : gp[k];  // never a write outside
  }
}

}  // namespace

void batchnorm_maxpool_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *y,
                                const int *argmax, const float *x, const float *mean, const float *invstd,
                                const float *gamma, const float *beta, bool batch_stats, BnAct act, const PoolGeom &g,
                                int threads) {
  int c = g.c, hw = g.h * g.w, ohw = g.oh * g.ow;
  // dz of a row: the pool's gradient of its plane, masked by ReLU's output (no pass over x), or then GELU's
  // or leaky ReLU's gradient in place; in dx, or in a scratch plane without dx.
  backward_by_image(
      dx, dgamma, dbeta, x, mean, invstd, gamma, g.n, c, hw, batch_stats, threads,
      [&](int b, int ch) -> const float * {
        long p = (long)b * c + ch, o = p * hw;
        float *d = dx ? dx + o : planeD.grow(hw);
        unpool_plane(d, dy + p * ohw, argmax + p * ohw, act.kind == kBnRelu ? y + p * ohw : nullptr, o, g);
        if (act.kind == kBnGelu || act.kind == kBnLeaky) {
          float *z = planeZ.grow(hw);
          bn_row(z, x + o, hw, mean[ch], scale(invstd, gamma, ch), beta ? beta[ch] : 0.f);
          act_grad_rows(act, z, d, hw);
          copy_floats(d, z, hw);
        }
        return d;
      },
      dx);
}
