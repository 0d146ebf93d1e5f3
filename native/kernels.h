// The native kernel set: the same operations and layouts as src/kernels/kernels.ts, each taking the
// number of threads to use. Arrays are float32, row-major, images NCHW.
#pragma once

struct ConvGeom {
  int n, c, h, w, k, kh, kw, sh, sw, ph, pw, oh, ow;
};
// db[k] += the sum of output channel k of dy, sample after sample and pixel after pixel, in double:
// the one order every weight-gradient path that sums the bias a channel at a time uses, so that a
// frozen weight's bias-only call gives the same bits.
static inline void add_bias_channel(float *db, const float *dy, const ConvGeom &g, int k) {
  long hw = (long)g.oh * g.ow;
  double sum = 0;
  for (int s = 0; s < g.n; s++) {
    const float *q = dy + ((long)s * g.k + k) * hw;
    for (long j = 0; j < hw; j++) sum += q[j];
  }
  db[k] = (float)(db[k] + sum);
}
struct PoolGeom {
  int n, c, h, w, kh, kw, sh, sw, oh, ow;
};

void dense_forward(float *y, const float *x, const float *w, const float *b, int n, int inF, int outF, int threads);
void dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int n, int inF,
                    int outF, int threads);
void conv2d_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads);
void conv2d_backward_data(float *dx, const float *dy, const float *w, const ConvGeom &g, int threads);
void conv2d_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g, int threads);
void maxpool_forward(float *y, int *argmax, const float *x, const PoolGeom &g, int threads);
// maxpool_forward of planes [p0, p1) on the calling thread, with `shift` added to each argmax; x may be
// read up to `total` values (some past the last plane's windows).
void maxpool_planes(float *y, int *argmax, const float *x, const PoolGeom &g, int p0, int p1, long total, long shift);
void maxpool_backward(float *dx, const float *dy, const int *argmax, const PoolGeom &g, int threads);
// maxpool_backward of one plane (o its first index) from the pooled gradient gp and argmax am, into d; with
// `keep`, ReLU's gradient too, read from its pooled output (0 where that is not positive).
void unpool_plane(float *d, const float *gp, const int *am, const float *keep, long o, const PoolGeom &g);
// Whether every argmax lies in its output's plane, as the fused backward passes need (the binding checks).
bool argmax_within_planes(const int *am, const PoolGeom &g, int threads);
void avgpool_forward(float *y, const float *x, const PoolGeom &g, int threads);
void avgpool_backward(float *dx, const float *dy, const PoolGeom &g, int threads);
struct SgdOptions {
  float lr, momentum, weight_decay;
  bool nesterov, first;
};
void sgd_step(float *w, const float *g, float *v, long len, const SgdOptions &o, int threads);
// Activations: 0 relu, 1 sigmoid, 2 tanh (the order of ACTIVATIONS in src/kernels/native/index.ts).
// The backward pass reads the forward output y. Sigmoid and tanh forward need libm: not in WebAssembly.
void activation_forward(int kind, float *y, const float *x, long len, int threads);
void activation_backward(int kind, float *dx, const float *dy, const float *y, long len, int threads);
// GELU (tanh approximation) and its gradient, read from the input x (native/gelu.cc: no libm needed).
void gelu_forward(float *y, const float *x, long len, int threads);
void gelu_backward(float *dx, const float *dy, const float *x, long len, int threads);
// One row of the activations, on the calling thread, for batch norm's fused passes (in place allowed):
// ReLU as activation_forward, GELU as gelu_forward, leaky ReLU as the reference (the product in double).
void relu_row(float *y, const float *x, int len);
void gelu_row(float *y, const float *x, int len);
void gelu_grad_row(float *dx, const float *dy, const float *x, int len);
// Batch normalization per channel of x[n, c, hw] (src/kernels/reference/normalization.ts); gamma and
// beta are null when the layer is not affine, dx, dgamma, dbeta when not wanted.
void batchnorm_stats(float *mean, float *var, const float *x, int n, int c, int hw, int threads);
// The activation batch norm applies in its own passes (FusedActivation in src/kernels/kernels.ts).
enum BnActKind { kBnNone = 0, kBnRelu = 1, kBnLeaky = 2, kBnGelu = 3 };
struct BnAct {
  int kind;
  double slope;  // leaky ReLU
};
// y = act((x − mean)·invstd·γ + β); the backward takes dz = dy·act'(z) (z computed again from x; dx holds
// dz on the way, so it must not be null with an activation), then the batch norm's gradient of dz.
void batchnorm_forward(float *y, const float *x, const float *mean, const float *invstd, const float *gamma,
                       const float *beta, int n, int c, int hw, BnAct act, int threads);
void batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *mean,
                        const float *invstd, const float *gamma, const float *beta, int n, int c, int hw,
                        bool batch_stats, BnAct act, int threads);
// Batch norm (and its activation) with the max pooling after it, as batchnorm_forward then maxpool_forward
// (the full-size output is not written), and maxpool_backward then batchnorm_backward (dx may be null; ReLU's
// gradient is read from the forward's pooled output y). g is the pool's geometry; each argmax must lie in
// its own plane.
void batchnorm_maxpool_forward(float *y, int *argmax, const float *x, const float *mean, const float *invstd,
                               const float *gamma, const float *beta, BnAct act, const PoolGeom &g, int threads);
void batchnorm_maxpool_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *y,
                                const int *argmax, const float *x, const float *mean, const float *invstd,
                                const float *gamma, const float *beta, bool batch_stats, BnAct act, const PoolGeom &g,
                                int threads);
// Max pooling with the batch norm after it (convts-cifar's order): maxpool_forward, then batchnorm_stats of
// its output y; and batchnorm_backward (with the activation) of the pooled gradient dy, then
// maxpool_backward into dx (may be null). x is the pool's output (the batch norm's input), dz a scratch
// array of its size (required with an activation; left unspecified); each argmax must lie in its own plane.
void maxpool_batchnorm_stats(float *y, int *argmax, float *mean, float *var, const float *x, const PoolGeom &g,
                             int threads);
void maxpool_batchnorm_backward(float *dx, float *dgamma, float *dbeta, float *dz, const float *dy, const float *x,
                                const int *argmax, const float *mean, const float *invstd, const float *gamma,
                                const float *beta, bool batch_stats, BnAct act, const PoolGeom &g, int threads);
