// 3×3 stride-1 convolutions by Winograd's F(2×2, 3×3) (native/winograd.cc): 16 multiply-adds per
// 2×2 outputs and channel pair instead of 36, forward (and so backward-data) and weight gradient;
// native/conv.cc picks them where they fit.
#pragma once
#include "kernels.h"

bool winograd_fits(const ConvGeom &g);
void winograd_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads);
bool winograd_grad_fits(const ConvGeom &g);
void winograd_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g, int threads);
