// What the kernels need from a standard library, written out so that the same sources also compile
// for WebAssembly without one (clang --target=wasm32, no libc): min/max, fills, copies, scratch buffers.
#pragma once
#include <stddef.h>

// Per-thread scratch natively and in the threaded WebAssembly build (-matomics); the single-threaded
// one has no TLS, which its linker would refuse.
#if defined(__wasm__) && !defined(__wasm_atomics__)
#define THREAD_LOCAL
#else
#define THREAD_LOCAL thread_local
#endif

template <typename T>
static inline T imin(T a, T b) {
  return a < b ? a : b;
}
template <typename T>
static inline T imax(T a, T b) {
  return a > b ? a : b;
}

static inline void zero_floats(float *p, size_t n) {
  __builtin_memset(p, 0, n * sizeof(float));
}
static inline void copy_floats(float *dst, const float *src, size_t n) {
  __builtin_memcpy(dst, src, n * sizeof(float));
}
static inline void fill_floats(float *p, size_t n, float v) {
  for (size_t i = 0; i < n; i++) p[i] = v;
}

// Replaces block p (or nothing) by one of at least `bytes`, 64-byte aligned, contents not kept:
// the C heap natively, a bump allocator in WebAssembly.
void *scratch_grow(void *p, size_t bytes);

// A scratch buffer that only grows, reused across calls so steady-state training allocates nothing.
template <typename T>
struct Buf {
  T *p = nullptr;
  size_t n = 0;
  T *grow(size_t need) {
    if (need > n) {
      p = static_cast<T *>(scratch_grow(p, need * sizeof(T)));
      n = need;
    }
    return p;
  }
};
