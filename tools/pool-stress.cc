// Stress test of the native thread pool (native/threads.cc), built and run by bench/determinism.ts:
// back-to-back jobs of alternating sizes on two threads, each item counted; every item of every job
// must run exactly once. A worker that mixes two jobs up (claims an item of the next job with the
// previous job's view of it) shows as an item run twice or out of range.
// Usage: pool-stress SECONDS → prints "<jobs> <bad jobs>", exit 1 when any job went wrong.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "threads.h"

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1;
  static std::atomic<int> hits[64];
  long jobs = 0, bad = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    for (int rep = 0; rep < 1000; rep++, jobs++) {
      int count = (jobs & 1) ? 2 : 2 + (int)(jobs % 61);
      for (int i = 0; i < count; i++) hits[i].store(0, std::memory_order_relaxed);
      parallel_for(2, count, [&](int, int i) {
        hits[i < count ? i : 63].fetch_add(1, std::memory_order_relaxed);
        for (volatile int k = 0; k < 20; k++) {
        }
      });
      bool wrong = false;
      for (int i = 0; i < count; i++) wrong |= hits[i].load() != 1;
      bad += wrong;
    }
  }
  printf("%ld %ld\n", jobs, bad);
  return bad ? 1 : 0;
}
