// SGD update, as in src/kernels/reference/elementwise.ts (sgdStep); float arithmetic, vectorized by the compiler.
#include "base.h"
#include "kernels.h"
#include "threads.h"

void sgd_step(float *w, const float *g, float *v, long len, const SgdOptions &o, int threads) {
  int parts = len < (1 << 18) || threads <= 1 ? 1 : 4 * threads;  // a weight matrix of 100k updates in ~10 µs alone
  float lr = o.lr, mu = o.momentum, wd = o.weight_decay;
  parallel_for(threads, parts, [&](int, int part) {
    int i0, i1;
    split_range((int)len, parts, part, &i0, &i1);
    if (!v || mu == 0.f) {
      for (int i = i0; i < i1; i++) w[i] -= lr * (g[i] + wd * w[i]);
      return;
    }
    for (int i = i0; i < i1; i++) {
      float gi = g[i] + wd * w[i];
      float vi = o.first ? gi : mu * v[i] + gi;
      v[i] = vi;
      w[i] -= lr * (o.nesterov ? gi + mu * vi : vi);
    }
  });
}
