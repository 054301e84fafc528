// Non-symmetric eigendecompositions (f64; eig_general.cc), plain C++. Row-major n x n input; values in
// (wr, wi), unit-2-norm complex eigenvector columns in (vr, vi) (row-major n x n). The input must be
// finite; false when the QR iteration did not converge.
#pragma once

#include <cstdint>

namespace lr {
namespace la {

// Real A: Hessenberg reduction, Francis double-shift QR to the real Schur form, back-substitution.
bool eigGeneral(int64_t n, const double* A, double* wr, double* wi, double* vr, double* vi);

// Complex A = Are + i Aim: Hessenberg reduction, single-shift complex QR, back-substitution.
bool eigGeneralComplex(int64_t n, const double* Are, const double* Aim, double* wr, double* wi, double* vr, double* vi);

}  // namespace la
}  // namespace lr
