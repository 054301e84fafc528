/**
 * The stages of the randomized SVD as public functions, as sklearn exports them
 * (`randomized_range_finder`, `svd_flip`): the range finder, the Rayleigh-Ritz projection and the sign
 * convention. `rsvd` is composed from the same internal functions (rangeBasis, rayleighRitzOp, the
 * sign flip), so `rayleighRitz(A, await rangeFinder(A, o), k)` reproduces `rsvd(A, o')` bit for bit
 * when the options agree (see rangeFinder).
 */
import { checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { allFinite, flipSigns } from '../common.js';
import { toOperator, type MatrixLike } from '../operator.js';
import {
  checkFiniteTriplets,
  checkSeed,
  rangeBasis,
  rayleighRitzOp,
  resolveNormalizer,
  type RsvdMethod,
  type RsvdNormalizer,
} from './rsvd.js';

export interface RangeFinderOptions {
  /** Columns l of the test matrix, required: 1 <= l <= min(m, n) (rsvd uses l = min(k + p, min(m, n))). */
  size: number;
  /**
   * Power (subspace) or Krylov iterations q (default 2, torch's `get_approximate_basis` and fbpca's
   * choice; sklearn's `randomized_range_finder` has no default). Each costs two passes over A.
   */
  powerIters?: number;
  /** 'subspace' (default; HMT with re-orthonormalization after every product) or 'krylov' (block Krylov). */
  method?: RsvdMethod;
  /**
   * Normalizer between products, as rsvd's: 'auto' (default) = 'qr'; 'cholqr2'; 'lu'; 'none' (refused for
   * powerIters > 1 in f32). The returned basis is orthonormal whichever is chosen.
   */
  normalizer?: RsvdNormalizer;
  /** Seed of the Gaussian test matrix (default 0). */
  seed?: number;
}

const RANGE_OPTIONS = ['size', 'powerIters', 'method', 'normalizer', 'seed'] as const;

/**
 * An orthonormal basis Q of the approximate range of A (Mat, SparseMat or LinearOperator), on A's
 * engine: HMT's randomized range finder with subspace iteration (sklearn's `randomized_range_finder`),
 * or randomized block Krylov. Q is m x l for 'subspace' and m x min(l (q + 1), min(m, n)) for 'krylov'.
 *
 * Ownership: Q is a new matrix owned by the caller (dispose it); A is not modified.
 *
 * The same options give the basis `rsvd` uses: `rsvd(A, { rank: k, oversample: p, powerIters: q, method,
 * normalizer, seed })` equals `rayleighRitz(A, await rangeFinder(A, { size: min(k + p, min(m, n)),
 * powerIters: q, method, normalizer, seed }), k)` bit for bit for an integer q (without presets or
 * centering; rsvd's default powerIters 'auto' stops adaptively and has no rangeFinder counterpart).
 *
 * @throws TypeError/RangeError naming 'rangeFinder' and the argument: bad A, size outside
 *   [1, min(m, n)], unknown options; RangeError when A's values make the basis non-finite.
 *
 * @example
 * ```ts
 * const Q = await rangeFinder(A, { size: 30, powerIters: 4, seed: 1 });    // m x 30, Q^T Q = I
 * const { U, S, V } = await rayleighRitz(A, Q, 20);                        // = rsvd(A, { rank: 20, oversample: 10, powerIters: 4, seed: 1 })
 * Q.dispose();
 * ```
 */
export async function rangeFinder<D extends DType>(A: MatrixLike<D>, options: RangeFinderOptions): Promise<Mat<D>> {
  const fn = 'rangeFinder';
  const op = toOperator(fn, A);
  if (options === null || typeof options !== 'object') throw typeError(fn, `options { size, ... } are required`);
  const o = checkOptions<RangeFinderOptions>(fn, options, RANGE_OPTIONS);
  if (o.size === undefined) throw typeError(fn, `'size' is required`);
  const l = checkInt(fn, 'size', o.size, 1, Math.min(op.rows, op.cols));
  const method = checkOneOf(fn, 'method', o.method, ['subspace', 'krylov'] as const, 'subspace');
  const q = o.powerIters === undefined ? 2 : checkInt(fn, 'powerIters', o.powerIters, 0, 1000);
  const norm = resolveNormalizer(fn, o.normalizer, () => 'qr', q, op.eng.dtype);
  const seed = checkSeed(fn, o.seed);
  const Q = await rangeBasis(op, { l, q, method, norm, seed, uniform: false });
  if (!(await allFinite(op.eng, Q))) {
    Q.dispose();
    throw rangeError(fn, 'non-finite basis: A (or the values an operator returned) contains NaN or Infinity, or overflowed');
  }
  return Q;
}

/**
 * Rayleigh-Ritz projection of A on an orthonormal basis Q (m x c): the SVD of the small B = Q^T A
 * (computed as B^T = A^T Q, one pass over A), lifted back as U = Q U_B, cut to the top k triplets, with
 * sklearn's `svd_flip` sign convention (the largest-|.| entry of every column of U is positive).
 * Q's columns must be orthonormal (e.g. from {@link rangeFinder}); this is not checked.
 *
 * Ownership: Q is NOT consumed (it stays the caller's, to dispose or reuse); U (m x k) and V (n x k) are
 * new matrices owned by the caller. S holds the k singular values, descending.
 *
 * @throws TypeError/RangeError naming 'rayleighRitz' and the argument: bad A; Q not a Mat of A's engine,
 *   disposed, or without A.rows rows; k outside [1, min(Q.cols, A.cols)]; RangeError when the factors
 *   are non-finite.
 *
 * @example
 * ```ts
 * const Q = await rangeFinder(A, { size: 20 });
 * const { U, S, V } = await rayleighRitz(A, Q, 10);   // A ~ U diag(S) V^T
 * Q.dispose(); U.dispose(); V.dispose();
 * ```
 */
export async function rayleighRitz<D extends DType>(
  A: MatrixLike<D>,
  Q: Mat<D>,
  k: number,
): Promise<{ U: Mat<D>; S: Float64Array; V: Mat<D> }> {
  const fn = 'rayleighRitz';
  const op = toOperator(fn, A);
  op.eng._mats(fn, { Q });
  if (Q.rows !== op.rows) throw rangeError(fn, `'Q' must have A.rows = ${op.rows} rows, got ${Q.rows} x ${Q.cols}`);
  const kk = checkInt(fn, 'k', k, 1, Number.MAX_SAFE_INTEGER);
  if (kk > Math.min(Q.cols, op.cols))
    throw rangeError(fn, `'k' must be at most min(Q.cols, A.cols) = ${Math.min(Q.cols, op.cols)}, got ${kk}`);
  const res = await rayleighRitzOp(op, Q, kk);
  await checkFiniteTriplets(fn, op.eng, res);
  return res;
}

/**
 * sklearn's `svd_flip` (u-based): every column of U is multiplied by the sign that makes its
 * largest-magnitude entry positive (the first such entry on ties), and the same column of V by the same
 * sign, so U diag(S) V^T is unchanged. U is m x k and V is n x k (columns are singular vectors, as rsvd
 * returns them; not sklearn's k x n Vt). Only the k signs come back to the host.
 *
 * Ownership: U and V are NOT consumed; the flipped pair is two new matrices owned by the caller (also
 * when no sign changes).
 *
 * @throws TypeError/RangeError naming 'svdFlip': U or V not a Mat, disposed or of different engines, or
 *   U.cols !== V.cols.
 *
 * @example
 * ```ts
 * const { U, S, V } = await eng.svd(A);
 * const f = await svdFlip(U, V);   // f.U, f.V: deterministic signs
 * U.dispose(); V.dispose();
 * ```
 */
export async function svdFlip<D extends DType>(U: Mat<D>, V: Mat<D>): Promise<{ U: Mat<D>; V: Mat<D> }> {
  const fn = 'svdFlip';
  if (!(U instanceof Mat)) throw typeError(fn, `'U' must be a Mat (create one with engine.matrix())`);
  const eng = U.engine;
  eng._mats(fn, { U, V });
  if (U.cols !== V.cols) throw rangeError(fn, `'U' and 'V' must have the same number of columns, got ${U.cols} and ${V.cols}`);
  const signs = await flipSigns(eng, U);
  const U2 = await eng.scaleColumns(U, signs);
  try {
    return { U: U2, V: await eng.scaleColumns(V, signs) };
  } catch (e) {
    U2.dispose();
    throw e;
  }
}
