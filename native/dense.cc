// Fully connected layers: matrix products split over output columns between threads.

#include "base.h"
#include "gemm.h"
#include "kernels.h"
#include "threads.h"

// Runs body(t, j0, j1) over column ranges: about four per thread, cut at multiples of 32 so tiles stay full.
template <typename F>
static void over_cols(int n, int threads, F body) {
  int units = (n + 31) / 32, parts = threads <= 1 ? 1 : imin(units, 4 * threads);
  parallel_for(threads, parts, [&](int t, int i) {
    int u0, u1;
    split_range(units, parts, i, &u0, &u1);
    int j0 = imin(n, u0 * 32), j1 = imin(n, u1 * 32);
    if (j0 < j1) body(t, j0, j1);
  });
}

static int useful_threads(long work, int threads) {
  // Below ~256k multiply-adds (a few microseconds) a second thread costs more to wake than it saves.
  return work < (1 << 18) ? 1 : threads;
}

void dense_forward(float *y, const float *x, const float *w, const float *b, int n, int inF, int outF, int threads) {
  threads = useful_threads((long)n * inF * outF, threads);
  over_cols(outF, threads, [&](int, int j0, int j1) {
    if (b) {
      for (int i = 0; i < n; i++) copy_floats(y + (long)i * outF + j0, b + j0, j1 - j0);
    }
    gemm(n, j1 - j0, inF, Mat{x, inF, 1}, Mat{w + (long)j0 * inF, 1, inF}, y + j0, outF, b != nullptr);
  });
}

void dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int n, int inF,
                    int outF, int threads) {
  threads = useful_threads((long)n * inF * outF, threads);
  over_cols(inF, threads, [&](int, int j0, int j1) {
    if (dx) gemm(n, j1 - j0, outF, Mat{dy, outF, 1}, Mat{w + j0, inF, 1}, dx + j0, inF, false);
    gemm(outF, j1 - j0, n, Mat{dy, 1, outF}, Mat{x + j0, inF, 1}, dw + j0, inF, true);
  });
  if (db) {
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < outF; j++) db[j] += dy[(long)i * outF + j];
    }
  }
}
