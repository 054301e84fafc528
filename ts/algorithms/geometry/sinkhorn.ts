/**
 * Log-domain Sinkhorn projection onto the doubly-stochastic matrices (MLC's Gamma = P_{Omega,eta}(C^T C)).
 *
 * Gamma = diag(u) K diag(v) with K = exp(M / eta), M a SIMILARITY (larger = more mass; pass -cost for a
 * cost), rows and columns summing to 1. In the log domain with potentials f = log u, g = log v:
 *   f_i <- -LSE_j(M_ij / eta + g_j),  g_j <- -LSE_i(M_ij / eta + f_i)        ('alternating', the spec's kernel)
 * or, for symmetric M, one potential and the damped symmetric update
 *   f_i <- (f_i - LSE_j(M_ij / eta + f_j)) / 2                               ('symmetric': Gamma exactly symmetric)
 *
 * Host / device: the engine has no element-wise exp, so M (n x n) is read to the host once, the iterations
 * run there in f64, and Gamma is uploaded once (no per-iteration transfer). This is meant for MLC's
 * batch-sized n (hundreds to a few thousand): n is limited to 4096 (n^2 f64 on the host).
 */
import { checkInt, checkOneOf, checkOptions, rangeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { checkFiniteMat, checkMat } from '../common.js';
import { checkPositive } from './codingrate.js';

export interface SinkhornOptions {
  /** Entropy (temperature) eta > 0: K = exp(M / eta). Required. */
  eta: number;
  /** Most iterations (default 100; one iteration = a row and a column update). */
  iters?: number;
  /** Stop early when max |row or column sum - 1| <= tol (default 1e-9; 0 runs all `iters`). */
  tol?: number;
  /** 'alternating' (default, any square M) or 'symmetric' (M must be symmetric; Gamma is symmetric). */
  mode?: 'alternating' | 'symmetric';
}

export interface SinkhornResult<D extends DType = DType> {
  /** The n x n doubly-stochastic Gamma (owned by the caller). */
  P: Mat<D>;
  /** Iterations run (0 when the start already met `tol`). */
  iters: number;
  /** max |row or column sum - 1| of the returned Gamma (in f64, before the cast to the engine dtype). */
  marginalError: number;
  /** Log potentials: Gamma_ij = exp(f_i + M_ij / eta + g_j) (g = f in 'symmetric' mode). */
  f: Float64Array;
  g: Float64Array;
}

/** Largest n accepted (n x n f64 on the host). */
export const SINKHORN_MAX_N = 4096;

/** log sum_j exp(a_j + y_j) over the contiguous row a = A[off .. off + n), stable. */
function lse(A: Float64Array, off: number, n: number, y: Float64Array): number {
  let mx = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = A[off + j] + y[j];
    if (v > mx) mx = v;
  }
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(A[off + j] + y[j] - mx);
  return mx + Math.log(s);
}

/**
 * Sinkhorn projection of exp(M / eta) onto the doubly-stochastic matrices, in the log domain.
 *
 * @example
 * ```ts
 * const { P, marginalError } = await sinkhorn(S, { eta: 0.1, iters: 50 });   // S: n x n similarity
 * ```
 */
export async function sinkhorn<D extends DType>(M: Mat<D>, options: SinkhornOptions): Promise<SinkhornResult<D>> {
  const fn = 'sinkhorn';
  checkMat(fn, 'M', M);
  const o = checkOptions<SinkhornOptions>(fn, options, ['eta', 'iters', 'tol', 'mode']);
  if (o.eta === undefined) throw rangeError(fn, `option 'eta' (> 0) is required`);
  const eta = checkPositive(fn, 'eta', o.eta);
  const iters = o.iters === undefined ? 100 : checkInt(fn, 'iters', o.iters, 1, 1e7);
  const tol = o.tol === undefined ? 1e-9 : o.tol === 0 ? 0 : checkPositive(fn, 'tol', o.tol);
  const mode = checkOneOf(fn, 'mode', o.mode, ['alternating', 'symmetric'] as const, 'alternating');
  const n = M.rows;
  if (M.cols !== n) throw rangeError(fn, `'M' must be square, got ${M.rows} x ${M.cols}`);
  if (n > SINKHORN_MAX_N) throw rangeError(fn, `'M' is ${n} x ${n}; the host iterations accept n <= ${SINKHORN_MAX_N}`);
  const eng = M.engine;
  await checkFiniteMat(fn, 'M', M);
  const A = Float64Array.from(await M.toArray());
  for (let i = 0; i < A.length; i++) A[i] /= eta;
  if (mode === 'symmetric') {
    let asym = 0,
      scale = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < i; j++) {
        asym = Math.max(asym, Math.abs(A[i * n + j] - A[j * n + i]));
        scale = Math.max(scale, Math.abs(A[i * n + j]));
      }
    if (asym > 1e-5 * Math.max(scale, 1))
      throw rangeError(fn, `mode 'symmetric' needs a symmetric 'M' (max |M_ij - M_ji| / eta = ${asym.toPrecision(3)})`);
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) A[i * n + j] = A[j * n + i] = 0.5 * (A[i * n + j] + A[j * n + i]);
  }
  const f = new Float64Array(n);
  const g = mode === 'symmetric' ? f : new Float64Array(n);
  // The row sums of the current iterate are exp(f_i + r_i) with r_i = LSE_j(A_ij + g_j), the very
  // numbers the next row update needs: the stopping test costs no extra pass.
  const AT = mode === 'alternating' ? new Float64Array(n * n) : A;
  if (mode === 'alternating') for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) AT[j * n + i] = A[i * n + j];
  const r = new Float64Array(n);
  let it = 0;
  for (;;) {
    for (let i = 0; i < n; i++) r[i] = lse(A, i * n, n, g);
    if (tol > 0) {
      let e = 0;
      for (let i = 0; i < n; i++) e = Math.max(e, Math.abs(Math.exp(f[i] + r[i]) - 1));
      if (e <= tol) break; // columns are exact after a column update (alternating); rows = columns (symmetric)
    }
    if (it === iters) break;
    it++;
    if (mode === 'symmetric') for (let i = 0; i < n; i++) f[i] = 0.5 * (f[i] - r[i]);
    else {
      for (let i = 0; i < n; i++) f[i] = -r[i];
      for (let j = 0; j < n; j++) g[j] = -lse(AT, j * n, n, f);
    }
  }
  const P = new Float64Array(n * n);
  const colSum = new Float64Array(n);
  let err = 0;
  for (let i = 0; i < n; i++) {
    let rs = 0;
    for (let j = 0; j < n; j++) {
      const v = mode === 'symmetric' && j < i ? P[j * n + i] : Math.exp(f[i] + A[i * n + j] + g[j]);
      P[i * n + j] = v;
      rs += v;
      colSum[j] += v;
    }
    err = Math.max(err, Math.abs(rs - 1));
  }
  for (let j = 0; j < n; j++) err = Math.max(err, Math.abs(colSum[j] - 1));
  return { P: eng.matrix(P, n, n), iters: it, marginalError: err, f: Float64Array.from(f), g: Float64Array.from(g) };
}
