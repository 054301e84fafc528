// CPU feature detection and ISA target regions, shared by every family with per-ISA kernels (GEMM,
// BLAS-2, sparse, the peak probe).
//
// Kernels for an ISA are compiled in ordinary translation units built with the portable baseline
// flags, inside a target region:
//   LR_TARGET_AVX2_BEGIN ... LR_TARGET_END     (or LR_TARGET_AVX512_BEGIN)
// so no file needs -mavx512f (whose inline/template instantiations could leak into baseline code and
// crash older CPUs), and nothing is built with -march=native. Every function a kernel calls must sit
// inside the same region or be an always_inline template defined there.
#pragma once

namespace lr {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2, Neon = 3 };

struct CpuFeatures {
  bool avx2 = false;    // AVX2 + FMA
  bool avx512 = false;  // AVX-512 F, VL, DQ, BW (plus AVX2 + FMA)
  bool neon = false;    // aarch64 Advanced SIMD (baseline there)
  bool zen4 = false;    // AMD family 19h with AVX-512, i.e. Zen 4 (512-bit ops on 256-bit units)
};

// What this CPU supports (detected once). libgcc reports the AVX-512 bits only when the OS saves the
// ZMM state (XCR0), so no separate xgetbv check is needed.
const CpuFeatures& cpuFeatures();

// The best ISA of this CPU.
Isa hardwareIsa();

// The ISA kernels should use: the hardware's, lowered by LOWRANK_ISA=avx2|scalar (read once), so the
// lower paths can be tested on a machine that has the higher ones.
Isa kernelIsa();

// "avx512", "avx2", "neon" or "scalar".
const char* isaString(Isa isa);

}  // namespace lr

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define LR_X86 1
#if defined(__clang__)
#define LR_TARGET_AVX2_BEGIN _Pragma("clang attribute push(__attribute__((target(\"avx2,fma\"))), apply_to = function)")
#define LR_TARGET_AVX512_BEGIN                                                                                     \
  _Pragma(                                                                                                         \
      "clang attribute push(__attribute__((target(\"avx512f,avx512vl,avx512dq,avx512bw,avx2,fma\"))), apply_to = " \
      "function)")
#define LR_TARGET_END _Pragma("clang attribute pop")
#else
#define LR_TARGET_AVX2_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma\")")
#define LR_TARGET_AVX512_BEGIN \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512vl,avx512dq,avx512bw,avx2,fma\")")
#define LR_TARGET_END _Pragma("GCC pop_options")
#endif
#else
#define LR_X86 0
#endif
