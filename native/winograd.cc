// 3×3 stride-1 convolutions by Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, 2016): each
// 2×2 block of outputs is Aᵀ[(G w Gᵀ) ⊙ (Bᵀ d B)]A over its 4×4 input patch d, so the 36 multiply-adds
// of a block and channel pair become 16. Those are 16 matrix products, one per point ξ of the 4×4
// transform, U_ξ (out × in channels) · V_ξ (in channels × tiles), on the packed gemm with U_ξ packed
// once. The transforms are additions only, done in vectors over a row of tiles. Work is cut into
// chunks of tile rows, each transformed, multiplied and transformed back by one thread while its V and
// M stay in cache.

#include "winograd.h"

#include "base.h"
#include "gemm.h"
#include "simd.h"
#include "threads.h"

namespace {

constexpr int TM = 2;        // outputs per tile side
constexpr int TA = TM + 2;   // inputs per tile side
constexpr int XI = TA * TA;  // transform points

THREAD_LOCAL Buf<float> vBuf, mBuf, rowBuf;
Buf<float> uBuf, uPacked;  // grown by the calling thread, filled by all
Buf<int> offBuf;

struct Plan {
  int th, tw;     // tiles per sample: rows, columns
  int lanes;      // of the transforms' vectors: 4, 8 or 16, at most VW
  int nv;         // vectors per row of tiles
  int rows;       // tile rows per chunk
  int chunks;     // over the whole batch (a chunk may span samples)
  int ld;         // floats per row of V and M
  size_t vs, ms;  // floats from one point ξ's V (c rows) or M (k rows) to the next
  int wb;         // floats per padded input row the input transform reads
  size_t asz;     // floats of one packed U_ξ
};

Plan plan_of(const ConvGeom &g, int threads) {
  Plan p;
  p.th = (g.oh + TM - 1) / TM;
  p.tw = (g.ow + TM - 1) / TM;
  p.lanes = 4;
  while (p.lanes < VW && p.lanes < p.tw) p.lanes *= 2;
  p.nv = (p.tw + p.lanes - 1) / p.lanes;
  int total = g.n * p.th;
  // Tiles per chunk: V and M (XI·(c + k) floats a tile) within about 1 MB, at least two micro-tiles.
  int want = imax(2 * NR, (1 << 18) / (XI * (g.c + g.k)));
  p.rows = imax(1, want / p.tw);
  // Two chunks a thread at least, when there are enough tile rows (small batches).
  if (threads > 1) p.rows = imin(p.rows, imax(1, total / (2 * threads)));
  p.rows = imin(p.rows, total);
  p.chunks = (total + p.rows - 1) / p.rows;
  int tiles = p.rows * p.tw;
  // The gemm reads whole micro-tiles of columns; the input transform stores whole vectors per tile row.
  p.ld = imax((tiles + NR - 1) / NR * NR, (p.rows - 1) * p.tw + p.nv * p.lanes);
  // One cache line more than the rows: 16 streams a whole number of 4 KB pages apart would share L1 sets.
  p.vs = (size_t)g.c * p.ld + 16;
  p.ms = (size_t)g.k * p.ld + 16;
  p.wb = TM * p.nv * p.lanes + TA;
  p.asz = packed_a_floats(g.k, g.c);
  return p;
}

// U_ξ[k][c] = (G w[k][c] Gᵀ)_ξ for output channels [k0, k1), stored ξ-innermost. In double: the halves
// are exact, the sums not.
void transform_filters(float *u, const float *w, const ConvGeom &g, int k0, int k1) {
  for (size_t kc = (size_t)k0 * g.c; kc < (size_t)k1 * g.c; kc++) {
    const float *f = w + kc * 9;
    double gg[TA][3];
    for (int j = 0; j < 3; j++) {
      double f0 = f[j], f1 = f[3 + j], f2 = f[6 + j];
      gg[0][j] = f0;
      gg[1][j] = (f0 + f1 + f2) / 2;
      gg[2][j] = (f0 - f1 + f2) / 2;
      gg[3][j] = f2;
    }
    for (int a = 0; a < TA; a++) {
      double r0 = gg[a][0], r1 = gg[a][1], r2 = gg[a][2];
      float *ua = u + kc * XI + a * TA;
      ua[0] = (float)r0;
      ua[1] = (float)((r0 + r1 + r2) / 2);
      ua[2] = (float)((r0 - r1 + r2) / 2);
      ua[3] = (float)r2;
    }
  }
}

// Vectors of L lanes over a row of tiles: on small maps a narrower vector than the machine's wastes
// fewer lanes (a 14×14 map has 7 tiles a row).
template <int L>
struct Lanes;
template <>
struct Lanes<4> {
  typedef float v __attribute__((vector_size(16), aligned(4)));
  static v evens(const float *p) { return __builtin_shufflevector(*(const v *)p, *(const v *)(p + 4), 0, 2, 4, 6); }
  static v odds(const float *p) { return __builtin_shufflevector(*(const v *)p, *(const v *)(p + 4), 1, 3, 5, 7); }
  static v zip_lo(v a, v b) { return __builtin_shufflevector(a, b, 0, 4, 1, 5); }
  static v zip_hi(v a, v b) { return __builtin_shufflevector(a, b, 2, 6, 3, 7); }
};
#if VW_16 || VW_8
template <>
struct Lanes<8> {
  typedef float v __attribute__((vector_size(32), aligned(4)));
  static v evens(const float *p) {
    return __builtin_shufflevector(*(const v *)p, *(const v *)(p + 8), 0, 2, 4, 6, 8, 10, 12, 14);
  }
  static v odds(const float *p) {
    return __builtin_shufflevector(*(const v *)p, *(const v *)(p + 8), 1, 3, 5, 7, 9, 11, 13, 15);
  }
  static v zip_lo(v a, v b) { return __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11); }
  static v zip_hi(v a, v b) { return __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15); }
};
#endif
#if VW_16
template <>
struct Lanes<16> {
  typedef float v __attribute__((vector_size(64), aligned(4)));
  static v evens(const float *p) { return __builtin_shufflevector(*(const v *)p, *(const v *)(p + 16), EVENS); }
  static v odds(const float *p) { return __builtin_shufflevector(*(const v *)p, *(const v *)(p + 16), ODDS); }
  static v zip_lo(v a, v b) {
    return __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  }
  static v zip_hi(v a, v b) {
    return __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  }
};
#endif

// V_ξ[c][t] = (Bᵀ d B)_ξ for the tiles t of global tile rows [gr0, gr1) (t counted from gr0's first).
// Each channel plane is copied into a zero-bordered buffer first: only its interior changes from plane
// to plane, so the borders are zeroed once.
template <int L>
void transform_inputs(float *v, const float *x, const ConvGeom &g, const Plan &p, int gr0, int gr1) {
  typedef typename Lanes<L>::v V;
  size_t xiStride = p.vs;
  int hb = TM * p.th + 2;
  float *buf = rowBuf.grow((size_t)hb * p.wb);
  zero_floats(buf, (size_t)hb * p.wb);
  for (int gr = gr0; gr < gr1;) {
    int s = gr / p.th, ty0 = gr % p.th, ty1 = imin(p.th, ty0 + (gr1 - gr));
    int iy0 = imax(0, TM * ty0 - g.ph), iy1 = imin(g.h, TM * ty1 + 2 - g.ph);
    for (int ci = 0; ci < g.c; ci++) {
      const float *plane = x + ((size_t)s * g.c + ci) * g.h * g.w;
      for (int iy = iy0; iy < iy1; iy++) {
        float *row = buf + (size_t)(iy + g.ph) * p.wb + g.pw;
        const float *src = plane + (size_t)iy * g.w;
        int i = 0;
        for (; i + L <= g.w; i += L) *(V *)(row + i) = *(const V *)(src + i);
        for (; i < g.w; i++) row[i] = src[i];
      }
      for (int ty = ty0; ty < ty1; ty++) {
        float *dst = v + (size_t)ci * p.ld + (size_t)(s * p.th + ty - gr0) * p.tw;
        const float *rows = buf + (size_t)ty * TM * p.wb;
        for (int j = 0; j < p.nv; j++) {
          // Bᵀ along each row (lane l is tile j·L + l, its patch columns 2l..2l+3), then down the columns.
          V t[TA][TA];
          for (int r = 0; r < TA; r++) {
            const float *q = rows + r * p.wb + j * L * TM;
            V d0 = Lanes<L>::evens(q), d1 = Lanes<L>::odds(q), d2 = Lanes<L>::evens(q + 2), d3 = Lanes<L>::odds(q + 2);
            t[r][0] = d0 - d2;
            t[r][1] = d1 + d2;
            t[r][2] = d2 - d1;
            t[r][3] = d1 - d3;
          }
          float *o = dst + j * L;
          for (int b = 0; b < TA; b++) {
            *(V *)(o + (0 * TA + b) * xiStride) = t[0][b] - t[2][b];
            *(V *)(o + (1 * TA + b) * xiStride) = t[1][b] + t[2][b];
            *(V *)(o + (2 * TA + b) * xiStride) = t[2][b] - t[1][b];
            *(V *)(o + (3 * TA + b) * xiStride) = t[1][b] - t[3][b];
          }
        }
      }
    }
    gr += ty1 - ty0;
  }
}

// y for tile rows [gr0, gr1): Aᵀ M A per tile and output channel, plus the bias.
template <int L>
void transform_outputs(float *y, const float *m, const float *b, const ConvGeom &g, const Plan &p, int gr0, int gr1) {
  typedef typename Lanes<L>::v V;
  size_t xiStride = p.ms;
  for (int gr = gr0; gr < gr1; gr++) {
    int s = gr / p.th, ty = gr % p.th, t0 = (gr - gr0) * p.tw;
    int oy0 = ty * TM, ny = imin(TM, g.oh - oy0);
    for (int k = 0; k < g.k; k++) {
      V bias;
      for (int l = 0; l < L; l++) bias[l] = b ? b[k] : 0.f;
      const float *src = m + (size_t)k * p.ld + t0;
      float *plane = y + ((size_t)s * g.k + k) * g.oh * g.ow;
      for (int j = 0; j < p.nv; j++) {
        V s0[TA], s1[TA];
        for (int c = 0; c < TA; c++) {
          const float *q = src + j * L + c * xiStride;
          V m0 = *(const V *)q, m1 = *(const V *)(q + TA * xiStride), m2 = *(const V *)(q + 2 * TA * xiStride),
            m3 = *(const V *)(q + 3 * TA * xiStride);
          s0[c] = m0 + m1 + m2;
          s1[c] = m1 - m2 - m3;
        }
        V o[TM][TM] = {{s0[0] + s0[1] + s0[2] + bias, s0[1] - s0[2] - s0[3] + bias},
                       {s1[0] + s1[1] + s1[2] + bias, s1[1] - s1[2] - s1[3] + bias}};
        int x0 = j * L * TM, nx = imin(L * TM, g.ow - x0);
        for (int i = 0; i < ny; i++) {
          float *dst = plane + (size_t)(oy0 + i) * g.ow + x0;
          V lo = Lanes<L>::zip_lo(o[i][0], o[i][1]), hi = Lanes<L>::zip_hi(o[i][0], o[i][1]);
          // Whole vectors when the overflow lands on the next row of this tile, written next.
          if (nx == 2 * L || (p.nv == 1 && i + 1 < ny && 2 * L - nx <= g.ow)) {
            *(V *)dst = lo;
            *(V *)(dst + L) = hi;
          } else {
            float t[2 * L];
            *(V *)t = lo;
            *(V *)(t + L) = hi;
            for (int l = 0; l < nx; l++) dst[l] = t[l];
          }
        }
      }
    }
  }
}

template <int L>
void run_chunks(float *y, const float *x, const float *b, const float *up, const int *off, const ConvGeom &g,
                const Plan &p, int threads) {
  int total = g.n * p.th;
  parallel_for(threads, p.chunks, [&](int, int i) {
    int gr0 = i * p.rows, gr1 = imin(total, gr0 + p.rows), tiles = (gr1 - gr0) * p.tw;
    float *v = vBuf.grow(XI * p.vs), *m = mBuf.grow(XI * p.ms);
    transform_inputs<L>(v, x, g, p, gr0, gr1);
    for (int xi = 0; xi < XI; xi++) {
      gemm_packed_a_offset(g.k, tiles, g.c, up + xi * p.asz, v + xi * p.vs, off, m + xi * p.ms, p.ld, false);
    }
    transform_outputs<L>(y, m, b, g, p, gr0, gr1);
  });
}

}  // namespace

// Measured against the direct kernels (BENCHMARKS.md): the transforms, the filters' above all, need
// enough pixels and channels to pay off. Below 4096 output pixels a call (batch 8 at 14×14, batch 1
// anywhere but 31×31) or 16 + 16 channels, the direct kernels were faster.
bool winograd_fits(const ConvGeom &g) {
  return g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && imin(g.c, g.k) >= 16 && g.c + g.k >= 64 && g.oh >= 4 &&
         g.ow >= 4 && (long)g.n * g.oh * g.ow >= 4096;
}

void winograd_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads) {
  Plan p = plan_of(g, threads);
  float *u = uBuf.grow((size_t)XI * g.k * g.c), *up = uPacked.grow(p.asz * XI);
  // The filters' transform and packing are shared out too: a 256×256 layer's are a few ms.
  int parts = imin(g.k, 4 * threads);
  parallel_for(threads, parts, [&](int, int i) {
    int k0, k1;
    split_range(g.k, parts, i, &k0, &k1);
    transform_filters(u, w, g, k0, k1);
  });
  parallel_for(threads, XI, [&](int, int xi) {
    pack_a_panels(up + xi * p.asz, Mat{u + xi, (long)g.c * XI, XI}, g.k, g.c);
  });
  int *off = offBuf.grow(g.c);
  for (int ci = 0; ci < g.c; ci++) off[ci] = ci * p.ld;
#if VW_16
  if (p.lanes == 16) return run_chunks<16>(y, x, b, up, off, g, p, threads);
#endif
#if VW_16 || VW_8
  if (p.lanes == 8) return run_chunks<8>(y, x, b, up, off, g, p, threads);
#endif
  run_chunks<4>(y, x, b, up, off, g, p, threads);
}
