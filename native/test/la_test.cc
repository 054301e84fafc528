// Plain C++ test of the addon's algorithms, linked without Node (CMake target lowrank_native_test, built
// only with -DLOWRANK_BUILD_NATIVE_TESTS=ON; test/native/cxx.test.ts builds and runs it). Relation checks
// with tolerances scaled by size and unit roundoff, seeded inputs. Prints one line per failed check and
// exits 1 if any failed.
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "csr_check.h"
#include "lapack.h"
#include "sparse.h"

namespace {

using lr::la::idx;
int failures = 0;
int checks = 0;

void expect(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}

template <class T>
std::vector<T> randomMatrix(idx m, idx n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> a(static_cast<size_t>(m * n));
  for (auto& v : a) v = static_cast<T>(dist(gen));
  return a;
}

template <class T>
const char* tname() {
  return sizeof(T) == 4 ? "f32" : "f64";
}

// Cholesky of A = B B^T + n I: L lower with zeros above, ||L L^T - A||_max <= c n u ||A||_max.
template <class T>
void testPotrf(idx n, int threads) {
  const auto B = randomMatrix<T>(n, n, 1000u + static_cast<uint32_t>(n));
  std::vector<T> A(static_cast<size_t>(n * n));
  double amax = 0;
  for (idx i = 0; i < n; ++i)
    for (idx j = 0; j < n; ++j) {
      double s = i == j ? static_cast<double>(n) : 0.0;
      for (idx k = 0; k < n; ++k) s += static_cast<double>(B[i * n + k]) * static_cast<double>(B[j * n + k]);
      A[i * n + j] = static_cast<T>(s);
      amax = std::max(amax, std::fabs(s));
    }
  std::vector<T> L = A;
  const idx info = lr::la::potrf<T>(n, L.data(), n, threads);
  const std::string tag =
      std::string("potrf<") + tname<T>() + "> n=" + std::to_string(n) + " t=" + std::to_string(threads);
  expect(info == 0, tag + ": info " + std::to_string(info));
  bool upperZero = true;
  double err = 0;
  for (idx i = 0; i < n; ++i)
    for (idx j = 0; j < n; ++j) {
      if (j > i && L[i * n + j] != T(0)) upperZero = false;
      double s = 0;
      for (idx k = 0; k <= std::min(i, j); ++k)
        s += static_cast<double>(L[i * n + k]) * static_cast<double>(L[j * n + k]);
      err = std::max(err, std::fabs(s - static_cast<double>(A[i * n + j])));
    }
  expect(upperZero, tag + ": upper triangle not zero");
  const double tol = 8.0 * static_cast<double>(n) * lr::la::unitRoundoff<T>() * amax;
  expect(err <= tol, tag + ": residual " + std::to_string(err) + " > " + std::to_string(tol));
}

// A matrix whose leading minor of order k is not positive: potrf returns k.
template <class T>
void testPotrfIndefinite(idx n, idx k) {
  std::vector<T> A(static_cast<size_t>(n * n), T(0));
  for (idx i = 0; i < n; ++i) A[i * n + i] = T(2);
  A[(k - 1) * n + (k - 1)] = T(-1);
  const idx info = lr::la::potrf<T>(n, A.data(), n, 1);
  expect(info == k, std::string("potrf<") + tname<T>() + "> indefinite n=" + std::to_string(n) + ": info " +
                        std::to_string(info) + " != " + std::to_string(k));
}

// LU, permute_l form: ||PL U - A||_max <= c n u ||A||_max, U upper triangular, |multipliers| <= 1.
template <class T>
void testGetrf(idx m, idx n, int threads, bool rankDeficient) {
  auto A = randomMatrix<T>(m, n, 2000u + static_cast<uint32_t>(m * 31 + n));
  if (rankDeficient && n > 1)
    for (idx i = 0; i < m; ++i) A[i * n + n - 1] = A[i * n];  // repeated column
  std::vector<T> PL(static_cast<size_t>(m * n)), U(static_cast<size_t>(n * n));
  lr::la::getrfPermuteL<T>(m, n, A.data(), PL.data(), U.data(), threads);
  const std::string tag = std::string("getrf<") + tname<T>() + "> " + std::to_string(m) + "x" + std::to_string(n) +
                          " t=" + std::to_string(threads) + (rankDeficient ? " rank-deficient" : "");
  bool upper = true, bounded = true;
  for (idx i = 0; i < n; ++i)
    for (idx j = 0; j < i; ++j)
      if (U[i * n + j] != T(0)) upper = false;
  for (const T v : PL)
    if (!(std::fabs(static_cast<double>(v)) <= 1.0)) bounded = false;
  double err = 0, amax = 0;
  for (idx i = 0; i < m; ++i)
    for (idx j = 0; j < n; ++j) {
      double s = 0;
      for (idx k = 0; k <= j; ++k) s += static_cast<double>(PL[i * n + k]) * static_cast<double>(U[k * n + j]);
      err = std::max(err, std::fabs(s - static_cast<double>(A[i * n + j])));
      amax = std::max(amax, std::fabs(static_cast<double>(A[i * n + j])));
    }
  expect(upper, tag + ": U not upper triangular");
  expect(bounded, tag + ": |PL| > 1");
  const double tol = 8.0 * static_cast<double>(n) * lr::la::unitRoundoff<T>() * amax;
  expect(err <= tol, tag + ": residual " + std::to_string(err) + " > " + std::to_string(tol));
}

void testCsrChecks() {
  const int32_t good[] = {0, 2, 2, 5};
  expect(lr::la::csrPtrProblem(good, 3).empty(), "csr: valid ptr rejected");
  const int32_t zero[] = {0};
  expect(lr::la::csrPtrProblem(zero, 0).empty(), "csr: empty ptr rejected");
  const int32_t start[] = {1, 2};
  expect(lr::la::csrPtrProblem(start, 1) == ": ptr[0] must be 0, got 1", "csr: ptr[0] != 0");
  const int32_t down[] = {0, 3, 2, 4};
  expect(lr::la::csrPtrProblem(down, 3) == " must be non-decreasing: ptr[2] = 2 < ptr[1] = 3",
         "csr: decreasing ptr: " + lr::la::csrPtrProblem(down, 3));
  const int32_t idxOk[] = {0, 4, 4, 1};
  expect(lr::la::csrIdxProblem(idxOk, 4, 5).empty(), "csr: valid idx rejected");
  expect(lr::la::csrIdxProblem(idxOk, 0, 0).empty(), "csr: empty idx rejected");
  expect(lr::la::csrIdxProblem(idxOk, 4, 4) == ": idx[1] = 4 is out of range [0, 4)", "csr: idx == cols");
  const int32_t negative[] = {0, 1, -1};
  expect(lr::la::csrIdxProblem(negative, 3, 2) == ": idx[2] = -1 is out of range [0, 2)", "csr: negative idx");
}

// spmm against a dense product (exact for small integers).
void testSpmm() {
  const int32_t ptr[] = {0, 2, 2, 3};
  const int32_t ix[] = {0, 2, 1};
  const double vals[] = {1, 2, 3};
  const double B[] = {1, 2, 3, 4, 5, 6};  // 3 x 2
  double C[6] = {-7, -7, -7, -7, -7, -7};
  const bool ok = lr::la::spmm<double>(ptr, ix, vals, nullptr, 3, 3, 3, B, 2, C, 1);
  const double want[] = {11, 14, 0, 0, 9, 12};
  bool same = ok;
  for (int q = 0; q < 6; ++q) same = same && C[q] == want[q];
  expect(same, "spmm: 3x3 CSR times 3x2");
}

// Values of an upper bidiagonal B (bdsqrValues): nonnegative, descending, sum of squares = ||B||_F^2 and
// product = prod |d_i| (|det B|; a check of every value to relative accuracy, graded ones included),
// both to c n u relative; d with a zero: a zero value; e = 0: the sorted |d|.
void testBdsqrValues(idx n, double grade, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(0.5, 2.0);
  std::vector<double> d(static_cast<size_t>(n)), e(static_cast<size_t>(std::max<idx>(n - 1, 0)));
  double fro2 = 0, logdet = 0;
  for (idx i = 0; i < n; ++i) {
    d[i] = (i % 2 ? -1 : 1) * dist(gen) * std::pow(grade, static_cast<double>(i));
    fro2 += d[i] * d[i];
    logdet += std::log(std::fabs(d[i]));
  }
  for (idx i = 0; i + 1 < n; ++i) {
    e[i] = dist(gen) * std::pow(grade, static_cast<double>(i));
    fro2 += e[i] * e[i];
  }
  const std::string tag = "bdsqrValues n=" + std::to_string(n) + " grade=" + std::to_string(grade);
  std::vector<double> s = d, w = e;
  const bool ok = lr::la::bdsqrValues(n, s.data(), w.data());
  expect(ok, tag + ": no convergence");
  bool sorted = true;
  double sum2 = 0, logs = 0;
  for (idx i = 0; i < n; ++i) {
    if (!(s[i] >= 0) || (i > 0 && s[i] > s[i - 1])) sorted = false;
    sum2 += s[i] * s[i];
    logs += std::log(s[i]);
  }
  const double u = lr::la::unitRoundoff<double>(), dn = static_cast<double>(n);
  expect(sorted, tag + ": not nonnegative descending");
  expect(std::fabs(sum2 - fro2) <= 20 * dn * u * fro2, tag + ": sum of squares " + std::to_string(sum2 - fro2));
  expect(std::fabs(logs - logdet) <= 200 * dn * u, tag + ": log det off by " + std::to_string(logs - logdet));
  // A zero on the diagonal: B is singular, the smallest value is (numerically) zero.
  if (n > 2) {
    s = d;
    w = e;
    s[n / 2] = 0;
    expect(lr::la::bdsqrValues(n, s.data(), w.data()), tag + " zero d: no convergence");
    expect(s[n - 1] <= 20 * dn * u * s[0], tag + " zero d: smallest " + std::to_string(s[n - 1]));
  }
  // e = 0: the sorted |d|, exactly.
  s = d;
  std::vector<double> z(e.size(), 0.0);
  expect(lr::la::bdsqrValues(n, s.data(), z.data()), tag + " diagonal: no convergence");
  std::vector<double> a(static_cast<size_t>(n));
  for (idx i = 0; i < n; ++i) a[i] = std::fabs(d[i]);
  std::sort(a.begin(), a.end(), [](double x, double y) { return x > y; });
  expect(s == a, tag + " diagonal: not the sorted |d|");
}

// gesvdvals against gesdd's S (both paths: QR first when tall, direct otherwise; wide through A^T):
// |s_i - S_i| <= c max(m, n) u s_1; a non-finite entry gives status 1.
template <class T>
void testGesvdvals(idx m, idx n, int threads) {
  const auto A = randomMatrix<T>(m, n, 3000u + static_cast<uint32_t>(m * 7 + n));
  const idx k = std::min(m, n);
  std::vector<double> S(static_cast<size_t>(k)), R(static_cast<size_t>(k));
  std::vector<T> U(static_cast<size_t>(m * k)), V(static_cast<size_t>(n * k));
  const std::string tag = std::string("gesvdvals<") + tname<T>() + "> " + std::to_string(m) + "x" + std::to_string(n) +
                          " t=" + std::to_string(threads);
  expect(lr::la::gesvdvals<T>(m, n, A.data(), n, S.data(), threads) == 0, tag + ": status");
  lr::la::gesdd<T>(m, n, A.data(), n, U.data(), k, R.data(), V.data(), k, threads);
  double err = 0;
  for (idx i = 0; i < k; ++i) err = std::max(err, std::fabs(S[i] - R[i]));
  const double tol = 10.0 * static_cast<double>(std::max(m, n)) * lr::la::unitRoundoff<T>() * R[0];
  expect(err <= tol, tag + ": |S - gesdd S| " + std::to_string(err) + " > " + std::to_string(tol));
  auto bad = A;
  bad[static_cast<size_t>(m * n / 2)] = std::numeric_limits<T>::quiet_NaN();
  expect(lr::la::gesvdvals<T>(m, n, bad.data(), n, S.data(), threads) == 1, tag + ": NaN not reported");
}

// Two-stage bidiagonalization (band of width b, bulge chasing) keeps the singular values: the values of
// its bidiagonal against gesdd's S, |s_i - S_i| <= c max(m, n) u s_1 (b from 1 to beyond n).
template <class T>
void testTwoStage(idx m, idx n, idx b) {
  const auto A = randomMatrix<T>(m, n, 4000u + static_cast<uint32_t>(m * 13 + n + b));
  std::vector<T> X(static_cast<size_t>(m * n));
  std::vector<double> d(static_cast<size_t>(n)), e(static_cast<size_t>(n));
  for (idx i = 0; i < m; ++i)
    for (idx j = 0; j < n; ++j) X[i + j * m] = A[i * n + j];  // column-major
  lr::la::bidiagonalTwoStage<T>(m, n, X.data(), m, b, d.data(), e.data(), 1);
  std::vector<double> s = d, w = e, S(static_cast<size_t>(n));
  const std::string tag = std::string("bidiagonalTwoStage<") + tname<T>() + "> " + std::to_string(m) + "x" +
                          std::to_string(n) + " b=" + std::to_string(b);
  expect(lr::la::bdsqrValues(n, s.data(), w.data()), tag + ": no convergence");
  std::vector<T> U(static_cast<size_t>(m * n)), V(static_cast<size_t>(n * n));
  lr::la::gesdd<T>(m, n, A.data(), n, U.data(), n, S.data(), V.data(), n, 1);
  double err = 0;
  for (idx i = 0; i < n; ++i) err = std::max(err, std::fabs(s[i] - S[i]));
  const double tol = 10.0 * static_cast<double>(m) * lr::la::unitRoundoff<T>() * S[0];
  expect(err <= tol, tag + ": |s - gesdd S| " + std::to_string(err) + " > " + std::to_string(tol));
}

// Tridiagonal divide and conquer (stedc) on a graded T whose entries fall by `decades` powers of ten from
// the first row to the last (the tail of the tridiagonal of a Gram matrix with a large null space: a
// block of roundoff that reaches the subnormal range in f32 once stedc divides by ||T||): finite values,
// ascending, Z^T Z = I and T Z = Z diag(d) to c n u (||T||). Before the merges were scaled per block, the
// secular equation of the tiny blocks overflowed (w / delta^2) and returned NaN values and vectors.
template <class T>
void testStedcGraded(idx n, double decades, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> d(static_cast<size_t>(n)), e(static_cast<size_t>(n));
  double tmax = 0;
  for (idx i = 0; i < n; ++i) {
    const double g = std::pow(10.0, -decades * static_cast<double>(i) / static_cast<double>(std::max<idx>(n - 1, 1)));
    d[i] = static_cast<T>(dist(gen) * g);
    e[i] = i + 1 < n ? static_cast<T>(dist(gen) * g) : T(0);
    tmax = std::max({tmax, std::fabs(static_cast<double>(d[i])), std::fabs(static_cast<double>(e[i]))});
  }
  std::vector<T> w = d, f = e, Z(static_cast<size_t>(n * n));
  lr::la::stedc<T>(n, w.data(), f.data(), Z.data(), n, 1);
  const std::string tag =
      std::string("stedc<") + tname<T>() + "> graded n=" + std::to_string(n) + " decades=" + std::to_string(decades);
  bool finite = true, sorted = true;
  for (idx i = 0; i < n; ++i) {
    finite = finite && std::isfinite(w[i]);
    if (i > 0 && w[i] < w[i - 1]) sorted = false;
  }
  for (auto z : Z) finite = finite && std::isfinite(z);
  expect(finite, tag + ": non-finite values or vectors");
  expect(sorted, tag + ": values not ascending");
  double orth = 0, res = 0;
  for (idx a = 0; a < n; ++a)
    for (idx b = 0; b < n; ++b) {
      double s = 0;
      for (idx i = 0; i < n; ++i) s += static_cast<double>(Z[i + a * n]) * static_cast<double>(Z[i + b * n]);
      orth = std::max(orth, std::fabs(s - (a == b ? 1.0 : 0.0)));
    }
  for (idx j = 0; j < n; ++j)
    for (idx i = 0; i < n; ++i) {
      double tz = static_cast<double>(d[i]) * static_cast<double>(Z[i + j * n]);
      if (i > 0) tz += static_cast<double>(e[i - 1]) * static_cast<double>(Z[(i - 1) + j * n]);
      if (i + 1 < n) tz += static_cast<double>(e[i]) * static_cast<double>(Z[(i + 1) + j * n]);
      res = std::max(res, std::fabs(tz - static_cast<double>(w[j]) * static_cast<double>(Z[i + j * n])));
    }
  const double u = lr::la::unitRoundoff<T>(), dn = static_cast<double>(n);
  expect(orth <= 20 * dn * u, tag + ": ||Z^T Z - I|| " + std::to_string(orth));
  expect(res <= 20 * dn * u * tmax, tag + ": ||T Z - Z diag(w)|| / ||T|| " + std::to_string(res / tmax));
}

}  // namespace

int main() {
  for (idx n : {1, 2, 7, 127, 257}) {
    testPotrf<double>(n, 1);
    testPotrf<float>(n, 1);
  }
  testPotrf<double>(257, 2);
  testPotrfIndefinite<double>(5, 3);
  testPotrfIndefinite<float>(1, 1);
  for (auto mn : {std::pair<idx, idx>{1, 1}, {2, 2}, {127, 1}, {257, 127}, {300, 64}}) {
    testGetrf<double>(mn.first, mn.second, 1, false);
    testGetrf<float>(mn.first, mn.second, 1, false);
  }
  testGetrf<double>(1000, 40, 2, false);
  testGetrf<double>(200, 30, 1, true);
  testCsrChecks();
  testSpmm();
  for (idx n : {1, 2, 3, 10, 100, 300}) testBdsqrValues(n, 1.0, 40u + static_cast<uint32_t>(n));
  testBdsqrValues(60, 0.7, 41u);  // graded down to ~1e-9
  testBdsqrValues(60, 1.3, 42u);  // graded up
  for (idx n : {1, 2, 3, 40, 200}) {
    testStedcGraded<float>(n, 0.0, 50u + static_cast<uint32_t>(n));
    testStedcGraded<double>(n, 0.0, 50u + static_cast<uint32_t>(n));
  }
  testStedcGraded<float>(200, 40.0, 51u);    // tail below f32's smallest normal relative to ||T||
  testStedcGraded<float>(300, 60.0, 52u);    // tail flushed through the subnormals to exact zeros
  testStedcGraded<double>(300, 310.0, 53u);  // the same in f64
  for (auto mn : {std::pair<idx, idx>{1, 1}, {5, 1}, {1, 5}, {40, 40}, {200, 30}, {30, 200}, {129, 100}}) {
    testGesvdvals<double>(mn.first, mn.second, 1);
    testGesvdvals<float>(mn.first, mn.second, 1);
  }
  testGesvdvals<double>(300, 260, 2);
  for (auto mnb : {std::array<idx, 3>{1, 1, 4},
                   {5, 3, 2},
                   {40, 40, 1},
                   {40, 40, 8},
                   {100, 60, 7},
                   {64, 64, 32},
                   {150, 150, 16},
                   {60, 60, 80},
                   {97, 90, 32}}) {
    testTwoStage<double>(mnb[0], mnb[1], mnb[2]);
    testTwoStage<float>(mnb[0], mnb[1], mnb[2]);
  }
  std::printf("%d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
