/**
 * Block primitives (full/ones, slice, hstack/vstack, scaleRows/scaleColumns, colAbsMax), random fills
 * at a stream offset, and LU with partial pivoting, on every backend, against f64 host references.
 */
import { expect, it } from 'vitest';
import { normalStreamF64, uniformStream } from '../../ts/rng/philox.js';
import { AWKWARD, consume, describeEngines, disposeAll, diffMax, frob, hostRandn, refMatmul } from '../helpers.js';

/** Host reference of scipy's lu(A, permute_l=True) pivot rule: returns the pivot row of each column. */
function hostPivots(a: ArrayLike<number>, m: number, n: number): number[] {
  const W = Float64Array.from(a);
  const done = new Uint8Array(m);
  const piv: number[] = [];
  for (let j = 0; j < n; j++) {
    let p = -1,
      best = -1;
    for (let i = 0; i < m; i++) if (!done[i] && Math.abs(W[i * n + j]) > best) (best = Math.abs(W[i * n + j])), (p = i);
    piv.push(p);
    done[p] = 1;
    const d = W[p * n + j];
    for (let i = 0; i < m; i++) {
      if (done[i] || d === 0) continue;
      const l = W[i * n + j] / d;
      for (let c = j + 1; c < n; c++) W[i * n + c] -= l * W[p * n + c];
    }
  }
  return piv;
}

describeEngines('block primitives', (h) => {
  it('full and ones fill every entry', async () => {
    for (const [m, n] of [
      [1, 1],
      [3, 5],
      [257, 33],
    ]) {
      const F = h.eng.full(m, n, -2.5);
      expect((await F.toArray()).every((v) => v === -2.5)).toBe(true);
      expect((await consume(h.eng.ones(m, n))).every((v) => v === 1)).toBe(true);
      F.dispose();
    }
    expect(() => h.eng.full(2, 2, NaN)).toThrow(/'value'/);
    if (h.dtype === 'f32') expect(() => h.eng.full(2, 2, 1e300)).toThrow(/overflows f32/);
  });

  it('random fills at an offset equal the same entries of the whole stream', async () => {
    for (const offset of [0, 1, 3, 5, 4097]) {
      const m = 7,
        n = 9;
      const u = await consume(h.eng.rand(m, n, { seed: 77, offset }));
      const want = uniformStream(offset + m * n, 77, h.dtype).subarray(offset);
      expect(diffMax(u, want)).toBe(0);
      // randn: rows r0.. of a big matrix generated alone equal those rows of the whole matrix
      const whole = await consume(h.eng.randn(40, n, { seed: 78 }));
      const part = await consume(h.eng.randn(m, n, { seed: 78, offset: 3 * n }));
      expect(diffMax(part, whole.subarray(3 * n, 3 * n + m * n))).toBeLessThanOrEqual(h.dtype === 'f64' ? 0 : 1e-6 * 8);
    }
    if (h.dtype === 'f64') {
      const z = await consume(h.eng.randn(5, 3, { seed: 5, offset: 11 }));
      expect(diffMax(z, normalStreamF64(26, 5).subarray(11))).toBeLessThan(1e-15);
    }
    expect(() => h.eng.rand(2, 2, { offset: -1 })).toThrow(/'offset'/);
    expect(() => h.eng.rand(2, 2, { offset: 2 ** 53 })).toThrow(RangeError);
  });

  it('slice copies exactly any block, including whole rows/cols and single entries', async () => {
    for (const [m, n] of [...AWKWARD, [1000, 40] as [number, number]]) {
      const x = hostRandn(m, n, 31);
      const X = h.eng.matrix(x, m, n);
      const xs = await X.toArray();
      const ranges: [number, number, number, number][] = [
        [0, m, 0, n],
        [0, 1, 0, 1],
        [m - 1, m, n - 1, n],
        [Math.floor(m / 3), m, 0, Math.max(1, Math.floor(n / 2))],
      ];
      for (const [r0, r1, c0, c1] of ranges) {
        const S = await h.eng.slice(X, { rows: [r0, r1], cols: [c0, c1] });
        expect([S.rows, S.cols]).toEqual([r1 - r0, c1 - c0]);
        const want = new Float64Array((r1 - r0) * (c1 - c0));
        for (let i = r0; i < r1; i++) for (let j = c0; j < c1; j++) want[(i - r0) * (c1 - c0) + j - c0] = xs[i * n + j];
        expect(diffMax(await S.toArray(), want)).toBe(0);
        S.dispose();
      }
      X.dispose();
    }
    const X = h.eng.zeros(4, 5);
    await expect(h.eng.slice(X, { rows: [2, 2] })).rejects.toThrow(/'rows\[1\]'/);
    await expect(h.eng.slice(X, { cols: [0, 6] })).rejects.toThrow(/'cols\[1\]'/);
    await expect(h.eng.slice(X, { cols: [1] as never })).rejects.toThrow(TypeError);
    await expect(h.eng.slice(X, { colz: [0, 1] } as never)).rejects.toThrow(/unknown option/);
    X.dispose();
  });

  it('slice and hstack move the bits: -0 and subnormals unchanged', async () => {
    // A strided copy (hstack of a narrower block, a slice of interior columns) runs the block kernel on
    // WebGPU, not a buffer copy; it must not do arithmetic on the values.
    const m = 5,
      n = 7;
    const special = [-0, 1e-40, -1e-40, 1e-310, -1e-310, 1.5, 0];
    const data = Array.from({ length: m * n }, (_, e) => special[e % special.length]);
    const A = h.eng.matrix(data, m, n);
    const as = await A.toArray();
    const S = await h.eng.slice(A, { rows: [1, 4], cols: [2, 5] });
    const H = await h.eng.hstack([S, S]);
    const [ss, hs] = [await S.toArray(), await H.toArray()];
    const bad: string[] = [];
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const want = as[(i + 1) * n + j + 2];
        if (!Object.is(ss[i * 3 + j], want)) bad.push(`slice (${i}, ${j}): ${ss[i * 3 + j]} vs ${want}`);
        if (!Object.is(hs[i * 6 + j], want) || !Object.is(hs[i * 6 + 3 + j], want)) bad.push(`hstack (${i}, ${j})`);
      }
    expect(bad).toEqual([]);
    disposeAll(A, S, H);
  });

  it('hstack and vstack place blocks exactly', async () => {
    const shapes: [number, number][] = [
      [1, 1],
      [3, 2],
      [257, 5],
      [2, 130],
    ];
    for (const [m, n] of shapes) {
      const a = hostRandn(m, n, 1),
        b = hostRandn(m, n + 1, 2),
        c = hostRandn(m + 2, n, 3);
      const A = h.eng.matrix(a, m, n),
        B = h.eng.matrix(b, m, n + 1),
        C = h.eng.matrix(c, m + 2, n);
      const [as, bs, cs] = [await A.toArray(), await B.toArray(), await C.toArray()];
      const H = await h.eng.hstack([A, B, A]);
      expect([H.rows, H.cols]).toEqual([m, 3 * n + 1]);
      const hs = await H.toArray();
      const w = 3 * n + 1;
      let bad = 0;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++)
          bad = Math.max(bad, Math.abs(hs[i * w + j] - as[i * n + j]), Math.abs(hs[i * w + 2 * n + 1 + j] - as[i * n + j]));
        for (let j = 0; j <= n; j++) bad = Math.max(bad, Math.abs(hs[i * w + n + j] - bs[i * (n + 1) + j]));
      }
      expect(bad).toBe(0);
      const V = await h.eng.vstack([A, C]);
      expect([V.rows, V.cols]).toEqual([2 * m + 2, n]);
      const vs = await V.toArray();
      expect(diffMax(vs.subarray(0, m * n), as)).toBe(0);
      expect(diffMax(vs.subarray(m * n), cs)).toBe(0);
      const one = await h.eng.vstack([A]);
      expect(diffMax(await one.toArray(), as)).toBe(0);
      for (const x of [A, B, C, H, V, one]) x.dispose();
    }
    const A = h.eng.zeros(2, 3),
      B = h.eng.zeros(3, 3);
    await expect(h.eng.hstack([A, B])).rejects.toThrow(/mats\[1\] has 3 rows/);
    const Z = h.eng.zeros(2, 2);
    await expect(h.eng.vstack([A, Z])).rejects.toThrow(/mats\[1\] has 2 columns/);
    await expect(h.eng.hstack([])).rejects.toThrow(TypeError);
    disposeAll(A, B, Z);
  });

  it('scaleRows and scaleColumns match diag products', async () => {
    for (const [m, n] of AWKWARD) {
      const x = hostRandn(m, n, 41);
      const X = h.eng.matrix(x, m, n);
      const xs = await X.toArray();
      const sr = Float64Array.from({ length: m }, (_, i) => (i % 3) - 1.25);
      const sc = Float64Array.from({ length: n }, (_, j) => 0.5 + j);
      const R = await consume(h.eng.scaleRows(X, sr));
      const C = await consume(h.eng.scaleColumns(X, sc));
      X.dispose();
      const tol = 2 * h.u * frob(xs) * Math.max(n + 0.5, 1.25);
      expect(
        diffMax(
          R,
          Array.from(xs, (v, e) => v * sr[Math.floor(e / n)]),
        ),
      ).toBeLessThanOrEqual(tol);
      expect(
        diffMax(
          C,
          Array.from(xs, (v, e) => v * sc[e % n]),
        ),
      ).toBeLessThanOrEqual(tol);
    }
    const X = h.eng.zeros(3, 2);
    await expect(h.eng.scaleRows(X, [1, 2])).rejects.toThrow(/'s' has length 2, expected 3/);
    await expect(h.eng.scaleColumns(X, [1, NaN])).rejects.toThrow(/s\[1\]/);
    await expect(h.eng.scaleColumns(X, 'ab' as never)).rejects.toThrow(TypeError);
    X.dispose();
  });

  it('colAbsMax finds the largest-magnitude entry (first on ties) of every column', async () => {
    for (const [m, n] of [...AWKWARD, [5000, 3] as [number, number]]) {
      const x = hostRandn(m, n, 51);
      const X = h.eng.matrix(x, m, n);
      const xs = await X.toArray();
      const { index, value } = await h.eng.colAbsMax(X);
      for (let j = 0; j < n; j++) {
        let bi = 0;
        for (let i = 1; i < m; i++) if (Math.abs(xs[i * n + j]) > Math.abs(xs[bi * n + j])) bi = i;
        expect(index[j]).toBe(bi);
        expect(value[j]).toBe(xs[bi * n + j]);
      }
      X.dispose();
    }
    // ties: the first row wins, whatever the signs
    const T = h.eng.matrix([
      [0, -2, 1],
      [0, 2, -1],
      [0, -2, 1],
    ]);
    const t = await h.eng.colAbsMax(T);
    expect(Array.from(t.index)).toEqual([0, 0, 0]);
    expect(Array.from(t.value)).toEqual([0, -2, 1]);
    T.dispose();
  });

  it('lu: A = PL U with scipy permute_l pivoting, |L| <= 1, on awkward and rank-deficient shapes', async () => {
    const shapes: [number, number][] = [
      [1, 1],
      [7, 1],
      [2, 2],
      [3, 2],
      [127, 127],
      [257, 20],
      [3000, 31],
      [5000, 8],
    ];
    for (const [m, n] of shapes) {
      const x = hostRandn(m, n, 61);
      const X = h.eng.matrix(x, m, n);
      const xs = await X.toArray();
      const { PL, U } = await h.eng.lu(X);
      expect([PL.rows, PL.cols, U.rows, U.cols]).toEqual([m, n, n, n]);
      const pl = await PL.toArray(),
        u = await U.toArray();
      const prod = refMatmul(pl, m, n, u, n, n);
      expect(diffMax(prod, xs) / Math.max(...Array.from(xs, Math.abs))).toBeLessThanOrEqual(4 * n * h.u * 10);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(u[i * n + j]).toBe(0);
      for (const v of pl) expect(Math.abs(v)).toBeLessThanOrEqual(1);
      // PL's pivot rows: row piv[j] is e_j^T of L (unit diagonal, zeros right of it)
      const piv = hostPivots(xs, m, n);
      for (let j = 0; j < n; j++) {
        expect(pl[piv[j] * n + j]).toBe(1);
        for (let c = j + 1; c < n; c++) expect(pl[piv[j] * n + c]).toBe(0);
      }
      for (const a of [X, PL, U]) a.dispose();
    }
    // a zero column: no error, zero multipliers, and still A = PL U
    const z = [
      [1, 0, 2],
      [3, 0, 1],
      [-2, 0, 5],
      [4, 0, 0],
    ];
    const Z = h.eng.matrix(z);
    const { PL, U } = await h.eng.lu(Z);
    const prod = refMatmul(await PL.toArray(), 4, 3, await U.toArray(), 3, 3);
    expect(diffMax(prod, z.flat())).toBeLessThan(1e-5);
    const W = h.eng.zeros(2, 3);
    await expect(h.eng.lu(W)).rejects.toThrow(/rows >= cols/);
    disposeAll(Z, PL, U, W);
  });
});
