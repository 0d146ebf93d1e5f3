// The weight gradient of 3×3 stride-1 convolutions by Winograd's F(2×2, 3×3) or F(4×4, 3×3) (the forward
// and the choice of tile: winograd.cc). With Ŷ = A dY Aᵀ the TA×TA transform of a tile's TM×TM output
// gradient, the gradient of U_ξ is M_ξ = Σ over tiles of V_ξ Ŷ_ξᵀ (in × out channels), and dw = Gᵀ M G
// per channel pair. V_ξ is laid out as the forward's (tiles along the rows), Ŷ_ξ with the output channels
// along the vectors, so the product is that of the direct weight gradient (conv_pixel_grad.cc): a value
// of V broadcast against vectors of Ŷ. Chunks of tile rows and their groups are fixed by the shape alone,
// each group's chunks added to its M in order: the same bits on any thread count.

#include "base.h"
#include "simd.h"
#include "threads.h"
#include "transpose.h"
#include "winograd.h"
#include "winograd_input.h"
#include "winograd_tiles.h"

namespace {

// Ŷ_ξ[t][k] for the tiles t of global tile rows [gr0, gr1) (t counted from chunk row `base`), all
// output channels, vectors of channels: the TM×TM blocks of dy (zero past the map's edge) are first
// transposed into rows of channels.
template <int TM>
void transform_grads(float *d, const float *dy, const ConvGeom &g, const Plan &p, int kp, size_t ys, int base, int gr0,
                     int gr1) {
  typedef Tile<TM> T;
  constexpr int TA = T::TA;
  int cols = TM * p.tw;
  float *buf = rowBuf.grow((size_t)TM * cols * kp);
  for (int gr = gr0; gr < gr1; gr++) {
    int s = gr / p.th, ty = gr % p.th;
    for (int i = 0; i < TM; i++) {
      int oy = ty * TM + i;
      float *row = buf + (size_t)i * cols * kp;
      if (oy >= g.oh) {
        zero_floats(row, (size_t)cols * kp);
        continue;
      }
      // Row oy of every channel, in 4×4 blocks: the writes stay in this small buffer.
      const float *src = dy + (size_t)s * g.k * g.oh * g.ow + (size_t)oy * g.ow;
      transpose_rows(row, kp, src, (size_t)g.oh * g.ow, g.k, g.ow);
      if (kp > g.k) {
        for (int ox = 0; ox < g.ow; ox++) zero_floats(row + (size_t)ox * kp + g.k, kp - g.k);
      }
      zero_floats(row + (size_t)g.ow * kp, (size_t)(cols - g.ow) * kp);
    }
    float *out = d + (size_t)(gr - base) * p.tw * kp;
    for (int tx = 0; tx < p.tw; tx++) {
      const float *q = buf + (size_t)TM * tx * kp;
      float *o = out + (size_t)tx * kp;
      for (int k = 0; k < kp; k += VW) {
        // A down each column of the block, then across.
        vf u[TA][TM];
        for (int j = 0; j < TM; j++) {
          vf col[TM], r[TA];
          for (int i = 0; i < TM; i++) col[i] = vload(q + ((size_t)i * cols + j) * kp + k);
          combine<true>(T::AT, col, r);
          for (int a = 0; a < TA; a++) u[a][j] = r[a];
        }
        for (int a = 0; a < TA; a++) {
          vf r[TA];
          combine<true>(T::AT, u[a], r);
          for (int b = 0; b < TA; b++) vstore(o + (a * TA + b) * ys + k, r[b]);
        }
      }
    }
  }
}

#if defined(__AVX512F__)
constexpr int GR = 12;  // rows (input channels) of a product tile × GV vectors of output channels
#else                   // 16 registers
constexpr int GR = 6;
#endif
constexpr int GV = 2;

// m[r][v·VW..] += Σ_t v[r·ldv + t]·y[t·kp + v·VW..] for R rows, t < tiles.
template <int R, int NVV>
void grad_tile(int tiles, const float *v, size_t ldv, const float *y, int kp, float *m) {
  vf acc[R][NVV];
  for (int r = 0; r < R; r++) {
    for (int j = 0; j < NVV; j++) acc[r][j] = vload(m + (size_t)r * kp + j * VW);
  }
  for (int t = 0; t < tiles; t++) {
    vf b[NVV];
    for (int j = 0; j < NVV; j++) b[j] = vload(y + (size_t)t * kp + j * VW);
    for (int r = 0; r < R; r++) {
      vf a = vbroadcast(v[r * ldv + t]);
      for (int j = 0; j < NVV; j++) acc[r][j] = vmadd(a, b[j], acc[r][j]);
    }
  }
  for (int r = 0; r < R; r++) {
    for (int j = 0; j < NVV; j++) vstore(m + (size_t)r * kp + j * VW, acc[r][j]);
  }
}

typedef void (*GradFn)(int, const float *, size_t, const float *, int, float *);
template <int NVV, int... R>
struct GradRows {
  static constexpr GradFn fns[sizeof...(R)] = {&grad_tile<R + 1, NVV>...};
};
template <int NVV, int... R>
constexpr GradFn GradRows<NVV, R...>::fns[sizeof...(R)];
#if defined(__AVX512F__)
#define GRAD_ROWS 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
#else
#define GRAD_ROWS 0, 1, 2, 3, 4, 5
#endif
const GradFn *const gradFns[GV] = {GradRows<1, GRAD_ROWS>::fns, GradRows<2, GRAD_ROWS>::fns};

THREAD_LOCAL Buf<float> gV, gD;  // each thread's chunk
Buf<float> gM;                   // the groups' sums: grown by the calling thread, filled by all

// Tiles per chunk of the weight gradient: enough that the chunk's sums outweigh reading and writing
// M (XI·c·k floats), few enough that its V and Ŷ (XI·tiles·(c + k)) stay near 2 MB, in L2 and L3.
// At 6×6 points M is 9 MB for 256 + 256 channels, read and written once a chunk: 256 tiles measured
// 1.15–1.3× faster than 64 there, and no slower on smaller layers.
// On 8-lane machines (AVX2, 512 KB of L2 a core) 64 tiles where M is at most 1 MB: each chunk's V and Ŷ
// then stay near L2, and M costs little; measured 1.15–1.4× faster than 128–256 tiles with 24–64
// channels, while 64 × 128 channels at 6×6 points still wanted 256.
int grad_tiles(const ConvGeom &g, int xi, int kp) {
  if (VW == 8 && (long)xi * g.c * kp <= 1 << 18) return 64;
  if (xi == 36) return 256;
  return imax(64, imin(256, (1 << 19) / (xi * (g.c + g.k))));
}

Plan grad_plan(const ConvGeom &g, int tm, int kp) {
  Plan p = tile_grid(g, tm);
  int total = g.n * p.th;
  p.rows = whole_groups(p, imin(total, imax(1, grad_tiles(g, p.xi, kp) / p.tw)));
  p.chunks = (total + p.rows - 1) / p.rows;
  p.ld = (p.rows - 1) * p.tw + p.nv * p.lanes;
  if (p.ld % 1024 == 0) p.ld += 16;  // rows a whole number of 4 KB pages apart would share L1 sets
  p.vs = (size_t)g.c * p.ld + 16;
  return p;
}

// The chunks are cut into a number of groups fixed by the shape (never by the thread count), each
// summed into its own M by whichever thread claims it, chunk after chunk, with no hand-over between
// threads inside a group; the groups' M are then added in group order. The same bits on any thread
// count, and a chunk's V and Ŷ stay in the cache of the core that made them.
constexpr int GROUPS = 4;
int grad_groups(const Plan &p) {
  return imin(GROUPS, p.chunks);
}

template <int TM, int L>
void grad_chunks(float *msum, size_t mstride, int kp, const float *dy, const float *x, const ConvGeom &g, const Plan &p,
                 int threads) {
  size_t ys = (size_t)p.rows * p.tw * kp + 16, msz = (size_t)g.c * kp;
  int total = g.n * p.th, groups = grad_groups(p);
  int ktiles = (kp + GV * VW - 1) / (GV * VW), ctiles = (g.c + GR - 1) / GR;
  parallel_for(threads, groups, [&](int, int group) {
    float *v = gV.grow(p.xi * p.vs), *d = gD.grow(p.xi * ys), *mg = msum + group * mstride;
    int i0, i1;
    split_range(p.chunks, groups, group, &i0, &i1);
    for (int i = i0; i < i1; i++) {
      int gr0 = i * p.rows, gr1 = imin(total, gr0 + p.rows), tiles = (gr1 - gr0) * p.tw;
      transform_inputs<TM, L>(v, x, g, p, gr0, gr1, 0, g.c);
      transform_grads<TM>(d, dy, g, p, kp, ys, gr0, gr0, gr1);
      for (int xi = 0; xi < p.xi; xi++) {
        for (int kt = 0; kt < ktiles; kt++) {
          int k0 = kt * GV * VW, nvv = imin(GV, (kp - k0) / VW);
          const float *vx = v + xi * p.vs, *dx = d + xi * ys + k0;
          float *mx = mg + xi * msz + k0;
          // Rows split evenly (64 channels as 6 tiles of 10–11 rather than 5 of 12 and one of 4).
          for (int ct = 0; ct < ctiles; ct++) {
            int c0, c1;
            split_range(g.c, ctiles, ct, &c0, &c1);
            gradFns[nvv - 1][c1 - c0 - 1](tiles, vx + (size_t)c0 * p.ld, p.ld, dx, kp, mx + (size_t)c0 * kp);
          }
        }
      }
    }
  });
  // M = M₀ + M₁ + … in group order, element by element, a range per item.
  size_t n = p.xi * msz;
  int parts = imin((int)(n / 4096) + 1, 8 * threads);
  parallel_for(threads, parts, [&](int, int part) {
    int lo, hi;
    split_range((int)n, parts, part, &lo, &hi);
    for (int grp = 1; grp < groups; grp++) {
      const float *q = msum + grp * mstride;
      for (int e = lo; e < hi; e++) msum[e] += q[e];
    }
  });
}

// dw += Gᵀ M G for output channels [k0, k1) and every input channel, in double, output channels
// innermost where M holds them.
template <int TM>
void filter_grads(float *dw, const float *msum, int kp, const ConvGeom &g, int k0, int k1) {
  typedef Tile<TM> T;
  constexpr int TA = T::TA;
  size_t msz = (size_t)g.c * kp;
  for (int ci = 0; ci < g.c; ci++) {
    for (int k = k0; k < k1; k++) {
      const float *m = msum + (size_t)ci * kp + k;
      double t[3][TA];
      for (int b = 0; b < TA; b++) {
        double col[TA], r[3];
        for (int a = 0; a < TA; a++) col[a] = m[(a * TA + b) * msz];
        combine<true>(T::G, col, r);
        for (int a = 0; a < 3; a++) t[a][b] = r[a];
      }
      float *f = dw + ((size_t)k * g.c + ci) * 9;
      for (int a = 0; a < 3; a++) {
        double r[3];
        combine<true>(T::G, t[a], r);
        for (int b = 0; b < 3; b++) f[a * 3 + b] = (float)(f[a * 3 + b] + r[b]);
      }
    }
  }
}

template <int TM>
void backward_filter_tiles(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g, int threads) {
  int kp = (g.k + VW - 1) / VW * VW;
  Plan p = grad_plan(g, TM, kp);
  size_t msz = (size_t)g.c * kp;
  size_t mstride = p.xi * msz + 16;
  float *msum = gM.grow(grad_groups(p) * mstride);
  zero_floats(msum, grad_groups(p) * mstride);
#if VW_16
  if (p.lanes == 16) grad_chunks<TM, 16>(msum, mstride, kp, dy, x, g, p, threads);
#endif
#if VW_16 || VW_8
  if (p.lanes == 8) grad_chunks<TM, 8>(msum, mstride, kp, dy, x, g, p, threads);
#endif
  if (p.lanes == 4) grad_chunks<TM, 4>(msum, mstride, kp, dy, x, g, p, threads);
  // db from dy itself, summed in sample order as the direct kernels do.
  int parts = imin(g.k, 4 * threads);
  parallel_for(threads, parts, [&](int, int part) {
    int k0, k1;
    split_range(g.k, parts, part, &k0, &k1);
    filter_grads<TM>(dw, msum, kp, g, k0, k1);
    if (db)
      for (int k = k0; k < k1; k++) add_bias_channel(db, dy, g, k);
  });
}

}  // namespace

void winograd_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g, int threads) {
  if (winograd_grad_tile(g) == 4) return backward_filter_tiles<4>(dw, db, dy, x, g, threads);
  backward_filter_tiles<2>(dw, db, dy, x, g, threads);
}
