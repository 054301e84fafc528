/**
 * Tucker decomposition by the (classical, not sequentially truncated) higher-order SVD (De Lathauwer, De
 * Moor, Vandewalle 2000) for N-d weights, e.g. FLoRA's low-rank core space for conv kernels
 * (out x in x kh x kw): T ~ G x_1 U_1 x_2 U_2 ... x_N U_N with U_k (shape[k] x ranks[k]) the leading left
 * singular vectors of the mode-k unfolding T_(k) and the core G = T x_1 U_1^T ... x_N U_N^T.
 *
 * Quasi-optimality: ||T - T_hat||_F^2 <= sum_k sum_{i > r_k} sigma_i(T_(k))^2 (each term is at most the
 * best rank-(r_1..r_N) error, so the HOSVD is within sqrt(N) of optimal).
 *
 * Layout: tensors are row-major (C order, the last index fastest), as a flat Float32Array / Float64Array or
 * a Mat whose row-major entries are the tensor (e.g. a conv kernel as out x (in kh kw)). Host vs device:
 * the unfoldings and folds are host-side index permutations (the tensor is downloaded once when a Mat);
 * every product, Gram, SVD and eigh runs on the engine.
 */
import type { Engine } from '../../engine.js';
import { checkOneOf, checkOptions, describeValue, firstNonFinite, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { checkMat, disposeAll } from '../common.js';

export type TensorInput<D extends DType = DType> = Float32Array | Float64Array | Mat<D>;

export interface HosvdResult<D extends DType = DType> {
  /** The core, row-major (C order) with shape `coreShape` = ranks, on the host in f64. */
  core: Float64Array;
  coreShape: number[];
  /** U_k (shape[k] x ranks[k]), orthonormal columns. Owned by the caller. */
  factors: Mat<D>[];
  /** The singular values of each unfolding T_(k), descending (length min(shape[k], n / shape[k]) or shape[k]). */
  modeSingularValues: Float64Array[];
  /** sqrt(sum_k sum_{i > r_k} sigma_i(T_(k))^2), the bound on ||T - T_hat||_F. */
  errorBound: number;
}

function prod(a: readonly number[]): number {
  return a.reduce((p, v) => p * v, 1);
}

/** Mode-k unfolding (shape[k] x n / shape[k]); the other indices in C order. */
export function unfoldHost(data: ArrayLike<number>, shape: readonly number[], k: number): Float64Array {
  const n = prod(shape),
    nk = shape[k];
  const stride = prod(shape.slice(k + 1)); // product of the dims after k
  const rest = n / nk;
  const X = new Float64Array(n);
  for (let idx = 0; idx < n; idx++) {
    const after = idx % stride;
    const q = (idx - after) / stride;
    const ik = q % nk;
    const before = (q - ik) / nk;
    X[ik * rest + before * stride + after] = data[idx];
  }
  return X;
}

/** Inverse of {@link unfoldHost}. */
export function foldHost(X: ArrayLike<number>, shape: readonly number[], k: number): Float64Array {
  const n = prod(shape),
    nk = shape[k];
  const stride = prod(shape.slice(k + 1));
  const rest = n / nk;
  const out = new Float64Array(n);
  for (let idx = 0; idx < n; idx++) {
    const after = idx % stride;
    const q = (idx - after) / stride;
    const ik = q % nk;
    const before = (q - ik) / nk;
    out[idx] = X[ik * rest + before * stride + after];
  }
  return out;
}

/** T x_k op(M): op(M) = M (p x shape[k]) or M^T (M shape[k] x p); the result has shape[k] replaced by p. */
async function modeProduct<D extends DType>(
  eng: Engine<D>,
  data: Float64Array,
  shape: number[],
  k: number,
  M: Mat<D>,
  trans: boolean,
): Promise<{ data: Float64Array; shape: number[] }> {
  const nk = shape[k];
  const rest = data.length / nk;
  const X = unfoldHost(data, shape, k);
  const Xm = eng.matrix(eng.dtype === 'f64' ? X : Float32Array.from(X), nk, rest);
  let Y: Mat<D> | undefined;
  try {
    Y = await eng.matmul(M, Xm, { transA: trans });
    const p = Y.rows;
    const newShape = shape.slice();
    newShape[k] = p;
    return { data: foldHost(Float64Array.from(await Y.toArray()), newShape, k), shape: newShape };
  } finally {
    disposeAll(Xm, Y);
  }
}

function checkShape(fn: string, name: string, v: unknown): number[] {
  if (!Array.isArray(v)) throw typeError(fn, `'${name}' must be an array of positive integers, got ${describeValue(v)}`);
  if (v.length === 0) throw rangeError(fn, `'${name}' is empty (a tensor needs at least one mode)`);
  v.forEach((d, i) => {
    if (typeof d !== 'number') throw typeError(fn, `'${name}[${i}]' must be a number, got ${describeValue(d)}`);
    if (!Number.isInteger(d) || d < 1) throw rangeError(fn, `'${name}[${i}]' must be a positive integer, got ${d}`);
  });
  if (prod(v as number[]) > 2 ** 31 - 1) throw rangeError(fn, `'${name}' has ${prod(v as number[])} entries (over 2^31 - 1)`);
  return (v as number[]).slice();
}

async function tensorData<D extends DType>(
  fn: string,
  name: string,
  t: unknown,
  n: number,
  eng0: Engine<D> | undefined,
): Promise<{ data: Float64Array; eng: Engine<D> }> {
  if (t instanceof Mat) {
    const M = checkMat<D>(fn, name, t, eng0);
    if (M.rows * M.cols !== n) throw rangeError(fn, `'${name}' has ${M.rows * M.cols} entries, the shape needs ${n}`);
    const data = Float64Array.from(await M.toArray());
    if (firstNonFinite(data) >= 0) throw rangeError(fn, `'${name}' contains NaN or Infinity`);
    return { data, eng: M.engine };
  }
  if (!(t instanceof Float32Array || t instanceof Float64Array))
    throw typeError(fn, `'${name}' must be a Float32Array, Float64Array or Mat, got ${describeValue(t)}`);
  if (!eng0) throw typeError(fn, `a typed-array '${name}' needs options.engine`);
  if (t.length !== n) throw rangeError(fn, `'${name}' has length ${t.length}, the shape needs ${n}`);
  const bad = firstNonFinite(t);
  if (bad >= 0) throw rangeError(fn, `'${name}[${bad}]' = ${t[bad]} is not finite`);
  return { data: Float64Array.from(t), eng: eng0 };
}

function checkEngine<D extends DType>(fn: string, e: unknown): Engine<D> | undefined {
  if (e === undefined) return undefined;
  if (e === null || typeof e !== 'object' || typeof (e as Engine<D>).matrix !== 'function')
    throw typeError(fn, `'engine' must be an Engine, got ${describeValue(e)}`);
  return e as Engine<D>;
}

export interface HosvdOptions<D extends DType = DType> {
  /** The engine, required when the tensor is a typed array (a Mat brings its own). */
  engine?: Engine<D>;
  /**
   * How U_k comes from the unfolding T_(k) (shape[k] x n / shape[k]):
   * 'svd' (default): the leading left singular vectors by eng.svd (singular values accurate to roundoff
   * relative to sigma_1, so errorBound is too);
   * 'gram': the leading eigenvectors of the Gram T_(k) T_(k)^T (shape[k] x shape[k]) by eng.eigh, sigma =
   * sqrt(max(lambda, 0)); cheaper for very wide unfoldings (no right vectors), but singular values below
   * ~sqrt(u) sigma_1 are not resolved (errorBound then carries an error of that size).
   * Either way, a mode asking for more columns than its unfolding has (ranks[k] > n / shape[k]) takes the
   * Gram's full eigenbasis for U_k (the spectrum still from the SVD under 'svd').
   */
  method?: 'svd' | 'gram';
}

/**
 * The truncated HOSVD of a tensor with the given shape to multilinear ranks `ranks` (ranks[k] in
 * [1, shape[k]]): U_k the leading ranks[k] left singular vectors of each unfolding (see
 * {@link HosvdOptions.method}), core = T x_k U_k^T. Ranks equal to the multilinear rank reproduce T to
 * roundoff.
 *
 * @throws TypeError/RangeError naming 'hosvd' and the argument: shape / ranks not arrays of positive
 *   integers of one length, ranks[k] > shape[k], tensor of the wrong size or non-finite, no engine for a
 *   typed array, unknown method.
 */
export async function hosvd<D extends DType>(
  tensor: TensorInput<D>,
  shape: number[],
  ranks: number[],
  options?: HosvdOptions<D>,
): Promise<HosvdResult<D>> {
  const fn = 'hosvd';
  const sh = checkShape(fn, 'shape', shape);
  const rk = checkShape(fn, 'ranks', ranks);
  if (rk.length !== sh.length) throw rangeError(fn, `'ranks' has ${rk.length} entries, 'shape' has ${sh.length}`);
  rk.forEach((r, k) => {
    if (r > sh[k]) throw rangeError(fn, `'ranks[${k}]' = ${r} exceeds shape[${k}] = ${sh[k]}`);
  });
  const o = checkOptions<HosvdOptions<D>>(fn, options, ['engine', 'method']);
  const method = checkOneOf(fn, 'method', o.method, ['svd', 'gram'] as const, 'svd');
  const { data, eng } = await tensorData<D>(fn, 'tensor', tensor, prod(sh), checkEngine<D>(fn, o.engine));
  const n = data.length;
  const factors: Mat<D>[] = [];
  const modeSingularValues: Float64Array[] = [];
  let tail = 0;
  try {
    for (let k = 0; k < sh.length; k++) {
      const nk = sh[k],
        rest = n / nk,
        r = rk[k];
      const X = unfoldHost(data, sh, k);
      const Xm = eng.matrix(eng.dtype === 'f64' ? X : Float32Array.from(X), nk, rest);
      let full: Mat<D> | undefined;
      try {
        let sv: Float64Array | undefined;
        if (method === 'svd') {
          const f = await eng.svd(Xm);
          f.V.dispose();
          sv = f.S;
          if (r <= f.U.cols) full = f.U;
          else f.U.dispose();
        }
        if (!full) {
          const Gm = await eng.matmul(Xm, Xm, { transB: true });
          try {
            const { values, vectors } = await eng.eigh(Gm);
            full = vectors;
            sv ??= Float64Array.from(values, (v) => Math.sqrt(Math.max(v, 0)));
          } finally {
            Gm.dispose();
          }
        }
        const s = sv as Float64Array;
        modeSingularValues.push(s);
        for (let i = r; i < s.length; i++) tail += s[i] * s[i];
        if (full.cols === r) {
          factors.push(full);
          full = undefined;
        } else factors.push(await eng.slice(full, { cols: [0, r] }));
      } finally {
        disposeAll(Xm, full);
      }
    }
    let cur = { data, shape: sh.slice() };
    for (let k = 0; k < sh.length; k++) cur = await modeProduct(eng, cur.data, cur.shape, k, factors[k], true);
    return { core: cur.data, coreShape: rk, factors, modeSingularValues, errorBound: Math.sqrt(tail) };
  } catch (e) {
    disposeAll(...factors);
    throw e;
  }
}

/**
 * The full tensor G x_1 U_1 ... x_N U_N (row-major, f64 on the host) from a core (shape factors[k].cols,
 * C order; a typed array or a Mat holding those entries) and factors U_k (shape[k] x r_k). `shape` must
 * equal the factors' row counts (checked).
 *
 * @throws TypeError/RangeError naming 'tuckerReconstruct' and the argument: factors not a non-empty array
 *   of live Mats of one engine, shape disagreeing with them, a core of the wrong size or non-finite.
 */
export async function tuckerReconstruct<D extends DType>(core: TensorInput<D>, factors: Mat<D>[], shape: number[]): Promise<Float64Array> {
  const fn = 'tuckerReconstruct';
  if (!Array.isArray(factors)) throw typeError(fn, `'factors' must be an array of Mats, got ${describeValue(factors)}`);
  if (factors.length === 0) throw rangeError(fn, `'factors' is empty`);
  const f0 = checkMat<D>(fn, 'factors[0]', factors[0]);
  const eng = f0.engine;
  factors.forEach((f, k) => {
    checkMat(fn, `factors[${k}]`, f, eng);
  });
  const sh = checkShape(fn, 'shape', shape);
  if (sh.length !== factors.length) throw rangeError(fn, `'shape' has ${sh.length} entries, 'factors' has ${factors.length}`);
  sh.forEach((d, k) => {
    if (factors[k].rows !== d) throw rangeError(fn, `'factors[${k}]' has ${factors[k].rows} rows, shape[${k}] = ${d}`);
  });
  const cs = factors.map((f) => f.cols);
  const { data } = await tensorData<D>(fn, 'core', core, prod(cs), eng);
  let cur = { data, shape: cs };
  for (let k = 0; k < sh.length; k++) cur = await modeProduct(eng, cur.data, cur.shape, k, factors[k], false);
  return cur.data;
}
