// Convolution as a packed matrix product: for stride 1 straight over the zero-padded image (conv_wide.cc),
// otherwise over an im2col copy (here); where they fit, 3×3 stride-1 layers by Winograd (winograd.h) and
// layers with many output channels by the pixel kernels (conv_pixel.h), and layers on maps no bigger than
// their kernel as one dense product (conv_dense_map.h). Work is cut into (sample, pixel
// range) or (sample, channel range) pieces so that two threads have work even at batch 1, which the
// report trains at.

#include "base.h"
#include "conv_dense_map.h"
#include "conv_pixel.h"
#include "conv_wide.h"
#include "gemm.h"
#include "kernels.h"
#include "threads.h"
#include "winograd.h"

namespace {

THREAD_LOCAL Buf<float> colBuf;
Buf<float> flipped, partial;  // used by the calling thread only

float *scratch(size_t need) {
  return colBuf.grow(need);
}

// Valid output columns [lo, hi) for kernel column kj: those whose input column lies inside the image.
void valid_cols(const ConvGeom &g, int kj, int *lo, int *hi) {
  int a = g.pw - kj;  // need ox·sw ≥ a and ox·sw ≤ w − 1 + a
  *lo = a <= 0 ? 0 : (a + g.sw - 1) / g.sw;
  int top = g.w - 1 + a;
  *hi = top < 0 ? 0 : imin(g.ow, top / g.sw + 1);
  if (*lo > *hi) *lo = *hi;
}

// col[r][j − j0] for rows r = (ci, ki, kj) of channels [c0, c1) and output pixels j in [j0, j1).
void im2col(float *col, const float *xs, const ConvGeom &g, int c0, int c1, int j0, int j1) {
  int len = j1 - j0;
  float *dst = col;
  for (int ci = c0; ci < c1; ci++) {
    const float *plane = xs + (long)ci * g.h * g.w;
    for (int ki = 0; ki < g.kh; ki++) {
      for (int kj = 0; kj < g.kw; kj++, dst += len) {
        int lo, hi;
        valid_cols(g, kj, &lo, &hi);
        for (int j = j0; j < j1;) {
          int oy = j / g.ow, ox0 = j % g.ow;
          int ox1 = imin(g.ow, ox0 + (j1 - j));
          float *d = dst + (j - j0) - ox0;  // d[ox] is pixel (oy, ox)
          int iy = oy * g.sh - g.ph + ki;
          if (iy < 0 || iy >= g.h) {
            __builtin_memset(d + ox0, 0, (ox1 - ox0) * sizeof(float));
          } else {
            const float *src = plane + (long)iy * g.w - g.pw + kj;  // src[ox·sw] is the input of ox
            int a = imax(ox0, lo), b = imin(ox1, hi);
            if (a > b) a = b = ox0;
            for (int ox = ox0; ox < a; ox++) d[ox] = 0.f;
            if (g.sw == 1) {
              __builtin_memcpy(d + a, src + a, (b - a) * sizeof(float));
            } else {
              for (int ox = a; ox < b; ox++) d[ox] = src[ox * g.sw];
            }
            for (int ox = imax(b, ox0); ox < ox1; ox++) d[ox] = 0.f;
          }
          j += ox1 - ox0;
        }
      }
    }
  }
}

// Adds col (rows of channels [c0, c1), all output pixels) back into the image dxs.
void col2im(float *dxs, const float *col, const ConvGeom &g, int c0, int c1) {
  int ohw = g.oh * g.ow;
  const float *src = col;
  for (int ci = c0; ci < c1; ci++) {
    float *plane = dxs + (long)ci * g.h * g.w;
    for (int ki = 0; ki < g.kh; ki++) {
      for (int kj = 0; kj < g.kw; kj++, src += ohw) {
        int lo, hi;
        valid_cols(g, kj, &lo, &hi);
        for (int oy = 0; oy < g.oh; oy++) {
          int iy = oy * g.sh - g.ph + ki;
          if (iy < 0 || iy >= g.h) continue;
          float *d = plane + (long)iy * g.w - g.pw + kj;
          const float *s = src + oy * g.ow;
          if (g.sw == 1) {
            for (int ox = lo; ox < hi; ox++) d[ox] += s[ox];
          } else {
            for (int ox = lo; ox < hi; ox++) d[ox * g.sw] += s[ox];
          }
        }
      }
    }
  }
}

// Pieces of work: each of the n samples cut into `chunks` ranges of `units` (pixels or channels).
struct Pieces {
  int n, chunks, units;
  int count() const { return n * chunks; }
  void get(int i, int *s, int *u0, int *u1) const {
    *s = i / chunks;
    split_range(units, chunks, i % chunks, u0, u1);
  }
};

// About four pieces per thread, so a thread that gets less CPU time takes fewer of them.
Pieces pieces(int n, int units, int threads) {
  int chunks = threads <= 1 || n >= 4 * threads ? 1 : imin(units, (4 * threads + n - 1) / n);
  return Pieces{n, imax(chunks, 1), units};
}

// Runs body(t, s, u0, u1) for every piece, t being the thread that runs it.
template <typename F>
void for_pieces(const Pieces &ps, int threads, F body) {
  parallel_for(threads, ps.count(), [&](int t, int i) {
    int s, u0, u1;
    ps.get(i, &s, &u0, &u1);
    if (u0 < u1) body(t, s, u0, u1);
  });
}

// Below ~2M multiply-adds (tens of µs: the report's layers at batch 1) splitting measured no faster.
int useful_threads(const ConvGeom &g, int threads) {
  long work = (long)g.n * g.k * g.c * g.kh * g.kw * g.oh * g.ow;
  return work < (1 << 21) ? 1 : threads;
}

bool stride1(const ConvGeom &g) {
  return g.sh == 1 && g.sw == 1;
}

// Stride-1 column ranges are cut at whole tiles so that every thread's tiles are full.
Pieces wide_pieces(const ConvGeom &g, int threads) {
  return pieces(g.n, conv_wide_units(g), threads);
}

void forward_any(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads) {
  int ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow;
  long xs = (long)g.c * g.h * g.w, ys = (long)g.k * ohw;
  if (winograd_tile(g)) return winograd_forward(y, x, w, b, g, threads);
  if (conv_pixel_fits(g)) return conv_pixel_forward(y, x, w, b, g, threads);
  if (stride1(g)) {
    for_pieces(wide_pieces(g, threads), threads,
               [&](int, int s, int u0, int u1) { conv_wide_forward(y + s * ys, x + s * xs, w, b, g, u0, u1); });
    return;
  }
  for_pieces(pieces(g.n, ohw, threads), threads, [&](int, int s, int j0, int j1) {
    float *col = scratch((size_t)ckk * (j1 - j0));
    im2col(col, x + s * xs, g, 0, g.c, j0, j1);
    float *yp = y + s * ys + j0;
    if (b) {
      for (int f = 0; f < g.k; f++) fill_floats(yp + (long)f * ohw, j1 - j0, b[f]);
    }
    gemm(g.k, j1 - j0, ckk, Mat{w, ckk, 1}, Mat{col, j1 - j0, 1}, yp, ohw, b != nullptr);
  });
}

}  // namespace

void conv2d_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads) {
  conv_wide_new_call();
  if (conv_dense_map_fits(g)) return conv_dense_map_forward(y, x, w, b, g, useful_threads(g, threads));
  forward_any(y, x, w, b, g, useful_threads(g, threads));
}

void conv2d_backward_data(float *dx, const float *dy, const float *w, const ConvGeom &g, int threads) {
  conv_wide_new_call();
  threads = useful_threads(g, threads);
  if (conv_dense_map_fits(g)) return conv_dense_map_backward_data(dx, dy, w, g, threads);
  int ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow, khw = g.kh * g.kw;
  if (stride1(g) && g.ph < g.kh && g.pw < g.kw) {
    // dx is the stride-1 convolution of dy, padded by k−1−p, with the kernel flipped and its two
    // channel axes swapped: the forward path does it.
    float *wf = flipped.grow((size_t)g.k * ckk);
    for (int f = 0; f < g.k; f++) {
      for (int ci = 0; ci < g.c; ci++) {
        for (int t = 0; t < khw; t++)
          wf[((size_t)ci * g.k + f) * khw + (khw - 1 - t)] = w[((size_t)f * g.c + ci) * khw + t];
      }
    }
    ConvGeom t{g.n, g.k, g.oh, g.ow, g.c, g.kh, g.kw, 1, 1, g.kh - 1 - g.ph, g.kw - 1 - g.pw, g.h, g.w};
    forward_any(dx, dy, wf, nullptr, t, threads);
    return;
  }
  for_pieces(pieces(g.n, g.c, threads), threads, [&](int, int s, int c0, int c1) {
    float *dxs = dx + (long)s * g.c * g.h * g.w;
    __builtin_memset(dxs + (long)c0 * g.h * g.w, 0, (size_t)(c1 - c0) * g.h * g.w * sizeof(float));
    float *col = scratch((size_t)(c1 - c0) * khw * ohw);
    // dcol[rows of c0..c1] = wᵀ[those rows]·dy_s, then folded back into the image
    gemm((c1 - c0) * khw, ohw, g.k, Mat{w + (long)c0 * khw, 1, ckk}, Mat{dy + (long)s * g.k * ohw, ohw, 1}, col, ohw,
         false);
    col2im(dxs, col, g, c0, c1);
  });
}

namespace {

// The bias gradient as the Winograd and pixel-vector kernels sum it, for a frozen weight there.
void bias_sums(float *db, const float *dy, const ConvGeom &g, int threads) {
  parallel_for(threads, g.k, [&](int, int k) { add_bias_channel(db, dy, g, k); });
}

}  // namespace

// dw null: the bias gradient alone (a frozen weight), with the bits each path gives it.
void conv2d_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g, int threads) {
  conv_wide_new_call();
  threads = useful_threads(g, threads);
  if (!dw && !db) return;
  bool dense = conv_dense_map_fits(g), direct = !dense && !winograd_grad_tile(g) && !conv_pixel_fits(g);
  if (!dw && !direct) return bias_sums(db, dy, g, threads);
  if (dense) return conv_dense_map_backward_filter(dw, db, dy, x, g, threads);
  if (winograd_grad_tile(g)) return winograd_backward_filter(dw, db, dy, x, g, threads);
  if (conv_pixel_fits(g)) return conv_pixel_backward_filter(dw, db, dy, x, g, threads);
  int ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow;
  long xs = (long)g.c * g.h * g.w;
  bool s1 = stride1(g);
  Pieces ps = s1 ? wide_pieces(g, threads) : pieces(g.n, ohw, threads);
  // The pieces are cut into `threads` fixed groups of consecutive pieces: group 0 adds into dw/db,
  // the others into private sums added in group order at the end. A group always covers the same
  // pieces in the same order, whichever thread claims it, so a given thread count gives
  // bit-identical gradients (summing per claiming thread made each run different).
  size_t per = (size_t)g.k * ckk + g.k;
  float *sums = partial.grow(per * imax(threads - 1, 1));
  zero_floats(sums, per * (threads - 1));
  auto body = [&](int t, int s, int u0, int u1) {
    float *dwt = t == 0 ? dw : sums + per * (t - 1);
    float *dbt = t == 0 ? db : dwt + (size_t)g.k * ckk;
    const float *dys = dy + (long)s * g.k * ohw;
    if (s1) return conv_wide_filter_grad(dw ? dwt : nullptr, dbt, dys, x + s * xs, g, u0, u1);
    int len = u1 - u0;
    if (dbt) add_row_sums(dbt, dys, g.k, ohw, u0, u1);
    if (!dw) return;
    float *col = scratch((size_t)ckk * len);
    im2col(col, x + s * xs, g, 0, g.c, u0, u1);
    gemm(g.k, ckk, len, Mat{dys + u0, ohw, 1}, Mat{col, 1, len}, dwt, ckk, true);
  };
  parallel_for(threads, threads, [&](int, int group) {
    int i0, i1;
    split_range(ps.count(), threads, group, &i0, &i1);
    for (int i = i0; i < i1; i++) {
      int s, u0, u1;
      ps.get(i, &s, &u0, &u1);
      if (u0 < u1) body(group, s, u0, u1);
    }
  });
  for (int t = 1; t < threads; t++) {
    const float *p = sums + per * (t - 1);
    for (size_t i = 0; dw && i < (size_t)g.k * ckk; i++) dw[i] += p[i];
    if (db)
      for (int f = 0; f < g.k; f++) db[f] += p[(size_t)g.k * ckk + f];
  }
}
