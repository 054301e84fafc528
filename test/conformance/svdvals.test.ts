/**
 * svdvals conformance on every backend: the min(m, n) singular values, descending, against f64
 * references (known spectra built as U diag(s) V^T, and a host one-sided Jacobi in f64 for Gaussian
 * matrices), normwise: |s_i - s_i(ref)| <= c max(m, n) u s_1; equal to svd(A).S to the same
 * tolerance; awkward shapes, rank-deficient, zero, repeated and graded spectra; non-finite input.
 */
import { expect, it } from 'vitest';
import type { GpuEnv } from '../../ts/backends/webgpu/env.js';
import type { WebGPUBackend } from '../../ts/backends/webgpu/index.js';
import { svdInternal } from '../../ts/backends/webgpu/kernels/eig.js';
import { svdvalsInternal } from '../../ts/backends/webgpu/kernels/svdvals.js';
import { describeEngines, disposeAll, hostRandn, withSpectrum, type Host } from '../helpers.js';

/** Singular values of the row-major m x n A by one-sided (Hestenes) Jacobi in f64, descending. */
function hostSvdvals(A: Host, m: number, n: number): Float64Array {
  // Work on the columns of X = A (m >= n) or A^T (m < n): X is p x q, p >= q, stored column by column.
  const [p, q] = m >= n ? [m, n] : [n, m];
  const cols: Float64Array[] = Array.from({ length: q }, (_, j) =>
    Float64Array.from({ length: p }, (_, i) => (m >= n ? A[i * n + j] : A[j * n + i])),
  );
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let a = 0; a < q - 1; a++)
      for (let b = a + 1; b < q; b++) {
        const x = cols[a],
          y = cols[b];
        let al = 0,
          be = 0,
          ga = 0;
        for (let i = 0; i < p; i++) {
          al += x[i] * x[i];
          be += y[i] * y[i];
          ga += x[i] * y[i];
        }
        if (Math.abs(ga) <= 1e-15 * Math.sqrt(al * be) || ga === 0) continue;
        rotated = true;
        const zeta = (be - al) / (2 * ga);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t),
          s = c * t;
        for (let i = 0; i < p; i++) {
          const xi = x[i],
            yi = y[i];
          x[i] = c * xi - s * yi;
          y[i] = s * xi + c * yi;
        }
      }
    if (!rotated) break;
  }
  return Float64Array.from(cols, (c) => Math.hypot(...c)).sort((x, y) => y - x);
}

function isDescending(v: ArrayLike<number>): boolean {
  for (let i = 1; i < v.length; i++) if (!(v[i] <= v[i - 1])) return false;
  return true;
}

/** max_i |s_i - r_i| / (max(m, n) u s_1(ref)), the normwise error in units of the bound. */
function errUnits(s: ArrayLike<number>, r: ArrayLike<number>, m: number, n: number, u: number): number {
  const s1 = r[0] || 1;
  let e = 0;
  for (let i = 0; i < r.length; i++) e = Math.max(e, Math.abs(s[i] - r[i]));
  return e / (Math.max(m, n) * u * s1);
}

function logspace(n: number, lo: number): number[] {
  return Array.from({ length: n }, (_, i) => 10 ** ((lo * i) / Math.max(n - 1, 1)));
}

describeEngines('svdvals', (h) => {
  // c in |s_i - s_i(ref)| <= c max(m, n) u s_1 (WebGPU: f32 CholeskyQR before the host values).
  const C = h.backend === 'webgpu' ? 20 : 10;

  async function values(a0: Host, m: number, n: number): Promise<Float64Array> {
    const A = h.eng.matrix(a0, m, n);
    try {
      const S = await h.eng.svdvals(A);
      expect(S).toBeInstanceOf(Float64Array);
      expect(S.length).toBe(Math.min(m, n));
      expect(isDescending(S), 'descending').toBe(true);
      expect(S.every((v) => v >= 0)).toBe(true);
      return S;
    } finally {
      A.dispose();
    }
  }

  const shapes: Array<[number, number]> = [
    [1, 1],
    [1, 5],
    [5, 1],
    [2, 2],
    [127, 33],
    [33, 127],
    [257, 257],
    [600, 40],
  ];
  for (const [m, n] of shapes) {
    it(`Gaussian ${m} x ${n}: against a host f64 Jacobi`, async () => {
      const a0 = hostRandn(m, n, 11 + m + 3 * n);
      const S = await values(a0, m, n);
      expect(errUnits(S, hostSvdvals(a0, m, n), m, n, h.u)).toBeLessThan(C);
    });
  }

  it('known spectra (tall, wide, square): U diag(s) V^T', async () => {
    for (const [m, n, seed] of [
      [90, 30, 1],
      [30, 90, 2],
      [64, 64, 3],
      [400, 24, 4],
    ] as const) {
      const k = Math.min(m, n);
      const s = Array.from({ length: k }, (_, i) => 1 + (k - i) / k);
      const S = await values(withSpectrum(m, n, s, seed).A, m, n);
      expect(errUnits(S, s, m, n, h.u), `${m} x ${n}`).toBeLessThan(C);
    }
  });

  it('rank-deficient: trailing values near zero', async () => {
    const m = 80,
      n = 50,
      r = 7;
    const s = Array.from({ length: r }, (_, i) => 3 - i * 0.3);
    const S = await values(withSpectrum(m, n, s, 5).A, m, n);
    const ref = [...s, ...new Array<number>(n - r).fill(0)];
    expect(errUnits(S, ref, m, n, h.u)).toBeLessThan(C);
  });

  it('exactly zero matrix: all values 0', async () => {
    for (const [m, n] of [
      [1, 1],
      [9, 4],
      [4, 9],
      [60, 20],
    ] as const) {
      const S = await values(new Float64Array(m * n), m, n);
      expect(Array.from(S)).toEqual(new Array<number>(Math.min(m, n)).fill(0));
    }
  });

  it('repeated singular values (identity-like and clustered)', async () => {
    const m = 70,
      n = 45;
    const s = Array.from({ length: n }, (_, i) => (i < 20 ? 2 : i < 40 ? 1 : 0.5));
    const S = await values(withSpectrum(m, n, s, 6).A, m, n);
    expect(errUnits(S, s, m, n, h.u)).toBeLessThan(C);
    const I = h.eng.eye(33, 21);
    const SI = await h.eng.svdvals(I);
    I.dispose();
    expect(Math.max(...SI.map((v) => Math.abs(v - 1)))).toBeLessThan(C * 33 * h.u);
  });

  it('graded spectrum down to 1e-6 relative (f64: the small values to their normwise accuracy)', async () => {
    const m = 120,
      n = 60;
    const s = logspace(n, -6);
    const S = await values(withSpectrum(m, n, s, 7).A, m, n);
    expect(errUnits(S, s, m, n, h.u)).toBeLessThan(C);
    if (h.dtype === 'f64') expect(Math.abs(S[n - 1] - 1e-6) / 1e-6).toBeLessThan(1e-6);
  });

  it('scaled far from 1 (huge and tiny entries): scales exactly', async () => {
    const m = 40,
      n = 25;
    const a0 = hostRandn(m, n, 8);
    const ref = hostSvdvals(a0, m, n);
    const big = h.dtype === 'f64' ? 1e200 : 1e30;
    for (const f of [big, 1 / big]) {
      const S = await values(
        a0.map((v) => v * f),
        m,
        n,
      );
      expect(
        errUnits(
          S,
          ref.map((v) => v * f),
          m,
          n,
          h.u,
        ),
      ).toBeLessThan(C);
    }
  });

  it('equals svd(A).S', async () => {
    for (const [m, n] of [
      [150, 70],
      [70, 150],
      [64, 64],
    ] as const) {
      const A = h.eng.matrix(hostRandn(m, n, 9 + m), m, n);
      const S = await h.eng.svdvals(A);
      const d = await h.eng.svd(A);
      disposeAll(A, d.U, d.V);
      expect(errUnits(S, d.S, m, n, h.u), `${m} x ${n}`).toBeLessThan(C);
    }
  });

  // Native: from 1024 columns the bidiagonal comes from the two-stage reduction (band, bulge chasing).
  if (h.backend === 'native')
    it('large enough for the two-stage reduction (1030 x 1100): equals svd(A).S', async () => {
      const [m, n] = [1030, 1100];
      const A = h.eng.matrix(hostRandn(m, n, 21), m, n);
      const S = await h.eng.svdvals(A);
      const d = await h.eng.svd(A);
      disposeAll(A, d.U, d.V);
      expect(isDescending(S)).toBe(true);
      expect(errUnits(S, d.S, m, n, h.u)).toBeLessThan(C);
    });

  // A constant matrix is rank 1: the Householder chains shrink the residual columns geometrically into the
  // subnormal range, where the scaled 2-norm once overflowed (1 / amax) and gave NaN.
  it('constant matrices (rank 1): s_1 = sqrt(m n) c, the rest ~0 (one-stage, QR first, two-stage on native)', async () => {
    const shapes: Array<[number, number]> = [
      [200, 150],
      [600, 40],
      [40, 600],
    ];
    if (h.backend === 'native') shapes.push([1100, 1030]);
    for (const [m, n] of shapes) {
      const O = h.eng.full(m, n, 0.5);
      const S = await h.eng.svdvals(O);
      O.dispose();
      const ref = [0.5 * Math.sqrt(m * n), ...new Array<number>(Math.min(m, n) - 1).fill(0)];
      expect(errUnits(S, ref, m, n, h.u), `${m} x ${n}`).toBeLessThan(C);
    }
  });

  it('non-finite entries: RangeError naming svdvals and A', async () => {
    const big = h.dtype === 'f64' ? 1e200 : 1e30;
    const A = h.eng.matrix([1, big, 3, 4, 5, 6], 3, 2);
    const Inf = await h.eng.hadamard(A, A); // big^2 overflows to Inf
    const NaN_ = await h.eng.sub(Inf, Inf); // Inf - Inf = NaN (and 0 elsewhere)
    try {
      await expect(h.eng.svdvals(Inf)).rejects.toThrow(RangeError);
      await expect(h.eng.svdvals(Inf)).rejects.toThrow(/^svdvals: .*'A'/);
      await expect(h.eng.svdvals(NaN_)).rejects.toThrow(/^svdvals: .*'A'/);
      // The engine stays usable.
      expect((await h.eng.svdvals(A))[0]).toBeGreaterThan(0);
    } finally {
      disposeAll(A, Inf, NaN_);
    }
  });

  it('one non-finite entry in a larger matrix (tall, wide): RangeError', async () => {
    const big = h.dtype === 'f64' ? 1e200 : 1e30;
    for (const [m, n, at] of [
      [200, 40, 4321],
      [40, 200, 7999],
      [257, 257, 0],
    ] as const) {
      const a0 = hostRandn(m, n, 31);
      a0[at] = big;
      const A = h.eng.matrix(a0, m, n);
      const B = await h.eng.hadamard(A, A);
      const N = await h.eng.sub(B, B);
      try {
        await expect(h.eng.svdvals(B), `Inf ${m} x ${n}`).rejects.toThrow(/^svdvals: argument 'A' has a non-finite entry/);
        await expect(h.eng.svdvals(N), `NaN ${m} x ${n}`).rejects.toThrow(/^svdvals: argument 'A' has a non-finite entry/);
      } finally {
        disposeAll(A, B, N);
      }
    }
  });

  it('bad arguments: a disposed or non-matrix A', async () => {
    const A = h.eng.matrix([1, 2, 3, 4], 2, 2);
    A.dispose();
    await expect(h.eng.svdvals(A)).rejects.toThrow(/svdvals/);
    await expect(h.eng.svdvals(null as never)).rejects.toThrow(/svdvals.*'A'/);
  });
});

// WebGPU's two routes (the Jacobi route is taken on its own only when both sides exceed HOST_MAX = 512;
// forced here at small sizes): the Jacobi route without V gives exactly svd's Jacobi values (the
// rotations of the columns do not depend on V) and meets the same bound.
describeEngines(
  'svdvals WebGPU routes',
  (h) => {
    const env = (): GpuEnv => (h.eng._backend as unknown as WebGPUBackend).env;
    it('QR route by default for min(m, n) <= 512; the Jacobi route forced (tall, wide, rank-deficient)', async () => {
      for (const [m, n, rank] of [
        [90, 40, 0],
        [40, 90, 0],
        [90, 40, 12],
      ] as const) {
        const a0 = rank ? withSpectrum(m, n, logspace(rank, -2), 13).A : hostRandn(m, n, 13);
        const A = h.eng.matrix(a0, m, n);
        try {
          const auto = await svdvalsInternal(env(), A);
          expect(auto.info.method).toBe('qr');
          const r = await svdvalsInternal(env(), A, { method: 'jacobi' });
          expect(r.info.method).toBe('jacobi');
          expect(r.S.length).toBe(Math.min(m, n));
          expect(isDescending(r.S)).toBe(true);
          const ref = hostSvdvals(a0, m, n);
          expect(errUnits(r.S, ref, m, n, h.u), `${m} x ${n} jacobi`).toBeLessThan(20);
          expect(errUnits(auto.S, ref, m, n, h.u), `${m} x ${n} qr`).toBeLessThan(20);
          const full = await svdInternal(env(), A, { method: 'jacobi' });
          disposeAll(h.eng._wrap(full.U, m, Math.min(m, n)), h.eng._wrap(full.V, n, Math.min(m, n)));
          expect(Array.from(r.S)).toEqual(Array.from(full.S));
        } finally {
          A.dispose();
        }
      }
    });
  },
  { configs: [{ backend: 'webgpu', dtype: 'f32' }] },
);
