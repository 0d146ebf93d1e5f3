// The Node-API module's entry: Init exports the kernels' bindings (addon_conv.cc, addon_pool.cc,
// addon_pointwise.cc, addon_norm.cc: each checks and unwraps typed arrays, no copies, and integers, then
// calls its kernel), and what the build is: its vector code, its variant, the CPU's features.
// JavaScript side: src/kernels/native/index.ts; loading and variant choice: src/kernels/node-loader.ts.
#include <node_api.h>

#include "addon.h"
#include "simd.h"

namespace {

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

napi_value Init(napi_env env, napi_value exports) {
  for (const addon::Bindings &list :
       {addon::convBindings, addon::poolBindings, addon::pointwiseBindings, addon::normBindings}) {
    for (size_t i = 0; i < list.count; i++) {
      napi_value v;
      napi_create_function(env, list.at[i].name, NAPI_AUTO_LENGTH, list.at[i].fn, nullptr, &v);
      napi_set_named_property(env, exports, list.at[i].name, v);
    }
  }
  set(env, exports, "simd", SIMD_NAME);  // from the same tests that pick the vector code in simd.h
  set(env, exports, "variant", CONVTS_VARIANT);
  napi_set_named_property(env, exports, "cpu", cpu_features(env));
  napi_value m;
  napi_create_int32(env, addon::max_threads(), &m);
  napi_set_named_property(env, exports, "maxThreads", m);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
