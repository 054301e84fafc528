/**
 * The public stages of the randomized SVD (rangeFinder, rayleighRitz, svdFlip): orthonormal bases on
 * awkward and degenerate shapes, exact capture of a low-rank range, rsvd reproduced bit for bit from the
 * stages, the sign rule, and typed errors naming the function and the argument.
 */
import { expect, it } from 'vitest';
import {
  rangeFinder,
  rayleighRitz,
  rsvd,
  svdFlip,
  type Engine,
  type LinearOperator,
  type Mat,
  type MatrixLike,
  type RangeFinderOptions,
  type RsvdOptions,
} from '../../ts/index.js';
import { describeEngines, diffMax, frob, hostRandn, orthDefect, refMatmul, type Host } from '../helpers.js';

const host = async (M: Mat): Promise<Host> => Float64Array.from(await M.toArray());

/** Same bits: the row-major contents of two matrices. */
async function sameBits(A: Mat, B: Mat): Promise<boolean> {
  const [a, b] = [await A.toArray(), await B.toArray()];
  return A.rows === B.rows && A.cols === B.cols && Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
}

/** ||A - Q Q^T A||_F / ||A||_F on the device (A dense, m x n). */
async function rangeResidual(eng: Engine, A: Mat, Q: Mat): Promise<number> {
  const QtA = await eng.matmul(Q, A, { transA: true });
  const P = await eng.matmul(Q, QtA);
  const R = await eng.axpby(1, A, -1, P);
  const r = (await eng.norm(R, 'fro')) / (await eng.norm(A, 'fro'));
  for (const M of [QtA, P, R]) M.dispose();
  return r;
}

/** Row-major m x n of rank r: G1 (m x r) G2 (r x n). */
const lowRank = (m: number, n: number, r: number, seed: number): Host =>
  refMatmul(hostRandn(m, r, seed), m, r, hostRandn(r, n, seed + 1), r, n);

describeEngines('rsvd stages', (h) => {
  it('rangeFinder: Q^T Q = I on awkward, rank-deficient and zero inputs, every method and normalizer', async () => {
    const { eng } = h;
    const inputs: Array<[string, number, number, Host, number]> = [
      ['1 x 1', 1, 1, hostRandn(1, 1, 1), 1],
      ['2 x 5', 2, 5, hostRandn(2, 5, 2), 2],
      ['127 x 40', 127, 40, hostRandn(127, 40, 3), 17],
      ['257 x 3', 257, 3, hostRandn(257, 3, 4), 3],
      ['40 x 127 (size = min)', 40, 127, hostRandn(40, 127, 5), 40],
      ['rank 4, 100 x 60', 100, 60, lowRank(100, 60, 4, 6), 20],
      ['zero 30 x 20', 30, 20, new Float64Array(30 * 20), 5],
      ['repeated values 64 x 32', 64, 32, new Float64Array(64 * 32).fill(0.5), 6],
    ];
    const variants: Array<Omit<RangeFinderOptions, 'size'>> = [
      {},
      { powerIters: 0 },
      { method: 'krylov', powerIters: 2 },
      { normalizer: 'cholqr2', powerIters: 3 },
      { normalizer: 'lu', powerIters: 3, seed: 4 },
      { normalizer: 'none', powerIters: 1 },
    ];
    for (const [label, m, n, a, size] of inputs) {
      const A = eng.matrix(a, m, n);
      for (const v of variants) {
        const Q = await rangeFinder(A, { size, ...v });
        const cols = v.method === 'krylov' ? Math.min(size * ((v.powerIters ?? 2) + 1), m, n) : size;
        expect([Q.rows, Q.cols], `${label} ${JSON.stringify(v)}`).toEqual([m, cols]);
        const defect = orthDefect(await host(Q), m, cols);
        expect(defect, `${label} ${JSON.stringify(v)}`).toBeLessThanOrEqual(10 * Math.max(m, cols) * h.u);
        Q.dispose();
      }
      A.dispose();
    }
  });

  it('rangeFinder captures the range of an exact low-rank A (dense, sparse, matrix-free)', async () => {
    const { eng } = h;
    const tol = 200 * h.u; // max(m, n) u; measured <= 0.04 of it
    const a = lowRank(200, 90, 5, 10);
    const A = eng.matrix(a, 200, 90);
    for (const o of [
      { size: 5, powerIters: 0 },
      { size: 8 },
      { size: 8, normalizer: 'lu', powerIters: 3 },
      { size: 6, method: 'krylov', powerIters: 1 },
    ] as RangeFinderOptions[]) {
      const Q = await rangeFinder(A, o);
      expect(await rangeResidual(eng, A, Q), JSON.stringify(o)).toBeLessThanOrEqual(tol);
      Q.dispose();
    }
    const op: LinearOperator = {
      engine: eng,
      rows: 200,
      cols: 90,
      apply: (X) => eng.matmul(A, X),
      applyT: (Y) => eng.matmul(A, Y, { transA: true }),
    };
    const Qop = await rangeFinder(op, { size: 7, seed: 3 });
    expect(await rangeResidual(eng, A, Qop)).toBeLessThanOrEqual(tol);
    Qop.dispose();
    A.dispose();

    // sparse: nonzeros in 3 of 60 columns, so rank 3
    const row: number[] = [],
      col: number[] = [],
      val: number[] = [];
    const d = new Float64Array(150 * 60);
    const g = hostRandn(150, 3, 12);
    for (let i = 0; i < 150; i++)
      for (const [t, j] of [7, 31, 59].entries()) {
        if ((i + t) % 4 === 0) continue;
        row.push(i), col.push(j), val.push(g[i * 3 + t]);
        d[i * 60 + j] = g[i * 3 + t];
      }
    const S = eng.sparse({ rows: 150, cols: 60, row, col, val });
    const D = eng.matrix(d, 150, 60);
    const Qs = await rangeFinder(S, { size: 4, powerIters: 1 });
    expect(await rangeResidual(eng, D, Qs)).toBeLessThanOrEqual(150 * h.u);
    Qs.dispose();
    D.dispose();
    S.dispose();
  });

  it('rsvd equals rayleighRitz(A, rangeFinder(A, same options), k) bit for bit; Q is not consumed', async () => {
    const { eng } = h;
    const [m, n] = [150, 70];
    const A = eng.matrix(hostRandn(m, n, 3), m, n);
    const row = [0, 5, 9, 40, 77, 149, 149, 100],
      col = [0, 3, 69, 12, 12, 1, 50, 33];
    const S = eng.sparse({ rows: m, cols: n, row, col, val: [1, -2, 3, 0.5, 4, -1, 2, 7] });
    const cases: Array<[MatrixLike, RsvdOptions, RangeFinderOptions]> = [
      // (powerIters 'auto' is adaptive, so the composition holds for an explicit count)
      [A, { rank: 5, seed: 2, powerIters: 7 }, { size: 15, powerIters: 7, seed: 2 }],
      [A, { rank: 65, powerIters: 4 }, { size: 70, powerIters: 4 }], // l = min(k + p, min(m, n))
      [A, { rank: 8, oversample: 4, method: 'krylov', powerIters: 3 }, { size: 12, method: 'krylov', powerIters: 3 }],
      [A, { rank: 6, normalizer: 'cholqr2', powerIters: 2 }, { size: 16, normalizer: 'cholqr2', powerIters: 2 }],
      [A, { rank: 6, normalizer: 'lu', powerIters: 4, seed: 11 }, { size: 16, normalizer: 'lu', powerIters: 4, seed: 11 }],
      [A, { rank: 3, oversample: 0, normalizer: 'none', powerIters: 1 }, { size: 3, normalizer: 'none', powerIters: 1 }],
      [S, { rank: 4, powerIters: 2, seed: 5 }, { size: 14, seed: 5 }],
    ];
    for (const [X, ro, fo] of cases) {
      const tag = JSON.stringify(ro);
      const r = await rsvd(X, ro);
      const Q = await rangeFinder(X, fo);
      const s = await rayleighRitz(X, Q, ro.rank);
      expect(Q.disposed, tag).toBe(false);
      expect(await sameBits(r.U, s.U), `${tag} U`).toBe(true);
      expect(await sameBits(r.V, s.V), `${tag} V`).toBe(true);
      expect(Buffer.from(r.S.buffer).equals(Buffer.from(s.S.buffer)), `${tag} S`).toBe(true);
      // Q is still usable after rayleighRitz
      const again = await rayleighRitz(X, Q, 1);
      expect(again.S[0]).toBe(s.S[0]);
      for (const M of [r.U, r.V, s.U, s.V, again.U, again.V, Q]) M.dispose();
    }
    A.dispose();
    S.dispose();
  });

  it('svdFlip: largest-|.| entry of every U column positive (first on ties), same signs on V, U S V^T unchanged', async () => {
    const { eng } = h;
    // column 0: [-1, 1] ties, the first is negative -> flipped; column 1: [2, -2] -> kept; column 2 all negative
    const u = new Float64Array([-1, 2, -3, 1, -2, -0.5, 0.25, 1, -0.125]);
    const v = new Float64Array([1, 2, 3, 4, 5, 6]);
    const U = eng.matrix(u, 3, 3),
      V = eng.matrix(v, 2, 3);
    const f = await svdFlip(U, V);
    expect(f.U).not.toBe(U);
    expect(U.disposed || V.disposed).toBe(false);
    expect(Array.from(await host(f.U))).toEqual([1, 2, 3, -1, -2, 0.5, -0.25, 1, 0.125]);
    expect(Array.from(await host(f.V))).toEqual([-1, 2, -3, -4, 5, -6]);
    for (const M of [U, V, f.U, f.V]) M.dispose();

    // random factors: the rule holds and U diag(s) V^T does not change
    const [m, n, k] = [257, 127, 9];
    const s = Float64Array.from({ length: k }, (_, i) => k - i);
    const A = eng.matrix(hostRandn(m, k, 20), m, k),
      B = eng.matrix(hostRandn(n, k, 21), n, k);
    const g = await svdFlip(A, B);
    const { value } = await eng.colAbsMax(g.U);
    for (const x of value) expect(x).toBeGreaterThan(0);
    const [a, b, ga, gb] = [await host(A), await host(B), await host(g.U), await host(g.V)];
    for (let j = 0; j < k; j++) {
      const sign = Math.sign(ga[j] * a[j]) || 1;
      for (let i = 0; i < m; i++) expect(ga[i * k + j]).toBe(sign * a[i * k + j]);
      for (let i = 0; i < n; i++) expect(gb[i * k + j]).toBe(sign * b[i * k + j]);
    }
    const usv = (x: Host, y: Host): Host =>
      refMatmul(
        x.map((t, i) => t * s[i % k]),
        m,
        k,
        y,
        n,
        k,
        false,
        true,
      );
    const before = usv(a, b);
    expect(diffMax(before, usv(ga, gb))).toBeLessThanOrEqual(4 * k * h.u * frob(before));
    // no sign to change: still two new matrices
    const g2 = await svdFlip(g.U, g.V);
    expect(g2.U).not.toBe(g.U);
    expect(await sameBits(g2.U, g.U)).toBe(true);
    for (const M of [A, B, g.U, g.V, g2.U, g2.V]) M.dispose();
  });

  it('bad input: TypeError/RangeError naming the function and the argument', async () => {
    const { eng } = h;
    const A = eng.randn(20, 10, { seed: 1 });
    await expect(rangeFinder(A, { size: 0 })).rejects.toThrow(/^rangeFinder: 'size' must be an integer in \[1, 10\]/);
    await expect(rangeFinder(A, { size: 11 })).rejects.toThrow(RangeError);
    await expect(rangeFinder(A, {} as never)).rejects.toThrow(/rangeFinder: 'size' is required/);
    await expect(rangeFinder(A, undefined as never)).rejects.toThrow(TypeError);
    await expect(rangeFinder(A, { size: 2, rank: 2 } as never)).rejects.toThrow(/rangeFinder: unknown option 'rank'/);
    await expect(rangeFinder(A, { size: 2, method: 'lanczos' as never })).rejects.toThrow(/rangeFinder: 'method'/);
    await expect(rangeFinder(A, { size: 2, powerIters: -1 })).rejects.toThrow(/rangeFinder: 'powerIters'/);
    await expect(rangeFinder(A, { size: 2, normalizer: 'svd' as never })).rejects.toThrow(/rangeFinder: 'normalizer'/);
    await expect(rangeFinder(A, { size: 2, seed: 1.5 })).rejects.toThrow(/rangeFinder: 'seed'/);
    await expect(rangeFinder([[1, 2]] as never, { size: 1 })).rejects.toThrow(/^rangeFinder: 'A'/);
    if (h.dtype === 'f32') await expect(rangeFinder(A, { size: 2, normalizer: 'none', powerIters: 3 })).rejects.toThrow(/refused in f32/);
    const big = h.dtype === 'f32' ? 1e30 : 1e300;
    const overflowOp: LinearOperator = {
      engine: eng,
      rows: 20,
      cols: 10,
      apply: async (X) => {
        const F = eng.full(20, X.cols, big);
        const out = await eng.scale(F, big);
        F.dispose();
        return out;
      },
      applyT: async (Y) => eng.full(10, Y.cols, 1),
    };
    await expect(rangeFinder(overflowOp, { size: 2, powerIters: 0 })).rejects.toThrow(/^rangeFinder: non-finite/);

    const Q = await rangeFinder(A, { size: 4 });
    const wrong = eng.zeros(19, 4);
    await expect(rayleighRitz(A, wrong, 2)).rejects.toThrow(/^rayleighRitz: 'Q' must have A.rows = 20 rows, got 19 x 4/);
    await expect(rayleighRitz(A, Q, 5)).rejects.toThrow(/^rayleighRitz: 'k' must be at most min\(Q.cols, A.cols\) = 4, got 5/);
    await expect(rayleighRitz(A, Q, 0)).rejects.toThrow(/^rayleighRitz: 'k'/);
    await expect(rayleighRitz(A, Q, 1.5)).rejects.toThrow(RangeError);
    await expect(rayleighRitz(A, new Float64Array(80) as never, 1)).rejects.toThrow(/^rayleighRitz: 'Q' must be a Mat/);
    await expect(rayleighRitz(undefined as never, Q, 1)).rejects.toThrow(/^rayleighRitz: 'A'/);
    const Qd = await rangeFinder(A, { size: 4 });
    Qd.dispose();
    await expect(rayleighRitz(A, Qd, 2)).rejects.toThrow(/^rayleighRitz: 'Q' has been disposed/);

    const V3 = eng.zeros(10, 3);
    await expect(svdFlip(Q, V3)).rejects.toThrow(/^svdFlip: 'U' and 'V' must have the same number of columns, got 4 and 3/);
    await expect(svdFlip(null as never, V3)).rejects.toThrow(/^svdFlip: 'U' must be a Mat/);
    await expect(svdFlip(Q, {} as never)).rejects.toThrow(/^svdFlip: 'V' must be a Mat/);
    await expect(svdFlip(Q, Qd)).rejects.toThrow(/^svdFlip: 'V' has been disposed/);
    for (const M of [A, Q, wrong, V3]) M.dispose();
  });
});
