// CSR sparse x dense (SpMM) and sampled dense-dense (SDDMM). (stubs: to be implemented)
#include "common.h"

namespace lr {
namespace {
Napi::Value NotYet(const Napi::CallbackInfo& info) { jsTypeError(info.Env(), "not implemented yet"); }
}  // namespace

void RegisterSparse(Napi::Env env, Napi::Object exports) {
  // spmm(ptr, idx, vals, perm | null, rows, cols, B, p, C, threads)
  // sddmm(ptr, idx, rows, cols, U, V, k, out, threads)
  for (const char* name : {"spmm", "sddmm"}) exports.Set(name, Napi::Function::New(env, NotYet, name));
}

}  // namespace lr
