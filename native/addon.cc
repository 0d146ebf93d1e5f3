// Node-API glue: unwraps typed arrays (no copies) and integers, then calls the kernels.
// JavaScript side: src/kernels/native/index.ts.
#include <node_api.h>

#include "gemm.h"
#include "kernels.h"

namespace {

struct Args {
  napi_env env;
  napi_value v[12];
  size_t n = 12;
  bool ok = true;

  Args(napi_env e, napi_callback_info info) : env(e) { napi_get_cb_info(e, info, &n, v, nullptr, nullptr); }

  // A typed array's data, or null for a JavaScript null.
  template <typename T>
  T *arr(size_t i) {
    napi_valuetype t;
    napi_typeof(env, v[i], &t);
    if (t == napi_null || t == napi_undefined) return nullptr;
    napi_typedarray_type type;
    size_t len;
    void *data;
    if (napi_get_typedarray_info(env, v[i], &type, &len, &data, nullptr, nullptr) != napi_ok) {
      napi_throw_type_error(env, nullptr, "convts native kernels: expected a typed array");
      ok = false;
      return nullptr;
    }
    return static_cast<T *>(data);
  }
  int i32(size_t i) {
    int32_t x = 0;
    napi_get_value_int32(env, v[i], &x);
    return x;
  }
  double f64(size_t i) {
    double x = 0;
    napi_get_value_double(env, v[i], &x);
    return x;
  }
  bool flag(size_t i) {
    bool b = false;
    napi_get_value_bool(env, v[i], &b);
    return b;
  }
  template <typename G>
  G geom(size_t i) {
    G g;
    int *p = arr<int>(i);
    if (p) {
      int *dst = reinterpret_cast<int *>(&g);
      for (size_t k = 0; k < sizeof(G) / sizeof(int); k++) dst[k] = p[k];
    }
    return g;
  }
};

// Unwraps the arguments and runs body(args); a wrong argument type throws a JavaScript TypeError.
template <typename F>
napi_value call(napi_env env, napi_callback_info info, F body) {
  Args a(env, info);
  body(a);
  return nullptr;
}

#define BIND(name, ...)                                                                         \
  {                                                                                             \
    name, [](napi_env e, napi_callback_info i) { return call(e, i, [](Args & a) __VA_ARGS__); } \
  }

// Argument orders are those of src/kernels/native/index.ts (NativeAddon), threads last.
const struct {
  const char *name;
  napi_callback fn;
} bindings[] = {
    BIND("gemm",
         {
           bool ta = a.flag(0), tb = a.flag(1);
           int m = a.i32(2), n = a.i32(3), k = a.i32(4);
           const float *A = a.arr<float>(5), *B = a.arr<float>(6);
           float *C = a.arr<float>(7);
           if (a.ok) gemm(m, n, k, ta ? Mat{A, 1, m} : Mat{A, k, 1}, tb ? Mat{B, 1, k} : Mat{B, n, 1}, C, n, a.flag(8));
         }),
    BIND("denseForward",
         {
           float *y = a.arr<float>(0), *x = a.arr<float>(1), *w = a.arr<float>(2), *b = a.arr<float>(3);
           if (a.ok) dense_forward(y, x, w, b, a.i32(4), a.i32(5), a.i32(6), a.i32(7));
         }),
    BIND("denseBackward",
         {
           float *dx = a.arr<float>(0), *dw = a.arr<float>(1), *db = a.arr<float>(2), *dy = a.arr<float>(3);
           float *x = a.arr<float>(4), *w = a.arr<float>(5);
           if (a.ok) dense_backward(dx, dw, db, dy, x, w, a.i32(6), a.i32(7), a.i32(8), a.i32(9));
         }),
    BIND("conv2dForward",
         {
           float *y = a.arr<float>(0), *x = a.arr<float>(1), *w = a.arr<float>(2), *b = a.arr<float>(3);
           ConvGeom g = a.geom<ConvGeom>(4);
           if (a.ok) conv2d_forward(y, x, w, b, g, a.i32(5));
         }),
    BIND("conv2dBackwardData",
         {
           float *dx = a.arr<float>(0), *dy = a.arr<float>(1), *w = a.arr<float>(2);
           ConvGeom g = a.geom<ConvGeom>(3);
           if (a.ok) conv2d_backward_data(dx, dy, w, g, a.i32(4));
         }),
    BIND("conv2dBackwardFilter",
         {
           float *dw = a.arr<float>(0), *db = a.arr<float>(1), *dy = a.arr<float>(2), *x = a.arr<float>(3);
           ConvGeom g = a.geom<ConvGeom>(4);
           if (a.ok) conv2d_backward_filter(dw, db, dy, x, g, a.i32(5));
         }),
    BIND("maxPool2dForward",
         {
           float *y = a.arr<float>(0);
           int *am = a.arr<int>(1);
           float *x = a.arr<float>(2);
           PoolGeom g = a.geom<PoolGeom>(3);
           if (a.ok) maxpool_forward(y, am, x, g, a.i32(4));
         }),
    BIND("maxPool2dBackward",
         {
           float *dx = a.arr<float>(0), *dy = a.arr<float>(1);
           int *am = a.arr<int>(2);
           PoolGeom g = a.geom<PoolGeom>(3);
           if (a.ok) maxpool_backward(dx, dy, am, g, a.i32(4));
         }),
    BIND("avgPool2dForward",
         {
           float *y = a.arr<float>(0), *x = a.arr<float>(1);
           PoolGeom g = a.geom<PoolGeom>(2);
           if (a.ok) avgpool_forward(y, x, g, a.i32(3));
         }),
    BIND("avgPool2dBackward",
         {
           float *dx = a.arr<float>(0), *dy = a.arr<float>(1);
           PoolGeom g = a.geom<PoolGeom>(2);
           if (a.ok) avgpool_backward(dx, dy, g, a.i32(3));
         }),
    BIND("activationForward",
         {
           float *y = a.arr<float>(1), *x = a.arr<float>(2);
           if (a.ok) activation_forward(a.i32(0), y, x, a.i32(3), a.i32(4));
         }),
    BIND("activationBackward",
         {
           float *dx = a.arr<float>(1), *dy = a.arr<float>(2), *y = a.arr<float>(3);
           if (a.ok) activation_backward(a.i32(0), dx, dy, y, a.i32(4), a.i32(5));
         }),
    BIND("sgdStep",
         {
           float *w = a.arr<float>(0), *g = a.arr<float>(1), *v = a.arr<float>(2);
           SgdOptions o{(float)a.f64(4), (float)a.f64(5), (float)a.f64(6), a.flag(7), a.flag(8)};
           if (a.ok) sgd_step(w, g, v, a.i32(3), o, a.i32(9));
         }),
};

napi_value Init(napi_env env, napi_value exports) {
  for (const auto &f : bindings) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  napi_value simd;
#if defined(__AVX512F__)
  napi_create_string_utf8(env, "avx512", NAPI_AUTO_LENGTH, &simd);
#elif defined(__AVX2__)
  napi_create_string_utf8(env, "avx2", NAPI_AUTO_LENGTH, &simd);
#else
  napi_create_string_utf8(env, "generic", NAPI_AUTO_LENGTH, &simd);
#endif
  napi_set_named_property(env, exports, "simd", simd);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
