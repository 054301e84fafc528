/**
 * Matrix-free Gaussian measurements (gaussianApply / gaussianAdjoint) against the dense operator
 * randn(m, N, { seed, offset }) of the same engine (f64 host references, per-element tolerances
 * c (N + 2) u sum|terms|), the element-wise sign, reshape and sparse values, and input errors.
 */
import { expect, it } from 'vitest';
import { describeEngines, hostRandn } from '../helpers.js';

describeEngines('sensing', (h) => {
  const CASES: ReadonlyArray<[rows: number, cols: number, m: number, offset: number]> = [
    [1, 1, 1, 0],
    [3, 5, 7, 1],
    [7, 13, 33, 3],
    [20, 20, 257, 2],
    [2, 1, 300, 2 ** 33 + 5],
    [1, 127, 5, 6],
  ];

  it('gaussianApply equals the dense operator randn(m, N) times vec(X)', async () => {
    const { eng } = h;
    for (const [rows, cols, m, offset] of CASES) {
      const N = rows * cols;
      const X = eng.matrix(hostRandn(rows, cols, 11), rows, cols);
      const x = await X.toArray();
      const Am = eng.randn(m, N, { seed: 42, offset });
      const A = await Am.toArray();
      const Y = await eng.gaussianApply(X, m, { seed: 42, offset });
      const y = await Y.toArray();
      X.dispose();
      Am.dispose();
      Y.dispose();
      expect(y.length).toBe(m);
      let worst = 0;
      for (let i = 0; i < m; i++) {
        let ref = 0,
          abs = 0;
        for (let e = 0; e < N; e++) {
          ref += A[i * N + e] * x[e];
          abs += Math.abs(A[i * N + e] * x[e]);
        }
        worst = Math.max(worst, Math.abs(y[i] - ref) / (2 * (N + 2) * h.u * abs + 1e-300));
      }
      expect(worst).toBeLessThanOrEqual(1);
    }
  });

  it('gaussianAdjoint equals reshape(randn(m, N)^T r) and is the adjoint of gaussianApply', async () => {
    const { eng } = h;
    for (const [rows, cols, m, offset] of CASES) {
      const N = rows * cols;
      const R = eng.matrix(hostRandn(m, 1, 5), m, 1);
      const r = await R.toArray();
      const Am = eng.randn(m, N, { seed: 9, offset });
      const A = await Am.toArray();
      const Z = await eng.gaussianAdjoint(R, rows, cols, { seed: 9, offset });
      expect([Z.rows, Z.cols]).toEqual([rows, cols]);
      const z = await Z.toArray();
      R.dispose();
      Am.dispose();
      Z.dispose();
      let worst = 0;
      for (let e = 0; e < N; e++) {
        let ref = 0,
          abs = 0;
        for (let i = 0; i < m; i++) {
          ref += A[i * N + e] * r[i];
          abs += Math.abs(A[i * N + e] * r[i]);
        }
        worst = Math.max(worst, Math.abs(z[e] - ref) / (2 * (m + 2) * h.u * abs + 1e-300));
      }
      expect(worst).toBeLessThanOrEqual(1);
    }
  });

  it('sign maps to {-1, 0, 1} with sign(0) = 0 and keeps NaN', async () => {
    const { eng } = h;
    const M = eng.matrix([-2, -0, 0, 3, 1e-30, -1e-30, 7.5], 1, 7);
    const SM = await eng.sign(M);
    const got = await SM.toArray();
    expect(Array.from(got)).toEqual([-1, 0, 0, 1, 1, -1, 1]);
    const big = h.dtype === 'f64' ? 1e308 : 3e38;
    const Big = eng.matrix([big, -big], 1, 2);
    const inf = await eng.scale(Big, 10); // [Inf, -Inf]
    const nan = await eng.sub(inf, inf); // NaN
    const both = await eng.hstack([inf, nan]);
    const Sb = await eng.sign(both);
    const s = await Sb.toArray();
    expect([s[0], s[1]]).toEqual([1, -1]);
    expect(Number.isNaN(s[2]) && Number.isNaN(s[3])).toBe(true);
    for (const x of [M, SM, Big, inf, nan, both, Sb]) x.dispose();
  });

  it('reshape, sparseValues and withValues keep row-major / CSR order', async () => {
    const { eng } = h;
    const A = eng.matrix([1, 2, 3, 4, 5, 6], 2, 3);
    const B = await eng.reshape(A, 3, 2);
    expect([B.rows, B.cols]).toEqual([3, 2]);
    expect(Array.from(await B.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    const S = eng.sparse({ rows: 3, cols: 3, row: [2, 0, 1], col: [1, 2, 0], val: [7, 8, 9] });
    const V = await eng.sparseValues(S);
    expect(Array.from(await V.toArray())).toEqual([8, 9, 7]);
    const W = eng.matrix([1, 2, 3], 1, 3);
    const T = await eng.withValues(S, W);
    const coo = await T.toCOO();
    expect(Array.from(coo.val)).toEqual([1, 2, 3]);
    expect(Array.from(coo.row)).toEqual([0, 1, 2]);
    S.dispose();
    expect((await T.toCOO()).val.length).toBe(3); // the pattern lives on with T
    for (const x of [A, B, V, W, T]) x.dispose();
  });

  it('rejects bad arguments with errors naming them', async () => {
    const { eng } = h;
    const X = eng.ones(2, 2);
    await expect(eng.gaussianApply(X, 0, { seed: 1 })).rejects.toThrow(/'m'/);
    await expect(eng.gaussianApply(X, 3, {} as { seed: number })).rejects.toThrow(TypeError);
    await expect(eng.gaussianApply(X, 3, { seed: -1 })).rejects.toThrow(/'seed'/);
    await expect(eng.gaussianApply(X, 3, { seed: 1, offset: 2 ** 53 - 4 })).rejects.toThrow(/2\^53/);
    await expect(eng.gaussianApply(X, 3, { seed: 1, bogus: 1 } as { seed: number })).rejects.toThrow(/bogus/);
    await expect(eng.gaussianAdjoint(X, 0, 2, { seed: 1 })).rejects.toThrow(/'rows'/);
    await expect(eng.gaussianApply({} as typeof X, 3, { seed: 1 })).rejects.toThrow(TypeError);
    await expect(eng.reshape(X, 3, 1)).rejects.toThrow(RangeError);
    const S = eng.sparse({ rows: 2, cols: 2, row: [0], col: [1], val: [1] });
    await expect(eng.withValues(S, X)).rejects.toThrow(/entries/);
    const E = eng.sparse({ rows: 2, cols: 2, row: [], col: [], val: [] });
    await expect(eng.sparseValues(E)).rejects.toThrow(/no entries/);
    X.dispose();
    S.dispose();
    E.dispose();
  });
});
