/** Creation, RNG, element-wise ops, transpose and norms on every backend. */
import { describe, expect, it } from 'vitest';
import { uniformStream } from '../../ts/rng/philox.js';
import { AWKWARD, consume, describeEngines, disposeAll, diffMax, frob, hostRandn, transposeHost } from '../helpers.js';

describeEngines('core', (h) => {
  it('round-trips host data in every accepted form', async () => {
    const { eng } = h;
    expect(
      Array.from(
        await consume(
          eng.matrix([
            [1, 2, 3],
            [4, 5, 6],
          ]),
        ),
      ),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await consume(eng.matrix([1, 2, 3, 4], 2, 2)))).toEqual([1, 2, 3, 4]);
    const col = eng.matrix(new Float64Array([1, 2, 3]));
    expect([col.rows, col.cols]).toEqual([3, 1]);
    const inferred = eng.matrix(new Float32Array(6), 3);
    expect([inferred.rows, inferred.cols]).toEqual([3, 2]);
    expect((await consume(eng.zeros(2, 3))).every((v) => v === 0)).toBe(true);
    expect(Array.from(await consume(eng.eye(2, 3)))).toEqual([1, 0, 0, 0, 1, 0]);
    disposeAll(col, inferred);
    const arr = await consume(eng.matrix([0.1]));
    expect(arr).toBeInstanceOf(h.dtype === 'f64' ? Float64Array : Float32Array);
    expect(arr[0]).toBe(h.dtype === 'f64' ? 0.1 : Math.fround(0.1));
  });

  it('rand follows the documented Philox stream exactly', async () => {
    for (const [m, n] of [
      [1, 1],
      [3, 5],
      [257, 3],
    ]) {
      const got = await consume(h.eng.rand(m, n, { seed: 12345 }));
      const want = uniformStream(m * n, 12345, h.dtype);
      expect(diffMax(got, want)).toBe(0);
      for (const v of got) expect(v > 0 && v < 1).toBe(true);
    }
  });

  it('randn has the right moments and is reproducible', async () => {
    const a = await consume(h.eng.randn(200, 100, { seed: 3 }));
    const b = await consume(h.eng.randn(200, 100, { seed: 3 }));
    expect(diffMax(a, b)).toBe(0);
    let s = 0,
      s2 = 0;
    for (const v of a) {
      s += v;
      s2 += v * v;
    }
    const n = a.length;
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    const c = await consume(h.eng.randn(200, 100, { seed: 4 }));
    expect(diffMax(a, c)).toBeGreaterThan(0.1);
  });

  it('add, sub, scale, axpby, hadamard match f64 references', async () => {
    const { eng } = h;
    for (const [m, n] of AWKWARD) {
      const x = hostRandn(m, n, 1),
        y = hostRandn(m, n, 2);
      const X = eng.matrix(x, m, n),
        Y = eng.matrix(y, m, n);
      const xs = await X.toArray(),
        ys = await Y.toArray(); // rounded inputs
      const tol = 4 * h.u * (frob(xs) + frob(ys) + 1);
      const check = async (p: Promise<{ toArray(): Promise<ArrayLike<number>> }>, f: (a: number, b: number) => number) => {
        const got = await consume(p);
        const want = Array.from(xs, (v, i) => f(v, ys[i]));
        expect(diffMax(got, want)).toBeLessThanOrEqual(tol);
      };
      await check(eng.add(X, Y), (a, b) => a + b);
      await check(eng.sub(X, Y), (a, b) => a - b);
      await check(eng.scale(X, -2.5), (a) => -2.5 * a);
      await check(eng.axpby(0.5, X, 3, Y), (a, b) => 0.5 * a + 3 * b);
      await check(eng.hadamard(X, Y), (a, b) => a * b);
      X.dispose();
      Y.dispose();
    }
  });

  it('transpose is exact on awkward shapes', async () => {
    for (const [m, n] of [...AWKWARD, [1000, 17] as [number, number]]) {
      const x = hostRandn(m, n, 5);
      const X = h.eng.matrix(x, m, n);
      const T = await h.eng.transpose(X);
      expect([T.rows, T.cols]).toEqual([n, m]);
      expect(diffMax(await T.toArray(), transposeHost(await X.toArray(), m, n))).toBe(0);
      disposeAll(X, T);
    }
  });

  it('norms: fro, max, columns, rows', async () => {
    for (const [m, n] of [...AWKWARD, [3000, 70] as [number, number]]) {
      const x = hostRandn(m, n, 9);
      const X = h.eng.matrix(x, m, n);
      const xs = await X.toArray();
      const fro = frob(xs);
      expect(Math.abs((await h.eng.norm(X)) - fro)).toBeLessThanOrEqual(8 * h.u * Math.sqrt(m * n) * fro);
      let mx = 0;
      for (const v of xs) mx = Math.max(mx, Math.abs(v));
      expect(await h.eng.norm(X, 'max')).toBe(mx);
      const cn = await h.eng.colNorms(X),
        rn = await h.eng.rowNorms(X);
      expect(cn.length).toBe(n);
      expect(rn.length).toBe(m);
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < m; i++) s += xs[i * n + j] ** 2;
        expect(Math.abs(cn[j] - Math.sqrt(s))).toBeLessThanOrEqual(8 * h.u * Math.sqrt(m) * Math.sqrt(s) + 1e-300);
      }
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += xs[i * n + j] ** 2;
        expect(Math.abs(rn[i] - Math.sqrt(s))).toBeLessThanOrEqual(8 * h.u * Math.sqrt(n) * Math.sqrt(s) + 1e-300);
      }
      X.dispose();
    }
  });

  it('a matrix disposed while a call still reads it is not recycled under that call', async () => {
    const { eng } = h;
    const n = 300;
    const A = eng.randn(n, n, { seed: 21 }),
      B = eng.randn(n, n, { seed: 22 });
    const a = await A.toArray();
    const pending = eng.qr(A); // reads A on a worker thread (native) or twice around a readback (webgpu)
    A.dispose();
    const churn = [];
    for (let i = 0; i < 4; i++) churn.push(await eng.add(B, B)); // same-size allocations reuse freed memory
    const { Q, R } = await pending;
    const QR = await consume(eng.matmul(Q, R));
    expect(diffMax(QR, a) / Math.max(...Array.from(a, Math.abs))).toBeLessThan(200 * n * h.u);
    for (const c of churn) c.dispose();
    disposeAll(B, Q, R);
  });

  it('norms propagate Infinity and NaN produced inside the library', async () => {
    const { eng } = h;
    const big = h.dtype === 'f64' ? 1e300 : 1e30;
    for (const [m, n] of [
      [3, 2],
      [700, 130],
    ]) {
      const Big = eng.full(m, n, big);
      const Inf = await eng.scale(Big, big); // every entry overflows to +Infinity
      const NaNs = await eng.sub(Inf, Inf);
      // one NaN column (col 0) and one Inf entry (row 0) among finite ones
      const parts = [
        await eng.slice(NaNs, { cols: [0, 1] }),
        eng.ones(m, n - 1),
        await eng.slice(Inf, { rows: [0, 1] }),
        eng.ones(m - 1, n),
      ];
      const mixed = await eng.hstack([parts[0], parts[1]]);
      const withInf = await eng.vstack([parts[2], parts[3]]);
      expect(await eng.norm(Inf, 'max')).toBe(Infinity);
      expect(await eng.norm(Inf)).toBe(Infinity);
      expect(await eng.norm(withInf)).toBe(Infinity);
      expect(await eng.norm(NaNs)).toBeNaN();
      expect(await eng.norm(mixed)).toBeNaN();
      expect(await eng.norm(mixed, 'max')).toBeNaN();
      const cn = await eng.colNorms(mixed),
        rn = await eng.rowNorms(mixed);
      expect(cn[0]).toBeNaN();
      expect(cn[1]).toBeCloseTo(Math.sqrt(m), 4);
      for (const v of rn) expect(v).toBeNaN();
      expect((await eng.rowNorms(withInf))[0]).toBe(Infinity);
      expect((await eng.colNorms(withInf))[n - 1]).toBe(Infinity);
      disposeAll(Big, Inf, NaNs, mixed, withInf, ...parts);
    }
  });

  it('norms do not overflow or underflow', async () => {
    const big = h.dtype === 'f64' ? 1e300 : 1e30,
      tiny = h.dtype === 'f64' ? 1e-300 : 1e-30;
    for (const s of [big, tiny]) {
      const X = h.eng.matrix([3 * s, 4 * s], 1, 2);
      const xs = await X.toArray();
      const want = Math.hypot(xs[0], xs[1]);
      expect(Math.abs((await h.eng.norm(X)) - want) / want).toBeLessThan(1e3 * h.u);
      expect(Math.abs((await h.eng.rowNorms(X))[0] - want) / want).toBeLessThan(1e3 * h.u);
      X.dispose();
    }
    // column norms of a tall matrix: a huge, a tiny, a mixed (huge and tiny entries) and a plain column
    const m = 1500;
    const x = new Float64Array(m * 4);
    for (let i = 0; i < m; i++) {
      const v = 1 + (i % 7) / 8;
      x[i * 4] = big * v;
      x[i * 4 + 1] = tiny * v;
      x[i * 4 + 2] = i % 2 ? big * v : tiny * v;
      x[i * 4 + 3] = v;
    }
    const X = h.eng.matrix(x, m, 4);
    const xs = await X.toArray();
    const cn = await h.eng.colNorms(X);
    for (let j = 0; j < 4; j++) {
      let mx = 0;
      for (let i = 0; i < m; i++) mx = Math.max(mx, Math.abs(xs[i * 4 + j]));
      let s = 0;
      for (let i = 0; i < m; i++) s += (xs[i * 4 + j] / mx) ** 2;
      const want = mx * Math.sqrt(s);
      expect(Math.abs(cn[j] - want) / want, `column ${j}`).toBeLessThan(64 * h.u);
    }
    X.dispose();
  });
});

describe('cross-backend RNG', () => {
  it('f32 rand is bit-identical between the JS reference and both layouts', () => {
    const a = uniformStream(10, 99, 'f32');
    for (const v of a) expect(Math.fround(v)).toBe(v);
  });
});
