// 3×3 stride-1 convolutions by Winograd's F(2×2, 3×3) or F(4×4, 3×3): 16 multiply-adds per 2×2 outputs
// and channel pair, or 36 per 4×4, instead of 9 per output; forward (and so backward-data: winograd.cc)
// and weight gradient (winograd_grad.cc). native/conv.cc picks them where they fit.
#pragma once
#include "kernels.h"

// The tile side (2 or 4) the forward (the weight gradient) takes for a geometry, 0 where the direct
// kernels do.
int winograd_tile(const ConvGeom &g);
int winograd_grad_tile(const ConvGeom &g);
// For tests and measurements: 2 or 4 forces that tile wherever Winograd is taken, 0 lets the shape choose.
void winograd_force_tile(int tm);
void winograd_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads);
void winograd_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g, int threads);
