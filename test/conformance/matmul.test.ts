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
