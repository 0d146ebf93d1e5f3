// Stride-1 convolutions with output channels along the vector lanes (conv_pixel.cc), for layers with
// enough output channels to fill the vectors; native/conv.cc picks them.
#pragma once
#include "kernels.h"

bool conv_pixel_fits(const ConvGeom &g);
void conv_pixel_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads);
void conv_pixel_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g, int threads);
// off[r] for taps r = (ci, ki, kj) of all channels: where tap r of output pixel (0, 0) reads in a sample
// zero-padded to c×hp×wp.
void fill_tap_offsets(int *off, const ConvGeom &g, int hp, int wp);
