/**
 * Principal angles, subspace distances, SVCCA / PWCCA / linear CKA: the spec's numbers (angles {0, 0.3},
 * the 1e-9 angle, SVCCA mean 0.915), scipy / numpy f64 references on the spec's SVCCA example, f64 host
 * references (Gram-matrix CKA and unbiased HSIC), invariances, awkward shapes and bad input.
 *
 * The SVCCA example (spec section 10: X in R^{500 x 10}, Y = X M + 0.5 noise with 8 dims) is stored in
 * test/algorithms/data/svcca-example-{X,Y}.npy, made by numpy 2.x as
 *   g = np.random.default_rng(0); X = g.standard_normal((500, 10)); M = g.standard_normal((10, 8))
 *   Y = X @ M + 0.5 * g.standard_normal((500, 8))
 * which reproduces the spec's 0.915 (CCA over every direction). Reference values below come from numpy /
 * scipy 1.17 in f64 on these files (QR-route CCA, scipy.linalg.subspace_angles, and the covariance route of
 * google/svcca's cca_core re-derived for epsilon > 0).
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { type Engine, type Mat, linearCKA, principalAngles, pwcca, readNpy, subspaceDistance, svcca } from '../../ts/index.js';
import { thresholdMean } from '../../ts/algorithms/geometry/similarity.js';
import { describeEngines, disposeAll, hostRandn, randomOrthonormal, refMatmul } from '../helpers.js';
import { nanMat } from './model-fixtures.js';

const dataPath = (f: string) => fileURLToPath(new URL(`./data/${f}`, import.meta.url));
const EX = await readNpy(dataPath('svcca-example-X.npy'));
const EY = await readNpy(dataPath('svcca-example-Y.npy'));

/** scipy.linalg.subspace_angles(X, Y) on the example, sorted ascending. */
const SCIPY_ANGLES = [0.09177054, 0.09773457, 0.15093109, 0.1605892, 0.20002615, 0.22596999, 0.6583604, 0.92044096];
/** QR-route CCA (every direction) on the example: the spec's 0.915. */
const RHO_ALL = [0.99574067, 0.99523662, 0.98863305, 0.98712146, 0.98020736, 0.9745986, 0.791624, 0.60592633];

/** e_1, e_2 and e_1, cos t e_2 + sin t e_3 in R^5 (the spec's case). */
function tiltPair(t: number): { x: Float64Array; y: Float64Array } {
  const x = new Float64Array(10),
    y = new Float64Array(10);
  x[0] = 1;
  x[3] = 1; // row 1, col 1
  y[0] = 1;
  y[3] = Math.cos(t);
  y[5] = Math.sin(t); // row 2, col 1
  return { x, y };
}

/** Host Gram-matrix references: biased linear CKA and debiased CKA (unbiased HSIC, Song et al. 2012). */
function hostCka(a: ArrayLike<number>, b: ArrayLike<number>, n: number, p: number, q: number, debiased: boolean): number {
  const center = (A: ArrayLike<number>, w: number) => {
    const C = Float64Array.from(A);
    for (let j = 0; j < w; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += C[i * w + j];
      for (let i = 0; i < n; i++) C[i * w + j] -= s / n;
    }
    return C;
  };
  const K = refMatmul(center(a, p), n, p, center(a, p), n, p, false, true);
  const L = refMatmul(center(b, q), n, q, center(b, q), n, q, false, true);
  const hsic = (K: Float64Array, L: Float64Array): number => {
    if (!debiased) {
      // tr(K H L H) with centered features = tr(K L)
      let s = 0;
      for (let i = 0; i < n * n; i++) s += K[i] * L[i];
      return s;
    }
    const Kt = Float64Array.from(K),
      Lt = Float64Array.from(L);
    for (let i = 0; i < n; i++) Kt[i * n + i] = Lt[i * n + i] = 0;
    let tr = 0,
      sk = 0,
      sl = 0,
      kl1 = 0;
    for (let i = 0; i < n * n; i++) {
      tr += Kt[i] * Lt[i];
      sk += Kt[i];
      sl += Lt[i];
    }
    for (let i = 0; i < n; i++) {
      let r1 = 0,
        r2 = 0;
      for (let j = 0; j < n; j++) {
        r1 += Kt[i * n + j];
        r2 += Lt[i * n + j];
      }
      kl1 += r1 * r2;
    }
    return (tr + (sk * sl) / ((n - 1) * (n - 2)) - (2 / (n - 2)) * kl1) / (n * (n - 3));
  };
  return hsic(K, L) / Math.sqrt(hsic(K, K) * hsic(L, L));
}

/** Orthonormal basis of the columns of a D x p host matrix (modified Gram-Schmidt, twice). */
function hostOrth(A: ArrayLike<number>, D: number, p: number): Float64Array {
  const Q = Float64Array.from(A);
  for (let pass = 0; pass < 2; pass++)
    for (let j = 0; j < p; j++) {
      for (let k = 0; k < j; k++) {
        let d = 0;
        for (let i = 0; i < D; i++) d += Q[i * p + k] * Q[i * p + j];
        for (let i = 0; i < D; i++) Q[i * p + j] -= d * Q[i * p + k];
      }
      let nn = 0;
      for (let i = 0; i < D; i++) nn += Q[i * p + j] ** 2;
      for (let i = 0; i < D; i++) Q[i * p + j] /= Math.sqrt(nn);
    }
  return Q;
}

describeEngines('geometry: principal angles and distances', (h) => {
  const tol = (c: number) => c * h.u;
  const mat = (a: ArrayLike<number>, r: number, c: number): Mat => h.eng.matrix(Float64Array.from(a), r, c);

  it('span(e1, e2) vs span(e1, cos .3 e2 + sin .3 e3) gives {0, 0.3}, ascending; distances', async () => {
    const { x, y } = tiltPair(0.3);
    const X = mat(x, 5, 2),
      Y = mat(y, 5, 2);
    const th = await principalAngles(X, Y);
    expect(th).toBeInstanceOf(Float64Array);
    expect(th.length).toBe(2);
    expect(Math.abs(th[0])).toBeLessThan(tol(50));
    expect(Math.abs(th[1] - 0.3)).toBeLessThan(tol(50));
    expect(Math.abs((await subspaceDistance(X, Y, 'geodesic')) - 0.3)).toBeLessThan(tol(50));
    expect(Math.abs((await subspaceDistance(X, Y)) - 0.3)).toBeLessThan(tol(50));
    expect(Math.abs((await subspaceDistance(X, Y, 'chordal')) - Math.sin(0.3))).toBeLessThan(tol(50));
    expect(Math.abs((await subspaceDistance(X, Y, 'projection')) - Math.sin(0.3))).toBeLessThan(tol(50));
    expect(Math.abs((await subspaceDistance(X, Y, 'max')) - 0.3)).toBeLessThan(tol(50));
    disposeAll(X, Y);
  });

  it('small angles come from sines: 1e-9 in f64 (the arccos route gives 0), 1e-4 in f32, in a rotated basis', async () => {
    const t = h.dtype === 'f64' ? 1e-9 : 1e-4;
    expect(Math.acos(Math.cos(1e-9))).toBe(0); // what the arccos route returns for 1e-9 (in f32 also for 1e-4)
    // the spec's pair embedded in R^50 by a random rotation, so no entry is exact
    const D = 50;
    const R = randomOrthonormal(D, D, 9);
    const { x, y } = tiltPair(t);
    const pad = (v: Float64Array) => {
      const o = new Float64Array(D * 2);
      o.set(v);
      return refMatmul(R, D, D, o, D, 2);
    };
    const X = mat(pad(x), D, 2),
      Y = mat(pad(y), D, 2);
    const th = await principalAngles(X, Y);
    // f64: relative accuracy ~1e-7 at 1e-9; f32: absolute error ~u_f32 (arccos would give 0 or 3e-4).
    if (h.dtype === 'f64') expect(Math.abs(th[1] - t) / t).toBeLessThan(1e-6);
    else expect(Math.abs(th[1] - t)).toBeLessThan(20 * h.u);
    expect(Math.abs(th[0])).toBeLessThan(20 * h.u);
    disposeAll(X, Y);
  });

  it('matches scipy.linalg.subspace_angles (reversed) on the 500 x 10 / 500 x 8 example; symmetric', async () => {
    const X = h.eng.matrix(EX.data, 500, 10),
      Y = h.eng.matrix(EY.data, 500, 8);
    const a = await principalAngles(X, Y);
    const b = await principalAngles(Y, X);
    expect(a.length).toBe(8);
    for (let i = 0; i < 8; i++) {
      expect(Math.abs(a[i] - SCIPY_ANGLES[i])).toBeLessThan(Math.max(2e-8, tol(2000)));
      expect(Math.abs(a[i] - b[i])).toBeLessThan(tol(2000));
      if (i > 0) expect(a[i]).toBeGreaterThanOrEqual(a[i - 1]);
    }
    disposeAll(X, Y);
  });

  it('same subspace gives 0, orthogonal subspaces pi/2, distances match the projector formulas', async () => {
    const D = 24;
    const Q = randomOrthonormal(D, 7, 11);
    const first = (k0: number, k1: number) => {
      const out = new Float64Array(D * (k1 - k0));
      for (let i = 0; i < D; i++) for (let j = k0; j < k1; j++) out[i * (k1 - k0) + j - k0] = Q[i * 7 + j];
      return out;
    };
    const X = mat(first(0, 3), D, 3);
    const M = hostRandn(3, 3, 5);
    const Y = mat(refMatmul(first(0, 3), D, 3, M, 3, 3), D, 3); // same span, other basis
    const Z = mat(first(3, 7), D, 4); // orthogonal to X
    const same = await principalAngles(X, Y);
    for (const v of same) expect(Math.abs(v)).toBeLessThan(tol(200));
    const orth = await principalAngles(X, Z);
    expect(orth.length).toBe(3);
    for (const v of orth) expect(Math.abs(v - Math.PI / 2)).toBeLessThan(Math.sqrt(h.u) * 4);
    // a generic pair: chordal = ||Px - Py||_F / sqrt 2 (host projectors), max >= geodesic / sqrt(m)
    const ga = hostRandn(D, 3, 21),
      gb = hostRandn(D, 3, 22);
    const A = mat(ga, D, 3),
      B = mat(gb, D, 3);
    const qa = hostOrth(ga, D, 3),
      qb = hostOrth(gb, D, 3);
    const Pa = refMatmul(qa, D, 3, qa, D, 3, false, true),
      Pb = refMatmul(qb, D, 3, qb, D, 3, false, true);
    let f = 0;
    for (let i = 0; i < D * D; i++) f += (Pa[i] - Pb[i]) ** 2;
    const th = await principalAngles(A, B);
    expect(Math.abs((await subspaceDistance(A, B, 'chordal')) - Math.sqrt(f / 2))).toBeLessThan(tol(500));
    expect(Math.abs((await subspaceDistance(A, B, 'geodesic')) - Math.hypot(...th))).toBeLessThan(tol(50));
    expect(Math.abs((await subspaceDistance(A, B, 'projection')) - Math.sin(th[2]))).toBeLessThan(tol(50));
    expect(await subspaceDistance(A, B, 'max')).toBe(th[2]);
    disposeAll(X, Y, Z, A, B);
  });

  it('awkward shapes: 1 column, D = p, wide (p > D), rank-deficient input (numerical rank)', async () => {
    const x = hostRandn(9, 1, 1),
      y = hostRandn(9, 1, 2);
    let dot = 0,
      nx = 0,
      ny = 0;
    for (let i = 0; i < 9; i++) [dot, nx, ny] = [dot + x[i] * y[i], nx + x[i] ** 2, ny + y[i] ** 2];
    const X1 = mat(x, 9, 1),
      Y1 = mat(y, 9, 1);
    const one = await principalAngles(X1, Y1);
    expect(one.length).toBe(1);
    expect(Math.abs(one[0] - Math.acos(Math.abs(dot) / Math.sqrt(nx * ny)))).toBeLessThan(tol(100));
    // D = p: X spans R^6, so every angle to any Y is 0
    const Xf = mat(hostRandn(6, 6, 3), 6, 6),
      Y2 = mat(hostRandn(6, 2, 4), 6, 2);
    for (const v of await principalAngles(Xf, Y2)) expect(Math.abs(v)).toBeLessThan(tol(500));
    // wide: 4 x 7 spans R^4 (rank 4) -> min(4, 2) angles, all 0
    const Xw = mat(hostRandn(4, 7, 5), 4, 7),
      Yw = mat(hostRandn(4, 2, 6), 4, 2);
    const w = await principalAngles(Xw, Yw);
    expect(w.length).toBe(2);
    for (const v of w) expect(Math.abs(v)).toBeLessThan(tol(500));
    // rank-deficient: [a, b, a + b] has rank 2 -> min(2, 3) = 2 angles
    const ab = hostRandn(10, 2, 7);
    const r = new Float64Array(30);
    for (let i = 0; i < 10; i++) [r[3 * i], r[3 * i + 1], r[3 * i + 2]] = [ab[2 * i], ab[2 * i + 1], ab[2 * i] + ab[2 * i + 1]];
    const Xr = mat(r, 10, 3),
      Yr = mat(hostRandn(10, 3, 8), 10, 3),
      Xab = mat(ab, 10, 2);
    const rd = await principalAngles(Xr, Yr);
    expect(rd.length).toBe(2);
    const ref = await principalAngles(Xab, Yr);
    for (let i = 0; i < 2; i++) expect(Math.abs(rd[i] - ref[i])).toBeLessThan(tol(2000));
    disposeAll(X1, Y1, Xf, Y2, Xw, Yw, Xr, Yr, Xab);
  });

  it('bad input: NaN, different D, zero matrix, not a Mat, unknown kind', async () => {
    const X = mat(hostRandn(5, 2, 1), 5, 2),
      Y4 = mat(hostRandn(4, 2, 2), 4, 2),
      Z = h.eng.zeros(5, 2);
    const nan = await nanMat(h.eng, 5, 2);
    await expect(principalAngles(X, nan)).rejects.toThrow(/principalAngles.*'Y'.*NaN/);
    await expect(principalAngles(X, Y4)).rejects.toThrow(RangeError);
    await expect(principalAngles(X, Y4)).rejects.toThrow(/principalAngles.*'X'.*'Y'/);
    await expect(principalAngles(Z, X)).rejects.toThrow(/principalAngles.*'X'.*rank 0/);
    await expect(principalAngles([[1]] as unknown as Mat, X)).rejects.toThrow(TypeError);
    await expect(subspaceDistance(X, X, 'fro' as 'max')).rejects.toThrow(/subspaceDistance.*'kind'/);
    await expect(subspaceDistance(X, nan, 'max')).rejects.toThrow(/subspaceDistance.*'Y'/);
    disposeAll(X, Y4, Z, nan);
  });
});

describeEngines('geometry: SVCCA, PWCCA, linear CKA', (h) => {
  // f32 CCA on 500 x 10 loses ~1e-5 (cosines from an f32 SVD of Qa^T Qb); f64 agrees with numpy to ~1e-12.
  const tolR = (): number => (h.dtype === 'f64' ? 1e-9 : 2e-4);
  const example = (eng: Engine) => ({ X: eng.matrix(EX.data, 500, 10), Y: eng.matrix(EY.data, 500, 8) });
  const mat = (a: ArrayLike<number>, r: number, c: number): Mat => h.eng.matrix(Float64Array.from(a), r, c);

  it("spec example: SVCCA over every direction gives mean rho 0.915 (numpy's rho); 0.99 keeps 10 / 7", async () => {
    const { X, Y } = example(h.eng);
    const all = await svcca(X, Y, { keep: 'all' });
    expect(all.rho.length).toBe(8);
    for (let i = 0; i < 8; i++) expect(Math.abs(all.rho[i] - RHO_ALL[i])).toBeLessThan(Math.max(tolR(), 2e-8));
    expect(Math.abs(all.mean - 0.914886010505)).toBeLessThan(tolR());
    expect(all.mean.toFixed(3)).toBe('0.915');
    expect(Math.abs(all.meanThreshold - 0.914886010505)).toBeLessThan(tolR()); // no proper prefix reaches 98%
    const def = await svcca(X, Y); // keep 0.99: Y's 8th direction holds 0.5% of its variance
    expect([def.keptA, def.keptB]).toEqual([10, 7]);
    expect(Math.abs(def.mean - 0.958740359029)).toBeLessThan(tolR());
    const k5 = await svcca(X, Y, { keep: 5 });
    expect([k5.keptA, k5.keptB]).toEqual([5, 5]);
    expect(Math.abs(k5.mean - 0.664648676034)).toBeLessThan(tolR());
    disposeAll(X, Y);
  });

  it("epsilon > 0 follows google/svcca's covariance route (numpy re-derivation)", async () => {
    const { X, Y } = example(h.eng);
    const tiny = await svcca(X, Y, { epsilon: 1e-10 });
    expect(Math.abs(tiny.mean - 0.958740358587)).toBeLessThan(h.dtype === 'f64' ? 1e-8 : 1e-3);
    const e3 = await svcca(X, Y, { epsilon: 1e-3 });
    expect(Math.abs(e3.mean - 0.954408030085)).toBeLessThan(h.dtype === 'f64' ? 1e-8 : 1e-3);
    const e5 = await svcca(X, Y, { epsilon: 0.05 });
    expect(Math.abs(e5.mean - 0.896915880482)).toBeLessThan(h.dtype === 'f64' ? 1e-8 : 1e-3);
    disposeAll(X, Y);
  });

  it('meanThreshold is the mean of the leading rho whose sum reaches the threshold (sum_threshold)', () => {
    expect(thresholdMean([1, 0.5, 0.01, 0.001], 0.98)).toBeCloseTo(0.75, 14);
    expect(thresholdMean([0.9, 0.9, 0.9], 0.98)).toBeCloseTo(0.9, 14); // never reached: all
    expect(thresholdMean([], 0.98)).toBe(0);
  });

  it('CCA is invariant to invertible linear maps of the features; rho = 1 for B = A M', async () => {
    const n = 40;
    const a = hostRandn(n, 5, 31),
      b = hostRandn(n, 3, 32);
    for (let i = 0; i < n; i++) b[i * 3] += a[i * 5] + 0.3 * a[i * 5 + 1]; // some shared signal
    const M1 = hostRandn(5, 5, 33),
      M2 = hostRandn(3, 3, 34);
    for (let i = 0; i < 5; i++) M1[i * 6] += 3; // well conditioned
    for (let i = 0; i < 3; i++) M2[i * 4] += 3;
    const A = mat(a, n, 5),
      B = mat(b, n, 3);
    const AM = mat(refMatmul(a, n, 5, M1, 5, 5), n, 5),
      BM = mat(refMatmul(b, n, 3, M2, 3, 3), n, 3);
    const r0 = await svcca(A, B, { keep: 'all' });
    const r1 = await svcca(AM, BM, { keep: 'all' });
    for (let i = 0; i < 3; i++) expect(Math.abs(r0.rho[i] - r1.rho[i])).toBeLessThan(tol(h.u, 5000));
    const self = await svcca(A, AM, { keep: 'all' });
    for (const r of self.rho) expect(Math.abs(r - 1)).toBeLessThan(tol(h.u, 5000));
    const pw = await pwcca(A, AM);
    expect(Math.abs(pw.mean - 1)).toBeLessThan(tol(h.u, 5000));
    disposeAll(A, B, AM, BM);
  });

  it('PWCCA: weights from the narrower side (widths 10 vs 8, no IndexError), sum to 1', async () => {
    const { X, Y } = example(h.eng);
    const r = await pwcca(X, Y);
    expect(r.side).toBe('B');
    expect(r.rho.length).toBe(8);
    expect(r.weights.length).toBe(8);
    expect(Math.abs(r.weights.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-12);
    // Morcos et al.'s definition in numpy (variates Qb V of the 8-wide side): 0.971610638176.
    // (google/svcca's pwcca(Y^T, X^T) gives 0.969551: its directions omit Sigma_xx^-1/2.)
    expect(Math.abs(r.mean - 0.971610638176)).toBeLessThan(tolR());
    const r2 = await pwcca(Y, X); // the same pair the other way round: same side weighting
    expect(r2.side).toBe('A');
    expect(Math.abs(r2.mean - r.mean)).toBeLessThan(tolR());
    const re = await pwcca(X, Y, { epsilon: 1e-10 });
    expect(Math.abs(re.mean - r.mean)).toBeLessThan(h.dtype === 'f64' ? 1e-7 : 1e-3);
    disposeAll(X, Y);
  });

  it('linear CKA: numpy values on the example, host Gram references (biased / debiased), wide widths', async () => {
    const { X, Y } = example(h.eng);
    expect(Math.abs((await linearCKA(X, Y)) - 0.648335401903)).toBeLessThan(tolR());
    expect(Math.abs((await linearCKA(X, Y, { debiased: true })) - 0.644357376535)).toBeLessThan(tolR());
    disposeAll(X, Y);
    // N = 30 with one representation wider than N (40 features)
    const n = 30;
    const a = hostRandn(n, 5, 41),
      b = hostRandn(n, 40, 42);
    for (let i = 0; i < n; i++) b[i * 40 + 3] += 2 * a[i * 5];
    const A = mat(a, n, 5),
      B = mat(b, n, 40);
    for (const debiased of [false, true]) {
      const ref = hostCka(a, b, n, 5, 40, debiased);
      expect(Math.abs((await linearCKA(A, B, { debiased })) - ref)).toBeLessThan(h.dtype === 'f64' ? 1e-12 : 1e-4);
    }
    expect(Math.abs((await linearCKA(A, A)) - 1)).toBeLessThan(tol(h.u, 200));
    disposeAll(A, B);
  });

  it('linear CKA is invariant to orthogonal transforms and isotropic scaling', async () => {
    const n = 50;
    const a = hostRandn(n, 6, 51),
      b = hostRandn(n, 4, 52);
    for (let i = 0; i < n; i++) b[i * 4] += a[i * 6 + 2];
    const Q = randomOrthonormal(6, 6, 53);
    const A = mat(a, n, 6),
      B = mat(b, n, 4);
    const AQ = mat(refMatmul(a, n, 6, Q, 6, 6), n, 6),
      B3 = mat(
        Float64Array.from(b, (v) => 3.5 * v),
        n,
        4,
      );
    for (const debiased of [false, true]) {
      const c0 = await linearCKA(A, B, { debiased });
      const c1 = await linearCKA(AQ, B3, { debiased });
      expect(Math.abs(c0 - c1)).toBeLessThan(tol(h.u, 2000));
    }
    disposeAll(A, B, AQ, B3);
  });

  it('shapes: one column each (|correlation|), N = 2, tall narrow', async () => {
    const n = 20;
    const x = hostRandn(n, 1, 61),
      y = hostRandn(n, 1, 62);
    const mx = x.reduce((s, v) => s + v, 0) / n,
      my = y.reduce((s, v) => s + v, 0) / n;
    let sxy = 0,
      sxx = 0,
      syy = 0;
    for (let i = 0; i < n; i++) [sxy, sxx, syy] = [sxy + (x[i] - mx) * (y[i] - my), sxx + (x[i] - mx) ** 2, syy + (y[i] - my) ** 2];
    const corr = Math.abs(sxy) / Math.sqrt(sxx * syy);
    const X = mat(x, n, 1),
      Y = mat(y, n, 1);
    const r = await svcca(X, Y);
    expect(r.rho.length).toBe(1);
    expect(Math.abs(r.rho[0] - corr)).toBeLessThan(tol(h.u, 500));
    expect(Math.abs((await pwcca(X, Y)).mean - corr)).toBeLessThan(tol(h.u, 500));
    expect(Math.abs((await linearCKA(X, Y)) - corr * corr)).toBeLessThan(tol(h.u, 500));
    const X2 = mat([1, 2, 3, 5], 2, 2),
      Y2 = mat([0, 1, 4, 4], 2, 2);
    expect((await svcca(X2, Y2)).rho[0]).toBeCloseTo(1, 5); // two inputs: one direction, perfectly correlated
    disposeAll(X, Y, X2, Y2);
  });

  it('bad input: NaN, mismatched N, constant, too few inputs, options', async () => {
    const A = mat(hostRandn(8, 3, 71), 8, 3),
      B7 = mat(hostRandn(7, 2, 72), 7, 2),
      C = h.eng.full(8, 2, 3);
    const nan = await nanMat(h.eng, 8, 2);
    await expect(svcca(A, nan)).rejects.toThrow(/svcca.*'B'.*NaN/);
    await expect(pwcca(nan, A)).rejects.toThrow(/pwcca.*'A'.*NaN/);
    await expect(linearCKA(A, nan)).rejects.toThrow(/linearCKA.*'B'.*NaN/);
    for (const f of [svcca, pwcca, linearCKA] as const) {
      await expect(f(A, B7)).rejects.toThrow(RangeError);
      await expect(f(A, B7)).rejects.toThrow(/'A'.*'B'/);
      await expect(f(A, C)).rejects.toThrow(/'B'.*constant/);
    }
    await expect(svcca(A, A, { keep: 1.5 })).rejects.toThrow(/svcca.*'keep'/);
    await expect(svcca(A, A, { keep: 0 })).rejects.toThrow(/svcca.*'keep'/);
    await expect(svcca(A, A, { epsilon: -1 })).rejects.toThrow(/svcca.*'epsilon'/);
    await expect(svcca(A, A, { kept: 3 } as never)).rejects.toThrow(/svcca.*unknown option 'kept'/);
    await expect(linearCKA(A, A, { debiased: 1 } as never)).rejects.toThrow(/linearCKA.*'debiased'/);
    const A3 = mat(hostRandn(3, 2, 73), 3, 2);
    await expect(linearCKA(A3, A3, { debiased: true })).rejects.toThrow(/linearCKA.*at least 4/);
    disposeAll(A, B7, C, nan, A3);
  });
});

function tol(u: number, c: number): number {
  return c * u;
}
