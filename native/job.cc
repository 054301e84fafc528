// Submit(): run a Job inline or on the background runner, and hand back a Promise either way.
#include "common.h"
#include "threadpool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

// The addon's own operator new (the addon is linked with -Bsymbolic-functions on Linux, so this binds
// the addon's allocations only, not the process's): a failed allocation throws lr::OutOfMemory with the
// size asked, so that the rejection can say how much was asked. Memory comes from malloc as with the
// default operator new, so deleting through either is the same free().
void* operator new(std::size_t n) {
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw lr::OutOfMemory(n);
}
void* operator new[](std::size_t n) {
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw lr::OutOfMemory(n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace lr {
namespace {

std::string oomMessage(const std::bad_alloc& e) {
  if (auto* o = dynamic_cast<const OutOfMemory*>(&e)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f", static_cast<double>(o->bytes));
    return std::string("out of memory (an allocation of ") + buf + " bytes failed)";
  }
  return "out of memory (an allocation failed)";
}

Napi::Value makeError(Napi::Env env, Error::Kind kind, const std::string& msg) {
  std::string m = msg;
  switch (kind) {
    case Error::Type:
      return Napi::TypeError::New(env, m).Value();
    case Error::Range:
      return Napi::RangeError::New(env, m).Value();
    default:
      return Napi::Error::New(env, m).Value();
  }
}

// ---- background runner ------------------------------------------------------------------------------
// Background jobs run on one process-wide thread, in arrival order. They hold the ComputeLock, so libuv's
// pool (where they used to run) ran them one at a time too, while the waiting ones held its threads from
// file and DNS work (and terminating a worker thread with a call in flight aborted the process). The runner
// waits for the next job by polling with yields for a while (kSpinMicros, or kBusySpinMicros in a busy
// period, as the pool's workers), so that a caller issuing one product after another never waits for a
// sleeping thread's futex wake-up (libuv's pool: 25-40 us from queueing to the start of the work in a 2-vCPU
// KVM guest; the runner: ~1.5 us). It yields rather than spins so that a JS thread woken onto its core runs
// at once. The JS thread's own wake-up at the end remains: with the runner on one core it is a wake-up of the
// other, idle core (50-70 us in that guest, where libuv's worker often shared the JS thread's core and
// handed over in 20-40 us), so one-thread calls gain nothing; two-thread ones (both cores busy) do.
// Results go back to the calling environment's JS thread through that environment's thread-safe
// function, whose finalizer (environment teardown) synchronizes with the runner (Runner::close).
struct EnvQueue;

struct Task {
  Task(std::unique_ptr<Job> j, Napi::Promise::Deferred d, const char* f, EnvQueue* h)
      : job(std::move(j)), deferred(d), fn(f), home(h) {}
  std::unique_ptr<Job> job;
  Napi::Promise::Deferred deferred;
  std::string fn;
  EnvQueue* home;
  bool failed = false;
  Error::Kind kind = Error::Generic;
  std::string msg;

  // On the runner.
  void execute() {
    ComputeLock lock;
    try {
      job->Execute();
    } catch (const Error& e) {
      failed = true;
      kind = e.kind;
      msg = e.what();
    } catch (const std::bad_alloc& e) {
      failed = true;
      kind = Error::Range;
      msg = fn + ": " + oomMessage(e);
    } catch (const std::exception& e) {
      failed = true;
      kind = Error::Generic;
      msg = e.what();
    }
  }
};

// One per environment (the main thread's, each worker thread's) that submitted background work.
struct EnvQueue {
  napi_threadsafe_function tsfn = nullptr;
  // JS thread only: tasks submitted and not yet settled. The thread-safe function keeps the event loop
  // alive while this is above 0 (like a pending libuv work request), and not when it is 0.
  int pending = 0;
  bool closing = false;  // under the runner's mutex: the environment is being torn down
  // Freed by the second of its two finalizers (thread-safe function, instance data), in either order.
  std::atomic<int> refs{2};
  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

class Runner {
 public:
  // Never destroyed: process.exit() during a job must not wait for it (as with libuv's pool).
  static Runner& get() {
    static Runner* r = new Runner;
    return *r;
  }
  // JS thread.
  void post(Task* t) {
    {
      std::lock_guard<std::mutex> g(m_);
      q_.push_back(t);
      queued_.fetch_add(1, std::memory_order_release);
    }
    if (sleeping_.load(std::memory_order_acquire)) cv_.notify_one();
  }
  // Environment teardown, on its JS thread: from now on the runner settles nothing of `e`'s. Takes `e`'s
  // queued tasks off the queue and waits for its running one; returns those and its finished tasks that
  // could not be handed over, for the caller to free.
  std::vector<Task*> close(EnvQueue* e) {
    std::vector<Task*> mine;
    std::unique_lock<std::mutex> lk(m_);
    e->closing = true;
    done_.wait(lk, [&] { return running_ == nullptr || running_->home != e; });
    for (std::deque<Task*>* from : {&q_, &unsettled_})
      for (auto it = from->begin(); it != from->end();) {
        if ((*it)->home != e) {
          ++it;
          continue;
        }
        if (from == &q_) queued_.fetch_sub(1, std::memory_order_relaxed);
        mine.push_back(*it);
        it = from->erase(it);
      }
    return mine;
  }

 private:
  Runner() {
    std::thread([this] { loop(); }).detach();
  }
  void loop();

  std::mutex m_;
  std::condition_variable cv_;    // a post for a sleeping runner
  std::condition_variable done_;  // the running task is over
  std::deque<Task*> q_;           // in arrival order
  std::deque<Task*> unsettled_;   // finished, but their environment's thread-safe function was closing
  Task* running_ = nullptr;
  std::atomic<size_t> queued_{0};  // q_.size(), readable without the mutex
  std::atomic<bool> sleeping_{false};
};

void Runner::loop() {
  using Clock = std::chrono::steady_clock;
  bool busy = false;
  Clock::time_point lastEnd{};
  for (;;) {
    const auto t0 = Clock::now();
    while (queued_.load(std::memory_order_acquire) == 0) {
      const auto waited = Clock::now() - t0;
      if (waited <= std::chrono::microseconds(busy ? kBusySpinMicros : kSpinMicros)) {
        std::this_thread::yield();
      } else {
        std::unique_lock<std::mutex> lk(m_);
        sleeping_.store(true, std::memory_order_seq_cst);
        cv_.wait(lk, [&] { return queued_.load(std::memory_order_acquire) != 0; });
        sleeping_.store(false, std::memory_order_relaxed);
      }
    }
    // A busy period: this job came within kBusyGapMicros of the end of the previous one.
    busy = Clock::now() - lastEnd < std::chrono::microseconds(kBusyGapMicros);
    Task* t;
    {
      std::lock_guard<std::mutex> g(m_);
      if (q_.empty()) continue;  // taken by close()
      t = q_.front();
      q_.pop_front();
      queued_.fetch_sub(1, std::memory_order_relaxed);
      running_ = t;
    }
    t->execute();
    lastEnd = Clock::now();
    {
      // Under the mutex: close() cannot run between the check and the call, so the thread-safe function
      // is alive here (its finalizer calls close() first).
      std::lock_guard<std::mutex> g(m_);
      if (t->home->closing || napi_call_threadsafe_function(t->home->tsfn, t, napi_tsfn_nonblocking) != napi_ok)
        unsettled_.push_back(t);
      running_ = nullptr;
    }
    done_.notify_all();
  }
}

// On the JS thread of the task's environment (the thread-safe function's call_js): settles the Promise.
// env is null when the environment is being torn down: the task is then dropped without touching JS.
void settle(napi_env env, napi_value, void*, void* data) {
  std::unique_ptr<Task> t(static_cast<Task*>(data));
  if (env == nullptr) {
    t->job->abandon();
    return;
  }
  Napi::Env e(env);
  Napi::HandleScope scope(e);
  EnvQueue* q = t->home;
  if (--q->pending == 0) napi_unref_threadsafe_function(env, q->tsfn);
  if (t->failed) {
    t->deferred.Reject(makeError(e, t->kind, t->msg));
    return;
  }
  try {  // no C++ exception may leave a callback from the event loop
    if (const char* lost = t->job->attach(e)) {
      t->deferred.Reject(makeError(
          e, Error::Type,
          t->fn + ": argument '" + lost + "' was detached or resized while the call ran; its result was dropped"));
      return;
    }
    t->deferred.Resolve(t->job->Result(e));
  } catch (const Napi::Error& err) { t->deferred.Reject(err.Value()); } catch (const std::bad_alloc& err) {
    t->deferred.Reject(makeError(e, Error::Range, t->fn + ": " + oomMessage(err)));
  }
}

// Thread-safe function finalizer (environment teardown, its JS thread): after it returns the runner never
// calls the function again; the environment's queued and unsettled tasks are dropped.
void closeQueue(napi_env, void* data, void*) {
  auto* q = static_cast<EnvQueue*>(data);
  for (Task* t : Runner::get().close(q)) {
    t->job->abandon();
    delete t;
  }
  q->release();
}

EnvQueue* envQueue(napi_env env) {
  void* d = nullptr;
  if (napi_get_instance_data(env, &d) == napi_ok && d) return static_cast<EnvQueue*>(d);
  auto* q = new EnvQueue;
  napi_value name;
  napi_create_string_utf8(env, "lowrank", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, q, closeQueue, q, settle, &q->tsfn) !=
      napi_ok) {
    delete q;
    throw Napi::Error::New(env, std::string(currentCall().fn) + ": could not create the background call queue");
  }
  napi_unref_threadsafe_function(env, q->tsfn);
  napi_set_instance_data(
      env, q, [](napi_env, void* data, void*) { static_cast<EnvQueue*>(data)->release(); }, nullptr);
  return q;
}

}  // namespace

// Buffers tagged by own(): host stores of the native backend, private to the library (never handed to a
// caller), so that a background call need not copy them.
const napi_type_tag kOwnedTag = {0x6c6f7772616e6b2dULL, 0x6f776e65642d7631ULL};

static bool isOwned(napi_env env, napi_value typedArray) {
  napi_typedarray_type type;
  size_t len = 0, offset = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  bool owned = false;
  if (napi_get_typedarray_info(env, typedArray, &type, &len, &data, &buffer, &offset) != napi_ok) return false;
  if (napi_check_object_type_tag(env, buffer, &kOwnedTag, &owned) != napi_ok) return false;
  return owned;
}

void Job::detach() {
  // An array passed twice gets two copies: inputs are only read, and an output never aliases an input
  // (Args::noAlias), so the result is the same.
  refs_.reserve(args_.size());
  for (Arg& a : args_) {
    a.ref = refs_.size();
    refs_.emplace_back(Napi::Persistent(a.value.As<Napi::Object>()));
  }
  for (Arg& a : args_) {
    if (!*a.data || a.bytes == 0) continue;
    if (isOwned(a.value.Env(), a.value)) continue;
    copies_.emplace_back(new uint8_t[a.bytes]);
    a.copy = copies_.back().get();
    std::memcpy(a.copy, *a.data, a.bytes);
  }
  for (Arg& a : args_)
    if (a.copy) *a.data = a.copy;
}

const char* Job::attach(Napi::Env env) {
  for (Arg& a : args_) {
    if (!a.output || !a.copy) continue;
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    napi_value ab = nullptr;
    size_t offset = 0;
    if (napi_get_typedarray_info(env, refs_[a.ref].Value(), &type, &len, &data, &ab, &offset) != napi_ok) return a.name;
    const size_t elem = type == napi_float64_array ? 8 : 4;
    if (!data || len * elem != a.bytes) return a.name;
    std::memcpy(data, a.copy, a.bytes);
  }
  return nullptr;
}

const char* Job::unbound(const void* self, size_t size) const {
  const auto* lo = static_cast<const char*>(self);
  for (const Arg& a : args_) {
    const auto* at = reinterpret_cast<const char*>(a.data);
    if (at < lo || at + sizeof(void*) > lo + size || *a.data != a.parsed) return a.name;
  }
  return nullptr;
}

Napi::Value submitJob(Napi::Env env, std::unique_ptr<Job> job, const void* self, size_t size) {
  const char* fn = currentCall().fn;
  if (const char* lost = job->unbound(self, size))
    throw Napi::Error::New(env, std::string(fn) + ": internal error: argument '" + lost + "' is not held by its job");
  // Cost from all sizes: a kernel visits every index of every dimension, so a huge dimension against a
  // zero one (a product of 0) is still work, and must not run on the JS thread.
  const double floor = kPerElement * currentCall().dimSum;
  if (!(job->cost >= floor)) job->cost = floor;
  if (job->cost > kMaxWork) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3g", job->cost);
    throw Napi::RangeError::New(env, std::string(fn) + ": the sizes given ask for about " + buf +
                                         " operations, beyond what one call may run; split the work");
  }
  if (job->cost >= kAsyncFlops) {
    try {
      job->detach();
    } catch (const std::bad_alloc& e) {
      throw Napi::RangeError::New(
          env, std::string(fn) + ": " + oomMessage(e) + " copying the arguments of a background call");
    }
    EnvQueue* q = envQueue(env);
    auto* t = new Task(std::move(job), Napi::Promise::Deferred::New(env), fn, q);
    Napi::Promise p = t->deferred.Promise();
    if (q->pending++ == 0) napi_ref_threadsafe_function(env, q->tsfn);
    if (t->job->threads > 1) ThreadPool::get().prewake();
    Runner::get().post(t);
    return p;
  }
  // Small work: run on the JS thread and resolve at once. It may use the pool only when no background
  // job owns it (never wait for one here: that would block the event loop).
  auto deferred = Napi::Promise::Deferred::New(env);
  ComputeLock lock(/*tryOnly=*/true);
  if (!lock.owns()) job->threads = 1;
  try {
    job->Execute();
    deferred.Resolve(job->Result(env));
  } catch (const Error& e) { deferred.Reject(makeError(env, e.kind, e.what())); } catch (const std::bad_alloc& e) {
    deferred.Reject(makeError(env, Error::Range, std::string(fn) + ": " + oomMessage(e)));
  } catch (const std::exception& e) { deferred.Reject(makeError(env, Error::Generic, e.what())); }
  return deferred.Promise();
}

namespace {
// own(array): marks the ArrayBuffer behind a typed array as private to the library (see kOwnedTag).
// Only the native backend calls it, on the host stores it allocates; the memory is then used in place
// by background calls, so it must never be handed to code that could detach or resize it.
Napi::Value Own(const Napi::CallbackInfo& info) {
  Args a(info, "own", 1);
  FloatArray f = a.floats(0, "array");
  napi_typedarray_type type;
  size_t len = 0, offset = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  bool owned = false;
  if (napi_get_typedarray_info(info.Env(), f.value, &type, &len, &data, &buffer, &offset) == napi_ok &&
      napi_check_object_type_tag(info.Env(), buffer, &kOwnedTag, &owned) == napi_ok && !owned)
    napi_type_tag_object(info.Env(), buffer, &kOwnedTag);
  return info.Env().Undefined();
}

// lineOffset(array): how many bytes the array's first element lies past a 64-byte (cache line) boundary,
// 0..63. The native backend allocates its large stores with room to spare and views them from a line
// boundary: the kernels read such operands in place only when their rows start on lines (gemm_driver.cc).
Napi::Value LineOffset(const Napi::CallbackInfo& info) {
  Args a(info, "lineOffset", 1);
  FloatArray f = a.floats(0, "array");
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(f.data) % 64));
}
}  // namespace

void RegisterJob(Napi::Env env, Napi::Object exports) {
  exports.Set("own", Napi::Function::New(env, Own, "own"));
  exports.Set("lineOffset", Napi::Function::New(env, LineOffset, "lineOffset"));
}

}  // namespace lr
