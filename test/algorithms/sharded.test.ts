/**
 * The multi-pass sharded randomized SVD (ts/algorithms/rsvd/sharded.ts), run in-process over row
 * shards: the same answer as the in-memory rsvd with the same q, oversampling and seed, on awkward
 * shard sizes (shards with fewer rows than the sketch has columns, a single row).
 */
import { expect, it } from 'vitest';
import { rsvd, type Engine, type Mat } from '../../ts/index.js';
import { shardCorange, shardFinish, shardNextBasis, shardRange, shardTestMatrix, tsqrReduce } from '../../ts/algorithms/rsvd/sharded.js';
import { describeEngines, disposeAll } from '../helpers.js';
import { spectra, spectrumMatrix } from './fixtures.js';

/** Runs the map/reduce steps over row shards of A (given as row counts) and returns S, V and U. */
async function shardedRsvd(eng: Engine, A: Mat, cuts: number[], k: number, p: number, q: number, seed: number) {
  const shards: Mat[] = [];
  let r0 = 0;
  for (const c of cuts) {
    shards.push(await eng.slice(A, { rows: [r0, r0 + c] }));
    r0 += c;
  }
  const l = Math.min(k + p, A.rows, A.cols);
  let X = shardTestMatrix(eng, A.cols, l, seed);
  let sumSquares = 0;
  let result: { S: Float64Array; V: Mat; U: Mat } | undefined;
  for (let it = 0; it <= q; it++) {
    const ranges = [];
    for (const Ai of shards) ranges.push(await shardRange(eng, Ai, X));
    X.dispose();
    sumSquares = ranges.reduce((s, r) => s + r.sumSquares, 0);
    const { blocks, R } = await tsqrReduce(
      eng,
      ranges.map((r) => r.R),
    );
    R.dispose();
    let P: Mat | null = null;
    for (const [i, Ai] of shards.entries()) {
      const Pi = await shardCorange(eng, Ai, ranges[i].Q, blocks[i]);
      if (P) {
        const s: Mat = await eng.add(P, Pi);
        disposeAll(P, Pi);
        P = s;
      } else P = Pi;
    }
    if (!P) throw new Error('no shards');
    if (it < q) {
      X = await shardNextBasis(eng, P);
      P.dispose();
    } else {
      const { S, V, C } = await shardFinish(eng, P, k);
      P.dispose();
      const Us = [];
      for (const [i, r] of ranges.entries()) {
        const Qi = r.Q ? await eng.matmul(r.Q, blocks[i]) : await eng.scale(blocks[i], 1);
        Us.push(await eng.matmul(Qi, C));
        Qi.dispose();
      }
      const U = Us.length === 1 ? Us[0] : await eng.vstack(Us);
      if (Us.length > 1) disposeAll(...Us);
      C.dispose();
      result = { S, V, U };
    }
    disposeAll(...blocks, ...ranges.flatMap((r) => [r.Q, r.R]));
  }
  disposeAll(...shards);
  if (!result) throw new Error('no result');
  return { ...result, sumSquares };
}

/** max over columns of 1 - |<a_j, b_j>| (unit columns: 0 when equal up to sign). */
async function columnMismatch(a: Mat, b: Mat): Promise<number> {
  const x = await a.toArray();
  const y = await b.toArray();
  let worst = 0;
  for (let j = 0; j < a.cols; j++) {
    let d = 0;
    for (let i = 0; i < a.rows; i++) d += x[i * a.cols + j] * y[i * a.cols + j];
    worst = Math.max(worst, 1 - Math.abs(d));
  }
  return worst;
}

describeEngines('sharded rsvd (map / reduce steps)', (h) => {
  const cases: [string, number[], number][] = [
    ['6 equal shards, q = 2', [100, 100, 100, 100, 100, 100], 2],
    ['awkward shards (1, 7, 257, 127, 2 rows), q = 1', [1, 7, 257, 127, 2, 206], 1],
    ['one shard, q = 0', [600], 0],
  ];
  for (const [name, cuts, q] of cases)
    it(`${name}: equals the in-memory rsvd with the same q, p and seed`, async () => {
      const m = cuts.reduce((a, b) => a + b, 0);
      const n = 120;
      const k = 8;
      const s = spectra.exponential(n, 0.8);
      const A = h.eng.matrix(await spectrumMatrix(m, n, s, 4), m, n);
      const ref = await rsvd(A, { rank: k, powerIters: q, seed: 9 });
      const got = await shardedRsvd(h.eng, A, cuts, k, 10, q, 9);
      const tol = h.dtype === 'f64' ? 1e-10 : 2e-5;
      for (let i = 0; i < k; i++) expect(Math.abs(got.S[i] - ref.S[i]) / ref.S[i]).toBeLessThan(tol);
      // the vectors agree up to sign (the spectrum is separated, so each is determined)
      expect(await columnMismatch(got.U, ref.U)).toBeLessThan(h.dtype === 'f64' ? 1e-9 : 1e-3);
      expect(await columnMismatch(got.V, ref.V)).toBeLessThan(h.dtype === 'f64' ? 1e-9 : 1e-3);
      // ||A||_F^2 from the range maps
      let ss = 0;
      for (const x of s) ss += x * x;
      expect(Math.abs(got.sumSquares - ss) / ss).toBeLessThan(h.dtype === 'f64' ? 1e-12 : 1e-5);
      disposeAll(A, ref.U, ref.V, got.U, got.V);
    });

  it('tsqrReduce refuses fewer rows than sketch columns', async () => {
    const R = h.eng.matrix(new Float64Array(6).fill(1), 2, 3);
    await expect(tsqrReduce(h.eng, [R])).rejects.toThrow(/2 rows in all, fewer than the 3 sketch columns/);
    R.dispose();
  });
});
