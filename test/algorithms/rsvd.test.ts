/**
 * Randomized SVD against the quality bars of issue 3 (spec rsvd-and-higher-level.md §1.7): matrices
 * with known spectra, errors measured as ratios to the optimal truncation errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { engine, rsvd, rsvdStream, RsvdSketch, svdError, writeNpy, type Engine, type LinearOperator, type Mat } from '../../ts/index.js';
import { describeEngines, diffMax, disposeAll, REQUIRE_WEBGPU, webgpuMissing } from '../helpers.js';
import { spectra, spectrumMatrix, tailFro } from './fixtures.js';

const m = 2000,
  n = 1000,
  k = 10;

/** max_i |sigma_i^2 - ||A^T u_i||^2| / sigma_{k+1}^2 (Musco & Musco's per-vector error). */
async function perVectorError(eng: Engine, A: Mat, U: Mat, s: Float64Array): Promise<number> {
  const ATU = await eng.matmul(A, U, { transA: true });
  const norms = await eng.colNorms(ATU);
  ATU.dispose();
  let worst = 0;
  for (let i = 0; i < U.cols; i++) worst = Math.max(worst, Math.abs(s[i] ** 2 - norms[i] ** 2));
  return worst / s[U.cols] ** 2;
}

describeEngines('rsvd', (h) => {
  it('exact low rank (rank 10, 2000 x 1000, k = 10, p = 10) is recovered to roundoff', async () => {
    const s = spectra.lowRank(10);
    const A = h.eng.matrix(await spectrumMatrix(m, n, s, 1), m, n);
    const { U, S, V, info } = await rsvd(A, { rank: k, seed: 3 });
    const e = await svdError(A, { U, S, V });
    expect(e.relResidualFro).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-12 : 1e-5);
    expect(e.orthU).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-12 : 1e-5);
    for (let i = 0; i < k; i++) expect(Math.abs(S[i] - s[i]) / s[i]).toBeLessThan(h.dtype === 'f64' ? 1e-12 : 1e-5);
    // powerIters 'auto': the Ritz values stop moving after one Krylov block (exact rank 10 < l = 20)
    expect(info.method).toBe('krylov');
    expect(info.stop!.reason).toBe('converged');
    expect(info.powerIters).toBe(1);
    expect(info.passes).toBe(2 * 1 + 2);
    expect(info.matvecs).toBe(info.passes * 20);
    // sign convention: the largest-|.| entry of every column of U is positive
    const { value } = await h.eng.colAbsMax(U);
    for (const v of value) expect(v).toBeGreaterThan(0);
    disposeAll(A, U, V);
  });

  it('s_i = 1/i with q = 2: spectral and Frobenius ratios <= 1.01', async () => {
    const s = spectra.harmonic(n);
    const A = h.eng.matrix(await spectrumMatrix(m, n, s, 2), m, n);
    const { U, S, V } = await rsvd(A, { rank: k, powerIters: 2, seed: 0 });
    const e = await svdError(A, { U, S, V }, { tail: s });
    expect(e.spectralRatio!).toBeLessThanOrEqual(1.01);
    expect(e.frobeniusRatio!).toBeLessThanOrEqual(1.01);
    expect(e.spectralRatio!).toBeGreaterThan(0.99); // the estimate is close to the truth, not a vacuous 0
    disposeAll(A, U, V);
  });

  it("preset 'sklearn' (q = 7, LU normalizer) gets the leading singular values to 1e-6 (f64)", async () => {
    const s = spectra.harmonic(n);
    const A = h.eng.matrix(await spectrumMatrix(m, n, s, 2), m, n);
    const { U, S, V, info } = await rsvd(A, { rank: k, preset: 'sklearn', seed: 5 });
    disposeAll(A, U, V);
    expect(info.normalizer).toBe('lu');
    expect(info.powerIters).toBe(7);
    expect(info.oversample).toBe(10);
    let worst = 0;
    for (let i = 0; i < k; i++) worst = Math.max(worst, Math.abs(S[i] - s[i]) / s[i]);
    expect(worst).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-6 : 1e-4);
  });

  it('gap + flat tail: q = 0 shows the known failure, q = 2 fixes it', async () => {
    const s = spectra.gapFlat(n);
    const A = h.eng.matrix(await spectrumMatrix(m, n, s, 3), m, n);
    let r0 = 0,
      r2 = 0;
    for (const seed of [0, 1, 2]) {
      const a = await rsvd(A, { rank: k, powerIters: 0, seed });
      r0 += (await svdError(A, a, { tail: s })).spectralRatio! / 3;
      const b = await rsvd(A, { rank: k, powerIters: 2, seed });
      r2 += (await svdError(A, b, { tail: s })).spectralRatio! / 3;
      for (const x of [a.U, a.V, b.U, b.V]) x.dispose();
    }
    expect(r0).toBeGreaterThan(5);
    expect(r2).toBeLessThanOrEqual(1.01);
    A.dispose();
  });

  it('block Krylov beats subspace iteration in per-vector error at a smaller matvec budget', async () => {
    const s = spectra.sqrt(n);
    const A = h.eng.matrix(await spectrumMatrix(m, n, s, 4), m, n);
    let hmt = 0,
      bk = 0;
    for (const seed of [0, 1, 2]) {
      const a = await rsvd(A, { rank: k, oversample: 10, powerIters: 3, seed });
      const b = await rsvd(A, { rank: k, oversample: 0, powerIters: 4, method: 'krylov', seed });
      expect(b.info.matvecs).toBeLessThanOrEqual(a.info.matvecs);
      hmt += (await perVectorError(h.eng, A, a.U, s)) / 3;
      bk += (await perVectorError(h.eng, A, b.U, s)) / 3;
      for (const x of [a.U, a.V, b.U, b.V]) x.dispose();
    }
    expect(bk).toBeLessThan(hmt);
    A.dispose();
  });

  it('sparse (CSR) and LinearOperator inputs give the dense answer', async () => {
    const { eng } = h;
    const mm = 400,
      nn = 300;
    const row: number[] = [],
      col: number[] = [],
      val: number[] = [];
    const dense = new Float64Array(mm * nn);
    let x = 12345;
    for (let i = 0; i < mm; i++)
      for (let j = 0; j < nn; j++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        if (x % 10 === 0 || (i < 30 && j < 30)) {
          const v = ((x >>> 8) % 2000) / 1000 - 1 + (i < 30 && j < 30 ? 3 : 0);
          row.push(i);
          col.push(j);
          val.push(v);
          dense[i * nn + j] = v;
        }
      }
    const D = eng.matrix(dense, mm, nn);
    const Sp = eng.sparse({ rows: mm, cols: nn, row, col, val });
    const op: LinearOperator = {
      engine: eng,
      rows: mm,
      cols: nn,
      apply: (X) => eng.matmul(D, X),
      applyT: (Y) => eng.matmul(D, Y, { transA: true }),
    };
    const opts = { rank: 5, powerIters: 3, seed: 9 };
    const a = await rsvd(D, opts),
      b = await rsvd(Sp, opts),
      c = await rsvd(op, opts);
    const tol = h.dtype === 'f64' ? 1e-9 : 2e-3;
    for (const other of [b, c]) {
      for (let i = 0; i < 5; i++) expect(Math.abs(other.S[i] - a.S[i]) / a.S[0]).toBeLessThan(tol);
      expect(diffMax(await other.U.toArray(), await a.U.toArray())).toBeLessThan(tol * 10);
      expect(diffMax(await other.V.toArray(), await a.V.toArray())).toBeLessThan(tol * 10);
      expect(other.info.passes).toBe(a.info.passes);
    }
    const e = await svdError(Sp, b);
    const e2 = await svdError(D, a);
    expect(Math.abs(e.relResidualFro - e2.relResidualFro)).toBeLessThan(h.dtype === 'f64' ? 1e-8 : 1e-3);
    const e3 = await svdError(op, c);
    expect(Math.abs(e3.relResidualFro - e2.relResidualFro)).toBeLessThan(h.dtype === 'f64' ? 1e-8 : 1e-3);
    for (const x of [D, Sp, a.U, a.V, b.U, b.V, c.U, c.V]) x.dispose();
  });

  it('implicit centering equals the SVD of the explicitly centered matrix', async () => {
    const { eng } = h;
    const mm = 300,
      nn = 120;
    const s = spectra.exponential(nn, 0.8);
    const a = await spectrumMatrix(mm, nn, s, 6);
    const shifted = Float64Array.from(a, (v, i) => v + 3 + (i % nn) * 0.01); // column offsets
    const mean = new Float64Array(nn);
    for (let i = 0; i < mm; i++) for (let j = 0; j < nn; j++) mean[j] += shifted[i * nn + j] / mm;
    const centeredHost = Float64Array.from(shifted, (v, i) => v - mean[i % nn]);
    const M1 = eng.matrix(shifted, mm, nn),
      M2 = eng.matrix(centeredHost, mm, nn);
    const r1 = await rsvd(M1, { rank: 6, center: true, seed: 2, powerIters: 4 });
    const r2 = await rsvd(M2, { rank: 6, seed: 2, powerIters: 4 });
    for (let i = 0; i < 6; i++) expect(Math.abs(r1.S[i] - r2.S[i]) / r2.S[0]).toBeLessThan(h.dtype === 'f64' ? 1e-10 : 1e-4);
    expect(r1.info.passes).toBe(r2.info.passes + 1);
    disposeAll(M1, M2, r1.U, r1.V, r2.U, r2.V);
  });

  it('normalizers cholqr2, lu, none and presets torch/fbpca give accurate results', async () => {
    const s = spectra.exponential(200, 0.9);
    const A = h.eng.matrix(await spectrumMatrix(500, 200, s, 7), 500, 200);
    for (const o of [
      { normalizer: 'cholqr2' as const },
      { normalizer: 'lu' as const },
      { normalizer: 'none' as const, powerIters: 1 },
      { preset: 'torch' as const },
      { preset: 'fbpca' as const },
      { method: 'krylov' as const, normalizer: 'cholqr2' as const },
    ]) {
      const r = await rsvd(A, { rank: 8, seed: 1, ...o });
      const e = await svdError(A, r, { tail: s });
      expect(e.frobeniusRatio!, JSON.stringify(o)).toBeLessThan(o.preset === 'torch' || o.preset === 'fbpca' ? 1.5 : 1.05);
      expect(e.orthU).toBeLessThan(h.dtype === 'f64' ? 1e-10 : 1e-4);
      if (o.preset === 'torch') expect([r.info.oversample, r.info.powerIters, r.info.normalizer]).toEqual([0, 2, 'qr']);
      if (o.preset === 'fbpca') expect([r.info.oversample, r.info.powerIters, r.info.normalizer]).toEqual([2, 2, 'lu']);
      for (const x of [r.U, r.V]) x.dispose();
    }
    // fbpca's small-problem rule: l >= min(m, n) / 1.25 -> exact SVD
    const small = h.eng.matrix(await spectrumMatrix(30, 20, spectra.exponential(20), 8), 30, 20);
    const r = await rsvd(small, { rank: 15, preset: 'fbpca' });
    expect(r.info.exact).toBe(true);
    disposeAll(A, small, r.U, r.V);
  });

  it('streaming: error within the documented bound, merged sketches equal the one-shot sketch', async () => {
    const { eng } = h;
    const mm = 1000,
      nn = 800,
      r = 5;
    const s = spectra.exponential(nn, 0.8);
    const a = await spectrumMatrix(mm, nn, s, 10);
    const cut = [0, 300, 600, 1000];
    const block = (i: number) => (h.dtype === 'f64' ? a : Float32Array.from(a)).subarray(cut[i] * nn, cut[i + 1] * nn);
    // one sketch, three blocks
    const one = RsvdSketch.create(eng, { cols: nn, rank: r, seed: 4 });
    for (let i = 0; i < 3; i++) await one.add(block(i));
    const res1 = await one.finalize();
    const A = eng.matrix(a, mm, nn);
    const err = (await svdError(A, res1)).residualFro;
    expect(err).toBeLessThanOrEqual(5 * tailFro(s, r)); // E||A - U S V^T||_F <= 5 tau_{r+1}
    // two workers: rows 0..600 and 600..1000, merged (W adds, Y stacks); one goes through export/load
    const w1 = RsvdSketch.create(eng, { cols: nn, rank: r, seed: 4 });
    await w1.add(block(0), 0);
    await w1.add(block(1), 300);
    const w2 = RsvdSketch.create(eng, { cols: nn, rank: r, seed: 4 });
    await w2.add(block(2), 600);
    const w2b = await RsvdSketch.load(eng, await w2.export());
    await w1.merge(w2b);
    const res2 = await w1.finalize();
    const scale = h.dtype === 'f64' ? 1e-12 : 1e-5;
    for (let i = 0; i < r; i++) expect(Math.abs(res2.S[i] - res1.S[i]) / res1.S[0]).toBeLessThan(scale);
    expect(diffMax(await res2.U.toArray(), await res1.U.toArray())).toBeLessThan(100 * scale);
    // out of order, and through rsvdStream from an async iterable and from a .npy file
    const gen = async function* () {
      for (let i = 0; i < 3; i++) yield block(i);
    };
    const res3 = await rsvdStream(gen(), { engine: eng, cols: nn, rank: r, seed: 4 });
    for (let i = 0; i < r; i++) expect(Math.abs(res3.S[i] - res1.S[i]) / res1.S[0]).toBeLessThan(scale);
    const dir = mkdtempSync(path.join(tmpdir(), 'lowrank-stream-'));
    try {
      const file = path.join(dir, 'A.npy');
      await writeNpy(file, h.dtype === 'f64' ? a : Float32Array.from(a), [mm, nn]);
      const seen: number[] = [];
      const res4 = await rsvdStream(file, { engine: eng, rank: r, seed: 4, blockRows: 300, onProgress: (p) => seen.push(p.rows) });
      expect(seen).toEqual([300, 600, 900, 1000]);
      for (let i = 0; i < r; i++) expect(Math.abs(res4.S[i] - res1.S[i]) / res1.S[0]).toBeLessThan(scale);
      disposeAll(res4.U, res4.V);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // misuse: overlapping rows, gaps, foreign parameters
    const bad = RsvdSketch.create(eng, { cols: nn, rank: r, seed: 4 });
    await bad.add(block(0), 0);
    await expect(bad.add(block(0), 100)).rejects.toThrow(/overlap/);
    await bad.add(block(2), 600);
    await expect(bad.finalize()).rejects.toThrow(/rows 300\.\.600 were never added/);
    const other = RsvdSketch.create(eng, { cols: nn, rank: r, seed: 5 });
    await expect(bad.merge(other)).rejects.toThrow(/same seed/);
    for (const x of [one, w1, w2, w2b, bad, other]) x.dispose();
    disposeAll(A, res1.U, res1.V, res2.U, res2.V, res3.U, res3.V);
  });

  it('streaming: the a-posteriori error estimate tracks the true error, flags a heavy tail, survives export/merge', async () => {
    const { eng } = h;
    const host = (a: Float64Array) => (h.dtype === 'f64' ? a : Float32Array.from(a));
    const cases = [
      { name: 'exponential 0.8', mm: 600, nn: 300, r: 5, s: spectra.exponential(300, 0.8), poor: false },
      { name: 'flat', mm: 600, nn: 300, r: 10, s: Float64Array.from({ length: 300 }, () => 1), poor: true },
    ];
    for (const c of cases) {
      const a = await spectrumMatrix(c.mm, c.nn, c.s, 21);
      const res = await rsvdStream([host(a)], { engine: eng, cols: c.nn, rank: c.r, seed: 9 });
      const A = eng.matrix(a, c.mm, c.nn);
      const truth = (await svdError(A, res)).residualFro;
      const est = res.info.errorEstimate!;
      expect(est.testSize, c.name).toBe(10);
      // unbiased estimate of ||A - U S V^T||_F^2 from 10 Gaussian test vectors: at worst chi^2_10 / 10
      // times the truth, in [0.25, 2.56] with probability ~0.99 (seeded here)
      expect(est.fro / truth, c.name).toBeGreaterThan(0.5);
      expect(est.fro / truth, c.name).toBeLessThan(1.6);
      expect(Math.abs(est.normFro - tailFro(c.s, 0)) / tailFro(c.s, 0), c.name).toBeLessThan(h.dtype === 'f64' ? 1e-10 : 1e-5);
      expect(est.relFro).toBeCloseTo(est.fro / est.normFro, 12);
      if (c.poor) {
        // a flat spectrum: the single-pass reconstruction inflates sigma_1 (a property of the method)
        expect(res.S[0]).toBeGreaterThan(1.5);
        expect(est.relFro).toBeGreaterThan(0.9);
        expect(est.warning).toMatch(/inflated|missed/);
      } else {
        expect(est.relFro).toBeLessThan((2 * tailFro(c.s, c.r)) / tailFro(c.s, 0)); // optimal 0.33
        expect(est.warning).toBeUndefined();
      }
      // the same estimate from two workers merged through export/load
      const w1 = RsvdSketch.create(eng, { cols: c.nn, rank: c.r, seed: 9 });
      await w1.add(host(a).subarray(0, 250 * c.nn), 0);
      const w2 = RsvdSketch.create(eng, { cols: c.nn, rank: c.r, seed: 9 });
      await w2.add(host(a).subarray(250 * c.nn), 250);
      const w2b = await RsvdSketch.load(eng, await w2.export());
      await w1.merge(w2b);
      const merged = await w1.finalize();
      const tol = h.dtype === 'f64' ? 1e-9 : 1e-3;
      expect(Math.abs(merged.info.errorEstimate!.fro - est.fro) / est.fro, c.name).toBeLessThan(tol);
      expect(Math.abs(merged.info.errorEstimate!.normFro - est.normFro) / est.normFro, c.name).toBeLessThan(tol);
      for (const x of [w1, w2, w2b]) x.dispose();
      for (const x of [A, res.U, res.V, merged.U, merged.V]) x.dispose();
    }
    // testSize 0: no estimate
    const a = await spectrumMatrix(200, 100, spectra.exponential(100, 0.5), 2);
    const off = await rsvdStream([host(a)], { engine: eng, cols: 100, rank: 3, testSize: 0 });
    expect(off.info.errorEstimate).toBeUndefined();
    await expect(rsvdStream([host(a)], { engine: eng, cols: 100, rank: 3, testSize: -1 })).rejects.toThrow(/testSize/);
    off.U.dispose();
    off.V.dispose();
    // a NaN in a later block is reported at its row in the whole matrix
    const withNan = host(a).slice();
    withNan[153 * 100 + 5] = NaN;
    const blocks = [withNan.subarray(0, 100 * 100), withNan.subarray(100 * 100)];
    await expect(rsvdStream(blocks, { engine: eng, cols: 100, rank: 3 })).rejects.toThrow(/entry \(row 153, col 5\).* = NaN is not finite/);
  });

  it('streaming with the default sketch sizes: sigma_1 is sane on slowly decaying spectra (i^-1/2, 1/i)', async () => {
    const { eng } = h;
    for (const [name, s] of [
      ['sqrt', spectra.sqrt(400)],
      ['harmonic', spectra.harmonic(400)],
    ] as const) {
      const a = await spectrumMatrix(1000, 400, s, 5);
      const res = await rsvdStream([h.dtype === 'f64' ? a : Float32Array.from(a)], { engine: eng, cols: 400, rank: 20, seed: 1 });
      expect(Math.abs(res.S[0] - 1), name).toBeLessThan(0.05); // sigma_1 = 1
      expect(res.S[19] / s[19], name).toBeLessThan(1.5);
      res.U.dispose();
      res.V.dispose();
    }
  });

  it('bad input gets clear errors', async () => {
    const { eng } = h;
    const A = eng.randn(20, 10, { seed: 1 });
    await expect(rsvd(A, { rank: 0 })).rejects.toThrow(/'rank' must be an integer in \[1, 10\]/);
    await expect(rsvd(A, { rank: 11 })).rejects.toThrow(RangeError);
    await expect(rsvd(A, { rank: 2, oversample: -1 })).rejects.toThrow(/'oversample'/);
    await expect(rsvd(A, {} as never)).rejects.toThrow(/'rank' is required/);
    await expect(rsvd(A, { rank: 2, methd: 'krylov' } as never)).rejects.toThrow(/unknown option 'methd'/);
    await expect(rsvd(A, { rank: 2, method: 'lanczos' as never })).rejects.toThrow(/'method'/);
    await expect(rsvd([[1, 2]] as never, { rank: 1 })).rejects.toThrow(TypeError);
    if (h.dtype === 'f32') await expect(rsvd(A, { rank: 2, normalizer: 'none', powerIters: 3 })).rejects.toThrow(/refused in f32/);
    const nanOp: LinearOperator = {
      engine: eng,
      rows: 20,
      cols: 10,
      // an operator whose output overflows to Infinity (Mats themselves never hold NaN/Inf from input)
      apply: async (X) => {
        const F = eng.full(20, X.cols, h.dtype === 'f32' ? 1e30 : 1e300);
        const out = await eng.scale(F, h.dtype === 'f32' ? 1e30 : 1e300);
        F.dispose();
        return out;
      },
      applyT: async (Y) => eng.full(10, Y.cols, 1),
    };
    await expect(rsvd(nanOp, { rank: 2 })).rejects.toThrow(RangeError);
    const emptyOp = { engine: eng, rows: 0, cols: 10, apply: async (X: Mat) => X, applyT: async (Y: Mat) => Y };
    await expect(rsvd(emptyOp as never, { rank: 1 })).rejects.toThrow(/'A.rows'/);
    const wrongOp: LinearOperator = {
      engine: eng,
      rows: 20,
      cols: 10,
      apply: async (X) => eng.zeros(19, X.cols),
      applyT: async (Y) => eng.zeros(10, Y.cols),
    };
    await expect(rsvd(wrongOp, { rank: 2 })).rejects.toThrow(/returned a 19 x 10 matrix, expected 20 x 10/);
    const sk = RsvdSketch.create(eng, { cols: 10, rank: 2 });
    await expect(sk.add(new Float64Array([1, 2, NaN, 4, 5, 6, 7, 8, 9, 10]))).rejects.toThrow(/not finite/);
    await expect(sk.add(new Float64Array(7))).rejects.toThrow(/whole rows/);
    await expect(sk.finalize()).rejects.toThrow(/empty/);
    sk.dispose();
    await expect(rsvdStream('/nonexistent/A.npy', { engine: eng, rank: 2 })).rejects.toThrow();
    A.dispose();
  });
});

describe('rsvd across backends', () => {
  const skip = !!webgpuMissing && !REQUIRE_WEBGPU;
  it.skipIf(skip)('native f32 and webgpu f32 agree for the same seed', async () => {
    const s = spectra.harmonic(300);
    const a = await spectrumMatrix(600, 300, s, 11);
    const [nat, gpu] = [await engine({ backend: 'native' }), await engine({ backend: 'webgpu' })];
    try {
      const r1 = await rsvd(nat.matrix(a, 600, 300), { rank: 8, powerIters: 3, seed: 21 });
      const r2 = await rsvd(gpu.matrix(a, 600, 300), { rank: 8, powerIters: 3, seed: 21 });
      for (let i = 0; i < 8; i++) expect(Math.abs(r1.S[i] - r2.S[i]) / s[0]).toBeLessThan(1e-4);
      // same Omega (Philox), same sign convention: the leading vectors agree
      const u1 = await r1.U.toArray(),
        u2 = await r2.U.toArray();
      let worst = 0;
      for (let i = 0; i < 600; i++) for (let j = 0; j < 4; j++) worst = Math.max(worst, Math.abs(u1[i * 8 + j] - u2[i * 8 + j]));
      expect(worst).toBeLessThan(1e-3);
    } finally {
      await nat.dispose();
      await gpu.dispose();
    }
  });
});
