// What the forward (conv_pixel.cc) and the weight gradient (conv_pixel_grad.cc) of the pixel kernels
// share: their register tiles, and the zero-padded copy of a sample they read in place, with the offsets
// of its taps. Each file compiles its own copy (an unnamed namespace, as in batchnorm.h).
#pragma once

#include "base.h"
#include "conv_pixel.h"
#include "simd.h"

namespace {

#if defined(__AVX512F__)
constexpr int FP = 12;  // forward tile: pixels (× FV vectors: 24 accumulators of 32 registers)
constexpr int FV = 2;
constexpr int GT = 12;  // weight-gradient tile: taps (× GV vectors)
constexpr int GV = 2;
#else  // 16 registers
constexpr int FP = 6;
constexpr int FV = 2;
constexpr int GT = 6;
constexpr int GV = 2;
#endif

#if defined(__AVX512F__)
#define UPTO_TILE 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
#define UPTO_HALF 0, 1, 2, 3, 4, 5
#define UPTO_THIRD 0, 1, 2, 3
#define UPTO_QUARTER 0, 1, 2
#else
#define UPTO_TILE 0, 1, 2, 3, 4, 5
#define UPTO_HALF 0, 1, 2
#define UPTO_THIRD 0, 1
#define UPTO_QUARTER 0
#endif

Buf<int> tapOff;  // used under one call at a time

struct Dims {
  int hp, wp, kp;  // padded input; output channels rounded up to whole vectors
};

inline Dims dims_of(const ConvGeom &g) {
  return Dims{g.h + 2 * g.ph, g.w + 2 * g.pw, (g.k + VW - 1) / VW * VW};
}

// Channels [c0, c1) of sample x (c×h×w) into dst, zero-padded to c×hp×wp.
inline void pad_into(float *dst, const float *x, const ConvGeom &g, const Dims &d, int c0, int c1) {
  size_t plane = (size_t)d.hp * d.wp;
  for (int ci = c0; ci < c1; ci++) {
    float *p = dst + ci * plane;
    zero_floats(p, (size_t)g.ph * d.wp);
    for (int iy = 0; iy < g.h; iy++) {
      float *row = p + (size_t)(iy + g.ph) * d.wp;
      zero_floats(row, g.pw);
      copy_floats(row + g.pw, x + ((size_t)ci * g.h + iy) * g.w, g.w);
      zero_floats(row + g.pw + g.w, d.wp - g.pw - g.w);
    }
    zero_floats(p + (size_t)(g.ph + g.h) * d.wp, (size_t)(d.hp - g.ph - g.h) * d.wp);
  }
}

inline size_t padded_size(const ConvGeom &g, const Dims &d) {
  return (size_t)g.c * d.hp * d.wp + 16;
}

inline const int *tap_offsets(const ConvGeom &g, const Dims &d) {
  int *off = tapOff.grow((size_t)g.c * g.kh * g.kw);
  fill_tap_offsets(off, g, d.hp, d.wp);
  return off;
}

}  // namespace
