// A tiny pool for data-parallel loops: parallel_for(t, count, f) runs f(thread, i) for i < count on the
// caller and up to t − 1 workers. Items are claimed one by one, so when the machine is busy and a worker
// is not scheduled, the caller simply does all the items rather than waiting for it.
#pragma once

typedef void (*ItemFn)(void *ctx, int thread, int item);
void parallel_for_raw(int threads, int count, ItemFn fn, void *ctx);

template <typename F>
inline void parallel_for(int threads, int count, const F &f) {
  parallel_for_raw(
      threads, count, [](void *c, int t, int i) { (*static_cast<const F *>(c))(t, i); }, const_cast<F *>(&f));
}

// [begin, end) of part t when `total` items are split into `parts` near-equal ranges.
inline void split_range(int total, int parts, int t, int *begin, int *end) {
  *begin = (int)((long)total * t / parts);
  *end = (int)((long)total * (t + 1) / parts);
}
