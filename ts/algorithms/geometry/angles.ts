/**
 * Principal angles between subspaces and the distances built on them (spec section 10).
 *
 * Both inputs are orthonormalized by a thin SVD with scipy's `orth` rank rule, so a rank-deficient input
 * spans (and is measured by) its numerical column space. The cosines are the singular values of Qx^T Qy;
 * angles below pi/4 are taken from sines instead (Bjorck-Golub 1973, Knyazev-Argentati 2002, as scipy's
 * `subspace_angles`): the singular values of Qy - Qx (Qx^T Qy), which keep full relative accuracy for
 * small angles (arccos(1 - t^2/2) loses them below sqrt(u)). Only the min(p, q) singular values and the
 * two numerical ranks come back to the host; the D x p work stays on the engine.
 */
import type { Engine } from '../../engine.js';
import { checkOneOf, rangeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { checkFiniteMat, checkMat, disposeAll, unitRoundoff } from '../common.js';

/**
 * Orthonormal basis of the numerical column space of A (m x n): the leading r left singular vectors,
 * r = #{ s_i > max(m, n) eps s_1 } with eps = 2u (scipy.linalg.orth's rule). Returns the basis (owned by
 * the caller; null when r = 0) and r.
 */
export async function orthBasis<D extends DType>(eng: Engine<D>, A: Mat<D>): Promise<{ Q: Mat<D> | null; rank: number; S: Float64Array }> {
  const { U, S, V } = await eng.svd(A);
  V.dispose();
  const tol = Math.max(A.rows, A.cols) * 2 * unitRoundoff(eng.dtype) * (S[0] ?? 0);
  let r = 0;
  while (r < S.length && S[r] > tol && S[r] > 0) r++;
  if (r === 0) {
    U.dispose();
    return { Q: null, rank: 0, S };
  }
  if (r === U.cols) return { Q: U, rank: r, S };
  const Q = await eng.slice(U, { cols: [0, r] });
  U.dispose();
  return { Q, rank: r, S };
}

/**
 * Angles (ascending) between the spans of two orthonormal bases Qx (D x rx) and Qy (D x ry):
 * cosines from svd(Qx^T Qy), sines from svd(Qy - Qx (Qx^T Qy)) (or the mirror when rx < ry), each angle
 * from its sine when its cosine^2 >= 1/2.
 */
export async function anglesOfBases<D extends DType>(eng: Engine<D>, Qx: Mat<D>, Qy: Mat<D>): Promise<Float64Array> {
  const C = await eng.matmul(Qx, Qy, { transA: true }); // rx x ry
  const { U, S: cos, V } = await eng.svd(C);
  disposeAll(U, V);
  const m = cos.length;
  const theta = new Float64Array(m);
  let needSines = false;
  for (let i = 0; i < m; i++) {
    const c = Math.min(1, Math.max(-1, cos[i]));
    theta[i] = Math.acos(c);
    if (c * c >= 0.5) needSines = true;
  }
  if (needSines) {
    // The residual of the wider basis' partner: R has min(rx, ry) columns, its singular values are the sines.
    let R: Mat<D>;
    if (Qx.cols >= Qy.cols) {
      R = await eng.matmul(Qx, C, { alpha: -1 });
      const R2 = await eng.add(Qy, R);
      R.dispose();
      R = R2;
    } else {
      R = await eng.matmul(Qy, C, { transB: true, alpha: -1 });
      const R2 = await eng.add(Qx, R);
      R.dispose();
      R = R2;
    }
    const { U: Ur, S: sin, V: Vr } = await eng.svd(R);
    disposeAll(R, Ur, Vr);
    // sin is descending (largest angle first): the i-th smallest angle's sine is sin[m - 1 - i].
    for (let i = 0; i < m; i++) {
      const c = cos[i];
      if (c * c >= 0.5) theta[i] = Math.asin(Math.min(1, Math.max(0, sin[m - 1 - i] ?? 0)));
    }
  }
  C.dispose();
  // Sort ascending (the two routes agree to rounding; a sort makes the order exact).
  return theta.sort();
}

/**
 * Principal angles between span(X) and span(Y), in radians, **ascending** (scipy.linalg.subspace_angles
 * returns them descending: reverse to compare).
 *
 * X (D x p) and Y (D x q) are orthonormalized inside by a thin SVD; a rank-deficient input is replaced
 * by its numerical column space (singular values above max(D, p) * 2u * s_1, scipy.linalg.orth's rule),
 * so the result has min(rank X, rank Y) entries (min(p, q) for full-rank inputs). Angles below pi/4 come
 * from sines (the singular values of Qy - Qx Qx^T Qy), so they keep relative accuracy: in f64 a true
 * angle of 1e-9 comes back as 1e-9 (the arccos route gives 0); in f32 the sines carry an absolute error
 * of about 1e-7 (a few u_f32) in a generic basis, so 1e-4 comes back to 1e-3 relative, 1e-6 to a few
 * percent, and nothing below ~1e-7 is resolved (the arccos route loses everything below ~5e-4 in f32).
 *
 * @throws TypeError/RangeError naming 'principalAngles': X or Y not a live Mat of one engine, different
 *   row counts, NaN/Infinity entries, a zero (rank 0) input.
 */
export async function principalAngles<D extends DType>(X: Mat<D>, Y: Mat<D>): Promise<Float64Array> {
  return anglesImpl('principalAngles', X, Y);
}

async function anglesImpl<D extends DType>(fn: string, X: Mat<D>, Y: Mat<D>): Promise<Float64Array> {
  checkMat(fn, 'X', X);
  const eng = X.engine;
  checkMat(fn, 'Y', Y, eng);
  if (X.rows !== Y.rows)
    throw rangeError(
      fn,
      `'X' is ${X.rows} x ${X.cols} and 'Y' is ${Y.rows} x ${Y.cols}: both must have D rows (one column per basis vector)`,
    );
  await checkFiniteMat(fn, 'X', X);
  await checkFiniteMat(fn, 'Y', Y);
  const bx = await orthBasis(eng, X);
  if (!bx.Q) throw rangeError(fn, `'X' has numerical rank 0 (it spans no subspace)`);
  const by = await orthBasis(eng, Y);
  if (!by.Q) {
    bx.Q.dispose();
    throw rangeError(fn, `'Y' has numerical rank 0 (it spans no subspace)`);
  }
  try {
    return await anglesOfBases(eng, bx.Q, by.Q);
  } finally {
    disposeAll(bx.Q, by.Q);
  }
}

export type SubspaceDistanceKind = 'geodesic' | 'chordal' | 'projection' | 'max';
const KINDS: readonly SubspaceDistanceKind[] = ['geodesic', 'chordal', 'projection', 'max'];

/**
 * A distance between span(X) and span(Y) from their principal angles theta (Ye & Lim 2016, Table 2;
 * Edelman, Arias & Smith 1998, section 4.3):
 * - 'geodesic': ||theta||_2, the arc length on the Grassmannian (EAS "arc length", Ye-Lim "Grassmann").
 * - 'chordal': ||sin theta||_2 = ||Px - Py||_F / sqrt(2) (Conway-Hardin-Sloane; EAS's "projection F-norm").
 *   The spec's ||Px - Py||_F is sqrt(2) times this.
 * - 'projection': ||Px - Py||_2 = sin theta_max (EAS "projection 2-norm", Ye-Lim "projection").
 * - 'max': theta_max, the largest principal angle (Ye-Lim "Asimov").
 * When dim X != dim Y the min(p, q) angles are used (Ye-Lim's distance from the smaller subspace to the
 * nearest subspace of the other's dimension containing / contained in it); rank-deficient inputs as in
 * {@link principalAngles}.
 *
 * @throws as principalAngles (naming 'subspaceDistance'), and for an unknown `kind`.
 */
export async function subspaceDistance<D extends DType>(X: Mat<D>, Y: Mat<D>, kind: SubspaceDistanceKind = 'geodesic'): Promise<number> {
  const fn = 'subspaceDistance';
  const k = checkOneOf(fn, 'kind', kind, KINDS, 'geodesic');
  const theta = await anglesImpl(fn, X, Y);
  const tmax = theta[theta.length - 1];
  switch (k) {
    case 'geodesic':
      return Math.hypot(...theta);
    case 'chordal':
      return Math.hypot(...Array.from(theta, Math.sin));
    case 'projection':
      return Math.sin(tmax);
    case 'max':
      return tmax;
  }
}
