// Packed matrix product in the style of BLIS/GotoBLAS: A and B are copied, a block at a time, into
// panels laid out in the order the micro-kernel reads them, so the inner loop is two vector loads and
// MR×NV fused multiply-adds over registers. Few-row or shallow products (batch-1 dense layers)
// skip packing, which would cost as much as the arithmetic.
// The paths without packing are in gemm_unpacked.cc.
#include "base.h"
#include "gemm.h"

#include "simd.h"
#include "threads.h"

namespace {

constexpr int KC = 256;  // depth of a packed block: a KC×NR panel of B stays in L1
// Floats of packed A fetched ahead by the micro-kernel (1 KB): Winograd's packed filters stream from
// L3, one panel after the other, faster than the hardware prefetcher follows.
constexpr int PREFETCH_A = 256;

THREAD_LOCAL Buf<float> packA, packB;

// Four floats, whatever the build's vector width: the unit of the transposing copies below.
typedef float v4 __attribute__((vector_size(16), aligned(4)));

// Copies a 4×4 block: dst row q (at dst + q·ds) is column q of the four rows at src + r·ss. Four
// loads, the transpose in registers, four stores, where element by element it is 16 strided reads.
static inline void transpose4(float *dst, long ds, const float *src, long ss) {
  v4 r0 = *(const v4 *)src, r1 = *(const v4 *)(src + ss), r2 = *(const v4 *)(src + 2 * ss),
     r3 = *(const v4 *)(src + 3 * ss);
  v4 t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5), t1 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5);
  v4 t2 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7), t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
  *(v4 *)dst = __builtin_shufflevector(t0, t1, 0, 1, 4, 5);
  *(v4 *)(dst + ds) = __builtin_shufflevector(t0, t1, 2, 3, 6, 7);
  *(v4 *)(dst + 2 * ds) = __builtin_shufflevector(t2, t3, 0, 1, 4, 5);
  *(v4 *)(dst + 3 * ds) = __builtin_shufflevector(t2, t3, 2, 3, 6, 7);
}

// Ap[panel of `rows` rows][p][r] for rows i0.., depth p0..p0+kc; rows past m are zero.
void pack_a(float *ap, Mat a, int i0, int rows, int m, int p0, int kc) {
  int valid = imin(rows, m - i0), p = 0, r4 = 0;
  if (a.cs == 1) {
    // Rows of A are contiguous: 4×4 blocks of (4 rows, 4 depths) transposed.
    r4 = valid & ~3;
    for (; p + 4 <= kc; p += 4) {
      for (int r = 0; r < r4; r += 4) transpose4(ap + p * rows + r, rows, a.p + (i0 + r) * a.rs + p0 + p, a.rs);
    }
  }
  for (int q = 0; q < kc; q++) {
    for (int r = q < p ? r4 : 0; r < rows; r++) {
      int i = i0 + r;
      ap[q * rows + r] = i < m ? a.p[i * a.rs + (long)(p0 + q) * a.cs] : 0.f;
    }
  }
}

// Bp[panel][p][0..NR) for all columns, zero past n.
void pack_b(float *bp, Mat b, int n, int p0, int kc) {
  for (int j0 = 0; j0 < n; j0 += NR) {
    int cols = imin(NR, n - j0);
    float *dst = bp + (long)(j0 / NR) * kc * NR;
    if (b.cs == 1) {
      for (int p = 0; p < kc; p++) {
        const float *src = b.p + (long)(p0 + p) * b.rs + j0;
        float *d = dst + p * NR;
        if (cols == NR) {
          // By vectors: a copy of unknown length is a call (memory.copy in WebAssembly).
          for (int v = 0; v < NV; v++) vstore(d + v * VW, vload(src + v * VW));
          continue;
        }
        __builtin_memcpy(d, src, cols * sizeof(float));
        for (int j = cols; j < NR; j++) d[j] = 0.f;
      }
    } else if (b.rs == 1) {
      // Columns of B are contiguous (a transposed operand): 4×4 blocks of (4 columns, 4 depths).
      int c4 = cols & ~3, p = 0;
      for (; p + 4 <= kc; p += 4) {
        for (int j = 0; j < c4; j += 4) transpose4(dst + p * NR + j, NR, b.p + (long)(j0 + j) * b.cs + p0 + p, b.cs);
      }
      for (int q = 0; q < kc; q++) {
        for (int j = q < p ? c4 : 0; j < NR; j++)
          dst[q * NR + j] = j < cols ? b.p[(long)(j0 + j) * b.cs + p0 + q] : 0.f;
      }
    } else {
      for (int j = 0; j < NR; j++) {
        if (j >= cols) {
          for (int p = 0; p < kc; p++) dst[p * NR + j] = 0.f;
          continue;
        }
        const float *src = b.p + (long)(j0 + j) * b.cs + (long)p0 * b.rs;
        for (int p = 0; p < kc; p++) dst[p * NR + j] = src[p * b.rs];
      }
    }
  }
}

// c[R×NR] (+)= Ap[kc][R]·B, where row p of B is the NR floats at b + off[p] (a packed panel, or a
// row of an image: that is how convolutions skip im2col); `cols` valid columns of c. Grouped (G), vector
// v of row p is instead the VW floats at b + base[v] + off[p].
template <int R, bool G>
void micro(int kc, const float *ap, const float *b, const int *base, const int *off, float *c, long ldc, int cols,
           bool add) {
  vf acc[R][NV];
  for (int r = 0; r < R; r++) {
    for (int v = 0; v < NV; v++) acc[r][v] = vf{};
  }
  const float *bg[NV];
  for (int v = 0; v < NV; v++) bg[v] = G ? b + base[imin(v, (cols - 1) / VW)] : b;
  for (int p = 0; p < kc; p++) {
    vf bv[NV];
    __builtin_prefetch(ap + p * R + PREFETCH_A);
    for (int v = 0; v < NV; v++) bv[v] = G ? vload(bg[v] + off[p]) : vload(b + off[p] + v * VW);
    for (int r = 0; r < R; r++) {
      vf a = vbroadcast(ap[p * R + r]);
      for (int v = 0; v < NV; v++) acc[r][v] = vmadd(a, bv[v], acc[r][v]);
    }
  }
  if (cols == NR) {
    for (int r = 0; r < R; r++) {
      float *cr = c + r * ldc;
      for (int v = 0; v < NV; v++) vstore(cr + v * VW, add ? vload(cr + v * VW) + acc[r][v] : acc[r][v]);
    }
    return;
  }
  for (int r = 0; r < R; r++) {
    float t[NR];
    for (int v = 0; v < NV; v++) vstore(t + v * VW, acc[r][v]);
    float *cr = c + r * ldc;
    for (int j = 0; j < cols; j++) cr[j] = add ? cr[j] + t[j] : t[j];
  }
}

typedef void (*MicroFn)(int, const float *, const float *, const int *, const int *, float *, long, int, bool);
template <bool G, int... R>
struct MicroTable {
  static constexpr MicroFn fns[sizeof...(R)] = {&micro<R + 1, G>...};
};
template <bool G, int... R>
constexpr MicroFn MicroTable<G, R...>::fns[sizeof...(R)];
#if defined(__AVX512F__)
#define MICRO_ROWS 0, 1, 2, 3, 4, 5, 6, 7
#else
#define MICRO_ROWS 0, 1, 2, 3, 4, 5
#endif
using Micros = MicroTable<false, MICRO_ROWS>;
using GroupMicros = MicroTable<true, MICRO_ROWS>;

// Rows split evenly into panels of at most MR, so m = 10 runs as 5 + 5 rather than 8 + 2.
int panel_rows(int m) {
  int panels = (m + MR - 1) / MR;
  return (m + panels - 1) / panels;
}

// C (+)= A[:, p0..p0+kc]·B for B rows at b + off[p] + (column block)·step, or, given base, vector s of
// each row at b + base[s] + off[p].
void run_panels(int m, int n, int kc, Mat a, int p0, const float *b, const int *off, long step, const int *base,
                float *c, long ldc, bool add) {
  int rows = panel_rows(m);
  float *ap = packA.grow((size_t)kc * MR);
  for (int i0 = 0; i0 < m; i0 += rows) {
    int rr = imin(rows, m - i0);
    pack_a(ap, a, i0, rr, m, p0, kc);
    for (int j0 = 0; j0 < n; j0 += NR) {
      float *cij = c + (long)i0 * ldc + j0;
      if (base)
        GroupMicros::fns[rr - 1](kc, ap, b, base + j0 / VW, off, cij, ldc, imin(NR, n - j0), add);
      else
        Micros::fns[rr - 1](kc, ap, b + (j0 / NR) * step, nullptr, off, cij, ldc, imin(NR, n - j0), add);
    }
  }
}

struct PanelOffsets {
  int off[KC];
  PanelOffsets() {
    for (int p = 0; p < KC; p++) off[p] = p * NR;
  }
};
const PanelOffsets panelOffsets;

void gemm_packed(int m, int n, int k, Mat a, Mat b, float *c, long ldc, bool accumulate) {
  int npanB = (n + NR - 1) / NR;
  float *bp = packB.grow((size_t)KC * npanB * NR);
  for (int p0 = 0; p0 < k; p0 += KC) {
    int kc = imin(KC, k - p0);
    pack_b(bp, b, n, p0, kc);
    run_panels(m, n, kc, a, p0, bp, panelOffsets.off, (long)kc * NR, nullptr, c, ldc, accumulate || p0 > 0);
  }
}

}  // namespace

void gemm_rows_offset(int m, int n, int k, Mat a, const float *b, const int *off, float *c, long ldc, bool accumulate) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  run_panels(m, n, k, a, 0, b, off, NR, nullptr, c, ldc, accumulate);
}

void gemm_groups_offset(int m, int groups, int k, Mat a, const float *b, const int *base, const int *off, float *c,
                        long ldc, bool accumulate) {
  if (m <= 0 || groups <= 0 || k <= 0) return;
  run_panels(m, groups * VW, k, a, 0, b, off, 0, base, c, ldc, accumulate);
}

size_t packed_a_floats(int m, int k) {
  int rows = panel_rows(m);
  return (size_t)(m + rows - 1) / rows * rows * k;
}

void pack_a_panels(float *ap, Mat a, int m, int k) {
  int rows = panel_rows(m);
  for (int i0 = 0; i0 < m; i0 += rows) pack_a(ap + (size_t)i0 * k, a, i0, imin(rows, m - i0), m, 0, k);
}

void gemm_packed_a_offset(int m, int n, int k, const float *ap, const float *b, const int *off, float *c, long ldc,
                          bool accumulate) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  int rows = panel_rows(m);
  // Column tiles outermost: a k×NR tile of B stays in L1 while the panels of A (in L2) pass by it.
  for (int j0 = 0; j0 < n; j0 += NR) {
    for (int i0 = 0; i0 < m; i0 += rows) {
      int rr = imin(rows, m - i0);
      Micros::fns[rr - 1](k, ap + (size_t)i0 * k, b + j0, nullptr, off, c + (long)i0 * ldc + j0, ldc, imin(NR, n - j0),
                          accumulate);
    }
  }
}

void gemm_packed_a_groups(int m, int groups, int k, const float *ap, const float *b, const int *base, const int *off,
                          float *c, long ldc, bool accumulate) {
  if (m <= 0 || groups <= 0 || k <= 0) return;
  int rows = panel_rows(m), n = groups * VW;
  for (int i0 = 0; i0 < m; i0 += rows) {
    int rr = imin(rows, m - i0);
    for (int j0 = 0; j0 < n; j0 += NR)
      GroupMicros::fns[rr - 1](k, ap + (size_t)i0 * k, b, base + j0 / VW, off, c + (long)i0 * ldc + j0, ldc,
                               imin(NR, n - j0), accumulate);
  }
}

void gemm(int m, int n, int k, Mat a, Mat b, float *c, long ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (int i = 0; i < m; i++) __builtin_memset(c + i * ldc, 0, n * sizeof(float));
    return;
  }
  // Few rows (batch-1 dense layers) or a shallow product (the batch-1 weight gradient, an outer
  // product): streaming rows of b beats packing, which would cost as much as the arithmetic.
  if ((m <= 4 || k <= 4) && b.cs == 1) return gemm_rows(m, n, k, a, b, c, ldc, accumulate);
  if (m <= 4 && b.rs == 1 && a.cs == 1) return gemm_dots(m, n, k, a, b, c, ldc, accumulate);
  gemm_packed(m, n, k, a, b, c, ldc, accumulate);
}

void gemm_threads(int m, int n, int k, Mat a, Mat b, float *c, long ldc, bool accumulate, int threads) {
  int tiles = (n + NR - 1) / NR, rows = panel_rows(imax(m, 1)), panels = (m + rows - 1) / rows;
  bool packed = m > 4 && k > 4;
  if (threads <= 1 || k <= 0 || (long)m * n * k < (1 << 18) || (packed ? panels : tiles) <= 1)
    return gemm(m, n, k, a, b, c, ldc, accumulate);
  if (!packed) {
    int parts = imin(tiles, 4 * threads);
    parallel_for(threads, parts, [&](int, int i) {
      int t0, t1;
      split_range(tiles, parts, i, &t0, &t1);
      int j0 = t0 * NR, j1 = imin(n, t1 * NR);
      if (j0 < j1) gemm(m, j1 - j0, k, a, Mat{b.p + (long)j0 * b.cs, b.rs, b.cs}, c + j0, ldc, accumulate);
    });
    return;
  }
  // B packed once per KC block on all threads, then the panels of A shared out: each packed once, and
  // every element summed as by gemm.
  float *bp = packB.grow((size_t)KC * tiles * NR);
  int bparts = imin(tiles, 2 * threads), aparts = imin(panels, 4 * threads);
  for (int p0 = 0; p0 < k; p0 += KC) {
    int kc = imin(KC, k - p0);
    parallel_for(threads, bparts, [&](int, int i) {
      int t0, t1;
      split_range(tiles, bparts, i, &t0, &t1);
      if (t0 < t1)
        pack_b(bp + (long)t0 * kc * NR, Mat{b.p + (long)t0 * NR * b.cs, b.rs, b.cs}, imin(n, t1 * NR) - t0 * NR, p0,
               kc);
    });
    parallel_for(threads, aparts, [&](int, int i) {
      int q0, q1;
      split_range(panels, aparts, i, &q0, &q1);
      float *ap = packA.grow((size_t)kc * MR);
      for (int q = q0; q < q1; q++) {
        int i0 = q * rows, rr = imin(rows, m - i0);
        pack_a(ap, a, i0, rr, m, p0, kc);
        for (int j0 = 0; j0 < n; j0 += NR)
          Micros::fns[rr - 1](kc, ap, bp + (long)(j0 / NR) * kc * NR, nullptr, panelOffsets.off,
                              c + (long)i0 * ldc + j0, ldc, imin(NR, n - j0), accumulate || p0 > 0);
      }
    });
  }
}

int simd_width() {
  return VW;
}
int tile_width() {
  return NR;
}
