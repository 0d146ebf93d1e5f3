// Matrix products on the build's vectors: the packed product (gemm.cc) and the paths without packing
// (gemm_unpacked.cc), which the convolutions, the dense layers and Winograd's transforms run on.
#pragma once
#include <stddef.h>

// A strided matrix view: element (i, j) is p[i * rs + j * cs], so a transpose is a swap of strides.
struct Mat {
  const float *p;
  long rs, cs;
};

// C[m×n] (row stride ldc) = A[m×k]·B[k×n] (+ C when accumulate). Single-threaded; callers split work.
void gemm(int m, int n, int k, Mat a, Mat b, float *c, long ldc, bool accumulate);

// gemm on `threads` threads, each taking whole micro-tile columns of C: every element is summed in the
// same order as by gemm, so the result does not depend on the thread count.
void gemm_threads(int m, int n, int k, Mat a, Mat b, float *c, long ldc, bool accumulate, int threads);

// C[m×n] (+)= A[m×k]·B where row p of B is b + off[p]: B is read in place (an image row for a stride-1
// convolution), up to tile_width() − 1 (< 32) floats past column n − 1, which the caller must keep readable.
void gemm_rows_offset(int m, int n, int k, Mat a, const float *b, const int *off, float *c, long ldc, bool accumulate);

// gemm_rows_offset with C's columns in groups of simd_width(): vector s of row p of B is read at
// b + base[s] + off[p] (a convolution's output rows, each vector where its pixels lie); C has
// groups·simd_width() columns.
void gemm_groups_offset(int m, int groups, int k, Mat a, const float *b, const int *base, const int *off, float *c,
                        long ldc, bool accumulate);

// A[m×k] packed once into the panels the micro-kernel reads, for products that reuse it (Winograd's
// transformed filters): packed_a_floats(m, k) floats.
size_t packed_a_floats(int m, int k);
void pack_a_panels(float *ap, Mat a, int m, int k);
// gemm_rows_offset with A already packed by pack_a_panels.
void gemm_packed_a_offset(int m, int n, int k, const float *ap, const float *b, const int *off, float *c, long ldc,
                          bool accumulate);
// gemm_groups_offset with A already packed by pack_a_panels.
void gemm_packed_a_groups(int m, int groups, int k, const float *ap, const float *b, const int *base, const int *off,
                          float *c, long ldc, bool accumulate);

// C[m×n] += A·Bᵀ as dot products: C[i][j] += Σ_p a[i·lda + p]·b[off[j] + p], with k a multiple of the
// vector width (callers zero-pad a).
void gemm_nt_offset(int m, int n, int k, const float *a, long lda, const float *b, const int *off, float *c, long ldc);
// The same over groups of simd_width() floats: C[i][j] += Σ_s Σ_l a[i·lda + s·VW + l]·b[off[j] + base[s] + l].
void gemm_nt_groups(int m, int n, int groups, const float *a, long lda, const float *b, const int *base, const int *off,
                    float *c, long ldc);

// gemm's paths for few rows or a shallow product, without packing (gemm_unpacked.cc): rows of B streamed
// (b.cs == 1), or dot products (b.rs == 1, a.cs == 1).
void gemm_rows(int m, int n, int k, Mat a, Mat b, float *c, long ldc, bool accumulate);
void gemm_dots(int m, int n, int k, Mat a, Mat b, float *c, long ldc, bool accumulate);

// Floats per SIMD vector, for callers that pad to it, and columns of the micro-tile.
int simd_width();
int tile_width();
