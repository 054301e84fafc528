/**
 * LORD (Kaushal, Vaidhya, Rish 2023): a one-shot split of a linear layer W (m x n) into two dense factors,
 * W ~ L R with L = U_r S_r^{1/2} (m x r) and R = S_r^{1/2} V_r^T (r x n), optimal in the Frobenius norm
 * (Eckart-Young). The data-aware variant (unverified in the paper, behind the `outputCovariance` option)
 * projects onto the top eigenvectors of the output-activation covariance: W ~ V_r (V_r^T W).
 */
import type { Engine } from '../../engine.js';
import { checkOneOf, checkOptions, describeValue, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { disposeAll, finiteMat } from '../common.js';
import { checkRank, checkSelection, energyKept, energyRankUnchecked, topTriplets, type RankSelection } from './spectrum.js';

export interface LordOptions<D extends DType = DType> {
  /**
   * Output-activation covariance C (m x m, symmetric PSD; lower triangle read), for the data-aware
   * variant: W ~ V_r V_r^T W with V_r the top-r eigenvectors of C. Rank by energy uses C's eigenvalues.
   */
  outputCovariance?: Mat<D>;
  /**
   * 'exact' (default): the full SVD, so the factors are the optimal truncation (Eckart-Young).
   * 'randomized': rsvd at the chosen rank (with `energy`, the rank still comes from the full spectrum).
   * Not used by the data-aware variant.
   */
  svd?: 'exact' | 'randomized';
  /** Seed of the randomized SVD (default 0). */
  seed?: number;
}

export interface BreakEven {
  /** mn / (m + n): a rank-r factorization stores fewer numbers than W iff r < this. */
  rank: number;
  /** The largest r that still compresses: ceil(mn / (m + n)) - 1. */
  maxCompressingRank: number;
  /** r (m + n) < m n for the chosen r. */
  compresses: boolean;
}

export interface LordResult<D extends DType = DType> {
  /** m x r (U_r S_r^{1/2}; data-aware: V_r). Owned by the caller. */
  L: Mat<D>;
  /** r x n (S_r^{1/2} V_r^T; data-aware: V_r^T W). Owned by the caller. */
  R: Mat<D>;
  rank: number;
  /**
   * Energy kept: sum_{i<=r} s_i^2 / sum s_i^2 of W's spectrum (data-aware: of C's eigenvalues, the
   * output-space energy). For 'randomized' with `rank`, the computed s_i over ||W||_F^2.
   */
  energy: number;
  /** ||W - L R||_F / ||W||_F, measured on the device. */
  relError: number;
  /** Data-aware only: sqrt(tr((I - P) C) / tr(C)), the relative output-space error (P = V_r V_r^T). */
  outputError?: number;
  /** Singular values of W (all of them when the full spectrum was computed, else the top r). */
  singularValues: Float64Array;
  params: { before: number; after: number };
  breakEven: BreakEven;
}

const OPTS = ['outputCovariance', 'svd', 'seed'] as const;

/** Break-even of a rank-r factorization of an m x n matrix. */
export function breakEven(m: number, n: number, r: number): BreakEven {
  const be = (m * n) / (m + n);
  return { rank: be, maxCompressingRank: Math.ceil(be) - 1, compresses: r * (m + n) < m * n };
}

/** L = U S^{1/2}, R = (V S^{1/2})^T from triplets (U, V consumed). */
export async function balancedFactors<D extends DType>(
  eng: Engine<D>,
  U: Mat<D>,
  S: Float64Array,
  V: Mat<D>,
): Promise<{ L: Mat<D>; R: Mat<D> }> {
  const root = Float64Array.from(S, (s) => Math.sqrt(s));
  let L: Mat<D> | undefined, Vs: Mat<D> | undefined;
  try {
    L = await eng.scaleColumns(U, root);
    Vs = await eng.scaleColumns(V, root);
    const R = await eng.transpose(Vs);
    return { L, R };
  } catch (e) {
    L?.dispose();
    throw e;
  } finally {
    disposeAll(U, V, Vs);
  }
}

/**
 * Factorizes W (m x n) as L R at a rank chosen by `{ rank }` or `{ energy }` (the smallest r keeping
 * that fraction of ||W||_F^2).
 *
 * @throws TypeError/RangeError naming 'lordFactorize' and the argument: W not a Mat or with NaN/Infinity,
 *   rank outside [1, min(m, n)], energy outside (0, 1], outputCovariance not m x m or non-finite,
 *   unknown options.
 */
export async function lordFactorize<D extends DType>(
  W: Mat<D>,
  selection: RankSelection,
  options?: LordOptions<D>,
): Promise<LordResult<D>> {
  const fn = 'lordFactorize';
  await finiteMat<D>(fn, 'W', W);
  const eng = W.engine;
  const [m, n] = [W.rows, W.cols];
  const kmax = Math.min(m, n);
  const sel = checkSelection(fn, selection, kmax);
  const o = checkOptions<LordOptions<D>>(fn, options, OPTS);
  const method = checkOneOf(fn, 'svd', o.svd, ['exact', 'randomized'] as const, 'exact');
  const seed = o.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0)
    throw rangeError(fn, `'seed' must be a non-negative integer, got ${describeValue(seed)}`);
  const normW = await eng.norm(W, 'fro');

  let L: Mat<D>, R: Mat<D>, k: number, energy: number, singularValues: Float64Array;
  let outputError: number | undefined;
  if (o.outputCovariance !== undefined) {
    if (o.svd === 'randomized') throw typeError(fn, `'svd' does not apply to the data-aware variant (outputCovariance uses eigh)`);
    const C = await finiteMat<D>(fn, 'outputCovariance', o.outputCovariance);
    if (C.rows !== m || C.cols !== m)
      throw rangeError(fn, `'outputCovariance' must be m x m = ${m} x ${m} (W is ${m} x ${n}), got ${C.rows} x ${C.cols}`);
    const { values, vectors } = await eng.eigh(C);
    try {
      const lam = Float64Array.from(values, (v) => Math.max(v, 0));
      // energy of the output: eigenvalues are squared singular values of the output samples
      const roots = Float64Array.from(lam, Math.sqrt);
      k = sel.rank ?? energyRankUnchecked(roots, sel.energy as number);
      if (k > kmax) throw rangeError(fn, `'energy' ${sel.energy} needs ${k} output eigenvectors, more than min(m, n) = ${kmax}`);
      energy = energyKept(roots, k);
      outputError = Math.sqrt(Math.max(0, 1 - energy));
      L = await eng.slice(vectors, { cols: [0, k] });
      try {
        R = await eng.matmul(L, W, { transA: true });
      } catch (e) {
        L.dispose();
        throw e;
      }
      singularValues = roots;
    } finally {
      vectors.dispose();
    }
  } else {
    const t = await topTriplets(eng, W, sel, method, seed);
    k = t.k;
    singularValues = t.full ?? t.S;
    energy = t.full ? energyKept(t.full, k) : normW === 0 ? 1 : Math.min(1, t.S.reduce((a, s) => a + s * s, 0) / (normW * normW));
    ({ L, R } = await balancedFactors(eng, t.U, t.S, t.V));
  }
  let relError: number;
  try {
    const P = await eng.matmul(L, R);
    const E = await eng.sub(W, P);
    P.dispose();
    const e = await eng.norm(E, 'fro');
    E.dispose();
    relError = normW === 0 ? 0 : e / normW;
  } catch (e) {
    disposeAll(L, R);
    throw e;
  }
  return {
    L,
    R,
    rank: k,
    energy,
    relError,
    ...(outputError !== undefined ? { outputError } : {}),
    singularValues,
    params: { before: m * n, after: k * (m + n) },
    breakEven: breakEven(m, n, k),
  };
}

/**
 * WeLore's factor form of a low-rank component: the same balanced split as LORD, (U_k S_k^{1/2})
 * (S_k^{1/2} V_k^T), at the rank weloreRanks kept.
 */
export async function weloreFactorize<D extends DType>(
  W: Mat<D>,
  rank: number,
  options?: Omit<LordOptions<D>, 'outputCovariance'>,
): Promise<LordResult<D>> {
  if (options && typeof options === 'object' && 'outputCovariance' in options)
    throw typeError('weloreFactorize', `unknown option 'outputCovariance'`);
  if (!(W instanceof Mat)) throw typeError('weloreFactorize', `'W' must be a Mat, got ${describeValue(W)}`);
  checkRank('weloreFactorize', 'rank', rank, Math.min(W.rows, W.cols));
  return lordFactorize(W, { rank }, options);
}
