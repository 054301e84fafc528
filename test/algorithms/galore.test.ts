/**
 * GaLoreProjector / GaLoreAdamW (spec rsvd-and-higher-level.md §2, higher-level-verified.md §2):
 * acceptance 1-4 (rank-r G projects back exactly; SGD + full rank + scale 1 is plain SGD; the first
 * Adam step formula; SVD count = ceil(steps / T)), Q-GaLore's lazy schedule (0, 200, ..., 1200, 1600,
 * 3200, 6400 with constant cos 0.9) and INT4 projector numbers, toJSON round trips, the square
 * projection the reference breaks on, non-finite gradients and bad input.
 */
import { expect, it } from 'vitest';
import { randomOrthonormalHost } from '../../ts/gen/spectrum.js';
import { GaLoreAdamW, GaLoreProjector, type Engine, type Mat } from '../../ts/index.js';
import { consume, describeEngines, diffFrob, disposeAll, frob, hostRandn, refMatmul } from '../helpers.js';

/** A matrix whose entry `at` overflows to +Inf (the engine refuses non-finite input, so square a huge entry). */
async function withInf(eng: Engine, data: number[], rows: number, cols: number, at: number): Promise<Mat> {
  const big = eng.dtype === 'f64' ? 1e200 : 1e30;
  const X = eng.matrix(
    data.map((x, i) => (i === at ? big : Math.sqrt(Math.abs(x)))),
    rows,
    cols,
  );
  try {
    return await eng.hadamard(X, X);
  } finally {
    X.dispose();
  }
}

/** A rank-r m x n matrix (f64 host). */
function lowRank(m: number, n: number, r: number, seed: number): Float64Array {
  return refMatmul(hostRandn(m, r, seed), m, r, hostRandn(r, n, seed + 1), r, n);
}

describeEngines('GaLoreProjector', (h) => {
  const tolExact = (): number => (h.dtype === 'f64' ? 1e-12 : 1e-5);

  for (const type of ['std', 'reverse_std', 'left', 'right', 'full'] as const)
    for (const [m, n] of [
      [40, 24],
      [24, 40],
    ] as const)
      for (const svd of ['randomized', 'exact'] as const)
        it(`acceptance 1: a rank-r G projects and back exactly (${type}, ${m}x${n}, ${svd})`, async () => {
          const { eng } = h;
          const g = lowRank(m, n, 5, 11);
          const G = eng.matrix(g, m, n);
          const p = new GaLoreProjector(eng, { rank: 5, updateEvery: 10, scale: 1, type, svd });
          const R = await p.project(G, 0);
          const back = await consume(p.projectBack(R));
          disposeAll(R, G);
          p.dispose();
          expect(diffFrob(back, g) / frob(g)).toBeLessThanOrEqual(tolExact());
          expect(p.svdCount).toBe(1);
        });

  it('acceptance 2: SGD with full rank and scale 1 equals plain SGD', async () => {
    const { eng } = h;
    const [m, n, lr] = [9, 6, 0.1];
    const p = new GaLoreProjector(eng, { rank: 6, updateEvery: 2, scale: 1 });
    let W = eng.matrix(hostRandn(m, n, 1), m, n);
    let w = await W.toArray();
    const w64 = Float64Array.from(w);
    for (let s = 0; s < 5; s++) {
      const g = hostRandn(m, n, 100 + s);
      const G = eng.matrix(g, m, n);
      const gs = await G.toArray();
      const R = await p.project(G, s);
      const U = await p.projectBack(R);
      const W2 = await eng.axpby(1, W, -lr, U);
      disposeAll(G, R, U, W);
      W = W2;
      for (let i = 0; i < w64.length; i++) w64[i] -= lr * gs[i];
    }
    w = await consume(W);
    expect(diffFrob(w, w64) / frob(w64)).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-13 : 1e-5);
    expect(p.svdCount).toBe(3);
    p.dispose();
  });

  it('acceptance 4: the number of SVDs is ceil(steps / T)', async () => {
    const { eng } = h;
    for (const [steps, T] of [
      [10, 3],
      [9, 3],
      [1, 5],
      [7, 1],
    ]) {
      const p = new GaLoreProjector(eng, { rank: 2, updateEvery: T });
      const G = eng.matrix(hostRandn(5, 4, 3), 5, 4);
      for (let s = 0; s < steps; s++) (await p.project(G, s)).dispose();
      expect(p.svdCount).toBe(Math.ceil(steps / T));
      disposeAll(G);
      p.dispose();
    }
  });

  it('Q-GaLore lazy schedule: constant cos 0.9 refreshes at 0, 200, ..., 1200, 1600, 3200, 6400', async () => {
    const { eng } = h;
    const p = new GaLoreProjector(eng, { rank: 1, updateEvery: 200, lazy: { cosThreshold: 0.4, queue: 5, gamma: 2 } });
    const theta = Math.acos(0.9);
    const a = [3, -1, 2, 0.5, 1, -2];
    // G_k = a v_k^T with v_k at angle k theta in a plane: consecutive first singular vectors have |cos| = 0.9
    const grad = (k: number): Mat => {
      const v = [Math.cos(k * theta), Math.sin(k * theta), 0, 0];
      return eng.matrix(
        a.flatMap((x) => v.map((y) => x * y)),
        6,
        4,
      );
    };
    const at: number[] = [];
    let G = grad(0),
      made = 0;
    for (let s = 0; s < 10000; s++) {
      if (made !== p.svdCount) G.dispose(), (G = grad(p.svdCount)), (made = p.svdCount);
      const before = p.svdCount;
      (await p.project(G, s)).dispose();
      if (p.svdCount !== before) at.push(s);
    }
    G.dispose();
    expect(at).toEqual([0, 200, 400, 600, 800, 1000, 1200, 1600, 3200, 6400]);
    expect(p.updateEvery).toBe(6400); // doubled at 1000, 1200, 1600, 3200 and 6400
    expect(Math.abs((p.lastRefresh?.cos ?? 0) - 0.9)).toBeLessThan(1e-4);
    p.dispose();
  });

  it("lazy rule: absCos false (the reference's signed cosine) never grows T when the vectors' signs alternate", async () => {
    const { eng } = h;
    const theta = Math.acos(0.9);
    const a = [3, -1, 2, 0.5, 1, -2];
    const run = async (absCos: boolean): Promise<number[]> => {
      const p = new GaLoreProjector(eng, { rank: 1, updateEvery: 10, lazy: { queue: 2, absCos } });
      const at: number[] = [];
      for (let s = 0; s < 100; s++) {
        const k = p.svdCount,
          sg = k % 2 ? -1 : 1;
        const v = [sg * Math.cos(k * theta), sg * Math.sin(k * theta), 0, 0];
        const G = eng.matrix(
          a.flatMap((x) => v.map((y) => x * y)),
          6,
          4,
        );
        const before = p.svdCount;
        (await p.project(G, s)).dispose();
        G.dispose();
        if (p.svdCount !== before) at.push(s);
      }
      p.dispose();
      return at;
    };
    expect(await run(false)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(await run(true)).toEqual([0, 10, 20, 40, 80]);
  });

  it('Q-GaLore INT4 projector: relative error ~0.11 and captured-gradient ratio ~1.008', async () => {
    const { eng } = h;
    const [m, n, r] = [256, 1024, 128];
    // G with its row space spanned by a known orthonormal V (n x r) and distinct singular values
    const V = randomOrthonormalHost(n, r, 5);
    const A = hostRandn(m, r, 6);
    for (let j = 0; j < r; j++) for (let i = 0; i < m; i++) A[i * r + j] *= 1 + (r - j) / 8;
    const g = refMatmul(A, m, r, V, n, r, false, true);
    const G = eng.matrix(g, m, n);
    const exact = new GaLoreProjector(eng, { rank: r, updateEvery: 200, svd: 'exact', scale: 1, type: 'right' });
    const quant = new GaLoreProjector(eng, {
      rank: r,
      updateEvery: 200,
      svd: 'exact',
      scale: 1,
      type: 'right',
      quantize: { bits: 4, groupSize: 256 },
    });
    const R1 = await exact.project(G, 0),
      R2 = await quant.project(G, 0);
    const P = Float64Array.from(await (exact.basis.right as Mat).toArray()),
      Pq = Float64Array.from(await (quant.basis.right as Mat).toArray());
    const relErr = diffFrob(P, Pq) / frob(P);
    const back1 = await consume(exact.projectBack(R1)),
      back2 = await consume(quant.projectBack(R2));
    const ratio = frob(back2) / frob(back1);
    const gram = refMatmul(Pq, n, r, Pq, n, r, true, false);
    for (let i = 0; i < r; i++) gram[i * r + i] -= 1;
    disposeAll(R1, R2, G);
    exact.dispose();
    quant.dispose();
    expect(relErr).toBeGreaterThan(0.08);
    expect(relErr).toBeLessThan(0.14);
    expect(ratio).toBeGreaterThan(1);
    expect(ratio).toBeLessThan(1.03);
    expect(frob(gram)).toBeGreaterThan(0.4);
    expect(frob(gram)).toBeLessThan(0.9);
    expect(diffFrob(back1, g) / frob(g)).toBeLessThan(h.dtype === 'f64' ? 1e-10 : 1e-4);
  });

  for (const quantize of [null, { bits: 4, groupSize: 16 }])
    it(`toJSON round trip: a projector restored mid-run gives the same next steps (${quantize ? 'INT4' : 'float'})`, async () => {
      const { eng } = h;
      const opts = { rank: 3, updateEvery: 3, lazy: { queue: 2 }, seed: 7, quantize };
      const a = new GaLoreProjector(eng, opts);
      const grads = Array.from({ length: 9 }, (_, s) => eng.matrix(hostRandn(12, 8, 40 + s), 12, 8));
      for (let s = 0; s < 5; s++) (await a.project(grads[s], s)).dispose();
      const b = GaLoreProjector.fromJSON(eng, JSON.stringify(a));
      expect(b.svdCount).toBe(a.svdCount);
      for (let s = 5; s < 9; s++) {
        const ra = await consume(a.project(grads[s], s)),
          rb = await consume(b.project(grads[s], s));
        expect(Array.from(rb)).toEqual(Array.from(ra));
      }
      expect(b.toJSON()).toEqual(a.toJSON());
      disposeAll(...grads);
      a.dispose();
      b.dispose();
    });

  it("square projection: 'reverse_std' with r >= rows (the reference's failure) projects and back exactly", async () => {
    const { eng } = h;
    // reverse_std, 4 x 8: right basis (8 x 4), R = G V is 4 x 4 (square: the reference then multiplies
    // on the wrong side); 8 x 4: left basis, R = U^T G is 4 x 4; std 8 x 4 with r > cols: R = G V, 8 x 4.
    for (const [type, m, n, shape] of [
      ['reverse_std', 4, 8, [4, 4]],
      ['reverse_std', 8, 4, [4, 4]],
      ['std', 8, 4, [8, 4]],
    ] as const) {
      const g = hostRandn(m, n, 21);
      const G = eng.matrix(g, m, n);
      const p = new GaLoreProjector(eng, { rank: 6, updateEvery: 5, scale: 1, type });
      const R = await p.project(G, 0);
      expect([R.rows, R.cols]).toEqual(shape);
      const back = await p.projectBack(R);
      expect([back.rows, back.cols]).toEqual([m, n]);
      expect(diffFrob(await consume(back), g) / frob(g)).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-12 : 1e-5);
      expect(p.rankUsed).toBe(Math.min(m, n));
      disposeAll(R, G);
      p.dispose();
    }
  });

  it('a non-finite gradient at a refresh is skipped (old basis kept, reported); with no basis it is a RangeError', async () => {
    const { eng } = h;
    const p = new GaLoreProjector(eng, { rank: 2, updateEvery: 2 });
    const bad = await withInf(eng, [1, 1, 2, 3, 4, 5], 3, 2, 1);
    await expect(p.project(bad, 0)).rejects.toThrow(/GaLoreProjector.project.*'G' contains NaN/);
    const G = eng.matrix(hostRandn(3, 2, 1), 3, 2);
    (await p.project(G, 0)).dispose();
    const before = Array.from(await (p.basis.right as Mat).toArray());
    (await p.project(bad, 2)).dispose();
    expect(p.lastRefresh).toEqual({ step: 2, skipped: 'non-finite gradient', updateEvery: 2 });
    expect(p.svdCount).toBe(1);
    expect(Array.from(await (p.basis.right as Mat).toArray())).toEqual(before);
    disposeAll(G, bad);
    p.dispose();
  });

  it('rejects bad input naming the function and argument', async () => {
    const { eng } = h;
    expect(() => new GaLoreProjector(eng, { rank: 0 })).toThrow(/GaLoreProjector.*'rank'/);
    expect(() => new GaLoreProjector(eng, { type: 'diag' as never })).toThrow(RangeError);
    expect(() => new GaLoreProjector(eng, { ranks: 3 } as never)).toThrow(/unknown option 'ranks'/);
    expect(() => new GaLoreProjector(eng, { quantize: { groupSize: 4 } as never })).toThrow(/'quantize.bits' is required/);
    expect(() => new GaLoreProjector(eng, { lazy: { gamma: 0.5 } })).toThrow(/'lazy.gamma'/);
    expect(() => new GaLoreProjector(null as never)).toThrow(TypeError);
    const p = new GaLoreProjector(eng, { rank: 2 });
    const G = eng.matrix(hostRandn(4, 3, 1), 4, 3),
      H = eng.matrix(hostRandn(3, 4, 1), 3, 4);
    await expect(p.projectBack(G)).rejects.toThrow(/no basis yet/);
    await expect(p.project({} as never, 0)).rejects.toThrow(/'G' must be a Mat/);
    await expect(p.project(G, -1)).rejects.toThrow(/'step'/);
    await expect(p.project(G, 0.5)).rejects.toThrow(RangeError);
    (await p.project(G, 0)).dispose();
    await expect(p.project(H, 1)).rejects.toThrow(/'G' is 3 x 4 but this projector was built for 4 x 3/);
    await expect(p.projectBack(G)).rejects.toThrow(/'N' is 4 x 3, expected 4 x 2/);
    expect(() => GaLoreProjector.fromJSON(eng, { kind: 'x' } as never)).toThrow(TypeError);
    p.dispose();
    await expect(p.project(G, 1)).rejects.toThrow(/disposed/);
    disposeAll(G, H);
  });
});

describeEngines('GaLoreAdamW', (h) => {
  it('acceptance 3: the first Adam step is -lr alpha [R / (|R| + eps / sqrt(1 - beta2))] P^T', async () => {
    const { eng } = h;
    const [m, n, r, lr, alpha, eps, b2] = [30, 20, 5, 0.01, 0.25, 1e-6, 0.999];
    for (const [wd, order] of [
      [0, 'reference'],
      [0.1, 'reference'],
      [0.1, 'torch'],
    ] as const) {
      const W0 = eng.matrix(hostRandn(m, n, 2), m, n);
      const w0 = Float64Array.from(await W0.toArray());
      const opt = new GaLoreAdamW(eng, [W0], {
        lr,
        eps,
        betas: [0.9, b2],
        weightDecay: wd,
        decayOrder: order,
        galore: { rank: r, updateEvery: 10, scale: alpha, svd: 'exact' },
      });
      const G = eng.matrix(hostRandn(m, n, 3), m, n);
      const g = await G.toArray();
      const [W1] = await opt.step([G]);
      const w1 = await W1.toArray();
      const P = await (opt.projectors[0]!.basis.right as Mat).toArray(); // n x r (m >= n: right)
      const R = refMatmul(g, m, n, P, n, r);
      const Nd = R.map((x) => x / (Math.abs(x) + eps / Math.sqrt(1 - b2)));
      const U = refMatmul(Nd, m, r, P, n, r, false, true);
      const want = w0.map((w, i) =>
        order === 'reference' ? (w - lr * alpha * U[i]) * (1 - lr * wd) : w * (1 - lr * wd) - lr * alpha * U[i],
      );
      expect(diffFrob(w1, want) / frob(want)).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-12 : 1e-5);
      // the update is close to -lr alpha sign(G P) P^T
      const S = refMatmul(
        R.map((x) => Math.sign(x)),
        m,
        r,
        P,
        n,
        r,
        false,
        true,
      );
      const upd = w1.map((w, i) => w - w0[i] * (order === 'reference' ? 1 - lr * wd : 1 - lr * wd));
      expect(
        diffFrob(
          upd,
          S.map((x) => -lr * alpha * (order === 'reference' ? 1 - lr * wd : 1) * x),
        ) /
          (lr * alpha * frob(S)),
      ).toBeLessThan(1e-2);
      expect(W0.disposed).toBe(true); // the optimizer owns and replaces its parameters
      G.dispose();
      opt.dispose();
    }
  });

  it('vectors get plain AdamW; moments persist across a refresh (two steps against a host reference)', async () => {
    const { eng } = h;
    const [m, n, r, lr, b1, b2, eps] = [8, 6, 2, 0.05, 0.9, 0.999, 1e-6];
    const bias = eng.matrix(hostRandn(1, 6, 9), 1, 6);
    const W = eng.matrix(hostRandn(m, n, 8), m, n);
    const bias0 = Float64Array.from(await bias.toArray()),
      w0 = Float64Array.from(await W.toArray());
    const opt = new GaLoreAdamW(eng, [W, bias], { lr, betas: [b1, b2], eps, galore: { rank: r, updateEvery: 1, scale: 1, svd: 'exact' } });
    expect(opt.projectors[1]).toBeNull();
    const mW = new Float64Array(m * r),
      vW = new Float64Array(m * r),
      mb = new Float64Array(n),
      vb = new Float64Array(n);
    const w = Float64Array.from(w0),
      b = Float64Array.from(bias0);
    for (let t = 1; t <= 2; t++) {
      const GW = eng.matrix(hostRandn(m, n, 50 + t), m, n),
        Gb = eng.matrix(hostRandn(1, n, 60 + t), 1, n);
      const gw = await GW.toArray(),
        gb = await Gb.toArray();
      await opt.step([GW, Gb]);
      const P = await (opt.projectors[0]!.basis.right as Mat).toArray();
      const R = refMatmul(gw, m, n, P, n, r);
      const c = Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
      const N = R.map((x, i) => {
        mW[i] = b1 * mW[i] + (1 - b1) * x;
        vW[i] = b2 * vW[i] + (1 - b2) * x * x;
        return (c * mW[i]) / (Math.sqrt(vW[i]) + eps);
      });
      const U = refMatmul(N, m, r, P, n, r, false, true);
      for (let i = 0; i < w.length; i++) w[i] -= lr * U[i];
      for (let i = 0; i < n; i++) {
        mb[i] = b1 * mb[i] + (1 - b1) * gb[i];
        vb[i] = b2 * vb[i] + (1 - b2) * gb[i] * gb[i];
        b[i] -= (lr * c * mb[i]) / (Math.sqrt(vb[i]) + eps);
      }
      disposeAll(GW, Gb);
    }
    expect(opt.projectors[0]?.svdCount).toBe(2);
    const tol = h.dtype === 'f64' ? 1e-12 : 1e-5;
    expect(diffFrob(await opt.params[0].toArray(), w) / frob(w)).toBeLessThanOrEqual(tol);
    expect(diffFrob(await opt.params[1].toArray(), b) / frob(b)).toBeLessThanOrEqual(tol);
    expect(opt.stateBytes()).toBe((2 * m * r + n * r + 2 * n) * (h.dtype === 'f64' ? 8 : 4));
    opt.dispose();
  });

  it('state() / fromState: an optimizer resumed mid-run takes the same next steps (GaLore, Q-GaLore, plain)', async () => {
    const { eng } = h;
    const shapes: Array<[number, number]> = [
      [12, 8],
      [6, 10],
      [1, 8],
    ];
    const params = shapes.map(([m, n], i) => eng.matrix(hostRandn(m, n, 70 + i), m, n));
    const opt = new GaLoreAdamW(eng, params, {
      lr: 0.02,
      weightDecay: 0.1,
      galore: [
        { rank: 3, updateEvery: 2, seed: 3 },
        { rank: 2, updateEvery: 3, quantize: { bits: 4, groupSize: 8 }, lazy: { queue: 1 } },
        null,
      ],
    });
    const grads = (s: number): Mat[] => shapes.map(([m, n], i) => eng.matrix(hostRandn(m, n, 100 * s + i), m, n));
    for (let s = 0; s < 3; s++) {
      const g = grads(s);
      await opt.step(g);
      disposeAll(...g);
    }
    const saved = JSON.stringify(await opt.state());
    const copies = await Promise.all(opt.params.map((p) => eng.scale(p, 1)));
    const resumed = GaLoreAdamW.fromState(eng, copies, saved);
    expect(resumed.t).toBe(3);
    expect(resumed.betas).toEqual([0.9, 0.95]);
    for (let s = 3; s < 6; s++) {
      const g = grads(s);
      const a = await opt.step(g),
        b = await resumed.step(g);
      for (let i = 0; i < a.length; i++) expect(Array.from(await b[i].toArray())).toEqual(Array.from(await a[i].toArray()));
      disposeAll(...g);
    }
    expect(JSON.stringify(await resumed.state())).toEqual(JSON.stringify(await opt.state()));
    expect(() => GaLoreAdamW.fromState(eng, [], saved)).toThrow(/GaLoreAdamW.fromState.*'params' must hold 3/);
    opt.dispose();
    resumed.dispose();
  });

  it('Q-GaLore INT8 weights: on the group grid after every step, close to the float run, seeded, resumable', async () => {
    const { eng } = h;
    const [m, n, gs] = [24, 20, 64];
    const w0 = hostRandn(m, n, 31),
      b0 = hostRandn(1, n, 32);
    const make = (q: { bits: number; groupSize?: number; seed?: number } | null): GaLoreAdamW =>
      new GaLoreAdamW(eng, [eng.matrix(w0, m, n), eng.matrix(b0, 1, n)], {
        lr: 0.01,
        weightDecay: 0.05,
        galore: { rank: 4, updateEvery: 2, svd: 'exact' },
        quantizeWeights: q,
      });
    const [fl, qa, qb, qc] = [
      make(null),
      make({ bits: 8, groupSize: gs }),
      make({ bits: 8, groupSize: gs }),
      make({ bits: 8, groupSize: gs, seed: 5 }),
    ];
    expect(qa.weightBytes()).toBe(m * n + 8 * Math.ceil((m * n) / gs) + n * (h.dtype === 'f64' ? 8 : 4));
    expect(fl.weightBytes()).toBe((m * n + n) * (h.dtype === 'f64' ? 8 : 4));
    for (let s = 0; s < 6; s++) {
      const g = [eng.matrix(hostRandn(m, n, 40 + s), m, n), eng.matrix(hostRandn(1, n, 50 + s), 1, n)];
      for (const o of [fl, qa, qb, qc]) await o.step(g);
      disposeAll(...g);
      // every group of the INT8 parameter is on its own 256-level grid: (w - min) / scale is an integer
      const w = await qa.params[0].toArray();
      for (let a = 0; a < w.length; a += gs) {
        const grp = Array.from(w.subarray(a, Math.min(w.length, a + gs)));
        const lo = Math.min(...grp),
          hi = Math.max(...grp);
        const sc = (hi - lo) / 255;
        for (const v of grp) {
          const c = (v - lo) / sc;
          expect(Math.abs(c - Math.round(c)), `step ${s} group ${a / gs}`).toBeLessThanOrEqual(1e-3);
        }
      }
      // the bias (a vector, no projector) stays float and equal to the float run
      expect(Array.from(await qa.params[1].toArray())).toEqual(Array.from(await fl.params[1].toArray()));
    }
    const [wf, wa, wb, wc] = await Promise.all([fl, qa, qb, qc].map((o) => o.params[0].toArray()));
    // same seed: the same trajectory; another seed: another one
    expect(Array.from(wb)).toEqual(Array.from(wa));
    expect(Array.from(wc)).not.toEqual(Array.from(wa));
    // INT8 with groups of 64: each step adds an unbiased rounding error of at most one step (range / 255)
    const rel = diffFrob(wa, wf) / frob(wf);
    expect(rel).toBeLessThanOrEqual(0.02);
    expect(rel).toBeGreaterThan(0);
    // state() carries the quantization: a resumed optimizer takes the same next step
    const saved = JSON.stringify(await qa.state());
    const resumed = GaLoreAdamW.fromState(eng, await Promise.all(qa.params.map((p) => eng.scale(p, 1))), saved);
    expect(resumed.quantizeWeights).toEqual({ bits: 8, groupSize: gs, seed: 0 });
    const g = [eng.matrix(hostRandn(m, n, 90), m, n), eng.matrix(hostRandn(1, n, 91), 1, n)];
    const [x, y] = [await qa.step(g), await resumed.step(g)];
    expect(Array.from(await y[0].toArray())).toEqual(Array.from(await x[0].toArray()));
    disposeAll(...g);
    const P = eng.matrix(w0, m, n);
    expect(() => new GaLoreAdamW(eng, [P], { quantizeWeights: { bits: 9 } })).toThrow(/GaLoreAdamW.*'quantizeWeights.bits'/);
    expect(() => new GaLoreAdamW(eng, [P], { quantizeWeights: { bits: 8, groupSize: 5000 } })).toThrow(/'quantizeWeights.groupSize'/);
    expect(() => new GaLoreAdamW(eng, [P], { quantizeWeights: { groupSize: 8 } as never })).toThrow(/'quantizeWeights.bits' is required/);
    expect(() => new GaLoreAdamW(eng, [P], { quantizeWeights: { bits: 8, round: 1 } as never })).toThrow(/unknown option 'round'/);
    for (const o of [fl, qa, qb, qc, resumed]) o.dispose();
    P.dispose();
  });

  it('rejects bad input; a non-finite gradient leaves the state unchanged', async () => {
    const { eng } = h;
    const W = eng.matrix(hostRandn(4, 3, 1), 4, 3);
    expect(() => new GaLoreAdamW(eng, [], {})).toThrow(/GaLoreAdamW.*'params'/);
    expect(() => new GaLoreAdamW(eng, [W], { betas: [0.9, 1] })).toThrow(/'betas\[1\]'/);
    expect(() => new GaLoreAdamW(eng, [W], { decayOrder: 'x' as never })).toThrow(/'decayOrder'/);
    expect(() => new GaLoreAdamW(eng, [W], { galore: [null, null] })).toThrow(/'galore' has 2 entries/);
    expect(() => new GaLoreAdamW(eng, [W, W], {})).toThrow(/same Mat twice/);
    const opt = new GaLoreAdamW(eng, [W], { galore: { rank: 2 } });
    const G = eng.matrix(hostRandn(3, 4, 1), 3, 4);
    await expect(opt.step([G])).rejects.toThrow(/'grads\[0\]' is 3 x 4 but params\[0\] is 4 x 3/);
    await expect(opt.step([])).rejects.toThrow(TypeError);
    const bad = await withInf(eng, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 4, 3, 2);
    await expect(opt.step([bad])).rejects.toThrow(/'grads\[0\]' contains NaN or Infinity/);
    expect(opt.t).toBe(0);
    expect(opt.params[0]).toBe(W);
    disposeAll(G, bad);
    opt.dispose();
  });
});
