// What the Node-API bindings (addon_conv.cc, addon_pool.cc, addon_pointwise.cc, addon_norm.cc) share with
// the module's entry (addon.cc): call(), which checks a call's arguments and runs its kernel under the
// lock, the BIND entries of their tables, and the tables themselves.
#pragma once
#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#include "args.h"

namespace addon {

// The thread pool and some scratch buffers are process-wide, so calls from several JavaScript threads
// (worker_threads, each with its own copy of this module's bindings) take turns: correct, not parallel.
inline std::mutex calls;

inline int max_threads() {
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

constexpr int64_t kBig = INT32_MAX;  // sizes: positive ints; their products are checked against array lengths

// A kernel's name in JavaScript and its binding; a file's bindings, in the order Init exports them.
struct Binding {
  const char *name;
  napi_callback fn;
};
struct Bindings {
  const Binding *at;
  size_t count;
};
template <size_t N>
constexpr Bindings table(const Binding (&b)[N]) {
  return Bindings{b, N};
}

// Argument orders and names are those of src/kernels/native/index.ts (NativeAddon), threads last.
extern const Bindings convBindings, poolBindings, pointwiseBindings, normBindings;

}  // namespace addon
