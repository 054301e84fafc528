/**
 * Degenerate inputs through every factorization and algorithm (issue 12, defect 1): zero, constant,
 * one-hot, duplicated columns, exact low rank (product of thin factors) and repeated singular values
 * (orthonormal times identity), in awkward shapes. The answers must be finite and satisfy the usual
 * relations (zero or repeated singular values still give orthonormal U and V: the null space is
 * completed), or the call must fail with the documented RangeError; never NaN and never a false
 * "contains NaN or Infinity".
 *
 * Shapes on the other side of the host/device thresholds: native svd factors by QR first when
 * m >= 11 n / 6 (n >= 8); WebGPU's svd runs the k x k problem on the host for min(m, n) <= 512 and
 * one-sided Jacobi on the device above (two such cases, a few seconds each on lavapipe).
 */
import { expect, it } from 'vitest';
import type { Engine } from '../../ts/engine.js';
import type { Mat } from '../../ts/mat.js';
import {
  completeMatrix,
  denseMeasurements,
  leverageScores,
  lewisWeights,
  robustRecover,
  rsvd,
  rsvdStream,
  svdError,
  RsvdSketch,
} from '../../ts/index.js';
import type { RsvdOptions } from '../../ts/index.js';
import { describeEngines, frob, hostRandn, orthDefect, randomOrthonormal, refMatmul, type Host } from '../helpers.js';

type Kind = 'zero' | 'ones' | 'onehot' | 'dupcols' | 'lowrank' | 'repeated';
const KINDS: Kind[] = ['zero', 'ones', 'onehot', 'dupcols', 'lowrank', 'repeated'];

/** Host m x n (row-major, f64) of the given kind. */
function degenerate(kind: Kind, m: number, n: number, seed = 1): Host {
  const A = new Float64Array(m * n);
  switch (kind) {
    case 'zero':
      break;
    case 'ones':
      A.fill(2.5);
      break;
    case 'onehot':
      A[Math.floor(m / 2) * n + Math.floor((n - 1) / 2)] = -3;
      break;
    case 'dupcols': {
      // Every column is one of two random columns (exactly duplicated).
      const g = hostRandn(m, 2, seed);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) A[i * n + j] = g[i * 2 + (j % 2)];
      break;
    }
    case 'lowrank': {
      const r = Math.min(2, m, n);
      return refMatmul(hostRandn(m, r, seed), m, r, hostRandn(r, n, seed + 1), r, n);
    }
    case 'repeated': {
      // Q1 diag(3, ..., 3, 1, ..., 1) Q2^T: every singular value repeated (half 3, half 1).
      const k = Math.min(m, n);
      const Q1 = randomOrthonormal(m, k, seed),
        Q2 = randomOrthonormal(n, k, seed + 1);
      for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) Q1[i * k + j] *= j < Math.ceil(k / 2) ? 3 : 1;
      return refMatmul(Q1, m, k, Q2, n, k, false, true);
    }
  }
  return A;
}

function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

function isDescendingNonneg(v: ArrayLike<number>): boolean {
  for (let i = 0; i < v.length; i++) if (!(v[i] >= 0) || (i > 0 && !(v[i] <= v[i - 1]))) return false;
  return true;
}

/** ||A - U diag(S) V^T||_F. */
function svdResidual(a: ArrayLike<number>, m: number, n: number, U: ArrayLike<number>, S: ArrayLike<number>, V: ArrayLike<number>): number {
  const k = S.length;
  const US = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) US[i * k + j] = U[i * k + j] * S[j];
  const R = refMatmul(US, m, k, V, n, k, false, true);
  for (let i = 0; i < m * n; i++) R[i] -= a[i];
  return frob(R);
}

const SHAPES: ReadonlyArray<[number, number]> = [
  [1, 1],
  [2, 1],
  [1, 2],
  [8, 5],
  [5, 8],
  [127, 3],
  [40, 9],
  [9, 40],
];

describeEngines('degenerate inputs: factorizations', (h) => {
  // Constants: residuals c sqrt(size) u relative to max(||A||, tiny); orthogonality c size u.
  const C = 30;

  async function checkSvd(a0: Host, m: number, n: number, what: string): Promise<void> {
    const { eng, u } = h;
    const A = eng.matrix(a0, m, n);
    const a = await A.toArray();
    const { U, S, V } = await eng.svd(A);
    const k = Math.min(m, n);
    const [uh, vh] = [await U.toArray(), await V.toArray()];
    expect(allFinite(uh) && allFinite(vh) && allFinite(S), `${what}: finite`).toBe(true);
    expect(isDescendingNonneg(S), `${what}: S descending, >= 0: ${Array.from(S)}`).toBe(true);
    const scale = Math.max(frob(a), 1e-300);
    expect(svdResidual(a, m, n, uh, S, vh) / scale, `${what}: residual`).toBeLessThanOrEqual(C * Math.sqrt(Math.max(m, n)) * u);
    expect(orthDefect(uh, m, k), `${what}: U orthonormal`).toBeLessThanOrEqual(C * Math.max(m, n) * u);
    expect(orthDefect(vh, n, k), `${what}: V orthonormal`).toBeLessThanOrEqual(C * Math.max(m, n) * u);
    disposeAll(A, U, V);
  }

  for (const kind of KINDS)
    it(`svd: ${kind} in every shape`, async () => {
      for (const [m, n] of SHAPES) await checkSvd(degenerate(kind, m, n), m, n, `${kind} ${m}x${n}`);
    });

  it('svd: the issue cases (ones 5 x 5, one-hot 8 x 5, tiny trailing block of a rank-1 product)', async () => {
    await checkSvd(new Float64Array(25).fill(1), 5, 5, 'ones 5x5');
    const oh = new Float64Array(40);
    oh[7] = 3;
    await checkSvd(oh, 8, 5, 'onehot 8x5');
    // Rank one with columns of wildly different size (1 ... 1e-25): the f32 secular equation of the
    // tiny trailing blocks underflowed (squares below the smallest normal float).
    const m = 120,
      n = 20,
      col = hostRandn(m, 1, 3),
      row = new Float64Array(n);
    for (let j = 0; j < n; j++) row[j] = 10 ** (-(25 * j) / (n - 1)) * (j % 2 ? -1 : 1);
    await checkSvd(refMatmul(col, m, 1, row, 1, n), m, n, 'graded rank 1');
  });

  it('svd: both sides of the native QR-first rule', async () => {
    await checkSvd(degenerate('ones', 300, 60), 300, 60, 'ones 300x60');
    await checkSvd(degenerate('dupcols', 60, 300), 60, 300, 'dupcols 60x300');
  });

  it('svd: min side > 512 (WebGPU: the device Jacobi route with completion of zero columns)', async () => {
    await checkSvd(degenerate('zero', 520, 513), 520, 513, 'zero 520x513');
    await checkSvd(degenerate('ones', 513, 530), 513, 530, 'ones 513x530');
  });

  it('qr and lu: finite factors that reproduce A; Q orthonormal', async () => {
    const { eng, u } = h;
    for (const kind of KINDS)
      for (const [m, n] of SHAPES) {
        if (m < n) continue;
        const what = `${kind} ${m}x${n}`;
        const a = degenerate(kind, m, n);
        const A = eng.matrix(a, m, n);
        const ah = await A.toArray();
        const scale = Math.max(frob(ah), 1e-300);
        const { Q, R } = await eng.qr(A);
        const [q, r] = [await Q.toArray(), await R.toArray()];
        expect(allFinite(q) && allFinite(r), `qr ${what}: finite`).toBe(true);
        expect(orthDefect(q, m, n), `qr ${what}: Q orthonormal`).toBeLessThanOrEqual(C * m * u);
        const QR = refMatmul(q, m, n, r, n, n);
        expect(frob(QR.map((x, i) => x - ah[i])) / scale, `qr ${what}: A = QR`).toBeLessThanOrEqual(C * Math.sqrt(m) * u);
        const { PL, U } = await eng.lu(A);
        const [pl, uu] = [await PL.toArray(), await U.toArray()];
        expect(allFinite(pl) && allFinite(uu), `lu ${what}: finite`).toBe(true);
        const LU = refMatmul(pl, m, n, uu, n, n);
        expect(frob(LU.map((x, i) => x - ah[i])) / scale, `lu ${what}: A = PL U`).toBeLessThanOrEqual(C * n * u);
        disposeAll(A, Q, R, PL, U);
      }
  });

  it('eigh: zero, constant, one-hot, rank-deficient Gram and repeated eigenvalues', async () => {
    const { eng, u } = h;
    for (const n of [1, 2, 5, 8, 127]) {
      const cases: [string, Host][] = [];
      for (const kind of KINDS) {
        const B = degenerate(kind, n + 3, n);
        cases.push([`${kind} B^T B`, refMatmul(B, n + 3, n, B, n + 3, n, true, false)]);
      }
      cases.push(['zero', new Float64Array(n * n)], ['ones', new Float64Array(n * n).fill(1)]);
      for (const [name, a0] of cases) {
        const what = `${name} n=${n}`;
        const A = eng.matrix(a0, n, n);
        const a = await A.toArray();
        const { values, vectors } = await eng.eigh(A);
        const v = await vectors.toArray();
        expect(allFinite(v) && allFinite(values), `eigh ${what}: finite`).toBe(true);
        for (let i = 1; i < n; i++) expect(values[i], `eigh ${what}: descending`).toBeLessThanOrEqual(values[i - 1]);
        expect(orthDefect(v, n, n), `eigh ${what}: orthonormal`).toBeLessThanOrEqual(C * n * u);
        const AV = refMatmul(a, n, n, v, n, n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) AV[i * n + j] -= v[i * n + j] * values[j];
        expect(frob(AV) / Math.max(frob(a), 1e-300), `eigh ${what}: A V = V diag(w)`).toBeLessThanOrEqual(C * Math.sqrt(n) * u);
        disposeAll(A, vectors);
      }
    }
  });

  it('lstsq: finite minimum-norm-consistent solutions and the numerical rank', async () => {
    const { eng, u } = h;
    for (const kind of KINDS)
      for (const [m, n] of SHAPES) {
        const what = `${kind} ${m}x${n}`;
        const a = degenerate(kind, m, n);
        const b = hostRandn(m, 2, 9);
        const A = eng.matrix(a, m, n),
          B = eng.matrix(b, m, 2);
        const [ah, bh] = [await A.toArray(), await B.toArray()];
        const { X, rank } = await eng.lstsqInfo(A, B);
        const x = await X.toArray();
        expect(allFinite(x), `lstsq ${what}: finite`).toBe(true);
        const expectRank = {
          zero: 0,
          ones: 1,
          onehot: 1,
          dupcols: Math.min(2, m, n),
          lowrank: Math.min(2, m, n),
          repeated: Math.min(m, n),
        }[kind];
        // The rank cutoff max(m, n) u sigma_1 is tight for small shapes: WebGPU's f32 device QR leaves a
        // third singular value of a rank-2 8 x 5 at ~16 u sigma_1, within its backward error. Native
        // must hit the exact rank; WebGPU must not go below it.
        if (h.backend === 'native') expect(rank, `lstsq ${what}: rank`).toBe(expectRank);
        else expect(rank, `lstsq ${what}: rank`).toBeGreaterThanOrEqual(expectRank);
        expect(rank, `lstsq ${what}: rank <= min(m, n)`).toBeLessThanOrEqual(Math.min(m, n));
        // Normal equations: A^T (A X - B) = 0, relative to ||A|| ||B|| (and ||A||^2 ||X||).
        const R = refMatmul(ah, m, n, x, n, 2);
        for (let i = 0; i < m * 2; i++) R[i] -= bh[i];
        const G = refMatmul(ah, m, n, R, m, 2, true, false);
        const na = frob(ah);
        expect(frob(G), `lstsq ${what}: normal equations`).toBeLessThanOrEqual(
          C * Math.max(m, n) * u * na * (frob(bh) + na * frob(x)) + 1e-300,
        );
        if (kind === 'zero') expect(frob(x), `lstsq ${what}: X = 0`).toBe(0);
        disposeAll(A, B, X);
      }
  });

  it('cholesky of a singular matrix is the documented RangeError', async () => {
    const { eng } = h;
    for (const n of [1, 2, 8]) {
      for (const a of [new Float64Array(n * n), new Float64Array(n * n).fill(1)]) {
        if (n === 1 && a[0] === 1) continue; // [1] is positive definite
        const A = eng.matrix(a, n, n);
        await expect(eng.cholesky(A)).rejects.toThrow(RangeError);
        await expect(eng.cholesky(A)).rejects.toThrow(/cholesky/);
        A.dispose();
      }
    }
  });
});

describeEngines('degenerate inputs: algorithms', (h) => {
  const C = 30;

  async function checkFactors(
    eng: Engine,
    a: ArrayLike<number>,
    m: number,
    n: number,
    f: { U: Mat; S: Float64Array; V: Mat },
    k: number,
    exactRank: number,
    what: string,
  ): Promise<void> {
    const { u } = h;
    const [uh, vh] = [await f.U.toArray(), await f.V.toArray()];
    expect(allFinite(uh) && allFinite(vh) && allFinite(f.S), `${what}: finite`).toBe(true);
    expect(f.S.length, `${what}: k`).toBe(k);
    expect(isDescendingNonneg(f.S), `${what}: S descending >= 0: ${Array.from(f.S)}`).toBe(true);
    expect(orthDefect(uh, m, k), `${what}: U orthonormal`).toBeLessThanOrEqual(C * Math.max(m, n) * u);
    expect(orthDefect(vh, n, k), `${what}: V orthonormal`).toBeLessThanOrEqual(C * Math.max(m, n) * u);
    // Exact rank <= k: the factors reproduce A (to a loose multiple: power iterations square sigma).
    if (exactRank <= k) {
      const scale = Math.max(frob(a), 1e-300);
      expect(svdResidual(a, m, n, uh, f.S, vh) / scale, `${what}: residual`).toBeLessThanOrEqual(1e3 * Math.sqrt(Math.max(m, n)) * u);
    }
  }

  const RS_SHAPES: ReadonlyArray<[number, number]> = [
    [200, 120],
    [40, 90],
    [127, 3],
  ];
  const VARIANTS: [string, Partial<RsvdOptions>][] = [
    ['subspace/qr', { method: 'subspace', normalizer: 'qr' }],
    ['subspace/cholqr2', { method: 'subspace', normalizer: 'cholqr2' }],
    ['subspace/lu', { method: 'subspace', normalizer: 'lu' }],
    ['subspace/none q=1', { method: 'subspace', normalizer: 'none', powerIters: 1 }],
    ['krylov/qr', { method: 'krylov', normalizer: 'qr' }],
    ['krylov/cholqr2', { method: 'krylov', normalizer: 'cholqr2' }],
    ['sklearn', { preset: 'sklearn' }],
    ['torch', { preset: 'torch' }],
    ['fbpca', { preset: 'fbpca' }],
    ['fbpca centered', { preset: 'fbpca', center: true }],
  ];
  const RANKS: Record<Kind, number> = { zero: 0, ones: 1, onehot: 1, dupcols: 2, lowrank: 2, repeated: Infinity };

  for (const [vname, vopts] of VARIANTS)
    it(`rsvd ${vname}: no NaN and no false non-finite error`, async () => {
      const { eng } = h;
      for (const kind of KINDS)
        for (const [m, n] of RS_SHAPES) {
          const k = Math.min(5, m, n);
          const a = degenerate(kind, m, n);
          const A = eng.matrix(a, m, n);
          const ah = await A.toArray();
          const res = await rsvd(A, { rank: k, seed: 3, ...vopts });
          // Centering changes the matrix: check the orthonormality and finiteness only.
          await checkFactors(eng, ah, m, n, res, k, vopts.center ? Infinity : RANKS[kind], `rsvd ${vname} ${kind} ${m}x${n}`);
          disposeAll(A, res.U, res.V);
        }
    });

  it('rsvdStream / RsvdSketch and svdError on degenerate inputs', async () => {
    const { eng } = h;
    for (const kind of KINDS) {
      const [m, n] = [150, 40];
      const a = degenerate(kind, m, n);
      const A = eng.matrix(a, m, n);
      const ah = await A.toArray();
      const blocks = [await eng.slice(A, { rows: [0, 70] }), await eng.slice(A, { rows: [70, m] })];
      const res = await rsvdStream(blocks, { rank: 3, seed: 2 });
      await checkFactors(eng, ah, m, n, res, 3, RANKS[kind], `rsvdStream ${kind}`);
      const sk = RsvdSketch.create(eng, { cols: n, rank: 3, seed: 5 });
      await sk.add(A, 0);
      const r2 = await sk.finalize();
      await checkFactors(eng, ah, m, n, r2, 3, RANKS[kind], `RsvdSketch ${kind}`);
      const e = await svdError(A, r2);
      for (const [key, val] of Object.entries(e)) expect(Number.isFinite(val), `svdError ${kind}: ${key} = ${val}`).toBe(true);
      disposeAll(A, ...blocks, res.U, res.V, r2.U, r2.V);
      sk.dispose();
    }
  });

  it('leverage scores and Lewis weights: finite, in [0, 1], summing to the rank', async () => {
    const { eng, u } = h;
    for (const kind of KINDS) {
      const [m, n] = [60, 6];
      const A = eng.matrix(degenerate(kind, m, n), m, n);
      const rank = Math.min(RANKS[kind], n);
      const lev = await leverageScores(A);
      expect(allFinite(lev), `leverageScores ${kind}: finite`).toBe(true);
      let s = 0;
      for (const t of lev) {
        expect(t).toBeGreaterThanOrEqual(-1e3 * u);
        expect(t).toBeLessThanOrEqual(1 + 1e3 * u);
        s += t;
      }
      expect(Math.abs(s - rank), `leverageScores ${kind}: sum = rank`).toBeLessThanOrEqual(1e3 * m * u);
      let w: Float64Array | undefined;
      try {
        w = await lewisWeights(A, { p: 1 });
      } catch (e) {
        // A documented refusal is allowed for a zero matrix; a false non-finite error is not.
        expect(e, `lewisWeights ${kind}`).toBeInstanceOf(RangeError);
        expect(String(e)).not.toMatch(/NaN|Infinity|non-finite/);
      }
      if (w) expect(allFinite(w), `lewisWeights ${kind}: finite`).toBe(true);
      A.dispose();
    }
  });
});

describeEngines('degenerate inputs: completion and SubGM', (h) => {
  it('completeMatrix on zero, constant and one-hot observations (both solvers): finite factors', async () => {
    const { eng } = h;
    const [m, n] = [30, 20];
    for (const kind of ['zero', 'ones', 'onehot'] as const) {
      const row: number[] = [],
        col: number[] = [],
        val: number[] = [];
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++)
          if ((i * 7 + j * 3) % 3 === 0) {
            row.push(i);
            col.push(j);
            val.push(kind === 'zero' ? 0 : kind === 'ones' ? 1 : i === 3 && j === 0 ? 2 : 0);
          }
      for (const solver of ['sketch', 'exact'] as const) {
        const S = eng.sparse({ rows: m, cols: n, row, col, val });
        const r = await completeMatrix(S, { rank: 2, solver, iters: 4, seed: 1 });
        const [uh, vh] = [await r.U.toArray(), await r.V.toArray()];
        expect(allFinite(uh) && allFinite(vh), `completeMatrix ${kind} ${solver}: finite`).toBe(true);
        expect(Number.isFinite(r.info.history.at(-1)!.trainRmse), `completeMatrix ${kind} ${solver}: rmse`).toBe(true);
        disposeAll(r.U, r.V);
        S.dispose();
      }
    }
  });

  it('robustRecover with zero, constant and one-hot measurements: finite factors', async () => {
    const { eng } = h;
    const [N, M] = [6, 80];
    for (const kind of ['zero', 'ones', 'onehot'] as const) {
      const y = new Float64Array(M).fill(kind === 'ones' ? 1 : 0);
      if (kind === 'onehot') y[3] = 1;
      const A = eng.randn(M, N * N, { seed: 2 });
      const r = await robustRecover({ n: N, measurements: denseMeasurements(A, N), y }, { rank: 2, seed: 1, iters: 40 });
      expect(allFinite(await r.U.toArray()), `robustRecover ${kind}: finite`).toBe(true);
      disposeAll(A, r.U, r.V);
    }
  });
});

function disposeAll(...ms: (Mat | undefined)[]): void {
  for (const x of ms) x?.dispose();
}
