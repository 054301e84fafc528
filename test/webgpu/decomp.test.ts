/**
 * WebGPU-specific factorization paths, each forced through the internal options of
 * ts/backends/webgpu/kernels/{factor,eig}.ts (no global flags): CholeskyQR2, shifted CholeskyQR3,
 * the Householder fallback, the device (n > 512) Cholesky / TRSM / Jacobi paths, and the readback
 * budget of the tall-skinny QR. The public-API behaviour is covered by test/conformance/.
 *
 * Tolerances are relation checks scaled by size and u = 2^-24: ||Q^T Q - I||_F <= c n u,
 * ||Q R - A||_F <= c sqrt(n) u ||A||_F, ||A V - V diag(w)||_F <= c n u ||A||_F, ...
 */
import { expect, it } from 'vitest';
import type { Store } from '../../ts/mat.js';
import type { WebGPUBackend } from '../../ts/backends/webgpu/index.js';
import type { GpuEnv } from '../../ts/backends/webgpu/env.js';
import { cholesky, lstsqInternal, qrFull, solveTriangular } from '../../ts/backends/webgpu/kernels/factor.js';
import { eighInternal, svdInternal } from '../../ts/backends/webgpu/kernels/eig.js';
import {
  describeEngines,
  diffFrob,
  frob,
  hostRandn,
  orthDefect,
  randomOrthonormal,
  refMatmul,
  spd,
  withSpectrum,
  type Harness,
} from '../helpers.js';
import { hostSpdSolve } from '../host-linalg.js';

const logspace = (n: number, kappa: number): Float64Array => Float64Array.from({ length: n }, (_, i) => kappa ** (-i / (n - 1)));

describeEngines(
  'webgpu factorizations',
  (h: Harness) => {
    const env = (): GpuEnv => (h.eng._backend as unknown as WebGPUBackend).env;
    /** Downloads a backend store (and frees it). */
    const down = async (s: Store, rows: number, cols: number): Promise<Float32Array> => {
      const M = h.eng._wrap(s, rows, cols);
      const a = (await M.toArray()) as Float32Array;
      M.dispose();
      return a;
    };
    const upperWithNonnegDiag = (R: Float32Array, n: number): boolean => {
      for (let i = 0; i < n; i++) {
        if (!(R[i * n + i] >= 0)) return false;
        for (let j = 0; j < i; j++) if (R[i * n + j] !== 0) return false;
      }
      return true;
    };
    /** QR relation checks; returns the measured (orthogonality / (n u), residual / (sqrt(n) u)). */
    const checkQR = (A: ArrayLike<number>, Q: Float32Array, R: Float32Array, m: number, n: number, c = 10): [number, number] => {
      const orth = orthDefect(Q, m, n) / (n * h.u);
      const res = diffFrob(refMatmul(Q, m, n, R, n, n), A) / (frob(A) * Math.sqrt(n) * h.u);
      expect(upperWithNonnegDiag(R, n)).toBe(true);
      expect(orth).toBeLessThanOrEqual(c);
      expect(res).toBeLessThanOrEqual(c);
      return [orth, res];
    };

    for (const small of ['host', 'device'] as const) {
      it(`CholeskyQR2 at kappa = 1e2 (n x n steps on the ${small})`, async () => {
        const [m, n] = [2000, 32];
        const A = h.eng.matrix(withSpectrum(m, n, logspace(n, 1e2), 1).A, m, n);
        const a = await A.toArray();
        const r = await qrFull(env(), A, { method: 'cholqr', deviceSmall: small === 'device' });
        expect(r.info.method).toBe('cholqr');
        expect(r.info.cholqr!.shifted).toBe(false);
        expect(r.info.cholqr!.passes).toBe(2);
        expect(r.info.cholqr!.small).toBe(small);
        checkQR(a, await down(r.Q, m, n), await down(r.R, n, n), m, n);
        A.dispose();
      });

      it(`shifted CholeskyQR3 at kappa = 1e5 (n x n steps on the ${small})`, async () => {
        const [m, n] = [2000, 32];
        const A = h.eng.matrix(withSpectrum(m, n, logspace(n, 1e5), 2).A, m, n);
        const a = await A.toArray();
        const r = await qrFull(env(), A, { method: 'cholqr', deviceSmall: small === 'device' });
        const ci = r.info.cholqr!;
        expect(ci.shifted).toBe(true);
        expect(ci.shift).toBeGreaterThan(0);
        expect(ci.passes).toBeGreaterThanOrEqual(3);
        // the last pass was applied to a Gram close to the identity
        expect(ci.deltas[ci.deltas.length - 1]).toBeLessThanOrEqual(0.5);
        checkQR(a, await down(r.Q, m, n), await down(r.R, n, n), m, n);
        A.dispose();
      });
    }

    it('the shift can be forced even for a well-conditioned matrix', async () => {
      const [m, n] = [600, 40];
      const A = h.eng.matrix(hostRandn(m, n, 3), m, n);
      const r = await qrFull(env(), A, { method: 'cholqr', forceShift: true });
      expect(r.info.cholqr!.shifted).toBe(true);
      checkQR(await A.toArray(), await down(r.Q, m, n), await down(r.R, n, n), m, n);
      A.dispose();
    });

    it('exactly rank-deficient A falls back to Householder QR with orthonormal Q', async () => {
      const [m, n] = [1000, 48];
      // rank 30: A = U diag(s) V^T, and one exactly zero column on top
      const { A: base } = withSpectrum(m, n, logspace(30, 10), 4);
      for (let i = 0; i < m; i++) base[i * n + 7] = 0;
      const A = h.eng.matrix(base, m, n);
      const a = await A.toArray();
      const r = await qrFull(env(), A);
      expect(r.info.method).toBe('householder');
      expect(r.info.fallback).toBeTruthy();
      const R = await down(r.R, n, n);
      const [orth] = checkQR(a, await down(r.Q, m, n), R, m, n);
      expect(orth).toBeLessThanOrEqual(5);
      expect(R[7 * n + 7]).toBe(0);
      A.dispose();
    });

    it('forced Householder QR: several panels, square and wide-panel shapes', async () => {
      for (const [m, n] of [
        [300, 70],
        [97, 97],
        [5, 1],
      ] as const) {
        const A = h.eng.matrix(hostRandn(m, n, m + n), m, n);
        const r = await qrFull(env(), A, { method: 'householder' });
        expect(r.info.method).toBe('householder');
        checkQR(await A.toArray(), await down(r.Q, m, n), await down(r.R, n, n), m, n, 5);
        A.dispose();
      }
    });

    it('qr of 20000 x 32 reads back only the n x n Gram per CholeskyQR pass', async () => {
      const [m, n] = [20000, 32];
      const A = h.eng.randn(m, n, { seed: 5 });
      const ctx = env().ctx;
      await ctx.sync();
      const before = { ...ctx.stats };
      const r = await qrFull(env(), A);
      const passes = r.info.cholqr!.passes;
      const readbacks = ctx.stats.readbacks - before.readbacks;
      const bytes = ctx.stats.readbackBytes - before.readbackBytes;
      expect(r.info.method).toBe('cholqr');
      expect(passes).toBe(2);
      expect(readbacks).toBeLessThanOrEqual(passes);
      expect(bytes).toBeLessThanOrEqual(passes * n * n * 4);
      const a = await A.toArray();
      const Q = await down(r.Q, m, n);
      const R = await down(r.R, n, n);
      expect(orthDefect(Q, m, n)).toBeLessThanOrEqual(20 * n * h.u);
      expect(diffFrob(refMatmul(Q, m, n, R, n, n), a)).toBeLessThanOrEqual(10 * Math.sqrt(n) * h.u * frob(a));
      A.dispose();
    });

    it('device Cholesky (600 x 600) and its failure flag', async () => {
      const n = 600;
      const a = spd(n, 6);
      const A = h.eng.matrix(a, n, n);
      const L = await down(await cholesky(env(), A), n, n);
      let upperNonzeros = 0; // one assertion instead of n (n - 1) / 2 (each expect() costs ~10 us)
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (L[i * n + j] !== 0) upperNonzeros++;
      expect(upperNonzeros).toBe(0);
      const a32 = await A.toArray();
      expect(diffFrob(refMatmul(L, n, n, L, n, n, false, true), a32)).toBeLessThanOrEqual(4 * n * h.u * frob(a32));
      // the upper triangle is not read
      const junk = a.slice();
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) junk[i * n + j] = 1e6;
      const J = h.eng.matrix(junk, n, n);
      const L2 = await down(await cholesky(env(), J), n, n);
      expect(diffFrob(L2, L)).toBe(0);
      // not positive definite: the pivot of order 301 fails
      const bad = a.slice();
      bad[300 * n + 300] = -1;
      const B = h.eng.matrix(bad, n, n);
      const err: unknown = await cholesky(env(), B).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RangeError);
      expect((err as Error).message).toMatch(/not positive definite.*order 301/);
      // forced device path on a small matrix
      const s = spd(40, 7);
      const S = h.eng.matrix(s, 40, 40);
      const Ls = await down(await cholesky(env(), S, { device: true }), 40, 40);
      expect(diffFrob(refMatmul(Ls, 40, 40, Ls, 40, 40, false, true), await S.toArray())).toBeLessThanOrEqual(40 * 4 * h.u * frob(s));
      for (const M of [A, J, B, S]) M.dispose();
    });

    it('device TRSM (600 x 40), all four orientations, and the zero-diagonal error', async () => {
      const n = 600,
        nrhs = 40;
      const L = new Float64Array(n * n);
      const g = hostRandn(n, n, 8);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < i; j++) L[i * n + j] = g[i * n + j] / Math.sqrt(n);
        L[i * n + i] = 1 + Math.abs(g[i * n + i]);
      }
      for (const lower of [true, false]) {
        // T: L (lower) or L^T (upper); the other triangle holds junk that must not be read
        const T = new Float64Array(n * n);
        const Tc = new Float64Array(n * n);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            const v = lower ? L[i * n + j] : L[j * n + i];
            Tc[i * n + j] = v;
            T[i * n + j] = (lower ? j > i : j < i) ? 7 : v;
          }
        const Tm = h.eng.matrix(T, n, n);
        const tc32 = Float64Array.from(Tc, Math.fround);
        for (const trans of [false, true]) {
          const B = h.eng.matrix(hostRandn(n, nrhs, 9), n, nrhs);
          const X = await down(await solveTriangular(env(), Tm, B, lower, trans), n, nrhs);
          const b = await B.toArray();
          const back = refMatmul(tc32, n, n, X, n, nrhs, trans, false);
          expect(diffFrob(back, b)).toBeLessThanOrEqual((4 * n * h.u * frob(tc32) * frob(X)) / Math.sqrt(n));
          B.dispose();
        }
        Tm.dispose();
      }
      const Z = new Float64Array(n * n);
      for (let i = 0; i < n; i++) Z[i * n + i] = i === 333 ? 0 : 1;
      const Zm = h.eng.matrix(Z, n, n),
        B = h.eng.matrix(hostRandn(n, 3, 10), n, 3);
      await expect(solveTriangular(env(), Zm, B, true, false)).rejects.toThrow(RangeError);
      await expect(solveTriangular(env(), Zm, B, false, true)).rejects.toThrow(/singular.*entry 333 /);
      Zm.dispose();
      B.dispose();
    });

    const checkEigh = async (a: ArrayLike<number>, n: number, values: Float64Array, vectors: Float32Array): Promise<void> => {
      for (let k = 1; k < n; k++) expect(values[k]).toBeLessThanOrEqual(values[k - 1]);
      expect(orthDefect(vectors, n, n)).toBeLessThanOrEqual(4 * n * h.u);
      const AV = refMatmul(a, n, n, vectors, n, n);
      for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) AV[i * n + k] -= vectors[i * n + k] * values[k];
      expect(frob(AV)).toBeLessThanOrEqual(4 * n * h.u * frob(a));
      for (let k = 0; k < n; k++) {
        let best = 0,
          at = 0;
        for (let i = 0; i < n; i++) if (Math.abs(vectors[i * n + k]) > best) [best, at] = [Math.abs(vectors[i * n + k]), i];
        expect(vectors[at * n + k]).toBeGreaterThan(0);
      }
    };

    it('Jacobi eigh, forced at n = 97 (indefinite, with a triple eigenvalue)', async () => {
      const n = 97;
      const w = Float64Array.from({ length: n }, (_, i) => (i < 3 ? 2 : Math.cos(i)));
      const Q = randomOrthonormal(n, n, 11);
      const sym = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += Q[i * n + k] * w[k] * Q[j * n + k];
          sym[i * n + j] = s;
        }
      const A = h.eng.matrix(sym, n, n);
      const r = await eighInternal(env(), A, { method: 'jacobi' });
      expect(r.info.method).toBe('jacobi');
      expect(r.info.jacobi!.converged).toBe(true);
      await checkEigh(await A.toArray(), n, r.values, await down(r.vectors, n, n));
      const sorted = Array.from(w).sort((x, y) => y - x);
      for (let k = 0; k < n; k++) expect(Math.abs(r.values[k] - sorted[k])).toBeLessThanOrEqual(4 * n * h.u * 2);
      A.dispose();
    });

    it('eigh above HOST_MAX (520) runs Jacobi on the device', async () => {
      // Diagonally dominant (diagonal i + 1, a dense random symmetric perturbation of norm ~0.3): 99 %
      // of the pairs still rotate in the first sweep, but Jacobi converges in 3 sweeps rather than the
      // ~10 of a random matrix (each sweep at n = 520 costs seconds on lavapipe). The hard convergence
      // case (indefinite, repeated eigenvalues) is the forced n = 97 test above.
      const n = 520;
      const g = hostRandn(n, n, 12);
      const sym = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j <= i; j++)
          sym[i * n + j] = sym[j * n + i] = (i === j ? i + 1 : 0) + (0.1 / Math.sqrt(n)) * (g[i * n + j] + g[j * n + i]);
      const A = h.eng.matrix(sym, n, n);
      const r = await eighInternal(env(), A);
      expect(r.info.method).toBe('jacobi');
      await checkEigh(await A.toArray(), n, r.values, await down(r.vectors, n, n));
      A.dispose();
    });

    /**
     * SVD relations. One-sided Jacobi stops when every pair of columns has |cos| <= sqrt(m) u (as
     * LAPACK's sgesvj), so the Jacobi-side factor (U for m >= n, V for m < n) is orthonormal to
     * ~sqrt(m) u per pair rather than ~u: `cJ` is its bound in units of k u.
     */
    const checkSvd = async (
      a: ArrayLike<number>,
      m: number,
      n: number,
      U: Float32Array,
      S: Float64Array,
      V: Float32Array,
      cJ = 4,
    ): Promise<void> => {
      const k = Math.min(m, n);
      for (let i = 1; i < k; i++) expect(S[i]).toBeLessThanOrEqual(S[i - 1]);
      expect(orthDefect(U, m, k)).toBeLessThanOrEqual((m >= n ? cJ : 4) * k * h.u);
      expect(orthDefect(V, n, k)).toBeLessThanOrEqual((m < n ? cJ : 4) * k * h.u);
      const US = new Float64Array(m * k);
      for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) US[i * k + j] = U[i * k + j] * S[j];
      expect(diffFrob(refMatmul(US, m, k, V, n, k, false, true), a)).toBeLessThanOrEqual(8 * Math.sqrt(k) * h.u * frob(a));
      for (let j = 0; j < k; j++) {
        let best = 0,
          at = 0;
        for (let i = 0; i < m; i++) if (Math.abs(U[i * k + j]) > best) [best, at] = [Math.abs(U[i * k + j]), i];
        expect(U[at * k + j]).toBeGreaterThan(0);
      }
    };

    it('one-sided Jacobi SVD, forced: tall, wide, and rank-deficient (completed U)', async () => {
      for (const [m, n, rank] of [
        [90, 40, 0],
        [40, 90, 0],
        [90, 40, 12],
      ] as const) {
        const a = rank
          ? withSpectrum(
              m,
              n,
              Float64Array.from({ length: rank }, (_, i) => 1 + i),
              13,
            ).A
          : hostRandn(m, n, 13);
        const A = h.eng.matrix(a, m, n);
        const k = Math.min(m, n);
        const r = await svdInternal(env(), A, { method: 'jacobi' });
        expect(r.info.method).toBe('jacobi');
        expect(r.info.completed).toBe(rank > 0);
        await checkSvd(await A.toArray(), m, n, await down(r.U, m, k), r.S, await down(r.V, n, k), Math.sqrt(Math.max(m, n)) / 2);
        A.dispose();
      }
    });

    it('SVD with both sides above HOST_MAX (700 x 530) runs one-sided Jacobi', async () => {
      // Nearly orthogonal columns (diag(1..5) on top, a dense random perturbation of norm ~0.1): 99.9 %
      // of the pairs rotate in the first sweep, and one-sided Jacobi converges in 3 sweeps rather than
      // the ~8 of a Gaussian matrix. Harder spectra are covered by the forced tests above.
      const [m, n] = [700, 530];
      const G = hostRandn(m, n, 14);
      const a = new Float64Array(m * n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) a[i * n + j] = (i === j ? 1 + (4 * j) / n : 0) + (0.05 / Math.sqrt(m)) * G[i * n + j];
      const A = h.eng.matrix(a, m, n);
      const r = await svdInternal(env(), A);
      expect(r.info.method).toBe('jacobi');
      await checkSvd(await A.toArray(), m, n, await down(r.U, m, n), r.S, await down(r.V, n, n), Math.sqrt(m) / 2);
      A.dispose();
    });

    it('SVD through device QR and the small host SVD (tall and wide)', async () => {
      for (const [m, n] of [
        [3000, 20],
        [20, 3000],
      ] as const) {
        const A = h.eng.matrix(hostRandn(m, n, 15), m, n);
        const k = Math.min(m, n);
        const r = await svdInternal(env(), A);
        expect(r.info.method).toBe('qr');
        await checkSvd(await A.toArray(), m, n, await down(r.U, m, k), r.S, await down(r.V, n, k));
        A.dispose();
      }
    });

    it('lstsq: full rank through QR + TRSM, rank-deficient and wide as minimum-norm solutions', async () => {
      const nrhs = 3;
      // [m, n, rank (0: full), expected route]
      const cases: Array<[number, number, number, string]> = [
        [400, 30, 0, 'qr'],
        [400, 30, 20, 'qr+svd(R)'],
        [30, 80, 0, 'svd'],
      ];
      for (const [m, n, rank, route] of cases) {
        const spec = rank ? withSpectrum(m, n, logspace(rank, 10), 16) : null;
        const A = h.eng.matrix(spec ? spec.A : hostRandn(m, n, 16), m, n);
        const B = h.eng.matrix(hostRandn(m, nrhs, 17), m, nrhs);
        const a = await A.toArray(),
          b = await B.toArray();
        const r = await lstsqInternal(env(), A, B);
        expect(r.info.route).toBe(route);
        expect(r.rank).toBe(rank || Math.min(m, n));
        const X = await down(r.X, n, nrhs);
        // f64 reference: the normal equations (full column rank), V S^-1 U^T B from the exact factors
        // (rank-deficient), A^T (A A^T)^-1 B (full row rank).
        let ref: Float64Array;
        if (spec) {
          const UtB = refMatmul(spec.U, m, rank, b, m, nrhs, true, false);
          const s = logspace(rank, 10);
          for (let i = 0; i < rank; i++) for (let j = 0; j < nrhs; j++) UtB[i * nrhs + j] /= s[i];
          ref = refMatmul(spec.V, n, rank, UtB, rank, nrhs);
        } else if (m >= n) {
          ref = hostSpdSolve(refMatmul(a, m, n, a, m, n, true, false), n, refMatmul(a, m, n, b, m, nrhs, true, false), nrhs);
        } else {
          const y = hostSpdSolve(refMatmul(a, m, n, a, m, n, false, true), m, b, nrhs);
          ref = refMatmul(a, m, n, y, m, nrhs, true, false);
        }
        expect(diffFrob(X, ref)).toBeLessThanOrEqual(1e3 * h.u * frob(ref));
        A.dispose();
        B.dispose();
      }
    });
  },
  { configs: [{ backend: 'webgpu', dtype: 'f32' }] },
);
