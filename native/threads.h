// A tiny fork-join pool: run(t, f) calls f(0..t-1) on the caller and t-1 worker threads and returns
// when all are done. Workers spin briefly after a job (the next layer's call comes within
// microseconds) and then sleep, so an idle pool costs nothing on a shared machine.
#pragma once
#include <functional>

void parallel_run(int threads, const std::function<void(int)>& f);

// [begin, end) of part t when `total` items are split into `parts` near-equal ranges.
inline void split_range(int total, int parts, int t, int* begin, int* end) {
  *begin = (int)((long)total * t / parts);
  *end = (int)((long)total * (t + 1) / parts);
}
