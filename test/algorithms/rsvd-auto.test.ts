/**
 * rsvd with powerIters 'auto' (the default, issue 14): block Krylov (or subspace iteration) with the
 * a-posteriori stopping rule on the Ritz values; info.stop; explicit counts and presets unchanged.
 */
import { describe, expect, it } from 'vitest';
import { stopEstimate } from '../../ts/algorithms/rsvd/rsvd.js';
import { rsvd, svdError, type Mat } from '../../ts/index.js';
import { describeEngines, disposeAll, orthDefect } from '../helpers.js';
import { spectra, spectrumMatrix, tailFro } from './fixtures.js';

function maxRelErr(S: Float64Array, s: Float64Array, k: number): number {
  let e = 0;
  for (let i = 0; i < k; i++) e = Math.max(e, Math.abs(S[i] - s[i]) / s[i]);
  return e;
}

describe('stopEstimate', () => {
  it('geometric extrapolation of the Ritz-value changes, roundoff floor, no rate yet or no decay', () => {
    expect(stopEstimate(1e-2, NaN, 1e-6)).toBe(Infinity); // first change: no rate yet
    expect(stopEstimate(1e-7, NaN, 1e-6)).toBe(1e-7); // at roundoff level
    expect(stopEstimate(1e-2, 1e-1, 1e-6)).toBeCloseTo((1e-2 * 0.1) / 0.9, 15); // rho = 0.1
    expect(stopEstimate(1e-2, 1e-2, 1e-6)).toBe(Infinity); // rho = 1: no decay
    expect(stopEstimate(2e-2, 1e-2, 1e-6)).toBe(Infinity);
    // a falling rate (0.2 then 0.1: faster than geometric) is extrapolated one step: rho = 0.1^2 / 0.2
    expect(stopEstimate(1e-3, 1e-2, 1e-9, 5e-2)).toBeCloseTo((1e-3 * 0.05) / 0.95, 15);
    // a rising rate keeps the current one
    expect(stopEstimate(5e-3, 1e-2, 1e-9, 5e-2)).toBeCloseTo((5e-3 * 0.5) / 0.5, 15);
  });
});

describeEngines('rsvd powerIters auto', (h) => {
  const m = 600,
    n = 300,
    k = 10;
  const u = h.dtype === 'f64' ? 2 ** -53 : 2 ** -24;
  const load = async (s: Float64Array, seed: number): Promise<Mat> => h.eng.matrix(await spectrumMatrix(m, n, s, seed), m, n);

  it('stops early on a fast-decaying spectrum (0.5^i) and reports the rule in info.stop', async () => {
    const s = spectra.exponential(n, 0.5);
    const A = await load(s, 4);
    const { U, S, V, info } = await rsvd(A, { rank: k, seed: 1 });
    const st = info.stop!;
    expect(info.method).toBe('krylov');
    expect(st.rule).toBe('ritz-extrapolated');
    expect(st.reason).toBe('converged');
    expect(st.cap).toBe(7); // sklearn's count for k < 0.1 min(m, n)
    expect(st.iters).toBeLessThanOrEqual(2);
    expect(info.powerIters).toBe(st.iters);
    expect(info.passes).toBe(2 * st.iters + 2);
    expect(st.passes).toBe(info.passes);
    expect(info.matvecs).toBe(info.passes * (k + 10));
    expect(st.changes.length).toBe(st.iters);
    // s_1 / s_k = 512: u (s_1 / s_k)^2 is above tol / 64 in f32 (Ritz values from QR), far below in f64 (Gram)
    expect(st.values).toBe(h.dtype === 'f64' ? 'gram' : 'qr');
    expect(st.tolerance).toBe(1e-3);
    expect(st.estimate).toBeLessThanOrEqual(st.tolerance);
    // s_1 / s_k = 512: the values to a few hundred ulps of s_1
    expect(maxRelErr(S, s, k)).toBeLessThanOrEqual(2048 * 512 * u);
    const e = await svdError(A, { U, S, V }, { tail: s });
    // optimal up to the rounding of the factors: u ||A||_F relative to tau_{k+1} (about 1e-3 here)
    expect(e.frobeniusRatio!).toBeLessThanOrEqual(1 + (64 * u * tailFro(s, 0)) / tailFro(s, k));
    disposeAll(A, U, V);
  });

  it('runs to the cap on a flat spectrum (subspace: the values creep with no decay rate) = fixed q = 7', async () => {
    const s = Float64Array.from({ length: n }, (_, i) => 1 - 1e-4 * i);
    const A = await load(s, 5);
    const a = await rsvd(A, { rank: k, method: 'subspace', seed: 2 });
    const st = a.info.stop!;
    expect(st.reason).toBe('cap');
    expect(st.iters).toBe(7);
    expect(a.info.passes).toBe(16);
    expect(st.estimate).toBeGreaterThan(st.tolerance);
    // the same iteration as powerIters: 7 (normalizer 'qr'), up to the refined values' rounding
    const b = await rsvd(A, { rank: k, powerIters: 7, seed: 2 });
    expect(b.info.stop).toBeUndefined();
    for (let i = 0; i < k; i++) expect(Math.abs(a.S[i] - b.S[i])).toBeLessThanOrEqual(256 * u * s[0]);
    // block Krylov with a tolerance below what the spectrum allows also stops at the cap
    const c = await rsvd(A, { rank: k, tol: 1e-14, seed: 2 });
    expect(c.info.stop!.reason).toBe('cap');
    expect(c.info.passes).toBe(16);
    disposeAll(A, a.U, a.V, b.U, b.V, c.U, c.V);
  });

  it('gapless spectrum: at least as accurate as subspace iteration of the same depth and seed, within tol', async () => {
    const s = Float64Array.from({ length: 150 }, (_, i) => 1 / Math.sqrt(1 + i));
    const kk = 20;
    const A = await load(s, 6);
    const auto = await rsvd(A, { rank: kk, seed: 3 });
    const t = auto.info.powerIters;
    expect(auto.info.stop!.reason).toBe('converged');
    expect(auto.info.stop!.values).toBe('gram'); // s_1 / s_k = sqrt(20): the Gram resolves the top k
    expect(auto.info.passes).toBeLessThan(16); // fewer passes than sklearn's fixed 7 iterations
    // Krylov space of depth t contains the subspace iterate of q = t from the same test matrix:
    // every Ritz value at least as large (up to rounding), and so the Frobenius error no larger.
    const fixed = await rsvd(A, { rank: kk, seed: 3, powerIters: t });
    for (let i = 0; i < kk; i++) expect(auto.S[i]).toBeGreaterThanOrEqual(fixed.S[i] - 64 * u * s[0]);
    const ea = await svdError(A, auto, { tail: s });
    const ef = await svdError(A, fixed, { tail: s });
    expect(ea.frobeniusRatio!).toBeLessThanOrEqual(ef.frobeniusRatio! + 1e-6);
    expect(maxRelErr(auto.S, s, kk)).toBeLessThanOrEqual(auto.info.stop!.tolerance);
    expect(maxRelErr(auto.S, s, kk)).toBeLessThanOrEqual(maxRelErr(fixed.S, s, kk));
    // s_1 / s_k <= 16: the vectors come from the Gram's eigenvectors, orthonormal to roundoff all the same
    for (const [M, rows] of [
      [auto.U, m],
      [auto.V, n],
    ] as const)
      expect(orthDefect(await M.toArray(), rows, kk)).toBeLessThanOrEqual(64 * Math.sqrt(rows) * u);
    disposeAll(A, auto.U, auto.V, fixed.U, fixed.V);
  });

  it('Ritz values from the Gram or from QR: rank below the rank asked for, and a basis wider than the rank', async () => {
    // rank 6 < k = 10: the k-th Ritz value is roundoff, which only the QR route measures to u s_1
    const s6 = spectra.lowRank(6);
    const A6 = await load(s6, 8);
    const a = await rsvd(A6, { rank: k, seed: 4 });
    expect(a.info.stop!.values).toBe('qr');
    expect(a.info.stop!.reason).toBe('converged');
    expect(a.info.passes).toBeLessThanOrEqual(6);
    for (let i = 0; i < 6; i++) expect(Math.abs(a.S[i] - s6[i])).toBeLessThanOrEqual(256 * u * s6[0]);
    for (let i = 6; i < k; i++) expect(a.S[i]).toBeLessThanOrEqual(256 * u * s6[0]);
    // rank 15 >= k = 10 but < l = 20, s_1 / s_10 = 30: the top k are resolved by the Gram (tol 0.05 lets
    // f32 take that route too) but too spread for its eigenvectors (s_10 < s_1 / 16), and W = A^T K holds
    // roundoff columns, so the final factorization of W falls back from CholeskyQR2 to Householder
    const s15 = Float64Array.from({ length: 15 }, (_, i) => 30 ** (-i / 9));
    const A15 = await load(s15, 9);
    const b = await rsvd(A15, { rank: k, seed: 5, tol: 0.05 });
    expect(b.info.stop!.values).toBe('gram');
    expect(maxRelErr(b.S, s15, k)).toBeLessThanOrEqual(256 * u * (s15[0] / s15[k - 1]));
    for (const [M, rows] of [
      [b.U, m],
      [b.V, n],
    ] as const)
      expect(orthDefect(await M.toArray(), rows, k)).toBeLessThanOrEqual(64 * Math.sqrt(rows) * u);
    const e = await svdError(A15, b, { tail: s15 });
    expect(e.frobeniusRatio!).toBeLessThanOrEqual(1 + (64 * u * tailFro(s15, 0)) / tailFro(s15, k));
    // s_1 / s_k = 15 (just inside the Gram eigenvector route): V = W Vr_k / theta alone would be
    // orthonormal only to ~u (s_1 / s_k)^2; the CholeskyQR pass on V brings it to roundoff
    const s30 = Float64Array.from({ length: 30 }, (_, i) => (i < k ? 15 ** (-i / (k - 1)) : 0.02 / (1 + i)));
    const A30 = await load(s30, 10);
    const c = await rsvd(A30, { rank: k, seed: 6 });
    expect(c.info.stop!.values).toBe('gram');
    expect(orthDefect(await c.V.toArray(), n, k)).toBeLessThanOrEqual(4 * Math.sqrt(n) * u);
    expect(maxRelErr(c.S, s30, k)).toBeLessThanOrEqual(c.info.stop!.tolerance);
    disposeAll(A6, a.U, a.V, A15, b.U, b.V, A30, c.U, c.V);
  });

  it("explicit counts and presets keep their fixed iterations (no info.stop); bad 'tol' is refused", async () => {
    const A = await load(spectra.harmonic(n), 7);
    const sk = await rsvd(A, { rank: k, preset: 'sklearn', seed: 1 });
    expect(sk.info.stop).toBeUndefined();
    expect(sk.info.powerIters).toBe(7);
    const q3 = await rsvd(A, { rank: k, powerIters: 3, seed: 1 });
    expect(q3.info.stop).toBeUndefined();
    expect(q3.info.method).toBe('subspace');
    expect(q3.info.passes).toBe(8);
    for (const tol of [0, 1, -1e-3, Infinity]) await expect(rsvd(A, { rank: k, tol })).rejects.toThrow(/rsvd.*'tol'/);
    for (const tol of [NaN, '1e-3'] as unknown[]) await expect(rsvd(A, { rank: k, tol: tol as number })).rejects.toThrow(TypeError);
    disposeAll(A, sk.U, sk.V, q3.U, q3.V);
  });
});
