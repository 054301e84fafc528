// Element-wise ops, transpose, norms and module info.
#include <algorithm>
#include <cmath>

#include "common.h"
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
      T* o = out.ptr<T>();
      const T* xp = x.ptr<T>();
      const T* yp = hasY ? y.ptr<T>() : nullptr;
      T al = static_cast<T>(alpha), be = static_cast<T>(beta);
      parallelRanges(threads, static_cast<int64_t>(out.length), 1 << 16, [&](int64_t b, int64_t e, int) {
        if (yp)
          for (int64_t i = b; i < e; ++i) o[i] = al * xp[i] + be * yp[i];
        else
          for (int64_t i = b; i < e; ++i) o[i] = al * xp[i];
      });
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
      T* o = out.ptr<T>();
      const T *xp = x.ptr<T>(), *yp = y.ptr<T>();
      parallelRanges(threads, static_cast<int64_t>(out.length), 1 << 16, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) o[i] = xp[i] * yp[i];
      });
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
      T* o = out.ptr<T>();
      const T* xp = x.ptr<T>();
      constexpr int64_t B = 32;
      int64_t tilesI = (m + B - 1) / B;
      parallelRanges(threads, tilesI, 4, [&](int64_t t0, int64_t t1, int) {
        for (int64_t ti = t0; ti < t1; ++ti) {
          int64_t i0 = ti * B, i1 = std::min(m, i0 + B);
          for (int64_t j0 = 0; j0 < n; j0 += B) {
            int64_t j1 = std::min(n, j0 + B);
            for (int64_t i = i0; i < i1; ++i)
              for (int64_t j = j0; j < j1; ++j) o[j * m + i] = xp[i * n + j];
          }
        }
      });
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

// Scaled sum of squares (LAPACK lassq style): value = scale^2 * ssq, safe from overflow/underflow.
struct Ssq {
  double scale = 0, ssq = 1;
  void add(double v) {
    double a = std::fabs(v);
    if (a == 0) return;
    if (std::isnan(a) || std::isnan(scale)) {
      scale = std::nan("");
      return;
    }
    if (std::isinf(a) || std::isinf(scale)) {
      scale = HUGE_VAL;
      ssq = 1;
      return;
    }
    if (scale < a) {
      ssq = 1 + ssq * (scale / a) * (scale / a);
      scale = a;
    } else {
      ssq += (a / scale) * (a / scale);
    }
  }
  void merge(const Ssq& o) {
    if (o.scale == 0) return;
    if (std::isnan(o.scale) || std::isnan(scale)) {
      scale = std::nan("");
      return;
    }
    if (std::isinf(o.scale) || std::isinf(scale)) {
      scale = HUGE_VAL;
      ssq = 1;
      return;
    }  // Inf/Inf would give NaN
    if (scale < o.scale) {
      ssq = o.ssq + ssq * (scale / o.scale) * (scale / o.scale);
      scale = o.scale;
    } else {
      ssq += o.ssq * (o.scale / scale) * (o.scale / scale);
    }
  }
  double norm() const { return scale * std::sqrt(ssq); }
};

// Sum of squares of a contiguous run, accumulated in double with a max-abs pre-scale when needed.
template <class T>
Ssq ssqRun(const T* x, int64_t n, int64_t stride) {
  double mx = 0;
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    double a = std::fabs(static_cast<double>(x[i * stride]));
    if (a > mx) mx = a;
    if (a != a) nan = true;
  }
  Ssq s;
  if (nan) {
    s.scale = std::nan("");
    return s;
  }
  if (mx == 0) return s;
  if (std::isinf(mx)) {
    s.scale = mx;
    return s;
  }
  // In double, squares of values in [2^-400, 2^400] are safe; otherwise rescale by mx.
  if (mx < 1e-150 || mx > 1e150) {
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) {
      double v = static_cast<double>(x[i * stride]) / mx;
      acc += v * v;
    }
    s.scale = mx;
    s.ssq = acc;
  } else {
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) {
      double v = static_cast<double>(x[i * stride]);
      acc += v * v;
    }
    s.scale = mx;
    s.ssq = acc / (mx * mx);
  }
  return s;
}

struct NormJob : Job {
  FloatArray x;
  bool fro = true;
  double result = 0;
  void Execute() override {
    withDtype(x.dtype, [&](auto z) {
      using T = decltype(z);
      const T* p = x.ptr<T>();
      int64_t n = static_cast<int64_t>(x.length);
      constexpr int64_t chunk = 1 << 15;
      int64_t nchunks = (n + chunk - 1) / chunk;
      std::vector<Ssq> parts(static_cast<size_t>(std::max<int64_t>(nchunks, 1)));
      std::vector<double> maxes(parts.size(), 0.0);
      parallelFor(threads, nchunks, [&](int64_t c, int) {
        int64_t b = c * chunk, e = std::min(n, b + chunk);
        if (fro) {
          parts[c] = ssqRun(p + b, e - b, 1);
        } else {
          double mx = 0;
          for (int64_t i = b; i < e; ++i) {
            double a = std::fabs(static_cast<double>(p[i]));
            if (a > mx || a != a) mx = a;
            if (mx != mx) break;
          }
          maxes[c] = mx;
        }
      });
      if (fro) {
        Ssq s;
        for (auto& q : parts) s.merge(q);  // fixed order: deterministic
        result = s.norm();
      } else {
        double mx = 0;
        for (double v : maxes) {
          if (v > mx || v != v) mx = v;
          if (mx != mx) break;
        }
        result = mx;
      }
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
      const T* p = x.ptr<T>();
      double* o = out.ptr<double>();
      if (!cols) {
        parallelRanges(threads, m, 64, [&](int64_t b, int64_t e, int) {
          for (int64_t i = b; i < e; ++i) o[i] = ssqRun(p + i * n, n, 1).norm();
        });
      } else {
        // Column norms: stream rows, keeping per-column scaled sums; split columns across threads.
        parallelRanges(threads, n, 64, [&](int64_t b, int64_t e, int) {
          std::vector<double> mx(static_cast<size_t>(e - b), 0.0), acc(static_cast<size_t>(e - b), 0.0);
          for (int64_t i = 0; i < m; ++i) {
            const T* r = p + i * n;
            for (int64_t j = b; j < e; ++j) {
              double a = std::fabs(static_cast<double>(r[j]));
              if (a > mx[j - b] || a != a) mx[j - b] = a;
            }
          }
          for (int64_t i = 0; i < m; ++i) {
            const T* r = p + i * n;
            for (int64_t j = b; j < e; ++j) {
              double s = mx[j - b];
              if (s > 0 && std::isfinite(s)) {
                double v = static_cast<double>(r[j]) / s;
                acc[j - b] += v * v;
              }
            }
          }
          for (int64_t j = b; j < e; ++j) {
            double s = mx[j - b];
            o[j] = (s > 0 && std::isfinite(s)) ? s * std::sqrt(acc[j - b]) : s;
          }
        });
      }
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
      T* o = out.ptr<T>();
      const T* xp = x.ptr<T>();
      parallelRanges(threads, static_cast<int64_t>(out.length), 1 << 16, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) {
          T v = xp[i];
          o[i] = v > T(0) ? T(1) : (v < T(0) ? T(-1) : (v == T(0) ? T(0) : v));
        }
      });
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
