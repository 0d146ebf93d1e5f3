// V = Bᵀ d B, the input transform of both the forward (winograd.cc) and the weight gradient
// (winograd_grad.cc): the patches of a row of tiles, split into vectors of lanes, transformed in them.
// Each file compiles its own copy (an unnamed namespace, as winograd_tiles.h).
#pragma once

#include "base.h"
#include "kernels.h"
#include "winograd_tiles.h"

namespace {

// Each thread's copies of input planes (and of rows of dy in the weight gradient).
THREAD_LOCAL Buf<float> rowBuf;

// a where m is set, else b.
template <typename V, typename M>
static inline V pick(M m, V a, V b) {
  return (V)(((M)a & m) | ((M)b & ~m));
}

// d[t] for t < TA, lane l holding q[TM·l + t]: column t of the patches of the L tiles of a row at q.
// Reads up to q[TM·L + L).
template <int TM, int L>
static inline void patch_columns(const float *q, typename Lanes<L>::v *d) {
  typedef Lanes<L> S;
  typedef typename S::v V;
  auto at = [&](int i) { return *(const V *)(q + i); };
  if constexpr (TM == 2) {
    d[0] = S::ev(at(0), at(L));
    d[1] = S::od(at(0), at(L));
    d[2] = S::ev(at(2), at(2 + L));
    d[3] = S::od(at(2), at(2 + L));
  } else {
    V e0 = S::ev(at(0), at(L)), o0 = S::od(at(0), at(L)), e1 = S::ev(at(2 * L), at(3 * L)),
      o1 = S::od(at(2 * L), at(3 * L));
    d[0] = S::ev(e0, e1);
    d[1] = S::ev(o0, o1);
    d[2] = S::od(e0, e1);
    d[3] = S::od(o0, o1);
    // Columns 4 and 5 are columns 0 and 1 of the next tile; the last lane's are q[4L] and q[4L + 1].
    V e = at(4 * L);
    d[4] = S::next0(d[0], e);
    d[5] = S::next1(d[1], e);
  }
}

// patch_columns of rows [h0, h0 + nh) of tiles, row h0 + h on the lanes whose rowOf is h: each split
// from `at` floats past rows(h0 + h), moved back so that its tiles land on those lanes.
template <int TM, int L, typename R>
static inline void split_rows(const R &rows, int tw, int h0, int nh, int at, typename Lanes<L>::vi rowOf,
                              typename Lanes<L>::v *d) {
  patch_columns<TM, L>(rows(h0) + at, d);
  for (int h = 1; h < nh; h++) {
    typename Lanes<L>::v e[TM + 2];
    patch_columns<TM, L>(rows(h0 + h) + at - h * tw * TM, e);
    for (int c = 0; c < TM + 2; c++) d[c] = pick(rowOf == h, e[c], d[c]);
  }
}

// V_ξ[c][t] = (Bᵀ d B)_ξ for channels [c0, c1) and the tiles t of global tile rows [gr0, gr1) (t
// counted from gr0's first). Each channel plane is copied into a zero-bordered buffer first: only its interior changes
// from plane to plane, so the borders are zeroed once.
template <int TM, int L>
void transform_inputs(float *v, const float *x, const ConvGeom &g, const Plan &p, int gr0, int gr1, int c0, int c1) {
  typedef typename Lanes<L>::v V;
  typedef Tile<TM> T;
  constexpr int TA = T::TA;
  size_t xiStride = p.vs;
  // Each sample's plane is copied into its own zero-bordered buffer (several where a vector spans
  // samples), after L·TM floats of slack: a later row of tiles of a vector is split from a start moved
  // back by up to that. L floats past the last row: the split reads a vector past a row's last patch.
  int hb = TM * p.th + 2, spv = imax(1, p.rpv / p.th), slack = L * TM;
  size_t pb = (size_t)hb * p.wb + L + slack;
  typename Lanes<L>::vi rowOf;  // of each lane, when a vector holds several rows of tiles
  typename Lanes<4>::vi rowOf4;
  for (int l = 0; l < L; l++) rowOf[l] = l / p.tw;
  for (int l = 0; l < 4; l++) rowOf4[l] = l / p.tw;
  float *buf = rowBuf.grow(spv * pb);
  zero_floats(buf, spv * pb);
  for (int gr = gr0; gr < gr1;) {
    int s = gr / p.th, ty0 = gr % p.th, ty1 = imin(p.th, ty0 + (gr1 - gr));
    int iy0 = imax(0, TM * ty0 - g.ph), iy1 = imin(g.h, TM * ty1 + 2 - g.ph);
    for (int ci = c0; ci < c1; ci++) {
      for (int j = 0; j < spv; j++) {
        const float *plane = x + ((size_t)(s + j) * g.c + ci) * g.h * g.w;
        for (int iy = iy0; iy < iy1; iy++) {
          float *row = buf + j * pb + slack + (size_t)(iy + g.ph) * p.wb + g.pw;
          const float *src = plane + (size_t)iy * g.w;
          // Vectors, the last one moved back to end the row (on small maps, not a lane at a time).
          typedef typename Lanes<4>::v V4;
          int i = 0;
          for (; i + L <= g.w; i += L) *(V *)(row + i) = *(const V *)(src + i);
          for (; i + 4 <= g.w; i += 4) *(V4 *)(row + i) = *(const V4 *)(src + i);
          if (i < g.w && g.w >= 4)
            *(V4 *)(row + g.w - 4) = *(const V4 *)(src + g.w - 4);
          else
            for (; i < g.w; i++) row[i] = src[i];
        }
      }
      for (int ty = ty0; ty < ty1; ty += p.rpv) {
        float *dst = v + (size_t)ci * p.ld + (size_t)(s * p.th + ty - gr0) * p.tw;
        // Row h of tiles of a vector: row (ty + h) % th of sample (ty + h) / th counted from s.
        auto rows = [&](int h) { return buf + (ty + h) / p.th * pb + slack + (size_t)((ty + h) % p.th) * TM * p.wb; };
        for (int j = 0; j < p.nv; j++) {
          // Bᵀ along each row (lane l is tile j·L + l; with several rows of tiles a vector, tile l % tw
          // of row l / tw, split from a start moved back so that its tiles land on those lanes), then
          // down the columns.
          V t[TA][TA];
          for (int r = 0; r < TA; r++) {
            V d[TA];
            int at = r * p.wb + j * L * TM;
            if constexpr (L == 8) {
              // Two samples a vector: each half split as 4 lanes (half the shuffles of 8-lane splits
              // of which half the lanes are kept), then joined.
              if (spv == 2) {
                typename Lanes<4>::v a[TA], e[TA];
                split_rows<TM, 4>(rows, p.tw, 0, p.rpv / 2, at, rowOf4, a);
                split_rows<TM, 4>(rows, p.tw, p.rpv / 2, p.rpv / 2, at, rowOf4, e);
                for (int c = 0; c < TA; c++) d[c] = __builtin_shufflevector(a[c], e[c], 0, 1, 2, 3, 4, 5, 6, 7);
                combine<false>(T::BT, d, t[r]);
                continue;
              }
            }
            split_rows<TM, L>(rows, p.tw, 0, p.rpv, at, rowOf, d);
            combine<false>(T::BT, d, t[r]);
          }
          float *o = dst + j * L;
          for (int b = 0; b < TA; b++) {
            V col[TA], out[TA];
            for (int r = 0; r < TA; r++) col[r] = t[r][b];
            combine<false>(T::BT, col, out);
            for (int a = 0; a < TA; a++) *(V *)(o + (a * TA + b) * xiStride) = out[a];
          }
        }
      }
    }
    gr += spv > 1 ? p.rpv : ty1 - ty0;
  }
}

}  // namespace
