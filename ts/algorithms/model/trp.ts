/**
 * Trained Rank Pruning (Xu et al. 2019/2020): every few iterations each weight is replaced by its
 * energy-truncated SVD (smallest k with sum_{i<=k} s_i^2 / sum s_i^2 >= e, the code's
 * EnergyThreshold(0.9) on sigma^2), and a nuclear-norm term lambda ||W||_* adds the subgradient U_k V_k^T
 * computed from the same truncated SVD.
 */
import { checkBool, checkOptions, describeValue, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { disposeAll, finiteMat } from '../common.js';
import { checkEnergy, checkRank, energyKept, topTriplets } from './spectrum.js';

export interface TrpOptions {
  /** Energy threshold in (0, 1] (default 0.9, the code's). */
  energy?: number;
  /** Also return the nuclear-norm subgradient U_k V_k^T from the same SVD (default false). */
  subgradient?: boolean;
}

export interface TrpResult<D extends DType = DType> {
  /** U_k diag(s_k) V_k^T (m x n). Owned by the caller. */
  W: Mat<D>;
  rank: number;
  /** Energy kept (>= the threshold). */
  energy: number;
  /** All singular values of the input. */
  singularValues: Float64Array;
  /** U_k V_k^T when `subgradient: true`. Owned by the caller. */
  subgradient?: Mat<D>;
}

/**
 * TRP's energy truncation of W (m x n) by the exact SVD.
 *
 * @throws TypeError/RangeError naming 'trpTruncate' and the argument: W not a Mat or non-finite, energy
 *   outside (0, 1], unknown options.
 */
export async function trpTruncate<D extends DType>(W: Mat<D>, options?: TrpOptions): Promise<TrpResult<D>> {
  const fn = 'trpTruncate';
  await finiteMat<D>(fn, 'W', W);
  const eng = W.engine;
  const o = checkOptions<TrpOptions>(fn, options, ['energy', 'subgradient']);
  const energy = o.energy === undefined ? 0.9 : checkEnergy(fn, 'energy', o.energy);
  const withGrad = checkBool(fn, 'subgradient', o.subgradient, false);
  const { U, S, V, k, full } = await topTriplets(eng, W, { energy }, 'exact');
  let US: Mat<D> | undefined, T: Mat<D> | undefined;
  try {
    US = await eng.scaleColumns(U, S);
    T = await eng.matmul(US, V, { transB: true });
    const subgradient = withGrad ? await eng.matmul(U, V, { transB: true }) : undefined;
    const res: TrpResult<D> = { W: T, rank: k, energy: energyKept(full as Float64Array, k), singularValues: full as Float64Array };
    if (subgradient) res.subgradient = subgradient;
    return res;
  } catch (e) {
    T?.dispose();
    throw e;
  } finally {
    disposeAll(U, V, US);
  }
}

/**
 * U_k V_k^T from the exact SVD of W (k default min(m, n)): for full-rank W with distinct singular values
 * (and k = min(m, n)) this is the gradient of the nuclear norm ||W||_*; otherwise a subgradient of the
 * rank-k truncation's nuclear norm, as TRP uses it.
 *
 * @throws TypeError/RangeError naming 'nuclearSubgradient': W not a Mat or non-finite, k outside
 *   [1, min(m, n)].
 */
export async function nuclearSubgradient<D extends DType>(W: Mat<D>, k?: number): Promise<Mat<D>> {
  const fn = 'nuclearSubgradient';
  if (!(W instanceof Mat)) throw typeError(fn, `'W' must be a Mat (create one with engine.matrix()), got ${describeValue(W)}`);
  const kmax = Math.min(W.rows, W.cols);
  const kk = k === undefined ? kmax : checkRank(fn, 'k', k, kmax);
  await finiteMat<D>(fn, 'W', W);
  const eng = W.engine;
  const { U, V } = await topTriplets(eng, W, { rank: kk }, 'exact');
  try {
    return await eng.matmul(U, V, { transB: true });
  } finally {
    disposeAll(U, V);
  }
}
