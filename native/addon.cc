// Module init: every family registers its exports. See common.h for the calling convention.
#include "common.h"

namespace lr {
void RegisterJob(Napi::Env env, Napi::Object exports);  // own, lineOffset (job.cc)
}

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  lr::RegisterCore(env, exports);
  lr::RegisterRng(env, exports);
  lr::RegisterGemm(env, exports);
  lr::RegisterFactor(env, exports);
  lr::RegisterEig(env, exports);
  lr::RegisterSparse(env, exports);
  lr::RegisterPeak(env, exports);
  lr::RegisterBlock(env, exports);
  lr::RegisterSsm(env, exports);
  lr::RegisterGaussianApply(env, exports);
  lr::RegisterFwht(env, exports);
  lr::RegisterCompletion(env, exports);
  lr::RegisterAdamStep(env, exports);
  lr::RegisterFakeQuantize(env, exports);
  lr::RegisterJob(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(lowrank, Init)
