// Block operations on dense row-major matrices: strided block copy (slice / concat), constant fill,
// row or column scaling, and the per-column largest-magnitude entry.
//
// Pivot order used here and by LU (lu.cc, wgsl/block.wgsl, wgsl/lu.wgsl): an entry beats another when
// its magnitude is larger, or equal with a smaller row index; NaN loses to every number (and beats
// nothing), so a search always returns a row and an all-NaN column returns its first row.
#include <algorithm>
#include <cmath>
#include <limits>

#include "common.h"
#include "threadpool.h"

namespace lr {
namespace {

// An element offset: an integer in [0, 2^53).
int64_t offsetArg(const Args& a, const Napi::CallbackInfo& info, size_t i, const char* name) {
  double d = a.number(i, name);
  if (!(d >= 0 && d < 9007199254740992.0) || d != std::floor(d))
    jsRangeError(info.Env(), a.where(name) + " must be an integer in [0, 2^53), got " +
                                 Napi::Value(info[i]).ToString().Utf8Value());
  return static_cast<int64_t>(d);
}

// True when the byte ranges of two typed-array arguments overlap.
bool overlaps(const void* a, size_t abytes, const void* b, size_t bbytes) {
  auto* a0 = static_cast<const uint8_t*>(a);
  auto* b0 = static_cast<const uint8_t*>(b);
  return abytes && bbytes && a0 < b0 + bbytes && b0 < a0 + abytes;
}
size_t bytesOf(const FloatArray& x) { return x.length * (x.dtype == DType::F32 ? 4 : 8); }

// ---- copy2d -----------------------------------------------------------------------------------------

struct Copy2dJob : Job {
  FloatArray src, dst;
  int64_t sOff = 0, lds = 0, dOff = 0, ldd = 0, rows = 0, cols = 0;
  void Execute() override {
    if (rows == 0 || cols == 0) return;
    withDtype(src.dtype, [&](auto z) {
      using T = decltype(z);
      const T* s = src.ptr<T>() + sOff;
      T* d = dst.ptr<T>() + dOff;
      if (lds == cols && ldd == cols) {
        // One contiguous range.
        int64_t total = rows * cols;
        parallelRanges(threads, total, 1 << 16, [&](int64_t b, int64_t e, int) {
          std::memcpy(d + b, s + b, sizeof(T) * static_cast<size_t>(e - b));
        });
        return 0;
      }
      int64_t minRows = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(cols, 1));
      parallelRanges(threads, rows, minRows, [&](int64_t b, int64_t e, int) {
        for (int64_t r = b; r < e; ++r) std::memcpy(d + r * ldd, s + r * lds, sizeof(T) * static_cast<size_t>(cols));
      });
      return 0;
    });
  }
};

// copy2d(src, srcOffset, srcStride, dst, dstOffset, dstStride, rows, cols, threads):
//   dst[dstOffset + r * dstStride + c] = src[srcOffset + r * srcStride + c], r < rows, c < cols.
// Both blocks must lie inside their arrays; dst rows may not overlap (dstStride >= cols when rows > 1).
Napi::Value Copy2d(const Napi::CallbackInfo& info) {
  Args a(info, "copy2d", 9);
  auto job = std::make_unique<Copy2dJob>();
  job->src = a.floats(0, "src", *job);
  job->sOff = offsetArg(a, info, 1, "srcOffset");
  job->lds = a.dim(2, "srcStride");
  job->dst = a.floats(3, "dst", *job);
  job->dOff = offsetArg(a, info, 4, "dstOffset");
  job->ldd = a.dim(5, "dstStride");
  job->rows = a.dim(6, "rows");
  job->cols = a.dim(7, "cols");
  job->threads = a.threads(8);
  a.sameDtype(job->src, job->dst, "src", "dst");
  a.noAlias(job->dst, job->src, "dst", "src");
  if (job->rows > 0 && job->cols > 0) {
    auto extent = [&](int64_t off, int64_t ld) {
      return static_cast<uint64_t>(off) + static_cast<uint64_t>(job->rows - 1) * static_cast<uint64_t>(ld) +
             static_cast<uint64_t>(job->cols);
    };
    if (extent(job->sOff, job->lds) > job->src.length)
      jsRangeError(info.Env(), "copy2d: the source block (offset " + std::to_string(job->sOff) + ", stride " +
                                   std::to_string(job->lds) + ", " + std::to_string(job->rows) + " x " +
                                   std::to_string(job->cols) + ") exceeds 'src' (length " +
                                   std::to_string(job->src.length) + ")");
    if (extent(job->dOff, job->ldd) > job->dst.length)
      jsRangeError(info.Env(), "copy2d: the destination block (offset " + std::to_string(job->dOff) + ", stride " +
                                   std::to_string(job->ldd) + ", " + std::to_string(job->rows) + " x " +
                                   std::to_string(job->cols) + ") exceeds 'dst' (length " +
                                   std::to_string(job->dst.length) + ")");
    if (job->rows > 1 && job->ldd < job->cols)
      jsRangeError(info.Env(),
                   a.where("dstStride") + " must be >= cols when rows > 1 (rows of the destination overlap)");
  }
  job->cost = kPerElement * static_cast<double>(job->rows) * static_cast<double>(job->cols);
  return Submit(info.Env(), std::move(job));
}

// ---- full ---------------------------------------------------------------------------------------------

struct FullJob : Job {
  FloatArray out;
  double value = 0;
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      T* o = out.ptr<T>();
      const T v = static_cast<T>(value);
      parallelRanges(threads, static_cast<int64_t>(out.length), 1 << 16,
                     [&](int64_t b, int64_t e, int) { std::fill(o + b, o + e, v); });
      return 0;
    });
  }
};

// full(out, value, threads): every entry of out = value (finite; rounded to out's type).
Napi::Value Full(const Napi::CallbackInfo& info) {
  Args a(info, "full", 3);
  auto job = std::make_unique<FullJob>();
  job->out = a.floats(0, "out", *job);
  job->value = a.finite(1, "value");
  job->threads = a.threads(2);
  job->cost = 0.5 * kPerElement * static_cast<double>(job->out.length);
  return Submit(info.Env(), std::move(job));
}

// ---- scaleAxis ---------------------------------------------------------------------------------------

struct ScaleAxisJob : Job {
  FloatArray out, x, s;  // s: Float64Array
  int64_t m = 0, n = 0;
  bool cols = true;
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      T* o = out.ptr<T>();
      const T* xp = x.ptr<T>();
      const double* sp = s.ptr<double>();
      std::vector<T> sc;
      if (cols) {
        sc.resize(static_cast<size_t>(n));
        for (int64_t j = 0; j < n; ++j) sc[j] = static_cast<T>(sp[j]);
      }
      int64_t minRows = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(n, 1));
      parallelRanges(threads, m, minRows, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) {
          const T* xi = xp + i * n;
          T* oi = o + i * n;
          if (cols) {
            const T* f = sc.data();
            for (int64_t j = 0; j < n; ++j) oi[j] = xi[j] * f[j];
          } else {
            const T f = static_cast<T>(sp[i]);
            for (int64_t j = 0; j < n; ++j) oi[j] = xi[j] * f;
          }
        }
      });
      return 0;
    });
  }
};

// scaleAxis(out, x, m, n, s: Float64Array, cols: boolean, threads):
//   cols: out = x diag(s) (s has n entries); else out = diag(s) x (s has m entries). s is rounded to
//   the type of x before the product.
Napi::Value ScaleAxis(const Napi::CallbackInfo& info) {
  Args a(info, "scaleAxis", 7);
  auto job = std::make_unique<ScaleAxisJob>();
  job->out = a.floats(0, "out", *job);
  job->x = a.floats(1, "x", *job);
  job->m = a.dim(2, "m");
  job->n = a.dim(3, "n");
  job->s = a.floats(4, "s", *job);
  job->cols = a.boolean(5, "cols");
  job->threads = a.threads(6);
  a.sameDtype(job->out, job->x, "out", "x");
  a.needDtype(job->s, DType::F64, "s");
  const uint64_t mn = static_cast<uint64_t>(job->m) * job->n;
  a.needLength(job->x, mn, "x");
  a.needLength(job->out, mn, "out");
  a.needLength(job->s, static_cast<uint64_t>(job->cols ? job->n : job->m), "s");
  a.noAlias(job->out, job->x, "out", "x");
  a.noAlias(job->out, job->s, "out", "s");
  job->cost = kPerElement * static_cast<double>(mn);
  return Submit(info.Env(), std::move(job));
}

// ---- colAbsMax ---------------------------------------------------------------------------------------

// Search key: |x|, NaN below every number (-1), "no entry" below NaN (-2).
inline double absKey(double v) { return std::isnan(v) ? -1.0 : std::fabs(v); }

struct ColAbsMaxJob : Job {
  FloatArray x, value;  // value: Float64Array(n)
  IntArray index;       // Int32Array(n)
  int64_t m = 0, n = 0;
  void Execute() override {
    withDtype(x.dtype, [&](auto z) {
      using T = decltype(z);
      const T* xp = x.ptr<T>();
      // Row chunks, each with its own per-column best; merged in chunk order (first row wins ties).
      constexpr int64_t kChunkElems = 1 << 16;
      int64_t chunkRows = std::max<int64_t>(64, kChunkElems / std::max<int64_t>(n, 1));
      int64_t nchunks = std::max<int64_t>(1, (m + chunkRows - 1) / chunkRows);
      if (nchunks > 4 * static_cast<int64_t>(threads)) {
        // Bounded scratch: at most 4 chunks per thread.
        nchunks = 4 * static_cast<int64_t>(threads);
        chunkRows = (m + nchunks - 1) / nchunks;
        nchunks = std::max<int64_t>(1, (m + chunkRows - 1) / chunkRows);
      }
      std::vector<double> key(static_cast<size_t>(nchunks * n), -2.0);
      std::vector<int64_t> arg(static_cast<size_t>(nchunks * n), -1);
      parallelFor(threads, nchunks, [&](int64_t c, int) {
        int64_t r0 = c * chunkRows, r1 = std::min(m, r0 + chunkRows);
        double* k = key.data() + c * n;
        int64_t* ix = arg.data() + c * n;
        for (int64_t i = r0; i < r1; ++i) {
          const T* row = xp + i * n;
          for (int64_t j = 0; j < n; ++j) {
            double v = absKey(static_cast<double>(row[j]));
            if (v > k[j]) {
              k[j] = v;
              ix[j] = i;
            }
          }
        }
      });
      int32_t* oi = index.data;
      double* ov = value.ptr<double>();
      for (int64_t j = 0; j < n; ++j) {
        double bk = -2.0;
        int64_t bi = -1;
        for (int64_t c = 0; c < nchunks; ++c) {
          if (key[c * n + j] > bk) {
            bk = key[c * n + j];
            bi = arg[c * n + j];
          }
        }
        oi[j] = static_cast<int32_t>(bi);
        ov[j] = bi >= 0 ? static_cast<double>(xp[bi * n + j]) : std::numeric_limits<double>::quiet_NaN();
      }
      return 0;
    });
  }
};

// colAbsMax(x, m, n, index: Int32Array(n), value: Float64Array(n), threads): per column the row of
// the largest-|.| entry (first on ties, NaN below numbers) and that entry; m = 0 gives -1 and NaN.
Napi::Value ColAbsMax(const Napi::CallbackInfo& info) {
  Args a(info, "colAbsMax", 6);
  auto job = std::make_unique<ColAbsMaxJob>();
  job->x = a.floats(0, "x", *job);
  job->m = a.dim(1, "m");
  job->n = a.dim(2, "n");
  job->index = a.ints(3, "index", *job);
  job->value = a.floats(4, "value", *job);
  job->threads = a.threads(5);
  a.needDtype(job->value, DType::F64, "value");
  a.needLength(job->x, static_cast<uint64_t>(job->m) * job->n, "x");
  a.needLength(job->index, static_cast<uint64_t>(job->n), "index");
  a.needLength(job->value, static_cast<uint64_t>(job->n), "value");
  a.noAlias(job->value, job->x, "value", "x");
  size_t ibytes = job->index.length * 4;
  if (overlaps(job->index.data, ibytes, job->x.data, bytesOf(job->x)))
    jsRangeError(info.Env(), "colAbsMax: output 'index' overlaps 'x'");
  if (overlaps(job->index.data, ibytes, job->value.data, bytesOf(job->value)))
    jsRangeError(info.Env(), "colAbsMax: output 'index' overlaps 'value'");
  job->cost = kPerElement * static_cast<double>(job->x.length);
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterBlock(Napi::Env env, Napi::Object exports) {
  exports.Set("copy2d", Napi::Function::New(env, Copy2d, "copy2d"));
  exports.Set("full", Napi::Function::New(env, Full, "full"));
  exports.Set("scaleAxis", Napi::Function::New(env, ScaleAxis, "scaleAxis"));
  exports.Set("colAbsMax", Napi::Function::New(env, ColAbsMax, "colAbsMax"));
}

}  // namespace lr
