// A small persistent thread pool: (threads - 1) workers plus the calling thread.
//
// Workers spin briefly after each job (hand-off in ~1 us instead of ~40 us through a condition
// variable), then sleep, so an idle pool does not compete with the JS thread or Dawn's device thread.
// One compute job at a time owns the pool (ComputeLock); nested parallel regions are not allowed:
// routines take an explicit `threads` argument and pass 1 to anything they call from inside a region.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

namespace lr {

// Waiting policy of the pool's workers and of the background runner (job.cc). Spin this long after a
// job before sleeping (microseconds).
constexpr int kSpinMicros = 100;
// Busy period: a job that came within kBusyGapMicros of the previous one makes the thread wait this long
// for the next, yielding the core between checks after the first kSpinMicros. Without it an algorithm's
// sub-millisecond products (the Gram-Schmidt steps of randomized SVD, with host work and one-thread
// factorizations of small blocks between them) found the worker asleep and ran on the calling thread
// alone: a futex wake-up in a VM took 50-300 us, as long as the product (4000 x 60 x 60 f32: 0.21 ms on
// 2 threads, 0.40 on 1). Measured in randomized SVD: the worker joined only ~half of its jobs within 20 us.
constexpr int kBusyGapMicros = 5000;
constexpr int kBusySpinMicros = 5000;

class ThreadPool {
 public:
  static ThreadPool& get();
  // Largest useful thread count: hardware threads (LOWRANK_POOL_THREADS when set), capped by
  // LOWRANK_THREADS when set.
  int maxThreads() const { return max_threads_; }
  // Runs fn(tid) for tid in [0, n) with n = min(nthreads, maxThreads()); tid 0 is the caller. Blocks.
  // all == true: every tid runs (static work split by tid). all == false: the job is "dynamic" (any
  // participant can do any part of the work, e.g. tasks claimed from a shared counter); once the
  // caller's own fn(0) returns the job is closed, workers that have not entered yet skip it, and
  // run() waits only for those that did. An exception thrown by fn on any thread is rethrown here, on
  // the caller, after every participant has left. This keeps a sleeping worker's wake-up latency (~0.2 ms)
  // off the critical path of small jobs.
  void run(int nthreads, const std::function<void(int)>& fn, bool all = true);
  // Wakes sleeping workers so that they spin for a while: called when a multi-threaded job is queued
  // for the background runner, it hides a sleeping worker's futex wake-up behind the hop to the runner.
  void prewake();
  ~ThreadPool();

 private:
  ThreadPool();
  // Starts workers up to n participants; returns how many there are (fewer when threads cannot be made).
  int ensureWorkers(int n);
  void workerLoop(int tid, uint64_t seen);
  struct Impl;
  Impl* impl_;
  int max_threads_;
};

// Held by every job that runs off the JS thread: serializes use of the pool between concurrent jobs.
struct ComputeLock {
  ComputeLock();
  // tryOnly: do not wait; owns() says whether the pool was free.
  explicit ComputeLock(bool tryOnly);
  ~ComputeLock();
  bool owns() const { return owns_; }
  ComputeLock(const ComputeLock&) = delete;
  ComputeLock& operator=(const ComputeLock&) = delete;

 private:
  bool owns_ = true;
};

// Dynamic loop: tasks [0, ntasks) are claimed one at a time by `nthreads` threads; fn(task, tid).
template <class F>
void parallelFor(int nthreads, int64_t ntasks, F&& fn) {
  if (ntasks <= 0) return;
  if (nthreads <= 1 || ntasks == 1) {
    for (int64_t t = 0; t < ntasks; ++t) fn(t, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  int n = static_cast<int>(nthreads < ntasks ? nthreads : ntasks);
  ThreadPool::get().run(
      n,
      [&](int tid) {
        for (int64_t t = next.fetch_add(1, std::memory_order_relaxed); t < ntasks;
             t = next.fetch_add(1, std::memory_order_relaxed))
          fn(t, tid);
      },
      /*all=*/false);
}

// Split of [0, n) into `parts` contiguous, equal ranges, fn(begin, end, tid), claimed dynamically
// (a thread may run several ranges; tid identifies the executing thread, not the range).
template <class F>
void parallelRanges(int nthreads, int64_t n, int64_t minChunk, F&& fn) {
  if (n <= 0) return;
  int64_t parts = nthreads;
  // run() never starts more than maxThreads() participants: split only among those that will run.
  if (parts > ThreadPool::get().maxThreads()) parts = ThreadPool::get().maxThreads();
  if (minChunk > 0 && n / minChunk < parts) parts = n / minChunk;
  if (parts <= 1) {
    fn(int64_t{0}, n, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  ThreadPool::get().run(
      static_cast<int>(parts),
      [&](int tid) {
        for (int64_t t = next.fetch_add(1, std::memory_order_relaxed); t < parts;
             t = next.fetch_add(1, std::memory_order_relaxed))
          fn(n * t / parts, n * (t + 1) / parts, tid);
      },
      /*all=*/false);
}

}  // namespace lr
