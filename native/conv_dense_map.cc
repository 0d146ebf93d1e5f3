// Stride-1 convolutions on maps no bigger than the kernel (h·w ≤ kh·kw: convts-cifar's last 256 → 256
// layer on 3×3 maps): every output pixel sees (nearly) every input pixel, so the layer is a dense one.
// With NCHW batches one sample's input is a row of K = c·h·w floats and its output a row of
// N = k·oh·ow, read where they lie:
//   Y = X·Wbig (+ bias),  dX = dY·Wbigᵀ (a strided view),  dWbig = Xᵀ·dY, folded back into dw,
// where Wbig[(ci, iy, ix)][(co, oy, ox)] = w[co][ci][iy − oy + ph][ix − ox + pw], 0 off the kernel.
// One large product on gemm_threads (the same bits on any thread count) instead of the pixel kernels'
// many small ones; the zeros of Wbig cost what the pixel kernels' zero padding costs.

#include "base.h"
#include "conv_dense_map.h"
#include "gemm.h"
#include "threads.h"

namespace {

// Wbig kept with a copy of the weights it was built from: the forward and the backward-data of a step
// share it (the weights change only between steps). dWbig has its own buffer so as not to drop it.
// Used under one call at a time.
Buf<float> big, bigGrad, builtFrom;
ConvGeom builtGeom;
bool built = false;

long rows_of(const ConvGeom &g) {
  return (long)g.c * g.h * g.w;
}
long cols_of(const ConvGeom &g) {
  return (long)g.k * g.oh * g.ow;
}

constexpr int MAX_PIXELS = 64;  // input and output pixels a map: a tap table of 16 KB

// tab[i·ohw + o]: 1 + the tap (ky·kw + kx) output pixel o reads input pixel i with, 0 off the kernel
// (a slot that holds zero in the build and takes the discarded sums in the fold: no branches).
struct Taps {
  int tab[MAX_PIXELS * MAX_PIXELS];
  explicit Taps(const ConvGeom &g) {
    int hw = g.h * g.w, ohw = g.oh * g.ow;
    for (int i = 0; i < hw; i++) {
      for (int o = 0; o < ohw; o++) {
        int ky = i / g.w - o / g.ow + g.ph, kx = i % g.w - o % g.ow + g.pw;
        tab[i * ohw + o] = ky < 0 || ky >= g.kh || kx < 0 || kx >= g.kw ? 0 : 1 + ky * g.kw + kx;
      }
    }
  }
};

// The h·w rows of Wbig of input channel ci: each (co, ci) kernel read once, its taps spread over them.
void build_channel(float *wb, const float *w, const ConvGeom &g, const Taps &tp, int ci) {
  int hw = g.h * g.w, ohw = g.oh * g.ow, khw = g.kh * g.kw;
  long n = cols_of(g);
  float *rows = wb + (long)ci * hw * n;
  float tz[MAX_PIXELS + 1] = {0.f};
  for (int co = 0; co < g.k; co++) {
    copy_floats(tz + 1, w + ((long)co * g.c + ci) * khw, khw);
    for (int i = 0; i < hw; i++) {
      float *d = rows + i * n + (long)co * ohw;
      const int *ts = tp.tab + i * ohw;
      for (int o = 0; o < ohw; o++) d[o] = tz[ts[o]];
    }
  }
}

bool same_geom(const ConvGeom &a, const ConvGeom &b) {
  return a.c == b.c && a.h == b.h && a.w == b.w && a.k == b.k && a.kh == b.kh && a.kw == b.kw && a.ph == b.ph &&
         a.pw == b.pw && a.oh == b.oh && a.ow == b.ow;
}

// Bit for bit, so that a cached Wbig is exactly the one these weights build.
bool same_bits(const float *a, const float *b, size_t len) {
  const unsigned *p = reinterpret_cast<const unsigned *>(a), *q = reinterpret_cast<const unsigned *>(b);
  unsigned diff = 0;
  for (size_t i = 0; i < len; i++) diff |= p[i] ^ q[i];
  return diff == 0;
}

const float *build(const float *w, const ConvGeom &g, int threads) {
  size_t wlen = (size_t)g.k * g.c * g.kh * g.kw;
  float *wb = big.grow((size_t)rows_of(g) * cols_of(g));
  if (built && same_geom(g, builtGeom) && same_bits(w, builtFrom.p, wlen)) return wb;
  Taps tp(g);
  parallel_for(threads, g.c, [&](int, int ci) { build_channel(wb, w, g, tp, ci); });
  copy_floats(builtFrom.grow(wlen), w, wlen);
  builtGeom = g;
  built = true;
  return wb;
}

// dw[co][ci][t] += Σ over the pixel pairs of tap t of dWbig[(ci, iy, ix)][(co, oy, ox)], output pixels
// in order: a fixed order, whatever the thread count.
void fold_channel(float *dw, const float *gb, const ConvGeom &g, const Taps &tp, int ci) {
  int hw = g.h * g.w, ohw = g.oh * g.ow, khw = g.kh * g.kw;
  long n = cols_of(g);
  const float *rows = gb + (long)ci * hw * n;
  float sums[MAX_PIXELS + 1];
  for (int co = 0; co < g.k; co++) {
    zero_floats(sums, khw + 1);
    for (int o = 0; o < ohw; o++) {
      for (int i = 0; i < hw; i++) {
        sums[tp.tab[i * ohw + o]] += rows[i * n + (long)co * ohw + o];
      }
    }
    float *taps = dw + ((long)co * g.c + ci) * khw;
    for (int t = 0; t < khw; t++) taps[t] += sums[t + 1];
  }
}

}  // namespace

bool conv_dense_map_fits(const ConvGeom &g) {
  int hw = g.h * g.w, khw = g.kh * g.kw;
  if (g.sh != 1 || g.sw != 1 || hw > khw || khw > MAX_PIXELS || g.oh * g.ow > MAX_PIXELS) return false;
  // Wbig at most 64 MB (convts-cifar's 256 → 256 on 3×3 maps: 21 MB).
  if (rows_of(g) * cols_of(g) > (16L << 20)) return false;
  // Building Wbig (folding dWbig) costs about what the product of some 50 samples does; the product
  // is hw/khw of the pixel kernels' work and runs ~1.2× faster. Measured on 256 → 256 (Zen 3, 2
  // threads): 3×3 maps even at batch 256, ahead at 512; 2×2 maps ahead at 16–64, 1×1 from batch 1.
  // This asks batch ≥ 320 on 3×3 maps, ≥ 38 on 2×2, ≥ 7 on 1×1.
  return (long)g.n * (6 * khw - 5 * hw) >= 320L * hw;
}

void conv_dense_map_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads) {
  const float *wb = build(w, g, threads);
  long n = cols_of(g), ohw = (long)g.oh * g.ow;
  if (b) {
    for (int s = 0; s < g.n; s++) {
      for (int co = 0; co < g.k; co++) fill_floats(y + s * n + co * ohw, ohw, b[co]);
    }
  }
  gemm_threads(g.n, (int)n, (int)rows_of(g), Mat{x, rows_of(g), 1}, Mat{wb, n, 1}, y, n, b != nullptr, threads);
}

void conv_dense_map_backward_data(float *dx, const float *dy, const float *w, const ConvGeom &g, int threads) {
  const float *wb = build(w, g, threads);
  long k = rows_of(g), n = cols_of(g);
  gemm_threads(g.n, (int)k, (int)n, Mat{dy, n, 1}, Mat{wb, 1, n}, dx, k, false, threads);
}

void conv_dense_map_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g,
                                    int threads) {
  long k = rows_of(g), n = cols_of(g);
  float *gb = bigGrad.grow((size_t)k * n);
  gemm_threads((int)k, (int)n, g.n, Mat{x, 1, k}, Mat{dy, n, 1}, gb, n, false, threads);
  Taps tp(g);
  parallel_for(threads, g.c, [&](int, int ci) { fold_channel(dw, gb, g, tp, ci); });
  if (db) parallel_for(threads, g.k, [&](int, int co) { add_bias_channel(db, dy, g, co); });
}
