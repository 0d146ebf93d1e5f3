// 3×3 stride-1 convolutions by Winograd's minimal filtering F(m×m, 3×3) (Lavin and Gray, 2016), m = 2
// or 4: each m×m block of outputs is Aᵀ[(G w Gᵀ) ⊙ (Bᵀ d B)]A over its (m+2)×(m+2) input patch d, so
// the 9m² multiply-adds of a block and channel pair become (m+2)²: 16 for 4 outputs, or 36 for 16.
// Those are (m+2)² matrix products, one per point ξ of the transform, U_ξ (out × in channels) · V_ξ
// (in channels × tiles), on the packed gemm with U_ξ packed once. The transforms are a few multiply-
// adds by constants, done in vectors over a row of tiles. Work is cut into chunks of tile rows, each
// transformed, multiplied and transformed back by one thread while its V and M stay in cache.
// The weight gradient is in winograd_grad.cc; what both use, in winograd_tiles.h and winograd_input.h.

#include "winograd.h"

#include "base.h"
#include "gemm.h"
#include "simd.h"
#include "threads.h"
#include "winograd_input.h"
#include "winograd_tiles.h"

namespace {

// The TM·L outputs of a row of L tiles in image order, from o[j] (lane l: column j of tile l).
template <int TM, int L>
static inline void interleave(const typename Lanes<L>::v *o, typename Lanes<L>::v *out) {
  typedef Lanes<L> S;
  if constexpr (TM == 2) {
    out[0] = S::zip_lo(o[0], o[1]);
    out[1] = S::zip_hi(o[0], o[1]);
  } else {
    typename S::v a = S::zip_lo(o[0], o[2]), b = S::zip_hi(o[0], o[2]), c = S::zip_lo(o[1], o[3]),
                  e = S::zip_hi(o[1], o[3]);
    out[0] = S::zip_lo(a, c);
    out[1] = S::zip_hi(a, c);
    out[2] = S::zip_lo(b, e);
    out[3] = S::zip_hi(b, e);
  }
}

THREAD_LOCAL Buf<float> vBuf, mBuf;
Buf<float> uBuf, uPacked;  // grown by the calling thread, filled by all
Buf<int> offBuf;

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

Plan plan_of(const ConvGeom &g, int tm, int threads) {
  Plan p = tile_grid(g, tm);
  int total = g.n * p.th;
  // Tiles per chunk: V and M (XI·(c + k) floats a tile) within about 1 MB, at least two micro-tiles;
  // 512 KB on 8-lane machines (AVX2), with their smaller L2 (Zen 3: 512 KB a core), where that was
  // 1.05–1.15× faster on 64-channel layers (quarter size: slower again).
  int want = imax(2 * NR, (VW >= 16 ? 1 << 18 : 1 << 17) / (p.xi * (g.c + g.k)));
  p.rows = whole_micro_tiles(imax(1, want / p.tw), p.tw);
  // Two chunks a thread at least, when there are enough tile rows (small batches).
  if (threads > 1) p.rows = imin(p.rows, imax(1, total / (2 * threads)));
  p.rows = whole_groups(p, imin(p.rows, total));
  p.chunks = (total + p.rows - 1) / p.rows;
  int tiles = p.rows * p.tw;
  // The gemm reads whole micro-tiles of columns; the input transform stores whole vectors per tile row.
  // Rows start on cache lines: the gemm's vector loads of V would straddle two (7×7 maps at 4×4 tiles
  // need 66 floats a row for 64 tiles).
  p.ld = (imax((tiles + NR - 1) / NR * NR, (p.rows - 1) * p.tw + p.nv * p.lanes) + 15) / 16 * 16;
  // One cache line more than the rows: 16 streams a whole number of 4 KB pages apart would share L1 sets.
  p.vs = (size_t)g.c * p.ld + 16;
  p.ms = (size_t)g.k * p.ld + 16;
  p.asz = packed_a_floats(g.k, g.c);
  return p;
}

// U_ξ[k][c] = (G w[k][c] Gᵀ)_ξ for output channels [k0, k1), ξ outermost (so that packing reads rows),
// one U_ξ to the next `us` floats apart. In double, rounded once.
template <int TM>
void transform_filters(float *u, size_t us, const float *w, const ConvGeom &g, int k0, int k1) {
  typedef Tile<TM> T;
  constexpr int TA = T::TA;
  for (size_t kc = (size_t)k0 * g.c; kc < (size_t)k1 * g.c; kc++) {
    const float *f = w + kc * 9;
    double gg[TA][3];
    for (int j = 0; j < 3; j++) {
      double col[3] = {f[j], f[3 + j], f[6 + j]}, out[TA];
      combine<false>(T::G, col, out);
      for (int a = 0; a < TA; a++) gg[a][j] = out[a];
    }
    for (int a = 0; a < TA; a++) {
      double out[TA];
      combine<false>(T::G, gg[a], out);
      for (int b = 0; b < TA; b++) u[(a * TA + b) * us + kc] = (float)out[b];
    }
  }
}

// y for tile rows [gr0, gr1): Aᵀ M A per tile and output channel, plus the bias.
template <int TM, int L>
void transform_outputs(float *y, const float *m, const float *b, const ConvGeom &g, const Plan &p, int gr0, int gr1) {
  typedef typename Lanes<L>::v V;
  typedef Tile<TM> T;
  constexpr int TA = T::TA;
  size_t xiStride = p.ms;
  // Outputs of a row of tiles a vector row covers, and vectors they take.
  int span = TM * L / p.rpv, per = TM / p.rpv;
  for (int gr = gr0; gr < gr1; gr += p.rpv) {
    int t0 = (gr - gr0) * p.tw;
    for (int k = 0; k < g.k; k++) {
      V bias;
      for (int l = 0; l < L; l++) bias[l] = b ? b[k] : 0.f;
      const float *src = m + (size_t)k * p.ld + t0;
      for (int j = 0; j < p.nv; j++) {
        V s[TM][TA];
        for (int c = 0; c < TA; c++) {
          V col[TA], out[TM];
          for (int a = 0; a < TA; a++) col[a] = *(const V *)(src + j * L + (a * TA + c) * xiStride);
          combine<false>(T::AT, col, out);
          for (int i = 0; i < TM; i++) s[i][c] = out[i];
        }
        int x0 = j * span, nx = imin(span, g.ow - x0);
        V rows[TM][TM];
        for (int i = 0; i < TM; i++) {
          V o[TM];
          combine<false>(T::AT, s[i], o);
          for (int c = 0; c < TM; c++) o[c] += bias;
          interleave<TM, L>(o, rows[i]);
        }
        // Output rows in order down the map (or maps): row i of tile row gr + h is row i of the
        // vectors' part h.
        for (int h = 0; h < p.rpv; h++) {
          int sh = (gr + h) / p.th, ty = (gr + h) % p.th, ny = imin(TM, g.oh - ty * TM);
          float *plane = y + ((size_t)sh * g.k + k) * g.oh * g.ow;
          // Rows of this map the chunk writes up to.
          int end = imin(g.oh, TM * imin(p.th, gr1 - sh * p.th));
          for (int i = 0; i < ny; i++) {
            int oy = ty * TM + i;
            float *dst = plane + (size_t)oy * g.ow + x0;
            const V *part = rows[i] + h * per;
            // Whole vectors when the overflow lands on rows this chunk writes later, else those that
            // fit and the last lanes one by one. (The empty asm keeps the compiler from making these
            // loops calls to memcpy, dearer than them.)
            int whole = nx == span || (p.nv == 1 && span - nx <= (end - 1 - oy) * g.ow) ? per : nx / L;
            for (int c = 0; c < whole; c++) {
              *(V *)(dst + c * L) = part[c];
              __asm__("" ::: "memory");
            }
            int l = whole * L;
            if constexpr (L == 8) {  // 7×7 maps: 4 lanes at once, then 3
              if (nx - l >= 4) {
                *(typename Lanes<4>::v *)(dst + l) = __builtin_shufflevector(part[whole], part[whole], 0, 1, 2, 3);
                l += 4;
              }
            }
            for (; l < nx; l++) {
              dst[l] = part[whole][l - whole * L];
              __asm__("" ::: "memory");
            }
          }
        }
      }
    }
  }
}

template <int TM, int L>
void run_chunks(float *y, const float *x, const float *b, const float *up, const int *off, const ConvGeom &g,
                const Plan &p, int threads) {
  int total = g.n * p.th;
  parallel_for(threads, p.chunks, [&](int, int i) {
    int gr0 = i * p.rows, gr1 = imin(total, gr0 + p.rows), tiles = (gr1 - gr0) * p.tw;
    float *v = vBuf.grow(p.xi * p.vs), *m = mBuf.grow(p.xi * p.ms);
    transform_inputs<TM, L>(v, x, g, p, gr0, gr1, 0, g.c);
    for (int xi = 0; xi < p.xi; xi++) {
      gemm_packed_a_offset(g.k, tiles, g.c, up + xi * p.asz, v + xi * p.vs, off, m + xi * p.ms, p.ld, false);
    }
    transform_outputs<TM, L>(y, m, b, g, p, gr0, gr1);
  });
}

template <int TM>
void forward_tiles(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads) {
  Plan p = plan_of(g, TM, threads);
  // One cache line more than k·c a U_ξ: 36 streams a whole number of 4 KB pages apart would share L1 sets.
  size_t us = (size_t)g.k * g.c + 16;
  float *u = uBuf.grow(p.xi * us), *up = uPacked.grow(p.asz * p.xi);
  // The filters' transform and packing are shared out too: a 256×256 layer's are a few ms.
  int parts = imin(g.k, 4 * threads);
  parallel_for(threads, parts, [&](int, int i) {
    int k0, k1;
    split_range(g.k, parts, i, &k0, &k1);
    transform_filters<TM>(u, us, w, g, k0, k1);
  });
  parallel_for(threads, p.xi, [&](int, int xi) { pack_a_panels(up + xi * p.asz, Mat{u + xi * us, g.c, 1}, g.k, g.c); });
  int *off = offBuf.grow(g.c);
  for (int ci = 0; ci < g.c; ci++) off[ci] = ci * p.ld;
#if VW_16
  if (p.lanes == 16) return run_chunks<TM, 16>(y, x, b, up, off, g, p, threads);
#endif
#if VW_16 || VW_8
  if (p.lanes == 8) return run_chunks<TM, 8>(y, x, b, up, off, g, p, threads);
#endif
  run_chunks<TM, 4>(y, x, b, up, off, g, p, threads);
}

int forcedTile = 0;  // winograd_force_tile

// Measured against the direct kernels (BENCHMARKS.md): the transforms, the filters' above all, need
// enough pixels and channels to pay off. Below 4096 output pixels a call (batch 8 at 14×14, batch 1
// anywhere but 31×31) or 16 + 16 channels, the direct kernels were faster.
bool fits(const ConvGeom &g) {
  return g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && imin(g.c, g.k) >= 16 && g.c + g.k >= 64 && g.oh >= 4 &&
         g.ow >= 4 && (long)g.n * g.oh * g.ow >= 4096;
}

// 4×4 tiles where their products are at most ¾ of the 2×2 tiles' (36 a tile against 16): their transforms
// cost more a tile, and a map that is not near a multiple of 4 wastes more of them. Measured, process
// CPU time on 1 thread: 4×4 1.0–1.2× faster on 7×7 and 14×14 maps (0.56 and 0.73 of the products),
// 1.15–1.8× on 15×15 and 31×31 (0.56), but 0.84–0.90× on 10×10 (0.81) and 0.87–1.0× on 5×5 (1.0).
int choose_tile(const ConvGeom &g) {
  if (!fits(g)) return 0;
  if (forcedTile) return forcedTile;
  long t4 = (long)((g.oh + 3) / 4) * ((g.ow + 3) / 4), t2 = (long)((g.oh + 1) / 2) * ((g.ow + 1) / 2);
  return 3 * t4 <= t2 ? 4 : 2;
}

}  // namespace

int winograd_tile(const ConvGeom &g) {
  return choose_tile(g);
}

// The weight gradient's 4×4 tiles on 8-lane machines (AVX2) only where their products are at most 0.6 of
// the 2×2 tiles': measured there in process CPU time on 1 thread, batch 128, 2×2 tiles were 1.1–1.2×
// faster on 14×14 maps with 32 and 64 channels (0.73 of the products), 4×4 still faster on 7×7, 15×15
// and 31×31 maps (0.56). The 16-lane machine's measurements kept ¾.
int winograd_grad_tile(const ConvGeom &g) {
  int tm = choose_tile(g);
  if (tm != 4 || forcedTile || VW != 8) return tm;
  long t4 = (long)((g.oh + 3) / 4) * ((g.ow + 3) / 4), t2 = (long)((g.oh + 1) / 2) * ((g.ow + 1) / 2);
  return 15 * t4 <= 4 * t2 ? 4 : 2;
}

void winograd_force_tile(int tm) {
  forcedTile = tm == 2 || tm == 4 ? tm : 0;
}

void winograd_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom &g, int threads) {
  if (winograd_tile(g) == 4) return forward_tiles<4>(y, x, w, b, g, threads);
  forward_tiles<2>(y, x, w, b, g, threads);
}
