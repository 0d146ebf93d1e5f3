// A transpose of a small row-major block in 4×4 tiles of 4-lane vectors (on every build: SSE, NEON,
// AVX and WebAssembly all have 4-float shuffles), for the kernels that put channels along the vectors.
#pragma once
#include <stddef.h>

// dst[j·ldd + i] = src[i·lds + j] for i < rows, j < cols: moves only, so the same bits as a scalar loop.
static inline void transpose_rows(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols) {
  typedef float f4 __attribute__((vector_size(16), aligned(4)));
  int i = 0;
  for (; i + 4 <= rows; i += 4) {
    const float *s0 = src + i * lds, *s1 = s0 + lds, *s2 = s1 + lds, *s3 = s2 + lds;
    float *d = dst + i;
    int j = 0;
    for (; j + 4 <= cols; j += 4) {
      f4 a = *(const f4 *)(s0 + j), b = *(const f4 *)(s1 + j), c = *(const f4 *)(s2 + j), e = *(const f4 *)(s3 + j);
      f4 abLo = __builtin_shufflevector(a, b, 0, 4, 1, 5), abHi = __builtin_shufflevector(a, b, 2, 6, 3, 7);
      f4 ceLo = __builtin_shufflevector(c, e, 0, 4, 1, 5), ceHi = __builtin_shufflevector(c, e, 2, 6, 3, 7);
      *(f4 *)(d + (j + 0) * ldd) = __builtin_shufflevector(abLo, ceLo, 0, 1, 4, 5);
      *(f4 *)(d + (j + 1) * ldd) = __builtin_shufflevector(abLo, ceLo, 2, 3, 6, 7);
      *(f4 *)(d + (j + 2) * ldd) = __builtin_shufflevector(abHi, ceHi, 0, 1, 4, 5);
      *(f4 *)(d + (j + 3) * ldd) = __builtin_shufflevector(abHi, ceHi, 2, 3, 6, 7);
    }
    for (; j < cols; j++) {
      float *o = d + j * ldd;
      o[0] = s0[j];
      o[1] = s1[j];
      o[2] = s2[j];
      o[3] = s3[j];
    }
  }
  for (; i < rows; i++) {
    for (int j = 0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
  }
}
