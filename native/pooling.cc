// Pooling and activations: memory-bound loops, split over planes (or ranges) between threads when large.

#include "base.h"
#include "kernels.h"
#include "simd.h"
#include "threads.h"

static int threads_for(long len, int threads) {
  return len < (1 << 16) ? 1 : threads;
}

// Calls f(o, start) for every output o of planes [p0, p1) with `start` the flat index of its window's
// top-left input; windows are kh rows of kw values, rows g.w apart.
template <typename F>
static void windows(const PoolGeom &g, int p0, int p1, F f) {
  for (int p = p0; p < p1; p++) {
    long o = (long)p * g.oh * g.ow;
    for (int oy = 0; oy < g.oh; oy++) {
      for (int ox = 0; ox < g.ow; ox++, o++) f(o, (long)p * g.h * g.w + (long)oy * g.sh * g.w + ox * g.sw);
    }
  }
}

// Runs body(p0, p1) on plane ranges split between threads (when the tensor is large enough).
template <typename F>
static void over_planes(const PoolGeom &g, int threads, F body) {
  int planes = g.n * g.c;
  threads = threads_for((long)planes * g.h * g.w, threads);
  int parts = imin(planes, 4 * threads);
  parallel_for(threads, parts, [&](int, int i) {
    int p0, p1;
    split_range(planes, parts, i, &p0, &p1);
    body(p0, p1);
  });
}

// Windows two wide at stride two (the usual 2×2 pooling), VW outputs at a time: the even and odd
// lanes of each window row are the window's two columns. Same scan order and NaN rule as below.
// A row shorter than VW uses part of a vector; reads may run past the row (not past `total` values).
static void maxpool_pairs(float *y, int *argmax, const float *x, const PoolGeom &g, int p0, int p1, long total,
                          long shift) {
  vi lane;
  for (int i = 0; i < VW; i++) lane[i] = 2 * i;
  for (int p = p0; p < p1; p++) {
    for (int oy = 0; oy < g.oh; oy++) {
      int ox = 0;
      long o = ((long)p * g.oh + oy) * g.ow;
      for (; ox < g.ow; ox += VW) {
        long start = (long)p * g.h * g.w + (long)oy * g.sh * g.w + 2 * ox;
        if (start + (long)(g.kh - 1) * g.w + 2 * VW > total) break;
        vf m = vevens(x + start);
        vi best = lane + (int)start;
        for (int ki = 0; ki < g.kh; ki++) {
          long row = start + (long)ki * g.w;
          for (int kj = ki == 0 ? 1 : 0; kj < 2; kj++) {
            vf v = kj ? vodds(x + row) : vevens(x + row);
            vi take = (v > m) | ((v != v) & (m == m));
            m = vselect(take, v, m);
            best = (best & ~take) | ((lane + (int)(row + kj)) & take);
          }
        }
        int cnt = imin(VW, g.ow - ox);
        for (int i = 0; i < cnt; i++) {
          y[o + ox + i] = m[i];
          argmax[o + ox + i] = best[i] + (int)shift;
        }
      }
      for (; ox < g.ow; ox++) {
        long start = (long)p * g.h * g.w + (long)oy * g.sh * g.w + 2 * ox, best = start;
        float m = x[start];
        for (int ki = 0; ki < g.kh; ki++) {
          for (int kj = 0; kj < 2; kj++) {
            long i = start + (long)ki * g.w + kj;
            if (x[i] > m || (x[i] != x[i] && m == m)) {
              m = x[i];
              best = i;
            }
          }
        }
        y[o + ox] = m;
        argmax[o + ox] = (int)(best + shift);
      }
    }
  }
}

void maxpool_planes(float *y, int *argmax, const float *x, const PoolGeom &g, int p0, int p1, long total, long shift) {
  if (g.kw == 2 && g.sw == 2) return maxpool_pairs(y, argmax, x, g, p0, p1, total, shift);
  windows(g, p0, p1, [&](long o, long start) {
    long best = start;
    float m = x[best];
    for (int ki = 0; ki < g.kh; ki++) {
      for (int kj = 0; kj < g.kw; kj++) {
        long i = start + (long)ki * g.w + kj;
        float v = x[i];
        // First maximum in scan order wins ties; NaN propagates, as in the reference.
        if (v > m || (v != v && m == m)) {
          m = v;
          best = i;
        }
      }
    }
    y[o] = m;
    argmax[o] = (int)(best + shift);
  });
}

void maxpool_forward(float *y, int *argmax, const float *x, const PoolGeom &g, int threads) {
  long total = (long)g.n * g.c * g.h * g.w;
  over_planes(g, threads, [&](int p0, int p1) { maxpool_planes(y, argmax, x, g, p0, p1, total, 0); });
}

// Lanes 0, 0, 1, 1, …: each of DW values twice (the two columns of a window two wide).
#if VW_16
#define PAIRS 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7
#elif VW_8
#define PAIRS 0, 0, 1, 1, 2, 2, 3, 3
#else
#define PAIRS 0, 0, 1, 1
#endif
constexpr int DW = VW / 2;
typedef float hf __attribute__((vector_size(DW * 4), aligned(4)));
typedef int hi __attribute__((vector_size(DW * 4), aligned(4)));

// Windows two wide at stride two, not overlapping, at least DW to a row: each row of the plane written
// once, DW windows (a vector) at a time, a window's value where its argmax is and 0 elsewhere.
static void unpool_pairs(float *d, const float *gp, const int *am, const float *keep, long o, const PoolGeom &g) {
  vi lane;
  for (int j = 0; j < VW; j++) lane[j] = j;
  for (int r = 0, oy = 0, ki = 0; r < g.h; r++) {
    float *dr = d + (long)r * g.w;
    if (oy >= g.oh || ki >= g.kh) {
      zero_floats(dr, g.w);
    } else {
      const int *ar = am + (long)oy * g.ow;
      const float *gr = gp + (long)oy * g.ow, *kr = keep ? keep + (long)oy * g.ow : nullptr;
      vi at = lane + (int)(o + (long)r * g.w);
      // Whole vectors, the last one moved back over windows already done (the same values again).
      for (int ox = 0; ox < g.ow; ox += DW) {
        if (ox + DW > g.ow) ox = g.ow - DW;
        hi a = *reinterpret_cast<const hi *>(ar + ox);
        hf v = *reinterpret_cast<const hf *>(gr + ox);
        vi take = (vi)__builtin_shufflevector(a, a, PAIRS) == at + 2 * ox;
        if (kr) {
          hf k = *reinterpret_cast<const hf *>(kr + ox);
          take &= __builtin_shufflevector(k, k, PAIRS) > vf{};
        }
        // 0 + g, as maxpool_backward's sum into zeros; 0 where the window's ReLU output is not positive.
        vstore(dr + 2 * ox, (vf)((vi)(vf{} + __builtin_shufflevector(v, v, PAIRS)) & take));
      }
      for (int j = 2 * g.ow; j < g.w; j++) dr[j] = 0.f;
    }
    if (++ki == g.sh) ki = 0, oy++;
  }
}

void unpool_plane(float *d, const float *gp, const int *am, const float *keep, long o, const PoolGeom &g) {
  int hw = g.h * g.w, ohw = g.oh * g.ow;
  if (g.kw == 2 && g.sw == 2 && g.sh >= g.kh && g.ow >= DW) return unpool_pairs(d, gp, am, keep, o, g);
  zero_floats(d, hw);
  for (int k = 0; k < ohw; k++) {
    unsigned long i = (unsigned long)(am[k] - o);
    if (i < (unsigned long)hw) d[i] += keep && !(keep[k] > 0.f) ? 0.f : gp[k];  // never a write outside
  }
}

void maxpool_backward(float *dx, const float *dy, const int *argmax, const PoolGeom &g, int threads) {
  long hw = (long)g.h * g.w, ohw = (long)g.oh * g.ow;
  // argmax of plane p points into plane p, so planes split between threads never collide.
  over_planes(g, threads, [&](int p0, int p1) {
    __builtin_memset(dx + p0 * hw, 0, (size_t)(p1 - p0) * hw * sizeof(float));
    for (long o = p0 * ohw; o < p1 * ohw; o++) dx[argmax[o]] += dy[o];
  });
}

// Planes split between threads, a vector of argmax at a time: each plane's values as offsets from its
// start, compared unsigned with its size (a value below the start wraps above it).
static Buf<int> partBad;  // whether a part of the planes holds a value outside

bool argmax_within_planes(const int *am, const PoolGeom &g, int threads) {
  long hw = (long)g.h * g.w, ohw = (long)g.oh * g.ow, planes = (long)g.n * g.c;
  int parts = threads_for(planes * ohw, threads) > 1 ? imin((int)planes, 4 * threads) : 1;
  int *bad = partBad.grow(parts);
  parallel_for(parts > 1 ? threads : 1, parts, [&](int, int item) {
    int p0, p1;
    split_range((int)planes, parts, item, &p0, &p1);
    bool out = false;
    for (long p = p0; p < p1 && !out; p++) {
      const int *a = am + p * ohw;
      long lo = p * hw, k = 0;
      if (lo + hw - 1 <= 0x7fffffffL) {  // the plane's offsets fit an int
        typedef unsigned vu __attribute__((vector_size(VW * 4), aligned(4)));
        vu off = vu{} + (unsigned)lo, last = vu{} + (unsigned)(hw - 1);
        vi over{};
        for (; k + VW <= ohw; k += VW) over |= (vi)(*reinterpret_cast<const vu *>(a + k) - off > last);
        for (int j = 0; j < VW; j++) out |= over[j] != 0;
      }
      for (; k < ohw; k++) out |= (unsigned long)((long)a[k] - lo) >= (unsigned long)hw;
    }
    bad[item] = out;
  });
  for (int i = 0; i < parts; i++)
    if (bad[i]) return false;
  return true;
}

void avgpool_forward(float *y, const float *x, const PoolGeom &g, int threads) {
  float inv = 1.f / (g.kh * g.kw);
  over_planes(g, threads, [&](int p0, int p1) {
    windows(g, p0, p1, [&](long o, long start) {
      float s = 0.f;
      for (int ki = 0; ki < g.kh; ki++) {
        for (int kj = 0; kj < g.kw; kj++) s += x[start + (long)ki * g.w + kj];
      }
      y[o] = s * inv;
    });
  });
}

void avgpool_backward(float *dx, const float *dy, const PoolGeom &g, int threads) {
  float inv = 1.f / (g.kh * g.kw);
  long hw = (long)g.h * g.w;
  over_planes(g, threads, [&](int p0, int p1) {
    __builtin_memset(dx + p0 * hw, 0, (size_t)(p1 - p0) * hw * sizeof(float));
    windows(g, p0, p1, [&](long o, long start) {
      float d = dy[o] * inv;
      for (int ki = 0; ki < g.kh; ki++) {
        for (int kj = 0; kj < g.kw; kj++) dx[start + (long)ki * g.w + kj] += d;
      }
    });
  });
}

// Runs body(i0, i1) over about four ranges per thread.
template <typename F>
static void over_range(long len, int threads, F body) {
  threads = threads_for(len, threads);
  int parts = threads <= 1 ? 1 : 4 * threads;
  parallel_for(threads, parts, [&](int, int i) {
    int i0, i1;
    split_range((int)len, parts, i, &i0, &i1);
    body(i0, i1);
  });
}

// out[i] = keep[i] > 0 ? v[i] : 0, a vector at a time (the compiler cannot prove the arrays apart).
static void masked(float *out, const float *keep, const float *v, int i0, int i1) {
  int i = i0;
  for (; i + VW <= i1; i += VW) {
    vi m = vload(keep + i) > vf{};
    vstore(out + i, (vf)((vi)vload(v + i) & m));
  }
  for (; i < i1; i++) out[i] = keep[i] > 0.f ? v[i] : 0.f;
}

void relu_row(float *y, const float *x, int len) {
  masked(y, x, x, 0, len);
}

void activation_forward(int kind, float *y, const float *x, long len, int threads) {
  over_range(len, threads, [&](int i0, int i1) {
    if (kind == 0) return masked(y, x, x, i0, i1);
#if !defined(__wasm__)
    // σ(x) without overflow: exp is only taken of non-positive numbers, as in the reference.
    if (kind == 1) {
      for (int i = i0; i < i1; i++) {
        float e = __builtin_expf(-__builtin_fabsf(x[i]));
        y[i] = x[i] >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
      }
    } else {
      for (int i = i0; i < i1; i++) y[i] = __builtin_tanhf(x[i]);
    }
#endif
  });
}

void activation_backward(int kind, float *dx, const float *dy, const float *y, long len, int threads) {
  over_range(len, threads, [&](int i0, int i1) {
    if (kind == 0) return masked(dx, y, dy, i0, i1);
    if (kind == 1) {
      for (int i = i0; i < i1; i++) dx[i] = dy[i] * y[i] * (1.f - y[i]);
    } else {
      for (int i = i0; i < i1; i++) dx[i] = dy[i] * (1.f - y[i] * y[i]);
    }
  });
}
