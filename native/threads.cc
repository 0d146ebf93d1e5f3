#include "threads.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpu_relax() { _mm_pause(); }
#else
static inline void cpu_relax() {}
#endif

namespace {

struct Pool {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake;
  std::atomic<unsigned long> generation{0};
  std::atomic<int> remaining{0};
  const std::function<void(int)>* job = nullptr;
  int active = 0;  // threads taking part in the current job (the caller is 0)

  void ensure(int n) {
    while ((int)workers.size() < n) {
      int id = (int)workers.size() + 1;
      workers.emplace_back([this, id] { loop(id); });
      workers.back().detach();
    }
  }

  void loop(int id) {
    unsigned long seen = 0;
    for (;;) {
      int spins = 0;
      while (generation.load(std::memory_order_acquire) == seen) {
        if (++spins < 20000) {
          cpu_relax();
          continue;
        }
        std::unique_lock<std::mutex> lock(mu);
        wake.wait(lock, [&] { return generation.load(std::memory_order_acquire) != seen; });
      }
      seen = generation.load(std::memory_order_acquire);
      if (id < active) (*job)(id);
      // Every worker acknowledges every job, so none can read the next job's fields early.
      remaining.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
};

Pool& pool = *new Pool;  // never destroyed: workers may still wait on it while the process exits

}  // namespace

void parallel_run(int threads, const std::function<void(int)>& f) {
  if (threads <= 1) {
    f(0);
    return;
  }
  pool.ensure(threads - 1);
  pool.job = &f;
  pool.active = threads;
  pool.remaining.store((int)pool.workers.size(), std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    pool.generation.fetch_add(1, std::memory_order_acq_rel);
  }
  pool.wake.notify_all();
  f(0);
  while (pool.remaining.load(std::memory_order_acquire) > 0) cpu_relax();
}
