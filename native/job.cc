// Submit(): run a Job inline or in an AsyncWorker, and hand back a Promise either way.
#include "common.h"
#include "threadpool.h"

namespace lr {
namespace {

Napi::Value makeError(Napi::Env env, Error::Kind kind, const std::string& msg) {
  std::string m = "lowrank native: " + msg;
  switch (kind) {
    case Error::Type: return Napi::TypeError::New(env, m).Value();
    case Error::Range: return Napi::RangeError::New(env, m).Value();
    default: return Napi::Error::New(env, m).Value();
  }
}

class JobWorker : public Napi::AsyncWorker {
 public:
  JobWorker(Napi::Env env, std::unique_ptr<Job> job)
      : Napi::AsyncWorker(env, "lowrank"), job_(std::move(job)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    // One compute job at a time owns the thread pool; others wait here, off the JS thread.
    ComputeLock lock;
    try {
      job_->Execute();
    } catch (const Error& e) {
      failed_ = true; kind_ = e.kind; msg_ = e.what();
    } catch (const std::bad_alloc&) {
      failed_ = true; kind_ = Error::Range; msg_ = "out of memory";
    } catch (const std::exception& e) {
      failed_ = true; kind_ = Error::Generic; msg_ = e.what();
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
      deferred_.Resolve(job_->Result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
    job_.reset();
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::unique_ptr<Job> job_;
  Napi::Promise::Deferred deferred_;
  bool failed_ = false;
  Error::Kind kind_ = Error::Generic;
  std::string msg_;
};

}  // namespace

Napi::Value Submit(Napi::Env env, std::unique_ptr<Job> job) {
  if (job->cost >= kAsyncFlops) {
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
  } catch (const Error& e) {
    deferred.Reject(makeError(env, e.kind, e.what()));
  } catch (const std::bad_alloc&) {
    deferred.Reject(makeError(env, Error::Range, "out of memory"));
  } catch (const std::exception& e) {
    deferred.Reject(makeError(env, Error::Generic, e.what()));
  }
  return deferred.Promise();
}

}  // namespace lr
