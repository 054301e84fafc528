/**
 * Robust matrix sensing by SubGM (spec part B.6): the acceptance table, its negative controls, the
 * over-parameterization claim, operators (dense == matrix-free == custom, entry sampling), the
 * asymmetric variant, agreement between backends, and input errors.
 *
 * Setup (B.6): n = 20, r = 2, r' = 5, m = 600, alpha = 1e-6, eta0 = 0.2, rho = 0.98, T1 = 250,
 * T = 1500, ||X*||_F = 1; the problem seed equals the init seed. Metric ||U U^T - X*||_F.
 * Native engines run seeds 0-4 for every row. WebGPU (Mesa lavapipe here: 3-6 s per 1500-iteration run)
 * runs seeds 0-2 for the no-outlier and 20 %-outlier rows and seed 0 for the other rows (one-sided,
 * Cauchy, asymmetric), and only the first noise level.
 */
import { describe, expect, it } from 'vitest';
import {
  denseMeasurements,
  engine,
  entryMeasurements,
  gaussianMeasurements,
  robustRecover,
  sensingProblem,
  type Engine,
  type IterInfo,
  type RecoverOptions,
  type SensingProblemOptions,
} from '../../ts/index.js';
import { consume, describeEngines, disposeAll, REQUIRE_WEBGPU, webgpuMissing, type Harness } from '../helpers.js';

const T = { timeout: 300_000 };
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

type POpts = Partial<SensingProblemOptions>;
type ROpts = Partial<RecoverOptions>;

/** Final error of one run, or (track) the first logged iteration with error <= 1e-3 (the run stops there). */
async function run(eng: Engine, p: POpts, r: ROpts = {}, track = false): Promise<{ err: number; hit: number }> {
  const seed = p.seed ?? 0;
  const { problem, truth } = await sensingProblem(eng, { n: 20, rank: 2, m: 600, ...p, seed });
  let hit = -1;
  const onIter = track
    ? async ({ iter, U, V }: IterInfo) => {
        const X = await eng.matmul(U, V ?? U, { transB: true });
        const D = await eng.sub(X, truth.X);
        if ((await eng.norm(D)) <= 1e-3) hit = iter;
        X.dispose();
        D.dispose();
        return hit < 0; // stop once there
      }
    : undefined;
  const symmetric = p.symmetric ?? true;
  const res = await robustRecover(problem, {
    rank: 5,
    seed,
    step: { warmup: 250 },
    logEvery: track ? 10 : 100,
    symmetric,
    ...(onIter ? { onIter } : {}),
    ...r,
  });
  const X = await eng.matmul(res.U, res.V ?? res.U, { transB: true });
  const D = await eng.sub(X, truth.X);
  const err = await eng.norm(D);
  for (const m of [X, D, res.U, res.V, truth.X]) m?.dispose();
  problem.measurements.dispose();
  return { err, hit };
}

async function errors(eng: Engine, seeds: number[], p: POpts, r: ROpts = {}): Promise<number[]> {
  const out: number[] = [];
  for (const seed of seeds) out.push((await run(eng, { ...p, seed }, r)).err);
  return out;
}

describeEngines('robustRecover (SubGM)', (h: Harness) => {
  const gpu = h.backend === 'webgpu';
  const seeds = gpu ? [0, 1, 2] : [0, 1, 2, 3, 4];
  const few = gpu ? [0] : seeds;
  const f64 = h.dtype === 'f64';

  it('recovers X* exactly without outliers (median <= 1e-6 f64, 1e-4 f32)', T, async () => {
    const e = await errors(h.eng, seeds, { outlierFraction: 0 });
    expect(median(e)).toBeLessThanOrEqual(f64 ? 1e-6 : 1e-4);
  });

  it('recovers X* under 20 % gross outliers (median <= 1e-3)', T, async () => {
    const e = await errors(h.eng, seeds, { outlierFraction: 0.2 });
    expect(median(e)).toBeLessThanOrEqual(1e-3);
  });

  it('recovers X* under Cauchy and one-sided outliers (median <= 1e-3)', T, async () => {
    const c = await errors(h.eng, few, { outlierFraction: 0.2, outlierKind: 'cauchy' });
    expect(median(c)).toBeLessThanOrEqual(1e-3);
    const o = await errors(h.eng, few, { outlierFraction: 0.2, outlierKind: 'one-sided' });
    expect(median(o)).toBeLessThanOrEqual(1e-3);
  });

  it('error under dense Gaussian noise is proportional to nu (err / nu in [0.2, 0.6])', T, async () => {
    for (const nu of gpu ? [1e-2] : [1e-2, 1e-1]) {
      const e = await errors(h.eng, few, { noiseStd: nu });
      const ratio = median(e) / nu;
      expect(ratio).toBeGreaterThanOrEqual(0.2);
      expect(ratio).toBeLessThanOrEqual(0.6);
    }
  });

  it("r' = r has no alpha floor", T, async () => {
    const { err } = await run(h.eng, { outlierFraction: 0.2, seed: 0 }, { rank: 2, initScale: 1e-3, step: { warmup: 100 } });
    expect(err).toBeLessThanOrEqual(f64 ? 1e-10 : 1e-5);
  });

  it(
    'negative controls: l2-loss GD breaks under outliers, a large init leaves a floor, pure geometric decay never escapes',
    T,
    async () => {
      const l2 = await errors(h.eng, few, { outlierFraction: 0.2 }, { loss: 'l2', step: { initial: 0.05, warmup: 1500 } });
      expect(median(l2)).toBeGreaterThanOrEqual(0.5);
      const big = await errors(h.eng, few, { outlierFraction: 0 }, { rank: 20, initScale: 1, step: { warmup: 100 } });
      expect(median(big)).toBeGreaterThanOrEqual(1e-3);
      const { err } = await run(h.eng, { outlierFraction: 0.2, seed: 0 }, { step: { warmup: 0 } });
      expect(err).toBeGreaterThanOrEqual(0.9);
    },
  );

  it("iterations to reach 1e-3 do not grow with r' in {2, 5, 10, 20}", T, async () => {
    const hits: number[] = [];
    for (const rank of [2, 5, 10, 20]) {
      const it: number[] = [];
      for (const seed of gpu ? [0] : [0, 1]) it.push((await run(h.eng, { outlierFraction: 0.2, seed }, { rank }, true)).hit);
      expect(Math.min(...it)).toBeGreaterThan(0); // every run got there
      hits.push(median(it));
    }
    // observed (f64, seeds 0-2): 470 for r' = 2, 470-500 for r' = 5, 10, 20
    expect(Math.max(...hits)).toBeLessThanOrEqual(1.2 * Math.min(...hits));
  });

  it('the matrix-free Gaussian operator gives the dense operator result', T, async () => {
    const { eng } = h;
    const base: SensingProblemOptions = { n: 10, rank: 2, m: 300, outlierFraction: 0.2, seed: 4 };
    const dense = await sensingProblem(eng, { ...base, storage: 'dense' });
    const free = await sensingProblem(eng, { ...base, storage: 'matrix-free' });
    expect(dense.problem.measurements.kind).toBe('dense');
    expect(free.problem.measurements.kind).toBe('matrix-free');
    let dy = 0,
      ny = 0;
    for (let i = 0; i < base.m; i++) {
      dy = Math.max(dy, Math.abs(dense.problem.y[i] - free.problem.y[i]));
      ny = Math.max(ny, Math.abs(dense.problem.y[i]));
    }
    expect(dy).toBeLessThanOrEqual(200 * h.u * ny);
    const opts = { rank: 4, seed: 4, iters: 700, step: { warmup: 150 }, logEvery: 100 };
    const a = await robustRecover(dense.problem, opts);
    const b = await robustRecover(free.problem, opts);
    const Xa = await eng.matmul(a.U, a.U, { transB: true }),
      Xb = await eng.matmul(b.U, b.U, { transB: true });
    const Da = await eng.sub(Xa, dense.truth.X),
      Db = await eng.sub(Xb, dense.truth.X),
      Dab = await eng.sub(Xa, Xb);
    const ea = await eng.norm(Da),
      eb = await eng.norm(Db);
    const dab = await eng.norm(Dab);
    for (const m of [Xa, Xb, Da, Db, Dab, a.U, a.V, b.U, b.V, dense.truth.X, free.truth.X]) m?.dispose();
    dense.problem.measurements.dispose();
    free.problem.measurements.dispose();
    expect(Math.max(ea, eb)).toBeLessThanOrEqual(f64 ? 1e-5 : 1e-3);
    // f64: the same trajectory to roundoff; f32: sign flips of near-zero residuals near the end
    expect(dab).toBeLessThanOrEqual(f64 ? 1e-9 : 2 * (ea + eb));
  });

  it('operators: entries read scale * X_ij in CSR order, every adjoint satisfies <A(X), r> = <X, A^T(r)>', T, async () => {
    const { eng } = h;
    const n = 5;
    const S = eng.sparse({ rows: n, cols: n, row: [3, 0, 4, 0], col: [1, 2, 4, 0], val: [1, 1, 1, 1] });
    const x = Float64Array.from({ length: n * n }, (_, e) => Math.sin(e + 1));
    const X = eng.matrix(x, n, n);
    const E = entryMeasurements(S);
    const y = await consume(E.apply(X));
    const want = [
      [0, 0],
      [0, 2],
      [3, 1],
      [4, 4],
    ].map(([i, j]) => n * x[i * n + j]);
    for (let q = 0; q < 4; q++) expect(Math.abs(y[q] - want[q])).toBeLessThanOrEqual(8 * h.u * n);
    const R7 = eng.randn(7, n * n, { seed: 8 });
    const ops = [
      E,
      await gaussianMeasurements(eng, { n, m: 30, seed: 3, storage: 'dense' }),
      await gaussianMeasurements(eng, { n, m: 30, seed: 3, storage: 'matrix-free' }),
      denseMeasurements(R7, n),
    ];
    for (const op of ops) {
      const r = eng.matrix(
        Float64Array.from({ length: op.m }, (_, i) => Math.cos(3 * i)),
        op.m,
        1,
      );
      const ax = await consume(op.apply(X)),
        rv = await r.toArray();
      const z = await consume(op.adjoint(r)),
        xv = await X.toArray();
      r.dispose();
      let lhs = 0,
        rhs = 0,
        mag = 0;
      for (let i = 0; i < op.m; i++) (lhs += ax[i] * rv[i]), (mag += Math.abs(ax[i] * rv[i]));
      for (let e = 0; e < n * n; e++) rhs += xv[e] * z[e];
      expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(64 * h.u * (mag + 1) * n);
      op.dispose();
    }
    disposeAll(S, X, R7);
  });

  it('entry-sampling measurements recover a PSD X* from 200 of its 400 entries', T, async () => {
    const e = await errors(h.eng, gpu ? [0] : [0, 1, 2], { measurements: 'entries', m: 200 });
    expect(median(e)).toBeLessThanOrEqual(f64 ? 1e-5 : 1e-3);
  });

  it('the asymmetric variant returns U and V with U V^T ~ X* (spec B.3)', T, async () => {
    const p = { n: 20, m: 800, symmetric: false };
    const r = { iters: 2000, step: { warmup: 300 } };
    const seeds = gpu ? [0] : [0, 1, 2];
    const e0 = await errors(h.eng, seeds, p, r);
    expect(median(e0)).toBeLessThanOrEqual(f64 ? 1e-5 : 1e-4);
    const e2 = await errors(h.eng, seeds, { ...p, outlierFraction: 0.2 }, r);
    expect(median(e2)).toBeLessThanOrEqual(1e-2);
  });

  it('a custom { apply, adjoint } operator runs the same iteration as the built-in one', T, async () => {
    const { eng } = h;
    const { problem, truth } = await sensingProblem(eng, { n: 12, rank: 2, m: 300, outlierFraction: 0.1, seed: 2 });
    const op = problem.measurements;
    const custom = { apply: (X: never) => op.apply(X), adjoint: (r: never) => op.adjoint(r) };
    const opts = { rank: 3, seed: 2, iters: 300 };
    const a = await robustRecover(problem, opts);
    const b = await robustRecover({ n: 12, measurements: custom, y: problem.y, engine: eng }, opts);
    const Dab = await eng.sub(a.U, b.U);
    expect(await eng.norm(Dab)).toBe(0);
    expect(b.info.history.length).toBe(a.info.history.length);
    // a plain m x n^2 Mat is taken as the dense operator
    const A = eng.randn(300, 144, { seed: 2 });
    const c = await robustRecover({ n: 12, measurements: A, y: problem.y }, opts);
    const Dac = await eng.sub(a.U, c.U);
    expect(await eng.norm(Dac)).toBeLessThanOrEqual(1e3 * h.u * (await eng.norm(a.U)));
    for (const m of [Dab, Dac, A, a.U, a.V, b.U, b.V, c.U, c.V, truth.X]) m?.dispose();
    op.dispose();
  });

  it('reports the loss history and the automatic warm-up', T, async () => {
    const { eng } = h;
    const { problem, truth } = await sensingProblem(eng, { n: 20, rank: 2, m: 600, outlierFraction: 0.2, seed: 1 });
    let calls = 0;
    const full = await robustRecover(problem, { rank: 5, iters: 600, logEvery: 50, onIter: () => void calls++ });
    const { info } = full;
    expect(info.history.map((e) => e.iter)).toEqual([0, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 550, 600]);
    expect(calls).toBe(13);
    expect(info.history[12].loss).toBeLessThan(info.history[0].loss);
    expect(info.warmup).toBeGreaterThan(100);
    expect(info.warmup).toBeLessThanOrEqual(374); // the step-budget bound for alpha = 1e-6, eta0 = 0.2
    expect(info.alpha).toBeCloseTo(1e-6 * Math.sqrt(info.scale), 12);
    expect(info.stopped).toBe(false);
    const early = await robustRecover(problem, { rank: 5, iters: 600, logEvery: 50, onIter: ({ iter }) => iter < 100 });
    expect([early.info.iterations, early.info.stopped, early.info.history.at(-1)?.iter]).toEqual([100, true, 100]);
    expect(early.info.history[2].loss).toBe(info.history[2].loss);
    for (const m of [full.U, full.V, early.U, early.V, truth.X]) m?.dispose();
    problem.measurements.dispose();
  });

  it('stops with a clear error when the iteration diverges', T, async () => {
    const { eng } = h;
    const big = f64 ? 1e300 : 3e38;
    const apply = async () => {
      const F = eng.full(50, 1, big);
      const out = await eng.scale(F, 1e10);
      F.dispose();
      return out;
    };
    const custom = { apply, adjoint: async () => eng.zeros(4, 4) };
    await expect(robustRecover({ n: 4, measurements: custom, y: new Float64Array(50).fill(1), engine: eng }, { rank: 2 })).rejects.toThrow(
      /diverged/,
    );
  });

  it('rejects bad input with errors naming the argument', T, async () => {
    const { eng } = h;
    const { problem, truth } = await sensingProblem(eng, { n: 6, rank: 1, m: 60, seed: 0 });
    truth.X.dispose();
    const bad = (o: object) => robustRecover(problem, { rank: 2, iters: 2, ...o });
    await expect(bad({ step: { initial: 0 } })).rejects.toThrow(/step.initial/);
    await expect(bad({ step: { initial: 1.5 } })).rejects.toThrow(RangeError);
    await expect(bad({ step: { decay: 1 } })).rejects.toThrow(/step.decay/);
    await expect(bad({ step: { decay: 0 } })).rejects.toThrow(RangeError);
    await expect(bad({ step: { warmup: -1 } })).rejects.toThrow(/warmup/);
    await expect(bad({ rank: 0 })).rejects.toThrow(/'rank'/);
    await expect(bad({ rank: 7 })).rejects.toThrow(/'rank'/);
    await expect(bad({ initScale: 0 })).rejects.toThrow(/initScale/);
    await expect(bad({ iters: 0 })).rejects.toThrow(/iters/);
    await expect(bad({ loss: 'l3' })).rejects.toThrow(/loss/);
    await expect(bad({ bogus: 1 })).rejects.toThrow(/bogus/);
    await expect(robustRecover(problem, {} as RecoverOptions)).rejects.toThrow(/rank/);
    const y = Float64Array.from(problem.y);
    y[3] = NaN;
    await expect(robustRecover({ ...problem, y }, { rank: 1 })).rejects.toThrow(/y\[3\]/);
    await expect(robustRecover({ ...problem, y: y.subarray(0, 10) }, { rank: 1 })).rejects.toThrow(/m = 60/);
    await expect(robustRecover({ ...problem, n: 5 }, { rank: 1 })).rejects.toThrow(/problem.n/);
    await expect(
      robustRecover({ n: 6, measurements: { apply: async (X: never) => X, adjoint: async (r: never) => r }, y }, { rank: 1 }),
    ).rejects.toThrow(/engine/);
    await expect(robustRecover(null as never, { rank: 1 })).rejects.toThrow(TypeError);
    await expect(sensingProblem(eng, { n: 4, rank: 5, m: 10 })).rejects.toThrow(/'rank'/);
    await expect(sensingProblem(eng, { n: 4, rank: 1, m: 10, outlierFraction: 1.5 })).rejects.toThrow(/outlierFraction/);
    await expect(sensingProblem(eng, { n: 4, rank: 1, m: 17, measurements: 'entries' })).rejects.toThrow(/n\^2/);
    await expect(sensingProblem(eng, { n: 4, rank: 1, m: 10, outlierKind: 'gamma' as never })).rejects.toThrow(/outlierKind/);
    await expect(sensingProblem(eng, { n: 4, rank: 1, m: 10, noiseStd: -1 })).rejects.toThrow(/noiseStd/);
    problem.measurements.dispose();
  });
});

describe.skipIf(webgpuMissing !== null && !REQUIRE_WEBGPU)('robustRecover: backends agree', () => {
  it('native f64, native f32 and webgpu f32 measure the same y and recover the same X', T, async () => {
    const engines = [
      await engine({ backend: 'native', dtype: 'f64' }),
      await engine({ backend: 'native', dtype: 'f32' }),
      await engine({ backend: 'webgpu', dtype: 'f32' }),
    ];
    try {
      const xs: Float64Array[] = [];
      const ys: Float64Array[] = [];
      for (const eng of engines) {
        const { problem, truth } = await sensingProblem(eng, {
          n: 10,
          rank: 2,
          m: 300,
          outlierFraction: 0.2,
          seed: 5,
          storage: 'matrix-free',
        });
        ys.push(Float64Array.from(problem.y));
        const { U } = await robustRecover(problem, { rank: 4, seed: 5, iters: 700, step: { warmup: 150 }, logEvery: 100 });
        const X = await eng.matmul(U, U, { transB: true });
        xs.push(Float64Array.from(await X.toArray()));
        expect(await eng.norm(await eng.sub(X, truth.X))).toBeLessThanOrEqual(1e-3);
      }
      const dmax = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => Math.max(s, Math.abs(v - b[i])), 0);
      // f64 and f32 normals of the same stream differ (different transforms); the two f32 engines
      // share the f32 transform up to a few ulps of log/cos.
      const ymax = ys[1].reduce((s, v) => Math.max(s, Math.abs(v)), 0);
      expect(dmax(ys[1], ys[2])).toBeLessThanOrEqual(1e-5 * ymax);
      expect(dmax(xs[0], xs[1])).toBeLessThanOrEqual(2e-3);
      expect(dmax(xs[1], xs[2])).toBeLessThanOrEqual(2e-3);
    } finally {
      for (const e of engines) await e.dispose();
    }
  });
});
