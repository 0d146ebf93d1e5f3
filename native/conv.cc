// Convolution as a packed matrix product: for stride 1 straight over the zero-padded image (see
// "Stride 1" below), otherwise over an im2col copy. Work is cut into (sample, pixel range) or (sample,
// channel range) pieces so that two threads have work even at batch 1, which the report trains at.

#include "base.h"
#include "conv_pixel.h"
#include "gemm.h"
#include "kernels.h"
#include "threads.h"
#include "winograd.h"

namespace {

THREAD_LOCAL Buf<float> colBuf, padBuf, wideBuf;
THREAD_LOCAL Buf<int> offBuf, baseBuf;
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

// ---- Stride 1: no im2col. With the input zero-padded into rows of wp = w + 2pw, output pixel (oy, ox)
// at "wide" index q = oy·wp + ox reads input q + off[r] for kernel tap r = (ci, ki, kj), so the image
// itself serves as the matrix B of the product (ox ≥ ow columns are computed and dropped).
// Those dropped columns are (oh − 1)·(wp − ow) of (oh − 1)·wp + ow, 16 % on a 20×20 map with 5×5
// taps. When output rows are (nearly) whole vectors, as with 4-float vectors, the product takes its
// columns a vector at a time where the real pixels are instead ("grouped": vector t of output row oy
// reads from wide index oy·wp + t·VW), which drops only the lanes past ow: picked when that makes
// fewer tile columns.

struct Wide {
  int hp, wp, nq;  // padded input size; wide outputs needed: up to the last real pixel
  int gpr;         // grouped: vectors per output row; 0 for wide
};

Wide wide_of(const ConvGeom &g) {
  int hp = g.h + 2 * g.ph, wp = g.w + 2 * g.pw, nq = (g.oh - 1) * wp + g.ow;
  int vw = simd_width(), nr = tile_width(), gpr = (g.ow + vw - 1) / vw;
  long wide = (nq + nr - 1) / nr, grouped = ((long)g.oh * gpr * vw + nr - 1) / nr;
  return Wide{hp, wp, nq, grouped < wide ? gpr : 0};
}

// Each kernel call gets a new number, so a thread can tell that the padded copy it holds is of this
// call's data (several pieces of one sample, at batch 1, then share it).
unsigned long callNumber = 0;
THREAD_LOCAL const float *paddedOf = nullptr;
THREAD_LOCAL unsigned long paddedCall = 0;

// Sample xs copied into a zero-padded c×hp×wp buffer, with 2·NR floats of zero slack for the vector reads.
const float *padded(const float *xs, const ConvGeom &g, const Wide &d) {
  size_t plane = (size_t)d.hp * d.wp, slack = 64;
  float *p = padBuf.grow(g.c * plane + slack);
  if (paddedOf == xs && paddedCall == callNumber) return p;
  paddedOf = xs;
  paddedCall = callNumber;
  __builtin_memset(p, 0, (g.c * plane + slack) * sizeof(float));
  for (int ci = 0; ci < g.c; ci++) {
    for (int iy = 0; iy < g.h; iy++) {
      __builtin_memcpy(p + ci * plane + (size_t)(iy + g.ph) * d.wp + g.pw, xs + ((size_t)ci * g.h + iy) * g.w,
                       g.w * sizeof(float));
    }
  }
  return p;
}

// off[r] for taps r = (ci, ki, kj) of channels [0, c).
const int *tap_offsets(const ConvGeom &g, const Wide &d) {
  int *off = offBuf.grow((size_t)g.c * g.kh * g.kw);
  fill_tap_offsets(off, g, d.hp, d.wp);
  return off;
}

bool stride1(const ConvGeom &g) {
  return g.sh == 1 && g.sw == 1;
}

// A range of the product's columns: wide outputs [q0, q1), or vector groups [q0, q1) when grouped.
struct Cols {
  int q0, q1;
  int len(const Wide &d) const { return d.gpr ? (q1 - q0) * simd_width() : q1 - q0; }
};

// Calls f(col, pixel, count) for each run of real pixels among the columns: column col (from the
// range's first) is output pixel `pixel` (= oy·ow + ox), and the next count − 1 follow on both sides.
template <typename F>
void real_runs(const ConvGeom &g, const Wide &d, Cols r, F f) {
  if (d.gpr) {
    int vw = simd_width(), col = 0, pixel = 0, count = 0;
    for (int s = r.q0; s < r.q1; s++) {
      int t = s % d.gpr, p = (s / d.gpr) * g.ow + t * vw, n = imin(vw, g.ow - t * vw), at = (s - r.q0) * vw;
      if (count > 0 && col + count == at && pixel + count == p) {
        count += n;
        continue;
      }
      if (count > 0) f(col, pixel, count);
      col = at, pixel = p, count = n;
    }
    if (count > 0) f(col, pixel, count);
    return;
  }
  for (int oy = r.q0 / d.wp; oy * d.wp < r.q1; oy++) {
    int a = imax(r.q0, oy * d.wp), b = imin(r.q1, oy * d.wp + g.ow);
    if (a < b) f(a - r.q0, oy * g.ow + (a - oy * d.wp), b - a);
  }
}

// Where each vector group of the range starts in the padded sample (grouped only).
const int *group_bases(const Wide &d, Cols r) {
  int *base = baseBuf.grow((size_t)(r.q1 - r.q0));
  for (int s = r.q0; s < r.q1; s++) base[s - r.q0] = (s / d.gpr) * d.wp + (s % d.gpr) * simd_width();
  return base;
}

// Columns r of one sample: Yw = w·B, then the real pixels (+ bias) go to ys.
void forward_s1(float *ys, const float *xs, const float *w, const float *b, const ConvGeom &g, Cols r) {
  Wide d = wide_of(g);
  int ckk = g.c * g.kh * g.kw, len = r.len(d), ohw = g.oh * g.ow;
  const float *xp = padded(xs, g, d);
  const int *off = tap_offsets(g, d);
  float *yw = wideBuf.grow((size_t)g.k * len);
  if (d.gpr)
    gemm_groups_offset(g.k, r.q1 - r.q0, ckk, Mat{w, ckk, 1}, xp, group_bases(d, r), off, yw, len, false);
  else
    gemm_rows_offset(g.k, len, ckk, Mat{w, ckk, 1}, xp + r.q0, off, yw, len, false);
  real_runs(g, d, r, [&](int col, int pixel, int count) {
    for (int f = 0; f < g.k; f++) {
      float bf = b ? b[f] : 0.f;
      const float *src = yw + (long)f * len + col;
      float *dst = ys + (long)f * ohw + pixel;
      for (int i = 0; i < count; i++) dst[i] = src[i] + bf;
    }
  });
}

// db[f] += Σ a[f·lda + j] over j in [j0, j1), summed in double as the reference does.
void add_row_sums(float *db, const float *a, int rows, long lda, int j0, int j1) {
  for (int f = 0; f < rows; f++) {
    double sum = 0;
    for (int j = j0; j < j1; j++) sum += a[f * lda + j];
    db[f] = (float)(db[f] + sum);
  }
}

// Stride-1 column ranges are cut at whole tiles so that every thread's tiles are full.
int wide_unit(const Wide &d) {
  return d.gpr ? tile_width() / simd_width() : tile_width();
}
int wide_count(const ConvGeom &g, const Wide &d) {
  return d.gpr ? g.oh * d.gpr : d.nq;
}

Pieces wide_pieces(const ConvGeom &g, int threads) {
  Wide d = wide_of(g);
  int unit = wide_unit(d);
  return pieces(g.n, (wide_count(g, d) + unit - 1) / unit, threads);
}

Cols wide_range(const ConvGeom &g, int u0, int u1) {
  Wide d = wide_of(g);
  int unit = wide_unit(d), count = wide_count(g, d);
  return Cols{imin(count, u0 * unit), imin(count, u1 * unit)};
}

void forward_any(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads) {
  int ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow;
  long xs = (long)g.c * g.h * g.w, ys = (long)g.k * ohw;
  if (winograd_tile(g)) return winograd_forward(y, x, w, b, g, threads);
  if (conv_pixel_fits(g)) return conv_pixel_forward(y, x, w, b, g, threads);
  if (stride1(g)) {
    for_pieces(wide_pieces(g, threads), threads, [&](int, int s, int u0, int u1) {
      Cols r = wide_range(g, u0, u1);
      if (r.q0 < r.q1) forward_s1(y + s * ys, x + s * xs, w, b, g, r);
    });
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
  callNumber++;
  forward_any(y, x, w, b, g, useful_threads(g, threads));
}

void conv2d_backward_data(float *dx, const float *dy, const float *w, const ConvGeom &g, int threads) {
  callNumber++;
  threads = useful_threads(g, threads);
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

// db[k] += Σ dy over samples and pixels in that order, in double: the sums of the Winograd and
// pixel-vector kernels, for a frozen weight there.
void bias_sums(float *db, const float *dy, const ConvGeom &g, int threads) {
  long hw = (long)g.oh * g.ow;
  parallel_for(threads, g.k, [&](int, int k) {
    double sum = 0;
    for (int s = 0; s < g.n; s++) {
      const float *q = dy + ((size_t)s * g.k + k) * hw;
      for (long j = 0; j < hw; j++) sum += q[j];
    }
    db[k] = (float)(db[k] + sum);
  });
}

}  // namespace

// dw null: the bias gradient alone (a frozen weight), with the bits each path gives it.
void conv2d_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g, int threads) {
  callNumber++;
  threads = useful_threads(g, threads);
  if (!dw && !db) return;
  bool direct = !winograd_grad_tile(g) && !conv_pixel_fits(g);
  if (!dw && !direct) return bias_sums(db, dy, g, threads);
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
    if (s1) {
      // dw[f][r] += Σ_q dy_wide[f][q]·xp[off[r] + q], dy spread to the product's columns with zeros
      // in the dropped ones.
      Wide d = wide_of(g);
      Cols r = wide_range(g, u0, u1);
      if (!dw) {
        // The row sums of the spread dy below, without it: its zeros leave a double sum as it was.
        for (int f = 0; f < g.k; f++) {
          double sum = 0;
          const float *row = dys + (long)f * ohw;
          real_runs(g, d, r, [&](int, int pixel, int count) {
            for (int j = 0; j < count; j++) sum += row[pixel + j];
          });
          dbt[f] = (float)(dbt[f] + sum);
        }
        return;
      }
      int vw = simd_width(), lp = (r.len(d) + vw - 1) / vw * vw;
      const float *xp = padded(x + s * xs, g, d);
      const int *off = tap_offsets(g, d);
      float *dyw = wideBuf.grow((size_t)g.k * lp);
      __builtin_memset(dyw, 0, (size_t)g.k * lp * sizeof(float));
      real_runs(g, d, r, [&](int col, int pixel, int count) {
        for (int f = 0; f < g.k; f++) copy_floats(dyw + (long)f * lp + col, dys + (long)f * ohw + pixel, count);
      });
      if (d.gpr)
        gemm_nt_groups(g.k, ckk, r.q1 - r.q0, dyw, lp, xp, group_bases(d, r), off, dwt, ckk);
      else
        gemm_nt_offset(g.k, ckk, lp, dyw, lp, xp + r.q0, off, dwt, ckk);
      if (dbt) add_row_sums(dbt, dyw, g.k, lp, 0, lp);
      return;
    }
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
