// peak(dtype, threads, millis) -> Promise<number>: measured FMA throughput in GFLOP/s.
//
// Each of `threads` pool threads runs a loop of 24 independent FMA chains (enough to cover the FMA
// latency times the number of FMA pipes on current cores) on the widest ISA the CPU supports (ignoring
// LOWRANK_ISA), for about `millis` ms; the result is total flops / wall time. It is the yardstick for
// "% of peak" of the GEMM. Runs as a background job (it holds the pool for the whole interval).
#include "isa.h"
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

#include "common.h"
#include "gemm_internal.h"
#include "threadpool.h"

#if LR_X86
#define LR_PEAK_X86 1
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace lr {
namespace {

// Chains per thread. Each loop body issues kChains FMAs; the flop count per iteration is
// 2 * kChains * lanes.
constexpr int kChains = 24;

// Every kernel: run `iters` iterations and store a value that depends on all chains into a volatile
// (a side effect, so the compiler can neither drop the loop nor hoist repeated calls to a "const"
// function out of the timing loop). The multiplier is just below 1 and the addend tiny, so values
// stay finite.
volatile double g_sink = 0;
#if LR_PEAK_X86

LR_TARGET_AVX512_BEGIN
namespace avx512 {
template <class T>
double loop(int64_t iters);
template <>
double loop<float>(int64_t iters) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1.0f + 1e-3f * i);
  const __m512 a = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
    LR_GK_UNROLL
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  g_sink = out[0];
  return out[0];
}
template <>
double loop<double>(int64_t iters) {
  __m512d acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_pd(1.0 + 1e-3 * i);
  const __m512d a = _mm512_set1_pd(0.9999999), b = _mm512_set1_pd(1e-7);
  for (int64_t it = 0; it < iters; ++it) {
    LR_GK_UNROLL
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_pd(acc[i], a, b);
  }
  __m512d s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_pd(s, acc[i]);
  double out[8];
  _mm512_storeu_pd(out, s);
  g_sink = out[0];
  return out[0];
}
}  // namespace avx512
LR_TARGET_END

LR_TARGET_AVX2_BEGIN
namespace avx2 {
// 16 ymm registers: 12 chains plus the two constants.
constexpr int kChains2 = 12;
template <class T>
double loop(int64_t iters);
template <>
double loop<float>(int64_t iters) {
  __m256 acc[kChains2];
  for (int i = 0; i < kChains2; ++i) acc[i] = _mm256_set1_ps(1.0f + 1e-3f * i);
  const __m256 a = _mm256_set1_ps(0.9999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < 2 * iters; ++it) {
    LR_GK_UNROLL
    for (int i = 0; i < kChains2; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < kChains2; ++i) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  g_sink = out[0];
  return out[0];
}
template <>
double loop<double>(int64_t iters) {
  __m256d acc[kChains2];
  for (int i = 0; i < kChains2; ++i) acc[i] = _mm256_set1_pd(1.0 + 1e-3 * i);
  const __m256d a = _mm256_set1_pd(0.9999999), b = _mm256_set1_pd(1e-7);
  for (int64_t it = 0; it < 2 * iters; ++it) {
    LR_GK_UNROLL
    for (int i = 0; i < kChains2; ++i) acc[i] = _mm256_fmadd_pd(acc[i], a, b);
  }
  __m256d s = acc[0];
  for (int i = 1; i < kChains2; ++i) s = _mm256_add_pd(s, acc[i]);
  double out[4];
  _mm256_storeu_pd(out, s);
  g_sink = out[0];
  return out[0];
}
}  // namespace avx2
LR_TARGET_END

#elif defined(__aarch64__)
namespace neon {
template <class T>
double loop(int64_t iters);
template <>
double loop<float>(int64_t iters) {
  float32x4_t acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = vdupq_n_f32(1.0f + 1e-3f * i);
  const float32x4_t a = vdupq_n_f32(0.9999999f), b = vdupq_n_f32(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
    LR_GK_UNROLL
    for (int i = 0; i < kChains; ++i) acc[i] = vfmaq_f32(b, acc[i], a);
  }
  float32x4_t s = acc[0];
  for (int i = 1; i < kChains; ++i) s = vaddq_f32(s, acc[i]);
  g_sink = vgetq_lane_f32(s, 0);
  return g_sink;
}
template <>
double loop<double>(int64_t iters) {
  float64x2_t acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = vdupq_n_f64(1.0 + 1e-3 * i);
  const float64x2_t a = vdupq_n_f64(0.9999999), b = vdupq_n_f64(1e-7);
  for (int64_t it = 0; it < iters; ++it) {
    LR_GK_UNROLL
    for (int i = 0; i < kChains; ++i) acc[i] = vfmaq_f64(b, acc[i], a);
  }
  float64x2_t s = acc[0];
  for (int i = 1; i < kChains; ++i) s = vaddq_f64(s, acc[i]);
  g_sink = vgetq_lane_f64(s, 0);
  return g_sink;
}
}  // namespace neon
#endif

// Portable fallback: 24 scalar chains of unfused multiply-adds (2 flops each).
template <class T>
double scalarLoop(int64_t iters) {
  T acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = T(1) + T(1e-3) * T(i);
  const T a = T(0.9999999), b = T(1e-7);
  for (int64_t it = 0; it < iters; ++it) {
    LR_GK_UNROLL
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * a + b;
  }
  T s = 0;
  for (int i = 0; i < kChains; ++i) s += acc[i];
  g_sink = static_cast<double>(s);
  return g_sink;
}

// Loop function and flops per iteration for the widest ISA of this CPU.
template <class T>
void pickLoop(double (**fn)(int64_t), double* flopsPerIter) {
  const std::string isa = gk::hardwareIsa();
#if LR_PEAK_X86
  if (isa == "avx512") {
    *fn = &avx512::loop<T>;
    *flopsPerIter = 2.0 * kChains * (64 / sizeof(T));
    return;
  }
  if (isa == "avx2") {
    *fn = &avx2::loop<T>;
    *flopsPerIter = 2.0 * 2 * avx2::kChains2 * (32 / sizeof(T));
    return;
  }
#elif defined(__aarch64__)
  if (isa == "neon") {
    *fn = &neon::loop<T>;
    *flopsPerIter = 2.0 * kChains * (16 / sizeof(T));
    return;
  }
#endif
  *fn = &scalarLoop<T>;
  *flopsPerIter = 2.0 * kChains;
}

struct PeakJob : Job {
  DType dtype = DType::F32;
  double millis = 100;
  double gflops = 0;
  void Execute() override {
    double (*fn)(int64_t) = nullptr;
    double perIter = 0;
    if (dtype == DType::F32)
      pickLoop<float>(&fn, &perIter);
    else
      pickLoop<double>(&fn, &perIter);
    const int nt = threads < ThreadPool::get().maxThreads() ? threads : ThreadPool::get().maxThreads();
    constexpr int64_t kChunk = 20000;  // iterations between clock reads (tens of microseconds)
    std::atomic<int64_t> totalIters{0};
    std::atomic<uint64_t> sink{0};
    const auto t0 = std::chrono::steady_clock::now();
    const auto deadline = t0 + std::chrono::duration<double, std::milli>(millis);
    ThreadPool::get().run(nt, [&](int) {
      int64_t iters = 0;
      double acc = 0;
      fn(kChunk / 10);  // warm-up (frequency ramp, page-in)
      do {
        acc += fn(kChunk);
        iters += kChunk;
      } while (std::chrono::steady_clock::now() < deadline);
      totalIters.fetch_add(iters);
      uint64_t bits;
      std::memcpy(&bits, &acc, sizeof bits);
      sink.fetch_xor(bits);
    });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    gflops = static_cast<double>(totalIters.load()) * perIter / secs / 1e9;
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, gflops); }
};

// peak(dtype: 'f32' | 'f64', threads, millis) -> Promise<number> (GFLOP/s)
Napi::Value Peak(const Napi::CallbackInfo& info) {
  Args a(info, "peak", 3);
  auto job = std::make_unique<PeakJob>();
  const std::string dt = a.string(0, "dtype");
  if (dt == "f32")
    job->dtype = DType::F32;
  else if (dt == "f64")
    job->dtype = DType::F64;
  else
    jsRangeError(a.env(), a.where("dtype") + " must be 'f32' or 'f64'");
  job->threads = a.threads(1);
  job->millis = a.finite(2, "millis");
  if (!(job->millis > 0 && job->millis <= 60000)) jsRangeError(a.env(), a.where("millis") + " must be in (0, 60000]");
  job->cost = 1e15;  // always in the background: it keeps the pool busy for `millis`
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterPeak(Napi::Env env, Napi::Object exports) { exports.Set("peak", Napi::Function::New(env, Peak, "peak")); }

}  // namespace lr
