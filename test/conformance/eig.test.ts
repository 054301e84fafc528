/**
 * Symmetric eigensolver and SVD conformance on every backend: residuals, orthogonality, ordering,
 * sign conventions, known spectra, repeated and zero eigenvalues/singular values, awkward shapes.
 */
import { expect, it } from 'vitest';
import {
  AWKWARD,
  describeEngines,
  diffFrob,
  frob,
  hostRandn,
  orthDefect,
  randomOrthonormal,
  refMatmul,
  withSpectrum,
  type Host,
} from '../helpers.js';

/** Symmetric n x n: (G + G^T) / 2. */
function symmetric(n: number, seed: number): Host {
  const G = hostRandn(n, n, seed);
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) S[i * n + j] = 0.5 * (G[i * n + j] + G[j * n + i]);
  return S;
}

/** Q diag(w) Q^T with a random orthogonal Q. */
function withEigenvalues(w: ArrayLike<number>, seed: number): Host {
  const n = w.length;
  const Q = randomOrthonormal(n, n, seed);
  const QW = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) QW[i * n + j] = Q[i * n + j] * w[j];
  return refMatmul(QW, n, n, Q, n, n, false, true);
}

/** The largest-|.| entry of every column is positive (first one on ties). */
function columnsSignedByMax(M: ArrayLike<number>, rows: number, cols: number): boolean {
  for (let j = 0; j < cols; j++) {
    let best = 0,
      bv = -1;
    for (let i = 0; i < rows; i++) {
      const a = Math.abs(M[i * cols + j]);
      if (a > bv) {
        bv = a;
        best = i;
      }
    }
    if (M[best * cols + j] < 0) return false;
  }
  return true;
}

function isDescending(v: ArrayLike<number>): boolean {
  for (let i = 1; i < v.length; i++) if (!(v[i] <= v[i - 1])) return false;
  return true;
}

describeEngines('eigh', (h) => {
  async function check(a0: Host, n: number, lowerOnly = false) {
    const { eng } = h;
    const A = eng.matrix(a0, n, n);
    const a = await A.toArray();
    // Only the lower triangle is read: poison the upper one on the input (finite junk: NaN is
    // rejected at input).
    let input = A;
    if (lowerOnly) {
      const p = Float64Array.from(a);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) p[i * n + j] = 1e30;
      input = eng.matrix(p, n, n);
    }
    const { values, vectors } = await eng.eigh(input);
    expect(values).toBeInstanceOf(Float64Array);
    expect([vectors.rows, vectors.cols]).toEqual([n, n]);
    const v = await vectors.toArray();
    const av = refMatmul(a, n, n, v, n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) av[i * n + j] -= v[i * n + j] * values[j];
    const tol = 10 * n * h.u;
    expect(frob(av)).toBeLessThanOrEqual(tol * (frob(a) || 1));
    expect(orthDefect(v, n, n)).toBeLessThanOrEqual(tol);
    expect(isDescending(values)).toBe(true);
    expect(columnsSignedByMax(v, n, n)).toBe(true);
    A.dispose();
    input.dispose();
    vectors.dispose();
    return { a, values, v };
  }

  for (const n of [1, 2, 3, 10, 33, 127, 257]) {
    it(`n = ${n}: A V = V diag(w), V^T V = I, descending, signs`, async () => {
      await check(symmetric(n, n + 1), n, n % 2 === 1);
    });
  }

  it('known spectrum with repeated and negative eigenvalues', async () => {
    const w = [5, 5, 5, 2, 1, 1, 0, 0, -1, -3, -3, -3, -3, 0.5];
    const n = w.length;
    const { values, a } = await check(withEigenvalues(w, 42), n);
    const sorted = [...w].sort((x, y) => y - x);
    const scale = frob(a);
    for (let i = 0; i < n; i++) expect(Math.abs(values[i] - sorted[i])).toBeLessThanOrEqual(10 * n * h.u * scale);
  });

  it('huge and tiny scales give scaled results (no overflow or underflow inside)', async () => {
    const n = 30,
      base = symmetric(n, 5);
    const { values: w1 } = await check(base, n);
    for (const scale of h.dtype === 'f64' ? [1e150, 1e-150] : [1e30, 1e-30]) {
      const { values } = await check(
        base.map((x) => x * scale),
        n,
      );
      for (let i = 0; i < n; i++) expect(Math.abs(values[i] / scale - w1[i])).toBeLessThanOrEqual(20 * n * h.u * Math.abs(w1[0]));
    }
  });

  it('identity and zero matrices (fully repeated eigenvalues)', async () => {
    const n = 40;
    const I = new Float64Array(n * n);
    for (let i = 0; i < n; i++) I[i * n + i] = 1;
    const r1 = await check(I, n);
    for (const x of r1.values) expect(Math.abs(x - 1)).toBeLessThanOrEqual(4 * h.u);
    const r0 = await check(new Float64Array(n * n), n);
    for (const x of r0.values) expect(x).toBe(0);
  });

  it('low rank plus clusters: rank-3 Gram matrix of size 60', async () => {
    const n = 60,
      G = hostRandn(n, 3, 11);
    const { values, a } = await check(refMatmul(G, n, 3, G, n, 3, false, true), n);
    for (let i = 3; i < n; i++) expect(Math.abs(values[i])).toBeLessThanOrEqual(10 * n * h.u * frob(a));
    expect(values[2]).toBeGreaterThan(1);
  });
});

describeEngines('svd', (h) => {
  async function check(a0: Host, m: number, n: number) {
    const { eng } = h;
    const k = Math.min(m, n);
    const A = eng.matrix(a0, m, n);
    const { U, S, V } = await eng.svd(A);
    expect(S).toBeInstanceOf(Float64Array);
    expect([U.rows, U.cols, V.rows, V.cols, S.length]).toEqual([m, k, n, k, k]);
    const a = await A.toArray(),
      u = await U.toArray(),
      v = await V.toArray();
    const us = new Float64Array(m * k);
    for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) us[i * k + j] = u[i * k + j] * S[j];
    const tol = 10 * Math.max(m, n) * h.u;
    expect(diffFrob(refMatmul(us, m, k, v, n, k, false, true), a)).toBeLessThanOrEqual(tol * (frob(a) || 1));
    expect(orthDefect(u, m, k)).toBeLessThanOrEqual(tol);
    expect(orthDefect(v, n, k)).toBeLessThanOrEqual(tol);
    expect(isDescending(S)).toBe(true);
    for (const s of S) expect(s).toBeGreaterThanOrEqual(0);
    expect(columnsSignedByMax(u, m, k)).toBe(true);
    A.dispose();
    U.dispose();
    V.dispose();
    return { a, S };
  }

  for (const [m, n] of [...AWKWARD, [200, 60] as [number, number], [60, 150] as [number, number]]) {
    it(`${m} x ${n}: U S V^T = A, orthonormal U and V, S descending, svd_flip signs`, async () => {
      await check(hostRandn(m, n, m * 17 + n), m, n);
    });
  }

  // Regression: a constant matrix large enough for the direct bidiagonalization with split gemv shrank the
  // Householder residual columns into the subnormal range, where nrm2's rescaling (x * (1 / amax)) overflowed:
  // S, U and V came back NaN (native f64, 1100 x 1030).
  if (h.backend === 'native')
    it('constant 1100 x 1030 (rank 1): finite factors, s_1 = c sqrt(m n), the rest ~0', async () => {
      const [m, n] = [1100, 1030];
      const O = h.eng.full(m, n, 0.5);
      const { U, S, V } = await h.eng.svd(O);
      O.dispose();
      const u = await U.toArray(),
        v = await V.toArray();
      U.dispose();
      V.dispose();
      expect(u.every(Number.isFinite) && v.every(Number.isFinite) && S.every(Number.isFinite)).toBe(true);
      expect(Math.abs(S[0] - 0.5 * Math.sqrt(m * n))).toBeLessThan(10 * m * h.u * S[0]);
      expect(S[1]).toBeLessThan(10 * m * h.u * S[0]);
    });

  it('known spectrum with repeated singular values (tall and wide)', async () => {
    const s = [3, 3, 3, 1, 1, 0.25, 1e-3];
    for (const [m, n] of [
      [50, 7],
      [7, 50],
      [40, 30],
    ] as const) {
      const k = Math.min(m, n);
      const spec = s.slice(0, k);
      const { A } = withSpectrum(m, n, spec, m + n);
      const { S } = await check(A, m, n);
      const want = [...spec, ...new Array(k - spec.length).fill(0)].sort((x, y) => y - x);
      for (let i = 0; i < k; i++) expect(Math.abs(S[i] - want[i])).toBeLessThanOrEqual(10 * Math.max(m, n) * h.u * 3);
    }
  });

  it('exact rank deficiency: trailing singular values are at roundoff level', async () => {
    for (const [m, n, r] of [
      [60, 40, 3],
      [200, 60, 5],
      [40, 90, 3],
      [257, 3, 1],
    ] as const) {
      const a0 = refMatmul(hostRandn(m, r, m + r), m, r, hostRandn(n, r, n + r + 5), n, r, false, true);
      const { S, a } = await check(a0, m, n);
      expect(S[r - 1]).toBeGreaterThan(1e-2 * S[0]);
      for (let i = r; i < Math.min(m, n); i++) expect(S[i]).toBeLessThanOrEqual(10 * Math.max(m, n) * h.u * frob(a));
    }
  });

  it('huge and tiny scales give scaled singular values', async () => {
    const m = 40,
      n = 25,
      base = hostRandn(m, n, 3);
    const { S: s1 } = await check(base, m, n);
    for (const scale of h.dtype === 'f64' ? [1e150, 1e-150] : [1e30, 1e-30]) {
      const { S } = await check(
        base.map((x) => x * scale),
        m,
        n,
      );
      for (let i = 0; i < n; i++) expect(Math.abs(S[i] / scale - s1[i])).toBeLessThanOrEqual(20 * m * h.u * s1[0]);
    }
  });

  it('zero matrix: S = 0 with orthonormal U and V', async () => {
    for (const [m, n] of [
      [30, 20],
      [5, 9],
      [1, 1],
    ] as const) {
      const { S } = await check(new Float64Array(m * n), m, n);
      for (const s of S) expect(s).toBe(0);
    }
  });
});
