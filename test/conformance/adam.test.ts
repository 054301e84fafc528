/** engine.adamStep (the fused Adam moment update) on every backend against an f64 host reference. */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../ts/backends/native/addon.js';
import { consume, describeEngines, disposeAll, hostRandn } from '../helpers.js';

interface Ref {
  M: Float64Array;
  V: Float64Array;
  N: Float64Array;
  /** Per-entry error scale of N: corr (|b1 m| + |(1 - b1) g|) / (sqrt(V') + eps) + |N|. */
  nScale: Float64Array;
}

function reference(m: ArrayLike<number>, v: ArrayLike<number>, g: ArrayLike<number>, b1: number, b2: number, eps: number, t: number): Ref {
  const n = m.length;
  const corr = Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
  const M = new Float64Array(n),
    V = new Float64Array(n),
    N = new Float64Array(n),
    nScale = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    M[i] = b1 * m[i] + (1 - b1) * g[i];
    V[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    const d = Math.sqrt(V[i]) + eps;
    N[i] = (corr * M[i]) / d;
    nScale[i] = (corr * (Math.abs(b1 * m[i]) + Math.abs((1 - b1) * g[i]))) / d + Math.abs(N[i]);
  }
  return { M, V, N, nScale };
}

describeEngines('adamStep', (h) => {
  const cases: Array<{ shape: [number, number]; t: number; b1: number; b2: number; eps: number; kind: string }> = [
    { shape: [1, 1], t: 1, b1: 0.9, b2: 0.999, eps: 1e-8, kind: 'randn' },
    { shape: [2, 3], t: 1, b1: 0.9, b2: 0.95, eps: 1e-6, kind: 'zero-moments' },
    { shape: [127, 5], t: 7, b1: 0.9, b2: 0.999, eps: 1e-6, kind: 'randn' },
    { shape: [3, 257], t: 1000, b1: 0.8, b2: 0.99, eps: 1e-3, kind: 'randn' },
    { shape: [257, 2], t: 3, b1: 0, b2: 0, eps: 1e-6, kind: 'repeated' },
    { shape: [31, 33], t: 2, b1: 0.9, b2: 0.999, eps: 1e-8, kind: 'zero-gradient' },
  ];
  for (const c of cases) {
    it(`matches the f64 reference: ${c.shape.join('x')} t=${c.t} (${c.kind})`, async () => {
      const { eng } = h;
      const [r, k] = c.shape,
        n = r * k;
      let m = hostRandn(r, k, 1),
        g = hostRandn(r, k, 3);
      let v = hostRandn(r, k, 2).map((x) => x * x);
      if (c.kind === 'zero-moments') (m = new Float64Array(n)), (v = new Float64Array(n));
      if (c.kind === 'repeated') (m = m.fill(0.25)), (v = v.fill(0.5)), (g = g.fill(-1.5));
      if (c.kind === 'zero-gradient') g = new Float64Array(n);
      const Mm = eng.matrix(m, r, k),
        Vm = eng.matrix(v, r, k),
        Gm = eng.matrix(g, r, k);
      // the reference reads the stored (rounded) inputs
      const [ms, vs, gs] = await Promise.all([Mm.toArray(), Vm.toArray(), Gm.toArray()]);
      const out = await eng.adamStep(Mm, Vm, Gm, { beta1: c.b1, beta2: c.b2, eps: c.eps, step: c.t });
      const ref = reference(ms, vs, gs, c.b1, c.b2, c.eps, c.t);
      const [M, V, N] = [await consume(out.M), await consume(out.V), await consume(out.N)];
      const tol = 16 * h.u;
      for (let i = 0; i < n; i++) {
        expect(Math.abs(M[i] - ref.M[i])).toBeLessThanOrEqual(tol * (Math.abs(c.b1 * ms[i]) + Math.abs((1 - c.b1) * gs[i])));
        expect(Math.abs(V[i] - ref.V[i])).toBeLessThanOrEqual(tol * Math.abs(ref.V[i]));
        expect(Math.abs(N[i] - ref.N[i])).toBeLessThanOrEqual(tol * ref.nScale[i]);
      }
      // inputs unchanged
      expect(Array.from(await Mm.toArray())).toEqual(Array.from(ms));
      expect(Array.from(await Gm.toArray())).toEqual(Array.from(gs));
      disposeAll(Mm, Vm, Gm);
    });
  }

  it('first step from zero moments is g / (|g| + eps / sqrt(1 - beta2)) (the GaLore acceptance formula)', async () => {
    const { eng } = h;
    const g = hostRandn(4, 6, 9);
    const Z = eng.zeros(4, 6),
      G = eng.matrix(g, 4, 6);
    const gs = await G.toArray();
    const out = await eng.adamStep(Z, Z, G, { beta1: 0.9, beta2: 0.999, eps: 1e-6, step: 1 });
    const N = await consume(out.N);
    disposeAll(out.M, out.V, Z, G);
    for (let i = 0; i < 24; i++) {
      const want = gs[i] / (Math.abs(gs[i]) + 1e-6 / Math.sqrt(1 - 0.999));
      expect(Math.abs(N[i] - want)).toBeLessThanOrEqual(16 * h.u * (Math.abs(want) + 1e-3));
    }
  });

  it('rejects bad input naming the argument', async () => {
    const { eng } = h;
    const A = eng.zeros(2, 3),
      B = eng.zeros(3, 2);
    const ok = { beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 };
    await expect(eng.adamStep(A, B, A, ok)).rejects.toThrow(/adamStep.*'V' is 3 x 2/);
    await expect(eng.adamStep(A, A, B, ok)).rejects.toThrow(/adamStep.*'G'/);
    await expect(eng.adamStep(A, A, A, { ...ok, beta1: 1 })).rejects.toThrow(RangeError);
    await expect(eng.adamStep(A, A, A, { ...ok, beta2: -0.1 })).rejects.toThrow(/'beta2'/);
    await expect(eng.adamStep(A, A, A, { ...ok, eps: 0 })).rejects.toThrow(/'eps' must be > 0/);
    await expect(eng.adamStep(A, A, A, { ...ok, step: 0 })).rejects.toThrow(/'step'/);
    await expect(eng.adamStep(A, A, A, { ...ok, step: 1.5 })).rejects.toThrow(RangeError);
    await expect(eng.adamStep(A, A, A, { ...ok, beta1: Number.NaN })).rejects.toThrow(/'beta1' must be finite/);
    await expect(eng.adamStep(A, A, A, { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as never)).rejects.toThrow(TypeError);
    await expect(eng.adamStep(A, A, A, { ...ok, lr: 1 } as never)).rejects.toThrow(/unknown option 'lr'/);
    await expect(eng.adamStep(A, A, null as never, ok)).rejects.toThrow(TypeError);
    disposeAll(A, B);
  });
});

describe('adamStep addon binding', () => {
  it('refuses mismatched lengths, mixed dtypes and aliased outputs naming the argument', async () => {
    const addon = loadAddon();
    const f = (n: number): Float32Array => new Float32Array(n);
    expect(() => addon.adamStep(f(4), f(4), f(4), f(4), f(3), f(4), 0.9, 0.99, 1e-8, 1, 1)).toThrow(/adamStep.*'v'.*length 3, expected 4/);
    expect(() => addon.adamStep(f(4), f(4), f(4), f(4), f(4), new Float64Array(4), 0.9, 0.99, 1e-8, 1, 1)).toThrow(/adamStep.*'g'/);
    const shared = f(4);
    expect(() => addon.adamStep(shared, f(4), f(4), shared, f(4), f(4), 0.9, 0.99, 1e-8, 1, 1)).toThrow(/adamStep/);
    expect(() => addon.adamStep(f(4), f(4), f(4), f(4), f(4), f(4), Number.NaN, 0.99, 1e-8, 1, 1)).toThrow(/adamStep.*'beta1'/);
    const [mo, vo, no] = [f(2), f(2), f(2)];
    await addon.adamStep(mo, vo, no, Float32Array.of(1, 0), Float32Array.of(4, 0), Float32Array.of(2, 0), 0.5, 0.5, 0.25, 2, 1);
    // m = 0.5 + 1 = 1.5, v = 2 + 2 = 4, n = 2 * 1.5 / (2 + 0.25)
    expect(Array.from(mo)).toEqual([1.5, 0]);
    expect(Array.from(vo)).toEqual([4, 0]);
    expect(no[0]).toBeCloseTo(3 / 2.25, 6);
    expect(no[1]).toBe(0);
  });
});
