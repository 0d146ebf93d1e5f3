// Fully connected layers: matrix products split over output columns between threads.
#include <algorithm>

#include "gemm.h"
#include "kernels.h"
#include "threads.h"

// Columns per thread are rounded to whole vectors-of-two so each thread's tiles stay full.
static void split_cols(int n, int threads, int t, int* j0, int* j1) {
  int units = (n + 15) / 16;
  int u0, u1;
  split_range(units, threads, t, &u0, &u1);
  *j0 = std::min(n, u0 * 16);
  *j1 = std::min(n, u1 * 16);
}

static int useful_threads(long work, int threads) {
  // Below ~256k multiply-adds (a few microseconds) a second thread costs more to wake than it saves.
  return work < (1 << 18) ? 1 : threads;
}

void dense_forward(float* y, const float* x, const float* w, const float* b, int n, int inF, int outF, int threads) {
  threads = useful_threads((long)n * inF * outF, threads);
  parallel_run(threads, [&](int t) {
    int j0, j1;
    split_cols(outF, threads, t, &j0, &j1);
    if (j0 >= j1) return;
    if (b) {
      for (int i = 0; i < n; i++) std::copy(b + j0, b + j1, y + (long)i * outF + j0);
    }
    gemm(n, j1 - j0, inF, Mat{x, inF, 1}, Mat{w + (long)j0 * inF, 1, inF}, y + j0, outF, b != nullptr);
  });
}

void dense_backward(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int n, int inF,
                    int outF, int threads) {
  threads = useful_threads((long)n * inF * outF, threads);
  parallel_run(threads, [&](int t) {
    int j0, j1;
    split_cols(inF, threads, t, &j0, &j1);
    if (j0 < j1) {
      if (dx) gemm(n, j1 - j0, outF, Mat{dy, outF, 1}, Mat{w + j0, inF, 1}, dx + j0, inF, false);
      gemm(outF, j1 - j0, n, Mat{dy, 1, outF}, Mat{x + j0, inF, 1}, dw + j0, inF, true);
    }
    if (db && t == 0) {
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < outF; j++) db[j] += dy[(long)i * outF + j];
      }
    }
  });
}
