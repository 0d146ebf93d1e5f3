// Stride-1 convolutions without im2col (conv_wide.h). With the input zero-padded into rows of wp = w + 2pw,
// output pixel (oy, ox) at "wide" index q = oy·wp + ox reads input q + off[r] for kernel tap r = (ci, ki, kj),
// so the image itself serves as the matrix B of the product (ox ≥ ow columns are computed and dropped).
// Those dropped columns are (oh − 1)·(wp − ow) of (oh − 1)·wp + ow, 16 % on a 20×20 map with 5×5
// taps. When output rows are (nearly) whole vectors, as with 4-float vectors, the product takes its
// columns a vector at a time where the real pixels are instead ("grouped": vector t of output row oy
// reads from wide index oy·wp + t·VW), which drops only the lanes past ow: picked when that makes
// fewer tile columns.

#include "conv_wide.h"

#include "base.h"
#include "conv_pixel.h"
#include "gemm.h"
#include "kernels.h"

namespace {

THREAD_LOCAL Buf<float> padBuf, wideBuf;
THREAD_LOCAL Buf<int> offBuf, baseBuf;

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

// Grouped, with every vector of a group a real output pixel: the product's columns are the pixels.
bool whole_groups(const ConvGeom &g, const Wide &d) {
  return d.gpr && g.ow == d.gpr * simd_width();
}

// Sample xs copied into a zero-padded c×hp×wp buffer, with 2·NR floats of zero slack for the vector reads.
// Whole groups without padding read only the sample's own pixels: the sample itself serves.
const float *padded(const float *xs, const ConvGeom &g, const Wide &d) {
  if (g.ph == 0 && g.pw == 0 && whole_groups(g, d)) return xs;
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

// Output rows [y0, y1) whose taps are the real input rows ki in [a, b) of every channel: kc taps, their
// offsets at bandOff + oAt (off itself when all taps are), their weights packed at bandPacked + pAt.
struct Band {
  int y0, y1, a, b, kc;
  size_t oAt, pAt;
};
THREAD_LOCAL Buf<Band> bands;
THREAD_LOCAL Buf<float> bandW, bandPacked;
THREAD_LOCAL Buf<int> bandOff;
THREAD_LOCAL int bandCount = 0;
THREAD_LOCAL unsigned long bandsCall = 0;

// The bands of a call's output rows and their packed weights, made once per call (every sample has the
// same). Split only where rows are whole micro-tiles (and there is padding to skip): one band otherwise.
void make_bands(const ConvGeom &g, const Wide &d, const float *w, const int *off) {
  if (bandsCall == callNumber) return;
  bandsCall = callNumber;
  int ckk = g.c * g.kh * g.kw;
  bool split = g.ph > 0 && d.gpr * simd_width() % tile_width() == 0;
  auto lo = [&](int oy) { return split ? imax(0, g.ph - oy) : 0; };
  auto hi = [&](int oy) { return split ? imax(lo(oy), imin(g.kh, g.ph + g.h - oy)) : g.kh; };
  Band *list = bands.grow((size_t)g.oh);
  size_t oAt = 0, pAt = 0;
  bandCount = 0;
  for (int y0 = 0, y1; y0 < g.oh; y0 = y1) {
    for (y1 = y0 + 1; y1 < g.oh && lo(y1) == lo(y0) && hi(y1) == hi(y0);) y1++;
    int kc = g.c * (hi(y0) - lo(y0)) * g.kw;
    list[bandCount++] = Band{y0, y1, lo(y0), hi(y0), kc, oAt, pAt};
    oAt += kc < ckk ? kc : 0;
    pAt += packed_a_floats(g.k, kc);
  }
  float *packed = bandPacked.grow(pAt);
  int *ob = bandOff.grow(oAt);
  for (int i = 0; i < bandCount; i++) {
    const Band &e = list[i];
    if (e.kc == ckk || e.kc == 0) {
      if (e.kc) pack_a_panels(packed + e.pAt, Mat{w, ckk, 1}, g.k, ckk);
      continue;
    }
    float *wb = bandW.grow((size_t)g.k * e.kc);
    for (int ci = 0, t = 0; ci < g.c; ci++) {
      for (int ki = e.a; ki < e.b; ki++) {
        for (int kj = 0; kj < g.kw; kj++, t++) {
          int from = (ci * g.kh + ki) * g.kw + kj;
          ob[e.oAt + t] = off[from];
          for (int f = 0; f < g.k; f++) wb[(size_t)f * e.kc + t] = w[(size_t)f * ckk + from];
        }
      }
    }
    pack_a_panels(packed + e.pAt, Mat{wb, e.kc, 1}, g.k, e.kc);
  }
}

// The grouped product of columns r into y (rows ldc apart), band by band. Output rows whose taps reach
// the zero rows of the padding (a backward-data pass pads by k − 1) take only the taps of real rows:
// the products skipped are zeros, so every sum is the same (5×5 taps on a 20×20 map: a sixth less).
void grouped_bands(const ConvGeom &g, const Wide &d, Cols r, const float *w, const float *xp, const int *off, float *y,
                   long ldc) {
  int ckk = g.c * g.kh * g.kw, vw = simd_width();
  const int *base = group_bases(d, r);
  make_bands(g, d, w, off);
  for (int i = 0; i < bandCount; i++) {
    const Band &e = bands.p[i];
    int q0 = imax(r.q0, e.y0 * d.gpr), q1 = imin(r.q1, e.y1 * d.gpr);
    if (q0 >= q1) continue;
    float *c = y + (long)(q0 - r.q0) * vw;
    if (e.kc == 0) {
      for (int f = 0; f < g.k; f++) zero_floats(c + f * ldc, (size_t)(q1 - q0) * vw);
      continue;
    }
    const int *o = e.kc == ckk ? off : bandOff.p + e.oAt;
    gemm_packed_a_groups(g.k, q1 - q0, e.kc, bandPacked.p + e.pAt, xp, base + (q0 - r.q0), o, c, ldc, false);
  }
}

// Columns r of one sample: Yw = w·B, then the real pixels (+ bias) go to ys.
void forward_s1(float *ys, const float *xs, const float *w, const float *b, const ConvGeom &g, Cols r) {
  Wide d = wide_of(g);
  int ckk = g.c * g.kh * g.kw, len = r.len(d), ohw = g.oh * g.ow;
  const float *xp = padded(xs, g, d);
  const int *off = tap_offsets(g, d);
  if (whole_groups(g, d)) {
    // The product's columns are the output pixels: it writes ys itself, then the bias is added.
    float *y0 = ys + (long)r.q0 * simd_width();
    grouped_bands(g, d, r, w, xp, off, y0, ohw);
    for (int f = 0; b && f < g.k; f++) {
      float *dst = y0 + (long)f * ohw;
      for (int i = 0; i < len; i++) dst[i] = dst[i] + b[f];
    }
    return;
  }
  float *yw = wideBuf.grow((size_t)g.k * len);
  if (d.gpr)
    grouped_bands(g, d, r, w, xp, off, yw, len);
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

// Units of columns: whole micro-tiles, so that every thread's tiles are full.
int wide_unit(const Wide &d) {
  return d.gpr ? tile_width() / simd_width() : tile_width();
}
int wide_count(const ConvGeom &g, const Wide &d) {
  return d.gpr ? g.oh * d.gpr : d.nq;
}

Cols wide_range(const ConvGeom &g, int u0, int u1) {
  Wide d = wide_of(g);
  int unit = wide_unit(d), count = wide_count(g, d);
  return Cols{imin(count, u0 * unit), imin(count, u1 * unit)};
}

}  // namespace

void conv_wide_new_call() {
  callNumber++;
}

int conv_wide_units(const ConvGeom &g) {
  Wide d = wide_of(g);
  int unit = wide_unit(d);
  return (wide_count(g, d) + unit - 1) / unit;
}

void conv_wide_forward(float *ys, const float *xs, const float *w, const float *b, const ConvGeom &g, int u0, int u1) {
  Cols r = wide_range(g, u0, u1);
  if (r.q0 < r.q1) forward_s1(ys, xs, w, b, g, r);
}

void conv_wide_filter_grad(float *dw, float *db, const float *dys, const float *xs, const ConvGeom &g, int u0, int u1) {
  int ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow;
  // dw[f][r] += Σ_q dy_wide[f][q]·xp[off[r] + q], dy spread to the product's columns with zeros
  // in the dropped ones.
  Wide d = wide_of(g);
  Cols r = wide_range(g, u0, u1);
  if (!dw) {
    // A frozen weight: the row sums of the spread dy below, without it (its zeros leave a double sum
    // as it was).
    for (int f = 0; f < g.k; f++) {
      double sum = 0;
      const float *row = dys + (long)f * ohw;
      real_runs(g, d, r, [&](int, int pixel, int count) {
        for (int j = 0; j < count; j++) sum += row[pixel + j];
      });
      db[f] = (float)(db[f] + sum);
    }
    return;
  }
  int vw = simd_width(), lp = (r.len(d) + vw - 1) / vw * vw;
  const float *xp = padded(xs, g, d);
  const int *off = tap_offsets(g, d);
  if (whole_groups(g, d)) {
    // dy's rows are the product's operand as they are.
    const float *a = dys + (long)r.q0 * vw;
    gemm_nt_groups(g.k, ckk, r.q1 - r.q0, a, ohw, xp, group_bases(d, r), off, dw, ckk);
    if (db) add_row_sums(db, a, g.k, ohw, 0, lp);
    return;
  }
  float *dyw = wideBuf.grow((size_t)g.k * lp);
  __builtin_memset(dyw, 0, (size_t)g.k * lp * sizeof(float));
  real_runs(g, d, r, [&](int col, int pixel, int count) {
    for (int f = 0; f < g.k; f++) copy_floats(dyw + (long)f * lp + col, dys + (long)f * ohw + pixel, count);
  });
  if (d.gpr)
    gemm_nt_groups(g.k, ckk, r.q1 - r.q0, dyw, lp, xp, group_bases(d, r), off, dw, ckk);
  else
    gemm_nt_offset(g.k, ckk, lp, dyw, lp, xp + r.q0, off, dw, ckk);
  if (db) add_row_sums(db, dyw, g.k, lp, 0, lp);
}
