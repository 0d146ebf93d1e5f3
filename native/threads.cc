// The native thread pool behind parallel_for (threads.h): workers started on demand and detached, one
// job at a time, each item claimed with a compare-and-swap; scratch memory from the C heap (base.h).
#include "threads.h"

#include "base.h"

#include <atomic>
#include <cstdlib>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpu_relax() {
  _mm_pause();
}
#else
static inline void cpu_relax() {}
#endif

namespace {

// One word holds (job generation << 32 | next item): a claim is a compare-and-swap on it, so a worker
// that wakes late can never take an item of a job that has already finished or not yet started.
// Before the next job's fields are written the word is moved to a closed generation whose next item is
// out of reach: a worker that read the old word and then the new count would otherwise still win its
// compare-and-swap and run items of the new job twice (or of the old one past its end) — the race that
// made two-thread training runs with the same seed differ now and then.
struct Pool {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake;
  std::atomic<uint64_t> word{0};
  std::atomic<int> done{0};
  std::atomic<ItemFn> fn{nullptr};
  std::atomic<void *> ctx{nullptr};
  std::atomic<int> count{0}, threads{0};

  // Starts workers up to n; if the system refuses a thread, the caller does the items it would have.
  void ensure(int n) {
    while ((int)workers.size() < n) {
      int id = (int)workers.size() + 1;
      try {
        workers.emplace_back([this, id] { loop(id); });
      } catch (const std::system_error &) {
        return;
      }
      workers.back().detach();
    }
  }

  // Claims and runs items of the current generation `gen`; returns when none are left.
  void work(int id, uint32_t gen) {
    for (;;) {
      uint64_t w = word.load(std::memory_order_acquire);
      if ((uint32_t)(w >> 32) != gen) return;
      ItemFn f = fn.load(std::memory_order_relaxed);
      void *c = ctx.load(std::memory_order_relaxed);
      int n = count.load(std::memory_order_relaxed);
      int t = threads.load(std::memory_order_relaxed);
      // Pairs with the release fence in parallel_for_raw: if these fields are the next job's, the
      // compare-and-swap below sees the closed word and fails.
      std::atomic_thread_fence(std::memory_order_acquire);
      if (id >= t || (uint32_t)w >= (uint32_t)n) return;
      if (!word.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel)) continue;
      f(c, id, (int)(uint32_t)w);
      done.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  void loop(int id) {
    uint32_t seen = 0;
    for (;;) {
      int spins = 0;
      uint32_t gen;
      while ((gen = (uint32_t)(word.load(std::memory_order_acquire) >> 32)) == seen) {
        if (++spins < 2000) {
          cpu_relax();
          continue;
        }
        std::unique_lock<std::mutex> lock(mu);
        wake.wait(lock, [&] { return (uint32_t)(word.load(std::memory_order_acquire) >> 32) != seen; });
      }
      seen = gen;
      work(id, gen);
    }
  }
};

constexpr uint64_t kClosed = 0xffffffffu;  // "next item" of a closed generation: above any count

Pool &pool = *new Pool;  // never destroyed: workers may still wait on it while the process exits

}  // namespace

void parallel_for_raw(int threads, int count, ItemFn f, void *ctx) {
  if (threads <= 1 || count <= 1) {
    for (int i = 0; i < count; i++) f(ctx, 0, i);
    return;
  }
  pool.ensure(threads - 1);
  uint32_t closed = (uint32_t)(pool.word.load(std::memory_order_relaxed) >> 32) + 1;
  pool.word.store((uint64_t)closed << 32 | kClosed, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  pool.fn.store(f, std::memory_order_relaxed);
  pool.ctx.store(ctx, std::memory_order_relaxed);
  pool.count.store(count, std::memory_order_relaxed);
  pool.threads.store(threads, std::memory_order_relaxed);
  pool.done.store(0, std::memory_order_relaxed);
  uint32_t gen = closed + 1;
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    pool.word.store((uint64_t)gen << 32, std::memory_order_release);
  }
  pool.wake.notify_all();
  pool.work(0, gen);
  for (int spins = 0; pool.done.load(std::memory_order_acquire) < count; spins++) {
    if (spins < 4000)
      cpu_relax();
    else
      std::this_thread::yield();
  }
}

void *scratch_grow(void *p, size_t bytes) {
  std::free(p);
  void *q = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!q) std::abort();  // out of memory: nothing sensible to return to JavaScript mid-kernel
  return q;
}
