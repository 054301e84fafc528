/**
 * quantizeGroupwise / dequantizeGroupwise (Q-GaLore's asymmetric min-max scheme with the zero-point
 * clamp fixed and padded groups) and pruneNM (magnitude N:M). Acceptance numbers of the spec
 * (rsvd-and-higher-level.md §2): on a 128 x 1024 projector with orthonormal rows, group 256, the
 * relative dequantization error is about 0.11 at INT4 and 0.0065 at INT8, ||Pq Pq^T - I||_F about 0.63
 * and 0.037; stochastic rounding of 0.3 averages to 0.3 within 0.01 over 20k rounds.
 */
import { expect, it } from 'vitest';
import { randomOrthonormalHost } from '../../ts/gen/spectrum.js';
import { dequantizeGroupwise, pruneNM, quantizeGroupwise } from '../../ts/index.js';
import { describeEngines, hostRandn, transposeHost } from '../helpers.js';

describeEngines('quantizeGroupwise', (h) => {
  it('spec acceptance: INT4 ~0.11 and INT8 ~0.0065 relative error on a 128 x 1024 projector (group 256)', async () => {
    // The spec's P is the top-128 right singular vectors of a Gaussian 4096 x 1024 G: Haar-distributed
    // orthonormal rows, generated here directly (same distribution, no 4096 x 1024 SVD in a test).
    const P = h.eng.matrix(transposeHost(randomOrthonormalHost(1024, 128, 15), 1024, 128), 128, 1024);
    const want: Record<number, [number, number]> = { 4: [0.11, 0.63], 8: [0.0065, 0.037] };
    for (const bits of [4, 8]) {
      const q = await quantizeGroupwise(P, { bits });
      expect(q.groupSize).toBe(256);
      expect(q.padded).toBe(0);
      const Pq = dequantizeGroupwise(q, h.eng);
      const E = await h.eng.sub(Pq, P);
      const rel = (await h.eng.norm(E)) / (await h.eng.norm(P));
      const G = await h.eng.matmul(Pq, Pq, { transB: true });
      const I = h.eng.eye(128);
      const GI = await h.eng.sub(G, I);
      const orth = await h.eng.norm(GI);
      const [r0, o0] = want[bits];
      expect(Math.abs(rel - r0) / r0, `INT${bits} relative error ${rel}`).toBeLessThan(0.05);
      expect(Math.abs(orth - o0) / o0, `INT${bits} ||PqPq^T - I|| ${orth}`).toBeLessThan(0.05);
      for (const m of [Pq, E, G, I, GI]) m.dispose();
    }
    P.dispose();
  });

  it('a single-sign group survives (the reference clamp turned [1, 2] into [1, 1] at INT4)', async () => {
    const W = h.eng.matrix([[1, 2, 1.5, 1.25]]);
    for (const bits of [2, 4, 8]) {
      const q = await quantizeGroupwise(W, { bits, groupSize: 2 });
      const D = dequantizeGroupwise(q, h.eng);
      const d = await D.toArray();
      // both ends of a group are on the grid; [1, 2] and [1.5, 1.25] come back exactly (to f32 roundoff)
      for (const [i, v] of [1, 2, 1.5, 1.25].entries()) expect(Math.abs(d[i] - v), `bits ${bits}`).toBeLessThan(4e-7 * 2);
      D.dispose();
    }
    // negative-only, constant and zero groups
    const N = h.eng.matrix([[-5, -3, -5, 7, 7, 7, 0, 0, 0]]);
    const q = await quantizeGroupwise(N, { bits: 3, groupSize: 3 });
    const D = dequantizeGroupwise(q, h.eng);
    const d = await D.toArray();
    const ref = [-5, -3, -5, 7, 7, 7, 0, 0, 0];
    for (let i = 0; i < 9; i++) expect(Math.abs(d[i] - ref[i])).toBeLessThan(1e-5);
    for (const m of [W, N, D]) m.dispose();
  });

  it('nearest rounding errs by at most scale / 2 per entry; the last partial group is padded', async () => {
    for (const [m, n, gs, bits] of [
      [3, 5, 4, 4],
      [1, 1, 256, 8],
      [127, 65, 100, 2],
      [7, 9, 63, 5],
    ]) {
      const W = h.eng.matrix(hostRandn(m, n, m + n), m, n);
      const w = await W.toArray();
      const q = await quantizeGroupwise(W, { bits, groupSize: gs });
      const groups = Math.ceil((m * n) / gs);
      expect(q.codes.length).toBe(groups * gs);
      expect(q.padded).toBe(groups * gs - m * n);
      expect(q.shape).toEqual([m, n]);
      expect(q.codes.every((c) => c < 2 ** bits)).toBe(true);
      const D = dequantizeGroupwise(q, h.eng);
      expect(D.shape).toEqual([m, n]);
      const d = await D.toArray();
      for (let i = 0; i < m * n; i++) {
        const s = q.scale[Math.floor(i / gs)];
        expect(Math.abs(d[i] - w[i]), `${m}x${n} g${gs} entry ${i}`).toBeLessThanOrEqual(s / 2 + 1e-6 * (1 + Math.abs(w[i])));
      }
      W.dispose();
      D.dispose();
    }
  });

  it('stochastic rounding is unbiased: 20k rounds of 0.3 average to 0.3 within 0.01', async () => {
    const N = 20000;
    const x = new Float64Array(N + 2).fill(0.3);
    x[0] = 0;
    x[N + 1] = 1; // one group: min 0, max 1; INT4 grid step 1/15, 0.3 = 4.5 steps (the worst case)
    const W = h.eng.matrix(x, 1, N + 2);
    const q = await quantizeGroupwise(W, { bits: 4, groupSize: N + 2, rounding: 'stochastic', seed: 5 });
    const D = dequantizeGroupwise(q, h.eng);
    const d = await D.toArray();
    let s = 0;
    for (let i = 1; i <= N; i++) s += d[i];
    expect(Math.abs(s / N - 0.3)).toBeLessThan(0.01);
    // the two grid values neighbouring 0.3 only
    const vals = new Set(Array.from(d.subarray(1, N + 1), (v) => Math.round(v * 15)));
    expect([...vals].sort()).toEqual([4, 5]);
    // and per entry, over seeds: the mean of 300 roundings is within 5 sigma of every entry
    const R = h.eng.matrix(hostRandn(4, 16, 3), 4, 16);
    const r = await R.toArray();
    const acc = new Float64Array(64);
    const rounds = 300;
    let step = 0;
    for (let t = 0; t < rounds; t++) {
      const qt = await quantizeGroupwise(R, { bits: 3, groupSize: 32, rounding: 'stochastic', seed: t });
      step = Math.max(...qt.scale);
      const Dt = dequantizeGroupwise(qt, h.eng);
      const dt = await Dt.toArray();
      for (let i = 0; i < 64; i++) acc[i] += dt[i] / rounds;
      Dt.dispose();
    }
    for (let i = 0; i < 64; i++) expect(Math.abs(acc[i] - r[i])).toBeLessThan((5 * step) / 2 / Math.sqrt(rounds) + 1e-6);
    for (const m of [W, D, R]) m.dispose();
  });

  it('bad input errors name the function and the argument', async () => {
    const W = h.eng.matrix(hostRandn(4, 4, 1), 4, 4);
    await expect(quantizeGroupwise(W, { bits: 1 })).rejects.toThrow(/^quantizeGroupwise: 'bits'/);
    await expect(quantizeGroupwise(W, { bits: 9 })).rejects.toThrow(RangeError);
    await expect(quantizeGroupwise(W, {} as never)).rejects.toThrow(/quantizeGroupwise: 'bits' is required/);
    await expect(quantizeGroupwise(W, { bits: 4, groupSize: 0 })).rejects.toThrow(/quantizeGroupwise: 'groupSize'/);
    await expect(quantizeGroupwise(W, { bits: 4, rounding: 'up' as never })).rejects.toThrow(/quantizeGroupwise: 'rounding'/);
    await expect(quantizeGroupwise(W, { bits: 4, group: 2 } as never)).rejects.toThrow(/unknown option 'group'/);
    await expect(quantizeGroupwise([1] as never, { bits: 4 })).rejects.toThrow(TypeError);
    const big = h.dtype === 'f64' ? 1e300 : 1e30;
    const B = h.eng.full(2, 2, big);
    const Inf = await h.eng.scale(B, big);
    await expect(quantizeGroupwise(Inf, { bits: 4 })).rejects.toThrow(/^quantizeGroupwise: 'W' must be finite/);
    const q = await quantizeGroupwise(W, { bits: 4, groupSize: 3 });
    expect(() => dequantizeGroupwise({ ...q, scale: q.scale.subarray(1) }, h.eng)).toThrow(/^dequantizeGroupwise: 'q' has 5 scales/);
    expect(() => dequantizeGroupwise({ ...q, padded: 0 }, h.eng)).toThrow(/dequantizeGroupwise: 'q.codes'/);
    const bad = { ...q, codes: q.codes.slice() };
    bad.codes[0] = 16;
    expect(() => dequantizeGroupwise(bad, h.eng)).toThrow(/dequantizeGroupwise: 'q.codes\[0\]' = 16/);
    expect(() => dequantizeGroupwise(null as never, h.eng)).toThrow(TypeError);
    for (const m of [W, B, Inf]) m.dispose();
  });
});

describeEngines('pruneNM', (h) => {
  it('keeps exactly n of every m entries along a row, the largest |w|; W is masked', async () => {
    for (const [rows, cols, n, m] of [
      [7, 12, 2, 4],
      [1, 8, 1, 4],
      [5, 16, 4, 8],
      [3, 9, 3, 3],
    ]) {
      const W = h.eng.matrix(hostRandn(rows, cols, rows * cols), rows, cols);
      const w = await W.toArray();
      const r = await pruneNM(W, { n, m });
      const p = await r.W.toArray();
      for (let i = 0; i < rows; i++)
        for (let c0 = 0; c0 < cols; c0 += m) {
          let kept = 0,
            minKept = Infinity,
            maxDropped = 0;
          for (let c = c0; c < c0 + m; c++) {
            const e = i * cols + c;
            if (r.mask[e]) {
              kept++;
              minKept = Math.min(minKept, Math.abs(w[e]));
              expect(p[e]).toBe(w[e]);
            } else {
              maxDropped = Math.max(maxDropped, Math.abs(w[e]));
              expect(p[e]).toBe(0);
            }
          }
          expect(kept).toBe(n);
          expect(minKept).toBeGreaterThanOrEqual(maxDropped);
        }
      W.dispose();
      r.W.dispose();
    }
  });

  it('ties keep the earlier column; a partial last group keeps min(n, r)', async () => {
    const W = h.eng.matrix([
      [1, -1, 1, -1, 0, 0, 0, 0],
      [2, 3, -3, 3, 5, 5, 5, 5],
    ]);
    const r = await pruneNM(W);
    expect(Array.from(r.mask)).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0]);
    const T = h.eng.matrix([[1, 2, 3, 4, 5, 6]]);
    const t = await pruneNM(T, { n: 3, m: 4 });
    expect(Array.from(await t.W.toArray())).toEqual([0, 2, 3, 4, 5, 6]);
    const t1 = await pruneNM(T, { n: 1, m: 4 });
    expect(Array.from(t1.mask)).toEqual([0, 0, 0, 1, 0, 1]);
    for (const m of [W, r.W, T, t.W, t1.W]) m.dispose();
  });

  it('bad input errors name pruneNM and the argument', async () => {
    const W = h.eng.matrix(hostRandn(2, 8, 1), 2, 8);
    await expect(pruneNM(W, { n: 5, m: 4 })).rejects.toThrow(/^pruneNM: 'n' \(5\) must not exceed 'm' \(4\)/);
    await expect(pruneNM(W, { m: 0 })).rejects.toThrow(/^pruneNM: 'm'/);
    await expect(pruneNM(W, { n: 0 })).rejects.toThrow(/^pruneNM: 'n'/);
    await expect(pruneNM(W, { k: 1 } as never)).rejects.toThrow(/pruneNM: unknown option 'k'/);
    await expect(pruneNM(null as never)).rejects.toThrow(TypeError);
    const big = h.dtype === 'f64' ? 1e300 : 1e30;
    const B = h.eng.full(2, 4, big);
    const Inf = await h.eng.scale(B, big);
    await expect(pruneNM(Inf)).rejects.toThrow(/^pruneNM: 'W' must be finite/);
    for (const m of [W, B, Inf]) m.dispose();
  });
});
