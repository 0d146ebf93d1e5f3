// Checked unwrapping of a Node-API call's arguments. The kernels write through raw pointers, so every
// array is checked for its element type and for holding at least the values the other arguments imply;
// a wrong argument throws a JavaScript TypeError naming the kernel and the argument, never a stray write.
#pragma once
#include <node_api.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <type_traits>

#include "kernels.h"

class Args {
 public:
  bool ok = true;

  Args(napi_env e, napi_callback_info info, const char *fn) : env_(e), fn_(fn) {
    napi_get_cb_info(e, info, &n_, v_, nullptr, nullptr);
  }

  // Arguments the call was given.
  size_t argc() const { return n_; }

  // A Float32Array (or Int32Array for T = int) of at least `need` values; null when `nullable` and null.
  template <typename T>
  T *arr(size_t i, const char *name, int64_t need, bool nullable = false) {
    if (!ok) return nullptr;
    napi_valuetype t = napi_undefined;
    if (i < n_) napi_typeof(env_, v_[i], &t);
    if (nullable && t == napi_null) return nullptr;
    constexpr bool isFloat = std::is_same<T, float>::value;
    const char *want = isFloat ? "a Float32Array" : "an Int32Array";
    napi_typedarray_type type = napi_int8_array;
    size_t len = 0;
    void *data = nullptr;
    bool typed = false;
    if (i < n_) napi_is_typedarray(env_, v_[i], &typed);
    if (typed) napi_get_typedarray_info(env_, v_[i], &type, &len, &data, nullptr, nullptr);
    bool right = typed && type == (isFloat ? napi_float32_array : napi_int32_array);
    if (!right) return fail("argument %s must be %s%s", name, want, nullable ? " or null" : ""), nullptr;
    if ((int64_t)len < need)
      return fail("argument %s must hold at least %lld values (from the sizes given), got %zu", name, (long long)need,
                  len),
             nullptr;
    return static_cast<T *>(data);
  }

  // An integer in [lo, hi].
  int i32(size_t i, const char *name, int64_t lo, int64_t hi) {
    double x = num(i, name);
    if (ok && (x != (double)(int64_t)x || x < lo || x > hi))
      fail("argument %s must be a whole number in %lld … %lld, got %g", name, (long long)lo, (long long)hi, x);
    return ok ? (int)x : 0;
  }
  double num(size_t i, const char *name) {
    double x = 0;
    if (ok && (i >= n_ || napi_get_value_double(env_, v_[i], &x) != napi_ok))
      fail("argument %s must be a number", name);
    return x;
  }
  bool flag(size_t i, const char *name) {
    bool b = false;
    if (ok && (i >= n_ || napi_get_value_bool(env_, v_[i], &b) != napi_ok)) fail("argument %s must be a boolean", name);
    return b;
  }

  // Convolution geometry (an Int32Array in ConvGeom's field order) whose output size matches its input.
  ConvGeom conv(size_t i) {
    ConvGeom g{};
    int *p = arr<int>(i, "g (convolution geometry)", 13);
    if (!p) return g;
    g = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12]};
    bool pos = positive({g.n, g.c, g.h, g.w, g.k, g.kh, g.kw, g.sh, g.sw}) && g.ph >= 0 && g.pw >= 0;
    if (!pos || g.oh != outSize(g.h + 2L * g.ph, g.kh, g.sh) || g.ow != outSize(g.w + 2L * g.pw, g.kw, g.sw) ||
        g.oh < 1 || g.ow < 1)
      fail(
          "argument g (convolution geometry) is not consistent: sizes must be ≥ 1, padding ≥ 0, oh = ⌊(h + 2ph − "
          "kh)/sh⌋ + 1");
    return g;
  }
  PoolGeom pool(size_t i) {
    PoolGeom g{};
    int *p = arr<int>(i, "g (pooling geometry)", 10);
    if (!p) return g;
    g = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]};
    if (!positive({g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw}) || g.kh > g.h || g.kw > g.w ||
        g.oh != outSize(g.h, g.kh, g.sh) || g.ow != outSize(g.w, g.kw, g.sw))
      fail(
          "argument g (pooling geometry) is not consistent: sizes must be ≥ 1, window ≤ image, oh = ⌊(h − kh)/sh⌋ + 1");
    return g;
  }

  // A gradient gathered plane by plane: every argmax of a pooling must lie in its output's plane. The
  // kernels check it first (argmax_within_planes, on the threads); this names the first one outside.
  void argmax_in_planes(const int *am, const PoolGeom &g) {
    int64_t hw = (int64_t)g.h * g.w, ohw = (int64_t)g.oh * g.ow, ys = (int64_t)g.n * g.c * ohw;
    for (int64_t i = 0, lo = 0; ok && am && i < ys; lo += hw)
      for (int64_t end = i + ohw; i < end; i++)
        if (am[i] < lo || am[i] >= lo + hw)
          return fail("argument argmax: argmax[%lld] = %d lies outside its plane (values %lld … %lld)", (long long)i,
                      am[i], (long long)lo, (long long)(lo + hw - 1));
  }

  // Throws the TypeError (once) and marks the call as refused.
  void fail(const char *fmt, ...) __attribute__((format(printf, 2, 3))) {
    if (!ok) return;
    ok = false;
    char msg[400];
    int at = snprintf(msg, sizeof msg, "convts native %s: ", fn_);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + at, sizeof msg - at, fmt, ap);
    va_end(ap);
    napi_throw_type_error(env_, nullptr, msg);
  }

  // Product of sizes, saturated far above any array length so that an overflow fails the length check.
  static int64_t prod(std::initializer_list<int64_t> xs) {
    int64_t r = 1;
    for (int64_t x : xs)
      if (__builtin_mul_overflow(r, x, &r)) return INT64_MAX;
    return r;
  }

 private:
  napi_env env_;
  const char *fn_;
  napi_value v_[16];  // the most arguments of a kernel (maxPoolBatchNormBackward: 16)
  size_t n_ = 16;

  static bool positive(std::initializer_list<int> xs) {
    for (int x : xs)
      if (x < 1) return false;
    return true;
  }
  static long outSize(long in, int k, int s) { return in < k ? 0 : (in - k) / s + 1; }
};
