// WebAssembly build of the kernels (clang --target=wasm32 -msimd128, no libc): single-threaded,
// scratch memory from a bump allocator, and one exported C function per kernel. Arrays are offsets
// into the module's memory, where src/kernels/wasm/index.ts copies them.
#include "base.h"
#include "gemm.h"
#include "kernels.h"
#include "threads.h"

extern unsigned char __heap_base;
static size_t heapTop = (size_t)&__heap_base;

// Scratch buffers only grow, and rarely (the first step at a new batch size), so the old block is
// simply abandoned.
void *scratch_grow(void *, size_t bytes) {
  size_t start = (heapTop + 63) & ~(size_t)63, end = start + bytes;
  size_t have = __builtin_wasm_memory_size(0) * 65536;
  if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1) __builtin_trap();
  heapTop = end;
  return (void *)start;
}

void parallel_for_raw(int, int count, ItemFn fn, void *ctx) {
  for (int i = 0; i < count; i++) fn(ctx, 0, i);
}

#define EXPORT(name) extern "C" __attribute__((export_name(name)))

static Buf<unsigned char> stage;
// A block of at least `bytes` where JavaScript stages a call's arrays; valid until the next call.
EXPORT("stage") void *stage_area(size_t bytes) {
  return stage.grow(bytes);
}

EXPORT("gemm") void w_gemm(int ta, int tb, int m, int n, int k, const float *a, const float *b, float *c, int acc) {
  gemm(m, n, k, ta ? Mat{a, 1, m} : Mat{a, k, 1}, tb ? Mat{b, 1, k} : Mat{b, n, 1}, c, n, acc != 0);
}
EXPORT("denseForward")
void w_dense_forward(float *y, const float *x, const float *w, const float *b, int n, int inF, int outF) {
  dense_forward(y, x, w, b, n, inF, outF, 1);
}
EXPORT("denseBackward")
void w_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int n, int inF,
                      int outF) {
  dense_backward(dx, dw, db, dy, x, w, n, inF, outF, 1);
}
EXPORT("conv2dForward")
void w_conv_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom *g) {
  conv2d_forward(y, x, w, b, *g, 1);
}
EXPORT("conv2dBackwardData") void w_conv_backward_data(float *dx, const float *dy, const float *w, const ConvGeom *g) {
  conv2d_backward_data(dx, dy, w, *g, 1);
}
EXPORT("conv2dBackwardFilter")
void w_conv_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom *g) {
  conv2d_backward_filter(dw, db, dy, x, *g, 1);
}
EXPORT("maxPool2dForward") void w_maxpool_forward(float *y, int *argmax, const float *x, const PoolGeom *g) {
  maxpool_forward(y, argmax, x, *g, 1);
}
EXPORT("maxPool2dBackward") void w_maxpool_backward(float *dx, const float *dy, const int *argmax, const PoolGeom *g) {
  maxpool_backward(dx, dy, argmax, *g, 1);
}
EXPORT("avgPool2dForward") void w_avgpool_forward(float *y, const float *x, const PoolGeom *g) {
  avgpool_forward(y, x, *g, 1);
}
EXPORT("avgPool2dBackward") void w_avgpool_backward(float *dx, const float *dy, const PoolGeom *g) {
  avgpool_backward(dx, dy, *g, 1);
}
EXPORT("reluForward") void w_relu_forward(float *y, const float *x, int len) {
  activation_forward(0, y, x, len, 1);
}
EXPORT("activationBackward") void w_activation_backward(int kind, float *dx, const float *dy, const float *y, int len) {
  activation_backward(kind, dx, dy, y, len, 1);
}
EXPORT("sgdStep")
void w_sgd_step(float *w, const float *g, float *v, int len, float lr, float mu, float wd, int nesterov, int first) {
  sgd_step(w, g, v, len, SgdOptions{lr, mu, wd, nesterov != 0, first != 0}, 1);
}
EXPORT("batchNormStats") void w_bn_stats(float *mean, float *var, const float *x, int n, int c, int hw) {
  batchnorm_stats(mean, var, x, n, c, hw, 1);
}
EXPORT("batchNormForward")
void w_bn_forward(float *y, const float *x, const float *mean, const float *invstd, const float *gamma,
                  const float *beta, int n, int c, int hw) {
  batchnorm_forward(y, x, mean, invstd, gamma, beta, n, c, hw, 1);
}
EXPORT("batchNormBackward")
void w_bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                   const float *invstd, const float *gamma, int n, int c, int hw, int batchStats) {
  batchnorm_backward(dx, dgamma, dbeta, dy, x, mean, invstd, gamma, n, c, hw, batchStats != 0, 1);
}
