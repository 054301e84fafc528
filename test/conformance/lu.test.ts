/**
 * LU with partial pivoting (scipy permute_l form) on the shapes that exercise the recursive native
 * factorization: leaf widths, the TRSM split (> 32 columns), square and tall panels, rank-deficient
 * inputs, zero pivot columns in the middle, and a subnormal pivot (1 / pivot overflows). Relation:
 * |PL U - A| <= c n u (|PL| |U|) entry-wise scale, |PL| <= 1, U upper triangular, unit pivot rows.
 */
import { expect, it } from 'vitest';
import { describeEngines, disposeAll, hostRandn, refMatmul } from '../helpers.js';

type Host = ArrayLike<number>;

/** Checks A = PL U for the engine's factors; returns the pivot row of each column. */
async function check(h: Parameters<Parameters<typeof describeEngines>[1]>[0], a: Host, m: number, n: number) {
  const X = h.eng.matrix(Float64Array.from(a), m, n);
  const xs = await X.toArray();
  const { PL, U } = await h.eng.lu(X);
  expect([PL.rows, PL.cols, U.rows, U.cols]).toEqual([m, n, n, n]);
  const pl = await PL.toArray(),
    u = await U.toArray();
  const prod = refMatmul(pl, m, n, u, n, n);
  const absProd = refMatmul(Array.from(pl, Math.abs), m, n, Array.from(u, Math.abs), n, n);
  let worst = 0,
    scale = Number.MIN_VALUE;
  for (let i = 0; i < m * n; i++) {
    worst = Math.max(worst, Math.abs(prod[i] - xs[i]));
    scale = Math.max(scale, absProd[i]);
  }
  expect(worst / scale, `${m}x${n}`).toBeLessThanOrEqual(8 * n * h.u);
  let below = 0,
    plMax = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) below = Math.max(below, Math.abs(u[i * n + j]));
  for (const v of pl) plMax = Math.max(plMax, Math.abs(v));
  expect(below).toBe(0);
  expect(plMax).toBeLessThanOrEqual(1);
  // every column has a pivot row: 1 at (p, j), zeros to the right, and the pivot rows are distinct
  const piv = new Set<number>();
  for (let j = 0; j < n; j++) {
    let p = -1;
    for (let i = 0; i < m && p < 0; i++) {
      if (pl[i * n + j] !== 1 || piv.has(i)) continue;
      let zeros = true;
      for (let c = j + 1; c < n; c++) zeros &&= pl[i * n + c] === 0;
      if (zeros) p = i;
    }
    expect(p, `pivot row of column ${j} (${m}x${n})`).toBeGreaterThanOrEqual(0);
    piv.add(p);
  }
  disposeAll(X, PL, U);
}

describeEngines('lu (recursive panel shapes)', (h) => {
  it('A = PL U on tall, square and leaf/TRSM-split shapes', async () => {
    const shapes: [number, number][] = [
      [1, 1],
      [2, 1],
      [2, 2],
      [2000, 1],
      [9, 9],
      [130, 127],
      [257, 257],
      [4000, 60],
      [600, 257],
    ];
    for (const [m, n] of shapes) await check(h, hostRandn(m, n, m + 3 * n), m, n);
  });

  it('rank-deficient inputs and zero pivot columns in the middle', async () => {
    const m = 300,
      n = 70,
      r = 9;
    const x = hostRandn(m, r, 5),
      y = hostRandn(r, n, 6);
    const a = refMatmul(x, m, r, y, r, n); // rank 9
    for (const j of [0, 17, 40]) for (let i = 0; i < m; i++) a[i * n + j] = 0; // zero columns
    for (let i = 0; i < m; i++) a[i * n + 41] = a[i * n + 5]; // a repeated column
    await check(h, a, m, n);
    // all zero
    await check(h, new Float64Array(40 * 33), 40, 33);
  });

  it('a subnormal pivot: multipliers stay finite', async () => {
    const m = 50,
      n = 12,
      tiny = h.dtype === 'f32' ? 1e-40 : 1e-310;
    const a = hostRandn(m, n, 9);
    for (let i = 0; i < m; i++) a[i * n] = i === 3 ? tiny : i % 2 === 0 ? 0 : tiny / 2;
    await check(h, a, m, n);
  });
});
