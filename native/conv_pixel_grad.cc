// The weight gradient of the pixel kernels (conv_pixel.h; the forward: conv_pixel.cc): g[r][k] =
// Σ_p x[p + off r]·dyᵀ[p][k], a tile of taps × output channels in registers, one value of the zero-padded
// sample broadcast per pixel and tap, summed over the batch in sample order whatever the thread count:
// threads own disjoint tiles. Only a few samples of dy at a time are transposed.

#include "base.h"
#include "conv_pixel.h"
#include "conv_pixel_tiles.h"
#include "simd.h"
#include "threads.h"
#include "transpose.h"

namespace {

Buf<float> gT, xs, dyT;  // used under one call at a time

// gt[r][v·VW..] += Σ over samples and pixels of x_s[q + off[r]]·dyt_s[p][v·VW..], T taps.
template <int T, int V>
void grad_tile(int samples, const float *x, size_t xstride, const int *off, const float *dyt, size_t dystride, long ldk,
               const ConvGeom &g, int wp, float *gt, long ldg) {
  vf acc[T][V];
  for (int r = 0; r < T; r++) {
    for (int v = 0; v < V; v++) acc[r][v] = vload(gt + r * ldg + v * VW);
  }
  for (int s = 0; s < samples; s++) {
    const float *xr[T];
    for (int r = 0; r < T; r++) xr[r] = x + s * xstride + off[r];
    const float *dy = dyt + s * dystride;
    for (int oy = 0; oy < g.oh; oy++) {
      for (int ox = 0; ox < g.ow; ox++) {
        int q = oy * wp + ox;
        const float *dp = dy + (size_t)(oy * g.ow + ox) * ldk;
        vf b[V];
        for (int v = 0; v < V; v++) b[v] = vload(dp + v * VW);
        for (int r = 0; r < T; r++) {
          vf a = vbroadcast(xr[r][q]);
          for (int v = 0; v < V; v++) acc[r][v] = vmadd(a, b[v], acc[r][v]);
        }
      }
    }
  }
  for (int r = 0; r < T; r++) {
    for (int v = 0; v < V; v++) vstore(gt + r * ldg + v * VW, acc[r][v]);
  }
}

typedef void (*GradFn)(int, const float *, size_t, const int *, const float *, size_t, long, const ConvGeom &, int,
                       float *, long);
template <int V, int... T>
struct GradTaps {
  static constexpr GradFn fns[sizeof...(T)] = {&grad_tile<T + 1, V>...};
};
template <int V, int... T>
constexpr GradFn GradTaps<V, T...>::fns[sizeof...(T)];
const GradFn *const gradFns[GV] = {GradTaps<1, UPTO_TILE>::fns, GradTaps<2, UPTO_TILE>::fns};

// Pixels [q0, q1) of dy of one sample (k × oh·ow) transposed into dst (oh·ow × kp), zeros in the
// padding channels.
void transpose_dy(float *dst, const float *dy, const ConvGeom &g, int kp, int q0, int q1) {
  transpose_rows(dst + (size_t)q0 * kp, kp, dy + q0, (size_t)g.oh * g.ow, g.k, q1 - q0);
  if (kp > g.k) {
    for (int p = q0; p < q1; p++) zero_floats(dst + (size_t)p * kp + g.k, kp - g.k);
  }
}

}  // namespace

void conv_pixel_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g, int threads) {
  Dims d = dims_of(g);
  int taps = g.c * g.kh * g.kw, hw = g.oh * g.ow;
  size_t xsz = padded_size(g, d), dsz = (size_t)hw * d.kp;
  // Samples per round: enough pixels that a round's work dwarfs its two hand-overs between threads,
  // few enough that their copies stay within 1 MB (each tile of channels reads them all again): 256
  // channels on 3×3 maps, 114 samples a round (3.3 MB) took 1.3–1.6× the CPU time of 30 (Zen 3).
  int per = imax(1, imin(g.n, imin((1024 + hw - 1) / hw, (int)((1 << 18) / (xsz + dsz)))));
  float *xb = xs.grow(xsz * per), *db_t = dyT.grow(dsz * per);
  float *gt = gT.grow((size_t)taps * d.kp);
  zero_floats(gt, (size_t)taps * d.kp);
  const int *off = tap_offsets(g, d);
  int tapTiles = (taps + GT - 1) / GT, kTiles = (d.kp + GV * VW - 1) / (GV * VW);
  long xstep = (long)g.c * g.h * g.w, ystep = (long)g.k * hw;
  for (int s0 = 0; s0 < g.n; s0 += per) {
    int ns = imin(per, g.n - s0);
    // Each sample's copies in four parts, so that both threads share them even for a round of one.
    constexpr int PARTS = 4;
    parallel_for(threads, ns * PARTS, [&](int, int i) {
      int s = i / PARTS, part = i % PARTS, c0, c1, q0, q1;
      split_range(g.c, PARTS, part, &c0, &c1);
      split_range(hw, PARTS, part, &q0, &q1);
      pad_into(xb + s * xsz, x + (s0 + s) * xstep, g, d, c0, c1);
      transpose_dy(db_t + s * dsz, dy + (s0 + s) * ystep, g, d.kp, q0, q1);
    });
    parallel_for(threads, tapTiles * kTiles, [&](int, int i) {
      int r0, r1;
      // Tap tiles inner: one block of channels of dyᵀ stays in cache while the taps go by.
      split_range(taps, tapTiles, i % tapTiles, &r0, &r1);
      int k0 = (i / tapTiles) * GV * VW, nv = imin(GV, (d.kp - k0) / VW);
      gradFns[nv - 1][r1 - r0 - 1](ns, xb, xsz, off + r0, db_t + k0, dsz, d.kp, g, d.wp, gt + (size_t)r0 * d.kp + k0,
                                   d.kp);
    });
  }
  parallel_for(threads, g.k, [&](int, int k) {
    float *row = dw + (size_t)k * taps;
    for (int r = 0; r < taps; r++) row[r] += gt[(size_t)r * d.kp + k];
    if (db) add_bias_channel(db, dy, g, k);
  });
}
