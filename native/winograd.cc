// 3×3 stride-1 convolutions by Winograd's minimal filtering F(m×m, 3×3) (Lavin and Gray, 2016), m = 2
// or 4: each m×m block of outputs is Aᵀ[(G w Gᵀ) ⊙ (Bᵀ d B)]A over its (m+2)×(m+2) input patch d, so
// the 9m² multiply-adds of a block and channel pair become (m+2)²: 16 for 4 outputs, or 36 for 16.
// Those are (m+2)² matrix products, one per point ξ of the transform, U_ξ (out × in channels) · V_ξ
// (in channels × tiles), on the packed gemm with U_ξ packed once. The transforms are a few multiply-
// adds by constants, done in vectors over a row of tiles. Work is cut into chunks of tile rows, each
// transformed, multiplied and transformed back by one thread while its V and M stay in cache.

#include "winograd.h"

#include "base.h"
#include "gemm.h"
#include "simd.h"
#include "threads.h"
#include "transpose.h"

namespace {

// The transforms of F(TM×TM, 3×3): V = Bᵀ d B of a TA×TA input patch, U = G w Gᵀ of a filter and
// y = Aᵀ M A of the TA×TA products. F(2×2) interpolates at 0, ±1 and ∞. F(4×4) at 0, ±1, 2, −½ and ∞
// rather than Lavin and Gray's 0, ±1, ±2, ∞: as cheap, and in float32 less than half the error (with
// 256 input channels of uniform ±1 values about 4·10⁻⁶ of the largest output against 1·10⁻⁵, the
// kernel tests' tolerance). Every entry of Bᵀ and Aᵀ is exact in float; G is used in double.
template <int TM>
struct Tile;
template <>
struct Tile<2> {
  static constexpr int TA = 4;
  static constexpr float BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  static constexpr float AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
  static constexpr double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
};
template <>
struct Tile<4> {
  static constexpr int TA = 6;
  static constexpr float BT[6][6] = {{1, 1.5f, -2, -1.5f, 1, 0}, {0, -1, -2.5f, -0.5f, 1, 0},
                                     {0, 1, 0.5f, -2.5f, 1, 0},  {0, -0.5f, -1, 0.5f, 1, 0},
                                     {0, 2, -1, -2, 1, 0},       {0, 1, 1.5f, -2, -1.5f, 1}};
  static constexpr float AT[4][6] = {
      {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -0.5f, 0}, {0, 1, 1, 4, 0.25f, 0}, {0, 1, -1, 8, -0.125f, 1}};
  static constexpr double G[6][3] = {{1, 0, 0},
                                     {-1.0 / 3, -1.0 / 3, -1.0 / 3},
                                     {1.0 / 3, -1.0 / 3, 1.0 / 3},
                                     {1.0 / 15, 2.0 / 15, 4.0 / 15},
                                     {-16.0 / 15, 8.0 / 15, -4.0 / 15},
                                     {0, 0, 1}};
};

// out[r] = Σ_c m[r][c]·in[c], or transposed (T) out[c] = Σ_r m[r][c]·in[r], over the non-zero
// coefficients in order. Unrolled, the table is constant: zeros vanish, ±1 are additions.
template <bool T, typename E, int R, int C, typename V>
static inline __attribute__((always_inline)) void combine(const E (&m)[R][C], const V *in, V *out) {
  constexpr int NO = T ? C : R, NI = T ? R : C;
#pragma GCC unroll 8
  for (int o = 0; o < NO; o++) {
    bool first = true;
#pragma GCC unroll 8
    for (int i = 0; i < NI; i++) {
      E e = T ? m[i][o] : m[o][i];
      if (e == 0) continue;
      V term = e == 1 ? in[i] : e == -1 ? -in[i] : in[i] * e;
      out[o] = first ? term : out[o] + term;
      first = false;
    }
  }
}

// Vectors of L lanes over a row of tiles: on small maps a narrower vector than the machine's wastes
// fewer lanes (a 14×14 map has 7 tiles a row of 2×2). ev/od: the even/odd lanes of a then b;
// next0/next1: a moved down a lane, lane 0/1 of b on top.
template <int L>
struct Lanes;
template <>
struct Lanes<4> {
  typedef float v __attribute__((vector_size(16), aligned(4)));
  typedef int vi __attribute__((vector_size(16)));
  static v ev(v a, v b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6); }
  static v od(v a, v b) { return __builtin_shufflevector(a, b, 1, 3, 5, 7); }
  static v zip_lo(v a, v b) { return __builtin_shufflevector(a, b, 0, 4, 1, 5); }
  static v zip_hi(v a, v b) { return __builtin_shufflevector(a, b, 2, 6, 3, 7); }
  static v next0(v a, v b) { return __builtin_shufflevector(a, b, 1, 2, 3, 4); }
  static v next1(v a, v b) { return __builtin_shufflevector(a, b, 1, 2, 3, 5); }
};
#if VW_16 || VW_8
template <>
struct Lanes<8> {
  typedef float v __attribute__((vector_size(32), aligned(4)));
  typedef int vi __attribute__((vector_size(32)));
  static v ev(v a, v b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14); }
  static v od(v a, v b) { return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15); }
  static v zip_lo(v a, v b) { return __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11); }
  static v zip_hi(v a, v b) { return __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15); }
  static v next0(v a, v b) { return __builtin_shufflevector(a, b, 1, 2, 3, 4, 5, 6, 7, 8); }
  static v next1(v a, v b) { return __builtin_shufflevector(a, b, 1, 2, 3, 4, 5, 6, 7, 9); }
};
#endif
#if VW_16
template <>
struct Lanes<16> {
  typedef float v __attribute__((vector_size(64), aligned(4)));
  typedef int vi __attribute__((vector_size(64)));
  static v ev(v a, v b) {
    return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  }
  static v od(v a, v b) {
    return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  }
  static v zip_lo(v a, v b) {
    return __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  }
  static v zip_hi(v a, v b) {
    return __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  }
  static v next0(v a, v b) {
    return __builtin_shufflevector(a, b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
  }
  static v next1(v a, v b) {
    return __builtin_shufflevector(a, b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17);
  }
};
#endif

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

// The TM·L outputs of a row of L tiles in image order, from o[j] (lane l: column j of tile l).
template <int TM, int L>
static inline void interleave(const typename Lanes<L>::v *o, typename Lanes<L>::v *out) {
  typedef Lanes<L> S;
  if constexpr (TM == 2) {
    out[0] = S::zip_lo(o[0], o[1]);
    out[1] = S::zip_hi(o[0], o[1]);
  } else {
    typename S::v a = S::zip_lo(o[0], o[2]), b = S::zip_hi(o[0], o[2]), c = S::zip_lo(o[1], o[3]),
                  e = S::zip_hi(o[1], o[3]);
    out[0] = S::zip_lo(a, c);
    out[1] = S::zip_hi(a, c);
    out[2] = S::zip_lo(b, e);
    out[3] = S::zip_hi(b, e);
  }
}

THREAD_LOCAL Buf<float> vBuf, mBuf, rowBuf;
Buf<float> uBuf, uPacked;  // grown by the calling thread, filled by all
Buf<int> offBuf;

struct Plan {
  int tm, ta, xi;  // outputs and inputs per tile side, transform points
  int th, tw;      // tiles per sample: rows, columns
  int lanes;       // of the transforms' vectors: 4, 8 or 16, at most VW
  int nv;          // vectors per row of tiles
  int rpv;         // rows of tiles per vector: 2 or 4 where a row fills a half or a quarter of one
  int rows;        // tile rows per chunk
  int chunks;      // over the whole batch (a chunk may span samples)
  int ld;          // floats per row of V and M
  size_t vs, ms;   // floats from one point ξ's V (c rows) or M (k rows) to the next
  int wb;          // floats per padded input row the input transform reads
  size_t asz;      // floats of one packed U_ξ
};

// Tiles per sample and the transforms' vectors: the narrowest that holds a row of tiles.
Plan tile_grid(const ConvGeom &g, int tm) {
  Plan p{};
  p.tm = tm;
  p.ta = tm + 2;
  p.xi = p.ta * p.ta;
  p.th = (g.oh + tm - 1) / tm;
  p.tw = (g.ow + tm - 1) / tm;
  p.lanes = 4;
  while (p.lanes < VW && p.lanes < p.tw) p.lanes *= 2;
  // Where a row of tiles fills a half or a quarter of the machine's vector, 2 or 4 rows a vector
  // (at most TM: each row's outputs are then whole vectors): 15×15 maps at 4×4 tiles, 4 tiles a row,
  // take 16 lanes rather than 4. The rows of a vector are those of one sample, or whole samples when
  // the batch splits into them: 7×7 maps at 4×4 tiles (2×2 tiles a sample) take 8 lanes, 2 samples.
  p.rpv = 1;
  auto whole = [&](int r) { return p.th % r == 0 || (r % p.th == 0 && (long)g.n * p.th % r == 0); };
  if ((p.tw & (p.tw - 1)) == 0)
    while (2 * p.rpv * p.tw <= VW && 2 * p.rpv <= tm && whole(2 * p.rpv) && 2 * p.rpv * p.tw >= 4) p.rpv *= 2;
  if (p.rpv > 1) p.lanes = p.rpv * p.tw;
  p.nv = (p.tw + p.lanes - 1) / p.lanes;
  p.wb = tm * p.nv * p.lanes + p.ta;
  return p;
}

// Chunks of whole groups of tile rows where a vector holds several.
int whole_groups(const Plan &p, int rows) {
  return imax(p.rpv, rows / p.rpv * p.rpv);
}

// Tile rows per chunk near `rows` (from ¾ to 1½ of it) whose tiles waste the fewest columns of the
// gemm's last micro-tile: 7 tiles a row (14×14 maps) fill micro-tiles of 32 columns only by 32 rows,
// 4 a row (7×7) by 8; 21 rows of 4 computed 96 columns for 84 tiles.
int whole_micro_tiles(int rows, int tw) {
  int best = rows;
  long bestPad = -1;
  for (int r = imax(1, rows * 3 / 4); r <= imax(1, rows * 3 / 2); r++) {
    long tiles = (long)r * tw, pad = (tiles + NR - 1) / NR * NR - tiles;
    // Padding per tile, compared without division: pad / tiles < bestPad / bestTiles.
    if (bestPad < 0 || pad * best * tw < bestPad * tiles ||
        (pad * best * tw == bestPad * tiles && imax(r - rows, rows - r) < imax(best - rows, rows - best))) {
      best = r;
      bestPad = pad;
    }
  }
  return best;
}

Plan plan_of(const ConvGeom &g, int tm, int threads) {
  Plan p = tile_grid(g, tm);
  int total = g.n * p.th;
  // Tiles per chunk: V and M (XI·(c + k) floats a tile) within about 1 MB, at least two micro-tiles;
  // 512 KB on 8-lane machines (AVX2), with their smaller L2 (Zen 3: 512 KB a core), where that was
  // 1.05–1.15× faster on 64-channel layers (quarter size: slower again).
  int want = imax(2 * NR, (VW >= 16 ? 1 << 18 : 1 << 17) / (p.xi * (g.c + g.k)));
  p.rows = whole_micro_tiles(imax(1, want / p.tw), p.tw);
  // Two chunks a thread at least, when there are enough tile rows (small batches).
  if (threads > 1) p.rows = imin(p.rows, imax(1, total / (2 * threads)));
  p.rows = whole_groups(p, imin(p.rows, total));
  p.chunks = (total + p.rows - 1) / p.rows;
  int tiles = p.rows * p.tw;
  // The gemm reads whole micro-tiles of columns; the input transform stores whole vectors per tile row.
  // Rows start on cache lines: the gemm's vector loads of V would straddle two (7×7 maps at 4×4 tiles
  // need 66 floats a row for 64 tiles).
  p.ld = (imax((tiles + NR - 1) / NR * NR, (p.rows - 1) * p.tw + p.nv * p.lanes) + 15) / 16 * 16;
  // One cache line more than the rows: 16 streams a whole number of 4 KB pages apart would share L1 sets.
  p.vs = (size_t)g.c * p.ld + 16;
  p.ms = (size_t)g.k * p.ld + 16;
  p.asz = packed_a_floats(g.k, g.c);
  return p;
}

// U_ξ[k][c] = (G w[k][c] Gᵀ)_ξ for output channels [k0, k1), ξ outermost (so that packing reads rows),
// one U_ξ to the next `us` floats apart. In double, rounded once.
template <int TM>
void transform_filters(float *u, size_t us, const float *w, const ConvGeom &g, int k0, int k1) {
  typedef Tile<TM> T;
  constexpr int TA = T::TA;
  for (size_t kc = (size_t)k0 * g.c; kc < (size_t)k1 * g.c; kc++) {
    const float *f = w + kc * 9;
    double gg[TA][3];
    for (int j = 0; j < 3; j++) {
      double col[3] = {f[j], f[3 + j], f[6 + j]}, out[TA];
      combine<false>(T::G, col, out);
      for (int a = 0; a < TA; a++) gg[a][j] = out[a];
    }
    for (int a = 0; a < TA; a++) {
      double out[TA];
      combine<false>(T::G, gg[a], out);
      for (int b = 0; b < TA; b++) u[(a * TA + b) * us + kc] = (float)out[b];
    }
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

// y for tile rows [gr0, gr1): Aᵀ M A per tile and output channel, plus the bias.
template <int TM, int L>
void transform_outputs(float *y, const float *m, const float *b, const ConvGeom &g, const Plan &p, int gr0, int gr1) {
  typedef typename Lanes<L>::v V;
  typedef Tile<TM> T;
  constexpr int TA = T::TA;
  size_t xiStride = p.ms;
  // Outputs of a row of tiles a vector row covers, and vectors they take.
  int span = TM * L / p.rpv, per = TM / p.rpv;
  for (int gr = gr0; gr < gr1; gr += p.rpv) {
    int t0 = (gr - gr0) * p.tw;
    for (int k = 0; k < g.k; k++) {
      V bias;
      for (int l = 0; l < L; l++) bias[l] = b ? b[k] : 0.f;
      const float *src = m + (size_t)k * p.ld + t0;
      for (int j = 0; j < p.nv; j++) {
        V s[TM][TA];
        for (int c = 0; c < TA; c++) {
          V col[TA], out[TM];
          for (int a = 0; a < TA; a++) col[a] = *(const V *)(src + j * L + (a * TA + c) * xiStride);
          combine<false>(T::AT, col, out);
          for (int i = 0; i < TM; i++) s[i][c] = out[i];
        }
        int x0 = j * span, nx = imin(span, g.ow - x0);
        V rows[TM][TM];
        for (int i = 0; i < TM; i++) {
          V o[TM];
          combine<false>(T::AT, s[i], o);
          for (int c = 0; c < TM; c++) o[c] += bias;
          interleave<TM, L>(o, rows[i]);
        }
        // Output rows in order down the map (or maps): row i of tile row gr + h is row i of the
        // vectors' part h.
        for (int h = 0; h < p.rpv; h++) {
          int sh = (gr + h) / p.th, ty = (gr + h) % p.th, ny = imin(TM, g.oh - ty * TM);
          float *plane = y + ((size_t)sh * g.k + k) * g.oh * g.ow;
          // Rows of this map the chunk writes up to.
          int end = imin(g.oh, TM * imin(p.th, gr1 - sh * p.th));
          for (int i = 0; i < ny; i++) {
            int oy = ty * TM + i;
            float *dst = plane + (size_t)oy * g.ow + x0;
            const V *part = rows[i] + h * per;
            // Whole vectors when the overflow lands on rows this chunk writes later, else those that
            // fit and the last lanes one by one. (The empty asm keeps the compiler from making these
            // loops calls to memcpy, dearer than them.)
            int whole = nx == span || (p.nv == 1 && span - nx <= (end - 1 - oy) * g.ow) ? per : nx / L;
            for (int c = 0; c < whole; c++) {
              *(V *)(dst + c * L) = part[c];
              __asm__("" ::: "memory");
            }
            int l = whole * L;
            if constexpr (L == 8) {  // 7×7 maps: 4 lanes at once, then 3
              if (nx - l >= 4) {
                *(typename Lanes<4>::v *)(dst + l) = __builtin_shufflevector(part[whole], part[whole], 0, 1, 2, 3);
                l += 4;
              }
            }
            for (; l < nx; l++) {
              dst[l] = part[whole][l - whole * L];
              __asm__("" ::: "memory");
            }
          }
        }
      }
    }
  }
}

template <int TM, int L>
void run_chunks(float *y, const float *x, const float *b, const float *up, const int *off, const ConvGeom &g,
                const Plan &p, int threads) {
  int total = g.n * p.th;
  parallel_for(threads, p.chunks, [&](int, int i) {
    int gr0 = i * p.rows, gr1 = imin(total, gr0 + p.rows), tiles = (gr1 - gr0) * p.tw;
    float *v = vBuf.grow(p.xi * p.vs), *m = mBuf.grow(p.xi * p.ms);
    transform_inputs<TM, L>(v, x, g, p, gr0, gr1, 0, g.c);
    for (int xi = 0; xi < p.xi; xi++) {
      gemm_packed_a_offset(g.k, tiles, g.c, up + xi * p.asz, v + xi * p.vs, off, m + xi * p.ms, p.ld, false);
    }
    transform_outputs<TM, L>(y, m, b, g, p, gr0, gr1);
  });
}

template <int TM>
void forward_tiles(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads) {
  Plan p = plan_of(g, TM, threads);
  // One cache line more than k·c a U_ξ: 36 streams a whole number of 4 KB pages apart would share L1 sets.
  size_t us = (size_t)g.k * g.c + 16;
  float *u = uBuf.grow(p.xi * us), *up = uPacked.grow(p.asz * p.xi);
  // The filters' transform and packing are shared out too: a 256×256 layer's are a few ms.
  int parts = imin(g.k, 4 * threads);
  parallel_for(threads, parts, [&](int, int i) {
    int k0, k1;
    split_range(g.k, parts, i, &k0, &k1);
    transform_filters<TM>(u, us, w, g, k0, k1);
  });
  parallel_for(threads, p.xi, [&](int, int xi) { pack_a_panels(up + xi * p.asz, Mat{u + xi * us, g.c, 1}, g.k, g.c); });
  int *off = offBuf.grow(g.c);
  for (int ci = 0; ci < g.c; ci++) off[ci] = ci * p.ld;
#if VW_16
  if (p.lanes == 16) return run_chunks<TM, 16>(y, x, b, up, off, g, p, threads);
#endif
#if VW_16 || VW_8
  if (p.lanes == 8) return run_chunks<TM, 8>(y, x, b, up, off, g, p, threads);
#endif
  run_chunks<TM, 4>(y, x, b, up, off, g, p, threads);
}

// ---- Weight gradient. With Ŷ = A dY Aᵀ the TA×TA transform of a tile's TM×TM output gradient, the
// gradient of U_ξ is M_ξ = Σ over tiles of V_ξ Ŷ_ξᵀ (in × out channels), and dw = Gᵀ M G per channel
// pair. V_ξ is laid out as the forward's (tiles along the rows), Ŷ_ξ with the output channels along
// the vectors, so the product is that of the direct weight gradient (conv_pixel.cc): a value of V
// broadcast against vectors of Ŷ. Chunks of tile rows and their groups are fixed by the shape alone,
// each group's chunks added to its M in order: the same bits on any thread count.

// Ŷ_ξ[t][k] for the tiles t of global tile rows [gr0, gr1) (t counted from chunk row `base`), all
// output channels, vectors of channels: the TM×TM blocks of dy (zero past the map's edge) are first
// transposed into rows of channels.
template <int TM>
void transform_grads(float *d, const float *dy, const ConvGeom &g, const Plan &p, int kp, size_t ys, int base, int gr0,
                     int gr1) {
  typedef Tile<TM> T;
  constexpr int TA = T::TA;
  int cols = TM * p.tw;
  float *buf = rowBuf.grow((size_t)TM * cols * kp);
  for (int gr = gr0; gr < gr1; gr++) {
    int s = gr / p.th, ty = gr % p.th;
    for (int i = 0; i < TM; i++) {
      int oy = ty * TM + i;
      float *row = buf + (size_t)i * cols * kp;
      if (oy >= g.oh) {
        zero_floats(row, (size_t)cols * kp);
        continue;
      }
      // Row oy of every channel, in 4×4 blocks: the writes stay in this small buffer.
      const float *src = dy + (size_t)s * g.k * g.oh * g.ow + (size_t)oy * g.ow;
      transpose_rows(row, kp, src, (size_t)g.oh * g.ow, g.k, g.ow);
      if (kp > g.k) {
        for (int ox = 0; ox < g.ow; ox++) zero_floats(row + (size_t)ox * kp + g.k, kp - g.k);
      }
      zero_floats(row + (size_t)g.ow * kp, (size_t)(cols - g.ow) * kp);
    }
    float *out = d + (size_t)(gr - base) * p.tw * kp;
    for (int tx = 0; tx < p.tw; tx++) {
      const float *q = buf + (size_t)TM * tx * kp;
      float *o = out + (size_t)tx * kp;
      for (int k = 0; k < kp; k += VW) {
        // A down each column of the block, then across.
        vf u[TA][TM];
        for (int j = 0; j < TM; j++) {
          vf col[TM], r[TA];
          for (int i = 0; i < TM; i++) col[i] = vload(q + ((size_t)i * cols + j) * kp + k);
          combine<true>(T::AT, col, r);
          for (int a = 0; a < TA; a++) u[a][j] = r[a];
        }
        for (int a = 0; a < TA; a++) {
          vf r[TA];
          combine<true>(T::AT, u[a], r);
          for (int b = 0; b < TA; b++) vstore(o + (a * TA + b) * ys + k, r[b]);
        }
      }
    }
  }
}

#if defined(__AVX512F__)
constexpr int GR = 12;  // rows (input channels) of a product tile × GV vectors of output channels
#else                   // 16 registers
constexpr int GR = 6;
#endif
constexpr int GV = 2;

// m[r][v·VW..] += Σ_t v[r·ldv + t]·y[t·kp + v·VW..] for R rows, t < tiles.
template <int R, int NVV>
void grad_tile(int tiles, const float *v, size_t ldv, const float *y, int kp, float *m) {
  vf acc[R][NVV];
  for (int r = 0; r < R; r++) {
    for (int j = 0; j < NVV; j++) acc[r][j] = vload(m + (size_t)r * kp + j * VW);
  }
  for (int t = 0; t < tiles; t++) {
    vf b[NVV];
    for (int j = 0; j < NVV; j++) b[j] = vload(y + (size_t)t * kp + j * VW);
    for (int r = 0; r < R; r++) {
      vf a = vbroadcast(v[r * ldv + t]);
      for (int j = 0; j < NVV; j++) acc[r][j] = vmadd(a, b[j], acc[r][j]);
    }
  }
  for (int r = 0; r < R; r++) {
    for (int j = 0; j < NVV; j++) vstore(m + (size_t)r * kp + j * VW, acc[r][j]);
  }
}

typedef void (*GradFn)(int, const float *, size_t, const float *, int, float *);
template <int NVV, int... R>
struct GradRows {
  static constexpr GradFn fns[sizeof...(R)] = {&grad_tile<R + 1, NVV>...};
};
template <int NVV, int... R>
constexpr GradFn GradRows<NVV, R...>::fns[sizeof...(R)];
#if defined(__AVX512F__)
#define GRAD_ROWS 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
#else
#define GRAD_ROWS 0, 1, 2, 3, 4, 5
#endif
const GradFn *const gradFns[GV] = {GradRows<1, GRAD_ROWS>::fns, GradRows<2, GRAD_ROWS>::fns};

THREAD_LOCAL Buf<float> gV, gD;  // each thread's chunk
Buf<float> gM;                   // the groups' sums: grown by the calling thread, filled by all

// Tiles per chunk of the weight gradient: enough that the chunk's sums outweigh reading and writing
// M (XI·c·k floats), few enough that its V and Ŷ (XI·tiles·(c + k)) stay near 2 MB, in L2 and L3.
// At 6×6 points M is 9 MB for 256 + 256 channels, read and written once a chunk: 256 tiles measured
// 1.15–1.3× faster than 64 there, and no slower on smaller layers.
// On 8-lane machines (AVX2, 512 KB of L2 a core) 64 tiles where M is at most 1 MB: each chunk's V and Ŷ
// then stay near L2, and M costs little; measured 1.15–1.4× faster than 128–256 tiles with 24–64
// channels, while 64 × 128 channels at 6×6 points still wanted 256.
int grad_tiles(const ConvGeom &g, int xi, int kp) {
  if (VW == 8 && (long)xi * g.c * kp <= 1 << 18) return 64;
  if (xi == 36) return 256;
  return imax(64, imin(256, (1 << 19) / (xi * (g.c + g.k))));
}

Plan grad_plan(const ConvGeom &g, int tm, int kp) {
  Plan p = tile_grid(g, tm);
  int total = g.n * p.th;
  p.rows = whole_groups(p, imin(total, imax(1, grad_tiles(g, p.xi, kp) / p.tw)));
  p.chunks = (total + p.rows - 1) / p.rows;
  p.ld = (p.rows - 1) * p.tw + p.nv * p.lanes;
  if (p.ld % 1024 == 0) p.ld += 16;  // rows a whole number of 4 KB pages apart would share L1 sets
  p.vs = (size_t)g.c * p.ld + 16;
  return p;
}

// The chunks are cut into a number of groups fixed by the shape (never by the thread count), each
// summed into its own M by whichever thread claims it, chunk after chunk, with no hand-over between
// threads inside a group; the groups' M are then added in group order. The same bits on any thread
// count, and a chunk's V and Ŷ stay in the cache of the core that made them.
constexpr int GROUPS = 4;
int grad_groups(const Plan &p) {
  return imin(GROUPS, p.chunks);
}

template <int TM, int L>
void grad_chunks(float *msum, size_t mstride, int kp, const float *dy, const float *x, const ConvGeom &g, const Plan &p,
                 int threads) {
  size_t ys = (size_t)p.rows * p.tw * kp + 16, msz = (size_t)g.c * kp;
  int total = g.n * p.th, groups = grad_groups(p);
  int ktiles = (kp + GV * VW - 1) / (GV * VW), ctiles = (g.c + GR - 1) / GR;
  parallel_for(threads, groups, [&](int, int group) {
    float *v = gV.grow(p.xi * p.vs), *d = gD.grow(p.xi * ys), *mg = msum + group * mstride;
    int i0, i1;
    split_range(p.chunks, groups, group, &i0, &i1);
    for (int i = i0; i < i1; i++) {
      int gr0 = i * p.rows, gr1 = imin(total, gr0 + p.rows), tiles = (gr1 - gr0) * p.tw;
      transform_inputs<TM, L>(v, x, g, p, gr0, gr1, 0, g.c);
      transform_grads<TM>(d, dy, g, p, kp, ys, gr0, gr0, gr1);
      for (int xi = 0; xi < p.xi; xi++) {
        for (int kt = 0; kt < ktiles; kt++) {
          int k0 = kt * GV * VW, nvv = imin(GV, (kp - k0) / VW);
          const float *vx = v + xi * p.vs, *dx = d + xi * ys + k0;
          float *mx = mg + xi * msz + k0;
          // Rows split evenly (64 channels as 6 tiles of 10–11 rather than 5 of 12 and one of 4).
          for (int ct = 0; ct < ctiles; ct++) {
            int c0, c1;
            split_range(g.c, ctiles, ct, &c0, &c1);
            gradFns[nvv - 1][c1 - c0 - 1](tiles, vx + (size_t)c0 * p.ld, p.ld, dx, kp, mx + (size_t)c0 * kp);
          }
        }
      }
    }
  });
  // M = M₀ + M₁ + … in group order, element by element, a range per item.
  size_t n = p.xi * msz;
  int parts = imin((int)(n / 4096) + 1, 8 * threads);
  parallel_for(threads, parts, [&](int, int part) {
    int lo, hi;
    split_range((int)n, parts, part, &lo, &hi);
    for (int grp = 1; grp < groups; grp++) {
      const float *q = msum + grp * mstride;
      for (int e = lo; e < hi; e++) msum[e] += q[e];
    }
  });
}

// dw += Gᵀ M G for output channels [k0, k1) and every input channel, in double, output channels
// innermost where M holds them.
template <int TM>
void filter_grads(float *dw, const float *msum, int kp, const ConvGeom &g, int k0, int k1) {
  typedef Tile<TM> T;
  constexpr int TA = T::TA;
  size_t msz = (size_t)g.c * kp;
  for (int ci = 0; ci < g.c; ci++) {
    for (int k = k0; k < k1; k++) {
      const float *m = msum + (size_t)ci * kp + k;
      double t[3][TA];
      for (int b = 0; b < TA; b++) {
        double col[TA], r[3];
        for (int a = 0; a < TA; a++) col[a] = m[(a * TA + b) * msz];
        combine<true>(T::G, col, r);
        for (int a = 0; a < 3; a++) t[a][b] = r[a];
      }
      float *f = dw + ((size_t)k * g.c + ci) * 9;
      for (int a = 0; a < 3; a++) {
        double r[3];
        combine<true>(T::G, t[a], r);
        for (int b = 0; b < 3; b++) f[a * 3 + b] = (float)(f[a * 3 + b] + r[b]);
      }
    }
  }
}

template <int TM>
void backward_filter_tiles(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g, int threads) {
  int kp = (g.k + VW - 1) / VW * VW;
  Plan p = grad_plan(g, TM, kp);
  size_t msz = (size_t)g.c * kp;
  size_t mstride = p.xi * msz + 16;
  float *msum = gM.grow(grad_groups(p) * mstride);
  zero_floats(msum, grad_groups(p) * mstride);
#if VW_16
  if (p.lanes == 16) grad_chunks<TM, 16>(msum, mstride, kp, dy, x, g, p, threads);
#endif
#if VW_16 || VW_8
  if (p.lanes == 8) grad_chunks<TM, 8>(msum, mstride, kp, dy, x, g, p, threads);
#endif
  if (p.lanes == 4) grad_chunks<TM, 4>(msum, mstride, kp, dy, x, g, p, threads);
  // db from dy itself, summed in sample order as the direct kernels do.
  int parts = imin(g.k, 4 * threads);
  parallel_for(threads, parts, [&](int, int part) {
    int k0, k1;
    split_range(g.k, parts, part, &k0, &k1);
    filter_grads<TM>(dw, msum, kp, g, k0, k1);
    if (!db) return;
    long hw = (long)g.oh * g.ow;
    for (int k = k0; k < k1; k++) {
      double sum = 0;
      for (int s = 0; s < g.n; s++) {
        const float *q = dy + ((size_t)s * g.k + k) * hw;
        for (long j = 0; j < hw; j++) sum += q[j];
      }
      db[k] = (float)(db[k] + sum);
    }
  });
}

int forcedTile = 0;  // winograd_force_tile

// Measured against the direct kernels (BENCHMARKS.md): the transforms, the filters' above all, need
// enough pixels and channels to pay off. Below 4096 output pixels a call (batch 8 at 14×14, batch 1
// anywhere but 31×31) or 16 + 16 channels, the direct kernels were faster.
bool fits(const ConvGeom &g) {
  return g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && imin(g.c, g.k) >= 16 && g.c + g.k >= 64 && g.oh >= 4 &&
         g.ow >= 4 && (long)g.n * g.oh * g.ow >= 4096;
}

// 4×4 tiles where their products are at most ¾ of the 2×2 tiles' (36 a tile against 16): their transforms
// cost more a tile, and a map that is not near a multiple of 4 wastes more of them. Measured, process
// CPU time on 1 thread: 4×4 1.0–1.2× faster on 7×7 and 14×14 maps (0.56 and 0.73 of the products),
// 1.15–1.8× on 15×15 and 31×31 (0.56), but 0.84–0.90× on 10×10 (0.81) and 0.87–1.0× on 5×5 (1.0).
int choose_tile(const ConvGeom &g) {
  if (!fits(g)) return 0;
  if (forcedTile) return forcedTile;
  long t4 = (long)((g.oh + 3) / 4) * ((g.ow + 3) / 4), t2 = (long)((g.oh + 1) / 2) * ((g.ow + 1) / 2);
  return 3 * t4 <= t2 ? 4 : 2;
}

}  // namespace

int winograd_tile(const ConvGeom &g) {
  return choose_tile(g);
}

// The weight gradient's 4×4 tiles on 8-lane machines (AVX2) only where their products are at most 0.6 of
// the 2×2 tiles': measured there in process CPU time on 1 thread, batch 128, 2×2 tiles were 1.1–1.2×
// faster on 14×14 maps with 32 and 64 channels (0.73 of the products), 4×4 still faster on 7×7, 15×15
// and 31×31 maps (0.56). The 16-lane machine's measurements kept ¾.
int winograd_grad_tile(const ConvGeom &g) {
  int tm = choose_tile(g);
  if (tm != 4 || forcedTile || VW != 8) return tm;
  long t4 = (long)((g.oh + 3) / 4) * ((g.ow + 3) / 4), t2 = (long)((g.oh + 1) / 2) * ((g.ow + 1) / 2);
  return 15 * t4 <= 4 * t2 ? 4 : 2;
}

void winograd_force_tile(int tm) {
  forcedTile = tm == 2 || tm == 4 ? tm : 0;
}

void winograd_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads) {
  if (winograd_tile(g) == 4) return forward_tiles<4>(y, x, w, b, g, threads);
  forward_tiles<2>(y, x, w, b, g, threads);
}

void winograd_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g, int threads) {
  if (winograd_grad_tile(g) == 4) return backward_filter_tiles<4>(dw, db, dy, x, g, threads);
  backward_filter_tiles<2>(dw, db, dy, x, g, threads);
}
