// Shared pieces of the addon boundary: error kinds, argument parsing, and the Job/Promise machinery.
//
// Every exported function follows one pattern:
//   1. parse and validate every argument on the JS thread (TypeError / RangeError naming the argument);
//   2. build a Job holding raw pointers plus references that keep the typed arrays alive;
//   3. Submit(job): cheap jobs run inline, jobs above ~1 ms (by their flop estimate) run in an
//      AsyncWorker on the libuv pool. Either way the function returns a Promise.
// Nothing past step 1 may touch N-API, and nothing in step 1 may trust a length or a dimension.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace lr {

enum class DType { F32, F64 };

inline const char* dtypeName(DType d) { return d == DType::F32 ? "f32" : "f64"; }

// An error raised inside a job (off the JS thread). `kind` picks the JS error class at rejection.
struct Error : std::runtime_error {
  enum Kind { Generic, Type, Range };
  Kind kind;
  Error(Kind k, const std::string& msg) : std::runtime_error(msg), kind(k) {}
};
[[noreturn]] inline void throwRange(const std::string& msg) { throw Error(Error::Range, msg); }
[[noreturn]] inline void throwGeneric(const std::string& msg) { throw Error(Error::Generic, msg); }

// ---- argument parsing (JS thread only) -------------------------------------------------------------

[[noreturn]] inline void jsTypeError(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, "lowrank native: " + msg);
}
[[noreturn]] inline void jsRangeError(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, "lowrank native: " + msg);
}

// A float typed array argument (Float32Array or Float64Array).
struct FloatArray {
  DType dtype = DType::F32;
  void* data = nullptr;
  size_t length = 0;
  Napi::Value value;
  template <class T> T* ptr() const { return static_cast<T*>(data); }
};

// An Int32Array argument (sparse indices).
struct IntArray {
  int32_t* data = nullptr;
  size_t length = 0;
  Napi::Value value;
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, size_t count) : info_(info), fn_(fn) {
    if (info.Length() != count)
      jsTypeError(env(), std::string(fn) + ": expected " + std::to_string(count) + " arguments, got " +
                             std::to_string(info.Length()));
  }
  Napi::Env env() const { return info_.Env(); }
  std::string where(const char* name) const { return std::string(fn_) + ": argument '" + name + "'"; }

  FloatArray floats(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsTypedArray()) jsTypeError(env(), where(name) + " must be a Float32Array or Float64Array");
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    FloatArray a;
    napi_typedarray_type t = ta.TypedArrayType();
    if (t == napi_float32_array) a.dtype = DType::F32;
    else if (t == napi_float64_array) a.dtype = DType::F64;
    else jsTypeError(env(), where(name) + " must be a Float32Array or Float64Array");
    a.length = ta.ElementLength();
    a.data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    a.value = v;
    return a;
  }
  IntArray ints(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      jsTypeError(env(), where(name) + " must be an Int32Array");
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    IntArray a;
    a.length = ta.ElementLength();
    a.data = reinterpret_cast<int32_t*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
    a.value = v;
    return a;
  }
  // A non-negative integer dimension below 2^31 (so products fit comfortably in int64).
  int64_t dim(size_t i, const char* name) const {
    double d = number(i, name);
    if (!(d >= 0) || d != static_cast<double>(static_cast<int64_t>(d)) || d > 2147483647.0)
      jsRangeError(env(), where(name) + " must be a non-negative integer below 2^31, got " + Napi::Value(info_[i]).ToString().Utf8Value());
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
      jsRangeError(env(), where(name) + " has length " + std::to_string(a.length) + ", expected " + std::to_string(need));
  }
  void needLength(const IntArray& a, uint64_t need, const char* name) const {
    if (a.length != need)
      jsRangeError(env(), where(name) + " has length " + std::to_string(a.length) + ", expected " + std::to_string(need));
  }
  void sameDtype(const FloatArray& a, const FloatArray& b, const char* an, const char* bn) const {
    if (a.dtype != b.dtype)
      jsTypeError(env(), std::string(fn_) + ": '" + an + "' is " + dtypeName(a.dtype) + " but '" + bn + "' is " + dtypeName(b.dtype));
  }
  void needDtype(const FloatArray& a, DType d, const char* name) const {
    if (a.dtype != d) jsTypeError(env(), where(name) + " must be " + (d == DType::F32 ? "a Float32Array" : "a Float64Array"));
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
  const Napi::CallbackInfo& info_;
  const char* fn_;
};

// ---- jobs ---------------------------------------------------------------------------------------

// Job cost unit: GEMM-flop equivalents, i.e. about 1e5 units per microsecond of one core (GEMM runs
// near 100 GFLOP/s per core). Memory-bound work counts its time, not its flops: an element-wise pass
// is ~kPerElement units per element, factorizations count their flops times kFactorWeight.
// Jobs above kAsyncFlops (~0.5 ms) run in an AsyncWorker; smaller ones run inline on the JS thread,
// using the pool when no background job holds it.
constexpr double kAsyncFlops = 5.0e7;
constexpr double kPerElement = 100.0;
constexpr double kFactorWeight = 3.0;

class Job {
 public:
  virtual ~Job() = default;
  // Pure C++ on raw pointers; runs on a libuv thread for large jobs. May throw lr::Error.
  virtual void Execute() = 0;
  // Builds the Promise's value on the JS thread after Execute succeeded.
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  // Estimated cost in flops (or bytes touched): decides inline vs AsyncWorker.
  double cost = 0;
  // Threads the job may use (from the engine's setting).
  int threads = 1;
  // Keep typed arrays alive while the job is in flight.
  void keep(const Napi::Value& v) { refs_.emplace_back(Napi::Persistent(v.As<Napi::Object>())); }
  void keep(const FloatArray& a) { keep(a.value); }
  void keep(const IntArray& a) { keep(a.value); }

 private:
  std::vector<Napi::ObjectReference> refs_;
};

// Runs the job (inline or in the background) and returns a Promise for its Result().
Napi::Value Submit(Napi::Env env, std::unique_ptr<Job> job);

// Dispatch on dtype: calls f.template operator()<float>() or <double>().
template <class F>
auto withDtype(DType d, F&& f) {
  if (d == DType::F32) return f(float{});
  return f(double{});
}

// Registration hooks, one per family file.
void RegisterCore(Napi::Env env, Napi::Object exports);      // info, threads, elementwise, reductions, transpose
void RegisterRng(Napi::Env env, Napi::Object exports);       // philox streams
void RegisterGemm(Napi::Env env, Napi::Object exports);      // gemm
void RegisterFactor(Napi::Env env, Napi::Object exports);    // qr, cholesky, trsm, lstsq
void RegisterEig(Napi::Env env, Napi::Object exports);       // eigh, svd
void RegisterSparse(Napi::Env env, Napi::Object exports);    // spmm, sddmm
void RegisterPeak(Napi::Env env, Napi::Object exports);      // peak (FMA throughput probe)
void RegisterBlock(Napi::Env env, Napi::Object exports);     // copy2d, full, scaleAxis, colAbsMax
void RegisterLu(Napi::Env env, Napi::Object exports);        // lu (partial pivoting, permute_l form)
void RegisterEigGeneral(Napi::Env env, Napi::Object exports);  // eigGeneral, eigGeneralComplex (non-symmetric, f64)
void RegisterSsm(Napi::Env env, Napi::Object exports);       // ssmVandermonde, ssmConv, ssmScan
void RegisterSensing(Napi::Env env, Napi::Object exports);   // gaussApply, gaussAdjoint, sign
void RegisterCompletion(Napi::Env env, Napi::Object exports); // segGram, cholBatch, cholSolveBatch, segCg

}  // namespace lr
