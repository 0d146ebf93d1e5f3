// The bindings of the matrix products: gemm, the dense layers and the convolutions, with the questions
// and the switch the tests ask the Winograd kernels (winograd.h) through.
#include "addon.h"
#include "args.h"
#include "conv_dense_map.h"
#include "gemm.h"
#include "kernels.h"
#include "winograd.h"

namespace addon {
namespace {

// The Winograd tile side (2 or 4, 0 for the direct kernels) conv2dForward (conv2dBackwardFilter)
// takes for a geometry: the tests that aim at it check so.
template <int (*TILE)(const ConvGeom &)>
napi_value uses_winograd(napi_env env, napi_callback_info info) {
  Args a(env, info, TILE == winograd_tile ? "conv2dUsesWinograd" : "conv2dFilterUsesWinograd");
  ConvGeom g = a.conv(0);
  napi_value v;
  napi_create_int32(env, a.ok ? TILE(g) : 0, &v);
  return v;
}

// setWinogradTile(2 | 4 | 0): forces F(2×2) or F(4×4) wherever Winograd is taken (0: by shape), so
// that tests and benchmarks reach both.
napi_value set_winograd_tile(napi_env env, napi_callback_info info) {
  Args a(env, info, "setWinogradTile");
  int tm = a.i32(0, "tile", 0, 4);
  if (a.ok && tm != 0 && tm != 2 && tm != 4) a.fail("argument tile must be 0 (by shape), 2 or 4, got %d", tm);
  if (a.ok) winograd_force_tile(tm);
  return nullptr;
}

// Whether the three passes take the dense product of conv_dense_map.cc for a geometry.
napi_value uses_dense_map(napi_env env, napi_callback_info info) {
  Args a(env, info, "conv2dUsesDenseMap");
  ConvGeom g = a.conv(0);
  napi_value v;
  napi_get_boolean(env, a.ok && conv_dense_map_fits(g), &v);
  return v;
}

const Binding list[] = {
    BIND("gemm",
         {
           bool ta = a.flag(0, "ta"), tb = a.flag(1, "tb");
           int m = a.i32(2, "m", 1, kBig), n = a.i32(3, "n", 1, kBig), k = a.i32(4, "k", 1, kBig);
           const float *A = a.arr<float>(5, "a", Args::prod({m, k})), *B = a.arr<float>(6, "b", Args::prod({k, n}));
           float *C = a.arr<float>(7, "c", Args::prod({m, n}));
           bool acc = a.flag(8, "accumulate");
           int t = a.argc() > 9 ? a.i32(9, "threads", 1, max_threads()) : 1;
           return [=] {
             gemm_threads(m, n, k, ta ? Mat{A, 1, m} : Mat{A, k, 1}, tb ? Mat{B, 1, k} : Mat{B, n, 1}, C, n, acc, t);
           };
         }),
    BIND("denseForward",
         {
           int n = a.i32(4, "n", 1, kBig), in = a.i32(5, "inF", 1, kBig), out = a.i32(6, "outF", 1, kBig);
           float *y = a.arr<float>(0, "y", Args::prod({n, out})), *x = a.arr<float>(1, "x", Args::prod({n, in}));
           float *w = a.arr<float>(2, "w", Args::prod({out, in})), *b = a.arr<float>(3, "b", out, true);
           int t = a.i32(7, "threads", 1, max_threads());
           return [=] { dense_forward(y, x, w, b, n, in, out, t); };
         }),
    BIND("denseBackward",
         {
           int n = a.i32(6, "n", 1, kBig), in = a.i32(7, "inF", 1, kBig), out = a.i32(8, "outF", 1, kBig);
           float *dx = a.arr<float>(0, "dx", Args::prod({n, in}), true),
                 *dw = a.arr<float>(1, "dw", Args::prod({out, in}));
           float *db = a.arr<float>(2, "db", out, true), *dy = a.arr<float>(3, "dy", Args::prod({n, out}));
           float *x = a.arr<float>(4, "x", Args::prod({n, in})), *w = a.arr<float>(5, "w", Args::prod({out, in}));
           int t = a.i32(9, "threads", 1, max_threads());
           return [=] { dense_backward(dx, dw, db, dy, x, w, n, in, out, t); };
         }),
    BIND("conv2dForward",
         {
           ConvGeom g = a.conv(4);
           float *y = a.arr<float>(0, "y", Args::prod({g.n, g.k, g.oh, g.ow}));
           float *x = a.arr<float>(1, "x", Args::prod({g.n, g.c, g.h, g.w}));
           float *w = a.arr<float>(2, "w", Args::prod({g.k, g.c, g.kh, g.kw})), *b = a.arr<float>(3, "b", g.k, true);
           int t = a.i32(5, "threads", 1, max_threads());
           return [=] { conv2d_forward(y, x, w, b, g, t); };
         }),
    BIND("conv2dBackwardData",
         {
           ConvGeom g = a.conv(3);
           float *dx = a.arr<float>(0, "dx", Args::prod({g.n, g.c, g.h, g.w}));
           float *dy = a.arr<float>(1, "dy", Args::prod({g.n, g.k, g.oh, g.ow}));
           float *w = a.arr<float>(2, "w", Args::prod({g.k, g.c, g.kh, g.kw}));
           int t = a.i32(4, "threads", 1, max_threads());
           return [=] { conv2d_backward_data(dx, dy, w, g, t); };
         }),
    BIND("conv2dBackwardFilter",
         {
           ConvGeom g = a.conv(4);
           // dw null for a frozen weight: db alone.
           float *dw = a.arr<float>(0, "dw", Args::prod({g.k, g.c, g.kh, g.kw}), true);
           float *db = a.arr<float>(1, "db", g.k, true);
           float *dy = a.arr<float>(2, "dy", Args::prod({g.n, g.k, g.oh, g.ow}));
           float *x = a.arr<float>(3, "x", Args::prod({g.n, g.c, g.h, g.w}));
           int t = a.i32(5, "threads", 1, max_threads());
           return [=] { conv2d_backward_filter(dw, db, dy, x, g, t); };
         }),
    {"conv2dUsesWinograd", uses_winograd<winograd_tile>},
    {"conv2dFilterUsesWinograd", uses_winograd<winograd_grad_tile>},
    {"setWinogradTile", set_winograd_tile},
    {"conv2dUsesDenseMap", uses_dense_map},
};

}  // namespace

const Bindings convBindings = table(list);

}  // namespace addon
