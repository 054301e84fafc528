/**
 * Dense factorization conformance: QR, Cholesky, triangular solves and least squares on every backend.
 * Checks are relations (QR = A, Q^T Q = I, L L^T = A, op(T) X = B, normal equations, minimum norm),
 * with tolerances c * size * u, never comparisons against another library's factors.
 */
import { expect, it } from 'vitest';
import {
  AWKWARD,
  describeEngines,
  diffFrob,
  disposeAll,
  frob,
  hostRandn,
  orthDefect,
  randomOrthonormal,
  refMatmul,
  spd,
  transposeHost,
  withSpectrum,
  type Host,
} from '../helpers.js';
import { hostSpdSolve } from '../host-linalg.js';

// ---- small f64 host helpers ---------------------------------------------------------------------

/** Entries of the strictly lower (or upper) triangle, as max |.|. */
function offTriangle(M: ArrayLike<number>, n: number, lower: boolean): number {
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (lower ? j < i : j > i) s = Math.max(s, Math.abs(M[i * n + j]));
  return s;
}

/** Copy of A with the strictly upper (lower = true) or strictly lower triangle overwritten by junk. */
function poisonTriangle(A: Host, n: number, lower: boolean, junk = 1e30): Host {
  const B = Float64Array.from(A);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (lower ? j > i : j < i) B[i * n + j] = junk;
  return B;
}

/** The tall and square (m >= n) awkward shapes, then 300 x 97. */
const QR_SHAPES: ReadonlyArray<[number, number]> = [...AWKWARD.filter(([m, n]) => m >= n), [300, 97]];

describeEngines('qr', (h) => {
  for (const [m, n] of QR_SHAPES) {
    it(`${m} x ${n}: QR = A, Q^T Q = I, R upper`, async () => {
      const { eng } = h;
      const A = eng.matrix(hostRandn(m, n, m * 31 + n), m, n);
      const { Q, R } = await eng.qr(A);
      expect([Q.rows, Q.cols, R.rows, R.cols]).toEqual([m, n, n, n]);
      const a = await A.toArray(),
        q = await Q.toArray(),
        r = await R.toArray();
      const tol = 10 * Math.max(m, n) * h.u;
      expect(diffFrob(refMatmul(q, m, n, r, n, n), a) / frob(a)).toBeLessThanOrEqual(tol);
      expect(orthDefect(q, m, n)).toBeLessThanOrEqual(tol);
      expect(offTriangle(r, n, true)).toBe(0);
      A.dispose();
      Q.dispose();
      R.dispose();
    });
  }

  it('rank-deficient and zero inputs still give an orthonormal Q', async () => {
    const { eng } = h;
    for (const [m, n, rank] of [
      [60, 20, 3],
      [40, 40, 0],
    ] as const) {
      const src =
        rank === 0 ? new Float64Array(m * n) : refMatmul(hostRandn(m, rank, 5), m, rank, hostRandn(n, rank, 6), n, rank, false, true);
      const A = eng.matrix(src, m, n);
      const { Q, R } = await eng.qr(A);
      const a = await A.toArray(),
        q = await Q.toArray(),
        r = await R.toArray();
      const tol = 10 * Math.max(m, n) * h.u;
      expect(diffFrob(refMatmul(q, m, n, r, n, n), a)).toBeLessThanOrEqual(tol * (frob(a) || 1));
      expect(orthDefect(q, m, n)).toBeLessThanOrEqual(tol);
      expect(offTriangle(r, n, true)).toBe(0);
      disposeAll(A, Q, R);
    }
  });

  it('rejects m < n with a RangeError', async () => {
    const W = h.eng.zeros(3, 5);
    await expect(h.eng.qr(W)).rejects.toThrow(RangeError);
    W.dispose();
  });
});

describeEngines('cholesky', (h) => {
  for (const n of [1, 2, 31, 33, 127, 257]) {
    it(`n = ${n}: L L^T = A, L lower, upper triangle of A never read`, async () => {
      const { eng } = h;
      const a0 = spd(n, n + 3);
      const A = eng.matrix(a0, n, n);
      const a = await A.toArray();
      const P = eng.matrix(poisonTriangle(Float64Array.from(a), n, true), n, n);
      const L = await eng.cholesky(P);
      const l = await L.toArray();
      disposeAll(A, P, L);
      expect(offTriangle(l, n, false)).toBe(0);
      expect(diffFrob(refMatmul(l, n, n, l, n, n, false, true), a) / frob(a)).toBeLessThanOrEqual(10 * n * h.u);
      for (let i = 0; i < n; i++) expect(l[i * n + i]).toBeGreaterThan(0);
    });
  }

  it('rejects a matrix that is not positive definite, naming the leading minor', async () => {
    const { eng } = h;
    const n = 6;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) a[i * n + i] = 2;
    a[2 * n + 2] = -1;
    const M = eng.matrix(a, n, n);
    const p = eng.cholesky(M);
    await expect(p).rejects.toThrow(RangeError);
    await expect(eng.cholesky(M)).rejects.toThrow(/not positive definite.*order 3/);
    M.dispose();
    // A dense indefinite matrix Q diag(w) Q^T (w from 3 down to -0.5) fails somewhere inside.
    const k = 40,
      Q = randomOrthonormal(k, k, 17);
    const QW = Float64Array.from(Q, (q, i) => q * (3 - (3.5 * (i % k)) / (k - 1)));
    const sym = refMatmul(QW, k, k, Q, k, k, false, true);
    const Sym = eng.matrix(sym, k, k);
    await expect(eng.cholesky(Sym)).rejects.toThrow(/not positive definite/);
    Sym.dispose();
  });
});

describeEngines('solveTriangular', (h) => {
  const SHAPES: ReadonlyArray<[number, number]> = [
    [1, 1],
    [5, 3],
    [127, 1],
    [129, 7],
    [257, 65],
  ];
  for (const [n, p] of SHAPES) {
    it(`${n} x ${n} with ${p} right-hand sides, every orientation`, async () => {
      const { eng } = h;
      for (const lower of [true, false]) {
        for (const trans of [false, true]) {
          // Well-conditioned triangle: dominant diagonal; the other triangle is junk that must not be read.
          const t0 = hostRandn(n, n, n * 13 + p + (lower ? 1 : 0) + (trans ? 2 : 0));
          for (let i = 0; i < n; i++) t0[i * n + i] = (t0[i * n + i] >= 0 ? 1 : -1) * (2 + Math.sqrt(n));
          const T = eng.matrix(poisonTriangle(t0, n, lower, 1e30), n, n);
          const B = eng.matrix(hostRandn(n, p, n + p), n, p);
          const X = await eng.solveTriangular(T, B, { lower, trans });
          expect([X.rows, X.cols]).toEqual([n, p]);
          const tt = await T.toArray();
          const tri = poisonTriangle(Float64Array.from(tt), n, lower, 0);
          const x = await X.toArray(),
            b = await B.toArray();
          const res = diffFrob(refMatmul(tri, n, n, x, n, p, trans), b);
          expect(res).toBeLessThanOrEqual(10 * n * h.u * frob(tri) * frob(x));
          disposeAll(T, B, X);
        }
      }
    });
  }

  it('rejects an exactly singular triangle', async () => {
    const { eng } = h;
    const t = new Float64Array(16);
    for (let i = 0; i < 4; i++) t[i * 4 + i] = i === 2 ? 0 : 1;
    const T = eng.matrix(t, 4, 4),
      Z = eng.zeros(4, 2);
    await expect(eng.solveTriangular(T, Z)).rejects.toThrow(RangeError);
    await expect(eng.solveTriangular(T, Z)).rejects.toThrow(/singular/);
    disposeAll(T, Z);
  });
});

describeEngines('lstsq', (h) => {
  const FULL: ReadonlyArray<[number, number, number]> = [
    [1, 1, 1],
    [7, 1, 2],
    [3, 2, 1],
    [100, 30, 3],
    [257, 3, 2],
    [500, 31, 4],
  ];
  for (const [m, n, p] of FULL) {
    it(`${m} x ${n} full column rank, ${p} rhs: normal equations and agreement with them`, async () => {
      const { eng } = h;
      const A = eng.matrix(hostRandn(m, n, m + 7 * n), m, n);
      const B = eng.matrix(hostRandn(m, p, m + 3 * p + 1), m, p);
      const { X, rank } = await eng.lstsqInfo(A, B);
      expect(rank).toBe(n);
      expect([X.rows, X.cols]).toEqual([n, p]);
      const a = await A.toArray(),
        b = await B.toArray(),
        x = await X.toArray();
      const r = refMatmul(a, m, n, x, n, p);
      for (let i = 0; i < r.length; i++) r[i] -= b[i];
      const g = refMatmul(a, m, n, r, m, p, true);
      const fa = frob(a);
      expect(frob(g)).toBeLessThanOrEqual(20 * Math.max(m, n) * h.u * fa * (fa * frob(x) + frob(b)));
      // The normal equations solved in f64 (A is well conditioned here).
      const xn = hostSpdSolve(refMatmul(a, m, n, a, m, n, true), n, refMatmul(a, m, n, b, m, p, true), p);
      expect(diffFrob(x, xn) / frob(xn)).toBeLessThanOrEqual(100 * Math.max(m, n) * h.u);
      disposeAll(A, B, X);
    });
  }

  it('rank-deficient: reports the rank and returns the minimum-norm solution', async () => {
    const { eng } = h;
    for (const [m, n, k] of [
      [60, 20, 3],
      [200, 50, 7],
      [15, 40, 4],
    ] as const) {
      const G = hostRandn(m, k, m + k),
        H = hostRandn(n, k, n + k + 9);
      const A = eng.matrix(refMatmul(G, m, k, H, n, k, false, true), m, n);
      const B = eng.matrix(hostRandn(m, 2, 77), m, 2);
      const { X, rank } = await eng.lstsqInfo(A, B);
      expect(rank).toBe(k);
      const a = await A.toArray(),
        b = await B.toArray(),
        x = await X.toArray();
      // Minimum norm: X lies in range(A^T) = range(H); project onto it (f64) and compare.
      const Ht = transposeHost(H, n, k);
      const coef = hostSpdSolve(refMatmul(H, n, k, H, n, k, true), k, refMatmul(Ht, k, n, x, n, 2), 2);
      const proj = refMatmul(H, n, k, coef, k, 2);
      const tol = 100 * Math.max(m, n) * h.u;
      expect(diffFrob(x, proj)).toBeLessThanOrEqual(tol * frob(x));
      // Least squares: A^T (A X - B) = 0 relative to ||A||^2 ||X||.
      const r = refMatmul(a, m, n, x, n, 2);
      for (let i = 0; i < r.length; i++) r[i] -= b[i];
      const fa = frob(a);
      expect(frob(refMatmul(a, m, n, r, m, 2, true))).toBeLessThanOrEqual(tol * fa * (fa * frob(x) + frob(b)));
      disposeAll(A, B, X);
    }
  });

  it('wide full-row-rank systems are solved exactly with the minimum norm', async () => {
    const { eng } = h;
    for (const [m, n] of [
      [31, 500],
      [1, 7],
      [3, 257],
    ] as const) {
      const A = eng.matrix(hostRandn(m, n, m * n + 1), m, n);
      const B = eng.matrix(hostRandn(m, 3, m + 2), m, 3);
      const { X, rank } = await eng.lstsqInfo(A, B);
      expect(rank).toBe(m);
      const a = await A.toArray(),
        b = await B.toArray(),
        x = await X.toArray();
      // X = A^T (A A^T)^{-1} B in f64.
      const y = hostSpdSolve(refMatmul(a, m, n, a, m, n, false, true), m, b, 3);
      const xr = refMatmul(a, m, n, y, m, 3, true);
      expect(diffFrob(x, xr) / frob(xr)).toBeLessThanOrEqual(100 * n * h.u);
      disposeAll(A, B, X);
    }
  });

  it('known spectrum with a gap below the cutoff: rank and solution from the leading part', async () => {
    const { eng } = h;
    const m = 80,
      n = 12;
    const s = [4, 3, 2.5, 2, 1.5, 1, 0.8, 0.5, 0.3, 0.2, 0, 0];
    const { A: a0 } = withSpectrum(m, n, s, 321);
    const A = eng.matrix(a0, m, n);
    const B = eng.matrix(hostRandn(m, 1, 8), m, 1);
    const { X, rank } = await eng.lstsqInfo(A, B);
    expect(rank).toBe(10);
    disposeAll(A, B, X);
  });

  it('zero matrix: rank 0 and X = 0', async () => {
    const { eng } = h;
    const A = eng.zeros(9, 4),
      B = eng.matrix(hostRandn(9, 2, 1), 9, 2);
    const { X, rank } = await eng.lstsqInfo(A, B);
    expect(rank).toBe(0);
    expect((await X.toArray()).every((v) => v === 0)).toBe(true);
    disposeAll(A, B, X);
  });
});
