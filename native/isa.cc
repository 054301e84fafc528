#include "isa.h"

#include <cstdlib>
#include <cstring>

namespace lr {

const CpuFeatures& cpuFeatures() {
  static const CpuFeatures f = [] {
    CpuFeatures c;
#if LR_X86
    __builtin_cpu_init();
    c.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    c.avx512 = c.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
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
