/** GEMM conformance: every transpose combination, alpha, awkward and skinny shapes, on every backend. */
import { expect, it } from 'vitest';
import { describeEngines, frob, hostRandn, refMatmul } from '../helpers.js';

// [m, n, k]: awkward sizes, skinny outputs (m x (k+p) sketches), inner-product-like and outer shapes.
const SHAPES: ReadonlyArray<[number, number, number]> = [
  [1, 1, 1],
  [1, 1, 300],
  [300, 1, 1],
  [1, 300, 1],
  [2, 2, 2],
  [3, 5, 7],
  [17, 33, 65],
  [127, 127, 127],
  [128, 128, 128],
  [257, 257, 257],
  [129, 31, 257],
  [2000, 20, 150],
  [20, 2000, 150],
  [1000, 1000, 8],
  [40, 40, 3000],
  [513, 64, 300],
];

/** A rank-one r x c matrix x y^T. */
function rank1(r: number, c: number): Float64Array {
  const x = hostRandn(r, 1, 5);
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[i * c + j] = x[i] * (j + 1);
  return out;
}

describeEngines('matmul', (h) => {
  for (const [m, n, k] of SHAPES) {
    it(`${m} x ${n} x ${k}, all transposes`, async () => {
      const { eng } = h;
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const [ar, ac] = transA ? [k, m] : [m, k];
          const [br, bc] = transB ? [n, k] : [k, n];
          const A = eng.matrix(hostRandn(ar, ac, m * 7 + k), ar, ac);
          const B = eng.matrix(hostRandn(br, bc, n * 11 + k + 1), br, bc);
          const alpha = transA === transB ? 1 : -0.75;
          const C = await eng.matmul(A, B, { transA, transB, alpha });
          expect([C.rows, C.cols]).toEqual([m, n]);
          const ref = refMatmul(await A.toArray(), ar, ac, await B.toArray(), br, bc, transA, transB);
          const got = await C.toArray();
          // |C - alpha op(A) op(B)| <= gamma_k |alpha| |op(A)| |op(B)| entrywise; compare in norm with
          // a k-scaled bound (sqrt(k) typical growth, 4 k worst-case headroom for blocked sums).
          let err = 0;
          for (let i = 0; i < m * n; i++) err = Math.max(err, Math.abs(got[i] - alpha * ref[i]));
          const scale = (Math.abs(alpha) * (frob(await A.toArray()) * frob(await B.toArray()))) / Math.sqrt(m * n) + 1e-300;
          expect(err).toBeLessThanOrEqual(4 * k * h.u * scale + 1e-30);
          A.dispose();
          B.dispose();
          C.dispose();
        }
      }
    });
  }

  // A^T A and A A^T of one matrix (the native backend takes its Gram route: syrk + mirror): the same
  // bound as any product, and the result exactly symmetric; a zero and a rank-1 matrix too.
  for (const [r, c] of [
    [1, 1],
    [1, 7],
    [5, 2],
    [127, 4],
    [257, 65],
    [3000, 40],
  ] as const) {
    it(`Gram products A^T A and A A^T of a ${r} x ${c} matrix`, async () => {
      const { eng } = h;
      const inputs = [hostRandn(r, c, r * 13 + c), new Float64Array(r * c), rank1(r, c)];
      for (const data of inputs) {
        const A = eng.matrix(data, r, c);
        const a = await A.toArray();
        for (const transA of [true, false]) {
          const alpha = transA ? 1 : -0.5;
          const G = await eng.matmul(A, A, { transA, transB: !transA, alpha });
          const n = transA ? c : r,
            k = transA ? r : c;
          expect([G.rows, G.cols]).toEqual([n, n]);
          const ref = refMatmul(a, r, c, a, r, c, transA, !transA);
          const g = await G.toArray();
          let err = 0,
            asym = 0;
          for (let i = 0; i < n; i++)
            for (let j = 0; j < n; j++) {
              err = Math.max(err, Math.abs(g[i * n + j] - alpha * ref[i * n + j]));
              asym = Math.max(asym, Math.abs(g[i * n + j] - g[j * n + i]));
            }
          const scale = (Math.abs(alpha) * frob(a) ** 2) / n + 1e-300;
          expect(err).toBeLessThanOrEqual(4 * k * h.u * scale + 1e-30);
          if (h.backend === 'native') expect(asym).toBe(0);
          else expect(asym).toBeLessThanOrEqual(4 * k * h.u * scale + 1e-30);
          G.dispose();
        }
        A.dispose();
      }
    });
  }

  it('has no NaN leakage from recycled output memory (beta = 0 semantics)', async () => {
    const { eng } = h;
    // Create and drop a NaN-free but large-valued matrix so its buffer is pooled, then reuse the size.
    const junk = eng.matrix(new Float64Array(64 * 64).fill(1e30), 64, 64);
    junk.dispose();
    const A = eng.zeros(64, 64);
    const C = await eng.matmul(A, A);
    expect((await C.toArray()).every((v) => v === 0)).toBe(true);
    A.dispose();
    C.dispose();
  });

  it('rejects mismatched inner dimensions with a RangeError naming both shapes', async () => {
    const A = h.eng.zeros(3, 4),
      B = h.eng.zeros(5, 2);
    await expect(h.eng.matmul(A, B)).rejects.toThrow(RangeError);
    await expect(h.eng.matmul(A, B)).rejects.toThrow(/op\(A\) is 3 x 4, op\(B\) is 5 x 2/);
    await expect(h.eng.matmul(A, B, { transA: true, transB: true })).rejects.toThrow(RangeError);
    A.dispose();
    B.dispose();
  });
});
