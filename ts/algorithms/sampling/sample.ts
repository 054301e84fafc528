/**
 * Sensitivity sampling (l_p subspace embeddings): keep row i independently with probability
 * q_i = min(1, m sigma_i / sum sigma) (saturated mass redistributed) and weight it by q_i^(-1/p), so that
 * E ||S A x||_p^p = ||A x||_p^p for every x. Spec C.4. The Bernoulli draws use the Philox stream of
 * `seed` (the README's `rand` stream, f64 layout), so a seed gives the same sample on every backend
 * for the same scores.
 */
import { checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import { uniformStream } from '../../rng/philox.js';
import type { DType } from '../../types.js';
import { checkMat, checkP, leverageWithRank, lewisWeights, lpSensitivities, P_LT_1_WARNING } from './scores.js';

/** Lewis-weight accuracy used for sampling: max |log w - log w*| < 1e-3. */
export const SAMPLING_LEWIS_TOL = 1e-3;

export type SampleScores = 'lewis' | 'sensitivity' | 'root-leverage' | 'leverage' | 'uniform';

export interface SampleOptions {
  p: number;
  /** Target (expected) number of rows m (required). m >= n keeps every row with weight 1. */
  size: number;
  /**
   * Sampling scores: 'lewis' (default; Lewis weights to 0.1 %, which is all the sampling guarantees
   * need), 'sensitivity' (the Lewis-weight sensitivity
   * bounds of lpSensitivities), 'root-leverage' (tau^(p/2)), 'leverage' (tau), 'uniform' (baseline).
   */
  scores?: SampleScores;
  /** Seed of the Bernoulli draws (default 0). */
  seed?: number;
}

export interface Sample {
  /** Kept rows, increasing. */
  indices: Int32Array;
  /** Row weights q_i^(-1/p) (S A = diag(weights) A[indices]). */
  weights: Float64Array;
  /** Keep probabilities q_i of the kept rows. */
  probabilities: Float64Array;
  /** sum_i q_i over all rows (the expected sample size). */
  expectedSize: number;
  p: number;
  scores: SampleScores;
  /** Notes for the caller (never printed), e.g. for 0 < p < 1. */
  warnings: string[];
}

/** Keep probabilities q = min(1, m sigma / sum sigma), the mass of saturated rows redistributed. */
export function keepProbabilities(sigma: ArrayLike<number>, m: number): Float64Array {
  const n = sigma.length;
  const q = new Float64Array(n);
  const sat = new Uint8Array(n);
  let budget = m;
  for (let pass = 0; pass < 20; pass++) {
    let total = 0;
    for (let i = 0; i < n; i++) if (!sat[i]) total += sigma[i];
    if (!(total > 0) || budget <= 0) break;
    let newly = 0;
    for (let i = 0; i < n; i++) {
      if (sat[i]) continue;
      const v = (budget * sigma[i]) / total;
      if (v >= 1) {
        sat[i] = 1;
        q[i] = 1;
        budget -= 1;
        newly++;
      } else q[i] = v;
    }
    if (newly === 0) break;
  }
  return q;
}

/**
 * Samples rows of A for an l_p subspace embedding.
 *
 * @example
 * ```ts
 * const { indices, weights } = await sensitivitySample(A, { p: 1, size: 400, seed: 3 });
 * ```
 */
export async function sensitivitySample<D extends DType>(A: Mat<D>, options: SampleOptions): Promise<Sample> {
  const fn = 'sensitivitySample';
  const M = checkMat<D>(fn, 'A', A);
  if (options === null || typeof options !== 'object') throw typeError(fn, `options { p, size, ... } are required`);
  const o = checkOptions<SampleOptions>(fn, options, ['p', 'size', 'scores', 'seed']);
  const p = checkP(fn, o.p);
  if (o.size === undefined) throw typeError(fn, `'size' is required`);
  const m = checkInt(fn, 'size', o.size, 1, 2 ** 31 - 1);
  const scores = checkOneOf(fn, 'scores', o.scores, ['lewis', 'sensitivity', 'root-leverage', 'leverage', 'uniform'] as const, 'lewis');
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  const n = M.rows;
  const sigma = await sampleScores(M, p, scores);
  const warnings = p < 1 ? [P_LT_1_WARNING] : [];
  return drawSample(sigma, m, p, seed, scores, warnings, n);
}

/** The scores a sampling rule uses (zero rows always score 0). */
export async function sampleScores<D extends DType>(A: Mat<D>, p: number, scores: SampleScores): Promise<Float64Array> {
  switch (scores) {
    case 'lewis':
      // Sampling needs the weights only to a constant factor (Cohen-Peng): 0.1 % is plenty, and saves
      // most of the iterations of a full-precision solve.
      return lewisWeights(A, { p, tol: SAMPLING_LEWIS_TOL });
    case 'sensitivity':
      return lpSensitivities(A, { p, method: 'lewis-bound' });
    case 'root-leverage':
    case 'leverage': {
      const { tau } = await leverageWithRank(A.engine, A);
      return scores === 'leverage' ? tau : Float64Array.from(tau, (t) => t ** (p / 2));
    }
    case 'uniform': {
      const rn = await A.engine.rowNorms(A);
      return Float64Array.from(rn, (x) => (x > 0 ? 1 : 0));
    }
  }
}

export function drawSample(
  sigma: Float64Array,
  m: number,
  p: number,
  seed: number,
  scores: SampleScores,
  warnings: string[],
  n: number,
): Sample {
  let q: Float64Array;
  if (m >= n) q = Float64Array.from(sigma, (s) => (s > 0 ? 1 : 0));
  else q = keepProbabilities(sigma, m);
  const u = uniformStream(n, seed, 'f64');
  const idx: number[] = [];
  let expected = 0;
  for (let i = 0; i < n; i++) {
    expected += q[i];
    if (q[i] > 0 && u[i] < q[i]) idx.push(i);
  }
  if (idx.length === 0) throw rangeError('sensitivitySample', `no row was sampled (all scores are zero: A has no non-zero row)`);
  const indices = Int32Array.from(idx);
  const probabilities = Float64Array.from(idx, (i) => q[i]);
  const weights = Float64Array.from(probabilities, (x) => x ** (-1 / p));
  return { indices, weights, probabilities, expectedSize: expected, p, scores, warnings };
}
