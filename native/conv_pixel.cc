// Stride-1 convolutions with the output channels along the vector lanes. The wide nets (3×3
// convolutions of 32–256 channels on 32×32 down to 8×8 maps) have many channels and small maps: a
// vector of pixels would be mostly padding on an 8×8 map, a vector of channels never is. The input is
// read where it lies (a zero-padded copy of the sample), one value broadcast per pixel and tap:
//  - forward: y[p][k] = Σ_r x[p + off r]·wᵀ[r][k], a tile of pixels × channels in registers;
//  - weight gradient: g[r][k] = Σ_p x[p + off r]·dyᵀ[p][k], a tile of taps × channels in registers,
//    summed over the batch in sample order whatever the thread count: threads own disjoint tiles.
// Only the small matrices (weights, one row of outputs, a few samples of dy) are transposed.

#include "base.h"
#include "conv_pixel.h"
#include "simd.h"
#include "threads.h"
#include "transpose.h"

namespace {

#if defined(__AVX512F__)
constexpr int FP = 12;  // forward tile: pixels (× FV vectors: 24 accumulators of 32 registers)
constexpr int FV = 2;
constexpr int GT = 12;  // weight-gradient tile: taps (× GV vectors)
constexpr int GV = 2;
#else  // 16 registers
constexpr int FP = 6;
constexpr int FV = 2;
constexpr int GT = 6;
constexpr int GV = 2;
#endif

THREAD_LOCAL Buf<float> padX, rowT;
Buf<float> wT, gT, xs, dyT;  // used under one call at a time
Buf<int> tapOff;

struct Dims {
  int hp, wp, kp;  // padded input; output channels rounded up to whole vectors
};

Dims dims_of(const ConvGeom &g) {
  return Dims{g.h + 2 * g.ph, g.w + 2 * g.pw, (g.k + VW - 1) / VW * VW};
}

// Channels [c0, c1) of sample x (c×h×w) into dst, zero-padded to c×hp×wp.
void pad_into(float *dst, const float *x, const ConvGeom &g, const Dims &d, int c0, int c1) {
  size_t plane = (size_t)d.hp * d.wp;
  for (int ci = c0; ci < c1; ci++) {
    float *p = dst + ci * plane;
    zero_floats(p, (size_t)g.ph * d.wp);
    for (int iy = 0; iy < g.h; iy++) {
      float *row = p + (size_t)(iy + g.ph) * d.wp;
      zero_floats(row, g.pw);
      copy_floats(row + g.pw, x + ((size_t)ci * g.h + iy) * g.w, g.w);
      zero_floats(row + g.pw + g.w, d.wp - g.pw - g.w);
    }
    zero_floats(p + (size_t)(g.ph + g.h) * d.wp, (size_t)(d.hp - g.ph - g.h) * d.wp);
  }
}

size_t padded_size(const ConvGeom &g, const Dims &d) {
  return (size_t)g.c * d.hp * d.wp + 16;
}

const int *tap_offsets(const ConvGeom &g, const Dims &d) {
  int *off = tapOff.grow((size_t)g.c * g.kh * g.kw);
  fill_tap_offsets(off, g, d.hp, d.wp);
  return off;
}

// ---- Forward

// yt[a][i][v·VW..] (+)= Σ_r x[a·wp + i + off[r]]·wt[r][v·VW..] for a tile of R rows × C consecutive
// pixels (x at its first pixel, yt rows ldr apart) and taps r in [0, taps). Several rows make a full
// tile of a small map (4×4 at the end of the CIFAR nets).
template <int R, int C, int V>
void fwd_tile(int taps, const float *x, int wp, const int *off, const float *wt, long ldw, float *yt, long ldr,
              long ldy, bool add) {
  vf acc[R][C][V];
  for (int a = 0; a < R; a++) {
    for (int i = 0; i < C; i++) {
      for (int v = 0; v < V; v++) acc[a][i][v] = add ? vload(yt + a * ldr + i * ldy + v * VW) : vf{};
    }
  }
  for (int r = 0; r < taps; r++) {
    const float *w = wt + r * ldw;
    vf b[V];
    for (int v = 0; v < V; v++) b[v] = vload(w + v * VW);
    const float *xr = x + off[r];
    for (int a = 0; a < R; a++) {
      for (int i = 0; i < C; i++) {
        vf s = vbroadcast(xr[a * wp + i]);
        for (int v = 0; v < V; v++) acc[a][i][v] = vmadd(s, b[v], acc[a][i][v]);
      }
    }
  }
  for (int a = 0; a < R; a++) {
    for (int i = 0; i < C; i++) {
      for (int v = 0; v < V; v++) vstore(yt + a * ldr + i * ldy + v * VW, acc[a][i][v]);
    }
  }
}

typedef void (*FwdFn)(int, const float *, int, const int *, const float *, long, float *, long, long, bool);
template <int R, int V, int... C>
struct FwdCols {
  static constexpr FwdFn fns[sizeof...(C)] = {&fwd_tile<R, C + 1, V>...};
};
template <int R, int V, int... C>
constexpr FwdFn FwdCols<R, V, C...>::fns[sizeof...(C)];
#if defined(__AVX512F__)
#define UPTO_TILE 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
#define UPTO_HALF 0, 1, 2, 3, 4, 5
#define UPTO_THIRD 0, 1, 2, 3
#define UPTO_QUARTER 0, 1, 2
#else
#define UPTO_TILE 0, 1, 2, 3, 4, 5
#define UPTO_HALF 0, 1, 2
#define UPTO_THIRD 0, 1
#define UPTO_QUARTER 0
#endif
// fwdFns[rows − 1][V − 1][columns − 1], rows × columns ≤ FP
constexpr int MAX_ROWS = 4;
const FwdFn *const fwdFns[MAX_ROWS][FV] = {{FwdCols<1, 1, UPTO_TILE>::fns, FwdCols<1, 2, UPTO_TILE>::fns},
                                           {FwdCols<2, 1, UPTO_HALF>::fns, FwdCols<2, 2, UPTO_HALF>::fns},
                                           {FwdCols<3, 1, UPTO_THIRD>::fns, FwdCols<3, 2, UPTO_THIRD>::fns},
                                           {FwdCols<4, 1, UPTO_QUARTER>::fns, FwdCols<4, 2, UPTO_QUARTER>::fns}};

// How the output map is cut into tiles of rows × columns ≤ FP pixels: the fewest tiles, and of equal
// counts the narrowest (more even) ones. 32×32 → 4 rows × 3 columns, 8×8 → 3 × 4, 4×4 → 4 × 2.
struct Tiling {
  int perRow, rows;
};
Tiling tiling_of(int oh, int ow) {
  Tiling best{1, 1};
  long fewest = -1;
  for (int t = 1; t <= ow; t++) {
    int cols = (ow + t - 1) / t;
    if (cols > FP) continue;
    int rows = imin(MAX_ROWS, imin(FP / cols, oh));
    long count = (long)t * ((oh + rows - 1) / rows);
    if (fewest < 0 || count <= fewest) {
      fewest = count;
      best = Tiling{t, rows};
    }
  }
  return best;
}

// Taps per block of the forward pass: a block of wᵀ (taps × FV vectors) stays in L1 while every pixel
// tile of the piece runs over it.
constexpr int TAP_BLOCK = 4096 / (FV * VW);

// Output rows [oy0, oy1) of `samples` consecutive samples (all rows when several): tiles of pixels ×
// channels summed into yt (pixel-major) one block of taps at a time, then transposed into y
// (channel-major) with the bias. Several samples share each block of wᵀ on small maps, where one
// sample's few pixels would leave the weights streaming through the cache for little arithmetic.
void forward_rows(float *ys, const float *xs, const float *wt, const float *b, const int *off, const ConvGeom &g,
                  const Dims &d, int samples, int oy0, int oy1) {
  int taps = g.c * g.kh * g.kw, hw = g.oh * g.ow;
  size_t psz = padded_size(g, d), ysz = (size_t)(oy1 - oy0) * g.ow * d.kp;
  long xstep = (long)g.c * g.h * g.w, ystep = (long)g.k * hw;
  float *xp = padX.grow(psz * samples);
  for (int s = 0; s < samples; s++) pad_into(xp + s * psz, xs + s * xstep, g, d, 0, g.c);
  float *yt = rowT.grow(ysz * samples);
  Tiling tl = tiling_of(g.oh, g.ow);
  int tiles = tl.perRow, rows = tl.rows;
  for (int k0 = 0; k0 < d.kp; k0 += FV * VW) {
    int nv = imin(FV, (d.kp - k0) / VW);
    for (int r0 = 0; r0 < taps; r0 += TAP_BLOCK) {
      int nt = imin(TAP_BLOCK, taps - r0);
      for (int s = 0; s < samples; s++) {
        for (int oy = oy0; oy < oy1; oy += rows) {
          int nr = imin(rows, oy1 - oy);
          for (int t = 0; t < tiles; t++) {
            int x0, x1;
            split_range(g.ow, tiles, t, &x0, &x1);
            float *dst = yt + s * ysz + ((size_t)(oy - oy0) * g.ow + x0) * d.kp + k0;
            fwdFns[nr - 1][nv - 1][x1 - x0 - 1](nt, xp + s * psz + oy * d.wp + x0, d.wp, off + r0,
                                                wt + (size_t)r0 * d.kp + k0, d.kp, dst, (long)g.ow * d.kp, d.kp,
                                                r0 > 0);
          }
        }
      }
    }
  }
  int p0 = oy0 * g.ow, np = (oy1 - oy0) * g.ow;
  for (int s = 0; s < samples; s++) {
    for (int k = 0; k < g.k; k++) {
      float bk = b ? b[k] : 0.f;
      float *dst = ys + s * ystep + (size_t)k * hw + p0;
      const float *src = yt + s * ysz + k;
      for (int p = 0; p < np; p++) dst[p] = src[(size_t)p * d.kp] + bk;
    }
  }
}

// ---- Weight gradient

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

void fill_tap_offsets(int *off, const ConvGeom &g, int hp, int wp) {
  for (int ci = 0, r = 0; ci < g.c; ci++) {
    for (int ki = 0; ki < g.kh; ki++) {
      for (int kj = 0; kj < g.kw; kj++) off[r++] = (ci * hp + ki) * wp + kj;
    }
  }
}

bool conv_pixel_fits(const ConvGeom &g) {
  // A first layer (3 channels: 27 taps) has too little arithmetic per value to pay for the transposes.
  return g.sh == 1 && g.sw == 1 && g.k >= 32 && g.c * g.kh * g.kw >= 64;
}

void conv_pixel_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads) {
  Dims d = dims_of(g);
  int taps = g.c * g.kh * g.kw;
  // wᵀ[r][k], channels padded with zeros to whole vectors.
  float *wt = wT.grow((size_t)taps * d.kp);
  for (int r = 0; r < taps; r++) {
    float *row = wt + (size_t)r * d.kp;
    for (int k = 0; k < g.k; k++) row[k] = w[(size_t)k * taps + r];
    zero_floats(row + g.k, d.kp - g.k);
  }
  const int *off = tap_offsets(g, d);
  long xstep = (long)g.c * g.h * g.w, ystep = (long)g.k * g.oh * g.ow;
  // Small maps: groups of samples with at least 128 pixels, keeping two pieces a thread.
  int group = imax(1, imin((128 + g.oh * g.ow - 1) / (g.oh * g.ow), g.n / (2 * threads)));
  if (group > 1) {
    int groups = (g.n + group - 1) / group;
    parallel_for(threads, groups, [&](int, int i) {
      int s0 = i * group, ns = imin(group, g.n - s0);
      forward_rows(y + s0 * ystep, x + s0 * xstep, wt, b, off, g, d, ns, 0, g.oh);
    });
    return;
  }
  // Whole samples per piece, or rows of one sample when the batch is small.
  int chunks = threads <= 1 || g.n >= 4 * threads ? 1 : imin(g.oh, (4 * threads + g.n - 1) / g.n);
  parallel_for(threads, g.n * chunks, [&](int, int i) {
    int s = i / chunks, oy0, oy1;
    split_range(g.oh, chunks, i % chunks, &oy0, &oy1);
    if (oy0 < oy1) forward_rows(y + s * ystep, x + s * xstep, wt, b, off, g, d, 1, oy0, oy1);
  });
}

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
    if (!db) return;
    double sum = 0;
    for (int s = 0; s < g.n; s++) {
      const float *p = dy + s * ystep + (size_t)k * hw;
      for (int j = 0; j < hw; j++) sum += p[j];
    }
    db[k] = (float)(db[k] + sum);
  });
}
