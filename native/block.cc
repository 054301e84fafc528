// Bindings of the block operations copy2d / full / scaleAxis / colAbsMax / rowArgmin (argument checks, a
// Job, the call); the algorithms are plain C++ in block_kernels.cc (block.h), which also states the pivot order.
#include <cmath>
#include <string>

#include "block.h"
#include "common.h"

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
      la::copy2d<T>(src.ptr<T>() + sOff, lds, dst.ptr<T>() + dOff, ldd, rows, cols, threads);
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
      la::full<T>(out.ptr<T>(), value, static_cast<int64_t>(out.length), threads);
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
      la::scaleAxis<T>(out.ptr<T>(), x.ptr<T>(), m, n, s.ptr<double>(), cols, threads);
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

// ---- colAbsMax / rowArgmin: one (index, value) pair per column / per row ----------------------------

enum class Pick { ColAbsMax, RowArgmin };

struct PickJob : Job {
  Pick kind = Pick::ColAbsMax;
  FloatArray x, value;  // value: Float64Array(n) per column / (m) per row
  IntArray index;       // Int32Array, same length
  int64_t m = 0, n = 0;
  void Execute() override {
    withDtype(x.dtype, [&](auto z) {
      using T = decltype(z);
      if (kind == Pick::ColAbsMax)
        la::colAbsMax<T>(x.ptr<T>(), m, n, index.data, value.ptr<double>(), threads);
      else
        la::rowArgmin<T>(x.ptr<T>(), m, n, index.data, value.ptr<double>(), threads);
      return 0;
    });
  }
};

Napi::Value BindPick(const Napi::CallbackInfo& info, const char* name, Pick kind) {
  Args a(info, name, 6);
  auto job = std::make_unique<PickJob>();
  job->kind = kind;
  job->x = a.floats(0, "x", *job);
  job->m = a.dim(1, "m");
  job->n = a.dim(2, "n");
  job->index = a.ints(3, "index", *job);
  job->value = a.floats(4, "value", *job);
  job->threads = a.threads(5);
  const auto len = static_cast<uint64_t>(kind == Pick::ColAbsMax ? job->n : job->m);
  a.needDtype(job->value, DType::F64, "value");
  a.needLength(job->x, static_cast<uint64_t>(job->m) * job->n, "x");
  a.needLength(job->index, len, "index");
  a.needLength(job->value, len, "value");
  a.noAlias(job->value, job->x, "value", "x");
  size_t ibytes = job->index.length * 4;
  if (overlaps(job->index.data, ibytes, job->x.data, bytesOf(job->x)))
    jsRangeError(info.Env(), std::string(name) + ": output 'index' overlaps 'x'");
  if (overlaps(job->index.data, ibytes, job->value.data, bytesOf(job->value)))
    jsRangeError(info.Env(), std::string(name) + ": output 'index' overlaps 'value'");
  job->cost = kPerElement * static_cast<double>(job->x.length);
  return Submit(info.Env(), std::move(job));
}

// colAbsMax(x, m, n, index: Int32Array(n), value: Float64Array(n), threads): per column the row of
// the largest-|.| entry (first on ties, NaN below numbers) and that entry; m = 0 gives -1 and NaN.
Napi::Value ColAbsMax(const Napi::CallbackInfo& info) { return BindPick(info, "colAbsMax", Pick::ColAbsMax); }

// rowArgmin(x, m, n, index: Int32Array(m), value: Float64Array(m), threads): per row the column of the
// smallest entry (first on ties; a NaN wins: the row's first NaN) and that entry; n = 0 gives -1 and NaN.
Napi::Value RowArgmin(const Napi::CallbackInfo& info) { return BindPick(info, "rowArgmin", Pick::RowArgmin); }

}  // namespace

void RegisterBlock(Napi::Env env, Napi::Object exports) {
  exports.Set("copy2d", Napi::Function::New(env, Copy2d, "copy2d"));
  exports.Set("full", Napi::Function::New(env, Full, "full"));
  exports.Set("scaleAxis", Napi::Function::New(env, ScaleAxis, "scaleAxis"));
  exports.Set("colAbsMax", Napi::Function::New(env, ColAbsMax, "colAbsMax"));
  exports.Set("rowArgmin", Napi::Function::New(env, RowArgmin, "rowArgmin"));
}

}  // namespace lr
