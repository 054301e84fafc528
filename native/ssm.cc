// Bindings of the state-space model kernels ssmVandermonde / ssmConv / ssmScan (argument checks, a Job,
// the call); the algorithms are plain C++ in ssm_kernels.cc (ssm.h).
#include <algorithm>
#include <cmath>

#include "common.h"
#include "ssm.h"

namespace lr {
namespace {

struct VandermondeJob : Job {
  FloatArray tab, out;
  int64_t H = 0, N = 0, L = 0;
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      la::ssmVandermonde<T>(tab.ptr<double>(), H, N, L, out.ptr<T>(), threads);
      return 0;
    });
  }
};

// ssmVandermonde(table: Float64Array(H*N*4) rows (wRe, wIm, zRe, zIm), H, N, L, out (H*L), threads).
Napi::Value SsmVandermonde(const Napi::CallbackInfo& info) {
  Args a(info, "ssmVandermonde", 6);
  auto job = std::make_unique<VandermondeJob>();
  job->tab = a.floats(0, "table", *job);
  job->H = a.dim(1, "H");
  job->N = a.dim(2, "N");
  job->L = a.dim(3, "L");
  job->out = a.floats(4, "out", *job);
  job->threads = a.threads(5);
  a.needDtype(job->tab, DType::F64, "table");
  uint64_t H = job->H, N = job->N, L = job->L;
  a.needLength(job->tab, H * N * 4, "table");
  a.needLength(job->out, H * L, "out");
  a.noAlias(job->out, job->tab, "out", "table");
  job->cost = 8.0 * static_cast<double>(H) * N * L;
  return Submit(info.Env(), std::move(job));
}

struct ConvJob : Job {
  FloatArray u, K, D, y;
  int64_t R = 0, H = 0, L = 0;
  bool hasD = false;
  void Execute() override {
    withDtype(u.dtype, [&](auto z) {
      using T = decltype(z);
      la::ssmConv<T>(u.ptr<T>(), K.ptr<T>(), hasD ? D.ptr<double>() : nullptr, R, H, L, y.ptr<T>(), threads);
      return 0;
    });
  }
};

// ssmConv(u (R*L), K (H*L), R, H, L, D: Float64Array(H) or Float64Array(0) for none, y (R*L), threads).
Napi::Value SsmConv(const Napi::CallbackInfo& info) {
  Args a(info, "ssmConv", 8);
  auto job = std::make_unique<ConvJob>();
  job->u = a.floats(0, "u", *job);
  job->K = a.floats(1, "K", *job);
  job->R = a.dim(2, "R");
  job->H = a.dim(3, "H");
  job->L = a.dim(4, "L");
  job->D = a.floats(5, "D", *job);
  job->y = a.floats(6, "y", *job);
  job->threads = a.threads(7);
  a.sameDtype(job->u, job->K, "u", "K");
  a.sameDtype(job->u, job->y, "u", "y");
  a.needDtype(job->D, DType::F64, "D");
  if (job->H == 0 || job->R % job->H != 0)
    jsRangeError(info.Env(), "ssmConv: argument 'R' must be a positive multiple of 'H'");
  uint64_t R = job->R, H = job->H, L = job->L;
  a.needLength(job->u, R * L, "u");
  a.needLength(job->K, H * L, "K");
  job->hasD = job->D.length != 0;
  if (job->hasD) a.needLength(job->D, H, "D");
  a.needLength(job->y, R * L, "y");
  a.noAlias(job->y, job->u, "y", "u");
  a.noAlias(job->y, job->K, "y", "K");
  double n = 2.0 * static_cast<double>(std::max<uint64_t>(L, 1));
  job->cost = 40.0 * static_cast<double>(R) * n * std::log2(n + 1);
  return Submit(info.Env(), std::move(job));
}

struct ScanJob : Job {
  FloatArray u, tab, y;
  int64_t R = 0, H = 0, N = 0, L = 0;
  void Execute() override {
    withDtype(u.dtype, [&](auto z) {
      using T = decltype(z);
      la::ssmScan<T>(u.ptr<T>(), tab.ptr<double>(), R, H, N, L, y.ptr<T>(), threads);
      return 0;
    });
  }
};

// ssmScan(u (R*L), table: Float64Array(H*N*6) rows (aRe, aIm, bRe, bIm, cRe, cIm), R, H, N, L, y, threads).
Napi::Value SsmScan(const Napi::CallbackInfo& info) {
  Args a(info, "ssmScan", 8);
  auto job = std::make_unique<ScanJob>();
  job->u = a.floats(0, "u", *job);
  job->tab = a.floats(1, "table", *job);
  job->R = a.dim(2, "R");
  job->H = a.dim(3, "H");
  job->N = a.dim(4, "N");
  job->L = a.dim(5, "L");
  job->y = a.floats(6, "y", *job);
  job->threads = a.threads(7);
  a.sameDtype(job->u, job->y, "u", "y");
  a.needDtype(job->tab, DType::F64, "table");
  if (job->H == 0 || job->R % job->H != 0)
    jsRangeError(info.Env(), "ssmScan: argument 'R' must be a positive multiple of 'H'");
  uint64_t R = job->R, H = job->H, N = job->N, L = job->L;
  a.needLength(job->u, R * L, "u");
  a.needLength(job->tab, H * N * 6, "table");
  a.needLength(job->y, R * L, "y");
  a.noAlias(job->y, job->u, "y", "u");
  a.noAlias(job->y, job->tab, "y", "table");
  job->cost = 8.0 * static_cast<double>(R) * N * L;
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterSsm(Napi::Env env, Napi::Object exports) {
  exports.Set("ssmVandermonde", Napi::Function::New(env, SsmVandermonde, "ssmVandermonde"));
  exports.Set("ssmConv", Napi::Function::New(env, SsmConv, "ssmConv"));
  exports.Set("ssmScan", Napi::Function::New(env, SsmScan, "ssmScan"));
}

}  // namespace lr
