#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ANATIVE_PAUSE() _mm_pause()
#else
#define ANATIVE_PAUSE() std::this_thread::yield()
#endif

namespace anative {
namespace {

thread_local bool tInsideTask = false;

class Pool {
 public:
  explicit Pool(int threads) : threads_(std::max(1, threads)) {
    for (int t = 1; t < threads_; t++) workers_.emplace_back([this, t] { workerLoop(t); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      gen_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int threads() const { return threads_; }

  // perThread: every thread runs fn(thread, thread) exactly once (ntasks is ignored).
  void run(int ntasks, const std::function<void(int, int)>& fn, bool perThread = false) {
    if (perThread) ntasks = threads_;
    if (ntasks <= 0) return;
    if (threads_ == 1 || (ntasks == 1 && !perThread) || tInsideTask) {
      bool was = tInsideTask;
      tInsideTask = true;
      for (int i = 0; i < ntasks; i++) fn(i, 0);
      tInsideTask = was;
      return;
    }
    std::lock_guard<std::mutex> runLock(runMu_);  // one parallel region at a time
    fn_ = &fn;
    ntasks_ = ntasks;
    perThread_ = perThread;
    next_.store(0);
    active_.store(threads_ - 1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    work(0);
    while (active_.load(std::memory_order_acquire) != 0) ANATIVE_PAUSE();
    fn_ = nullptr;
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

 private:
  void work(int thread) {
    tInsideTask = true;
    if (perThread_) {
      try {
        (*fn_)(thread, thread);
      } catch (...) {
        std::lock_guard<std::mutex> lock(errMu_);
        if (!error_) error_ = std::current_exception();
      }
      tInsideTask = false;
      return;
    }
    for (;;) {
      int i = next_.fetch_add(1);
      if (i >= ntasks_) break;
      try {
        (*fn_)(i, thread);
      } catch (...) {
        std::lock_guard<std::mutex> lock(errMu_);
        if (!error_) error_ = std::current_exception();
      }
    }
    tInsideTask = false;
  }

  void workerLoop(int thread) {
    unsigned long seen = 0;  // gen_ starts at 0; a dispatch may come before this thread runs
    for (;;) {
      // Spin a little (kernels come in bursts), then sleep on the condition variable.
      for (int spin = 0; spin < 20000 && gen_.load(std::memory_order_acquire) == seen; spin++)
        ANATIVE_PAUSE();
      if (gen_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return gen_.load() != seen; });
      }
      seen = gen_.load(std::memory_order_acquire);
      if (stop_) return;
      work(thread);
      active_.fetch_sub(1, std::memory_order_release);
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_, runMu_, errMu_;
  std::condition_variable cv_;
  std::atomic<unsigned long> gen_{0};
  std::atomic<int> next_{0};
  std::atomic<int> active_{0};
  const std::function<void(int, int)>* fn_ = nullptr;
  int ntasks_ = 0;
  bool perThread_ = false;
  bool stop_ = false;
  std::exception_ptr error_;
};

std::unique_ptr<Pool>& pool() {
  static std::unique_ptr<Pool> p;
  return p;
}

int defaultThreads() {
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

Pool& getPool() {
  auto& p = pool();
  if (!p) p.reset(new Pool(defaultThreads()));
  return *p;
}

}  // namespace

void setThreads(int n) {
  if (n <= 0) n = defaultThreads();
  auto& p = pool();
  if (p && p->threads() == n) return;
  p.reset();
  p.reset(new Pool(n));
}

int getThreads() { return getPool().threads(); }

void parallelFor(int ntasks, const std::function<void(int, int)>& fn) { getPool().run(ntasks, fn); }

void parallelEach(const std::function<void(int)>& fn) {
  getPool().run(0, [&](int, int thread) { fn(thread); }, true);
}

void parallelRange(long n, long minChunk, const std::function<void(long, long)>& fn) {
  if (n <= 0) return;
  int threads = getPool().threads();
  long chunks = std::max(1L, std::min<long>(threads, n / std::max(1L, minChunk)));
  long per = (n + chunks - 1) / chunks;
  parallelFor(static_cast<int>(chunks), [&](int t, int) {
    long b = t * per, e = std::min(n, b + per);
    if (b < e) fn(b, e);
  });
}

}  // namespace anative
