/**
 * Training adapters (issue 16, T2): LoRA-SB init (orthonormal B, A; ||dW - s B R A||_F = tau_{r+1};
 * R = Sigma_r / s), the LoRA-XS projected-gradient identity g~ = s^2 P_B G P_A, the first-update estimate,
 * SVFit's adapter (exact at init, dL/dsigma, update), RandLoRA's bases (528,384 parameters, the two
 * presets' scales, sparsity fractions, std 1, seeded reproducibility, dW = 0 at init, full rank).
 */
import { describe, expect, it } from 'vitest';
import {
  engine,
  loraSBFirstUpdate,
  loraSBInit,
  loraXS,
  randLoRABases,
  randLoRADelta,
  randLoRAPlan,
  svfitAdapter,
  type Mat,
} from '../../ts/index.js';
import {
  describeEngines,
  diffFrob,
  disposeAll,
  frob,
  hostRandn,
  orthDefect,
  refMatmul,
  transposeHost,
  withSpectrum,
  type Host,
} from '../helpers.js';
import { nanMat } from './model-fixtures.js';

const host = async (M: Mat): Promise<Host> => Float64Array.from(await M.toArray());
const tail = (s: ArrayLike<number>, r: number): number =>
  Math.sqrt(
    Array.from(s)
      .slice(r)
      .reduce((a, v) => a + v * v, 0),
  );
const geo = (k: number, q: number): Float64Array => Float64Array.from({ length: k }, (_, i) => q ** i);

describeEngines('loraSBInit / loraXS', (h) => {
  const orthTol = (): number => (h.dtype === 'f64' ? 1e-14 : 1e-5);

  for (const [m, n, r, s] of [
    [40, 24, 5, 1],
    [24, 40, 3, 2],
    [33, 33, 33, 0.5],
    [1, 1, 1, 1],
    [2, 7, 1, 1],
  ] as const) {
    it(`exact: ${m} x ${n}, r = ${r}, s = ${s}: B, A orthonormal, ||dW - sBRA|| / tau = 1, R = Sigma / s`, async () => {
      const { eng } = h;
      const k = Math.min(m, n);
      const sv = Float64Array.from(geo(k, 0.8), (v, i) => 3 * v + 0.01 * (k - i));
      const { A: dWh } = withSpectrum(m, n, sv, 11);
      const dW = eng.matrix(dWh, m, n);
      const res = await loraSBInit(dW, { rank: r, scale: s });
      try {
        expect(res.B.rows).toBe(m);
        expect(res.B.cols).toBe(r);
        expect(res.A.rows).toBe(r);
        expect(res.A.cols).toBe(n);
        expect(res.R.rows).toBe(r);
        expect(res.trainableParams).toBe(r * r);
        const B = await host(res.B),
          A = await host(res.A),
          R = await host(res.R);
        expect(orthDefect(B, m, r)).toBeLessThanOrEqual(orthTol());
        expect(orthDefect(transposeHost(A, r, n), n, r)).toBeLessThanOrEqual(orthTol());
        for (let i = 0; i < r; i++)
          for (let j = 0; j < r; j++) {
            const want = i === j ? sv[i] / s : 0;
            expect(Math.abs(R[i * r + j] - want)).toBeLessThanOrEqual((64 * h.u * sv[0]) / Math.abs(s) + (h.dtype === 'f32' ? 1e-6 : 0));
          }
        const approx = refMatmul(refMatmul(B, m, r, R, r, r), m, r, A, r, n).map((v) => v * s);
        const tau = tail(sv, r);
        const err = diffFrob(dWh, approx);
        if (tau > 0) expect(Math.abs(err / tau - 1)).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-9 : 2e-3);
        else expect(err).toBeLessThanOrEqual(100 * h.u * frob(dWh));
        expect(res.tail).not.toBeNull();
        expect(Math.abs((res.tail as number) - tau)).toBeLessThanOrEqual(100 * h.u * sv[0] * Math.sqrt(k));
      } finally {
        disposeAll(dW, res.B, res.R, res.A);
      }
    });
  }

  it('rank-deficient and zero dW: tail 0, s B R A = dW, B and A still orthonormal', async () => {
    const { eng } = h;
    const { A: lowh } = withSpectrum(15, 10, [4, 2], 6);
    for (const Wh of [lowh, new Float64Array(150)]) {
      const dW = eng.matrix(Wh, 15, 10);
      const res = await loraSBInit(dW, { rank: 4, scale: 2 });
      try {
        const B = await host(res.B),
          A = await host(res.A),
          R = await host(res.R);
        expect(orthDefect(B, 15, 4)).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-13 : 1e-5);
        expect(orthDefect(transposeHost(A, 4, 10), 10, 4)).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-13 : 1e-5);
        const approx = refMatmul(refMatmul(B, 15, 4, R, 4, 4), 15, 4, A, 4, 10).map((v) => 2 * v);
        expect(diffFrob(approx, Wh)).toBeLessThanOrEqual(64 * h.u * (frob(Wh) + 1e-300) * 10);
        expect(res.tail as number).toBeLessThanOrEqual(64 * h.u * frob(Wh) * 10);
      } finally {
        disposeAll(dW, res.B, res.R, res.A);
      }
    }
  });

  it('randomized (oversampled) init: orthonormal, near-optimal on a decaying spectrum; tail null', async () => {
    const { eng } = h;
    const m = 60,
      n = 45,
      r = 6;
    const sv = geo(45, 0.6);
    const { A: dWh } = withSpectrum(m, n, sv, 3);
    const dW = eng.matrix(dWh, m, n);
    const res = await loraSBInit(dW, { rank: r, svd: 'randomized', seed: 5 });
    try {
      expect(res.tail).toBeNull();
      const B = await host(res.B),
        A = await host(res.A),
        R = await host(res.R);
      expect(orthDefect(B, m, r)).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-13 : 1e-5);
      expect(orthDefect(transposeHost(A, r, n), n, r)).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-13 : 1e-5);
      const err = diffFrob(dWh, refMatmul(refMatmul(B, m, r, R, r, r), m, r, A, r, n));
      expect(err / tail(sv, r)).toBeLessThanOrEqual(1.001);
    } finally {
      disposeAll(dW, res.B, res.R, res.A);
    }
  });

  for (const s of [1, 2.5]) {
    it(`projected-gradient identity g~ = s B gR A = s^2 P_B G P_A (s = ${s})`, async () => {
      const { eng } = h;
      const m = 30,
        n = 20,
        r = 4;
      const dW = eng.matrix(hostRandn(m, n, 21), m, n);
      const Gh = hostRandn(m, n, 22);
      const G = eng.matrix(Gh, m, n);
      const init = await loraSBInit(dW, { rank: r, scale: s });
      const gR = await loraXS.gradR(init.B, G, init.A, { scale: s });
      const gt = await loraXS.effectiveUpdate(init.B, gR, init.A, { scale: s });
      try {
        expect([gR.rows, gR.cols]).toEqual([r, r]);
        expect([gt.rows, gt.cols]).toEqual([m, n]);
        const B = await host(init.B),
          A = await host(init.A);
        const PB = refMatmul(B, m, r, B, m, r, false, true);
        const PA = refMatmul(A, r, n, A, r, n, true, false);
        const want = refMatmul(refMatmul(PB, m, m, Gh, m, n), m, n, PA, n, n).map((v) => v * s * s);
        const got = await host(gt);
        expect(diffFrob(got, want)).toBeLessThanOrEqual((h.dtype === 'f64' ? 1e-13 : 1e-5) * s * s * frob(Gh));
        // g_R itself: s B^T G A^T
        const wantR = refMatmul(refMatmul(B, m, r, Gh, m, n, true), r, n, A, r, n, false, true).map((v) => v * s);
        expect(diffFrob(await host(gR), wantR)).toBeLessThanOrEqual((h.dtype === 'f64' ? 1e-13 : 1e-5) * s * frob(Gh));
        // a projection: applying it twice changes nothing (g~ already lies in the subspaces)
        // (with s = 1 the map is P_B . P_A)
        const gR2 = await loraXS.gradR(init.B, gt, init.A);
        const gt2 = await loraXS.effectiveUpdate(init.B, gR2, init.A);
        try {
          expect(diffFrob(await host(gt2), got)).toBeLessThanOrEqual((h.dtype === 'f64' ? 1e-13 : 1e-5) * s * s * frob(Gh));
        } finally {
          disposeAll(gR2, gt2);
        }
      } finally {
        disposeAll(dW, G, init.B, init.R, init.A, gR, gt);
      }
    });
  }

  it('the effective update of R at init is the rank-r truncation (s B R A)', async () => {
    const { eng } = h;
    const sv = Float64Array.from([5, 4, 3, 0.5, 0.25]);
    const { A: dWh } = withSpectrum(12, 9, sv, 4);
    const dW = eng.matrix(dWh, 12, 9);
    const init = await loraSBInit(dW, { rank: 3, scale: 3 });
    const P = await loraXS.effectiveUpdate(init.B, init.R, init.A, { scale: 3 });
    try {
      expect(Math.abs(diffFrob(await host(P), dWh) / tail(sv, 3) - 1)).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-10 : 1e-4);
    } finally {
      disposeAll(dW, init.B, init.R, init.A, P);
    }
  });

  it('loraSBFirstUpdate: -lr sign(sum g) for Adam, -lr sum g for SGD', async () => {
    const { eng } = h;
    const g1h = hostRandn(5, 4, 1),
      g2h = hostRandn(5, 4, 2);
    g1h[3] = 0;
    g2h[3] = 0; // a zero sum gives sign 0
    const g1 = eng.matrix(g1h, 5, 4),
      g2 = eng.matrix(g2h, 5, 4);
    const adam = await loraSBFirstUpdate([g1, g2], { lr: 0.01 });
    const sgd = await loraSBFirstUpdate([g1, g2], { lr: 0.5, optimizer: 'sgd' });
    const one = await loraSBFirstUpdate(g1, { lr: 2, optimizer: 'adam' });
    try {
      const sum = g1h.map((v, i) => v + g2h[i]);
      const a = await host(adam),
        s = await host(sgd),
        o = await host(one);
      for (let i = 0; i < 20; i++) {
        expect(a[i]).toBeCloseTo(-0.01 * Math.sign(sum[i]), 7);
        expect(Math.abs(s[i] + 0.5 * sum[i])).toBeLessThanOrEqual(8 * h.u * (Math.abs(g1h[i]) + Math.abs(g2h[i])) + 1e-12);
        expect(o[i]).toBeCloseTo(-2 * Math.sign(g1h[i]), 6);
      }
    } finally {
      disposeAll(g1, g2, adam, sgd, one);
    }
  });

  it('bad input names the function and the argument', async () => {
    const { eng } = h;
    const W = eng.randn(6, 4, { seed: 1 });
    const nan = await nanMat(eng, 3, 3);
    const G = eng.randn(6, 5, { seed: 2 });
    const init = await loraSBInit(W, { rank: 2 });
    try {
      await expect(loraSBInit(W, { rank: 0 })).rejects.toThrow(/loraSBInit.*'rank'/);
      await expect(loraSBInit(W, { rank: 5 })).rejects.toThrow(RangeError);
      await expect(loraSBInit(W, { rank: 1.5 })).rejects.toThrow(RangeError);
      await expect(loraSBInit(W, { rank: 2, scale: 0 })).rejects.toThrow(/loraSBInit.*'scale'/);
      await expect(loraSBInit(W, { rank: 2, scale: Number.NaN })).rejects.toThrow(/'scale'/);
      await expect(loraSBInit(W, { rank: 2, svd: 'qr' as 'exact' })).rejects.toThrow(/loraSBInit.*'svd'/);
      await expect(loraSBInit(W, { rank: 2, foo: 1 } as unknown as { rank: number })).rejects.toThrow(/unknown option 'foo'/);
      await expect(loraSBInit(W, undefined as unknown as { rank: number })).rejects.toThrow(TypeError);
      await expect(loraSBInit([1] as unknown as Mat, { rank: 1 })).rejects.toThrow(/loraSBInit.*'gradEstimate'/);
      await expect(loraSBInit(nan, { rank: 1 })).rejects.toThrow(/loraSBInit.*NaN/);
      await expect(loraXS.gradR(init.B, G, init.A)).rejects.toThrow(/loraXS\.gradR.*'G'/);
      await expect(loraXS.gradR(init.A, W, init.B)).rejects.toThrow(/loraXS\.gradR/);
      await expect(loraXS.gradR(init.B, W, init.A, { scale: 0 })).rejects.toThrow(/'scale'/);
      await expect(loraXS.effectiveUpdate(init.B, W, init.A)).rejects.toThrow(/loraXS\.effectiveUpdate.*'gR'/);
      await expect(loraXS.effectiveUpdate(init.B, init.R, 'x' as unknown as Mat)).rejects.toThrow(TypeError);
      await expect(loraSBFirstUpdate([], { lr: 1 })).rejects.toThrow(/loraSBFirstUpdate.*'grads'/);
      await expect(loraSBFirstUpdate([W, G], { lr: 1 })).rejects.toThrow(/loraSBFirstUpdate.*'grads\[1\]'/);
      await expect(loraSBFirstUpdate(W, { lr: 0 })).rejects.toThrow(/loraSBFirstUpdate.*'lr'/);
      await expect(loraSBFirstUpdate(W, { lr: 1, optimizer: 'lion' as 'adam' })).rejects.toThrow(/'optimizer'/);
    } finally {
      disposeAll(W, nan, G, init.B, init.R, init.A);
    }
  });
});

describeEngines('svfitAdapter', (h) => {
  it('weight() equals W at init, r trainable values, grad = u_i^T G v_i, update moves the weight by U diag(d) V^T', async () => {
    const { eng } = h;
    const m = 20,
      n = 14;
    const Wh = hostRandn(m, n, 31);
    const W = eng.matrix(Wh, m, n);
    const ad = await svfitAdapter(W, { rank: 5 });
    const Gh = hostRandn(m, n, 32);
    const G = eng.matrix(Gh, m, n);
    try {
      expect(ad.rank).toBe(5);
      expect(ad.trainableParams).toBe(5);
      const W0 = await ad.weight();
      expect(diffFrob(await host(W0), Wh)).toBeLessThanOrEqual(64 * h.u * Math.sqrt(m * n) * frob(Wh));
      W0.dispose();
      const U = await host(ad.U),
        V = await host(ad.V);
      const g = await ad.grad(G);
      const GV = refMatmul(Gh, m, n, V, n, 5);
      for (let i = 0; i < 5; i++) {
        let want = 0;
        for (let a = 0; a < m; a++) want += U[a * 5 + i] * GV[a * 5 + i];
        expect(Math.abs(g[i] - want)).toBeLessThanOrEqual(64 * h.u * Math.sqrt(m * n) * frob(Gh));
      }
      // L(W) = <G, W> is linear, so the step changes L by exactly <grad, delta>
      const delta = [0.1, -0.2, 0.3, 0, 0.05];
      const before = Float64Array.from(ad.sigma);
      ad.update(delta);
      for (let i = 0; i < 5; i++) expect(ad.sigma[i]).toBeCloseTo(before[i] + delta[i], 14);
      const W1 = await ad.weight();
      const w1 = await host(W1);
      W1.dispose();
      const dL = w1.reduce((acc, v, i) => acc + Gh[i] * (v - Wh[i]), 0);
      const pred = delta.reduce((acc, d, i) => acc + d * g[i], 0);
      expect(Math.abs(dL - pred)).toBeLessThanOrEqual(1e-3 * frob(Gh) + 256 * h.u * frob(Gh) * frob(Wh));
    } finally {
      ad.dispose();
      ad.dispose();
      disposeAll(W, G);
    }
  });

  it('energy selection (default 0.99) keeps the smallest rank reaching it; bad input', async () => {
    const { eng } = h;
    const sv = Float64Array.from([10, 1, 0.5, 0.1]);
    const { A: Wh } = withSpectrum(9, 6, sv, 8);
    const W = eng.matrix(Wh, 9, 6);
    const ad = await svfitAdapter(W);
    const G = eng.zeros(9, 5);
    try {
      // 100 / 101.26 = 0.9876 < 0.99; (100 + 1) / 101.26 = 0.9975
      expect(ad.rank).toBe(2);
      expect(ad.sigma.length).toBe(2);
      await expect(ad.grad(G)).rejects.toThrow(/SvfitAdapter\.grad.*'G'/);
      expect(() => ad.update([1])).toThrow(/SvfitAdapter\.update.*'delta'/);
      expect(() => ad.update([1, Number.NaN])).toThrow(/'delta\[1\]'/);
      await expect(svfitAdapter(W, { rank: 7 })).rejects.toThrow(/svfitAdapter.*'rank'/);
      await expect(svfitAdapter(W, { energy: 0 })).rejects.toThrow(/svfitAdapter.*'energy'/);
      await expect(svfitAdapter('W' as unknown as Mat)).rejects.toThrow(/svfitAdapter.*'W'/);
    } finally {
      ad.dispose();
      disposeAll(W, G);
    }
    await expect(ad.weight()).rejects.toThrow(/SvfitAdapter\.weight.*disposed/);
  });
});

describe('randLoRAPlan', () => {
  it('spec §10: 4096 x 4096, r = 32 gives N = 128 and 528,384 trainable parameters; the two presets scale apart by ~113x', () => {
    const p = randLoRAPlan({ inFeatures: 4096, outFeatures: 4096, rank: 32 });
    expect(p.bases).toBe(128);
    expect(p.trainableParams).toBe(528384);
    expect(p.alpha).toBe(64);
    expect(p.scale).toBeCloseTo(64 / 32 / Math.sqrt(128), 15);
    const q = randLoRAPlan({ inFeatures: 4096, outFeatures: 4096, rank: 32, preset: 'peft' });
    expect(q.alpha).toBe(640);
    expect(q.scale).toBe(20);
    expect(q.trainableParams).toBe(528384);
    expect(q.scale / p.scale).toBeCloseTo(10 * Math.sqrt(128), 10); // 113.1
    expect(randLoRAPlan({ inFeatures: 100, outFeatures: 30, rank: 8 }).bases).toBe(4); // ceil(30 / 8)
    expect(randLoRAPlan({ inFeatures: 100, outFeatures: 30, rank: 8 }).transposed).toBe(true);
    expect(randLoRAPlan({ inFeatures: 100, outFeatures: 30, sparsity: 'very_sparse' }).sparsityS).toBeCloseTo(Math.sqrt(30), 15);
    expect(randLoRAPlan({ inFeatures: 10, outFeatures: 30 }).rank).toBe(10); // default 32, capped at minDim
    expect(randLoRAPlan({ inFeatures: 64, outFeatures: 64, alpha: 8, rank: 8 }).scale).toBeCloseTo(8 / 8 / Math.sqrt(8), 15);
  });

  it('bad input names randLoRAPlan and the argument', () => {
    expect(() => randLoRAPlan({ inFeatures: 0, outFeatures: 3 })).toThrow(/randLoRAPlan.*'inFeatures'/);
    expect(() => randLoRAPlan({ inFeatures: 4, outFeatures: 3, rank: 4 })).toThrow(/randLoRAPlan.*'rank'/);
    expect(() => randLoRAPlan({ inFeatures: 4, outFeatures: 3, bases: 0 })).toThrow(/'bases'/);
    expect(() => randLoRAPlan({ inFeatures: 4, outFeatures: 3, sparsity: 'half' as 'dense' })).toThrow(/'sparsity'/);
    expect(() => randLoRAPlan({ inFeatures: 4, outFeatures: 3, preset: 'lora' as 'peft' })).toThrow(/'preset'/);
    expect(() => randLoRAPlan({ inFeatures: 4, outFeatures: 3, alpha: 0 })).toThrow(/'alpha'/);
    expect(() => randLoRAPlan({ inFeatures: 4, outFeatures: 3, seed: -1 })).toThrow(/'seed'/);
    expect(() => randLoRAPlan({ inFeatures: 4, outFeatures: 3, r: 2 } as unknown as { inFeatures: number; outFeatures: number })).toThrow(
      /unknown option 'r'/,
    );
    expect(() => randLoRAPlan(null as unknown as { inFeatures: number; outFeatures: number })).toThrow(TypeError);
  });
});

describeEngines('randLoRABases', (h) => {
  const stats = (x: Host): { mean: number; std: number; zeros: number } => {
    const n = x.length;
    const mean = x.reduce((a, v) => a + v, 0) / n;
    const std = Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
    return { mean, std, zeros: x.filter((v) => v === 0).length / n };
  };

  for (const sparsity of ['dense', 'sparse', 'very_sparse'] as const) {
    it(`${sparsity}: shapes, std 1 over each buffer, the zero fraction, seeded reproducibility`, async () => {
      const { eng } = h;
      const opts = { inFeatures: 48, outFeatures: 80, rank: 8, sparsity, seed: 9 };
      const b = randLoRABases(eng, opts);
      const c = randLoRABases(eng, opts);
      const d = randLoRABases(eng, { ...opts, seed: 10 });
      try {
        expect([b.A.rows, b.A.cols]).toEqual([8, 48]);
        expect([b.B.rows, b.B.cols]).toEqual([80, 6 * 8]);
        expect(b.bases).toBe(6);
        expect(b.transposed).toBe(false);
        expect(b.trainableParams).toBe(6 * 8 + 6 * 48);
        expect(b.gammaInit).toBe(1 / 80);
        const A = await host(b.A),
          B = await host(b.B);
        for (const x of [A, B]) {
          const st = stats(x);
          expect(Math.abs(st.std - 1)).toBeLessThanOrEqual(1e-6);
          const p0 = sparsity === 'dense' ? 0 : 1 - 1 / (b.sparsityS as number);
          const sd = Math.sqrt((p0 * (1 - p0)) / x.length);
          expect(Math.abs(st.zeros - p0)).toBeLessThanOrEqual(5 * sd + 1e-12);
          if (sparsity !== 'dense') expect(new Set(Array.from(x, (v) => Math.abs(v)).filter((v) => v !== 0)).size).toBe(1);
        }
        expect(diffFrob(A, await host(c.A))).toBe(0);
        expect(diffFrob(B, await host(c.B))).toBe(0);
        expect(diffFrob(B, await host(d.B))).toBeGreaterThan(1);
        // the same values on every backend: compare with a native f64 engine, up to the f32 cast
        const ref = await engine({ backend: 'native', dtype: 'f64' });
        try {
          const e = randLoRABases(ref, opts);
          expect(diffFrob(B, await host(e.B))).toBeLessThanOrEqual((h.dtype === 'f64' ? 0 : 2 ** -24) * frob(B));
          disposeAll(e.A, e.B);
        } finally {
          await ref.dispose();
        }
      } finally {
        disposeAll(b.A, b.B, c.A, c.B, d.A, d.B);
      }
    });
  }

  for (const [nin, nout] of [
    [12, 20],
    [20, 12],
  ] as const) {
    it(`randLoRADelta ${nout} x ${nin}: zero at init, full rank min(in, out) for generic lambda, gamma; equals the sum formula`, async () => {
      const { eng } = h;
      const b = randLoRABases(eng, { inFeatures: nin, outFeatures: nout, rank: 4, seed: 1 });
      const N = b.bases,
        r = 4,
        k = b.minDim,
        M = b.maxDim;
      expect(N).toBe(3);
      const z = await randLoRADelta(b, new Float64Array(N * r), new Float64Array(N * k).fill(b.gammaInit));
      const lam = hostRandn(1, N * r, 2),
        gam = hostRandn(1, N * k, 3);
      const D = await randLoRADelta(b, lam, gam);
      try {
        expect([z.rows, z.cols]).toEqual([nout, nin]);
        expect(frob(await host(z))).toBe(0);
        expect([D.rows, D.cols]).toEqual([nout, nin]);
        const sv = await eng.svdvals(D);
        expect(sv[k - 1] / sv[0]).toBeGreaterThan(1e-4);
        // host formula s sum_j B_j diag(lambda_j) A diag(gamma_j) (maxDim x minDim)
        const A = await host(b.A),
          B = await host(b.B);
        const want = new Float64Array(M * k);
        for (let j = 0; j < N; j++)
          for (let i = 0; i < r; i++)
            for (let a = 0; a < M; a++)
              for (let c = 0; c < k; c++)
                want[a * k + c] += b.scale * B[a * N * r + j * r + i] * lam[j * r + i] * A[i * k + c] * gam[j * k + c];
        const got = await host(D);
        const w = b.transposed ? transposeHost(want, M, k) : want;
        expect(diffFrob(got, w)).toBeLessThanOrEqual(64 * h.u * Math.sqrt(N * r) * frob(w));
      } finally {
        disposeAll(b.A, b.B, z, D);
      }
    });
  }

  it('bad input names the function and the argument', async () => {
    const { eng } = h;
    expect(() => randLoRABases(eng, { inFeatures: 4, outFeatures: 0 })).toThrow(/randLoRABases.*'outFeatures'/);
    expect(() => randLoRABases({} as typeof eng, { inFeatures: 4, outFeatures: 4 })).toThrow(/randLoRABases.*'eng'/);
    expect(() => randLoRABases(eng, { inFeatures: 4, outFeatures: 4, sparsity: 'x' as 'dense' })).toThrow(/randLoRABases.*'sparsity'/);
    const b = randLoRABases(eng, { inFeatures: 4, outFeatures: 6, rank: 2 });
    try {
      await expect(randLoRADelta(b, [1], new Float64Array(8))).rejects.toThrow(/randLoRADelta.*'lambda'/);
      await expect(randLoRADelta(b, new Float64Array(4), new Float64Array(7))).rejects.toThrow(/randLoRADelta.*'gamma'/);
      await expect(randLoRADelta(b, [1, 2, Number.NaN, 0], new Float64Array(8))).rejects.toThrow(/'lambda\[2\]'/);
      await expect(randLoRADelta(null as unknown as typeof b, [], [])).rejects.toThrow(/randLoRADelta.*'bases'/);
    } finally {
      disposeAll(b.A, b.B);
    }
  });
});
