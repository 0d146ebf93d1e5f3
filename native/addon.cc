// Node-API glue: checks and unwraps typed arrays (no copies) and integers, then calls the kernels.
// JavaScript side: src/kernels/native/index.ts; loading and variant choice: src/kernels/node-loader.ts.
#include <node_api.h>

#include <mutex>
#include <thread>

#include "args.h"
#include "gemm.h"
#include "kernels.h"
#include "simd.h"
#include "winograd.h"

namespace {

// The thread pool and some scratch buffers are process-wide, so calls from several JavaScript threads
// (worker_threads, each with its own copy of this module's bindings) take turns: correct, not parallel.
std::mutex calls;

int max_threads() {
  unsigned cores = std::thread::hardware_concurrency();
  return 4 * (cores ? (int)cores : 1);
}

// Unwraps and checks the arguments (body returns the kernel to run, or nothing when a check threw),
// then runs the kernel holding the lock.
template <typename F>
napi_value call(napi_env env, napi_callback_info info, const char *name, F body) {
  Args a(env, info, name);
  auto kernel = body(a);
  if (a.ok) {
    std::lock_guard<std::mutex> lock(calls);
    kernel();
  }
  return nullptr;
}

#define BIND(name, ...)                                                                               \
  {                                                                                                   \
    name, [](napi_env e, napi_callback_info i) { return call(e, i, name, [](Args & a) __VA_ARGS__); } \
  }

const int64_t kBig = INT32_MAX;  // sizes: positive ints; their products are checked against array lengths

// Argument orders and names are those of src/kernels/native/index.ts (NativeAddon), threads last.
const struct {
  const char *name;
  napi_callback fn;
} bindings[] = {
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
    BIND("maxPool2dForward",
         {
           PoolGeom g = a.pool(3);
           int64_t ys = Args::prod({g.n, g.c, g.oh, g.ow});
           float *y = a.arr<float>(0, "y", ys);
           int *am = a.arr<int>(1, "argmax", ys);
           float *x = a.arr<float>(2, "x", Args::prod({g.n, g.c, g.h, g.w}));
           int t = a.i32(4, "threads", 1, max_threads());
           return [=] { maxpool_forward(y, am, x, g, t); };
         }),
    BIND("maxPool2dBackward",
         {
           PoolGeom g = a.pool(3);
           int64_t xs = Args::prod({g.n, g.c, g.h, g.w}), ys = Args::prod({g.n, g.c, g.oh, g.ow});
           float *dx = a.arr<float>(0, "dx", xs), *dy = a.arr<float>(1, "dy", ys);
           int *am = a.arr<int>(2, "argmax", ys);
           // argmax values are write positions in dx: each must lie inside it.
           for (int64_t i = 0; am && i < ys; i++)
             if (am[i] < 0 || am[i] >= xs)
               a.fail("argument argmax: argmax[%lld] = %d lies outside dx's %lld values", (long long)i, am[i],
                      (long long)xs);
           int t = a.i32(4, "threads", 1, max_threads());
           return [=] { maxpool_backward(dx, dy, am, g, t); };
         }),
    BIND("avgPool2dForward",
         {
           PoolGeom g = a.pool(2);
           float *y = a.arr<float>(0, "y", Args::prod({g.n, g.c, g.oh, g.ow}));
           float *x = a.arr<float>(1, "x", Args::prod({g.n, g.c, g.h, g.w}));
           int t = a.i32(3, "threads", 1, max_threads());
           return [=] { avgpool_forward(y, x, g, t); };
         }),
    BIND("avgPool2dBackward",
         {
           PoolGeom g = a.pool(2);
           float *dx = a.arr<float>(0, "dx", Args::prod({g.n, g.c, g.h, g.w}));
           float *dy = a.arr<float>(1, "dy", Args::prod({g.n, g.c, g.oh, g.ow}));
           int t = a.i32(3, "threads", 1, max_threads());
           return [=] { avgpool_backward(dx, dy, g, t); };
         }),
    BIND("activationForward",
         {
           int kind = a.i32(0, "kind", 0, 2), len = a.i32(3, "len", 0, kBig);
           float *y = a.arr<float>(1, "y", len), *x = a.arr<float>(2, "x", len);
           int t = a.i32(4, "threads", 1, max_threads());
           return [=] { activation_forward(kind, y, x, len, t); };
         }),
    BIND("activationBackward",
         {
           int kind = a.i32(0, "kind", 0, 2), len = a.i32(4, "len", 0, kBig);
           float *dx = a.arr<float>(1, "dx", len), *dy = a.arr<float>(2, "dy", len), *y = a.arr<float>(3, "y", len);
           int t = a.i32(5, "threads", 1, max_threads());
           return [=] { activation_backward(kind, dx, dy, y, len, t); };
         }),
    BIND("geluForward",
         {
           int len = a.i32(2, "len", 0, kBig);
           float *y = a.arr<float>(0, "y", len), *x = a.arr<float>(1, "x", len);
           int t = a.i32(3, "threads", 1, max_threads());
           return [=] { gelu_forward(y, x, len, t); };
         }),
    BIND("geluBackward",
         {
           int len = a.i32(3, "len", 0, kBig);
           float *dx = a.arr<float>(0, "dx", len), *dy = a.arr<float>(1, "dy", len), *x = a.arr<float>(2, "x", len);
           int t = a.i32(4, "threads", 1, max_threads());
           return [=] { gelu_backward(dx, dy, x, len, t); };
         }),
    BIND("batchNormStats",
         {
           int n = a.i32(3, "n", 1, kBig), c = a.i32(4, "c", 1, kBig), hw = a.i32(5, "hw", 1, kBig);
           float *mean = a.arr<float>(0, "mean", c), *var = a.arr<float>(1, "variance", c);
           const float *x = a.arr<float>(2, "x", Args::prod({n, c, hw}));
           int t = a.i32(6, "threads", 1, max_threads());
           return [=] { batchnorm_stats(mean, var, x, n, c, hw, t); };
         }),
    BIND("batchNormForward",
         {
           BnAct act{a.i32(0, "act", kBnNone, kBnGelu), a.num(1, "slope")};
           int n = a.i32(8, "n", 1, kBig), c = a.i32(9, "c", 1, kBig), hw = a.i32(10, "hw", 1, kBig);
           int64_t xs = Args::prod({n, c, hw});
           float *y = a.arr<float>(2, "y", xs);
           const float *x = a.arr<float>(3, "x", xs), *mean = a.arr<float>(4, "mean", c);
           const float *invstd = a.arr<float>(5, "invstd", c), *gamma = a.arr<float>(6, "gamma", c, true);
           const float *beta = a.arr<float>(7, "beta", c, true);
           int t = a.i32(11, "threads", 1, max_threads());
           return [=] { batchnorm_forward(y, x, mean, invstd, gamma, beta, n, c, hw, act, t); };
         }),
    BIND("batchNormBackward",
         {
           BnAct act{a.i32(0, "act", kBnNone, kBnGelu), a.num(1, "slope")};
           int n = a.i32(11, "n", 1, kBig), c = a.i32(12, "c", 1, kBig), hw = a.i32(13, "hw", 1, kBig);
           int64_t xs = Args::prod({n, c, hw});
           // With an activation dx holds its gradient on the way: it is required.
           float *dx = a.arr<float>(2, "dx", xs, act.kind == kBnNone), *dgamma = a.arr<float>(3, "dgamma", c, true);
           float *dbeta = a.arr<float>(4, "dbeta", c, true);
           const float *dy = a.arr<float>(5, "dy", xs), *x = a.arr<float>(6, "x", xs);
           const float *mean = a.arr<float>(7, "mean", c), *invstd = a.arr<float>(8, "invstd", c);
           const float *gamma = a.arr<float>(9, "gamma", c, true), *beta = a.arr<float>(10, "beta", c, true);
           bool batch_stats = a.flag(14, "batchStats");
           int t = a.i32(15, "threads", 1, max_threads());
           return [=] {
             batchnorm_backward(dx, dgamma, dbeta, dy, x, mean, invstd, gamma, beta, n, c, hw, batch_stats, act, t);
           };
         }),
    BIND("batchNormMaxPoolForward",
         {
           BnAct act{a.i32(0, "act", kBnNone, kBnGelu), a.num(1, "slope")};
           PoolGeom g = a.pool(9);
           int64_t xs = Args::prod({g.n, g.c, g.h, g.w}), ys = Args::prod({g.n, g.c, g.oh, g.ow});
           float *y = a.arr<float>(2, "y", ys);
           int *am = a.arr<int>(3, "argmax", ys);
           const float *x = a.arr<float>(4, "x", xs), *mean = a.arr<float>(5, "mean", g.c);
           const float *invstd = a.arr<float>(6, "invstd", g.c), *gamma = a.arr<float>(7, "gamma", g.c, true);
           const float *beta = a.arr<float>(8, "beta", g.c, true);
           int t = a.i32(10, "threads", 1, max_threads());
           return [=] { batchnorm_maxpool_forward(y, am, x, mean, invstd, gamma, beta, act, g, t); };
         }),
    BIND("batchNormMaxPoolBackward",
         {
           BnAct act{a.i32(0, "act", kBnNone, kBnGelu), a.num(1, "slope")};
           PoolGeom g = a.pool(13);
           int64_t xs = Args::prod({g.n, g.c, g.h, g.w}), ys = Args::prod({g.n, g.c, g.oh, g.ow});
           float *dx = a.arr<float>(2, "dx", xs, true), *dgamma = a.arr<float>(3, "dgamma", g.c, true);
           float *dbeta = a.arr<float>(4, "dbeta", g.c, true);
           const float *dy = a.arr<float>(5, "dy", ys), *y = a.arr<float>(6, "y", ys);
           const int *am = a.arr<int>(7, "argmax", ys);
           const float *x = a.arr<float>(8, "x", xs), *mean = a.arr<float>(9, "mean", g.c);
           const float *invstd = a.arr<float>(10, "invstd", g.c), *gamma = a.arr<float>(11, "gamma", g.c, true);
           const float *beta = a.arr<float>(12, "beta", g.c, true);
           bool batch_stats = a.flag(14, "batchStats");
           a.argmax_in_planes(am, g);
           int t = a.i32(15, "threads", 1, max_threads());
           return [=] {
             batchnorm_maxpool_backward(dx, dgamma, dbeta, dy, y, am, x, mean, invstd, gamma, beta, batch_stats, act, g,
                                        t);
           };
         }),
    BIND("maxPoolBatchNormStats",
         {
           PoolGeom g = a.pool(5);
           int64_t xs = Args::prod({g.n, g.c, g.h, g.w}), ys = Args::prod({g.n, g.c, g.oh, g.ow});
           float *y = a.arr<float>(0, "y", ys), *mean = a.arr<float>(2, "mean", g.c),
                 *var = a.arr<float>(3, "variance", g.c);
           int *am = a.arr<int>(1, "argmax", ys);
           const float *x = a.arr<float>(4, "x", xs);
           int t = a.i32(6, "threads", 1, max_threads());
           return [=] { maxpool_batchnorm_stats(y, am, mean, var, x, g, t); };
         }),
    BIND("maxPoolBatchNormBackward",
         {
           BnAct act{a.i32(0, "act", kBnNone, kBnGelu), a.num(1, "slope")};
           PoolGeom g = a.pool(13);
           int64_t xs = Args::prod({g.n, g.c, g.h, g.w}), ys = Args::prod({g.n, g.c, g.oh, g.ow});
           float *dx = a.arr<float>(2, "dx", xs, true), *dgamma = a.arr<float>(3, "dgamma", g.c, true);
           float *dbeta = a.arr<float>(4, "dbeta", g.c, true), *dz = a.arr<float>(5, "dz", ys);
           const float *dy = a.arr<float>(6, "dy", ys), *x = a.arr<float>(7, "x", ys);
           const int *am = a.arr<int>(8, "argmax", ys);
           const float *mean = a.arr<float>(9, "mean", g.c), *invstd = a.arr<float>(10, "invstd", g.c);
           const float *gamma = a.arr<float>(11, "gamma", g.c, true), *beta = a.arr<float>(12, "beta", g.c, true);
           bool batch_stats = a.flag(14, "batchStats");
           a.argmax_in_planes(am, g);
           int t = a.i32(15, "threads", 1, max_threads());
           return [=] {
             maxpool_batchnorm_backward(dx, dgamma, dbeta, dz, dy, x, am, mean, invstd, gamma, beta, batch_stats, act,
                                        g, t);
           };
         }),
    BIND("sgdStep",
         {
           int len = a.i32(3, "len", 0, kBig);
           float *w = a.arr<float>(0, "w", len), *g = a.arr<float>(1, "g", len), *v = a.arr<float>(2, "v", len, true);
           SgdOptions o{(float)a.num(4, "lr"), (float)a.num(5, "momentum"), (float)a.num(6, "weightDecay"),
                        a.flag(7, "nesterov"), a.flag(8, "first")};
           int t = a.i32(9, "threads", 1, max_threads());
           return [=] { sgd_step(w, g, v, len, o, t); };
         }),
};

void set(napi_env env, napi_value obj, const char *key, const char *text) {
  napi_value v;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}

// The CPU's features that pick a variant, asked with cpuid (and the OS's register-saving support)
// through the compiler's builtin: safe to run in the baseline build on any x86-64.
napi_value cpu_features(napi_env env) {
  napi_value list;
  napi_create_array(env, &list);
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const struct {
    const char *name;
    bool has;
  } features[] = {
      {"avx2", __builtin_cpu_supports("avx2") != 0},         {"fma", __builtin_cpu_supports("fma") != 0},
      {"avx512f", __builtin_cpu_supports("avx512f") != 0},   {"avx512vl", __builtin_cpu_supports("avx512vl") != 0},
      {"avx512bw", __builtin_cpu_supports("avx512bw") != 0}, {"avx512dq", __builtin_cpu_supports("avx512dq") != 0}};
  uint32_t at = 0;
  for (const auto &f : features) {
    if (!f.has) continue;
    napi_value s;
    napi_create_string_utf8(env, f.name, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, list, at++, s);
  }
#endif
  return list;
}

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

napi_value Init(napi_env env, napi_value exports) {
  for (const auto &f : bindings) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  napi_value w;
  napi_create_function(env, "conv2dUsesWinograd", NAPI_AUTO_LENGTH, uses_winograd<winograd_tile>, nullptr, &w);
  napi_set_named_property(env, exports, "conv2dUsesWinograd", w);
  napi_create_function(env, "conv2dFilterUsesWinograd", NAPI_AUTO_LENGTH, uses_winograd<winograd_grad_tile>, nullptr,
                       &w);
  napi_set_named_property(env, exports, "conv2dFilterUsesWinograd", w);
  napi_create_function(env, "setWinogradTile", NAPI_AUTO_LENGTH, set_winograd_tile, nullptr, &w);
  napi_set_named_property(env, exports, "setWinogradTile", w);
  set(env, exports, "simd", SIMD_NAME);  // from the same tests that pick the vector code in simd.h
  set(env, exports, "variant", CONVTS_VARIANT);
  napi_set_named_property(env, exports, "cpu", cpu_features(env));
  napi_value m;
  napi_create_int32(env, max_threads(), &m);
  napi_set_named_property(env, exports, "maxThreads", m);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
