// Symmetric eigensolver and SVD. (stubs: to be implemented)
#include "common.h"

namespace lr {
namespace {
Napi::Value NotYet(const Napi::CallbackInfo& info) { jsTypeError(info.Env(), "not implemented yet"); }
}  // namespace

void RegisterEig(Napi::Env env, Napi::Object exports) {
  // eigh(A, n, values: Float64Array(n), V, threads)     descending
  // svd(A, m, n, U, S: Float64Array(k), V, threads)     thin, k = min(m, n), descending
  for (const char* name : {"eigh", "svd"}) exports.Set(name, Napi::Function::New(env, NotYet, name));
}

}  // namespace lr
