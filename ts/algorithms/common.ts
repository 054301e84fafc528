/** Small helpers shared by the algorithms (engine primitives only). */
import type { Engine } from '../engine.js';
import { describeValue, rangeError, typeError } from '../errors.js';
import { Mat } from '../mat.js';
import type { DType } from '../types.js';

/**
 * Checks that `v` is a live Mat of a live engine (of `eng` when given) and returns it: a TypeError naming
 * `fn` and `name` otherwise. The algorithms' argument check.
 */
export function checkMat<D extends DType>(fn: string, name: string, v: unknown, eng?: Engine<D>): Mat<D> {
  if (!(v instanceof Mat)) throw typeError(fn, `'${name}' must be a Mat (create one with engine.matrix()), got ${describeValue(v)}`);
  (eng ?? (v as Mat<D>).engine)._mats(fn, { [name]: v as Mat<D> });
  return v as Mat<D>;
}

/** RangeError naming `fn` and `name` unless every entry of A is finite (one scalar reduction comes back). */
export async function checkFiniteMat<D extends DType>(fn: string, name: string, A: Mat<D>): Promise<void> {
  if (!Number.isFinite(await A.engine.norm(A, 'max'))) throw rangeError(fn, `'${name}' contains NaN or Infinity`);
}

/** {@link checkMat} and {@link checkFiniteMat} in one: the Mat, live and finite. */
export async function finiteMat<D extends DType>(fn: string, name: string, v: unknown, eng?: Engine<D>): Promise<Mat<D>> {
  const M = checkMat(fn, name, v, eng);
  await checkFiniteMat(fn, name, M);
  return M;
}

/** Rows `idx` of X on the device (a 0/1 selection matrix times X; nothing comes back to the host). */
export async function gatherRows<D extends DType>(eng: Engine<D>, X: Mat<D>, idx: ArrayLike<number>): Promise<Mat<D>> {
  const m = idx.length;
  const S = eng.sparse({
    rows: m,
    cols: X.rows,
    row: Int32Array.from({ length: m }, (_, i) => i),
    col: Int32Array.from(idx),
    val: new Float64Array(m).fill(1),
  });
  try {
    return await eng.spmm(S, X);
  } finally {
    S.dispose();
  }
}

/** Disposes every argument that is a matrix (null/undefined ignored). */
export function disposeAll(...mats: ReadonlyArray<Mat | null | undefined>): void {
  for (const m of mats) m?.dispose();
}

/**
 * sklearn's `svd_flip` (u-based): for every column of U, make its largest-magnitude entry positive and
 * flip the same column of V. Only the k signs come back to the host. Consumes U and V (disposed) and
 * returns the flipped pair.
 */
export async function svdFlip<D extends DType>(eng: Engine<D>, U: Mat<D>, V: Mat<D>): Promise<{ U: Mat<D>; V: Mat<D> }> {
  const signs = await flipSigns(eng, U);
  if (signs.every((s) => s === 1)) return { U, V };
  const U2 = await eng.scaleColumns(U, signs);
  const V2 = await eng.scaleColumns(V, signs);
  U.dispose();
  V.dispose();
  return { U: U2, V: V2 };
}

/** svd_flip's signs: -1 for the columns of U whose largest-magnitude entry is negative, else 1. */
export async function flipSigns<D extends DType>(eng: Engine<D>, U: Mat<D>): Promise<Float64Array> {
  const { value } = await eng.colAbsMax(U);
  return Float64Array.from(value, (v) => (v < 0 ? -1 : 1));
}

/**
 * True when every matrix holds only finite values (one scalar reduction each comes back to the host):
 * the check an algorithm makes on its outputs before returning them.
 */
export async function allFinite<D extends DType>(eng: Engine<D>, ...mats: Mat<D>[]): Promise<boolean> {
  for (const m of mats) if (!Number.isFinite(await eng.norm(m, 'max'))) return false;
  return true;
}

/** Unit roundoff of a dtype (2^-53 or 2^-24). */
export function unitRoundoff(dtype: DType): number {
  return dtype === 'f64' ? 2 ** -53 : 2 ** -24;
}

/**
 * One CholeskyQR pass from engine primitives: G = Y^T Y, L = chol(G), returns Y L^-T (Y is kept). Null
 * when G is not numerically positive definite (the caller falls back to Householder QR or another route).
 */
export async function cholQRPass<D extends DType>(eng: Engine<D>, Y: Mat<D>): Promise<Mat<D> | null> {
  const f = await cholQRFactor(eng, Y);
  f?.L.dispose();
  return f?.Q ?? null;
}

/**
 * {@link cholQRPass} that also returns the Cholesky factor L (Y = Q L^T), from a Gram G = Y^T Y the caller
 * already has (kept) or computed here. Null when G is not numerically positive definite.
 */
export async function cholQRFactor<D extends DType>(eng: Engine<D>, Y: Mat<D>, gram?: Mat<D>): Promise<{ Q: Mat<D>; L: Mat<D> } | null> {
  const G = gram ?? (await eng.matmul(Y, Y, { transA: true }));
  let L: Mat<D>;
  try {
    L = await eng.cholesky(G);
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  } finally {
    if (!gram) G.dispose();
  }
  const I = eng.eye(L.rows);
  try {
    const Linv = await eng.solveTriangular(L, I, { lower: true });
    try {
      return { Q: await eng.matmul(Y, Linv, { transB: true }), L };
    } finally {
      Linv.dispose();
    }
  } catch (e) {
    L.dispose();
    throw e;
  } finally {
    I.dispose();
  }
}

/** Seconds since `t0` (performance.now() milliseconds). */
export function secondsSince(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/** The median of |v| (v non-empty). */
export function medianAbs(v: ArrayLike<number>): number {
  const a = Float64Array.from(v, Math.abs).sort();
  const k = a.length;
  return k % 2 ? a[(k - 1) / 2] : 0.5 * (a[k / 2 - 1] + a[k / 2]);
}
