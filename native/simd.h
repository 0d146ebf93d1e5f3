// Vector type and register-tile sizes for the instruction set the code is compiled for (binding.gyp's
// variants): GCC/Clang vector extensions become AVX-512, AVX2/FMA, SSE or NEON instructions.
#pragma once
#include <stddef.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
#define SIMD_NAME "avx512"
#elif defined(__AVX2__) && defined(__FMA__)
#define SIMD_NAME "avx2-fma"
#elif defined(__AVX2__)
#define SIMD_NAME "avx2"
#elif defined(__AVX__)
#define SIMD_NAME "avx"
#elif defined(__SSE2__)
#define SIMD_NAME "sse2"
#elif defined(__ARM_NEON)
#define SIMD_NAME "neon"
#elif defined(__wasm_simd128__)
#define SIMD_NAME "simd128"
#else
#define SIMD_NAME "scalar"
#endif

#if defined(__AVX512F__)
#define VW_16 1
constexpr int VW = 16;  // floats per vector
constexpr int MR = 8;   // micro-tile rows: 8×2 accumulators + 2 loads + 1 broadcast fit 32 registers
constexpr int NV = 2;   // micro-tile columns, in vectors
#elif defined(__AVX__)
#define VW_8 1
constexpr int VW = 8;
constexpr int MR = 6;  // 6×2 accumulators + 3 fit 16 registers
constexpr int NV = 2;
#elif defined(__wasm__)
// V8 on x86-64 keeps one of the 16 vector registers for itself, and without relaxed SIMD needs one more
// for each product before its sum: 6 × 2 accumulators spill there, 5 × 2 do not.
constexpr int VW = 4;
constexpr int MR = 5;
constexpr int NV = 2;
#else  // SSE, NEON: 16 registers of 4 floats
constexpr int VW = 4;
constexpr int MR = 6;
constexpr int NV = 2;
#endif
constexpr int NR = NV * VW;  // micro-tile columns

typedef float vf __attribute__((vector_size(VW * 4), aligned(4)));  // unaligned loads/stores allowed
typedef int vi __attribute__((vector_size(VW * 4), aligned(4)));    // comparison masks

static inline vf vload(const float *p) {
  return *reinterpret_cast<const vf *>(p);
}
static inline void vstore(float *p, vf v) {
  *reinterpret_cast<vf *>(p) = v;
}
// Through intrinsics: vf{} + x would add a zero first, and a lane-by-lane fill is split in halves.
#if defined(__AVX512F__)
static inline vf vbroadcast(float x) {
  return (vf)_mm512_set1_ps(x);
}
#elif defined(__AVX__)
static inline vf vbroadcast(float x) {
  return (vf)_mm256_set1_ps(x);
}
#else  // 4 lanes: one splat (vf{} + x would add a zero, which is no identity for −0, and cannot be dropped)
static inline vf vbroadcast(float x) {
  return vf{x, x, x, x};
}
#endif
// acc + a·b. WebAssembly's relaxed SIMD (built with -mrelaxed-simd) makes it one multiply-add, which
// the engine may round once (fused) or twice: both stay within the kernels' tolerance. Elsewhere it
// is the product and the sum, as before.
#if defined(__wasm_relaxed_simd__)
typedef float f32x4 __attribute__((vector_size(16)));
#if __has_builtin(__builtin_wasm_relaxed_madd_f32x4)
static inline vf vmadd(vf a, vf b, vf acc) {
  return (vf)__builtin_wasm_relaxed_madd_f32x4((f32x4)a, (f32x4)b, (f32x4)acc);
}
#else  // clang 14 names it fma and encodes it with the proposal's early opcode: tools/build-kernels.mjs fixes that
static inline vf vmadd(vf a, vf b, vf acc) {
  return (vf)__builtin_wasm_fma_f32x4((f32x4)a, (f32x4)b, (f32x4)acc);
}
#endif
#else
static inline vf vmadd(vf a, vf b, vf acc) {
  return acc + a * b;
}
#endif
// Even and odd lanes of the 2·VW floats at p (a stride-2 window row).
#if VW_16
#define EVENS 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define ODDS 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#elif VW_8
#define EVENS 0, 2, 4, 6, 8, 10, 12, 14
#define ODDS 1, 3, 5, 7, 9, 11, 13, 15
#else
#define EVENS 0, 2, 4, 6
#define ODDS 1, 3, 5, 7
#endif
static inline vf vevens(const float *p) {
  return __builtin_shufflevector(vload(p), vload(p + VW), EVENS);
}
static inline vf vodds(const float *p) {
  return __builtin_shufflevector(vload(p), vload(p + VW), ODDS);
}
static inline vf vselect(vi take, vf a, vf b) {
  return (vf)(((vi)a & take) | ((vi)b & ~take));
}

// Sum of the lanes, as a tree of halvings (a lane-by-lane sum would be VW − 1 dependent additions).
#if defined(__AVX512F__)
static inline float vsum(vf v) {
  return _mm512_reduce_add_ps((__m512)v);
}
#elif defined(__AVX__)
static inline float vsum(vf v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128((__m256)v), _mm256_extractf128_ps((__m256)v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  return _mm_cvtss_f32(_mm_add_ss(x, _mm_shuffle_ps(x, x, 1)));
}
#else
static inline float vsum(vf v) {
  return (v[0] + v[2]) + (v[1] + v[3]);
}
#endif
