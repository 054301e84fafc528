/**
 * engine.fakeQuantize (group-wise quantize-dequantize on the device, Q-GaLore's INT8 weights) on every
 * backend: nearest against dequantizeGroupwise(quantizeGroupwise(W)), stochastic against a host
 * reference with the same Philox uniforms, unbiasedness, grid membership, seeding, offsets, bad input.
 */
import { describe, expect, it } from 'vitest';
import { dequantizeGroupwise, quantizeGroupwise } from '../../ts/algorithms/model/quantize.js';
import { loadAddon } from '../../ts/backends/native/addon.js';
import { engine } from '../../ts/engine.js';
import { uniformStream } from '../../ts/rng/philox.js';
import { consume, describeEngines, disposeAll, hostRandn, webgpuMissing } from '../helpers.js';

/** Per-group f32 scale and zero point of quantizeGroupwise's scheme. */
function groupGrid(w: ArrayLike<number>, bits: number, gs: number): { s: Float64Array; z: Float64Array } {
  const qmax = 2 ** bits - 1,
    groups = Math.ceil(w.length / gs);
  const s = new Float64Array(groups),
    z = new Float64Array(groups);
  for (let g = 0; g < groups; g++) {
    let lo = Infinity,
      hi = -Infinity;
    for (let i = g * gs; i < Math.min(w.length, (g + 1) * gs); i++) (lo = Math.min(lo, w[i])), (hi = Math.max(hi, w[i]));
    s[g] = Math.fround(hi > lo ? (hi - lo) / qmax : (lo !== 0 ? Math.abs(lo) : 1) / qmax);
    z[g] = Math.fround(-lo / s[g]);
  }
  return { s, z };
}

/** Host reference of the stochastic rounding: u = element offset + i of the stream in the dtype's layout. */
function refStochastic(w: ArrayLike<number>, bits: number, gs: number, seed: number, offset: number, dtype: 'f32' | 'f64'): Float64Array {
  const { s, z } = groupGrid(w, bits, gs);
  const u = uniformStream(w.length, seed, dtype, 0x7167, offset);
  const out = new Float64Array(w.length),
    qmax = 2 ** bits - 1;
  for (let i = 0; i < w.length; i++) {
    const g = Math.floor(i / gs),
      x = w[i] / s[g] + z[g],
      f = Math.floor(x);
    out[i] = s[g] * (Math.min(qmax, Math.max(0, f + (u[i] < x - f ? 1 : 0))) - z[g]);
  }
  return out;
}

function data(kind: string, r: number, c: number, seed: number): Float64Array {
  const w = hostRandn(r, c, seed);
  if (kind === 'zero') return new Float64Array(r * c);
  if (kind === 'repeated') return w.map((x) => (x > 0 ? 0.75 : -2));
  if (kind === 'positive') return w.map((x) => 1 + Math.abs(x));
  if (kind === 'wide-range') return w.map((x, i) => x * 10 ** ((i % 7) - 3));
  return w;
}

const CASES: Array<{ shape: [number, number]; bits: number; gs: number; kind: string }> = [
  { shape: [1, 1], bits: 8, gs: 256, kind: 'randn' },
  { shape: [2, 3], bits: 4, gs: 4, kind: 'randn' },
  { shape: [127, 5], bits: 8, gs: 256, kind: 'randn' },
  { shape: [3, 257], bits: 2, gs: 64, kind: 'positive' },
  { shape: [257, 2], bits: 8, gs: 1, kind: 'randn' },
  { shape: [31, 33], bits: 8, gs: 4096, kind: 'wide-range' },
  { shape: [16, 16], bits: 4, gs: 7, kind: 'repeated' },
  { shape: [5, 9], bits: 8, gs: 16, kind: 'zero' },
  { shape: [64, 80], bits: 8, gs: 256, kind: 'randn' },
];

describeEngines('fakeQuantize', (h) => {
  for (const c of CASES) {
    const [r, k] = c.shape;
    it(`nearest equals dequantizeGroupwise(quantizeGroupwise(W)): ${r}x${k} bits=${c.bits} group=${c.gs} (${c.kind})`, async () => {
      const { eng } = h;
      const W = eng.matrix(data(c.kind, r, k, 11), r, k);
      const w = await W.toArray();
      const q = await quantizeGroupwise(W, { bits: c.bits, groupSize: c.gs });
      const ref = await consume(dequantizeGroupwise(q, eng));
      const out = await consume(eng.fakeQuantize(W, { bits: c.bits, groupSize: c.gs, rounding: 'nearest' }));
      W.dispose();
      const { s } = groupGrid(w, c.bits, c.gs);
      let flips = 0;
      for (let i = 0; i < w.length; i++) {
        const g = Math.floor(i / c.gs),
          d = Math.abs(out[i] - ref[i]);
        const mag = Math.abs(ref[i]) + s[g] * 2 ** c.bits;
        if (h.backend === 'native') expect(d, `entry ${i}`).toBe(0);
        // WebGPU computes the grid and w / scale in f32: a few ulps of the group's range, or (an f32 tie
        // of the rounding) one step of the grid
        else if (d > 8 * h.u * mag) {
          expect(Math.abs(d - s[g]), `entry ${i}`).toBeLessThanOrEqual(8 * h.u * mag);
          flips++;
        }
      }
      expect(flips).toBeLessThanOrEqual(Math.ceil(w.length / 1000));
    });
  }

  it('stochastic equals the host reference with the same Philox uniforms (seed, offset)', async () => {
    const { eng } = h;
    for (const [r, k, gs, bits, seed, offset] of [
      [1, 1, 256, 8, 0, 0],
      [127, 5, 256, 8, 7, 3],
      [3, 257, 64, 4, 2 ** 40 + 5, 2 ** 33 + 1],
      [33, 31, 100, 2, 123, 0],
    ]) {
      const W = eng.matrix(hostRandn(r, k, seed % 1000), r, k);
      const w = await W.toArray();
      const out = await consume(eng.fakeQuantize(W, { bits, groupSize: gs, rounding: 'stochastic', seed, offset }));
      W.dispose();
      const ref = refStochastic(w, bits, gs, seed, offset, h.dtype);
      const { s } = groupGrid(w, bits, gs);
      let flips = 0;
      for (let i = 0; i < w.length; i++) {
        const g = Math.floor(i / gs),
          d = Math.abs(out[i] - ref[i]),
          tol = 8 * h.u * (Math.abs(ref[i]) + s[g] * 2 ** bits);
        if (h.backend === 'native') expect(d, `entry ${i}`).toBeLessThanOrEqual(h.dtype === 'f64' ? 0 : tol);
        else if (d > tol) {
          expect(Math.abs(d - s[g]), `entry ${i}`).toBeLessThanOrEqual(tol);
          flips++;
        }
      }
      expect(flips).toBeLessThanOrEqual(Math.ceil(w.length / 1000));
    }
  });

  it('stochastic: on the group grid, next to w, unbiased over seeds, reproducible', async () => {
    const { eng } = h;
    const [r, k, gs, bits, K] = [16, 40, 128, 4, 96];
    const W = eng.matrix(hostRandn(r, k, 5), r, k);
    const w = await W.toArray();
    const { s, z } = groupGrid(w, bits, gs);
    const mean = new Float64Array(w.length);
    for (let seed = 0; seed < K; seed++) {
      const out = await consume(eng.fakeQuantize(W, { bits, groupSize: gs, rounding: 'stochastic', seed }));
      for (let i = 0; i < w.length; i++) {
        const g = Math.floor(i / gs),
          q = out[i] / s[g] + z[g];
        // on the grid (an integer code in [0, 15]) and one of the two grid points around w
        expect(Math.abs(q - Math.round(q)), `entry ${i}`).toBeLessThan(1e-3);
        expect(Math.round(q)).toBeGreaterThanOrEqual(0);
        expect(Math.round(q)).toBeLessThanOrEqual(2 ** bits - 1);
        expect(Math.abs(out[i] - w[i])).toBeLessThanOrEqual(s[g] * (1 + 1e-3));
        mean[i] += out[i] / K;
      }
    }
    // Bernoulli rounding: sd of the mean of K draws <= s / (2 sqrt(K)); 6 sd per entry, 5 sd for the average
    let avg = 0;
    for (let i = 0; i < w.length; i++) {
      const sg = s[Math.floor(i / gs)];
      expect(Math.abs(mean[i] - w[i]), `entry ${i}`).toBeLessThanOrEqual((6 * sg) / (2 * Math.sqrt(K)) + 1e-5);
      avg += (mean[i] - w[i]) / sg / w.length;
    }
    expect(Math.abs(avg)).toBeLessThanOrEqual(5 / (2 * Math.sqrt(K * w.length)));
    // reproducible per seed; another seed differs
    const a = await consume(eng.fakeQuantize(W, { bits, groupSize: gs, rounding: 'stochastic', seed: 9 }));
    const b = await consume(eng.fakeQuantize(W, { bits, groupSize: gs, rounding: 'stochastic', seed: 9 }));
    const c = await consume(eng.fakeQuantize(W, { bits, groupSize: gs, rounding: 'stochastic', seed: 10 }));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    // offset: rows r0.. of the whole matrix (groups aligned to rows) = those rows alone at offset r0 k
    const r0 = 9;
    const G = eng.matrix(hostRandn(r, 32, 6), r, 32);
    const whole = await consume(eng.fakeQuantize(G, { bits: 8, groupSize: 32, rounding: 'stochastic', seed: 4 }));
    const tail = await eng.slice(G, { rows: [r0, r] });
    const part = await consume(eng.fakeQuantize(tail, { bits: 8, groupSize: 32, rounding: 'stochastic', seed: 4, offset: r0 * 32 }));
    expect(Array.from(part)).toEqual(Array.from(whole.subarray(r0 * 32)));
    disposeAll(W, G, tail);
  });

  it('a group with a non-finite entry is NaN, the other groups are unaffected', async () => {
    const { eng } = h;
    // the engine refuses non-finite input, so overflow entries 1 (+Inf) and 6 (+Inf) by squaring
    const big = h.dtype === 'f64' ? 1e200 : 1e30;
    const X = eng.matrix([1, big, Math.sqrt(3), 2, Math.sqrt(5), Math.sqrt(6), big, Math.sqrt(8)], 2, 4);
    const W = await eng.hadamard(X, X);
    const out = await consume(eng.fakeQuantize(W, { bits: 8, groupSize: 2 }));
    disposeAll(X, W);
    expect(Array.from([0, 1, 6, 7], (i) => Number.isNaN(out[i]))).toEqual([true, true, true, true]);
    for (const [i, v] of [
      [2, 3],
      [3, 4],
      [4, 5],
      [5, 6],
    ])
      expect(out[i]).toBeCloseTo(v, 5);
  });

  it('refuses bad input naming the argument', async () => {
    const { eng } = h;
    const A = eng.randn(3, 4, { seed: 1 });
    const ok = { bits: 8, groupSize: 4 };
    await expect(eng.fakeQuantize(null as never, ok)).rejects.toThrow(TypeError);
    await expect(eng.fakeQuantize(A, null as never)).rejects.toThrow(/fakeQuantize/);
    await expect(eng.fakeQuantize(A, { groupSize: 4 } as never)).rejects.toThrow(/fakeQuantize.*'bits' is required/);
    await expect(eng.fakeQuantize(A, { bits: 8 } as never)).rejects.toThrow(/'groupSize' is required/);
    await expect(eng.fakeQuantize(A, { ...ok, bits: 1 })).rejects.toThrow(RangeError);
    await expect(eng.fakeQuantize(A, { ...ok, bits: 9 })).rejects.toThrow(/'bits'/);
    await expect(eng.fakeQuantize(A, { ...ok, bits: 7.5 })).rejects.toThrow(/'bits'/);
    await expect(eng.fakeQuantize(A, { ...ok, groupSize: 0 })).rejects.toThrow(/'groupSize'/);
    await expect(eng.fakeQuantize(A, { ...ok, groupSize: 4097 })).rejects.toThrow(RangeError);
    await expect(eng.fakeQuantize(A, { ...ok, rounding: 'up' as never })).rejects.toThrow(/'rounding'/);
    await expect(eng.fakeQuantize(A, { ...ok, seed: -1 })).rejects.toThrow(/'seed'/);
    await expect(eng.fakeQuantize(A, { ...ok, offset: 2 ** 53 })).rejects.toThrow(/'offset'/);
    await expect(eng.fakeQuantize(A, { ...ok, step: 1 } as never)).rejects.toThrow(/unknown option 'step'/);
    const B = eng.randn(2, 2);
    B.dispose();
    await expect(eng.fakeQuantize(B, ok)).rejects.toThrow(/fakeQuantize/);
    A.dispose();
  });
});

describe.skipIf(webgpuMissing !== null)('fakeQuantize: native and WebGPU agree for the same seed (f32)', () => {
  it('stochastic INT8 of a 96 x 200 matrix, group 256', async () => {
    const [nat, gpu] = [await engine({ backend: 'native', dtype: 'f32' }), await engine({ backend: 'webgpu', dtype: 'f32' })];
    try {
      const w = hostRandn(96, 200, 21);
      const [A, B] = [nat.matrix(w, 96, 200), gpu.matrix(w, 96, 200)];
      const opts = { bits: 8, groupSize: 256, rounding: 'stochastic', seed: 77, offset: 5 } as const;
      const [a, b] = [await consume(nat.fakeQuantize(A, opts)), await consume(gpu.fakeQuantize(B, opts))];
      const wf = await A.toArray();
      const { s } = groupGrid(wf, 8, 256);
      let flips = 0;
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i] - b[i]),
          tol = 2 ** -20 * (Math.abs(a[i]) + 256 * s[Math.floor(i / 256)]);
        if (d > tol) {
          expect(Math.abs(d - s[Math.floor(i / 256)])).toBeLessThanOrEqual(tol);
          flips++;
        }
      }
      expect(flips).toBeLessThanOrEqual(Math.ceil(a.length / 1000));
      disposeAll(A, B);
    } finally {
      await nat.dispose();
      await gpu.dispose();
    }
  });
});

describe('fakeQuantize addon binding', () => {
  it('refuses mismatched lengths, mixed dtypes, aliasing and bad parameters naming the argument', async () => {
    const addon = loadAddon();
    const f = (n: number): Float32Array => new Float32Array(n);
    const at = [0, 0, 0x7167, 0, 0, 1] as const;
    expect(() => addon.fakeQuantize(f(4), f(3), 8, 2, false, ...at)).toThrow(/fakeQuantize.*'w'.*length 3, expected 4/);
    expect(() => addon.fakeQuantize(f(4), new Float64Array(4), 8, 2, false, ...at)).toThrow(/fakeQuantize.*'w'/);
    const shared = f(4);
    expect(() => addon.fakeQuantize(shared, shared, 8, 2, false, ...at)).toThrow(/fakeQuantize/);
    expect(() => addon.fakeQuantize(f(4), f(4), 9, 2, false, ...at)).toThrow(/fakeQuantize.*'bits'/);
    expect(() => addon.fakeQuantize(f(4), f(4), 8, 0, false, ...at)).toThrow(/fakeQuantize.*'groupSize'/);
    expect(() => addon.fakeQuantize(f(4), f(4), 8, 2, 1 as never, ...at)).toThrow(/fakeQuantize.*'stochastic'/);
    const out = f(4);
    await addon.fakeQuantize(out, Float32Array.of(0, 3, 2, 2), 2, 2, false, ...at);
    // group [0, 3]: scale 1, zero 0 -> exact; group [2, 2]: equal values reproduced
    expect(Array.from(out)).toEqual([0, 3, 2, 2]);
  });
});
