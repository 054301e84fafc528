/**
 * Representation similarity: SVCCA (Raghu et al. 2017), PWCCA (Morcos et al. 2018) and linear CKA
 * (Kornblith et al. 2019), for two representations A (N x a) and B (N x b) of the same N inputs, one
 * input per row (scikit-learn's convention; google/svcca takes neurons x datapoints, i.e. A^T). The
 * widths a and b may differ.
 *
 * The N x width work (centering, SVDs, products) runs on the engine; what comes back to the host is
 * singular values, column / row norms and small width x width results.
 */
import type { Engine } from '../../engine.js';
import { checkFinite, checkOptions, describeValue, rangeError, typeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { checkFiniteMat, checkMat, disposeAll, unitRoundoff } from '../common.js';
import { orthBasis } from './angles.js';

// ---- shared pieces ---------------------------------------------------------------------------------

/** Both representations checked: live Mats of one engine, same N >= minRows, finite. */
async function checkPair<D extends DType>(fn: string, A: unknown, B: unknown, minRows: number): Promise<Engine<D>> {
  const a = checkMat<D>(fn, 'A', A);
  const eng = a.engine;
  const b = checkMat(fn, 'B', B, eng);
  if (a.rows !== b.rows)
    throw rangeError(fn, `'A' is ${a.rows} x ${a.cols} and 'B' is ${b.rows} x ${b.cols}: both need one row per input (the same N)`);
  if (a.rows < minRows) throw rangeError(fn, `'A' and 'B' have ${a.rows} rows; at least ${minRows} inputs are needed`);
  await checkFiniteMat(fn, 'A', a);
  await checkFiniteMat(fn, 'B', b);
  return eng;
}

/** A with its column means subtracted (on the engine). */
async function centerColumns<D extends DType>(eng: Engine<D>, A: Mat<D>): Promise<Mat<D>> {
  const n = A.rows;
  const ones = eng.ones(n, 1);
  try {
    const mean = await eng.matmul(ones, A, { transA: true, alpha: 1 / n }); // 1 x a
    const outer = await eng.matmul(ones, mean, { alpha: -1 }); // N x a
    mean.dispose();
    try {
      return await eng.add(A, outer);
    } finally {
      outer.dispose();
    }
  } finally {
    ones.dispose();
  }
}

function checkEpsilon(fn: string, v: unknown): number {
  if (v === undefined) return 0;
  const e = checkFinite(fn, 'epsilon', v);
  if (e < 0 || e >= 1) throw rangeError(fn, `'epsilon' must be in [0, 1) (it is relative to the largest feature variance), got ${e}`);
  return e;
}

/**
 * The reference's summary: the mean of the leading rho whose sum first reaches `threshold` of the total
 * (google/svcca cca_core.sum_threshold; all of them when no proper prefix reaches it).
 */
export function thresholdMean(rho: ArrayLike<number>, threshold: number): number {
  const n = rho.length;
  if (n === 0) return 0;
  let total = 0;
  for (let i = 0; i < n; i++) total += rho[i];
  let acc = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && acc / total >= threshold) return acc / i;
    acc += rho[i];
  }
  return total / n;
}

function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return v.length ? s / v.length : 0;
}

interface CcaParts<D extends DType> {
  /** Canonical correlations, descending, in [0, 1]. */
  rho: Float64Array;
  /** N x m orthonormal canonical variates of the requested side (owned by the caller), when asked. */
  H: Mat<D> | null;
}

/**
 * CCA of two orthonormal bases (the QR route): rho = svd(Qa^T Qb), clipped to [0, 1]; the canonical
 * variates of side A are Qa U, of side B Qb V.
 */
async function ccaFromBases<D extends DType>(eng: Engine<D>, Qa: Mat<D>, Qb: Mat<D>, side: 'A' | 'B' | null): Promise<CcaParts<D>> {
  const C = await eng.matmul(Qa, Qb, { transA: true });
  const { U, S, V } = await eng.svd(C);
  C.dispose();
  try {
    const rho = Float64Array.from(S, (s) => Math.min(1, Math.max(0, s)));
    let H: Mat<D> | null = null;
    if (side === 'A') H = await eng.matmul(Qa, U);
    else if (side === 'B') H = await eng.matmul(Qb, V);
    return { rho, H };
  } finally {
    disposeAll(U, V);
  }
}

/** V diag(f(w)) V^T of a symmetric PSD G: the pseudo-inverse square root (eigenvalues below the cutoff -> 0). */
async function invSqrtPsd<D extends DType>(eng: Engine<D>, G: Mat<D>): Promise<Mat<D>> {
  const { values, vectors } = await eng.eigh(G);
  const wmax = Math.max(0, values[0] ?? 0);
  const cut = Math.max(1e-15, 2 * unitRoundoff(eng.dtype) * G.rows) * wmax;
  const f = Float64Array.from(values, (w) => (w > cut ? 1 / Math.sqrt(w) : 0));
  const W = await eng.scaleColumns(vectors, f);
  try {
    return await eng.matmul(W, vectors, { transB: true });
  } finally {
    disposeAll(W, vectors);
  }
}

/**
 * CCA through covariances with epsilon regularization, as google/svcca's get_cca_similarity: covariances
 * (1 / (N - 1)) rescaled by the largest variance of each side, features whose rescaled variance is below
 * epsilon dropped, epsilon added to the diagonals, rho = svd(Sxx^-1/2 Sxy Syy^-1/2) (pinv square roots).
 * Xa, Xb are centered. The variates of the requested side, Xa Sxx^-1/2 u, are orthonormalized by QR
 * (as the reference's PWCCA does).
 */
async function ccaCovariance<D extends DType>(
  fn: string,
  eng: Engine<D>,
  Xa: Mat<D>,
  Xb: Mat<D>,
  epsilon: number,
  side: 'A' | 'B' | null,
): Promise<CcaParts<D>> {
  const n = Xa.rows;
  return eng.scope(async () => {
    const prep = async (X: Mat<D>): Promise<{ Xs: Mat<D>; scale: number }> => {
      const cn = await eng.colNorms(X);
      const diag = Float64Array.from(cn, (v) => (v * v) / (n - 1));
      const vmax = Math.max(...diag);
      if (!(vmax > 0)) throw rangeError(fn, `a representation has zero variance in every feature`);
      const keep: number[] = [];
      for (let j = 0; j < diag.length; j++) if (diag[j] / vmax >= epsilon) keep.push(j);
      let Xs = X;
      if (keep.length < diag.length) {
        const sel = new Float64Array(diag.length * keep.length);
        keep.forEach((j, c) => {
          sel[j * keep.length + c] = 1;
        });
        const S = eng.matrix(sel, diag.length, keep.length);
        Xs = await eng.matmul(X, S);
      }
      return { Xs, scale: 1 / ((n - 1) * vmax) };
    };
    const a = await prep(Xa);
    const b = await prep(Xb);
    const gram = async (X: Mat<D>, s: number): Promise<Mat<D>> => {
      const G = await eng.matmul(X, X, { transA: true, alpha: s });
      if (epsilon === 0) return G;
      const E = eng.eye(X.cols);
      return eng.axpby(1, G, epsilon, E);
    };
    const Ia = await invSqrtPsd(eng, await gram(a.Xs, a.scale));
    const Ib = await invSqrtPsd(eng, await gram(b.Xs, b.scale));
    const Sab = await eng.matmul(a.Xs, b.Xs, { transA: true, alpha: Math.sqrt(a.scale * b.scale) });
    const M = await eng.matmul(await eng.matmul(Ia, Sab), Ib);
    const { U, S, V } = await eng.svd(M);
    const rho = Float64Array.from(S, (s) => Math.min(1, Math.abs(s)));
    let H: Mat<D> | null = null;
    if (side) {
      const [X, I, W] = side === 'A' ? [a.Xs, Ia, U] : [b.Xs, Ib, V];
      const D0 = await eng.matmul(await eng.matmul(X, I), W);
      if (D0.rows < D0.cols)
        throw rangeError(fn, `with epsilon > 0 the canonical variates need N >= ${D0.cols} inputs, got N = ${D0.rows}`);
      H = (await eng.qr(D0)).Q;
    }
    return { rho, H };
  });
}

// ---- SVCCA -------------------------------------------------------------------------------------------

export interface SvccaOptions {
  /**
   * SVD directions kept per representation (after centering): a number in (0, 1) keeps the fewest
   * leading directions explaining that fraction of the variance (sum of s_i^2; default 0.99, Raghu et
   * al.); an integer >= 1 keeps that many (at most the numerical rank; google/svcca's tutorial uses 20);
   * 'all' keeps every direction of nonzero variance (plain CCA).
   */
  keep?: number | 'all';
  /** Covariance regularization as google/svcca (default 0: the QR route). See {@link SvccaResult}. */
  epsilon?: number;
  /** Fraction of the total for {@link SvccaResult.meanThreshold} (default 0.98, the reference's). */
  threshold?: number;
}

export interface SvccaResult {
  /** Canonical correlations between the reduced representations, descending, in [0, 1]; min(kA, kB) of them. */
  rho: Float64Array;
  /** Mean of rho (the SVCCA similarity of Raghu et al.). */
  mean: number;
  /** google/svcca's reported "mean": the mean of the leading rho whose sum first reaches `threshold` of the total. */
  meanThreshold: number;
  /** Directions kept of A and of B. */
  keptA: number;
  keptB: number;
}

/** Count of leading singular values kept by `keep` (s descending; rank = numerical rank). */
function keptCount(s: Float64Array, rank: number, keep: number | 'all'): number {
  if (keep === 'all') return rank;
  if (keep >= 1) return Math.min(keep, rank);
  let total = 0;
  for (let i = 0; i < rank; i++) total += s[i] * s[i];
  let acc = 0;
  for (let i = 0; i < rank; i++) {
    acc += s[i] * s[i];
    if (acc >= keep * total) return i + 1;
  }
  return rank;
}

function checkKeep(fn: string, v: unknown): number | 'all' {
  if (v === undefined) return 0.99;
  if (v === 'all') return v;
  if (typeof v !== 'number') throw typeError(fn, `'keep' must be a number or 'all', got ${describeValue(v)}`);
  if (!(Number.isFinite(v) && ((v > 0 && v < 1) || (Number.isInteger(v) && v >= 1))))
    throw rangeError(fn, `'keep' must be a variance fraction in (0, 1), an integer >= 1 or 'all', got ${v}`);
  return v;
}

/**
 * SVCCA: center the columns of A (N x a) and B (N x b), reduce each to its top singular directions
 * (`keep`), then CCA between the reduced representations. With epsilon = 0 (default) the CCA is the QR
 * route: rho = the singular values of Ua^T Ub (the kept left singular vectors are already an orthonormal
 * basis), i.e. the cosines of the principal angles between the reduced column spaces, clipped to [0, 1]
 * — stable where the reference's covariance inverse is not. With epsilon > 0 the reference's covariance
 * route (rescaled covariances, features of rescaled variance < epsilon dropped, + epsilon I, pinv square
 * roots). Invariant to invertible linear maps of the features when every direction is kept.
 *
 * Layout: google/svcca takes neurons x datapoints; here one input per row (pass A^T of the reference's).
 *
 * @throws TypeError/RangeError naming 'svcca': A/B not live Mats of one engine, different N, N < 2,
 *   NaN/Infinity, a constant (zero-variance) representation, bad keep / epsilon / threshold, unknown options.
 */
export async function svcca<D extends DType>(A: Mat<D>, B: Mat<D>, options?: SvccaOptions): Promise<SvccaResult> {
  const fn = 'svcca';
  const o = checkOptions<SvccaOptions>(fn, options, ['keep', 'epsilon', 'threshold']);
  const keep = checkKeep(fn, o.keep);
  const epsilon = checkEpsilon(fn, o.epsilon);
  const threshold = checkThreshold(fn, o.threshold);
  const eng = await checkPair<D>(fn, A, B, 2);
  return eng.scope(async () => {
    const reduce = async (X: Mat<D>, name: string): Promise<{ Q: Mat<D>; R: Mat<D> | null; k: number }> => {
      const Xc = await centerColumns(eng, X);
      const { Q, rank, S } = await orthBasis(eng, Xc);
      if (!Q) throw rangeError(fn, `'${name}' is constant (zero variance after centering)`);
      const k = keptCount(S, rank, keep);
      const Qk = k < Q.cols ? await eng.slice(Q, { cols: [0, k] }) : Q;
      const R = epsilon > 0 ? await eng.scaleColumns(Qk, S.subarray(0, k)) : null;
      return { Q: Qk, R, k };
    };
    const a = await reduce(A, 'A');
    const b = await reduce(B, 'B');
    const { rho } =
      epsilon > 0 && a.R && b.R ? await ccaCovariance(fn, eng, a.R, b.R, epsilon, null) : await ccaFromBases(eng, a.Q, b.Q, null);
    return { rho, mean: mean(rho), meanThreshold: thresholdMean(rho, threshold), keptA: a.k, keptB: b.k };
  });
}

function checkThreshold(fn: string, v: unknown): number {
  if (v === undefined) return 0.98;
  const t = checkFinite(fn, 'threshold', v);
  if (t < 0 || t > 1) throw rangeError(fn, `'threshold' must be in [0, 1], got ${t}`);
  return t;
}

// ---- PWCCA -------------------------------------------------------------------------------------------

export interface PwccaOptions {
  /** Covariance regularization as google/svcca (default 0: the QR route). */
  epsilon?: number;
}

export interface PwccaResult {
  /** Projection-weighted mean of rho: sum_i alpha_i rho_i (Morcos et al. 2018); 1 - mean is their distance. */
  mean: number;
  /** Canonical correlations (descending, in [0, 1]). */
  rho: Float64Array;
  /** alpha_i = sum_j |<h_i, x_j>| / normalizer, for the canonical variates h_i of the side used. */
  weights: Float64Array;
  /** The representation whose neurons weight the correlations: the one of smaller numerical rank (A on ties). */
  side: 'A' | 'B';
}

/**
 * PWCCA (Morcos, Raghu & Bengio 2018): CCA between the centered representations (no SVD reduction), each
 * correlation weighted by how much of the representation it accounts for: alpha_i = sum_j |<h_i, x_j>|
 * normalized to sum 1, with h_i the unit-norm canonical variates (N-vectors) and x_j the centered neuron
 * columns of the side of smaller rank (google/svcca weights the side with fewer neurons; its IndexError
 * when the widths differ, google/svcca PR #9, does not arise here). Rank-deficient inputs are reduced to
 * their numerical column space first (epsilon = 0).
 *
 * @throws as {@link svcca}, naming 'pwcca'.
 */
export async function pwcca<D extends DType>(A: Mat<D>, B: Mat<D>, options?: PwccaOptions): Promise<PwccaResult> {
  const fn = 'pwcca';
  const o = checkOptions<PwccaOptions>(fn, options, ['epsilon']);
  const epsilon = checkEpsilon(fn, o.epsilon);
  const eng = await checkPair<D>(fn, A, B, 2);
  return eng.scope(async () => {
    const Ac = await centerColumns(eng, A);
    const Bc = await centerColumns(eng, B);
    const ba = await orthBasis(eng, Ac);
    if (!ba.Q) throw rangeError(fn, `'A' is constant (zero variance after centering)`);
    const bb = await orthBasis(eng, Bc);
    if (!bb.Q) throw rangeError(fn, `'B' is constant (zero variance after centering)`);
    const side: 'A' | 'B' = ba.rank <= bb.rank ? 'A' : 'B';
    const { rho, H } = epsilon > 0 ? await ccaCovariance(fn, eng, Ac, Bc, epsilon, side) : await ccaFromBases(eng, ba.Q, bb.Q, side);
    if (!H) throw new Error('pwcca: internal error (no canonical variates)');
    // |H^T X| summed along each row, on the engine (m x width stays there; m numbers come back).
    const X = side === 'A' ? Ac : Bc;
    const P = await eng.matmul(H, X, { transA: true });
    const absP = await eng.hadamard(P, await eng.sign(P));
    const sums = await (await eng.matmul(absP, eng.ones(X.cols, 1))).toArray();
    const m = Math.min(rho.length, sums.length);
    let total = 0;
    for (let i = 0; i < m; i++) total += sums[i];
    const weights = new Float64Array(m);
    let value = 0;
    for (let i = 0; i < m; i++) {
      weights[i] = total > 0 ? sums[i] / total : 1 / m;
      value += weights[i] * rho[i];
    }
    return { mean: value, rho: rho.slice(0, m), weights, side };
  });
}

// ---- linear CKA --------------------------------------------------------------------------------------

export interface LinearCkaOptions {
  /**
   * Use the unbiased HSIC estimator (Song et al. 2012) in numerator and normalizers, as the debiased CKA
   * of Nguyen, Raghu & Kornblith 2021 (default false). Needs N >= 4; can be slightly negative.
   */
  debiased?: boolean;
}

/**
 * Linear CKA (Kornblith et al. 2019) in the feature space: with X, Y the column-centered A, B,
 * CKA = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F). Invariant to orthogonal transforms and isotropic
 * scaling of either representation (not to general invertible maps). Only the a x a, b x b and b x a
 * Grams are formed (on the engine); three Frobenius norms (and, debiased, the N squared row norms of X
 * and Y) come back. Debiased: each ||.||_F^2 term t is replaced by
 * t - N/(N-2) r_x.r_y + |X|_F^2 |Y|_F^2 / ((N-1)(N-2)) with r the squared row norms (the unbiased HSIC
 * up to the factor 1/(N(N-3)), which cancels).
 *
 * @throws TypeError/RangeError naming 'linearCKA': A/B not live Mats of one engine, different N, N < 2
 *   (N < 4 debiased), NaN/Infinity, a constant representation, unknown options.
 */
export async function linearCKA<D extends DType>(A: Mat<D>, B: Mat<D>, options?: LinearCkaOptions): Promise<number> {
  const fn = 'linearCKA';
  const o = checkOptions<LinearCkaOptions>(fn, options, ['debiased']);
  if (o.debiased !== undefined && typeof o.debiased !== 'boolean')
    throw typeError(fn, `'debiased' must be a boolean, got ${describeValue(o.debiased)}`);
  const debiased = o.debiased ?? false;
  const eng = await checkPair<D>(fn, A, B, debiased ? 4 : 2);
  const n = A.rows;
  return eng.scope(async () => {
    const X = await centerColumns(eng, A);
    const Y = await centerColumns(eng, B);
    const fro2 = async (P: Mat<D>, Q: Mat<D>): Promise<number> => (await eng.norm(await eng.matmul(Q, P, { transA: true }), 'fro')) ** 2;
    let xy = await fro2(X, Y);
    let xx = await fro2(X, X);
    let yy = await fro2(Y, Y);
    if (!(xx > 0)) throw rangeError(fn, `'A' is constant (zero variance after centering)`);
    if (!(yy > 0)) throw rangeError(fn, `'B' is constant (zero variance after centering)`);
    if (debiased) {
      const rx = Float64Array.from(await eng.rowNorms(X), (v) => v * v);
      const ry = Float64Array.from(await eng.rowNorms(Y), (v) => v * v);
      let sx = 0,
        sy = 0,
        dxx = 0,
        dyy = 0,
        dxy = 0;
      for (let i = 0; i < n; i++) {
        sx += rx[i];
        sy += ry[i];
        dxx += rx[i] * rx[i];
        dyy += ry[i] * ry[i];
        dxy += rx[i] * ry[i];
      }
      const c = n / (n - 2),
        d = (n - 1) * (n - 2);
      xy = xy - c * dxy + (sx * sy) / d;
      xx = xx - c * dxx + (sx * sx) / d;
      yy = yy - c * dyy + (sy * sy) / d;
      if (!(xx > 0 && yy > 0)) throw rangeError(fn, `the debiased self-similarity of 'A' or 'B' is not positive (too few inputs N = ${n})`);
    }
    return xy / Math.sqrt(xx * yy);
  });
}
