/**
 * l_p sensitivity sampling against spec completion-subgm-sampling.md part C: Lewis weights (fixed point,
 * sum = rank), leverage scores, sensitivity bounds vs exact sensitivities, the C.7 distortion protocol on
 * a heavy-tailed matrix with outlier rows (Lewis vs uniform), coreset regression, and IRLS against exact
 * l_1 optima (weighted median; vertex enumeration).
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  engine,
  embeddingDistortion,
  keepProbabilities,
  leverageScores,
  lewisWeights,
  lpRegression,
  lpSensitivities,
  sensitivitySample,
  type Engine,
} from '../../ts/index.js';
import { PhiloxRng } from '../../ts/rng/philox.js';
import { describeEngines } from '../helpers.js';

/** Spec C.7 'heavy': rows N(0, I_d) scaled by (Pareto(1.5) + 1), the first 20 rows times 50; b = A x0 + Cauchy. */
function heavy(n: number, d: number, seed: number): { A: Float64Array; b: Float64Array; Ab: Float64Array } {
  const rng = new PhiloxRng(seed, 5);
  const A = new Float64Array(n * d),
    b = new Float64Array(n),
    Ab = new Float64Array(n * (d + 1));
  const x0 = Float64Array.from({ length: d }, () => rng.normal());
  for (let i = 0; i < n; i++) {
    const s = (1 - rng.next()) ** (-1 / 1.5) * (i < 20 ? 50 : 1);
    let y = 0;
    for (let j = 0; j < d; j++) {
      A[i * d + j] = s * rng.normal();
      y += A[i * d + j] * x0[j];
    }
    b[i] = y + Math.tan(Math.PI * (rng.next() - 0.5));
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) Ab[i * (d + 1) + j] = A[i * d + j];
    Ab[i * (d + 1) + d] = b[i];
  }
  return { A, b, Ab };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const sum = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0);

let refEng: Engine | undefined;
/** One native f64 engine per test file (the reference the other configurations are compared with). */
async function referenceEngine(): Promise<Engine> {
  refEng ??= await engine({ backend: 'native', dtype: 'f64' });
  return refEng;
}
afterAll(async () => {
  await refEng?.dispose();
});

describeEngines('sampling', (h) => {
  const f64 = () => h.dtype === 'f64';

  it('Lewis weights: fixed point, sum = rank, zero rows 0, p = 2 gives leverage scores', async () => {
    const { eng } = h;
    const n = 600,
      d = 6;
    const { A } = heavy(n, d, 3);
    A.fill(0, 7 * d, 8 * d); // a zero row
    const M = eng.matrix(A, n, d);
    for (const p of [0.5, 1, 1.5, 3]) {
      const r = await lewisWeights(M, { p, details: true });
      expect(r.weights[7]).toBe(0);
      expect(r.rank).toBe(d);
      expect(Math.abs(sum(r.weights) - d)).toBeLessThanOrEqual(f64() ? 1e-9 : 2e-4);
      expect(r.residual, `p = ${p}`).toBeLessThanOrEqual(f64() ? 1e-8 : 2e-3);
      if (f64()) expect(r.converged).toBe(true);
      if (p === 1 && f64()) expect(r.iterations).toBeLessThan(40);
      expect(r.method).toBe('cohen-peng');
      expect(r.warnings.length).toBe(p < 1 ? 1 : 0);
      for (const w of r.weights) expect(w >= 0 && w <= 1 + 1e-6).toBe(true);
    }
    const tau = await leverageScores(M);
    const w2 = await lewisWeights(M, { p: 2 });
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(w2[i] - tau[i]));
    expect(worst).toBeLessThan(f64() ? 1e-12 : 1e-5);
    expect(Math.abs(sum(tau) - d)).toBeLessThan(f64() ? 1e-10 : 1e-4);
    // p >= 4: damped heuristic, residual reported
    const r6 = await lewisWeights(M, { p: 6, details: true });
    expect(r6.method).toBe('damped');
    expect(r6.residual).toBeLessThan(f64() ? 1e-6 : 1e-2);
    M.dispose();
  });

  it('rank-deficient A: leverage and Lewis weights sum to the rank', async () => {
    const { eng } = h;
    const n = 300,
      d = 5;
    const { A } = heavy(n, d, 4);
    for (let i = 0; i < n; i++) A[i * d + 4] = A[i * d + 0] - 2 * A[i * d + 1]; // column 4 dependent
    const M = eng.matrix(A, n, d);
    expect(Math.abs(sum(await leverageScores(M)) - 4)).toBeLessThan(f64() ? 1e-9 : 1e-3);
    const r = await lewisWeights(M, { p: 1, details: true });
    expect(r.rank).toBe(4);
    expect(Math.abs(sum(r.weights) - 4)).toBeLessThan(f64() ? 1e-8 : 2e-3);
    M.dispose();
  });

  it('sensitivity bounds dominate the exact l_1 sensitivities (n = 60, d = 3)', async () => {
    const { eng } = h;
    const n = 60,
      d = 3;
    const { A } = heavy(n, d, 8);
    const M = eng.matrix(A, n, d);
    const exact = await lpSensitivities(M, { p: 1, method: 'exact' });
    const lewis = await lpSensitivities(M, { p: 1 });
    const lev = await lpSensitivities(M, { p: 1, method: 'leverage-bound' });
    const tol = f64() ? 1e-9 : 1e-4;
    for (let i = 0; i < n; i++) {
      expect(exact[i] > 0 && exact[i] <= 1).toBe(true);
      expect(exact[i]).toBeLessThanOrEqual(lewis[i] + tol);
      expect(exact[i]).toBeLessThanOrEqual(lev[i] + tol);
    }
    expect(sum(exact)).toBeLessThanOrEqual(d + 1e-9); // S <= d for p <= 2
    // the outlier rows (the first 20, scaled by 50) carry most of the total sensitivity
    expect(sum(exact.subarray(0, 20)) / 20).toBeGreaterThan(3 * (sum(exact.subarray(20)) / (n - 20)));
    M.dispose();
  });

  it('scores agree with the f64 reference and give the same sample for the same seed', async () => {
    const { eng } = h;
    const n = 4000,
      d = 10;
    const { Ab } = heavy(n, d, 0);
    const M = eng.matrix(Ab, n, d + 1);
    const ref = await referenceEngine();
    const R = ref.matrix(Ab, n, d + 1);
    const w = await lewisWeights(M, { p: 1 }),
      wr = await lewisWeights(R, { p: 1 });
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(w[i] - wr[i]) / wr[i]);
    expect(worst).toBeLessThan(f64() ? 1e-9 : 2e-3);
    const s = await sensitivitySample(M, { p: 1, size: 400, seed: 5 }),
      sr = await sensitivitySample(R, { p: 1, size: 400, seed: 5 });
    const set = new Set(Array.from(sr.indices));
    const common = Array.from(s.indices).filter((i) => set.has(i)).length;
    expect(common / sr.indices.length).toBeGreaterThan(0.98);
    M.dispose();
    R.dispose();
  });

  it('IRLS for p = 1 reaches exact l_1 optima (weighted median, vertex enumeration); p = 1.5 and 3 are stationary', async () => {
    const { eng } = h;
    // d = 1: min sum |a_i x - b_i| is the weighted median of b_i / a_i with weights |a_i|
    const rng = new PhiloxRng(77, 1);
    const n1 = 41;
    const a = Float64Array.from({ length: n1 }, () => rng.normal() * 2 + 0.1);
    const b = Float64Array.from({ length: n1 }, () => rng.normal() * 3);
    const ratios = Array.from(a, (ai, i) => ({ r: b[i] / ai, w: Math.abs(ai) })).sort((x, y) => x.r - y.r);
    const half = ratios.reduce((s, t) => s + t.w, 0) / 2;
    let acc = 0,
      xm = 0;
    for (const t of ratios) {
      acc += t.w;
      if (acc >= half) {
        xm = t.r;
        break;
      }
    }
    const obj1 = (x: number) => Array.from(a).reduce((s, ai, i) => s + Math.abs(ai * x - b[i]), 0);
    const M1 = eng.matrix(a, n1, 1);
    const r1 = await lpRegression(M1, b, { p: 1 });
    M1.dispose();
    const rel = f64() ? 1e-10 : 2e-5;
    expect(r1.objective / obj1(xm) - 1).toBeLessThan(rel);
    // d = 2: an l_1 optimum sits at a vertex where 2 residuals vanish; enumerate all pairs
    const n2 = 30;
    const A2 = Float64Array.from({ length: 2 * n2 }, () => rng.normal());
    const b2 = Float64Array.from({ length: n2 }, (_, i) => A2[2 * i] * 1.5 - A2[2 * i + 1] * 0.5 + Math.tan(Math.PI * (rng.next() - 0.5)));
    let best = Infinity;
    for (let i = 0; i < n2; i++)
      for (let j = i + 1; j < n2; j++) {
        const det = A2[2 * i] * A2[2 * j + 1] - A2[2 * i + 1] * A2[2 * j];
        if (Math.abs(det) < 1e-12) continue;
        const x0 = (b2[i] * A2[2 * j + 1] - A2[2 * i + 1] * b2[j]) / det;
        const x1 = (A2[2 * i] * b2[j] - b2[i] * A2[2 * j]) / det;
        let s = 0;
        for (let t = 0; t < n2; t++) s += Math.abs(A2[2 * t] * x0 + A2[2 * t + 1] * x1 - b2[t]);
        best = Math.min(best, s);
      }
    const M2 = eng.matrix(A2, n2, 2);
    const r2 = await lpRegression(M2, b2, { p: 1 });
    expect(r2.objective / best - 1).toBeLessThan(rel);
    expect(r2.objective / best - 1).toBeGreaterThan(-1e-9); // nothing beats the LP optimum
    // p = 1.5 and p = 3: the gradient A^T (sign(r) |r|^(p-1)) vanishes at the answer
    for (const p of [1.5, 3]) {
      const r = await lpRegression(M2, b2, { p });
      const g = [0, 0];
      let scale = 0;
      for (let t = 0; t < n2; t++) {
        const res = A2[2 * t] * r.x[0] + A2[2 * t + 1] * r.x[1] - b2[t];
        const w = Math.sign(res) * Math.abs(res) ** (p - 1);
        g[0] += w * A2[2 * t];
        g[1] += w * A2[2 * t + 1];
        scale += Math.abs(w) * (Math.abs(A2[2 * t]) + Math.abs(A2[2 * t + 1]));
      }
      expect(Math.hypot(g[0], g[1]) / scale, `p = ${p}`).toBeLessThan(f64() ? 1e-8 : 1e-3);
    }
    M2.dispose();
  });

  it('sampling rules: m >= n keeps everything, zero rows never sampled, dominant row kept with weight 1', async () => {
    const { eng } = h;
    const n = 200,
      d = 3;
    const { A } = heavy(n, d, 9);
    A.fill(0, 0, d); // row 0 is zero
    for (let j = 0; j < d; j++) A[5 * d + j] *= 1e4; // row 5 dominates
    const M = eng.matrix(A, n, d);
    const all = await sensitivitySample(M, { p: 1, size: 500 });
    expect(all.indices.length).toBe(n - 1);
    expect(Array.from(all.weights).every((w) => w === 1)).toBe(true);
    const s = await sensitivitySample(M, { p: 1, size: 20, seed: 4 });
    expect(Array.from(s.indices)).not.toContain(0);
    const k5 = Array.from(s.indices).indexOf(5);
    expect(k5).toBeGreaterThanOrEqual(0);
    expect(s.weights[k5]).toBeCloseTo(1, 6);
    // same seed, same sample; another seed, another one
    const again = await sensitivitySample(M, { p: 1, size: 20, seed: 4 });
    expect(Array.from(again.indices)).toEqual(Array.from(s.indices));
    for (const scores of ['sensitivity', 'root-leverage', 'leverage', 'uniform'] as const) {
      const t = await sensitivitySample(M, { p: 1, size: 50, scores, seed: 1 });
      expect(Array.from(t.indices)).not.toContain(0);
      expect(Math.abs(t.expectedSize - 50)).toBeLessThan(1e-6);
    }
    const w = await sensitivitySample(M, { p: 0.5, size: 20 });
    expect(w.warnings[0]).toMatch(/guarantees/);
    M.dispose();
  });

  it('bad input gets clear errors', async () => {
    const { eng } = h;
    const M = eng.randn(30, 3, { seed: 1 });
    for (const p of [0, -1, Infinity, NaN]) await expect(lewisWeights(M, { p })).rejects.toThrow(/'p'/);
    await expect(lewisWeights(M, {} as never)).rejects.toThrow(/'p' is required/);
    await expect(lewisWeights(M, { p: 1, tole: 1 } as never)).rejects.toThrow(/unknown option 'tole'/);
    await expect(lewisWeights([[1]] as never, { p: 1 })).rejects.toThrow(TypeError);
    await expect(sensitivitySample(M, { p: 1 } as never)).rejects.toThrow(/'size' is required/);
    await expect(sensitivitySample(M, { p: 1, size: 0 })).rejects.toThrow(/'size'/);
    await expect(sensitivitySample(M, { p: 1, size: 5, scores: 'random' as never })).rejects.toThrow(/'scores'/);
    await expect(lpRegression(M, new Float64Array(29), { p: 1 })).rejects.toThrow(/'b' has length 29; expected 30/);
    await expect(lpRegression(M, new Float64Array(30).fill(NaN), { p: 1 })).rejects.toThrow(/not finite/);
    await expect(lpRegression(M, new Float64Array(30), { p: 0.5 })).rejects.toThrow(/'p' = 0.5 must be >= 1/);
    await expect(lpSensitivities(M, { p: 0.5, method: 'exact' })).rejects.toThrow(/p >= 1/);
    await expect(embeddingDistortion(M, { indices: [0, 40], weights: [1, 1] }, { p: 1 })).rejects.toThrow(/indices\[1\] = 40/);
    await expect(embeddingDistortion(M, { indices: [0], weights: [1, 2] }, { p: 1 })).rejects.toThrow(/differ in length/);
    const Z = eng.zeros(10, 2);
    await expect(sensitivitySample(Z, { p: 1, size: 3 })).rejects.toThrow(/no row was sampled/);
    M.dispose();
    Z.dispose();
  });
});

describe('sampling protocol', () => {
  it('C.7 (native/f64 reference): Lewis sampling embeds [A, b] (n = 4000, d = 11, p = 1); uniform sampling does not', async () => {
    const eng = await referenceEngine();
    const n = 4000,
      d = 10;
    const { A, b, Ab } = heavy(n, d, 0);
    const M = eng.matrix(Ab, n, d + 1);
    // The local refinement (20 x 300 passes over A on the host) only raises D. Upper bounds on D are
    // therefore asserted on refined values; the quantities bounded from below (the uniform negative
    // control, and lewis100 in lewis400 < lewis100) use the unrefined D <= refined D, which makes
    // those assertions stronger and saves half the host time of this test.
    const dist = async (size: number, scores: 'lewis' | 'uniform', seed: number, refine: boolean) => {
      const s = await sensitivitySample(M, { p: 1, size, scores, seed });
      expect(Math.abs(s.expectedSize - size)).toBeLessThan(1e-6 * size + 1e-9);
      return (await embeddingDistortion(M, s, { p: 1, trials: 1000, seed, refine })).distortion;
    };
    const seeds = [1, 2, 3];
    const lewis100 = median(await Promise.all(seeds.map((s) => dist(100, 'lewis', s, false))));
    const lewis400 = median(await Promise.all(seeds.map((s) => dist(400, 'lewis', s, true))));
    const lewis1600 = median(await Promise.all(seeds.map((s) => dist(1600, 'lewis', s, true))));
    const uni400 = median(await Promise.all(seeds.map((s) => dist(400, 'uniform', s, false))));
    expect(lewis400).toBeLessThanOrEqual(0.3);
    expect(lewis1600).toBeLessThanOrEqual(0.1);
    expect(lewis1600).toBeLessThan(lewis400);
    expect(lewis400).toBeLessThan(lewis100);
    expect(uni400).toBeGreaterThanOrEqual(0.8); // negative control
    // coreset regression: excess objective over the full IRLS optimum
    const Am = eng.matrix(A, n, d);
    const full = await lpRegression(Am, b, { p: 1 });
    const ex: number[] = [];
    for (const seed of seeds) {
      const c = await lpRegression(Am, b, { p: 1, coreset: { size: 400 }, seed });
      expect(c.coreset!.indices.length).toBeGreaterThan(300);
      ex.push(c.objective / full.objective - 1);
    }
    expect(median(ex)).toBeLessThanOrEqual(5e-3);
    expect(Math.min(...ex)).toBeGreaterThan(-1e-6 * 1); // the full solution is optimal
    Am.dispose();
    M.dispose();
  });
});

describe('keepProbabilities', () => {
  it('caps at 1 and redistributes the saturated mass', () => {
    const q = keepProbabilities([100, 1, 1, 1, 1], 3);
    expect(q[0]).toBe(1);
    expect(q.slice(1).every((v) => Math.abs(v - 0.5) < 1e-12)).toBe(true);
    expect(sum(q)).toBeCloseTo(3, 12);
  });
});
