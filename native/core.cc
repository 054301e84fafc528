// Bindings of the element-wise ops, transpose, norms (argument checks, a Job, the call) and module info;
// the algorithms are plain C++ in core_kernels.cc (core.h).
#include "common.h"
#include "core.h"
#include "gemm.h"
#include "threadpool.h"

namespace lr {
namespace {

// ---- info -------------------------------------------------------------------------------------------

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("threads", ThreadPool::get().maxThreads());
  o.Set("isa", isaName());
  o.Set("gemmKernel", gemmKernelName());
  o.Set("napiVersion", NAPI_VERSION);
  return o;
}

// ---- element-wise -----------------------------------------------------------------------------------

struct AxpbyJob : Job {
  FloatArray out, x, y;  // y may be absent (length 0 and hasY false)
  bool hasY = false;
  double alpha = 1, beta = 0;
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      la::axpby<T>(out.ptr<T>(), alpha, x.ptr<T>(), beta, hasY ? y.ptr<T>() : nullptr, static_cast<int64_t>(out.length),
                   threads);
      return 0;
    });
  }
};

// axpby(out, alpha, x, beta, y | null, threads): out = alpha x + beta y (or alpha x).
Napi::Value Axpby(const Napi::CallbackInfo& info) {
  Args a(info, "axpby", 6);
  auto job = std::make_unique<AxpbyJob>();
  job->out = a.floats(0, "out", *job);
  job->alpha = a.finite(1, "alpha");
  job->x = a.floats(2, "x", *job);
  job->beta = a.finite(3, "beta");
  job->hasY = !info[4].IsNull();
  if (job->hasY) {
    job->y = a.floats(4, "y", *job);
    a.sameDtype(job->out, job->y, "out", "y");
    a.needLength(job->y, job->out.length, "y");
  }
  job->threads = a.threads(5);
  a.sameDtype(job->out, job->x, "out", "x");
  a.needLength(job->x, job->out.length, "x");
  job->cost = kPerElement * job->out.length;
  return Submit(info.Env(), std::move(job));
}

struct HadamardJob : Job {
  FloatArray out, x, y;
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      la::hadamard<T>(out.ptr<T>(), x.ptr<T>(), y.ptr<T>(), static_cast<int64_t>(out.length), threads);
      return 0;
    });
  }
};

Napi::Value Hadamard(const Napi::CallbackInfo& info) {
  Args a(info, "hadamard", 4);
  auto job = std::make_unique<HadamardJob>();
  job->out = a.floats(0, "out", *job);
  job->x = a.floats(1, "x", *job);
  job->y = a.floats(2, "y", *job);
  job->threads = a.threads(3);
  a.sameDtype(job->out, job->x, "out", "x");
  a.sameDtype(job->out, job->y, "out", "y");
  a.needLength(job->x, job->out.length, "x");
  a.needLength(job->y, job->out.length, "y");
  job->cost = kPerElement * job->out.length;
  return Submit(info.Env(), std::move(job));
}

// ---- transpose ----------------------------------------------------------------------------------------

struct TransposeJob : Job {
  FloatArray out, x;
  int64_t m, n;  // x is m x n, out is n x m
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      la::transpose<T>(out.ptr<T>(), x.ptr<T>(), m, n, threads);
      return 0;
    });
  }
};

Napi::Value Transpose(const Napi::CallbackInfo& info) {
  Args a(info, "transpose", 5);
  auto job = std::make_unique<TransposeJob>();
  job->out = a.floats(0, "out", *job);
  job->x = a.floats(1, "x", *job);
  job->m = a.dim(2, "m");
  job->n = a.dim(3, "n");
  job->threads = a.threads(4);
  a.sameDtype(job->out, job->x, "out", "x");
  a.needLength(job->x, static_cast<uint64_t>(job->m) * job->n, "x");
  a.needLength(job->out, static_cast<uint64_t>(job->m) * job->n, "out");
  a.noAlias(job->out, job->x, "out", "x");
  job->cost = 1.5 * kPerElement * job->out.length;
  return Submit(info.Env(), std::move(job));
}

// ---- norms ---------------------------------------------------------------------------------------------

struct NormJob : Job {
  FloatArray x;
  bool fro = true;
  double result = 0;
  void Execute() override {
    withDtype(x.dtype, [&](auto z) {
      using T = decltype(z);
      result = la::norm<T>(x.ptr<T>(), static_cast<int64_t>(x.length), fro, threads);
      return 0;
    });
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, result); }
};

// norm(x, kind: 'fro' | 'max', threads) -> Promise<number>
Napi::Value Norm(const Napi::CallbackInfo& info) {
  Args a(info, "norm", 3);
  auto job = std::make_unique<NormJob>();
  job->x = a.floats(0, "x", *job);
  std::string kind = a.string(1, "kind");
  if (kind != "fro" && kind != "max") jsRangeError(a.env(), a.where("kind") + " must be 'fro' or 'max'");
  job->fro = kind == "fro";
  job->threads = a.threads(2);
  job->cost = kPerElement * job->x.length;
  return Submit(info.Env(), std::move(job));
}

struct AxisNormsJob : Job {
  FloatArray x, out;  // out is Float64Array
  int64_t m, n;
  bool cols;
  void Execute() override {
    withDtype(x.dtype, [&](auto z) {
      using T = decltype(z);
      la::axisNorms<T>(x.ptr<T>(), m, n, cols, out.ptr<double>(), threads);
      return 0;
    });
  }
};

// colNorms(x, m, n, out: Float64Array(n), threads) / rowNorms(x, m, n, out: Float64Array(m), threads)
Napi::Value AxisNorms(const Napi::CallbackInfo& info, bool cols) {
  const char* fn = cols ? "colNorms" : "rowNorms";
  Args a(info, fn, 5);
  auto job = std::make_unique<AxisNormsJob>();
  job->x = a.floats(0, "x", *job);
  job->m = a.dim(1, "m");
  job->n = a.dim(2, "n");
  job->out = a.floats(3, "out", *job);
  job->threads = a.threads(4);
  job->cols = cols;
  a.needDtype(job->out, DType::F64, "out");
  a.needLength(job->x, static_cast<uint64_t>(job->m) * job->n, "x");
  a.needLength(job->out, static_cast<uint64_t>(cols ? job->n : job->m), "out");
  a.noAlias(job->out, job->x, "out", "x");
  job->cost = 2.0 * kPerElement * job->x.length;
  return Submit(info.Env(), std::move(job));
}

// sign(out, x, threads): out[i] = 1 (x > 0), -1 (x < 0), 0 (x = 0), NaN (x NaN).
struct SignJob : Job {
  FloatArray out, x;
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      la::sign<T>(out.ptr<T>(), x.ptr<T>(), static_cast<int64_t>(out.length), threads);
      return 0;
    });
  }
};

Napi::Value Sign(const Napi::CallbackInfo& info) {
  Args a(info, "sign", 3);
  auto job = std::make_unique<SignJob>();
  job->out = a.floats(0, "out", *job);
  job->x = a.floats(1, "x", *job);
  job->threads = a.threads(2);
  a.sameDtype(job->out, job->x, "out", "x");
  a.needLength(job->x, job->out.length, "x");
  job->cost = kPerElement * job->out.length;
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterCore(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("axpby", Napi::Function::New(env, Axpby, "axpby"));
  exports.Set("hadamard", Napi::Function::New(env, Hadamard, "hadamard"));
  exports.Set("transpose", Napi::Function::New(env, Transpose, "transpose"));
  exports.Set("norm", Napi::Function::New(env, Norm, "norm"));
  exports.Set("colNorms", Napi::Function::New(
                              env, [](const Napi::CallbackInfo& i) { return AxisNorms(i, true); }, "colNorms"));
  exports.Set("rowNorms", Napi::Function::New(
                              env, [](const Napi::CallbackInfo& i) { return AxisNorms(i, false); }, "rowNorms"));
  exports.Set("sign", Napi::Function::New(env, Sign, "sign"));
}

}  // namespace lr
