// Matrix products without packing (gemm.h), where packing would cost as much as the arithmetic or the
// operands are read in place: gemm's few-row and shallow products, streaming rows of B or as dot products,
// and the dot-product tiles of gemm_nt_offset and gemm_nt_groups (the stride-1 weight gradient of
// conv_wide.cc). The packed product is in gemm.cc.
#include "base.h"
#include "gemm.h"
#include "simd.h"

// Few rows: c[i,:] (+)= Σ_p a[i,p]·b[p,:] streaming rows of b (b.cs == 1), four rows of b per pass so
// that c is loaded and stored once per four multiply-adds.
void gemm_rows(int m, int n, int k, Mat a, Mat b, float *c, long ldc, bool accumulate) {
  for (int i = 0; i < m; i++) {
    float *ci = c + i * ldc;
    if (!accumulate) zero_floats(ci, n);
    int p = 0;
    for (; p + 4 <= k; p += 4) {
      const float *ai = a.p + i * a.rs + p * a.cs;
      float s0 = ai[0], s1 = ai[a.cs], s2 = ai[2 * a.cs], s3 = ai[3 * a.cs];
      const float *b0 = b.p + p * b.rs, *b1 = b0 + b.rs, *b2 = b1 + b.rs, *b3 = b2 + b.rs;
      vf v0 = vbroadcast(s0), v1 = vbroadcast(s1), v2 = vbroadcast(s2), v3 = vbroadcast(s3);
      int j = 0;
      for (; j + VW <= n; j += VW) {
        vstore(ci + j,
               vload(ci + j) + v0 * vload(b0 + j) + v1 * vload(b1 + j) + v2 * vload(b2 + j) + v3 * vload(b3 + j));
      }
      for (; j < n; j++) ci[j] += s0 * b0[j] + s1 * b1[j] + s2 * b2[j] + s3 * b3[j];
    }
    for (; p < k; p++) {
      float av = a.p[i * a.rs + p * a.cs];
      const float *bp = b.p + p * b.rs;
      vf va = vbroadcast(av);
      int j = 0;
      for (; j + VW <= n; j += VW) vstore(ci + j, vload(ci + j) + va * vload(bp + j));
      for (; j < n; j++) ci[j] += av * bp[j];
    }
  }
}

// Few rows with columns of b contiguous (b.rs == 1, a.cs == 1): dot products, four columns at a time.
void gemm_dots(int m, int n, int k, Mat a, Mat b, float *c, long ldc, bool accumulate) {
  for (int i = 0; i < m; i++) {
    const float *ai = a.p + i * a.rs;
    int j = 0;
    for (; j < n; j += 4) {
      int cols = imin(4, n - j);
      const float *bj[4];
      for (int q = 0; q < 4; q++) bj[q] = b.p + (long)(j + imin(q, cols - 1)) * b.cs;
      vf s0{}, s1{}, s2{}, s3{};
      int p = 0;
      for (; p + VW <= k; p += VW) {
        vf av = vload(ai + p);
        s0 = vmadd(av, vload(bj[0] + p), s0);
        s1 = vmadd(av, vload(bj[1] + p), s1);
        s2 = vmadd(av, vload(bj[2] + p), s2);
        s3 = vmadd(av, vload(bj[3] + p), s3);
      }
      float t[4] = {vsum(s0), vsum(s1), vsum(s2), vsum(s3)};
      for (; p < k; p++) {
        for (int q = 0; q < 4; q++) t[q] += ai[p] * bj[q][p];
      }
      for (int q = 0; q < cols; q++) c[i * ldc + j + q] = accumulate ? c[i * ldc + j + q] + t[q] : t[q];
    }
  }
}

namespace {

// Rows of a dot-product tile less one, for the tables below: 1 to 8 (AVX-512) or 6, as gemm.cc's micro-tiles.
#if defined(__AVX512F__)
#define TILE_ROWS 0, 1, 2, 3, 4, 5, 6, 7
#else
#define TILE_ROWS 0, 1, 2, 3, 4, 5
#endif

// Columns of C per dot-product tile: R×NC accumulators + NC + 1 loads fit the register file.
#if defined(__AVX512F__)
constexpr int NC = 3;
#else
constexpr int NC = 2;
#endif

// Dot-product tile for gemm_nt_offset: c[r][j] += Σ_p a[r·lda + p]·b[off[j] + p] for R rows, NC columns;
// grouped (G), b[off[j] + base[p / VW] + p % VW].
// C columns: NC, or 2·NC for the few-row tiles (see nt_offset).
template <int R, int C, bool G>
void nt_tile(int k, const float *a, long lda, const float *b, const int *base, const int *off, float *c, long ldc,
             int cols) {
  vf acc[R][C];
  const float *bj[C];
  for (int j = 0; j < C; j++) bj[j] = b + off[imin(j, cols - 1)];
  for (int r = 0; r < R; r++) {
    for (int j = 0; j < C; j++) acc[r][j] = vf{};
  }
  for (int p = 0; p < k; p += VW) {
    vf x[C];
    for (int j = 0; j < C; j++) x[j] = vload(bj[j] + (G ? base[p / VW] : p));
    for (int r = 0; r < R; r++) {
      vf d = vload(a + r * lda + p);
      for (int j = 0; j < C; j++) acc[r][j] = vmadd(d, x[j], acc[r][j]);
    }
  }
  for (int r = 0; r < R; r++) {
    for (int j = 0; j < cols; j++) c[r * ldc + j] += vsum(acc[r][j]);
  }
}

typedef void (*NtFn)(int, const float *, long, const float *, const int *, const int *, float *, long, int);
template <bool G, int... R>
struct NtTable {
  static constexpr NtFn fns[sizeof...(R)] = {&nt_tile<R + 1, NC, G>...};
  static constexpr NtFn wide[2] = {&nt_tile<1, 2 * NC, G>, &nt_tile<2, 2 * NC, G>};
};
template <bool G, int... R>
constexpr NtFn NtTable<G, R...>::fns[sizeof...(R)];
template <bool G, int... R>
constexpr NtFn NtTable<G, R...>::wide[2];
using NtTiles = NtTable<false, TILE_ROWS>;
using GroupNtTiles = NtTable<true, TILE_ROWS>;

// Rows of a dot-product tile. V8 keeps one of x86's 16 vector registers for itself: 5 × NC accumulators
// with their loads spill there (measured 2–3× slower than 4 rows).
#if defined(__wasm__)
constexpr int NT_ROWS = 4;
#else
constexpr int NT_ROWS = MR;
#endif

void nt_offset(int m, int n, int k, const float *a, long lda, const float *b, const int *base, const int *off, float *c,
               long ldc) {
  int rows = m > 0 ? (m + (m + NT_ROWS - 1) / NT_ROWS - 1) / ((m + NT_ROWS - 1) / NT_ROWS) : 1;
  const NtFn *fns = base ? GroupNtTiles::fns : NtTiles::fns, *wide = base ? GroupNtTiles::wide : NtTiles::wide;
  for (int i0 = 0; i0 < m; i0 += rows) {
    int rr = imin(rows, m - i0);
    // A panel of one or two rows (10 rows as 4 + 4 + 2 with 4-row tiles: seed-cifar's 10 filters in
    // WebAssembly) takes twice the columns, so that it still does R·C multiply-adds per R + C loads.
    int nc = rr <= 2 && NT_ROWS >= 4 ? 2 * NC : NC;
    for (int j = 0; j < n; j += nc) {
      (nc == NC ? fns[rr - 1] : wide[rr - 1])(k, a + i0 * lda, lda, b, base, off + j, c + i0 * ldc + j, ldc,
                                              imin(nc, n - j));
    }
  }
}

}  // namespace

void gemm_nt_offset(int m, int n, int k, const float *a, long lda, const float *b, const int *off, float *c, long ldc) {
  nt_offset(m, n, k, a, lda, b, nullptr, off, c, ldc);
}

void gemm_nt_groups(int m, int n, int groups, const float *a, long lda, const float *b, const int *base, const int *off,
                    float *c, long ldc) {
  nt_offset(m, n, groups * VW, a, lda, b, base, off, c, ldc);
}
