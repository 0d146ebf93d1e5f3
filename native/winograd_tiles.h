// What the forward (winograd.cc) and the weight gradient (winograd_grad.cc) of the Winograd convolutions
// share: the transforms of F(2×2, 3×3) and F(4×4, 3×3), the products by their tables (combine), vectors of
// L lanes over a row of tiles, and the grid of tiles of a geometry (Plan). In an unnamed namespace, as in
// batchnorm.h: each file compiles its own copy, which its loops inline as when both were one file.
#pragma once

#include "base.h"
#include "kernels.h"
#include "simd.h"

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
inline Plan tile_grid(const ConvGeom &g, int tm) {
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
inline int whole_groups(const Plan &p, int rows) {
  return imax(p.rpv, rows / p.rpv * p.rpv);
}

}  // namespace
