// Vector type and register-tile sizes for the machine the addon is compiled on (-march=native):
// GCC/Clang vector extensions become AVX-512, AVX2/FMA, SSE or NEON instructions as available.
#pragma once
#include <stddef.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
constexpr int VW = 16;  // floats per vector
constexpr int MR = 8;   // micro-tile rows: 8×2 accumulators + 2 loads + 1 broadcast fit 32 registers
#elif defined(__AVX__)
constexpr int VW = 8;
constexpr int MR = 6;   // 6×2 accumulators + 3 fit 16 registers
#else  // SSE, NEON, WebAssembly SIMD128: 16 registers of 4 floats
constexpr int VW = 4;
constexpr int MR = 6;
#endif
constexpr int NR = 2 * VW;  // micro-tile columns

typedef float vf __attribute__((vector_size(VW * 4), aligned(4)));  // unaligned loads/stores allowed
typedef int vi __attribute__((vector_size(VW * 4), aligned(4)));    // comparison masks

static inline vf vload(const float* p) { return *reinterpret_cast<const vf*>(p); }
static inline void vstore(float* p, vf v) { *reinterpret_cast<vf*>(p) = v; }
// Through intrinsics: vf{} + x would add a zero first, and a lane-by-lane fill is split in halves.
#if defined(__AVX512F__)
static inline vf vbroadcast(float x) { return (vf)_mm512_set1_ps(x); }
#elif defined(__AVX__)
static inline vf vbroadcast(float x) { return (vf)_mm256_set1_ps(x); }
#else
static inline vf vbroadcast(float x) { return vf{} + x; }
#endif
static inline float vsum(vf v) {
  float s = 0;
  for (int i = 0; i < VW; i++) s += v[i];
  return s;
}
