/**
 * Randomized SVD of a matrix stored as row shards A = [A_1; A_2; ...; A_s], each touched by its own
 * process (a Dask task, a batch job), with only small matrices moving between them. The stages are the
 * in-memory `rsvd`'s (HMT subspace iteration with QR after every product), split into per-shard maps
 * and small reductions:
 *
 *   range     (map)    Y_i = A_i X, local thin QR Y_i = Q_i R_i         X: n x l (the test matrix
 *                                                                          Omega from the seed, or a basis)
 *   tsqr      (reduce) [R_1; ...; R_s] = Qhat R, Qhat cut into blocks Qhat_i: the orthonormal basis of
 *                      Y = A X is Q = blockdiag(Q_i) Qhat, row block i being Q_i Qhat_i (TSQR)
 *   corange   (map)    P_i = A_i^T (Q_i Qhat_i)                          n x l
 *   sum       (reduce) P = sum_i P_i = A^T Q                              associative: any tree
 *   basis     (small)  X = orth(P)                                        the next iteration's X
 *   finish    (small)  P = Ub S Vb^T  =>  Q^T A = Vb S Ub^T: S, V = Ub[:, :k], coefficients C = Vb[:, :k]
 *   u         (map)    U_i = Q_i Qhat_i C                                 the rows of U held by shard i
 *
 * With q power iterations: range, tsqr, corange, sum, basis repeated q times from X = Omega, then range,
 * tsqr, corange, sum and finish; 2q + 2 passes over the data as in memory. Every basis spans what the
 * in-memory rsvd's spans (the same Omega: `eng.randn(n, l, { seed })`), so the result equals rsvd with
 * the same q, oversampling and seed to roundoff. Signs are decided on V (see shardFinish).
 *
 * Error: ||A - U S V^T||_F^2 = ||A||_F^2 - sum_{i<=k} S_i^2 exactly (U S V^T = U U^T A), so summing
 * ||A_i||_F^2 in the range maps gives the error without another pass (relative accuracy ~ u ||A||_F^2 /
 * error^2: meaningful while the error exceeds ~1e-3 ||A||_F in f32).
 */
import type { Engine } from '../../engine.js';
import { rangeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { disposeAll, svdFlip } from '../common.js';

/** A shard's range step: Y_i = A_i X = Q_i R_i. Q is null when A_i has fewer rows than X has columns (then R = Y_i). */
export interface ShardRange<D extends DType> {
  Q: Mat<D> | null;
  R: Mat<D>;
  /** ||A_i||_F^2 (f64). */
  sumSquares: number;
}

/** The Gaussian start of the range finder: the same n x l matrix as rsvd's (`eng.randn(n, l, { seed })`). */
export function shardTestMatrix<D extends DType>(eng: Engine<D>, cols: number, size: number, seed: number): Mat<D> {
  return eng.randn(cols, size, { seed });
}

/** Range map: Y_i = A_i X and its local thin QR (R_i = Y_i when A_i has fewer rows than l). */
export async function shardRange<D extends DType>(eng: Engine<D>, A: Mat<D>, X: Mat<D>, sumSquares?: number): Promise<ShardRange<D>> {
  if (A.cols !== X.rows) throw rangeError('shardRange', `the shard has ${A.cols} columns, the basis ${X.rows} rows`);
  sumSquares ??= (await eng.norm(A, 'fro')) ** 2; // callers that scanned the data already pass it
  const Y = await eng.matmul(A, X);
  if (Y.rows < Y.cols) return { Q: null, R: Y, sumSquares };
  try {
    const { Q, R } = await eng.qr(Y);
    return { Q, R, sumSquares };
  } finally {
    Y.dispose();
  }
}

/**
 * TSQR reduction: the QR of the stacked R_i. Returns Qhat's row blocks (block i has R_i's rows) and R.
 * Needs at least l rows in total (the matrix has at least as many rows as the sketch has columns).
 */
export async function tsqrReduce<D extends DType>(eng: Engine<D>, Rs: readonly Mat<D>[]): Promise<{ blocks: Mat<D>[]; R: Mat<D> }> {
  const total = Rs.reduce((s, r) => s + r.rows, 0);
  const l = Rs[0].cols;
  if (total < l) throw rangeError('tsqrReduce', `the shards hold ${total} rows in all, fewer than the ${l} sketch columns`);
  const S = Rs.length === 1 ? await eng.scale(Rs[0], 1) : await eng.vstack([...Rs]);
  let Qh: Mat<D>;
  let R: Mat<D>;
  try {
    ({ Q: Qh, R } = await eng.qr(S));
  } finally {
    S.dispose();
  }
  const blocks: Mat<D>[] = [];
  try {
    let r0 = 0;
    for (const r of Rs) {
      blocks.push(await eng.slice(Qh, { rows: [r0, r0 + r.rows] }));
      r0 += r.rows;
    }
  } catch (e) {
    disposeAll(...blocks, R);
    throw e;
  } finally {
    Qh.dispose();
  }
  return { blocks, R };
}

/** Shard i's rows of the global orthonormal basis: Q_i Qhat_i (Qhat_i itself when Q_i is null). */
export async function shardBasisRows<D extends DType>(eng: Engine<D>, Q: Mat<D> | null, Qhat: Mat<D>): Promise<Mat<D>> {
  return Q ? eng.matmul(Q, Qhat) : eng.scale(Qhat, 1);
}

/**
 * Corange map: P_i = A_i^T (Q_i Qhat_i), n x l, formed as (Qi^T A_i)^T: the GEMM with the transposed
 * small operand is about 1.5x faster than transposing the shard (measured on 10,000 x 2,000, l 60).
 */
export async function shardCorange<D extends DType>(eng: Engine<D>, A: Mat<D>, Q: Mat<D> | null, Qhat: Mat<D>): Promise<Mat<D>> {
  const Qi = await shardBasisRows(eng, Q, Qhat);
  let Pt: Mat<D>;
  try {
    Pt = await eng.matmul(Qi, A, { transA: true }); // l x n
  } finally {
    Qi.dispose();
  }
  try {
    return await eng.transpose(Pt);
  } finally {
    Pt.dispose();
  }
}

/** The next iteration's basis X = orth(P) (P = sum_i P_i, n x l). */
export async function shardNextBasis<D extends DType>(eng: Engine<D>, P: Mat<D>): Promise<Mat<D>> {
  const { Q, R } = await eng.qr(P);
  R.dispose();
  return Q;
}

/**
 * Rayleigh-Ritz from P = A^T Q (n x l): S (k values), V (n x k) and the coefficients C (l x k) with
 * U = Q C. Signs are decided on V, which is in one place (sklearn's svd_flip with
 * u_based_decision=False: the largest-|.| entry of each column of V is positive); C follows.
 */
export async function shardFinish<D extends DType>(
  eng: Engine<D>,
  P: Mat<D>,
  k: number,
): Promise<{ S: Float64Array; V: Mat<D>; C: Mat<D> }> {
  const { U: Ub, S, V: Vb } = await eng.svd(P); // P = Ub S Vb^T
  const kk = Math.min(k, S.length);
  try {
    const V0 = await eng.slice(Ub, { cols: [0, kk] });
    const C0 = await eng.slice(Vb, { cols: [0, kk] });
    const { U: V, V: C } = await svdFlip(eng, V0, C0);
    return { S: S.slice(0, kk), V, C };
  } finally {
    disposeAll(Ub, Vb);
  }
}
