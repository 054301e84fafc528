#include "isa.h"

#include <cstdlib>
#include <cstring>

#if LR_X86
#include <cpuid.h>
#endif

namespace lr {

const CpuFeatures& cpuFeatures() {
  static const CpuFeatures f = [] {
    CpuFeatures c;
#if LR_X86
    __builtin_cpu_init();
    c.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    c.avx512 = c.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
    unsigned a = 0, b = 0, cx = 0, d = 0;
    if (c.avx512 && __get_cpuid(0, &a, &b, &cx, &d) && b == 0x68747541u && d == 0x69746e65u && cx == 0x444d4163u &&
        __get_cpuid(1, &a, &b, &cx, &d)) {  // "AuthenticAMD"
      const unsigned base = (a >> 8) & 0xFu, family = base == 0xFu ? base + ((a >> 20) & 0xFFu) : base;
      c.zen4 = family == 0x19u;
    }
#elif defined(__aarch64__)
    c.neon = true;
#endif
    return c;
  }();
  return f;
}

Isa hardwareIsa() {
  const CpuFeatures& c = cpuFeatures();
  if (c.avx512) return Isa::Avx512;
  if (c.avx2) return Isa::Avx2;
  if (c.neon) return Isa::Neon;
  return Isa::Scalar;
}

Isa kernelIsa() {
  static const Isa isa = [] {
    Isa hw = hardwareIsa();
    const char* e = std::getenv("LOWRANK_ISA");
    if (!e) return hw;
    if (strcasecmp(e, "scalar") == 0) return Isa::Scalar;
    if (strcasecmp(e, "avx2") == 0 && hw == Isa::Avx512) return Isa::Avx2;
    return hw;
  }();
  return isa;
}

const char* isaString(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    case Isa::Neon:
      return "neon";
    default:
      return "scalar";
  }
}

}  // namespace lr
