/**
 * State-space primitives (ssmVandermonde, ssmConv, ssmScan) on every backend against f64 host
 * references, over awkward sizes (1, 2, 127, 257, odd batches, lengths just past a power of two).
 */
import { expect, it } from 'vitest';
import { describeEngines, hostRandn } from '../helpers.js';

function refVandermonde(tab: Float64Array, H: number, N: number, L: number): Float64Array {
  const K = new Float64Array(H * L);
  for (let h = 0; h < H; h++)
    for (let n = 0; n < N; n++) {
      const e = 4 * (h * N + n);
      for (let l = 0; l < L; l++) {
        const m = Math.exp(l * tab[e + 2]),
          ph = l * tab[e + 3];
        K[h * L + l] += m * (tab[e] * Math.cos(ph) - tab[e + 1] * Math.sin(ph));
      }
    }
  return K;
}

function refConv(u: Float64Array, K: Float64Array, H: number, L: number, D: number[] | null): Float64Array {
  const R = u.length / L,
    y = new Float64Array(R * L);
  for (let r = 0; r < R; r++) {
    const h = r % H;
    for (let l = 0; l < L; l++) {
      let acc = D ? D[h] * u[r * L + l] : 0;
      for (let j = 0; j <= l; j++) acc += K[h * L + j] * u[r * L + l - j];
      y[r * L + l] = acc;
    }
  }
  return y;
}

function refScan(u: Float64Array, tab: Float64Array, H: number, N: number, L: number): Float64Array {
  const R = u.length / L,
    y = new Float64Array(R * L);
  for (let r = 0; r < R; r++) {
    const h = r % H;
    const xr = new Float64Array(N),
      xi = new Float64Array(N);
    for (let l = 0; l < L; l++) {
      const ul = u[r * L + l];
      let acc = 0;
      for (let n = 0; n < N; n++) {
        const e = 6 * (h * N + n);
        const nr = tab[e] * xr[n] - tab[e + 1] * xi[n] + tab[e + 2] * ul;
        const ni = tab[e] * xi[n] + tab[e + 1] * xr[n] + tab[e + 3] * ul;
        xr[n] = nr;
        xi[n] = ni;
        acc += tab[e + 4] * nr - tab[e + 5] * ni;
      }
      y[r * L + l] = acc;
    }
  }
  return y;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function diff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Random stable modes: Re z in [-0.3, -0.001], Im z in [-4, 4] per step, w ~ N(0, 1). */
function randomTable(H: number, N: number, seed: number, stride: 4 | 6): Float64Array {
  const g = hostRandn(1, H * N * 6, seed);
  const t = new Float64Array(H * N * stride);
  for (let i = 0; i < H * N; i++) {
    if (stride === 4) {
      t[4 * i] = g[6 * i];
      t[4 * i + 1] = g[6 * i + 1];
      t[4 * i + 2] = -0.001 - (0.3 * Math.abs(g[6 * i + 2])) / 3;
      t[4 * i + 3] = 4 * Math.tanh(g[6 * i + 3]);
    } else {
      const mag = Math.exp(-0.001 - 0.1 * Math.abs(g[6 * i])),
        ang = 3 * Math.tanh(g[6 * i + 1]);
      t[6 * i] = mag * Math.cos(ang);
      t[6 * i + 1] = mag * Math.sin(ang);
      for (let k = 2; k < 6; k++) t[6 * i + k] = g[6 * i + k];
    }
  }
  return t;
}

describeEngines('ssm primitives', (h) => {
  const tol = () => (h.dtype === 'f64' ? 1e-12 : 2e-5);

  for (const [H, N, L] of [
    [1, 1, 1],
    [1, 2, 2],
    [3, 5, 127],
    [2, 257, 33],
    [2, 3, 1000],
    [1, 4, 4097],
  ] as const) {
    it(`ssmVandermonde H = ${H}, N = ${N}, L = ${L}`, async () => {
      const tab = randomTable(H, N, 7 + H + N + L, 4);
      const K = await h.eng.ssmVandermonde(tab, H, N, L);
      expect([K.rows, K.cols]).toEqual([H, L]);
      const got = await K.toArray();
      K.dispose();
      const ref = refVandermonde(tab, H, N, L);
      // |K| <= sum |w|: scale the tolerance by it
      let s = 0;
      for (let i = 0; i < H * N; i++) s = Math.max(s, Math.hypot(tab[4 * i], tab[4 * i + 1]) * N);
      expect(diff(got, ref)).toBeLessThan(tol() * s);
    });
  }

  for (const [H, batch, L, withD] of [
    [1, 1, 1, false],
    [1, 2, 2, true],
    [3, 1, 127, true],
    [2, 5, 257, false],
    [1, 3, 1025, true],
  ] as const) {
    it(`ssmConv H = ${H}, batch = ${batch}, L = ${L}${withD ? ', with D' : ''}`, async () => {
      const uh = hostRandn(H * batch, L, 3 + L),
        kh = hostRandn(H, L, 4 + L);
      const D = withD ? Array.from({ length: H }, (_, i) => 0.5 - i) : null;
      const u = h.eng.matrix(uh, H * batch, L),
        K = h.eng.matrix(kh, H, L);
      const y = await h.eng.ssmConv(u, K, D);
      const got = await y.toArray();
      for (const m of [u, K, y]) m.dispose();
      const ref = refConv(uh, kh, H, L, D);
      // error of an FFT convolution ~ u log2(n) ||k|| ||u|| per entry
      expect(diff(got, ref)).toBeLessThan(tol() * Math.sqrt(L) * (maxAbs(ref) + 1) * 4);
    });
  }

  for (const [H, batch, N, L] of [
    [1, 1, 1, 1],
    [1, 2, 3, 2],
    [2, 3, 4, 127],
    [3, 1, 2, 1000],
    [1, 1, 5, 4097],
  ] as const) {
    it(`ssmScan H = ${H}, batch = ${batch}, N = ${N}, L = ${L}`, async () => {
      const tab = randomTable(H, N, 11 + N + L, 6);
      const uh = hostRandn(H * batch, L, 5 + L);
      const u = h.eng.matrix(uh, H * batch, L);
      const y = await h.eng.ssmScan(u, tab, H, N);
      const got = await y.toArray();
      for (const m of [u, y]) m.dispose();
      const ref = refScan(uh, tab, H, N, L);
      expect(diff(got, ref)).toBeLessThan(tol() * 50 * (maxAbs(ref) + 1));
    });
  }

  it('argument errors', async () => {
    const u = h.eng.zeros(2, 4);
    try {
      await expect(h.eng.ssmVandermonde(new Float64Array(4), 1, 1, 0)).rejects.toThrow(RangeError);
      await expect(h.eng.ssmVandermonde(Float64Array.from([1, 0, NaN, 0]), 1, 1, 4)).rejects.toThrow(/non-finite/);
      await expect(h.eng.ssmVandermonde([1, 0, 0, 0] as unknown as Float64Array, 1, 1, 4)).rejects.toThrow(TypeError);
      await expect(h.eng.ssmScan(u, new Float64Array(6), 3, 1)).rejects.toThrow(/multiple/);
      await expect(h.eng.ssmScan(u, new Float64Array(5), 1, 1)).rejects.toThrow(/'table'/);
      await expect(h.eng.ssmConv(u, u, [1, Infinity])).rejects.toThrow(/'D'/);
    } finally {
      u.dispose();
    }
  });
});
