// A persistent fork-join thread pool: the calling thread plus (threads − 1) workers.
// Kernels hand it a number of tasks; tasks are claimed from an atomic counter, so uneven
// tasks balance themselves. Workers spin briefly before sleeping, because kernels are
// dispatched back to back (e.g. several GEMM phases per layer) and a wake-up costs more
// than a short spin on a 2-core machine.
#pragma once
#include <functional>

namespace anative {

/** Set the number of threads (≥ 1) the kernels use; 0 means hardware concurrency. */
void setThreads(int n);
int getThreads();

/** Run fn(task, thread) for task in [0, ntasks) over the pool; returns when all are done.
 *  Called from inside a task it runs serially (no nested parallelism). */
void parallelFor(int ntasks, const std::function<void(int task, int thread)>& fn);

/** Run fn(thread) once on every thread of the pool, concurrently (e.g. to measure peak). */
void parallelEach(const std::function<void(int thread)>& fn);

/** Split [0, n) into about `threads` contiguous chunks and run fn(begin, end) on each. */
void parallelRange(long n, long minChunk, const std::function<void(long begin, long end)>& fn);

/** Part `part` of `parts` of [0, extent) cut into tiles of `tile` (a kernel's micro-tiles, the
 *  last one partial where `tile` does not divide it), as [*begin, *end): the whole tiles as
 *  evenly as they go, the first parts one more where they do not divide, and the partial tile
 *  with the last part (which never has one more). 256 rows in 14-row tiles on 2 threads are 9
 *  tiles and 9 tiles + 4 rows, not 10 and 8 + 4: a 4-row tile costs far less than a whole one. */
inline void tilesOfPart(long extent, long tile, long parts, long part, long* begin, long* end) {
  const long whole = extent / tile, base = whole / parts, extra = whole % parts;
  *begin = (part * base + (part < extra ? part : extra)) * tile;
  *end = part + 1 == parts ? extent
                           : ((part + 1) * base + (part + 1 < extra ? part + 1 : extra)) * tile;
}

}  // namespace anative
