// Fully connected layers: the matrix products on gemm_threads, which shares out rows and columns.

#include "base.h"
#include "gemm.h"
#include "kernels.h"

static int useful_threads(long work, int threads) {
  // Below ~256k multiply-adds (a few microseconds) a second thread costs more to wake than it saves.
  return work < (1 << 18) ? 1 : threads;
}

// gemm_threads shares out the rows of the batch (panels of A) as well as columns: a 10-unit layer's
// forward product is one column tile, which the split over columns ran on one thread.
void dense_forward(float *y, const float *x, const float *w, const float *b, int n, int inF, int outF, int threads) {
  threads = useful_threads((long)n * inF * outF, threads);
  if (b) {
    for (int i = 0; i < n; i++) copy_floats(y + (long)i * outF, b, outF);
  }
  gemm_threads(n, outF, inF, Mat{x, inF, 1}, Mat{w, 1, inF}, y, outF, b != nullptr, threads);
}

void dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int n, int inF,
                    int outF, int threads) {
  threads = useful_threads((long)n * inF * outF, threads);
  if (dx) gemm_threads(n, inF, outF, Mat{dy, outF, 1}, Mat{w, inF, 1}, dx, inF, false, threads);
  gemm_threads(outF, inF, n, Mat{dy, 1, outF}, Mat{x, inF, 1}, dw, inF, true, threads);
  if (db) {
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < outF; j++) db[j] += dy[(long)i * outF + j];
    }
  }
}
