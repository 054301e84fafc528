/**
 * Vector quantization on top of kmeans: low-rank VQ (LR^2VQ: project the rows of W onto its top `dim`
 * right singular vectors, cut the projected coordinates into subvectors, one k-means codebook over
 * all of them) and codebook reduction (k-means over the codewords of a trained codebook, as the
 * fine-tuned-VQGAN codebook clustering does).
 */
import type { Engine } from '../../engine.js';
import { checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { kmeans } from '../cluster/kmeans.js';
import { allFinite, disposeAll } from '../common.js';
import { rsvd } from '../rsvd/rsvd.js';

export interface LowRankVQOptions {
  /** Dimension of the subspace, 1 <= dim <= min(m, n) (required). */
  dim: number;
  /** Subvector length, dividing dim (default: dim, one vector per row). */
  subvector?: number;
  /** Codebook size, 1 <= k <= m * dim / subvector (required). */
  k: number;
  /** Most k-means iterations (default 100). */
  iters?: number;
  /** Seed of k-means++ (and of the randomized SVD) (default 0). */
  seed?: number;
  /** 'exact' (default: eng.svd, the optimal subspace) or 'randomized' (rsvd, rank dim, for large W). */
  svd?: 'exact' | 'randomized';
}

export interface LowRankVQResult<D extends DType = DType> {
  /** n x dim, orthonormal columns: the top right singular vectors of W (owned by the caller). */
  basis: Mat<D>;
  /** k x subvector codewords (owned by the caller). */
  codebook: Mat<D>;
  /**
   * Code of every subvector, row-major: codes[i * (dim / subvector) + j] is the codeword of
   * coordinates [j * subvector, (j + 1) * subvector) of row i of W basis.
   */
  codes: Int32Array;
  /** Rows m of W, dim, subvector. */
  rows: number;
  dim: number;
  subvector: number;
  /** k-means inertia: ||W basis - Z_q||_F^2 over the projected coordinates. */
  inertia: number;
  /** W_q = Z_q basis^T (m x n, a new matrix), Z_q the codewords laid out by `codes`. */
  reconstruct(): Promise<Mat<D>>;
}

const VQ_OPTIONS = ['dim', 'subvector', 'k', 'iters', 'seed', 'svd'] as const;

/** Rows `labels` of C as one matrix (the one-hot selection times C, on the device). */
async function gather<D extends DType>(eng: Engine<D>, C: Mat<D>, labels: Int32Array): Promise<Mat<D>> {
  const n = labels.length;
  const S = eng.sparse({
    rows: n,
    cols: C.rows,
    row: Int32Array.from({ length: n }, (_, i) => i),
    col: labels,
    val: new Float64Array(n).fill(1),
  });
  try {
    return await eng.spmm(S, C);
  } finally {
    S.dispose();
  }
}

function checkMat(fn: string, name: string, W: unknown): asserts W is Mat {
  if (!(W instanceof Mat)) throw typeError(fn, `'${name}' must be a Mat, got ${typeof W}`);
  if (W.disposed) throw typeError(fn, `'${name}' has been disposed`);
}

/**
 * LR^2VQ: Z = W V (m x dim) with V the top `dim` right singular vectors of W, each row of Z cut into
 * dim / subvector subvectors (a reshape: the subvectors are the rows of an (m dim / subvector) x
 * subvector matrix), and one k-means codebook (k-means++, Lloyd on the device) over all of them.
 * Storage: basis n dim + codebook k subvector floats + m dim / subvector codes of ceil(log2 k) bits.
 *
 * @throws TypeError/RangeError naming 'lowRankVQ' and the argument: W not a finite Mat, dim outside
 *   [1, min(m, n)], subvector not dividing dim, k outside [1, m dim / subvector], unknown options.
 */
export async function lowRankVQ<D extends DType>(W: Mat<D>, options: LowRankVQOptions): Promise<LowRankVQResult<D>> {
  const fn = 'lowRankVQ';
  checkMat(fn, 'W', W);
  if (options === null || typeof options !== 'object') throw typeError(fn, `options must be an object with 'dim' and 'k'`);
  const o = checkOptions<LowRankVQOptions>(fn, options, VQ_OPTIONS);
  const eng = W.engine as Engine<D>;
  const m = W.rows,
    n = W.cols;
  if (o.dim === undefined) throw typeError(fn, `'dim' is required`);
  if (o.k === undefined) throw typeError(fn, `'k' is required`);
  const dim = checkInt(fn, 'dim', o.dim, 1, Math.min(m, n));
  const sv = o.subvector === undefined ? dim : checkInt(fn, 'subvector', o.subvector, 1, dim);
  if (dim % sv !== 0) throw rangeError(fn, `'subvector' (${sv}) must divide 'dim' (${dim})`);
  const count = (m * dim) / sv;
  const k = checkInt(fn, 'k', o.k, 1, Number.MAX_SAFE_INTEGER);
  if (k > count) throw rangeError(fn, `'k' (${k}) must not exceed the number of subvectors m dim / subvector = ${count}`);
  const iters = o.iters === undefined ? 100 : checkInt(fn, 'iters', o.iters, 1, 1e9);
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  const how = checkOneOf(fn, 'svd', o.svd, ['exact', 'randomized'] as const, 'exact');
  if (!(await allFinite(eng, W))) throw rangeError(fn, `'W' must be finite`);

  let basis: Mat<D> | null = null;
  let Z: Mat<D> | null = null,
    S: Mat<D> | null = null;
  try {
    if (how === 'exact') {
      const f = await eng.svd(W);
      basis = dim === f.V.cols ? f.V : await eng.slice(f.V, { cols: [0, dim] });
      if (basis !== f.V) f.V.dispose();
      disposeAll(f.U);
    } else {
      const f = await rsvd(W, { rank: dim, seed });
      basis = f.V;
      f.U.dispose();
    }
    Z = await eng.matmul(W, basis);
    S = await eng.reshape(Z, count, sv);
    const km = await kmeans(S, { k, iters, seed });
    const B = basis,
      C = km.centers;
    return {
      basis: B,
      codebook: C,
      codes: km.labels,
      rows: m,
      dim,
      subvector: sv,
      inertia: km.inertia,
      reconstruct: async () => {
        const G = await gather(eng, C, km.labels);
        let Zq: Mat<D> | null = null;
        try {
          Zq = await eng.reshape(G, m, dim);
          return await eng.matmul(Zq, B, { transB: true });
        } finally {
          disposeAll(G, Zq);
        }
      },
    };
  } catch (e) {
    basis?.dispose();
    throw e;
  } finally {
    disposeAll(Z, S);
  }
}

export interface ReduceCodebookOptions {
  /** Size of the reduced codebook, 1 <= k <= K (required). */
  k: number;
  /** Most k-means iterations (default 100). */
  iters?: number;
  /** Seed of k-means++ (default 0). */
  seed?: number;
}

export interface ReduceCodebookResult<D extends DType = DType> {
  /** k x d reduced codebook (owned by the caller). */
  codebook: Mat<D>;
  /** For every old codeword its new one (the nearest, first on ties): re-map codes with mapping[code]. */
  mapping: Int32Array;
  /** sum over old codewords of the squared distance to their new one. */
  inertia: number;
}

/**
 * Shrinks a K x d codebook to k codewords by k-means over the codewords (k-means++, Lloyd on the
 * device): the codebook clustering of the fine-tuned-VQGAN paper. Old codes map to new ones through
 * `mapping`. Unweighted: every codeword counts once, whatever its usage.
 *
 * @throws TypeError/RangeError naming 'reduceCodebook' and the argument.
 */
export async function reduceCodebook<D extends DType>(C: Mat<D>, options: ReduceCodebookOptions): Promise<ReduceCodebookResult<D>> {
  const fn = 'reduceCodebook';
  checkMat(fn, 'C', C);
  if (options === null || typeof options !== 'object') throw typeError(fn, `options must be an object with 'k'`);
  const o = checkOptions<ReduceCodebookOptions>(fn, options, ['k', 'iters', 'seed']);
  if (o.k === undefined) throw typeError(fn, `'k' is required`);
  const k = checkInt(fn, 'k', o.k, 1, Number.MAX_SAFE_INTEGER);
  if (k > C.rows) throw rangeError(fn, `'k' (${k}) must not exceed the codebook size ${C.rows}`);
  const iters = o.iters === undefined ? 100 : checkInt(fn, 'iters', o.iters, 1, 1e9);
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  if (!(await allFinite(C.engine, C))) throw rangeError(fn, `'C' must be finite`);
  const r = await kmeans(C, { k, iters, seed });
  return { codebook: r.centers, mapping: r.labels, inertia: r.inertia };
}
