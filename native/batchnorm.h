// The passes batch norm's kernels share (native/batchnorm.cc, native/bn_pool.cc): sums of rows in double
// vectors, passes over the rows image by image, the forward's arithmetic and the gradient's two passes.
#pragma once
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

// Σ of a row of len values, as batchnorm_stats' first pass takes it.
inline double plane_sum(const float *p, int len) {
  return row_sum(
      len, [&](int i) { return loadd(p + i); }, [&](int i) { return (double)p[i]; });
}

}  // namespace

namespace {

// Runs f(b, ch0, ch1) over image b's rows [ch0, ch1) of x[n, c, hw], contiguous in memory, in groups of
// some 1,024 values; images are split between threads (few images, in parts of their channels). A pass
// over the rows as they lie in memory: a channel's rows lie c·hw apart.
template <typename F>
void rows_by_group(int n, int c, int hw, int threads, F f) {
  int parts = imin(c, imax(1, (4 * threads + n - 1) / n)), group = imax(1, 1024 / hw);
  parallel_for(threads, n * parts, [&](int, int item) {
    int b = item / parts, ch0, ch1;
    split_range(c, parts, item % parts, &ch0, &ch1);
    for (int ch = ch0; ch < ch1; ch += group) f(b, ch, imin(ch + group, ch1));
  });
}

// Sums of each row of a pass, [n·c] (two such arrays for the backward).
Buf<double> rowSums;
THREAD_LOCAL Buf<double> chanSums;

// done(ch, s, t) with each channel's rows' sums added up in image order, as a loop over a channel's rows
// adds them (the same values): over ranges of channels, reading the rows of sums along.
template <typename F>
void channel_sums(const double *S, const double *T, int n, int c, int threads, F done) {
  int parts = (long)n * c < 4096 ? 1 : imin(c, 4 * threads);
  parallel_for(parts > 1 ? threads : 1, parts, [&](int, int item) {
    int c0, c1;
    split_range(c, parts, item, &c0, &c1);
    double *sum = chanSums.grow(2 * (c1 - c0));
    for (int i = 0; i < 2 * (c1 - c0); i++) sum[i] = 0;
    for (long b = 0; b < n; b++)
      for (int ch = c0; ch < c1; ch++) {
        sum[2 * (ch - c0)] += S[b * c + ch];
        if (T) sum[2 * (ch - c0) + 1] += T[b * c + ch];
      }
    for (int ch = c0; ch < c1; ch++) done(ch, sum[2 * (ch - c0)], sum[2 * (ch - c0) + 1]);
  });
}

Buf<double> chanMeans;

}  // namespace

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

namespace {

// Scratch plane of each thread, for the passes fused with max pooling.
THREAD_LOCAL Buf<float> planeZ, planeD;

// What dx of a channel needs from its sums: dx = a·((dz − mdy) − (x − m)·k).
struct DxTerms {
  double a, mdy, k;
  float m;
};

// dx of one row of dz (g) from its channel's terms.
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

Buf<DxTerms> dxTerms;

// The batch norm's gradient image by image, the way the rows lie in memory. dz_rows(b, ch0, ch1) computes
// dz of image b's rows [ch0, ch1) (contiguous; some 1,024 values, so that an activation takes whole vectors
// across them) and returns where they are; each row's Σ dz and Σ dz·(x − m) are kept, each channel adds
// them up in image order (dγ += Σ dz·x̂, dβ += Σ dz), and with want_dx, dx_rows(b, ch0, ch1, q, few) writes
// dx = a·((dz − mean dz) − (x − m)·k) of the same rows from the channels' terms q (dx_row).
template <typename R, typename W>
void backward_by_image(bool want_dx, float *dgamma, float *dbeta, const float *x, const float *mean,
                       const float *invstd, const float *gamma, int n, int c, int hw, bool batch_stats, int threads,
                       R dz_rows, W dx_rows) {
  long rc = (long)n * c;
  double *S = rowSums.grow(2 * rc), *T = S + rc;
  rows_by_group(n, c, hw, threads, [&](int b, int ch0, int ch1) {
    const float *g = dz_rows(b, ch0, ch1);
    for (int ch = ch0; ch < ch1; ch++) {
      double s = 0, t = 0;
      row_sums_dy(hw, g + (long)(ch - ch0) * hw, x + ((long)b * c + ch) * hw, (double)mean[ch], &s, &t);
      S[(long)b * c + ch] = s;
      T[(long)b * c + ch] = t;
    }
  });
  double count = (double)n * hw;
  DxTerms *q = dxTerms.grow(c);
  channel_sums(S, T, n, c, threads, [&](int ch, double sdy, double sdyx) {
    double is = invstd[ch];
    sdyx *= is;
    if (dgamma) dgamma[ch] = (float)(dgamma[ch] + sdyx);
    if (dbeta) dbeta[ch] = (float)(dbeta[ch] + sdy);
    q[ch] = {is * (gamma ? gamma[ch] : 1.0), batch_stats ? sdy / count : 0, batch_stats ? sdyx / count * is : 0,
             mean[ch]};
  });
  // A channel of few values (a dense layer at a small batch) gets dx in double as in the reference: there
  // it is a difference of nearly equal terms (exactly zero for two values) that float would not keep.
  if (want_dx) rows_by_group(n, c, hw, threads, [&](int b, int ch0, int ch1) { dx_rows(b, ch0, ch1, q, count <= 64); });
}

}  // namespace

namespace {

// dz of image b's rows [ch0, ch1) of x[n, c, hw]: dy itself without an activation, else dy·act'(z) into d
// from its start (z computed again from x); returns where they are.
inline const float *act_dz_rows(float *d, const float *dy, const float *x, const float *mean, const float *invstd,
                                const float *gamma, const float *beta, int c, int hw, BnAct act, int b, int ch0,
                                int ch1) {
  long o0 = ((long)b * c + ch0) * hw;
  if (act.kind == kBnNone) return dy + o0;
  for (long ch = ch0, o = o0, i = 0; ch < ch1; ch++, o += hw, i += hw) {
    float za = scale(invstd, gamma, ch), zb = beta ? beta[ch] : 0.f;
    if (act.kind == kBnRelu)
      relu_grad_row(d + i, dy + o, x + o, hw, mean[ch], za, zb);
    else
      bn_row(d + i, x + o, hw, mean[ch], za, zb);
  }
  if (act.kind != kBnRelu) act_grad_rows(act, d, dy + o0, (ch1 - ch0) * hw);
  return d;
}

}  // namespace

// batchnorm_stats once S[b·c + ch] holds the sum of each row of x: the channels' means, then the variances.
void stats_from_row_sums(float *mean, float *var, const float *x, int n, int c, int hw, int threads, double *S);
