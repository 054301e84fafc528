/**
 * Row scores for l_p subspace sampling: leverage scores, l_p Lewis weights (Cohen-Peng fixed point) and
 * l_p sensitivities (upper bounds from Lewis weights or leverage, or exact by n small regressions).
 * Spec: completion-subgm-sampling.md part C.
 *
 * The large work of each step runs on A's engine: the scaled matrix diag(s) A, its thin SVD (a QR of the
 * tall n x d matrix on the device; the small d x d SVD follows the engine's host rule), and the row norms
 * of the leading left singular vectors. What comes back to the host per step is one n-vector (the
 * leverage scores), on which the fixed-point update is a few flops per row; the next scaling goes back
 * with `scaleRows`. No n x d data crosses.
 */
import type { Engine } from '../../engine.js';
import { checkBool, checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { cholQRPass, unitRoundoff } from '../common.js';
import { irlsHost, sumAbsPow } from './host.js';

/** Validates an exponent p: finite and > 0 (`min` raises the floor, e.g. 1 for regression). */
export function checkP(fn: string, p: unknown, min = 0, inclusive = false): number {
  if (p === undefined) throw typeError(fn, `'p' is required`);
  if (typeof p !== 'number' || Number.isNaN(p)) throw typeError(fn, `'p' must be a number, got ${String(p)}`);
  if (!Number.isFinite(p)) throw rangeError(fn, `'p' = ${p} is not supported: p must be finite (l_inf has no sensitivity sampling)`);
  if (inclusive ? p < min : p <= min) throw rangeError(fn, `'p' = ${p} must be ${inclusive ? '>=' : '>'} ${min}`);
  return p;
}

export function checkMat<D extends DType>(fn: string, name: string, A: unknown): Mat<D> {
  if (!(A instanceof Mat)) throw typeError(fn, `'${name}' must be a Mat (a dense n x d matrix of an engine)`);
  (A as Mat<D>).engine._mats(fn, { [name]: A });
  return A as Mat<D>;
}

/**
 * Tall, well-conditioned A (kappa^2 u <= 1e-4): an orthonormal basis of range(A) from the Gram matrix,
 * Q1 = A V diag(lambda)^(-1/2) (G = A^T A = V diag(lambda) V^T), refined once as in CholeskyQR2
 * (Q = Q1 L^-T, L L^T = Q1^T Q1), so Q is orthonormal to about u: five streaming passes over A instead of
 * a Householder QR. Returns null when A is not that well conditioned (the caller takes the SVD route).
 */
async function gramBasis<D extends DType>(eng: Engine<D>, A: Mat<D>): Promise<Mat<D> | null> {
  const d = A.cols;
  const G = await eng.matmul(A, A, { transA: true });
  const { values, vectors } = await eng.eigh(G);
  G.dispose();
  const lmax = values[0],
    lmin = values[d - 1];
  if (!(lmax > 0) || !(lmin >= (lmax * unitRoundoff(eng.dtype)) / 1e-4) || !values.every(Number.isFinite)) {
    vectors.dispose();
    return null;
  }
  const Vs = await eng.scaleColumns(
    vectors,
    Float64Array.from(values, (l) => 1 / Math.sqrt(l)),
  );
  vectors.dispose();
  const Q1 = await eng.matmul(A, Vs);
  Vs.dispose();
  const Q = await cholQRPass(eng, Q1);
  Q1.dispose();
  return Q;
}

/**
 * Leverage scores tau_i = ||U_r[i, :]||^2 of an orthonormal basis of the numerical range of A, and its
 * rank r: from the Gram route above for tall well-conditioned A (rank d), else from the thin SVD,
 * keeping the singular values above max(n, d) u sigma_1 (rank-deficient A sums to its rank).
 */
export async function leverageWithRank<D extends DType>(eng: Engine<D>, A: Mat<D>): Promise<{ tau: Float64Array; rank: number }> {
  const n = A.rows;
  if (n >= 4 * A.cols) {
    const Q = await gramBasis(eng, A);
    if (Q) {
      const norms = await eng.rowNorms(Q);
      Q.dispose();
      return { tau: Float64Array.from(norms, (x) => Math.min(1, x * x)), rank: A.cols };
    }
  }
  const { U, S, V } = await eng.svd(A);
  V.dispose();
  try {
    const cutoff = Math.max(A.rows, A.cols) * unitRoundoff(eng.dtype) * (S[0] ?? 0);
    let r = 0;
    while (r < S.length && S[r] > cutoff && S[r] > 0) r++;
    if (r === 0) return { tau: new Float64Array(n), rank: 0 };
    const Ur = r === U.cols ? U : await eng.slice(U, { cols: [0, r] });
    const norms = await eng.rowNorms(Ur);
    if (Ur !== U) Ur.dispose();
    const tau = Float64Array.from(norms, (x) => Math.min(1, x * x));
    return { tau, rank: r };
  } finally {
    U.dispose();
  }
}

/**
 * Leverage scores of the rows of A (n x d): tau_i = a_i^T (A^T A)^+ a_i, in [0, 1], summing to rank(A)
 * (numerical rank: singular values above max(n, d) u sigma_1).
 *
 * @example
 * ```ts
 * const tau = await leverageScores(A);   // Float64Array(n)
 * ```
 */
export async function leverageScores<D extends DType>(A: Mat<D>): Promise<Float64Array> {
  const fn = 'leverageScores';
  const M = checkMat<D>(fn, 'A', A);
  return (await leverageWithRank(M.engine, M)).tau;
}

export interface LewisOptions {
  /** The exponent, 0 < p < Infinity (required). */
  p: number;
  /** Iteration cap (default 200). */
  iters?: number;
  /**
   * Stop when the distance to the fixed point, max_i |log w_i - log w*_i|, is below tol (default 1e-10):
   * estimated as change rho / (1 - rho) with change = max_i |log w'_i - log w_i| and rho = |1 - p/2| the
   * contraction factor (0 < p < 4); for p >= 4, change < tol. Default 1e-10 for f64 engines, 1e-5 for
   * f32 (the roundoff floor of f32 leverage scores is about 1e-6).
   */
  tol?: number;
  /** Return { weights, iterations, residual, ... } instead of the bare weights. */
  details?: boolean;
}

export interface LewisDetails {
  weights: Float64Array;
  /** Fixed-point updates made. */
  iterations: number;
  /** max_i |tau_i(W^(1/2-1/p) A) / w_i - 1| over the rows with w_i > 0, at the returned weights. */
  residual: number;
  /** Last max_i |log w'_i - log w_i|. */
  change: number;
  /** The stopping rule was met within the iteration cap. */
  converged: boolean;
  /** Numerical rank of A (the weights sum to it). */
  rank: number;
  /** 'cohen-peng' (0 < p < 4, provable contraction by |1 - p/2|) or 'damped' (p >= 4: gamma = 2/p, heuristic). */
  method: 'cohen-peng' | 'damped';
  /** Notes for the caller (never printed), e.g. that 0 < p < 1 voids the sampling guarantees. */
  warnings: string[];
}

/** Default Lewis tolerance: 1e-10 in f64; 1e-5 in f32, whose leverage scores carry ~1e-6 relative noise. */
export function defaultLewisTol(dtype: DType): number {
  return dtype === 'f64' ? 1e-10 : 1e-5;
}

export const P_LT_1_WARNING =
  '0 < p < 1: Lewis weights exist, but the l_p subspace-embedding guarantees of sensitivity sampling do not hold (||.||_p is not a norm)';

/**
 * l_p Lewis weights of the rows of A: the unique w >= 0 with w_i = tau_i(W^(1/2-1/p) A), by the
 * Cohen-Peng iteration w <- (w^(1-p/2) tau(W^(1/2-1/p) A)^(p/2)), which contracts for 0 < p < 4; for
 * p >= 4 the damped update w <- tau(W^(1/2-1/p) A) (gamma = 2/p) is used, with no guarantee: check
 * `residual` (with `details: true`). Zero rows get weight 0. The weights sum to rank(A); p = 2 gives the
 * leverage scores.
 *
 * @example
 * ```ts
 * const w = await lewisWeights(A, { p: 1 });
 * const { weights, iterations, residual } = await lewisWeights(A, { p: 1, details: true });
 * ```
 */
export async function lewisWeights<D extends DType>(A: Mat<D>, options: LewisOptions & { details: true }): Promise<LewisDetails>;
export async function lewisWeights<D extends DType>(A: Mat<D>, options: LewisOptions & { details?: false }): Promise<Float64Array>;
export async function lewisWeights<D extends DType>(A: Mat<D>, options: LewisOptions): Promise<Float64Array | LewisDetails>;
export async function lewisWeights<D extends DType>(A: Mat<D>, options: LewisOptions): Promise<Float64Array | LewisDetails> {
  const fn = 'lewisWeights';
  const M = checkMat<D>(fn, 'A', A);
  if (options === null || typeof options !== 'object') throw typeError(fn, `options { p, ... } are required`);
  const o = checkOptions<LewisOptions>(fn, options, ['p', 'iters', 'tol', 'details']);
  const p = checkP(fn, o.p);
  const iters = o.iters === undefined ? 200 : checkInt(fn, 'iters', o.iters, 1, 100000);
  const tol = o.tol === undefined ? defaultLewisTol(M.dtype) : o.tol;
  if (typeof tol !== 'number' || !(tol > 0) || !Number.isFinite(tol)) throw rangeError(fn, `'tol' must be a positive finite number`);
  const details = checkBool(fn, 'details', o.details, false);
  const res = await lewisIterate(M, p, iters, tol);
  return details ? res : res.weights;
}

async function lewisIterate<D extends DType>(A: Mat<D>, p: number, iters: number, tol: number): Promise<LewisDetails> {
  const eng = A.engine;
  const n = A.rows;
  const warnings: string[] = p < 1 ? [P_LT_1_WARNING] : [];
  const rowN = await eng.rowNorms(A);
  const live = Uint8Array.from(rowN, (x) => (x > 0 ? 1 : 0));
  const gamma = p < 4 ? 1 : 2 / p;
  const method = p < 4 ? 'cohen-peng' : 'damped';
  const e = 0.5 - 1 / p;
  const w = Float64Array.from(live); // w = 1 on live rows
  if (!live.some((x) => x === 1)) return { weights: w, iterations: 0, residual: 0, change: 0, converged: true, rank: 0, method, warnings };
  // Contraction factor of the Cohen-Peng map in max |log w|: the distance to the fixed point is at most
  // change rho / (1 - rho), which is what `tol` bounds (the damped p >= 4 update has no known rate).
  const rho = p < 4 ? Math.abs(1 - p / 2) : 0;
  const bound = (c: number) => (p < 4 ? (c * rho) / (1 - rho) : c);
  const tauAt = async (weights: Float64Array): Promise<{ tau: Float64Array; rank: number }> => {
    if (e === 0) return leverageWithRank(eng, A);
    // Row scaling w^(1/2 - 1/p), normalized by its max (a global scale does not change leverage scores
    // and keeps f32 data in range); zero rows stay zero.
    const s = new Float64Array(n);
    let smax = 0;
    for (let i = 0; i < n; i++) {
      if (!live[i]) continue;
      s[i] = Math.exp(e * Math.log(weights[i]));
      smax = Math.max(smax, s[i]);
    }
    if (!(smax > 0) || !Number.isFinite(smax)) throw rangeError('lewisWeights', `the iteration diverged (weights out of range); p = ${p}`);
    for (let i = 0; i < n; i++) s[i] /= smax;
    const B = await eng.scaleRows(A, s);
    try {
      return await leverageWithRank(eng, B);
    } finally {
      B.dispose();
    }
  };
  let iterations = 0,
    change = Infinity,
    rank = 0;
  const tiny = 1e-300;
  for (let it = 0; it < iters; it++) {
    const r = await tauAt(w);
    rank = r.rank;
    change = 0;
    for (let i = 0; i < n; i++) {
      if (!live[i]) continue;
      const lw = Math.log(w[i]);
      const lcp = (1 - p / 2) * lw + (p / 2) * Math.log(Math.max(r.tau[i], tiny));
      const next = (1 - gamma) * lw + gamma * lcp;
      if (!Number.isFinite(next)) throw rangeError('lewisWeights', `the iteration diverged (non-finite weights) for p = ${p}`);
      change = Math.max(change, Math.abs(next - lw));
      w[i] = Math.exp(next);
    }
    iterations = it + 1;
    if (bound(change) < tol) break;
  }
  // Residual at the returned weights (one more leverage computation).
  const fin = await tauAt(w);
  rank = fin.rank;
  let residual = 0;
  for (let i = 0; i < n; i++) if (live[i] && w[i] > 0) residual = Math.max(residual, Math.abs(fin.tau[i] / w[i] - 1));
  return { weights: w, iterations, residual, change, converged: bound(change) < tol, rank, method, warnings };
}

export type SensitivityMethod = 'lewis-bound' | 'leverage-bound' | 'exact';

export interface SensitivityOptions {
  p: number;
  /**
   * 'lewis-bound' (default): min(1, r^(1-p/2) w_i) for p < 2 (Chen-Derezinski), min(1, r^(p/2-1) w_i) for
   * p >= 2, r = rank, w the Lewis weights. 'leverage-bound': tau_i^(p/2) for p <= 2, min(1,
   * n^(p/2-1) tau_i^(p/2)) for p > 2 (loose). 'exact': s_i = 1/(1 + c_i) with c_i = min{ ||A_{-i} x||_p^p :
   * a_i^T x = 1 }, one small l_p regression per row on the host in f64 (p >= 1; n up to a few thousand).
   */
  method?: SensitivityMethod;
}

/**
 * l_p sensitivities s_i = sup_x |a_i^T x|^p / ||A x||_p^p (or upper bounds on them), in [0, 1].
 *
 * @example
 * ```ts
 * const s = await lpSensitivities(A, { p: 1 });                      // Lewis-weight upper bounds
 * const exact = await lpSensitivities(small, { p: 1, method: 'exact' });
 * ```
 */
export async function lpSensitivities<D extends DType>(A: Mat<D>, options: SensitivityOptions): Promise<Float64Array> {
  const fn = 'lpSensitivities';
  const M = checkMat<D>(fn, 'A', A);
  if (options === null || typeof options !== 'object') throw typeError(fn, `options { p, method } are required`);
  const o = checkOptions<SensitivityOptions>(fn, options, ['p', 'method']);
  const p = checkP(fn, o.p);
  const method = checkOneOf(fn, 'method', o.method, ['lewis-bound', 'leverage-bound', 'exact'] as const, 'lewis-bound');
  const n = M.rows;
  if (method === 'lewis-bound') {
    const r = await lewisIterate(M, p, 200, defaultLewisTol(M.dtype));
    const f = p < 2 ? r.rank ** (1 - p / 2) : r.rank ** (p / 2 - 1);
    return Float64Array.from(r.weights, (x) => Math.min(1, f * x));
  }
  if (method === 'leverage-bound') {
    const { tau } = await leverageWithRank(M.engine, M);
    const f = p <= 2 ? 1 : n ** (p / 2 - 1);
    return Float64Array.from(tau, (t) => Math.min(1, f * t ** (p / 2)));
  }
  if (p < 1) throw rangeError(fn, `method 'exact' needs p >= 1 (for p < 1 the per-row problems are not convex)`);
  const d = M.cols;
  if (n * n * d > 2e9)
    throw rangeError(
      fn,
      `method 'exact' solves n = ${n} regressions of size ${n} x ${d} on the host; that is too large (use 'lewis-bound')`,
    );
  const a = Float64Array.from(await M.toArray()); // small by the check above
  return exactSensitivities(a, n, d, p);
}

/** s_i = 1/(1 + c_i), c_i = min { ||A_{-i} x||_p^p : a_i^T x = 1 } by IRLS on x = a_i/|a_i|^2 + N z. */
function exactSensitivities(a: Float64Array, n: number, d: number, p: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ai = a.subarray(i * d, i * d + d);
    let nrm2 = 0;
    for (let j = 0; j < d; j++) nrm2 += ai[j] * ai[j];
    if (nrm2 === 0) continue; // a zero row has sensitivity 0
    const x0 = Float64Array.from(ai, (v) => v / nrm2);
    const N = nullBasis(ai, d); // d x (d - 1), orthonormal columns, row-major
    const k = d - 1;
    // rows of A_{-i} N and targets -A_{-i} x0
    const Mz = new Float64Array((n - 1) * Math.max(k, 1));
    const y = new Float64Array(n - 1);
    let r = 0;
    for (let t = 0; t < n; t++) {
      if (t === i) continue;
      const at = a.subarray(t * d, t * d + d);
      let s = 0;
      for (let j = 0; j < d; j++) s += at[j] * x0[j];
      y[r] = -s;
      for (let c = 0; c < k; c++) {
        let v = 0;
        for (let j = 0; j < d; j++) v += at[j] * N[j * k + c];
        Mz[r * k + c] = v;
      }
      r++;
    }
    const c = k === 0 ? sumAbsPow(y, p) : irlsHost(Mz, n - 1, k, y, p, 100, 1e-13).objective;
    out[i] = 1 / (1 + c);
  }
  return out;
}

/** An orthonormal basis (d x (d-1), row-major) of the orthogonal complement of v. */
function nullBasis(v: ArrayLike<number>, d: number): Float64Array {
  const k = d - 1;
  const N = new Float64Array(d * Math.max(k, 0));
  if (k === 0) return N;
  // Householder reflector H with H v = -+|v| e_j0; its other columns span v^perp.
  let j0 = 0;
  for (let j = 1; j < d; j++) if (Math.abs(v[j]) > Math.abs(v[j0])) j0 = j;
  let nrm = 0;
  for (let j = 0; j < d; j++) nrm = Math.hypot(nrm, v[j]);
  const u = Float64Array.from(v);
  u[j0] += v[j0] >= 0 ? nrm : -nrm;
  let uu = 0;
  for (let j = 0; j < d; j++) uu += u[j] * u[j];
  let c = 0;
  for (let col = 0; col < d; col++) {
    if (col === j0) continue;
    for (let j = 0; j < d; j++) N[j * k + c] = (j === col ? 1 : 0) - (2 * u[j] * u[col]) / uu;
    c++;
  }
  return N;
}
