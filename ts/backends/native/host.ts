/**
 * Host (f64) linear algebra for algorithms whose data is small by construction (state-space
 * initializations, N <= 1024): thin wrappers over the native addon that take and return plain
 * Float64Arrays, so the algorithms never touch the addon or a backend. Every call runs off the JS
 * thread when it is large and returns a Promise.
 */
import { loadAddon } from './addon.js';

function threads(): number {
  return loadAddon().info().threads;
}

/** Complex n-vector or row-major n x n matrix in planar storage. */
export interface HostComplex {
  re: Float64Array;
  im: Float64Array;
}

/**
 * Eigendecomposition of a real non-symmetric row-major n x n matrix (Hessenberg + Francis double-shift
 * QR + back-substitution): A V = V diag(values), every column of V of unit 2-norm. Complex pairs are
 * adjacent, the member with positive imaginary part first.
 */
export async function hostEig(A: Float64Array, n: number): Promise<{ values: HostComplex; vectors: HostComplex }> {
  const values = { re: new Float64Array(n), im: new Float64Array(n) };
  const vectors = { re: new Float64Array(n * n), im: new Float64Array(n * n) };
  await loadAddon().eigGeneral(A.slice(), n, values.re, values.im, vectors.re, vectors.im, threads());
  return { values, vectors };
}

/** Eigendecomposition of a complex row-major n x n matrix (complex Schur form + back-substitution), unit columns. */
export async function hostEigComplex(A: HostComplex, n: number): Promise<{ values: HostComplex; vectors: HostComplex }> {
  const values = { re: new Float64Array(n), im: new Float64Array(n) };
  const vectors = { re: new Float64Array(n * n), im: new Float64Array(n * n) };
  await loadAddon().eigGeneralComplex(A.re.slice(), A.im.slice(), n, values.re, values.im, vectors.re, vectors.im, threads());
  return { values, vectors };
}

/** Thin SVD of a real row-major m x n matrix in f64: U (m x k), S (k, descending), V (n x k), k = min(m, n). */
export async function hostSvd(A: Float64Array, m: number, n: number): Promise<{ U: Float64Array; S: Float64Array; V: Float64Array }> {
  const k = Math.min(m, n);
  const U = new Float64Array(m * k),
    S = new Float64Array(k),
    V = new Float64Array(n * k);
  await loadAddon().svd(A.slice(), m, n, U, S, V, threads());
  return { U, S, V };
}

/** Symmetric eigendecomposition (lower triangle read) of a real row-major n x n matrix, values descending. */
export async function hostEigh(A: Float64Array, n: number): Promise<{ values: Float64Array; vectors: Float64Array }> {
  const values = new Float64Array(n),
    vectors = new Float64Array(n * n);
  await loadAddon().eigh(A.slice(), n, values, vectors, threads());
  return { values, vectors };
}
