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
#include "transpose.h"

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

// Tiles per sample and the transforms' vectors: the narrowest that holds a row of tiles.
Plan tile_grid(const ConvGeom &g) {
  Plan p{};
  p.th = (g.oh + TM - 1) / TM;
  p.tw = (g.ow + TM - 1) / TM;
  p.lanes = 4;
  while (p.lanes < VW && p.lanes < p.tw) p.lanes *= 2;
  p.nv = (p.tw + p.lanes - 1) / p.lanes;
  p.wb = TM * p.nv * p.lanes + TA;
  return p;
}

// Tile rows per chunk near `rows` (from ¾ to 1½ of it) whose tiles waste the fewest columns of the
// gemm's last micro-tile: 7 tiles a row (14×14 maps) fill micro-tiles of 32 columns only by 32 rows,
// 4 a row (7×7) by 8; 21 rows of 4 computed 96 columns for 84 tiles.
int whole_micro_tiles(int rows, int tw) {
  int best = rows;
  long bestPad = -1;
  for (int r = imax(1, rows * 3 / 4); r <= imax(1, rows * 3 / 2); r++) {
    long tiles = (long)r * tw, pad = (tiles + NR - 1) / NR * NR - tiles;
    // Padding per tile, compared without division: pad / tiles < bestPad / bestTiles.
    if (bestPad < 0 || pad * best * tw < bestPad * tiles ||
        (pad * best * tw == bestPad * tiles && imax(r - rows, rows - r) < imax(best - rows, rows - best))) {
      best = r;
      bestPad = pad;
    }
  }
  return best;
}

Plan plan_of(const ConvGeom &g, int threads) {
  Plan p = tile_grid(g);
  int total = g.n * p.th;
  // Tiles per chunk: V and M (XI·(c + k) floats a tile) within about 1 MB, at least two micro-tiles.
  int want = imax(2 * NR, (1 << 18) / (XI * (g.c + g.k)));
  p.rows = whole_micro_tiles(imax(1, want / p.tw), p.tw);
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

// V_ξ[c][t] = (Bᵀ d B)_ξ for channels [c0, c1) and the tiles t of global tile rows [gr0, gr1) (t
// counted from gr0's first). Each channel plane is copied into a zero-bordered buffer first: only its interior changes
// from plane to plane, so the borders are zeroed once.
template <int L>
void transform_inputs(float *v, const float *x, const ConvGeom &g, const Plan &p, int gr0, int gr1, int c0, int c1) {
  typedef typename Lanes<L>::v V;
  size_t xiStride = p.vs;
  int hb = TM * p.th + 2;
  float *buf = rowBuf.grow((size_t)hb * p.wb);
  zero_floats(buf, (size_t)hb * p.wb);
  for (int gr = gr0; gr < gr1;) {
    int s = gr / p.th, ty0 = gr % p.th, ty1 = imin(p.th, ty0 + (gr1 - gr));
    int iy0 = imax(0, TM * ty0 - g.ph), iy1 = imin(g.h, TM * ty1 + 2 - g.ph);
    for (int ci = c0; ci < c1; ci++) {
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
    transform_inputs<L>(v, x, g, p, gr0, gr1, 0, g.c);
    for (int xi = 0; xi < XI; xi++) {
      gemm_packed_a_offset(g.k, tiles, g.c, up + xi * p.asz, v + xi * p.vs, off, m + xi * p.ms, p.ld, false);
    }
    transform_outputs<L>(y, m, b, g, p, gr0, gr1);
  });
}

// ---- Weight gradient. With Ŷ = A dY Aᵀ the 4×4 transform of a tile's 2×2 output gradient, the
// gradient of U_ξ is M_ξ = Σ over tiles of V_ξ Ŷ_ξᵀ (in × out channels), and dw = Gᵀ M G per channel
// pair. V_ξ is laid out as the forward's (tiles along the rows), Ŷ_ξ with the output channels along
// the vectors, so the product is that of the direct weight gradient (conv_pixel.cc): a value of V
// broadcast against vectors of Ŷ. Chunks of tile rows and their groups are fixed by the shape alone,
// each group's chunks added to its M in order: the same bits on any thread count.

// Ŷ_ξ[t][k] for the tiles t of global tile rows [gr0, gr1) (t counted from chunk row `base`), all
// output channels, vectors of channels: the 2×2 blocks of dy (zero past the map's edge) are first
// transposed into rows of channels.
void transform_grads(float *d, const float *dy, const ConvGeom &g, const Plan &p, int kp, size_t ys, int base, int gr0,
                     int gr1) {
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
      const float *q0 = buf + (size_t)TM * tx * kp, *q1 = q0 + (size_t)cols * kp;
      float *o = out + (size_t)tx * kp;
      for (int k = 0; k < kp; k += VW) {
        // A down each column of the block (a, c), (b, e), then across.
        vf a = vload(q0 + k), b = vload(q0 + kp + k), c = vload(q1 + k), e = vload(q1 + kp + k);
        vf u[TA] = {a, a + c, a - c, -c}, w[TA] = {b, b + e, b - e, -e};
        for (int i = 0; i < TA; i++) {
          vstore(o + (i * TA + 0) * ys + k, u[i]);
          vstore(o + (i * TA + 1) * ys + k, u[i] + w[i]);
          vstore(o + (i * TA + 2) * ys + k, u[i] - w[i]);
          vstore(o + (i * TA + 3) * ys + k, -w[i]);
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
// M (16·c·k floats), few enough that its V and Ŷ (16·tiles·(c + k)) stay near 2 MB, in L2 and L3.
int grad_tiles(const ConvGeom &g) {
  return imax(64, imin(256, (1 << 19) / (XI * (g.c + g.k))));
}

Plan grad_plan(const ConvGeom &g) {
  Plan p = tile_grid(g);
  int total = g.n * p.th;
  p.rows = imin(total, imax(1, grad_tiles(g) / p.tw));
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

template <int L>
void grad_chunks(float *msum, size_t mstride, int kp, const float *dy, const float *x, const ConvGeom &g, const Plan &p,
                 int threads) {
  size_t ys = (size_t)p.rows * p.tw * kp + 16, msz = (size_t)g.c * kp;
  int total = g.n * p.th, groups = grad_groups(p);
  int ktiles = (kp + GV * VW - 1) / (GV * VW), ctiles = (g.c + GR - 1) / GR;
  parallel_for(threads, groups, [&](int, int group) {
    float *v = gV.grow(XI * p.vs), *d = gD.grow(XI * ys), *mg = msum + group * mstride;
    int i0, i1;
    split_range(p.chunks, groups, group, &i0, &i1);
    for (int i = i0; i < i1; i++) {
      int gr0 = i * p.rows, gr1 = imin(total, gr0 + p.rows), tiles = (gr1 - gr0) * p.tw;
      transform_inputs<L>(v, x, g, p, gr0, gr1, 0, g.c);
      transform_grads(d, dy, g, p, kp, ys, gr0, gr0, gr1);
      for (int xi = 0; xi < XI; xi++) {
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
  size_t n = XI * msz;
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

bool winograd_grad_fits(const ConvGeom &g) {
  return winograd_fits(g);
}

void winograd_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom &g, int threads) {
  Plan p = grad_plan(g);
  int kp = (g.k + VW - 1) / VW * VW;
  size_t msz = (size_t)g.c * kp;
  size_t mstride = XI * msz + 16;
  float *msum = gM.grow(grad_groups(p) * mstride);
  zero_floats(msum, grad_groups(p) * mstride);
#if VW_16
  if (p.lanes == 16) grad_chunks<16>(msum, mstride, kp, dy, x, g, p, threads);
#endif
#if VW_16 || VW_8
  if (p.lanes == 8) grad_chunks<8>(msum, mstride, kp, dy, x, g, p, threads);
#endif
  if (p.lanes == 4) grad_chunks<4>(msum, mstride, kp, dy, x, g, p, threads);
  // dw += Gᵀ M G per channel pair, in double (the halves are exact, the sums not), output channels
  // innermost where M holds them; db from dy itself, summed in sample order as the direct kernels do.
  int parts = imin(g.k, 4 * threads);
  parallel_for(threads, parts, [&](int, int part) {
    int k0, k1;
    split_range(g.k, parts, part, &k0, &k1);
    for (int ci = 0; ci < g.c; ci++) {
      for (int k = k0; k < k1; k++) {
        const float *m = msum + (size_t)ci * kp + k;
        double t[3][TA];
        for (int b = 0; b < TA; b++) {
          double m0 = m[(0 * TA + b) * msz], m1 = m[(1 * TA + b) * msz], m2 = m[(2 * TA + b) * msz],
                 m3 = m[(3 * TA + b) * msz];
          t[0][b] = m0 + (m1 + m2) / 2;
          t[1][b] = (m1 - m2) / 2;
          t[2][b] = (m1 + m2) / 2 + m3;
        }
        float *f = dw + ((size_t)k * g.c + ci) * 9;
        for (int a = 0; a < 3; a++) {
          f[a * 3 + 0] = (float)(f[a * 3 + 0] + (t[a][0] + (t[a][1] + t[a][2]) / 2));
          f[a * 3 + 1] = (float)(f[a * 3 + 1] + (t[a][1] - t[a][2]) / 2);
          f[a * 3 + 2] = (float)(f[a * 3 + 2] + ((t[a][1] + t[a][2]) / 2 + t[a][3]));
        }
      }
    }
    if (!db) return;
    long hw = (long)g.oh * g.ow;
    for (int k = k0; k < k1; k++) {
      double sum = 0;
      for (int s = 0; s < g.n; s++) {
        const float *q = dy + ((size_t)s * g.k + k) * hw;
        for (long j = 0; j < hw; j++) sum += q[j];
      }
      db[k] = (float)(db[k] + sum);
    }
  });
}
