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

}  // namespace anative
