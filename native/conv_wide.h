// Stride-1 convolutions straight over the zero-padded image (conv_wide.cc), for the layers conv.cc
// takes neither to Winograd nor to the pixel kernels: the product's columns are "wide" output pixels,
// a sample cut into ranges of whole micro-tile columns. conv.cc runs the pieces on the thread pool.
#pragma once

#include "kernels.h"

// A new kernel call: the padded copy of a sample each thread holds is no longer this call's.
void conv_wide_new_call();
// How many ranges of columns (units) the wide product of a sample takes.
int conv_wide_units(const ConvGeom &g);
// Units [u0, u1) of sample xs into ys (+ bias), and of the weight gradient into dw (+ db, may be null)
// from that sample's dy; dw null sums db alone (a frozen weight).
void conv_wide_forward(float *ys, const float *xs, const float *w, const float *b, const ConvGeom &g, int u0, int u1);
void conv_wide_filter_grad(float *dw, float *db, const float *dys, const float *xs, const ConvGeom &g, int u0, int u1);

// db[f] += Σ a[f·lda + j] over j in [j0, j1), summed in double as the reference does; four rows at a
// time, so that four chains of additions overlap (each in the same order as alone).
static inline void add_row_sums(float *db, const float *a, int rows, long lda, int j0, int j1) {
  int f0 = 0;
  for (; f0 + 4 <= rows; f0 += 4) {
    double s[4] = {0, 0, 0, 0};
    for (int j = j0; j < j1; j++) {
      for (int i = 0; i < 4; i++) s[i] += a[(f0 + i) * lda + j];
    }
    for (int i = 0; i < 4; i++) db[f0 + i] = (float)(db[f0 + i] + s[i]);
  }
  for (int f = f0; f < rows; f++) {
    double sum = 0;
    for (int j = j0; j < j1; j++) sum += a[f * lda + j];
    db[f] = (float)(db[f] + sum);
  }
}
