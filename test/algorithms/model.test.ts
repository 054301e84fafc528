/**
 * The compressors: LORD (Eckart-Young, break-even, the data-aware variant), SVFit (exact reconstruction,
 * sigma gradient), WeLore (the spec's 121/256 and 52/256, bisection, presets, the reference's reduction
 * rule), TRP (k = 6 for s_i = 1/i, the nuclear-norm gradient by finite differences), energyRank, and
 * typed errors.
 */
import { describe, expect, it } from 'vitest';
import {
  breakEven,
  energyRank,
  lordFactorize,
  nuclearSubgradient,
  svfitInit,
  svfitSigmaGrad,
  trpTruncate,
  weloreFactorize,
  weloreRanks,
  type Engine,
  type Mat,
} from '../../ts/index.js';
import { describeEngines, diffMax, disposeAll, frob, hostRandn, refMatmul, withSpectrum, type Host } from '../helpers.js';
import { nanMat } from './model-fixtures.js';

const host = async (M: Mat): Promise<Host> => Float64Array.from(await M.toArray());
const tail = (s: ArrayLike<number>, r: number): number =>
  Math.sqrt(
    Array.from(s)
      .slice(r)
      .reduce((a, v) => a + v * v, 0),
  );
const geo = (k: number, q: number): number[] => Array.from({ length: k }, (_, i) => q ** i);
const linspace = (a: number, b: number, n: number): number[] => Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));

/** The spec's WeLore spectrum: [linspace(10, 3, 20), 3 exp(-linspace(0, 6, 236))]. */
const weloreS = Float64Array.from([...linspace(10, 3, 20), ...linspace(0, 6, 236).map((t) => 3 * Math.exp(-t))]);

describe('energyRank', () => {
  it('TRP acceptance: s_i = 1/i, n = 64, e = 0.9 gives k = 6; edge cases', () => {
    const s = Float64Array.from({ length: 64 }, (_, i) => 1 / (i + 1));
    expect(energyRank(s, 0.9)).toBe(6);
    expect(energyRank(s, 1)).toBe(64);
    expect(energyRank([3, 4], 9 / 25)).toBe(1);
    expect(energyRank([3, 4, 0], 1)).toBe(2);
    expect(energyRank([0, 0], 0.5)).toBe(1);
    expect(energyRank([5], 0.01)).toBe(1);
  });
  it('bad input names energyRank and the argument', () => {
    expect(() => energyRank([1, 2], 0)).toThrow(/energyRank.*'energy'/);
    expect(() => energyRank([1, 2], 1.01)).toThrow(RangeError);
    expect(() => energyRank([1, 2], Number.NaN)).toThrow(RangeError);
    expect(() => energyRank([], 0.5)).toThrow(/energyRank.*'s'/);
    expect(() => energyRank([1, Number.NaN], 0.5)).toThrow(/energyRank.*'s\[1\]'/);
    expect(() => energyRank([1, -1], 0.5)).toThrow(RangeError);
    expect(() => energyRank('x' as unknown as number[], 0.5)).toThrow(TypeError);
  });
});

describe('weloreRanks', () => {
  it('spec acceptance: tau 0.0225 keeps 121/256, tau 0.135 keeps 52/256', () => {
    const a = weloreRanks([weloreS], { tau: 0.0225 });
    expect(a.ranks).toEqual([121]);
    expect(a.pruned).toEqual([135]);
    expect(a.lrc).toEqual([true]);
    expect(a.reduction).toBeCloseTo(135 / 256, 15);
    const b = weloreRanks([{ name: 'q', s: weloreS, shape: [256, 300] }], { tau: 0.135 });
    expect(b.ranks).toEqual([52]);
    expect(b.names).toEqual(['q']);
    expect(b.paramReduction).toBeCloseTo(1 - (52 * 556) / (256 * 300), 12);
    // the 7B preset at 10% is tau 0.0225, at 50% 0.135
    expect(weloreRanks([weloreS], { preset: 'llama2-7b', reduction: 0.1 }).ranks).toEqual([121]);
    expect(weloreRanks([weloreS], { preset: 'llama2-7b', reduction: 0.5 }).tau).toBe(0.135);
    expect(weloreRanks([weloreS], { preset: 'llama2-13b', reduction: 0.2 }).tau).toBe(0.084);
  });

  it("the reference's reduction rule over several matrices, minRatio strict, bisection hits the target", () => {
    const flat = Float64Array.from(linspace(5, 4, 64)); // near-flat: few pruned for small tau
    const spectra = [
      { name: 'a', s: weloreS, shape: [256, 256] as [number, number] },
      { name: 'b', s: flat, shape: [64, 512] as [number, number] },
      { name: 'c', s: Float64Array.from(geo(32, 0.7)), shape: [32, 32] as [number, number] },
    ];
    const r = weloreRanks(spectra, { tau: 0.05 });
    const p = r.pruned;
    // flat: (s - 4) / 1 < 0.05 -> s < 4.05 -> 4 values (5 - 4 i / 63 < 4.05, i > 59.85)
    expect(p[1]).toBe(4);
    expect(r.reduction).toBeCloseTo((p[0] + p[1] + p[2]) / (256 + 64 + 32), 15);
    // minRatio 0.1: b (4/64 = 0.0625) is not an LRC and stays dense; its pruned ranks are not counted
    const m = weloreRanks(spectra, { tau: 0.05 }, { minRatio: 0.1 });
    expect(m.lrc).toEqual([true, false, true]);
    expect(m.ranks[1]).toBe(64);
    expect(m.reduction).toBeCloseTo((p[0] + p[2]) / 352, 15);
    // exactly at minRatio: strict '>' -> not an LRC
    const e = weloreRanks(spectra, { tau: 0.05 }, { minRatio: 4 / 64 });
    expect(e.lrc[1]).toBe(false);
    // bisection: reaches the target with the smallest tau (a hair less falls short)
    for (const target of [0.1, 0.3, 0.5, 0.7]) {
      const b = weloreRanks(spectra, { targetReduction: target });
      expect(b.reduction).toBeGreaterThanOrEqual(target);
      expect(weloreRanks(spectra, { tau: b.tau - 1e-9 }).reduction).toBeLessThan(target);
    }
    // plain arrays: no shapes, no parameter count
    expect(weloreRanks([weloreS, flat], { tau: 0.1 }).paramReduction).toBeNull();
    // a constant spectrum prunes nothing (the reference's 0/0)
    expect(weloreRanks([new Float64Array(8).fill(2)], { tau: 0.5 }).pruned).toEqual([0]);
    // below break-even LRCs are flagged: 256 x 256 keeping 200 > 128
    expect(weloreRanks([{ s: weloreS, shape: [256, 256] }], { tau: 1e-9 }).belowBreakEven).toEqual([0]);
  });

  it('bad input names weloreRanks and the argument', () => {
    expect(() => weloreRanks([], { tau: 0.1 })).toThrow(/weloreRanks.*'spectra'/);
    expect(() => weloreRanks([weloreS], { tau: 1.5 })).toThrow(/weloreRanks.*'tau'/);
    expect(() => weloreRanks([weloreS], { targetReduction: 0 })).toThrow(/'targetReduction'/);
    expect(() => weloreRanks([weloreS], { targetReduction: 0.999 })).toThrow(/largest reachable/);
    expect(() => weloreRanks([weloreS], { preset: 'llama2-7b', reduction: 0.15 })).toThrow(/'reduction'/);
    expect(() => weloreRanks([weloreS], { preset: 'gpt' as 'llama2-7b', reduction: 0.1 })).toThrow(/'preset'/);
    expect(() => weloreRanks([weloreS], { tau: 0.1, targetReduction: 0.1 } as { tau: number })).toThrow(TypeError);
    expect(() => weloreRanks([weloreS], { tau: 0.1 }, { minRatio: 1 })).toThrow(/'minRatio'/);
    expect(() => weloreRanks([{ s: weloreS.slice(0, 100), shape: [256, 256] }], { tau: 0.1 })).toThrow(/full spectrum/);
    expect(() => weloreRanks([[1, Number.NaN]], { tau: 0.1 })).toThrow(/'spectra\[0\]\.s\[1\]'/);
  });
});

/** ||W - L R||_F / ||W||_F on the host. */
async function lrError(W: Host, m: number, n: number, L: Mat, R: Mat): Promise<number> {
  const P = refMatmul(await host(L), m, L.cols, await host(R), R.rows, n);
  let e = 0;
  for (let i = 0; i < P.length; i++) e += (W[i] - P[i]) ** 2;
  return Math.sqrt(e) / frob(W);
}

describeEngines('lordFactorize / weloreFactorize', (h) => {
  it('Eckart-Young on awkward shapes and ranks; balanced factors; break-even', async () => {
    const { eng } = h;
    const cases: Array<[number, number, number]> = [
      [40, 25, 5],
      [25, 40, 1],
      [127, 3, 2],
      [1, 7, 1],
      [7, 1, 1],
      [2, 2, 2],
      [64, 64, 20],
    ];
    for (const [m, n, r] of cases) {
      const k = Math.min(m, n);
      const s = geo(k, 0.8).map((v) => 3 * v);
      const { A } = withSpectrum(m, n, s, m * 100 + n);
      const W = eng.matrix(A, m, n);
      const res = await lordFactorize(W, { rank: r });
      const ey = tail(s, r) / frob(A);
      expect(res.rank).toBe(r);
      expect([res.L.rows, res.L.cols, res.R.rows, res.R.cols]).toEqual([m, r, r, n]);
      const err = await lrError(A, m, n, res.L, res.R);
      const floor = 50 * h.u * Math.sqrt(k);
      expect(Math.abs(err - ey)).toBeLessThan(1e-3 * ey + floor);
      expect(Math.abs(res.relError - ey)).toBeLessThan(1e-3 * ey + floor);
      // balanced: L^T L = R R^T = diag(s_r)
      const LtL = refMatmul(await host(res.L), m, r, await host(res.L), m, r, true, false);
      const RRt = refMatmul(await host(res.R), r, n, await host(res.R), r, n, false, true);
      expect(diffMax(LtL, RRt)).toBeLessThan(100 * h.u * s[0]);
      for (let i = 0; i < r; i++) expect(LtL[i * r + i]).toBeCloseTo(s[i], h.dtype === 'f64' ? 10 : 4);
      expect(res.params).toEqual({ before: m * n, after: r * (m + n) });
      expect(res.breakEven.compresses).toBe(r < (m * n) / (m + n));
      expect(res.breakEven.compresses).toBe(res.params.after < res.params.before);
      disposeAll(W, res.L, res.R);
    }
    // break-even at equality (m = n = 4: mn / (m + n) = 2)
    expect(breakEven(4, 4, 2)).toEqual({ rank: 2, maxCompressingRank: 1, compresses: false });
    expect(breakEven(4, 4, 1).compresses).toBe(true);
    expect(breakEven(4096, 4096, 2047).compresses).toBe(true);
    expect(breakEven(4096, 4096, 2048).compresses).toBe(false);
  });

  it('energy selection uses the full spectrum; randomized matches at the same rank; zero matrix', async () => {
    const { eng } = h;
    const [m, n] = [60, 45];
    const s = geo(45, 0.7);
    const { A } = withSpectrum(m, n, s, 7);
    const W = eng.matrix(A, m, n);
    const e = await lordFactorize(W, { energy: 0.95 });
    expect(e.rank).toBe(energyRank(s, 0.95));
    expect(e.energy).toBeGreaterThanOrEqual(0.95);
    expect(e.singularValues.length).toBe(45);
    const rz = await lordFactorize(W, { energy: 0.95 }, { svd: 'randomized', seed: 2 });
    expect(rz.rank).toBe(e.rank);
    expect(Math.abs(rz.relError - e.relError)).toBeLessThan(1e-3 * e.relError + 1e3 * h.u);
    const wf = await weloreFactorize(W, 4);
    expect(wf.rank).toBe(4);
    expect(Math.abs(wf.relError - tail(s, 4) / frob(A))).toBeLessThan(1e-3 * wf.relError);
    const Z = eng.zeros(5, 3);
    const z = await lordFactorize(Z, { energy: 0.9 });
    expect(z.rank).toBe(1);
    expect(z.relError).toBe(0);
    expect(await eng.norm(z.L, 'max')).toBe(0);
    disposeAll(W, e.L, e.R, rz.L, rz.R, wf.L, wf.R, Z, z.L, z.R);
  });

  it('data-aware variant: L = top eigenvectors of the output covariance, outputError exact', async () => {
    const { eng } = h;
    const [m, n, N] = [12, 20, 300];
    const Wh = hostRandn(m, n, 51);
    const Xh = hostRandn(N, n, 52).map((v, i) => v * (i % n < 3 ? 10 : 1)); // a few loud input channels
    const W = eng.matrix(Wh, m, n);
    const X = eng.matrix(Xh, N, n);
    const Y = await eng.matmul(X, W, { transB: true }); // N x m outputs
    const C = await eng.matmul(Y, Y, { transA: true, alpha: 1 / N });
    const r = 4;
    const res = await lordFactorize(W, { rank: r }, { outputCovariance: C });
    // direct: ||(W - L R) X^T||_F / ||W X^T||_F
    const LR = refMatmul(await host(res.L), m, r, await host(res.R), r, n);
    const D = Wh.map((v, i) => v - LR[i]);
    const direct = frob(refMatmul(D, m, n, Xh, N, n, false, true)) / frob(refMatmul(Wh, m, n, Xh, N, n, false, true));
    expect(res.outputError).toBeCloseTo(direct, h.dtype === 'f64' ? 8 : 3);
    // better in the output norm than plain LORD at the same rank
    const plain = await lordFactorize(W, { rank: r });
    const LRp = refMatmul(await host(plain.L), m, r, await host(plain.R), r, n);
    const plainOut =
      frob(
        refMatmul(
          Wh.map((v, i) => v - LRp[i]),
          m,
          n,
          Xh,
          N,
          n,
          false,
          true,
        ),
      ) / frob(refMatmul(Wh, m, n, Xh, N, n, false, true));
    expect(direct).toBeLessThan(plainOut);
    const full = await lordFactorize(W, { energy: 1 }, { outputCovariance: C });
    expect(full.rank).toBeLessThanOrEqual(m);
    expect(full.outputError ?? 1).toBeLessThan(1e-3);
    const C5 = eng.eye(5);
    await expect(lordFactorize(W, { rank: 2 }, { outputCovariance: C5 })).rejects.toThrow(/lordFactorize.*'outputCovariance'/);
    await expect(lordFactorize(W, { rank: 2 }, { outputCovariance: C, svd: 'randomized' })).rejects.toThrow(TypeError);
    disposeAll(W, X, Y, C, C5, res.L, res.R, plain.L, plain.R, full.L, full.R);
  });

  it('bad input names lordFactorize and the argument', async () => {
    const { eng } = h;
    const W = eng.matrix(hostRandn(6, 4, 1), 6, 4);
    const nan = await nanMat(eng, 6, 4);
    await expect(lordFactorize(nan, { rank: 2 })).rejects.toThrow(/lordFactorize.*'W'.*NaN/);
    await expect(lordFactorize(W, { rank: 0 })).rejects.toThrow(/lordFactorize.*'rank'/);
    await expect(lordFactorize(W, { rank: 5 })).rejects.toThrow(RangeError);
    await expect(lordFactorize(W, { rank: 1.5 })).rejects.toThrow(RangeError);
    await expect(lordFactorize(W, { energy: 0 })).rejects.toThrow(/lordFactorize.*'energy'/);
    await expect(lordFactorize(W, { energy: 1.1 })).rejects.toThrow(RangeError);
    await expect(lordFactorize(W, { rank: 2, energy: 0.5 } as unknown as { rank: number })).rejects.toThrow(TypeError);
    await expect(lordFactorize(W, { rank: 2 }, { svd: 'fast' as 'exact' })).rejects.toThrow(/lordFactorize.*'svd'/);
    await expect(lordFactorize({} as Mat, { rank: 2 })).rejects.toThrow(TypeError);
    await expect(weloreFactorize(W, 9)).rejects.toThrow(/weloreFactorize.*'rank'/);
    disposeAll(W, nan);
  });
});

describeEngines('svfitInit', (h) => {
  it('U diag(sigma) V^T + residual = W to roundoff; default energy 0.99; sigma gradient', async () => {
    const { eng } = h;
    for (const [m, n, seed] of [
      [30, 20, 1],
      [7, 31, 2],
      [1, 5, 3],
    ] as const) {
      const Wh = hostRandn(m, n, seed);
      const W = eng.matrix(Wh, m, n);
      const sv = await svfitInit(W);
      const { S } = await eng.svd(W).then((r) => {
        disposeAll(r.U, r.V);
        return r;
      });
      expect(sv.rank).toBe(energyRank(S, 0.99));
      expect(sv.energy).toBeGreaterThanOrEqual(0.99);
      const r = sv.rank;
      const US = refMatmul(
        await host(sv.U),
        m,
        r,
        Float64Array.from({ length: r * r }, (_, i) => (i % (r + 1) === 0 ? sv.sigma[i / (r + 1)] : 0)),
        r,
        r,
      );
      const P = refMatmul(US, m, r, await host(sv.V), n, r, false, true);
      const Rh = await host(sv.residual);
      const back = P.map((v, i) => v + Rh[i]);
      expect(diffMax(back, Wh)).toBeLessThan(20 * h.u * Math.max(...Wh.map(Math.abs)) * Math.sqrt(r + 1));
      const byRank = await svfitInit(W, { rank: 1 });
      expect(byRank.sigma.length).toBe(1);
      expect(byRank.sigma[0]).toBeCloseTo(S[0], h.dtype === 'f64' ? 10 : 4);
      disposeAll(W, sv.U, sv.V, sv.residual, byRank.U, byRank.V, byRank.residual);
    }
    // dL/dsigma_i = u_i^T G v_i
    const W = eng.matrix(hostRandn(9, 6, 4), 9, 6);
    const Gh = hostRandn(9, 6, 5);
    const G = eng.matrix(Gh, 9, 6);
    const sv = await svfitInit(W, { rank: 3 });
    const g = await svfitSigmaGrad(sv.U, G, sv.V);
    const Uh = await host(sv.U),
      Vh = await host(sv.V);
    for (let i = 0; i < 3; i++) {
      let ref = 0;
      for (let a = 0; a < 9; a++) for (let b = 0; b < 6; b++) ref += Uh[a * 3 + i] * Gh[a * 6 + b] * Vh[b * 3 + i];
      expect(g[i]).toBeCloseTo(ref, h.dtype === 'f64' ? 10 : 4);
    }
    await expect(svfitSigmaGrad(sv.V, G, sv.U)).rejects.toThrow(/svfitSigmaGrad.*shapes/);
    await expect(svfitInit(W, { rank: 7 })).rejects.toThrow(/svfitInit.*'rank'/);
    await expect(svfitInit(W, { energy: -1 })).rejects.toThrow(/svfitInit.*'energy'/);
    const nan = await nanMat(eng, 3, 3);
    await expect(svfitInit(nan)).rejects.toThrow(/svfitInit.*'W'/);
    disposeAll(W, G, sv.U, sv.V, sv.residual, nan);
  });
});

/** Nuclear norm through the engine's SVD. */
async function nuclear(eng: Engine, A: Host, m: number, n: number): Promise<number> {
  const M = eng.matrix(A, m, n);
  const { U, S, V } = await eng.svd(M);
  disposeAll(M, U, V);
  return S.reduce((a, v) => a + v, 0);
}

describeEngines('trpTruncate / nuclearSubgradient', (h) => {
  it('TRP acceptance: s_i = 1/i, n = 64, e = 0.9 gives k = 6 and the truncated matrix', async () => {
    const { eng } = h;
    const s = Array.from({ length: 64 }, (_, i) => 1 / (i + 1));
    const { A } = withSpectrum(64, 64, s, 9);
    const W = eng.matrix(A, 64, 64);
    const t = await trpTruncate(W, { energy: 0.9, subgradient: true });
    expect(t.rank).toBe(6);
    expect(t.energy).toBeGreaterThanOrEqual(0.9);
    const d = await eng.sub(W, t.W);
    expect(Math.abs((await eng.norm(d, 'fro')) - tail(s, 6))).toBeLessThan(1e-3 * tail(s, 6));
    // the subgradient U_6 V_6^T: <G, W> = sum_{i<=6} s_i, ||G||_F^2 = 6
    const G = t.subgradient as Mat;
    const ip = Array.from(await host(G)).reduce((a, v, i) => a + v * A[i], 0);
    expect(ip).toBeCloseTo(
      s.slice(0, 6).reduce((a, v) => a + v, 0),
      h.dtype === 'f64' ? 10 : 4,
    );
    expect((await eng.norm(G, 'fro')) ** 2).toBeCloseTo(6, h.dtype === 'f64' ? 10 : 4);
    const dflt = await trpTruncate(W);
    expect(dflt.rank).toBe(6);
    expect(dflt.subgradient).toBeUndefined();
    await expect(trpTruncate(W, { energy: 2 })).rejects.toThrow(/trpTruncate.*'energy'/);
    await expect(trpTruncate(W, { energy: 0.9, rank: 2 } as { energy: number })).rejects.toThrow(/trpTruncate.*unknown option/);
    disposeAll(W, t.W, d, G, dflt.W);
  });

  it('d||W||_*/dW = U V^T for full-rank W with distinct singular values (finite differences in f64)', async () => {
    const { eng } = h;
    for (const [m, n] of [
      [6, 4],
      [3, 8],
      [5, 5],
    ] as const) {
      const Wh = hostRandn(m, n, m * 10 + n);
      const W = eng.matrix(Wh, m, n);
      const G = await nuclearSubgradient(W);
      const Gh = await host(G);
      const E = hostRandn(m, n, 99);
      const dir = Gh.reduce((a, v, i) => a + v * E[i], 0);
      if (h.dtype === 'f64') {
        const step = 1e-5;
        const fp = await nuclear(
          eng,
          Wh.map((v, i) => v + step * E[i]),
          m,
          n,
        );
        const fm = await nuclear(
          eng,
          Wh.map((v, i) => v - step * E[i]),
          m,
          n,
        );
        expect(Math.abs((fp - fm) / (2 * step) - dir)).toBeLessThan(1e-7 * Math.max(1, Math.abs(dir)));
      }
      // <G, W> = ||W||_* and G has orthonormal rows or columns (all singular values 1)
      const ip = Gh.reduce((a, v, i) => a + v * Wh[i], 0);
      expect(ip).toBeCloseTo(await nuclear(eng, Wh, m, n), h.dtype === 'f64' ? 10 : 3);
      const k = Math.min(m, n);
      expect((await eng.norm(G, 'fro')) ** 2).toBeCloseTo(k, h.dtype === 'f64' ? 10 : 4);
      const G1 = await nuclearSubgradient(W, 1);
      expect(await eng.norm(G1, 'fro')).toBeCloseTo(1, h.dtype === 'f64' ? 10 : 4);
      disposeAll(W, G, G1);
    }
    const W = eng.matrix(hostRandn(4, 3, 1), 4, 3);
    await expect(nuclearSubgradient(W, 4)).rejects.toThrow(/nuclearSubgradient.*'k'/);
    await expect(nuclearSubgradient(W, 0)).rejects.toThrow(RangeError);
    W.dispose();
  });
});
