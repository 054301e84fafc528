// Submit(): run a Job inline or in an AsyncWorker, and hand back a Promise either way.
#include "common.h"
#include "threadpool.h"

#include <cstdio>
#include <cstdlib>

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

class JobWorker : public Napi::AsyncWorker {
 public:
  JobWorker(Napi::Env env, std::unique_ptr<Job> job)
      : Napi::AsyncWorker(env, "lowrank"),
        job_(std::move(job)),
        deferred_(Napi::Promise::Deferred::New(env)),
        fn_(currentCall().fn) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    // One compute job at a time owns the thread pool; others wait here, off the JS thread.
    ComputeLock lock;
    try {
      job_->Execute();
    } catch (const Error& e) {
      failed_ = true;
      kind_ = e.kind;
      msg_ = e.what();
    } catch (const std::bad_alloc& e) {
      failed_ = true;
      kind_ = Error::Range;
      msg_ = fn_ + ": " + oomMessage(e);
    } catch (const std::exception& e) {
      failed_ = true;
      kind_ = Error::Generic;
      msg_ = e.what();
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (failed_) {
      deferred_.Reject(makeError(env, kind_, msg_));
      return;
    }
    try {
      if (const char* lost = job_->attach(env)) {
        deferred_.Reject(makeError(
            env, Error::Type,
            fn_ + ": argument '" + lost + "' was detached or resized while the call ran; its result was dropped"));
        job_.reset();
        return;
      }
      deferred_.Resolve(job_->Result(env));
    } catch (const Napi::Error& e) { deferred_.Reject(e.Value()); }
    job_.reset();
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::unique_ptr<Job> job_;
  Napi::Promise::Deferred deferred_;
  bool failed_ = false;
  Error::Kind kind_ = Error::Generic;
  std::string msg_;
  std::string fn_;
};

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
  for (Arg& a : args_) {
    if (!*a.data || a.bytes == 0) continue;
    if (isOwned(refs_[a.ref].Env(), refs_[a.ref].Value())) continue;
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
    if (job->threads > 1) ThreadPool::get().prewake();
    auto* w = new JobWorker(env, std::move(job));
    Napi::Promise p = w->promise();
    w->Queue();
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
