// Shared pieces of the addon boundary: error kinds, argument parsing, and the Job/Promise machinery.
//
// Every exported function follows one pattern:
//   1. parse and validate every argument on the JS thread (TypeError / RangeError naming the argument);
//   2. build a Job: Args::floats(i, name, *job) / ints(i, name, *job) register each typed array with it
//      (an inline call's handle scope keeps it alive; a background call references it and works on a
//      copy), assigned to the job's members;
//   3. Submit(job): cheap jobs run inline, jobs above ~0.5 ms (by their flop estimate) run on the
//      addon's background runner thread (job.cc). Either way the function returns a Promise.
// Nothing past step 1 may touch N-API, and nothing in step 1 may trust a length or a dimension.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "la_common.h"

namespace lr {

// ---- argument parsing (JS thread only) -------------------------------------------------------------

[[noreturn]] inline void jsTypeError(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
[[noreturn]] inline void jsRangeError(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

class Job;

// The registration of a typed-array argument with the Job it belongs to (Args::floats(i, name, job)):
// the job holds a reference to the array and redirects the array's data pointer to a private copy for
// a background call (Job::detach). Moving the array moves the registration with it, so the job member a
// parsed array is assigned to is the one redirected; a copy is not registered (Submit checks that each
// registration ended up in a member of its job).
class JobSlot {
 public:
  JobSlot() = default;
  JobSlot(Job* job, size_t index) : job_(job), index_(index) {}
  JobSlot(const JobSlot&) {}
  JobSlot& operator=(const JobSlot&) { return *this; }
  JobSlot(JobSlot&& o) noexcept : job_(o.job_), index_(o.index_) { o.job_ = nullptr; }
  JobSlot& operator=(JobSlot&& o) noexcept {
    job_ = o.job_;
    index_ = o.index_;
    o.job_ = nullptr;
    return *this;
  }
  // Points the registration at `data` (the owner's data pointer, after a move). Defined after Job.
  inline void bind(void** data) const;

 private:
  Job* job_ = nullptr;
  size_t index_ = 0;
};

// A float typed array argument (Float32Array or Float64Array).
struct FloatArray {
  DType dtype = DType::F32;
  void* data = nullptr;
  size_t length = 0;
  Napi::Value value;
  const char* name = "";
  bool output = false;  // written by the call (see isOutput)
  JobSlot slot;         // registration with the job (see JobSlot)
  template <class T>
  T* ptr() const {
    return static_cast<T*>(data);
  }
  size_t bytes() const { return length * (dtype == DType::F32 ? 4 : 8); }

  FloatArray() = default;
  FloatArray(const FloatArray&) = default;
  FloatArray& operator=(const FloatArray&) = default;
  FloatArray(FloatArray&& o) noexcept
      : dtype(o.dtype),
        data(o.data),
        length(o.length),
        value(o.value),
        name(o.name),
        output(o.output),
        slot(std::move(o.slot)) {
    slot.bind(&data);
  }
  FloatArray& operator=(FloatArray&& o) noexcept {
    dtype = o.dtype, data = o.data, length = o.length, value = o.value, name = o.name, output = o.output;
    slot = std::move(o.slot);
    slot.bind(&data);
    return *this;
  }
};

// An Int32Array argument (sparse indices).
struct IntArray {
  int32_t* data = nullptr;
  size_t length = 0;
  Napi::Value value;
  const char* name = "";
  bool output = false;
  JobSlot slot;
  size_t bytes() const { return length * 4; }

  IntArray() = default;
  IntArray(const IntArray&) = default;
  IntArray& operator=(const IntArray&) = default;
  IntArray(IntArray&& o) noexcept
      : data(o.data), length(o.length), value(o.value), name(o.name), output(o.output), slot(std::move(o.slot)) {
    slot.bind(reinterpret_cast<void**>(&data));
  }
  IntArray& operator=(IntArray&& o) noexcept {
    data = o.data, length = o.length, value = o.value, name = o.name, output = o.output;
    slot = std::move(o.slot);
    slot.bind(reinterpret_cast<void**>(&data));
    return *this;
  }
};

// Arguments that an export writes: the copy a background job works on is copied back into them when
// it finishes (see Job::detach). Names are those of the exports' signatures (ts/backends/native/addon.ts);
// the three exceptions are inputs that share an output's name elsewhere.
inline bool isOutput(const char* fn, const char* name) {
  static const char* const kOut[] = {"out",      "dst",      "index",     "value",     "status", "X",    "values", "V",
                                     "U",        "S",        "Q",         "R",         "C",      "PL",   "y",      "L",
                                     "valuesRe", "valuesIm", "vectorsRe", "vectorsIm", "outM",   "outV", "outN"};
  const std::string f(fn), n(name);
  if ((f == "sddmm" && (n == "U" || n == "V")) || (f == "choleskySolveBatch" && n == "L")) return false;
  for (const char* o : kOut)
    if (n == o) return true;
  return false;
}

// The call being parsed on the JS thread (set by Args, read by Submit): its name, for errors raised by
// Submit, and the sum of its dimensions, a floor for the cost estimate (a kernel visits every index of
// every dimension at least once, even when another dimension is 0 and the product is 0).
struct CallInfo {
  const char* fn = "call";
  double dimSum = 0;
};
inline CallInfo& currentCall() {
  static CallInfo call;  // JS thread only
  return call;
}

// Estimated work of a loop nest: the product of the sizes, each counted as at least 1 (a loop over a
// huge dimension still runs when the other one is 0).
inline double work(std::initializer_list<double> sizes) {
  double w = 1;
  for (double s : sizes) w *= s < 1 ? 1 : s;
  return w;
}

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, size_t count) : info_(info), fn_(fn) {
    currentCall() = {fn, 0.0};
    if (info.Length() != count)
      jsTypeError(env(), std::string(fn) + ": expected " + std::to_string(count) + " arguments, got " +
                             std::to_string(info.Length()));
  }
  Napi::Env env() const { return info_.Env(); }
  std::string where(const char* name) const { return std::string(fn_) + ": argument '" + name + "'"; }

  // A float typed array argument registered with `job` (kept alive and, for a background call, copied
  // by it): assign it to a member of that job. Without a job (own()), the array is only inspected.
  FloatArray floats(size_t i, const char* name, Job& job) const;
  IntArray ints(size_t i, const char* name, Job& job) const;
  FloatArray floats(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsTypedArray()) jsTypeError(env(), where(name) + " must be a Float32Array or Float64Array");
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    FloatArray a;
    napi_typedarray_type t = ta.TypedArrayType();
    if (t == napi_float32_array)
      a.dtype = DType::F32;
    else if (t == napi_float64_array)
      a.dtype = DType::F64;
    else
      jsTypeError(env(), where(name) + " must be a Float32Array or Float64Array");
    a.data = checked(ta, name, a.length);
    a.value = v;
    a.name = name;
    a.output = isOutput(fn_, name);
    return a;
  }
  IntArray ints(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      jsTypeError(env(), where(name) + " must be an Int32Array");
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    IntArray a;
    a.data = static_cast<int32_t*>(checked(ta, name, a.length));
    a.value = v;
    a.name = name;
    a.output = isOutput(fn_, name);
    return a;
  }
  // A non-negative integer dimension below 2^31 (so products fit comfortably in int64).
  int64_t dim(size_t i, const char* name) const {
    double d = number(i, name);
    if (!(d >= 0) || d != static_cast<double>(static_cast<int64_t>(d)) || d > 2147483647.0)
      jsRangeError(env(), where(name) + " must be a non-negative integer below 2^31, got " +
                              Napi::Value(info_[i]).ToString().Utf8Value());
    currentCall().dimSum += d;
    return static_cast<int64_t>(d);
  }
  double number(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsNumber()) jsTypeError(env(), where(name) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  double finite(size_t i, const char* name) const {
    double d = number(i, name);
    if (!std::isfinite(d)) jsRangeError(env(), where(name) + " must be finite");
    return d;
  }
  bool boolean(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsBoolean()) jsTypeError(env(), where(name) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }
  std::string string(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsString()) jsTypeError(env(), where(name) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  }
  // Thread count: integer in [1, 1024].
  int threads(size_t i) const {
    double d = number(i, "threads");
    if (!(d >= 1 && d <= 1024) || d != static_cast<double>(static_cast<int>(d)))
      jsRangeError(env(), where("threads") + " must be an integer in [1, 1024]");
    return static_cast<int>(d);
  }

  // Length checks. Products are computed in 64-bit from dims below 2^31, so they cannot overflow.
  void needLength(const FloatArray& a, uint64_t need, const char* name) const {
    if (a.length != need)
      jsRangeError(env(),
                   where(name) + " has length " + std::to_string(a.length) + ", expected " + std::to_string(need));
  }
  void needLength(const IntArray& a, uint64_t need, const char* name) const {
    if (a.length != need)
      jsRangeError(env(),
                   where(name) + " has length " + std::to_string(a.length) + ", expected " + std::to_string(need));
  }
  void sameDtype(const FloatArray& a, const FloatArray& b, const char* an, const char* bn) const {
    if (a.dtype != b.dtype)
      jsTypeError(env(), std::string(fn_) + ": '" + an + "' is " + dtypeName(a.dtype) + " but '" + bn + "' is " +
                             dtypeName(b.dtype));
  }
  void needDtype(const FloatArray& a, DType d, const char* name) const {
    if (a.dtype != d)
      jsTypeError(env(), where(name) + " must be " + (d == DType::F32 ? "a Float32Array" : "a Float64Array"));
  }
  // Distinct output buffers: an output may not alias any input or another output.
  void noAlias(const FloatArray& out, const FloatArray& other, const char* on, const char* an) const {
    auto* o0 = static_cast<const uint8_t*>(out.data);
    auto* a0 = static_cast<const uint8_t*>(other.data);
    size_t ob = out.length * (out.dtype == DType::F32 ? 4 : 8), ab = other.length * (other.dtype == DType::F32 ? 4 : 8);
    if (ob && ab && o0 < a0 + ab && a0 < o0 + ob)
      jsRangeError(env(), std::string(fn_) + ": output '" + on + "' overlaps '" + an + "'");
  }

 private:
  // Validates the buffer behind a typed array; returns its data pointer (null when empty) and element
  // count. Detached, shared and resizable buffers are refused: other threads could write a shared
  // one, and a resizable one could shrink in place; a background job works on a copy of the others.
  void* checked(const Napi::TypedArray& ta, const char* name, size_t& length) const {
    napi_env e = env();
    napi_typedarray_type type;
    size_t len = 0, offset = 0;
    void* data = nullptr;
    napi_value buffer = nullptr;
    if (napi_get_typedarray_info(e, ta, &type, &len, &data, &buffer, &offset) != napi_ok)
      jsTypeError(env(), where(name) + " is not a readable typed array");
    bool isAb = false, detached = false;
    if (napi_is_arraybuffer(e, buffer, &isAb) != napi_ok || !isAb)
      jsTypeError(env(), where(name) +
                             " is backed by a SharedArrayBuffer, which the addon does not accept: "
                             "pass a copy on an ordinary ArrayBuffer");
    if (napi_is_detached_arraybuffer(e, buffer, &detached) != napi_ok || detached)
      jsTypeError(env(), where(name) + " has a detached ArrayBuffer (it was transferred)");
    Napi::Value resizable = Napi::Object(e, buffer).Get("resizable");
    if (resizable.IsBoolean() && resizable.As<Napi::Boolean>().Value())
      jsTypeError(env(), where(name) +
                             " is backed by a resizable ArrayBuffer, which the addon does not accept "
                             "(it could shrink during the call): pass a fixed-length copy");
    length = len;
    return len == 0 ? nullptr : data;
  }

  const Napi::CallbackInfo& info_;
  const char* fn_;
};

// ---- jobs ---------------------------------------------------------------------------------------

// Job cost unit: GEMM-flop equivalents, i.e. about 1e5 units per microsecond of one core (GEMM runs
// near 100 GFLOP/s per core). Memory-bound work counts its time, not its flops: an element-wise pass
// is ~kPerElement units per element, factorizations count their flops times kFactorWeight.
// Jobs above kAsyncFlops (~0.5 ms) run on the background runner (job.cc); smaller ones run inline on the
// JS thread, using the pool when no background job holds it.
constexpr double kAsyncFlops = 5.0e7;
constexpr double kPerElement = 100.0;
constexpr double kFactorWeight = 3.0;
// Calls estimated above this (about 10^7 s of one core) are refused with a RangeError: sizes that pass
// the length checks only because another dimension is 0 can still ask for absurd work.
constexpr double kMaxWork = 1.0e18;

class Job {
 public:
  virtual ~Job() = default;
  // Pure C++ on raw pointers; runs on the background runner thread for large jobs. May throw lr::Error.
  virtual void Execute() = 0;
  // Builds the Promise's value on the JS thread after Execute succeeded.
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  // Estimated cost in flops (or bytes touched): decides inline vs background.
  double cost = 0;
  // Threads the job may use (from the engine's setting).
  int threads = 1;
  // Registers a typed-array argument (Args::floats / ints with a job); returns its index. The value is
  // only held by the call's handle scope: a job that runs inline needs no more, and detach() makes a
  // reference for each before a job goes to the background (making and deleting three references was
  // ~0.17 us of a 1.9 us inline call).
  size_t add(void** data, size_t bytes, bool output, const char* name, const Napi::Value& v) {
    args_.push_back({data, bytes, output, name, v, 0, *data});
    return args_.size() - 1;
  }
  void bind(size_t index, void** data) { args_[index].data = data; }
  // Submit, on the JS thread: every registration must end in a member of this job (the object of
  // `size` bytes at `self`) still holding the array it was parsed from. Returns the name of one that
  // does not, or null.
  const char* unbound(const void* self, size_t size) const;
  // Background jobs only (job.cc), on the JS thread before queueing: references every registered array
  // (kept alive while the job runs; outputs are copied back through them) and points each one at
  // a private copy, so that nothing the caller does while the job runs (writing, detaching or
  // transferring a buffer) can reach the job's memory, and values validated at the boundary (sparse
  // indices) stay as validated. Throws OutOfMemory when a copy cannot be allocated.
  void detach();
  // After a background job: copies the outputs back into the caller's arrays. Returns the name of an
  // output that was detached (or changed length) in the meantime, or null.
  const char* attach(Napi::Env env);
  // Environment teardown: the job is dropped without touching JS (its references are left to the
  // environment's own cleanup).
  void abandon() {
    for (auto& r : refs_) r.SuppressDestruct();
  }

 private:
  struct Arg {
    void** data;
    size_t bytes;
    bool output;
    const char* name;
    Napi::Value value;  // valid during the submitting call only
    size_t ref;         // index in refs_ (background jobs, from detach())
    void* parsed;       // the data pointer at parsing (Submit's check)
    void* copy = nullptr;
  };
  std::vector<Napi::ObjectReference> refs_;
  std::vector<Arg> args_;
  std::vector<std::unique_ptr<uint8_t[]>> copies_;
};

inline void JobSlot::bind(void** data) const {
  if (job_) job_->bind(index_, data);
}

inline FloatArray Args::floats(size_t i, const char* name, Job& job) const {
  FloatArray a = floats(i, name);
  a.slot = JobSlot(&job, job.add(&a.data, a.bytes(), a.output, a.name, a.value));
  return a;
}
inline IntArray Args::ints(size_t i, const char* name, Job& job) const {
  IntArray a = ints(i, name);
  a.slot = JobSlot(&job, job.add(reinterpret_cast<void**>(&a.data), a.bytes(), a.output, a.name, a.value));
  return a;
}

// Runs the job (inline or in the background) and returns a Promise for its Result() (job.cc).
Napi::Value submitJob(Napi::Env env, std::unique_ptr<Job> job, const void* self, size_t size);
template <class J>
Napi::Value Submit(Napi::Env env, std::unique_ptr<J> job) {
  const void* self = job.get();
  return submitJob(env, std::move(job), self, sizeof(J));
}

// Dispatch on dtype: calls f.template operator()<float>() or <double>().
template <class F>
auto withDtype(DType d, F&& f) {
  if (d == DType::F32) return f(float{});
  return f(double{});
}

// Registration hooks, one per family file.
void RegisterCore(Napi::Env env,
                  Napi::Object exports);  // info, threads, elementwise (incl. sign), reductions, transpose
void RegisterRng(Napi::Env env, Napi::Object exports);            // philox streams
void RegisterGemm(Napi::Env env, Napi::Object exports);           // gemm
void RegisterFactor(Napi::Env env, Napi::Object exports);         // qr, cholesky, solveTriangular, lstsq, lu
void RegisterEig(Napi::Env env, Napi::Object exports);            // eigh, svd, eigGeneral, eigGeneralComplex
void RegisterSparse(Napi::Env env, Napi::Object exports);         // spmm, sddmm
void RegisterPeak(Napi::Env env, Napi::Object exports);           // peak (FMA throughput probe)
void RegisterBlock(Napi::Env env, Napi::Object exports);          // copy2d, full, scaleAxis, colAbsMax, rowArgmin
void RegisterSsm(Napi::Env env, Napi::Object exports);            // ssmVandermonde, ssmConv, ssmScan
void RegisterGaussianApply(Napi::Env env, Napi::Object exports);  // gaussianApply, gaussianAdjoint
void RegisterFwht(Napi::Env env, Napi::Object exports);           // fwht
void RegisterCompletion(Napi::Env env,
                        Napi::Object exports);  // segmentGram, choleskyBatch, choleskySolveBatch, segmentCG
void RegisterAdamStep(Napi::Env env, Napi::Object exports);      // adamStep
void RegisterFakeQuantize(Napi::Env env, Napi::Object exports);  // fakeQuantize

}  // namespace lr
