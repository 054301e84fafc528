/**
 * eigh of Gram matrices with a large null space (regression: native f32 eigh returned NaN values and
 * vectors on the 784 x 784 Gram of 845 MNIST rows, 243 of whose pixel columns are exactly zero).
 *
 * Cause: the tridiagonal of such a Gram ends in a block of roundoff that falls by tens of decades; the
 * divide and conquer normalized by the global norm only, so in f32 that block reached the subnormal
 * range and its secular equation overflowed (w / delta^2), giving NaN (or non-orthogonal) vectors. The
 * matrix here has the same character without the data file: pixel-like columns (values k / 255, 60%
 * zeros), 30% of the columns exactly zero, and the live columns' scale falling over 20 decades (as the
 * rare border pixels of MNIST make the Gram's tail fall), so G = X^T X spans 40 decades.
 */
import { expect, it } from 'vitest';
import { PhiloxRng } from '../../ts/rng/philox.js';
import { describeEngines, frob, orthDefect, refMatmul, type Host } from '../helpers.js';

/** m x n pixel-like X and the indices of its exactly zero columns. */
function pixels(m: number, n: number, seed: number, decades: number): { X: Host; zeroCols: number } {
  const rng = new PhiloxRng(seed);
  const X = new Float64Array(m * n);
  const nl = Math.round(0.7 * n);
  let live = 0,
    zeroCols = 0;
  for (let j = 0; j < n; j++) {
    if (rng.next() < 0.3 || live >= nl) {
      zeroCols++;
      continue;
    }
    const scale = 10 ** ((-decades * live) / nl);
    live++;
    for (let i = 0; i < m; i++) if (rng.next() < 0.4) X[i * n + j] = (scale * Math.ceil(255 * rng.next())) / 255;
  }
  return { X, zeroCols };
}

function allFinite(v: ArrayLike<number>): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

describeEngines('eigh of a Gram matrix with a large null space', (h) => {
  // 300 x 256 runs every engine through the native f32 tridiagonal solver (WebGPU's eigh below 512 is
  // the host's native f32 one); 845 x 784 is the MNIST size (native only: WebGPU above 512 is a device
  // Jacobi, slow on a software adapter).
  const shapes: Array<[number, number]> =
    h.backend === 'native'
      ? [
          [300, 256],
          [845, 784],
        ]
      : [[300, 256]];
  for (const [m, n] of shapes) {
    it(`${m} x ${n}, 30% zero columns: finite, V^T V = I, G V = V diag(w), a null space of zeros`, async () => {
      const { eng } = h;
      const { X: x0, zeroCols } = pixels(m, n, 7, 20);
      const X = eng.matrix(x0, m, n);
      const G = await eng.matmul(X, X, { transA: true });
      const g = await G.toArray();
      const { values, vectors } = await eng.eigh(G);
      const v = await vectors.toArray();
      expect(allFinite(values)).toBe(true);
      expect(allFinite(v)).toBe(true);
      const tol = 10 * n * h.u;
      expect(orthDefect(v, n, n)).toBeLessThanOrEqual(tol);
      const gv = refMatmul(g, n, n, v, n, n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) gv[i * n + j] -= v[i * n + j] * values[j];
      const gnorm = frob(g);
      expect(frob(gv)).toBeLessThanOrEqual(tol * gnorm);
      // The zero columns of X are exactly zero rows / columns of G: at least that many eigenvalues vanish.
      let nullCount = 0;
      for (const w of values) if (Math.abs(w) <= tol * gnorm) nullCount++;
      expect(nullCount).toBeGreaterThanOrEqual(zeroCols);
      // The SVD of X itself (the route kSubspaces falls back to) stays finite too.
      const { U, S, V } = await eng.svd(X);
      expect(allFinite(S)).toBe(true);
      expect(allFinite(await U.toArray())).toBe(true);
      expect(allFinite(await V.toArray())).toBe(true);
      const s = await eng.svdvals(X);
      expect(allFinite(s)).toBe(true);
      for (let i = 0; i < s.length; i++) expect(Math.abs(s[i] - S[i])).toBeLessThanOrEqual(10 * Math.max(m, n) * h.u * S[0]);
      for (const mat of [X, G, vectors, U, V]) mat.dispose();
    }, 60_000);
  }
});
