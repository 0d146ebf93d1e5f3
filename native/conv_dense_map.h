// Stride-1 convolutions on maps no bigger than the kernel, as one dense matrix product
// (conv_dense_map.cc); native/conv.cc takes them there first where they fit.
#pragma once
#include "kernels.h"

bool conv_dense_map_fits(const ConvGeom &g);
void conv_dense_map_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads);
void conv_dense_map_backward_data(float *dx, const float *dy, const float *w, const ConvGeom &g, int threads);
// dw must not be null (conv.cc sums a frozen weight's bias alone, with the same bits).
void conv_dense_map_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g,
                                    int threads);
