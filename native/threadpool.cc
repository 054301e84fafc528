#include "threadpool.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <new>
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
  std::atomic<uint64_t> wakeups{0};  // bumped by prewake()
  std::atomic<int> remaining{0};
  std::atomic<bool> stop{false};
  // Job description, published by the release store of `ticket` (atomics only to keep late readers
  // free of data races; the ordering comes from the ticket).
  std::atomic<const std::function<void(int)>*> fn{nullptr};
  std::atomic<int> active{0};  // participants including the caller
  // Entry ticket of the current job: (generation tag << 32) | kClosed bit | workers entered so far.
  // A worker joins only the job whose tag matches the generation it woke up for, so a worker that
  // wakes late for a closed job can never run (or half-read) the next one.
  std::atomic<uint64_t> ticket{0};
  std::mutex runLock;
  // First exception thrown by a participant of the current job (a failed allocation, typically): kept
  // here and rethrown by run() on the calling thread once every participant has left the job, so that
  // an error inside a worker thread rejects the call instead of terminating the process.
  std::mutex errorLock;
  std::exception_ptr error;
  void fail() noexcept {
    std::lock_guard<std::mutex> g(errorLock);
    if (!error) error = std::current_exception();
  }
};

namespace {
constexpr uint64_t kClosed = 0x80000000u;
std::mutex g_compute;
// After a prewake(), spin this long waiting for the job that caused it.
constexpr int kPrewakeSpinMicros = 2000;
}  // namespace

ComputeLock::ComputeLock() { g_compute.lock(); }
ComputeLock::ComputeLock(bool tryOnly) { owns_ = tryOnly ? g_compute.try_lock() : (g_compute.lock(), true); }
ComputeLock::~ComputeLock() {
  if (owns_) g_compute.unlock();
}

ThreadPool& ThreadPool::get() {
  static ThreadPool pool;
  return pool;
}

ThreadPool::ThreadPool() : impl_(new Impl) {
  unsigned hc = std::thread::hardware_concurrency();
  int n = hc == 0 ? 1 : static_cast<int>(hc);
  // LOWRANK_POOL_THREADS: exact pool size, above the hardware count too (oversubscribed). For tests
  // of thread-count independence on small machines; LOWRANK_THREADS still caps it.
  if (const char* env = std::getenv("LOWRANK_POOL_THREADS")) {
    int v = std::atoi(env);
    if (v >= 1) n = v;
  }
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

int ThreadPool::ensureWorkers(int n) {
  while (static_cast<int>(impl_->workers.size()) < n - 1) {
    int tid = static_cast<int>(impl_->workers.size()) + 1;
    // The worker must start from the generation *before* the job that is about to be published;
    // reading it inside the new thread could miss that job and deadlock the caller.
    uint64_t gen0 = impl_->gen.load(std::memory_order_acquire);
    try {
      impl_->workers.reserve(static_cast<size_t>(tid));
      impl_->workers.emplace_back([this, tid, gen0] { workerLoop(tid, gen0); });
    } catch (...) {
      // No memory for another thread (its stack) or for the list: run with the workers there are.
      break;
    }
  }
  return static_cast<int>(impl_->workers.size()) + 1;
}

void ThreadPool::workerLoop(int tid, uint64_t seen) {
  using Clock = std::chrono::steady_clock;
  Impl& s = *impl_;
  int spin = kSpinMicros;
  bool busy = false;
  Clock::time_point lastEnd{};
  for (;;) {
    // Spin for a short while (in a busy period: longer, yielding after kSpinMicros), then sleep until the
    // generation changes (or a prewake: spin again).
    auto t0 = Clock::now();
    while (s.gen.load(std::memory_order_acquire) == seen) {
      const auto waited = Clock::now() - t0;
      if (waited <= std::chrono::microseconds(spin)) {
        cpuRelax();
      } else if (busy && waited <= std::chrono::microseconds(kBusySpinMicros)) {
        std::this_thread::yield();
      } else {
        const uint64_t w = s.wakeups.load(std::memory_order_acquire);
        std::unique_lock<std::mutex> lk(s.m);
        s.cv.wait(lk, [&] {
          return s.gen.load(std::memory_order_acquire) != seen || s.wakeups.load(std::memory_order_acquire) != w;
        });
        spin = kPrewakeSpinMicros;
        busy = false;
        t0 = Clock::now();
      }
    }
    busy = Clock::now() - lastEnd < std::chrono::microseconds(kBusyGapMicros);
    spin = kSpinMicros;
    seen = s.gen.load(std::memory_order_acquire);
    if (s.stop.load()) return;
    const uint64_t tag = (seen & 0xffffffffu) << 32;
    uint64_t e = s.ticket.load(std::memory_order_acquire);
    bool in = false;
    // The acquire load of a matching ticket makes fn/active/all of that job visible.
    while ((e & ~uint64_t{0xffffffffu}) == tag && !(e & kClosed) && tid < s.active.load(std::memory_order_relaxed)) {
      if (s.ticket.compare_exchange_weak(e, e + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        in = true;
        break;
      }
    }
    if (!in) continue;
    try {
      (*s.fn.load(std::memory_order_relaxed))(tid);
    } catch (...) { s.fail(); }
    s.remaining.fetch_sub(1, std::memory_order_acq_rel);
    lastEnd = Clock::now();
  }
}

void ThreadPool::prewake() {
  if (max_threads_ <= 1 || impl_->workers.empty()) return;
  {
    std::lock_guard<std::mutex> g(impl_->m);
    impl_->wakeups.fetch_add(1, std::memory_order_acq_rel);
  }
  impl_->cv.notify_all();
}

void ThreadPool::run(int nthreads, const std::function<void(int)>& fn, bool all) {
  int n = nthreads < max_threads_ ? nthreads : max_threads_;
  if (n <= 1) {
    fn(0);
    return;
  }
  Impl& s = *impl_;
  std::lock_guard<std::mutex> guard(s.runLock);
  const int avail = ensureWorkers(n);
  if (avail < n) {
    // A static job splits its work by tid over n participants: it cannot run with fewer. A dynamic
    // one can (any participant takes any part).
    if (all) throw std::bad_alloc();
    n = avail;
    if (n <= 1) {
      fn(0);
      return;
    }
  }
  s.error = nullptr;
  const uint64_t next = s.gen.load(std::memory_order_relaxed) + 1;
  s.fn.store(&fn, std::memory_order_relaxed);
  s.active.store(n, std::memory_order_relaxed);
  // Static jobs wait for n - 1 workers; dynamic ones count down from 0 for each worker that entered.
  s.remaining.store(all ? n - 1 : 0, std::memory_order_release);
  s.ticket.store((next & 0xffffffffu) << 32, std::memory_order_release);
  {
    std::lock_guard<std::mutex> g(s.m);
    s.gen.store(next, std::memory_order_release);
  }
  s.cv.notify_all();
  try {
    fn(0);
  } catch (...) { s.fail(); }
  if (!all) {
    // Close the job: workers that have not entered skip it; wait only for those that did.
    uint64_t entered = s.ticket.fetch_or(kClosed, std::memory_order_acq_rel) & 0x7fffffffu;
    s.remaining.fetch_add(static_cast<int>(entered), std::memory_order_acq_rel);
  }
  while (s.remaining.load(std::memory_order_acquire) != 0) cpuRelax();
  if (s.error) {
    std::exception_ptr e = s.error;
    s.error = nullptr;
    std::rethrow_exception(e);
  }
}

}  // namespace lr
