/**
 * EoRA and the covariance accumulator: the spec's acceptance case (256 x 512 Gaussian W, 3-bit row-absmax
 * quantization, log-normal channel scales, N = 4096, r = 32), the optimality identity
 * ||(dW - BA) X^T||^2 / N = sum_{i>r} s_i(dW Q')^2, the accumulator's modes against host references,
 * merge trees, export/load, and typed errors.
 */
import { expect, it } from 'vitest';
import { CovarianceAccumulator, activationWeightedError, eoraInit, lordFactorize, type Engine, type Mat } from '../../ts/index.js';
import { describeEngines, diffMax, disposeAll, hostRandn, refMatmul, type Host } from '../helpers.js';
import { nanMat } from './model-fixtures.js';

/** The spec's case, built on the host in f64 (Philox streams instead of numpy's, so numbers differ a little). */
function specCase(): { dW: Host; X: Host; out: number; inp: number; N: number } {
  const [out, inp, N] = [256, 512, 4096];
  const W = hostRandn(out, inp, 11).map((v) => v / Math.sqrt(inp));
  const qmax = 3;
  const dW = new Float64Array(out * inp);
  for (let i = 0; i < out; i++) {
    let amax = 0;
    for (let j = 0; j < inp; j++) amax = Math.max(amax, Math.abs(W[i * inp + j]));
    const sc = amax / qmax;
    for (let j = 0; j < inp; j++) {
      const w = W[i * inp + j];
      const q = Math.min(qmax, Math.max(-qmax - 1, Math.round(w / sc)));
      dW[i * inp + j] = w - q * sc;
    }
  }
  const scales = hostRandn(1, inp, 12).map(Math.exp);
  const X = hostRandn(N, inp, 13);
  for (let t = 0; t < N; t++) for (let j = 0; j < inp; j++) X[t * inp + j] *= scales[j];
  return { dW, X, out, inp, N };
}

/** ||(dW - B A) X^T||_F on the device. */
async function weightedNorm(eng: Engine, dW: Mat, X: Mat, B?: Mat, A?: Mat): Promise<number> {
  let D = dW;
  if (B && A) {
    const BA = await eng.matmul(B, A);
    D = await eng.sub(dW, BA);
    BA.dispose();
  }
  const DX = await eng.matmul(D, X, { transB: true });
  const n = await eng.norm(DX, 'fro');
  DX.dispose();
  if (D !== dW) D.dispose();
  return n;
}

const spec = specCase();

describeEngines('eoraInit', (h) => {
  it("spec case: EoRA's weighted error well below plain SVD's, the identity, unweighted error worse", async () => {
    const { eng } = h;
    const { out, inp, N } = spec;
    const dW = eng.matrix(spec.dW, out, inp);
    const X = eng.matrix(spec.X, N, inp);
    const acc = new CovarianceAccumulator(eng, inp);
    for (let b = 0; b < 4; b++) {
      const Xb = await eng.slice(X, { rows: [b * 1024, (b + 1) * 1024] });
      await acc.add(Xb);
      Xb.dispose();
    }
    expect(acc.count).toBe(N);
    const e = await eoraInit(dW, acc, { rank: 32 });
    const s = await lordFactorize(dW, { rank: 32 });
    const base = await weightedNorm(eng, dW, X);
    const wE = (await weightedNorm(eng, dW, X, e.B, e.A)) / base;
    const wS = (await weightedNorm(eng, dW, X, s.L, s.R)) / base;
    console.log(
      `[${h.label}] EoRA weighted ${wE.toFixed(4)} (reported ${e.weightedError.toFixed(4)}), SVD ${wS.toFixed(4)}; ` +
        `unweighted EoRA ${e.relError.toFixed(4)} SVD ${s.relError.toFixed(4)}; floorApplied ${e.floorApplied}`,
    );
    expect([e.B.rows, e.B.cols, e.A.rows, e.A.cols]).toEqual([out, 32, 32, inp]);
    expect(wE).toBeLessThan(0.65);
    expect(wS).toBeGreaterThan(0.78);
    expect(wS - wE).toBeGreaterThan(0.15);
    expect(e.weightedError).toBeCloseTo(wE, h.dtype === 'f64' ? 10 : 3);
    expect(e.relError).toBeGreaterThan(s.relError);
    // identity: ||(dW - BA) X^T||^2 / N = sum_{i>r} s_i(dW Q')^2 (exact when no floor was applied)
    const lhs = (wE * base) ** 2 / N;
    if (e.floorApplied === 0) expect(Math.abs(lhs - e.tailEnergy) / e.tailEnergy).toBeLessThan(h.dtype === 'f64' ? 1e-10 : 2e-3);
    if (h.dtype === 'f64') expect(e.floorApplied).toBe(0);
    // the standalone metric agrees (direct trace, no eigh)
    const C = await acc.covariance();
    const direct = await activationWeightedError(dW, C, e.B, e.A);
    expect(direct).toBeCloseTo(wE, h.dtype === 'f64' ? 10 : 3);
    disposeAll(dW, X, C, e.B, e.A, s.L, s.R);
    acc.dispose();
  });

  it('randomized SVD matches exact on the weighted error; eigFloor variants; rank = min(out, in) leaves nothing', async () => {
    const { eng } = h;
    const [out, inp, N] = [24, 40, 200];
    const dWh = hostRandn(out, inp, 21);
    const Xh = hostRandn(N, inp, 22).map((v, i) => v * Math.exp((i % inp) / 10));
    const dW = eng.matrix(dWh, out, inp);
    const X = eng.matrix(Xh, N, inp);
    const C = await eng.matmul(X, X, { transA: true, alpha: 1 / N });
    const ex = await eoraInit(dW, C, { rank: 6 });
    const rz = await eoraInit(dW, C, { rank: 6, svd: 'randomized', seed: 3 });
    expect(Math.abs(rz.weightedError - ex.weightedError)).toBeLessThan(1e-2 * ex.weightedError + 1e3 * h.u);
    expect(Number.isNaN(rz.tailEnergy)).toBe(true);
    const ref = await eoraInit(dW, C, { rank: 6, eigFloor: 'reference' });
    expect(ref.floorApplied).toBe(0); // C full rank
    const full = await eoraInit(dW, C, { rank: 24 });
    expect(full.weightedError).toBeLessThan(h.dtype === 'f64' ? 1e-10 : 1e-3);
    disposeAll(dW, X, C, ex.B, ex.A, rz.B, rz.A, ref.B, ref.A, full.B, full.A);
  });

  it('rank-deficient covariance: the floor is applied and reported, eigFloor 0 refuses', async () => {
    const { eng } = h;
    const [out, inp, N] = [10, 16, 5]; // C = X^T X / 5 has rank 5 < 16
    const dW = eng.matrix(hostRandn(out, inp, 31), out, inp);
    const X = eng.matrix(hostRandn(N, inp, 32), N, inp);
    const C = await eng.matmul(X, X, { transA: true, alpha: 1 / N });
    const e = await eoraInit(dW, C, { rank: 3 });
    expect(e.floorApplied).toBeGreaterThanOrEqual(inp - N);
    expect(e.eigFloor).toBeCloseTo((h.dtype === 'f32' ? 1e-6 : 1e-12) * e.eigenvalues[0], 12);
    expect(await eng.norm(e.A, 'max')).toBeLessThan(Infinity);
    expect(e.weightedError).toBeLessThan(1);
    await expect(eoraInit(dW, C, { rank: 3, eigFloor: 0 })).rejects.toThrow(/eoraInit.*eigFloor/);
    disposeAll(dW, X, C, e.B, e.A);
  });

  it('bad input: typed errors naming eoraInit and the argument', async () => {
    const { eng } = h;
    const dW = eng.matrix(hostRandn(6, 8, 1), 6, 8);
    const C = eng.eye(8);
    const C7 = eng.eye(7);
    const Z = eng.zeros(8, 8);
    const nanW = await nanMat(eng, 6, 8);
    await expect(eoraInit(dW, C7, { rank: 2 })).rejects.toThrow(RangeError);
    await expect(eoraInit(dW, C7, { rank: 2 })).rejects.toThrow(/eoraInit.*'cov'/);
    await expect(eoraInit(dW, C, { rank: 0 })).rejects.toThrow(/eoraInit.*'rank'/);
    await expect(eoraInit(dW, C, { rank: 7 })).rejects.toThrow(RangeError);
    await expect(eoraInit(dW, C, { rank: 2, eigFloor: 1.5 })).rejects.toThrow(/eoraInit.*'eigFloor'/);
    await expect(eoraInit(dW, C, { rank: 2, eigFloor: 'x' as 'auto' })).rejects.toThrow(/eoraInit.*'eigFloor'/);
    await expect(eoraInit(dW, Z, { rank: 2 })).rejects.toThrow(/eoraInit.*'cov'/);
    await expect(eoraInit(dW, {} as Mat, { rank: 2 })).rejects.toThrow(TypeError);
    await expect(eoraInit(dW, C, {} as { rank: number })).rejects.toThrow(/eoraInit.*'rank'/);
    const acc = new CovarianceAccumulator(eng, 7);
    await expect(eoraInit(dW, acc, { rank: 2 })).rejects.toThrow(/eoraInit.*'cov'/);
    acc.dispose();
    await expect(eoraInit(nanW, C, { rank: 2 })).rejects.toThrow(/eoraInit.*'deltaW'/);
    const nanC = await nanMat(eng, 8, 8);
    await expect(eoraInit(dW, nanC, { rank: 2 })).rejects.toThrow(/eoraInit.*'cov'/);
    disposeAll(nanW, nanC);
    disposeAll(dW, C, C7, Z);
  });
});

/** Host references of the two accumulation rules. */
function hostMean(batches: Host[], dim: number): Host {
  const S = new Float64Array(dim * dim);
  let n = 0;
  for (const X of batches) {
    const b = X.length / dim;
    const G = refMatmul(X, b, dim, X, b, dim, true, false);
    for (let i = 0; i < S.length; i++) S[i] += G[i];
    n += b;
  }
  return S.map((v) => v / n);
}

function hostEoraRef(batches: Host[], dim: number, N: number, samples: number[]): Host {
  let C = new Float64Array(dim * dim);
  batches.forEach((X, k) => {
    const b = X.length / dim;
    const G = refMatmul(X, b, dim, X, b, dim, true, false);
    const f = N / (N + samples[k]);
    C = C.map((v, i) => v * f + G[i] / N);
  });
  return C;
}

describeEngines('CovarianceAccumulator', (h) => {
  const dim = 7;
  const rowsPer = [5, 1, 13, 3, 8, 2];
  const batchesH = rowsPer.map((b, k) => hostRandn(b, dim, 40 + k).map((v, i) => v * (1 + (i % dim))));
  const tol = (ref: Host): number => (h.dtype === 'f64' ? 1e-13 : 2e-6) * Math.max(...ref.map(Math.abs));

  async function fill(acc: CovarianceAccumulator, idx: number[], samples?: number[]): Promise<void> {
    for (const k of idx) {
      const X = h.eng.matrix(batchesH[k], rowsPer[k], dim);
      await acc.add(X, samples ? { samples: samples[k] } : undefined);
      X.dispose();
    }
  }
  const cov = async (acc: CovarianceAccumulator): Promise<Host> => {
    const C = await acc.covariance();
    const a = Float64Array.from(await C.toArray());
    C.dispose();
    return a;
  };

  it("'mean' is the exact mean of X^T X; merge trees (any order) equal one pass", async () => {
    const { eng } = h;
    const ref = hostMean(batchesH, dim);
    const one = new CovarianceAccumulator(eng, dim);
    await fill(one, [0, 1, 2, 3, 4, 5]);
    expect(one.count).toBe(32);
    expect(diffMax(await cov(one), ref)).toBeLessThan(tol(ref));
    const parts = [
      [0, 1],
      [2, 3],
      [4, 5],
    ].map(() => new CovarianceAccumulator(eng, dim));
    await fill(parts[0], [0, 1]);
    await fill(parts[1], [2, 3]);
    await fill(parts[2], [4, 5]);
    // tree 1: (p0 + p1) + p2 ; tree 2: p2 + (p1 + p0)
    const t1 = new CovarianceAccumulator(eng, dim);
    await t1.merge(parts[0]);
    await t1.merge(parts[1]);
    await t1.merge(parts[2]);
    const t2a = new CovarianceAccumulator(eng, dim);
    await t2a.merge(parts[1]);
    await t2a.merge(parts[0]);
    const t2 = new CovarianceAccumulator(eng, dim);
    await t2.merge(parts[2]);
    await t2.merge(t2a);
    expect(t2.count).toBe(32);
    expect(diffMax(await cov(t1), ref)).toBeLessThan(tol(ref));
    expect(diffMax(await cov(t2), ref)).toBeLessThan(tol(ref));
    // export / load round trip, also through JSON
    const st = await t2.export();
    const json = JSON.parse(JSON.stringify({ ...st, sum: Array.from(st.sum) }));
    const back = CovarianceAccumulator.load(eng, json);
    expect(back.count).toBe(32);
    expect(diffMax(await cov(back), ref)).toBeLessThan(tol(ref));
    for (const a of [one, ...parts, t1, t2a, t2, back]) a.dispose();
  });

  it("'eora-ref' reproduces the reference's fixed-N update; ordered merges equal one pass", async () => {
    const { eng } = h;
    const N = 4;
    const samples = [1, 2, 1, 3, 1, 1];
    const ref = hostEoraRef(batchesH, dim, N, samples);
    const one = new CovarianceAccumulator(eng, dim, { mode: 'eora-ref', nsamples: N });
    await fill(one, [0, 1, 2, 3, 4, 5], samples);
    expect(diffMax(await cov(one), ref)).toBeLessThan(tol(ref));
    // it is not the mean: the weighting differs
    const mean = hostMean(batchesH, dim);
    expect(diffMax(ref, mean)).toBeGreaterThan(0.01 * Math.max(...mean));
    const parts = [0, 1, 2].map(() => new CovarianceAccumulator(eng, dim, { mode: 'eora-ref', nsamples: N }));
    await fill(parts[0], [0, 1], samples);
    await fill(parts[1], [2, 3], samples);
    await fill(parts[2], [4, 5], samples);
    const left = new CovarianceAccumulator(eng, dim, { mode: 'eora-ref', nsamples: N }); // (p0 p1) p2
    await left.merge(parts[0]);
    await left.merge(parts[1]);
    await left.merge(parts[2]);
    const p12 = CovarianceAccumulator.load(eng, await parts[1].export()); // p0 (p1 p2)
    await p12.merge(parts[2]);
    const right = CovarianceAccumulator.load(eng, await parts[0].export());
    await right.merge(p12);
    expect(diffMax(await cov(left), ref)).toBeLessThan(tol(ref));
    expect(diffMax(await cov(right), ref)).toBeLessThan(tol(ref));
    const other = new CovarianceAccumulator(eng, dim, { mode: 'eora-ref', nsamples: N + 1 });
    await expect(left.merge(other)).rejects.toThrow(/merge.*nsamples/);
    for (const a of [one, ...parts, left, p12, right, other]) a.dispose();
  });

  it('bad input: typed errors naming the method and argument', async () => {
    const { eng } = h;
    expect(() => new CovarianceAccumulator(eng, 0)).toThrow(/CovarianceAccumulator.*'dim'/);
    expect(() => new CovarianceAccumulator(eng, 3, { mode: 'x' as 'mean' })).toThrow(/CovarianceAccumulator.*'mode'/);
    expect(() => new CovarianceAccumulator(eng, 3, { nsamples: 4 })).toThrow(/nsamples/);
    const acc = new CovarianceAccumulator(eng, 3);
    await expect(acc.covariance()).rejects.toThrow(/covariance.*no activations/);
    const X4 = eng.zeros(2, 4);
    await expect(acc.add(X4)).rejects.toThrow(/add.*'X'/);
    const X = eng.ones(2, 3);
    await expect(acc.add(X, { samples: 0 })).rejects.toThrow(/add.*'samples'/);
    const ref = new CovarianceAccumulator(eng, 3, { mode: 'eora-ref' });
    await expect(acc.merge(ref)).rejects.toThrow(/merge.*mode/);
    expect(() => CovarianceAccumulator.load(eng, { dim: 3, mode: 'mean', count: 1, samples: 1, sum: [1, 2] })).toThrow(/load.*'state.sum'/);
    expect(() => CovarianceAccumulator.load(eng, { dim: 1, mode: 'mean', count: 0, samples: 1, sum: [1] })).toThrow(/load.*'state.count'/);
    acc.dispose();
    await expect(acc.add(X)).rejects.toThrow(/disposed/);
    ref.dispose();
    disposeAll(X4, X);
  });
});
