/**
 * Host-side (f64) generators of test matrices with known singular values: A = U diag(s) V^T with
 * U, V orthonormal columns from the Philox f64 normal stream. Used by the demo, the tests and the
 * benchmarks; reproducible from the seed on every platform.
 */
import { normalStreamF64 } from '../rng/philox.js';

/** Orthonormalizes the columns of a row-major m x k matrix in place (two passes of modified Gram-Schmidt). */
export function orthonormalizeHost(Q: Float64Array, m: number, k: number): Float64Array {
  for (let pass = 0; pass < 2; pass++)
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < j; i++) {
        let d = 0;
        for (let r = 0; r < m; r++) d += Q[r * k + i] * Q[r * k + j];
        for (let r = 0; r < m; r++) Q[r * k + j] -= d * Q[r * k + i];
      }
      let s = 0;
      for (let r = 0; r < m; r++) s += Q[r * k + j] ** 2;
      s = Math.sqrt(s);
      for (let r = 0; r < m; r++) Q[r * k + j] /= s;
    }
  return Q;
}

/** A random m x k matrix with orthonormal columns (k <= m), from `seed` (Philox stream 7). */
export function randomOrthonormalHost(m: number, k: number, seed: number): Float64Array {
  return orthonormalizeHost(normalStreamF64(m * k, seed, 7), m, k);
}

/** U diag(s) V^T (m x n, row-major) with random orthonormal U (m x r), V (n x r), r = s.length. */
export function withSpectrumHost(
  m: number,
  n: number,
  s: ArrayLike<number>,
  seed: number,
): { A: Float64Array; U: Float64Array; V: Float64Array } {
  const r = s.length;
  const U = randomOrthonormalHost(m, r, seed);
  const V = randomOrthonormalHost(n, r, seed + 1000003);
  const A = new Float64Array(m * n);
  const us = new Float64Array(r);
  for (let i = 0; i < m; i++) {
    for (let t = 0; t < r; t++) us[t] = U[i * r + t] * s[t];
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let t = 0; t < r; t++) acc += us[t] * V[j * r + t];
      A[i * n + j] = acc;
    }
  }
  return { A, U, V };
}
