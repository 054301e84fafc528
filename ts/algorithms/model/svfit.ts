/**
 * SVFit (Sun et al. 2024): W = W_r + W_e with W_r = U_r diag(sigma) V_r^T the top-r part (rank by energy,
 * "capture > 99%", or given). U_r, V_r and the residual W_e are frozen; only the r values sigma are
 * trained (initialized to the singular values), with dL/dsigma_i = u_i^T G v_i (svfitSigmaGrad).
 */
import { checkOneOf, checkOptions, describeValue, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { disposeAll, finiteMat } from '../common.js';
import { checkSelection, energyKept, topTriplets, type RankSelection } from './spectrum.js';

export interface SvfitResult<D extends DType = DType> {
  /** m x r, orthonormal columns (frozen). Owned by the caller. */
  U: Mat<D>;
  /** The r trainable singular values, descending (initial values). */
  sigma: Float64Array;
  /** n x r, orthonormal columns (frozen). Owned by the caller. */
  V: Mat<D>;
  /** W - U diag(sigma) V^T (m x n, frozen), so that U diag(sigma) V^T + residual = W to roundoff. */
  residual: Mat<D>;
  rank: number;
  /** Energy kept by the top r (of the full spectrum when computed). */
  energy: number;
}

export interface SvfitOptions {
  /** 'exact' (default) or 'randomized' (rsvd at the rank; energy still needs the full spectrum). */
  svd?: 'exact' | 'randomized';
  seed?: number;
}

/**
 * SVFit's initialization of one matrix W (m x n): selection `{ energy }` (default `{ energy: 0.99 }`) or
 * `{ rank }`. The residual is computed in the engine dtype as W - U diag(sigma) V^T.
 *
 * @throws TypeError/RangeError naming 'svfitInit' and the argument: W not a Mat or non-finite, rank
 *   outside [1, min(m, n)], energy outside (0, 1].
 */
export async function svfitInit<D extends DType>(
  W: Mat<D>,
  selection: RankSelection = { energy: 0.99 },
  options?: SvfitOptions,
): Promise<SvfitResult<D>> {
  const fn = 'svfitInit';
  await finiteMat<D>(fn, 'W', W);
  const eng = W.engine;
  const sel = checkSelection(fn, selection, Math.min(W.rows, W.cols));
  const o = checkOptions<SvfitOptions>(fn, options, ['svd', 'seed']);
  const method = checkOneOf(fn, 'svd', o.svd, ['exact', 'randomized'] as const, 'exact');
  const { U, S, V, k, full } = await topTriplets(eng, W, sel, method, o.seed ?? 0);
  let US: Mat<D> | undefined, P: Mat<D> | undefined;
  try {
    US = await eng.scaleColumns(U, S);
    P = await eng.matmul(US, V, { transB: true });
    const residual = await eng.sub(W, P);
    let energy: number;
    if (full) energy = energyKept(full, k);
    else {
      const w = await eng.norm(W, 'fro');
      energy = w === 0 ? 1 : Math.min(1, S.reduce((a, s) => a + s * s, 0) / (w * w));
    }
    return { U, sigma: S, V, residual, rank: k, energy };
  } catch (e) {
    disposeAll(U, V);
    throw e;
  } finally {
    disposeAll(US, P);
  }
}

/**
 * The gradient of a loss with respect to SVFit's sigma: dL/dsigma_i = u_i^T G v_i for the gradient
 * G = dL/dW (m x n), as a Float64Array of length r.
 *
 * @throws TypeError/RangeError naming 'svfitSigmaGrad': U (m x r), G (m x n), V (n x r) shapes disagree.
 */
export async function svfitSigmaGrad<D extends DType>(U: Mat<D>, G: Mat<D>, V: Mat<D>): Promise<Float64Array> {
  const fn = 'svfitSigmaGrad';
  if (!(U instanceof Mat)) throw typeError(fn, `'U' must be a Mat, got ${describeValue(U)}`);
  const eng = U.engine;
  eng._mats(fn, { U, G, V });
  if (G.rows !== U.rows || G.cols !== V.rows || U.cols !== V.cols)
    throw rangeError(
      fn,
      `shapes disagree: U is ${U.rows} x ${U.cols}, G is ${G.rows} x ${G.cols}, V is ${V.rows} x ${V.cols} (need G m x n, U m x r, V n x r)`,
    );
  const GV = await eng.matmul(G, V);
  const H = await eng.hadamard(U, GV);
  GV.dispose();
  const one = eng.ones(1, U.rows);
  const s = await eng.matmul(one, H);
  disposeAll(one, H);
  try {
    return Float64Array.from(await s.toArray());
  } finally {
    s.dispose();
  }
}
