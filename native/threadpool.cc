#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define ANATIVE_PAUSE() _mm_pause()
#else
#define ANATIVE_PAUSE() std::this_thread::yield()
#endif

namespace anative {
namespace {

thread_local bool tInsideTask = false;

// Dispatch: `ctrl_` packs (generation << 32 | next task index). A task is claimed by a CAS
// that also checks the generation, so a worker that wakes late for an old dispatch can never
// run a task of a newer one. The caller waits for the tasks to be DONE, not for the workers to
// check in: on a loaded machine a descheduled worker costs nothing unless it holds a task, and
// the calling thread simply runs the tasks itself.
//
// A dispatch first CLOSES the previous one (a generation whose index is CLOSED, past every task
// count) and only then sets the new task count, function and done count, then opens its own
// generation. Without the close, a worker still claiming for the previous dispatch could read
// that dispatch's last ctrl_ value, then the NEW (larger) task count, and win its CAS before the
// new generation was stored: it ran a task of the new function under the old generation and
// counted it, done_ passed the task count, and the caller waited forever (seen as a rare hang
// of the bf16 kernel tests: the caller in sched_yield, the worker asleep).
class Pool {
 public:
  explicit Pool(int threads) : threads_(std::max(1, threads)) {
    for (int t = 1; t < threads_; t++) workers_.emplace_back([this, t] { workerLoop(t); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int threads() const { return threads_; }

  // perThread: every thread runs fn(thread, thread) exactly once (ntasks is ignored).
  void run(int ntasks, const std::function<void(int, int)>& fn, bool perThread = false) {
    if (perThread) return runEach(fn);
    if (ntasks <= 0) return;
    if (threads_ == 1 || ntasks == 1 || tInsideTask) {
      const bool was = tInsideTask;
      tInsideTask = true;
      try {
        for (int i = 0; i < ntasks; i++) fn(i, 0);
      } catch (...) {
        tInsideTask = was;
        throw;
      }
      tInsideTask = was;
      return;
    }
    std::lock_guard<std::mutex> runLock(runMu_);  // one parallel region at a time
    const uint64_t gen = open(ntasks, fn);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
    claimAndRun(gen, 0);
    for (long spin = 0; done_.load(std::memory_order_acquire) != ntasks; spin++) {
      if (spin < 4096)
        ANATIVE_PAUSE();
      else
        std::this_thread::yield();
    }
    fn_ = nullptr;
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

 private:
  void runEach(const std::function<void(int, int)>& fn) {
    if (threads_ == 1 || tInsideTask) {
      bool was = tInsideTask;
      tInsideTask = true;
      for (int i = 0; i < threads_; i++) fn(i, i);
      tInsideTask = was;
      return;
    }
    // One task per thread: each task waits until all have started, so no thread can take two
    // (used only by peakGflops, where all threads must burn at once).
    std::atomic<int> started{0};
    std::function<void(int, int)> each = [&](int, int thread) {
      started.fetch_add(1);
      while (started.load() < threads_) ANATIVE_PAUSE();
      fn(thread, thread);
    };
    runInternal(threads_, each);
  }

  void runInternal(int ntasks, const std::function<void(int, int)>& fn) {
    std::lock_guard<std::mutex> runLock(runMu_);
    const uint64_t gen = open(ntasks, fn);
    {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
    claimAndRun(gen, 0, 1);  // exactly one task here; the workers take the others
    while (done_.load(std::memory_order_acquire) != ntasks) std::this_thread::yield();
    fn_ = nullptr;
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

  // Closes the previous dispatch, sets up this one and opens it (see the top of the class):
  // returns its generation. The caller holds runMu_.
  uint64_t open(int ntasks, const std::function<void(int, int)>& fn) {
    const uint64_t last = ctrl_.load(std::memory_order_relaxed) >> 32;
    ctrl_.store(((last + 1) << 32) | CLOSED);  // from here no claim of the old dispatch succeeds
    fn_ = &fn;
    // release: a worker that reads this count (acquire) has seen the close, so its CAS against
    // an old ctrl_ value fails
    ntasks_.store(ntasks, std::memory_order_release);
    done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = last + 2;
    ctrl_.store(gen << 32);  // seq_cst with the sleepers_ check in run(): no lost wake-up
    return gen;
  }

  // Claims tasks of generation `gen` until none are left (or `limit` were run).
  void claimAndRun(uint64_t gen, int thread, int limit = 1 << 30) {
    bool was = tInsideTask;
    tInsideTask = true;
    for (int ran = 0; ran < limit; ran++) {
      uint64_t c = ctrl_.load(std::memory_order_acquire);
      int idx;
      for (;;) {
        if ((c >> 32) != gen) goto out;
        idx = static_cast<int>(c & 0xffffffffu);
        if (idx >= ntasks_.load(std::memory_order_acquire)) goto out;
        if (ctrl_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) break;
      }
      // Claimed: the dispatch cannot finish (nor fn_ change) until this task is done.
      try {
        (*fn_)(idx, thread);
      } catch (...) {
        std::lock_guard<std::mutex> lock(errMu_);
        if (!error_) error_ = std::current_exception();
      }
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  out:
    tInsideTask = was;
  }

  void workerLoop(int thread) {
    uint64_t seen = 0;  // generations start at 1
    for (;;) {
      // Spin a little (kernels come in bursts), then sleep on the condition variable.
      uint64_t gen = ctrl_.load(std::memory_order_acquire) >> 32;
      for (int spin = 0; spin < 20000 && gen == seen && !stop_.load(); spin++) {
        ANATIVE_PAUSE();
        gen = ctrl_.load(std::memory_order_acquire) >> 32;
      }
      if (gen == seen) {
        std::unique_lock<std::mutex> lock(mu_);
        sleepers_.fetch_add(1);
        cv_.wait(lock, [&] {
          return stop_.load() || (ctrl_.load(std::memory_order_acquire) >> 32) != seen;
        });
        sleepers_.fetch_sub(1);
        gen = ctrl_.load(std::memory_order_acquire) >> 32;
      }
      if (stop_.load()) return;
      seen = gen;
      claimAndRun(gen, thread);
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_, runMu_, errMu_;
  std::condition_variable cv_;
  static constexpr uint64_t CLOSED = 0x7fffffff;  // an index past every task count
  std::atomic<uint64_t> ctrl_{0};
  std::atomic<int> ntasks_{0};
  std::atomic<int> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int, int)>* fn_ = nullptr;
  std::exception_ptr error_;
};

// The pool is shared by every JavaScript thread that loads the addon (worker_threads, e.g. the
// two towers of the paper's model parallelism): dispatches hold gPoolMu shared, setThreads holds
// it exclusively, so the pool is never replaced under a running dispatch. Inside a task nothing
// is locked (nested regions run serially), so a waiting setThreads cannot deadlock a dispatch.
std::shared_mutex gPoolMu;
std::unique_ptr<Pool> gPool;
std::atomic<int> gThreads{0};

int defaultThreads() {
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

void replacePool(int n) {  // caller holds gPoolMu exclusively
  gPool.reset();
  gPool.reset(new Pool(n));
  gThreads.store(n);
}

void ensurePool() {
  if (gThreads.load() != 0) return;
  std::unique_lock<std::shared_mutex> lock(gPoolMu);
  if (!gPool) replacePool(defaultThreads());
}

void runSerially(int ntasks, const std::function<void(int, int)>& fn) {
  const bool was = tInsideTask;
  tInsideTask = true;
  try {
    for (int i = 0; i < ntasks; i++) fn(i, 0);
  } catch (...) {
    tInsideTask = was;
    throw;
  }
  tInsideTask = was;
}

}  // namespace

void setThreads(int n) {
  if (n <= 0) n = defaultThreads();
  if (tInsideTask) throw std::runtime_error("setThreads called from inside a parallel task");
  std::unique_lock<std::shared_mutex> lock(gPoolMu);
  if (gPool && gPool->threads() == n) return;
  replacePool(n);
}

int getThreads() {
  ensurePool();
  return gThreads.load();
}

void parallelFor(int ntasks, const std::function<void(int, int)>& fn) {
  if (ntasks <= 0) return;
  if (tInsideTask) return runSerially(ntasks, fn);
  ensurePool();
  std::shared_lock<std::shared_mutex> lock(gPoolMu);
  gPool->run(ntasks, fn);
}

void parallelEach(const std::function<void(int)>& fn) {
  if (tInsideTask) return runSerially(1, [&](int, int) { fn(0); });
  ensurePool();
  std::shared_lock<std::shared_mutex> lock(gPoolMu);
  gPool->run(
      0, [&](int, int thread) { fn(thread); }, true);
}

void parallelRange(long n, long minChunk, const std::function<void(long, long)>& fn) {
  if (n <= 0) return;
  const int threads = tInsideTask ? 1 : getThreads();
  long chunks = std::max(1L, std::min<long>(threads, n / std::max(1L, minChunk)));
  long per = (n + chunks - 1) / chunks;
  parallelFor(static_cast<int>(chunks), [&](int t, int) {
    long b = t * per, e = std::min(n, b + per);
    if (b < e) fn(b, e);
  });
}

}  // namespace anative
