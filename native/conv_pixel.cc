// Stride-1 convolutions with the output channels along the vector lanes. The wide nets (3×3
// convolutions of 32–256 channels on 32×32 down to 8×8 maps) have many channels and small maps: a
// vector of pixels would be mostly padding on an 8×8 map, a vector of channels never is. The input is
// read where it lies (a zero-padded copy of the sample), one value broadcast per pixel and tap:
//  - forward: y[p][k] = Σ_r x[p + off r]·wᵀ[r][k], a tile of pixels × channels in registers;
//  - weight gradient: g[r][k] = Σ_p x[p + off r]·dyᵀ[p][k], a tile of taps × channels in registers,
//    summed over the batch in sample order whatever the thread count: threads own disjoint tiles.
// Only the small matrices (weights, one row of outputs, a few samples of dy) are transposed.
// The weight gradient is in conv_pixel_grad.cc; what both use, in conv_pixel_tiles.h.

#include "base.h"
#include "conv_pixel.h"
#include "conv_pixel_tiles.h"
#include "simd.h"
#include "threads.h"

namespace {

THREAD_LOCAL Buf<float> padX, rowT;
Buf<float> wT;  // used under one call at a time

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
