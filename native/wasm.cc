// WebAssembly build of the kernels (clang --target=wasm32 -msimd128, no libc): scratch memory from a
// bump allocator, and one exported C function per kernel. Arrays are offsets into the module's memory,
// where src/kernels/wasm/index.ts copies them. Built twice: on one thread, and with -matomics over an
// imported shared memory, where Web Workers (or Node worker threads) running the same module sit in
// workerLoop and take items of each parallel_for with the caller (src/kernels/wasm/pool.ts starts them).
#include "base.h"
#include "gemm.h"
#include "kernels.h"
#include "threads.h"

extern unsigned char __heap_base;
static size_t heapTop = (size_t)&__heap_base;

#define EXPORT(name) extern "C" __attribute__((export_name(name)))

#if defined(__wasm_atomics__)
// Threads grow their own scratch (thread_local in base.h), so the bump allocator takes a spin lock.
static int heapLock;
static void lock_heap() {
  while (__atomic_exchange_n(&heapLock, 1, __ATOMIC_ACQUIRE)) {
  }
}
static void unlock_heap() {
  __atomic_store_n(&heapLock, 0, __ATOMIC_RELEASE);
}
#else
static void lock_heap() {}
static void unlock_heap() {}
#endif

static void *bump(size_t bytes, size_t align) {
  lock_heap();
  size_t start = (heapTop + align - 1) & ~(align - 1), end = start + bytes;
  size_t have = __builtin_wasm_memory_size(0) * 65536;
  if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1) __builtin_trap();
  heapTop = end;
  unlock_heap();
  return (void *)start;
}

// Scratch buffers only grow, and rarely (the first step at a new batch size), so the old block is
// simply abandoned.
void *scratch_grow(void *, size_t bytes) {
  return bump(bytes, 64);
}

// Threads the kernels split their work into: 1, or 1 + the pool's workers.
static int threads = 1;

#if defined(__wasm_atomics__)
// The pool, as native/threads.cc but on WebAssembly atomics: one 64-bit word holds (job generation << 32
// | next item), so a claim is a compare-and-swap and a late worker never takes an item of another job;
// the word is closed before the next job's fields are written, as there. Idle workers spin `spinLimit`
// times on `signal` (setSpins) after the caller's last kernel call, then sleep on it (memory.atomic.wait).
// The default, some 30 µs, covers most gaps between the calls of a training step; spinning longer cost
// more CPU per image than the wake-ups it saved, and on a busy machine more wall-clock time too
// (BENCHMARKS.md, browser training); the caller, which may be a page's main thread where waiting is not
// allowed, spins until every item is done.
static struct {
  unsigned long long word;
  int signal, done, count, threads;
  // Bumped by every loop run on the caller alone (a small kernel: the loss's dense layer, SGD on a bias):
  // an idle worker starts its spins over when it changes, so it stays awake while a training step keeps
  // calling kernels and sleeps only once calls stop. Counting spins from the last parallel loop instead
  // put it to sleep inside a step, and the next convolution or dense layer paid its wake-up.
  int calls;
  ItemFn fn;
  void *ctx;
} pool;
// Items each thread ran, so that a test can see the workers work: away from the pool's line.
alignas(64) static int itemCounts[64][16];
constexpr unsigned kClosed = 0xffffffffu;  // "next item" of a closed generation: above any count
static int spinLimit = 25000;

static void pool_work(int id, unsigned gen) {
  for (;;) {
    unsigned long long w = __atomic_load_n(&pool.word, __ATOMIC_ACQUIRE);
    if ((unsigned)(w >> 32) != gen) return;
    ItemFn f = __atomic_load_n(&pool.fn, __ATOMIC_RELAXED);
    void *c = __atomic_load_n(&pool.ctx, __ATOMIC_RELAXED);
    int n = __atomic_load_n(&pool.count, __ATOMIC_RELAXED);
    int t = __atomic_load_n(&pool.threads, __ATOMIC_RELAXED);
    // Pairs with the release fence in parallel_for_raw: fields of the next job come with a closed word,
    // and the compare-and-swap below fails.
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (id >= t || (unsigned)w >= (unsigned)n) return;
    if (!__atomic_compare_exchange_n(&pool.word, &w, w + 1, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
    f(c, id, (int)(unsigned)w);
    __atomic_fetch_add(&itemCounts[id & 63][0], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&pool.done, 1, __ATOMIC_ACQ_REL);
  }
}

void parallel_for_raw(int t, int count, ItemFn f, void *ctx) {
  if (t <= 1 || count <= 1) {
    __atomic_fetch_add(&pool.calls, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < count; i++) f(ctx, 0, i);
    return;
  }
  unsigned closed = (unsigned)(__atomic_load_n(&pool.word, __ATOMIC_RELAXED) >> 32) + 1;
  __atomic_store_n(&pool.word, (unsigned long long)closed << 32 | kClosed, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&pool.fn, f, __ATOMIC_RELAXED);
  __atomic_store_n(&pool.ctx, ctx, __ATOMIC_RELAXED);
  __atomic_store_n(&pool.count, count, __ATOMIC_RELAXED);
  __atomic_store_n(&pool.threads, t, __ATOMIC_RELAXED);
  __atomic_store_n(&pool.done, 0, __ATOMIC_RELAXED);
  unsigned gen = closed + 1;
  __atomic_store_n(&pool.word, (unsigned long long)gen << 32, __ATOMIC_RELEASE);
  __atomic_store_n(&pool.signal, (int)gen, __ATOMIC_RELEASE);
  __builtin_wasm_memory_atomic_notify(&pool.signal, 0xffffffffu);
  pool_work(0, gen);
  while (__atomic_load_n(&pool.done, __ATOMIC_ACQUIRE) < count) {
  }
}

extern "C" void __wasm_init_tls(void *);

// A worker's first call, after JavaScript set its __stack_pointer: its own copy of the thread_local
// scratch pointers.
EXPORT("threadInit") void thread_init() {
  __wasm_init_tls(bump(__builtin_wasm_tls_size(), __builtin_wasm_tls_align()));
}

// Memory for a worker's stack; returns its top (stacks grow down).
EXPORT("stackTop") size_t stack_top(size_t bytes) {
  return (size_t)bump(bytes, 16) + bytes;
}

// A worker's life: wait for a job, take its items, again. Never returns; the worker is terminated.
EXPORT("workerLoop") void worker_loop(int id) {
  unsigned seen = (unsigned)__atomic_load_n(&pool.signal, __ATOMIC_ACQUIRE);
  for (;;) {
    unsigned gen;
    int calls = __atomic_load_n(&pool.calls, __ATOMIC_RELAXED);
    for (int spins = 0; (gen = (unsigned)__atomic_load_n(&pool.signal, __ATOMIC_ACQUIRE)) == seen; spins++) {
      int now = __atomic_load_n(&pool.calls, __ATOMIC_RELAXED);
      if (now != calls) {
        calls = now;
        spins = 0;
      } else if (spins >= __atomic_load_n(&spinLimit, __ATOMIC_RELAXED)) {
        __builtin_wasm_memory_atomic_wait32(&pool.signal, (int)seen, -1);
      }
    }
    seen = gen;
    pool_work(id, gen);
  }
}

EXPORT("itemsRun") int items_run(int id) {
  return __atomic_load_n(&itemCounts[id & 63][0], __ATOMIC_RELAXED);
}

// How long idle workers spin before they sleep: longer saves the wake-up between the calls of a step,
// shorter saves the CPU time spent spinning.
EXPORT("setSpins") void set_spins(int n) {
  __atomic_store_n(&spinLimit, n < 0 ? 0 : n, __ATOMIC_RELAXED);
}

// How many threads share each kernel call from now on (the caller and workers 1 … n − 1 once running).
EXPORT("setThreads") void set_threads(int n) {
  threads = n < 1 ? 1 : n;
}
#else
void parallel_for_raw(int, int count, ItemFn fn, void *ctx) {
  for (int i = 0; i < count; i++) fn(ctx, 0, i);
}
#endif

// A block for an array that JavaScript keeps in this memory, where calls use it in place; JavaScript
// reuses the blocks of arrays it collected (src/kernels/wasm/resident.ts).
EXPORT("alloc") void *alloc_block(size_t bytes) {
  return bump(bytes, 64);
}

// Zeroes an array JavaScript keeps in this memory (the gradients before each step): TypedArray.fill on
// a shared memory goes element by element, about 10× slower than this memory.fill. Like any call, it
// keeps idle workers spinning: the next step's first convolution follows.
EXPORT("zero") void w_zero(void *p, size_t bytes) {
#if defined(__wasm_atomics__)
  __atomic_fetch_add(&pool.calls, 1, __ATOMIC_RELAXED);
#endif
  __builtin_memset(p, 0, bytes);
}

static Buf<unsigned char> stage;
// A block of at least `bytes` where JavaScript stages a call's arrays; valid until the next call.
EXPORT("stage") void *stage_area(size_t bytes) {
  return stage.grow(bytes);
}

EXPORT("gemm") void w_gemm(int ta, int tb, int m, int n, int k, const float *a, const float *b, float *c, int acc) {
  gemm(m, n, k, ta ? Mat{a, 1, m} : Mat{a, k, 1}, tb ? Mat{b, 1, k} : Mat{b, n, 1}, c, n, acc != 0);
}
EXPORT("denseForward")
void w_dense_forward(float *y, const float *x, const float *w, const float *b, int n, int inF, int outF) {
  dense_forward(y, x, w, b, n, inF, outF, threads);
}
EXPORT("denseBackward")
void w_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int n, int inF,
                      int outF) {
  dense_backward(dx, dw, db, dy, x, w, n, inF, outF, threads);
}
EXPORT("conv2dForward")
void w_conv_forward(float *y, const float *x, const float *w, const float *b, const ConvGeom *g) {
  conv2d_forward(y, x, w, b, *g, threads);
}
EXPORT("conv2dBackwardData") void w_conv_backward_data(float *dx, const float *dy, const float *w, const ConvGeom *g) {
  conv2d_backward_data(dx, dy, w, *g, threads);
}
EXPORT("conv2dBackwardFilter")
void w_conv_backward_filter(float *dw, float *db, const float *dy, const float *x, const ConvGeom *g) {
  conv2d_backward_filter(dw, db, dy, x, *g, threads);
}
EXPORT("maxPool2dForward") void w_maxpool_forward(float *y, int *argmax, const float *x, const PoolGeom *g) {
  maxpool_forward(y, argmax, x, *g, threads);
}
EXPORT("maxPool2dBackward") void w_maxpool_backward(float *dx, const float *dy, const int *argmax, const PoolGeom *g) {
  maxpool_backward(dx, dy, argmax, *g, threads);
}
EXPORT("avgPool2dForward") void w_avgpool_forward(float *y, const float *x, const PoolGeom *g) {
  avgpool_forward(y, x, *g, threads);
}
EXPORT("avgPool2dBackward") void w_avgpool_backward(float *dx, const float *dy, const PoolGeom *g) {
  avgpool_backward(dx, dy, *g, threads);
}
EXPORT("reluForward") void w_relu_forward(float *y, const float *x, int len) {
  activation_forward(0, y, x, len, threads);
}
EXPORT("activationBackward") void w_activation_backward(int kind, float *dx, const float *dy, const float *y, int len) {
  activation_backward(kind, dx, dy, y, len, threads);
}
EXPORT("geluForward") void w_gelu_forward(float *y, const float *x, int len) {
  gelu_forward(y, x, len, threads);
}
EXPORT("geluBackward") void w_gelu_backward(float *dx, const float *dy, const float *x, int len) {
  gelu_backward(dx, dy, x, len, threads);
}
EXPORT("sgdStep")
void w_sgd_step(float *w, const float *g, float *v, int len, float lr, float mu, float wd, int nesterov, int first) {
  sgd_step(w, g, v, len, SgdOptions{lr, mu, wd, nesterov != 0, first != 0}, threads);
}
EXPORT("batchNormStats") void w_bn_stats(float *mean, float *var, const float *x, int n, int c, int hw) {
  batchnorm_stats(mean, var, x, n, c, hw, 1);
}
EXPORT("batchNormForward")
void w_bn_forward(int act, double slope, float *y, const float *x, const float *mean, const float *invstd,
                  const float *gamma, const float *beta, int n, int c, int hw) {
  batchnorm_forward(y, x, mean, invstd, gamma, beta, n, c, hw, BnAct{act, slope}, 1);
}
EXPORT("batchNormBackward")
void w_bn_backward(int act, double slope, float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                   const float *mean, const float *invstd, const float *gamma, const float *beta, int n, int c, int hw,
                   int batchStats) {
  batchnorm_backward(dx, dgamma, dbeta, dy, x, mean, invstd, gamma, beta, n, c, hw, batchStats != 0, BnAct{act, slope},
                     1);
}
EXPORT("batchNormMaxPoolForward")
void w_bn_maxpool_forward(int act, double slope, float *y, int *argmax, const float *x, const float *mean,
                          const float *invstd, const float *gamma, const float *beta, const PoolGeom *g) {
  batchnorm_maxpool_forward(y, argmax, x, mean, invstd, gamma, beta, BnAct{act, slope}, *g, threads);
}
EXPORT("batchNormMaxPoolBackward")
void w_bn_maxpool_backward(int act, double slope, float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *y, const int *argmax, const float *x, const float *mean, const float *invstd,
                           const float *gamma, const float *beta, const PoolGeom *g, int batchStats) {
  batchnorm_maxpool_backward(dx, dgamma, dbeta, dy, y, argmax, x, mean, invstd, gamma, beta, batchStats != 0,
                             BnAct{act, slope}, *g, threads);
}
EXPORT("maxPoolBatchNormStats")
void w_maxpool_bn_stats(float *y, int *argmax, float *mean, float *var, const float *x, const PoolGeom *g) {
  maxpool_batchnorm_stats(y, argmax, mean, var, x, *g, threads);
}
// On one thread, as batchNormBackward here: measured faster than on the pool's threads.
EXPORT("maxPoolBatchNormBackward")
void w_maxpool_bn_backward(int act, double slope, float *dx, float *dgamma, float *dbeta, float *dz, const float *dy,
                           const float *x, const int *argmax, const float *mean, const float *invstd,
                           const float *gamma, const float *beta, const PoolGeom *g, int batchStats) {
  maxpool_batchnorm_backward(dx, dgamma, dbeta, dz, dy, x, argmax, mean, invstd, gamma, beta, batchStats != 0,
                             BnAct{act, slope}, *g, 1);
}
