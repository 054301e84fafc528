/**
 * Linear measurement operators X -> (<A_i, X>)_{i < m} for matrix sensing, and their adjoints
 * r -> sum_i r_i A_i, on the engine (no readback):
 *
 *   - dense Gaussian (or any dense m x N matrix, N = rows * cols, vec row-major): two GEMVs;
 *   - matrix-free Gaussian: A = randn(m, N, { seed, offset }) regenerated inside the kernels on every
 *     call (engine.gaussianApply / gaussianAdjoint), so m x N is never stored; bit-for-bit the same
 *     operator as the dense one built from the same seed, up to summation order;
 *   - entry sampling: A_i = scale * e_j e_k^T on a sparse pattern (SDDMM / SpMM);
 *   - custom: any { apply(X), adjoint(r) } on the engine's matrices.
 */
import type { Engine } from '../../engine.js';
import { checkDim, checkFinite, checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import { Mat, SparseMat } from '../../mat.js';
import type { DType } from '../../types.js';

export interface MeasurementOperator<D extends DType = DType> {
  /** How the operator is stored. */
  readonly kind: 'dense' | 'matrix-free' | 'entries' | 'custom';
  readonly engine: Engine<D>;
  /** Number of measurements. */
  readonly m: number;
  /** Shape of X. */
  readonly rows: number;
  readonly cols: number;
  /** (<A_i, X>)_i as an m x 1 matrix. */
  apply(X: Mat<D>): Promise<Mat<D>>;
  /** sum_i r_i A_i (rows x cols) for r with m entries. */
  adjoint(r: Mat<D>): Promise<Mat<D>>;
  /** Releases matrices the operator owns (the dense matrix, the sparse pattern). */
  dispose(): void;
}

/** A user-supplied operator for {@link robustRecover}: `engine` defaults to the problem's. */
export interface CustomMeasurements<D extends DType = DType> {
  apply(X: Mat<D>): Promise<Mat<D>>;
  adjoint(r: Mat<D>): Promise<Mat<D>>;
  engine?: Engine<D>;
}

/** m x N entries up to which gaussianMeasurements' storage 'auto' keeps the matrix (64 MiB in f32). */
export const DENSE_AUTO_MAX = 2 ** 24;

export interface GaussianMeasurementOptions {
  /** X is n x n (or n x cols). */
  n: number;
  cols?: number;
  m: number;
  /** Philox seed of A (A = randn(m, N, { seed, offset })). */
  seed: number;
  offset?: number;
  /** 'dense' stores A, 'matrix-free' regenerates it per call; 'auto' stores it up to 2^24 entries. */
  storage?: 'auto' | 'dense' | 'matrix-free';
}

/**
 * Gaussian measurements <A_i, X> with A_i iid N(0, 1) entries.
 *
 * @example
 * ```ts
 * const op = await gaussianMeasurements(eng, { n: 100, m: 20000, seed: 1, storage: 'matrix-free' });
 * const y = await op.apply(X);        // 20000 x 1
 * ```
 */
export async function gaussianMeasurements<D extends DType>(
  eng: Engine<D>,
  options: GaussianMeasurementOptions,
): Promise<MeasurementOperator<D>> {
  const fn = 'gaussianMeasurements';
  if (options === null || typeof options !== 'object') throw typeError(fn, `options { n, m, seed } are required`);
  const o = checkOptions<GaussianMeasurementOptions>(fn, options, ['n', 'cols', 'm', 'seed', 'offset', 'storage']);
  const rows = checkDim(fn, 'n', o.n);
  const cols = o.cols === undefined ? rows : checkDim(fn, 'cols', o.cols);
  const m = checkDim(fn, 'm', o.m);
  if (o.seed === undefined) throw typeError(fn, `'seed' is required (it defines the operator)`);
  const seed = checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  const offset = o.offset === undefined ? 0 : checkInt(fn, 'offset', o.offset, 0, Number.MAX_SAFE_INTEGER);
  const storage = checkOneOf(fn, 'storage', o.storage, ['auto', 'dense', 'matrix-free'] as const, 'auto');
  const N = rows * cols;
  const dense = storage === 'dense' || (storage === 'auto' && m * N <= DENSE_AUTO_MAX);
  if (!dense) {
    return {
      kind: 'matrix-free',
      engine: eng,
      m,
      rows,
      cols,
      apply: (X) => eng.gaussianApply(X, m, { seed, offset }),
      adjoint: (r) => eng.gaussianAdjoint(r, rows, cols, { seed, offset }),
      dispose: () => undefined,
    };
  }
  return denseOperator(eng, eng.randn(m, N, { seed, offset }), rows, cols, true);
}

/** Measurements by the rows of a dense m x (rows * cols) matrix A (vec row-major). A is not copied. */
export function denseMeasurements<D extends DType>(A: Mat<D>, rows: number, cols: number = rows): MeasurementOperator<D> {
  const fn = 'denseMeasurements';
  if (!(A instanceof Mat)) throw typeError(fn, `'A' must be a Mat`);
  const r = checkDim(fn, 'rows', rows),
    c = checkDim(fn, 'cols', cols);
  if (A.cols !== r * c) throw rangeError(fn, `A has ${A.cols} columns, expected rows * cols = ${r * c}`);
  return denseOperator(A.engine, A, r, c, false);
}

function denseOperator<D extends DType>(eng: Engine<D>, A: Mat<D>, rows: number, cols: number, owned: boolean): MeasurementOperator<D> {
  const N = rows * cols;
  return {
    kind: 'dense',
    engine: eng,
    m: A.rows,
    rows,
    cols,
    async apply(X) {
      const x = await eng.reshape(X, N, 1);
      try {
        return await eng.matmul(A, x);
      } finally {
        x.dispose();
      }
    },
    async adjoint(r) {
      const rc = r.cols === 1 ? r : await eng.reshape(r, r.rows * r.cols, 1);
      const z = await eng.matmul(A, rc, { transA: true });
      if (rc !== r) rc.dispose();
      const Z = await eng.reshape(z, rows, cols);
      z.dispose();
      return Z;
    },
    dispose: () => {
      if (owned) A.dispose();
    },
  };
}

/**
 * Entry measurements <A_q, X> = scale * X[i_q, j_q] on the pattern of S (measurement q = stored entry q
 * in CSR order; S's values are ignored). The default scale sqrt(rows * cols) makes
 * E <A_q, X>^2 = ||X||_F^2 for uniformly sampled entries, as for Gaussian measurements, so the same
 * step sizes apply.
 */
export function entryMeasurements<D extends DType>(S: SparseMat<D>, options: { scale?: number } = {}): MeasurementOperator<D> {
  const fn = 'entryMeasurements';
  if (!(S instanceof SparseMat)) throw typeError(fn, `'S' must be a SparseMat`);
  const o = checkOptions<{ scale: number }>(fn, options, ['scale']);
  const scale = o.scale === undefined ? Math.sqrt(S.rows * S.cols) : checkFinite(fn, 'scale', o.scale);
  if (!(scale > 0)) throw rangeError(fn, `'scale' must be positive`);
  const nnz = S.nnz;
  if (nnz === 0) throw rangeError(fn, `S stores no entries`);
  const eng = S.engine;
  let I: Mat<D> | null = null;
  const eye = (): Mat<D> => (I ??= eng.eye(S.cols));
  return {
    kind: 'entries',
    engine: eng,
    m: nnz,
    rows: S.rows,
    cols: S.cols,
    async apply(X) {
      const V = await eng.sddmm(S, X, eye()); // X_ij on the pattern
      const v = await eng.sparseValues(V);
      V.dispose();
      const y = await eng.scale(v, scale);
      v.dispose();
      return y;
    },
    async adjoint(r) {
      const R = await eng.withValues(S, r);
      const Z = await eng.spmm(R, eye());
      R.dispose();
      const out = await eng.scale(Z, scale);
      Z.dispose();
      return out;
    },
    dispose: () => {
      I?.dispose();
      I = null;
    },
  };
}
