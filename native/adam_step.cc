// Binding of the fused Adam moment update adamStep (argument checks, a Job, the call); the algorithm
// is plain C++ in adam_step_kernels.cc (adam_step.h).
#include "adam_step.h"
#include "common.h"

namespace lr {
namespace {

struct AdamStepJob : Job {
  FloatArray mo, vo, no, m, v, g;
  double b1 = 0, b2 = 0, eps = 0, corr = 0;
  void Execute() override {
    withDtype(mo.dtype, [&](auto z) {
      using T = decltype(z);
      la::adamStep<T>(mo.ptr<T>(), vo.ptr<T>(), no.ptr<T>(), m.ptr<T>(), v.ptr<T>(), g.ptr<T>(),
                      static_cast<int64_t>(mo.length), b1, b2, eps, corr, threads);
      return 0;
    });
  }
};

// adamStep(outM, outV, outN, m, v, g, beta1, beta2, eps, corr, threads): outM = b1 m + (1 - b1) g,
// outV = b2 v + (1 - b2) g^2, outN = corr outM / (sqrt(vo) + eps); all arrays of one dtype and length.
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Args a(info, "adamStep", 11);
  auto job = std::make_unique<AdamStepJob>();
  job->mo = a.floats(0, "outM", *job);
  job->vo = a.floats(1, "outV", *job);
  job->no = a.floats(2, "outN", *job);
  job->m = a.floats(3, "m", *job);
  job->v = a.floats(4, "v", *job);
  job->g = a.floats(5, "g", *job);
  job->b1 = a.finite(6, "beta1");
  job->b2 = a.finite(7, "beta2");
  job->eps = a.finite(8, "eps");
  job->corr = a.finite(9, "corr");
  job->threads = a.threads(10);
  const FloatArray* ins[] = {&job->vo, &job->no, &job->m, &job->v, &job->g};
  const char* names[] = {"outV", "outN", "m", "v", "g"};
  for (int i = 0; i < 5; ++i) {
    a.sameDtype(job->mo, *ins[i], "outM", names[i]);
    a.needLength(*ins[i], job->mo.length, names[i]);
  }
  const FloatArray* outs[] = {&job->mo, &job->vo, &job->no};
  const char* onames[] = {"outM", "outV", "outN"};
  for (int o = 0; o < 3; ++o) {
    for (int i = 0; i < 3; ++i) a.noAlias(*outs[o], *ins[2 + i], onames[o], names[2 + i]);
    for (int p = o + 1; p < 3; ++p) a.noAlias(*outs[o], *outs[p], onames[o], onames[p]);
  }
  job->cost = 4.0 * kPerElement * static_cast<double>(job->mo.length);
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterAdamStep(Napi::Env env, Napi::Object exports) {
  exports.Set("adamStep", Napi::Function::New(env, AdamStep, "adamStep"));
}

}  // namespace lr
