// Factorizations: qr, cholesky, trsm, lstsq. (stubs: to be implemented)
#include "common.h"

namespace lr {
namespace {
Napi::Value NotYet(const Napi::CallbackInfo& info) { jsTypeError(info.Env(), "not implemented yet"); }
}  // namespace

void RegisterFactor(Napi::Env env, Napi::Object exports) {
  // qr(A, m, n, Q, R, threads)                          thin QR, m >= n
  // cholesky(A, n, L, threads)                          RangeError if not positive definite
  // trsm(T, n, B, nrhs, lower, trans, X, threads)       op(T) X = B
  // lstsq(A, m, n, B, nrhs, X, threads) -> { rank }
  for (const char* name : {"qr", "cholesky", "trsm", "lstsq"}) exports.Set(name, Napi::Function::New(env, NotYet, name));
}

}  // namespace lr
