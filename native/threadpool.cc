#include "threadpool.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
static inline void cpuRelax() { _mm_pause(); }
#elif defined(__aarch64__)
static inline void cpuRelax() { asm volatile("yield"); }
#else
static inline void cpuRelax() {}
#endif

namespace lr {

struct ThreadPool::Impl {
  std::vector<std::thread> workers;
  std::mutex m;
  std::condition_variable cv;
  std::atomic<uint64_t> gen{0};
  std::atomic<int> remaining{0};
  std::atomic<bool> stop{false};
  const std::function<void(int)>* fn = nullptr;
  int active = 0;  // participants including the caller
  std::mutex runLock;
};

namespace {
std::mutex g_compute;
// Spin this long after a job before sleeping (microseconds).
constexpr int kSpinMicros = 100;
}  // namespace

ComputeLock::ComputeLock() { g_compute.lock(); }
ComputeLock::~ComputeLock() { g_compute.unlock(); }

ThreadPool& ThreadPool::get() {
  static ThreadPool pool;
  return pool;
}

ThreadPool::ThreadPool() : impl_(new Impl) {
  unsigned hc = std::thread::hardware_concurrency();
  int n = hc == 0 ? 1 : static_cast<int>(hc);
  if (const char* env = std::getenv("LOWRANK_THREADS")) {
    int v = std::atoi(env);
    if (v >= 1 && v < n) n = v;
  }
  if (n > 256) n = 256;
  max_threads_ = n;
}

ThreadPool::~ThreadPool() {
  impl_->stop.store(true);
  {
    std::lock_guard<std::mutex> g(impl_->m);
    impl_->gen.fetch_add(1);
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->workers)
    if (t.joinable()) t.join();
  delete impl_;
}

void ThreadPool::ensureWorkers(int n) {
  while (static_cast<int>(impl_->workers.size()) < n - 1) {
    int tid = static_cast<int>(impl_->workers.size()) + 1;
    // The worker must start from the generation *before* the job that is about to be published;
    // reading it inside the new thread could miss that job and deadlock the caller.
    uint64_t gen0 = impl_->gen.load(std::memory_order_acquire);
    impl_->workers.emplace_back([this, tid, gen0] { workerLoop(tid, gen0); });
  }
}

void ThreadPool::workerLoop(int tid, uint64_t seen) {
  Impl& s = *impl_;
  for (;;) {
    // Spin for a short while, then sleep until the generation changes.
    auto t0 = std::chrono::steady_clock::now();
    while (s.gen.load(std::memory_order_acquire) == seen) {
      cpuRelax();
      if (std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(kSpinMicros)) {
        std::unique_lock<std::mutex> lk(s.m);
        s.cv.wait(lk, [&] { return s.gen.load(std::memory_order_acquire) != seen; });
        break;
      }
    }
    seen = s.gen.load(std::memory_order_acquire);
    if (s.stop.load()) return;
    if (tid < s.active) {
      (*s.fn)(tid);
      s.remaining.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
}

void ThreadPool::run(int nthreads, const std::function<void(int)>& fn) {
  int n = nthreads < max_threads_ ? nthreads : max_threads_;
  if (n <= 1) {
    fn(0);
    return;
  }
  Impl& s = *impl_;
  std::lock_guard<std::mutex> guard(s.runLock);
  ensureWorkers(n);
  s.fn = &fn;
  s.active = n;
  s.remaining.store(n - 1, std::memory_order_release);
  {
    std::lock_guard<std::mutex> g(s.m);
    s.gen.fetch_add(1, std::memory_order_acq_rel);
  }
  s.cv.notify_all();
  fn(0);
  while (s.remaining.load(std::memory_order_acquire) != 0) cpuRelax();
}

}  // namespace lr
