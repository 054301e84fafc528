/**
 * Grassmann optimization (GCR's rsgd step and head) and the Flag Aggregator: relations against f64 host
 * references (the expm form of the geodesic, explicit weighted flag means), the spec's acceptance numbers
 * (descent -4.057 -> -4.367; cos >= 0.9 with 3 Byzantine workers of 15 where the mean is <= 0.7), and bad input.
 */
import { expect, it } from 'vitest';
import { flagAggregate, grassmannLogits, grassmannStep, reorthonormalize, type Mat } from '../../ts/index.js';
import {
  consume,
  describeEngines,
  disposeAll,
  frob,
  hostRandn,
  orthDefect,
  randomOrthonormal,
  refMatmul,
  transposeHost,
} from '../helpers.js';
import { GCR_D, GCR_K, GCR_S, GCR_X } from './grassmann-fixture.js';

type H = Float64Array;

/** f(S) = -||S^T x||^2 and its Euclidean gradient -2 x x^T S (host). */
function fval(S: ArrayLike<number>, D: number, k: number, x: ArrayLike<number>): number {
  const y = refMatmul(S, D, k, x, D, 1, true);
  return -(frob(y) ** 2);
}
function fgrad(S: ArrayLike<number>, D: number, k: number, x: ArrayLike<number>): H {
  const y = refMatmul(S, D, k, x, D, 1, true); // k
  const g = new Float64Array(D * k);
  for (let i = 0; i < D; i++) for (let j = 0; j < k; j++) g[i * k + j] = -2 * x[i] * y[j];
  return g;
}

/** expm of an n x n matrix (host, f64): scaling and squaring with a degree-18 Taylor polynomial. */
function expmHost(A: H, n: number): H {
  let nrm = 0;
  for (const v of A) nrm = Math.max(nrm, Math.abs(v));
  const s = Math.max(0, Math.ceil(Math.log2(nrm * n + 1e-300)) + 1);
  const B = Float64Array.from(A, (v) => v / 2 ** s);
  let E = new Float64Array(n * n);
  let T = new Float64Array(n * n);
  for (let i = 0; i < n; i++) E[i * n + i] = T[i * n + i] = 1;
  for (let j = 1; j <= 18; j++) {
    T = Float64Array.from(refMatmul(T, n, n, B, n, n), (v) => v / j);
    for (let i = 0; i < n * n; i++) E[i] += T[i];
  }
  for (let i = 0; i < s; i++) E = refMatmul(E, n, n, E, n, n);
  return E;
}

describeEngines('grassmannStep', (h) => {
  const up = (a: ArrayLike<number>, r: number, c: number): Mat => h.eng.matrix(Float64Array.from(a), r, c);
  const tol = (c: number) => c * (h.dtype === 'f64' ? 1e-13 : 1e-5);

  it("decreases -||S^T x||^2 from -4.057 to -4.367 (the spec's geodesic step, lr 0.1)", async () => {
    const f0 = fval(GCR_S, GCR_D, GCR_K, GCR_X);
    expect(f0).toBeCloseTo(-4.057, 3);
    const S = up(GCR_S, GCR_D, GCR_K);
    const Eg = up(fgrad(GCR_S, GCR_D, GCR_K, GCR_X), GCR_D, GCR_K);
    for (const retraction of ['geodesic', 'qr', 'polar'] as const) {
      const out = await grassmannStep(S, Eg, { lr: 0.1, retraction });
      const s1 = await consume(out.S);
      expect(orthDefect(s1, GCR_D, GCR_K)).toBeLessThan(tol(10));
      const f1 = fval(s1, GCR_D, GCR_K, GCR_X);
      if (retraction === 'geodesic') expect(f1).toBeCloseTo(-4.367, 3);
      expect(f1).toBeLessThan(f0 - 0.2);
    }
    disposeAll(S, Eg);
  });

  it('geodesic step equals [S, H] expm(t [[0, -H^T H], [I, 0]]) [I; 0] (H = -xi, Edelman et al.)', async () => {
    const D = 7,
      k = 3,
      t = 0.7;
    const s = randomOrthonormal(D, k, 11);
    const g = hostRandn(D, k, 12);
    // xi = g - S S^T g; H = -xi
    const StG = refMatmul(s, D, k, g, D, k, true);
    const SSg = refMatmul(s, D, k, StG, k, k);
    const Hh = Float64Array.from(g, (v, i) => -(v - SSg[i]));
    const HtH = refMatmul(Hh, D, k, Hh, D, k, true);
    const n = 2 * k;
    const A = new Float64Array(n * n);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) A[i * n + k + j] = -t * HtH[i * k + j];
      A[(k + i) * n + i] = t;
    }
    const Ex = expmHost(A, n);
    // [S, H] (D x 2k) times the first k columns of Ex
    const SH = new Float64Array(D * n);
    for (let i = 0; i < D; i++)
      for (let j = 0; j < k; j++) {
        SH[i * n + j] = s[i * k + j];
        SH[i * n + k + j] = Hh[i * k + j];
      }
    const Ex1 = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) Ex1[i * k + j] = Ex[i * n + j];
    const ref = refMatmul(SH, D, n, Ex1, n, k);
    const S = up(s, D, k),
      Eg = up(g, D, k);
    const out = await consume(grassmannStep(S, Eg, { lr: t }).then((r) => r.S));
    disposeAll(S, Eg);
    let e = 0;
    for (let i = 0; i < ref.length; i++) e = Math.max(e, Math.abs(out[i] - ref[i]));
    expect(e).toBeLessThan(tol(10));
  });

  it('keeps S^T S = I over 40 steps for every retraction (geodesic: with and without GCR re-orthonormalization every 5)', async () => {
    const { eng } = h;
    const D = h.backend === 'webgpu' ? 33 : 127,
      k = 5;
    for (const [retraction, every5] of [
      ['geodesic', true],
      ['geodesic', false],
      ['qr', false],
      ['polar', false],
    ] as const) {
      let S: Mat = up(randomOrthonormal(D, k, 3), D, k);
      for (let step = 1; step <= 40; step++) {
        const Eg = eng.randn(D, k, { seed: 100 + step });
        const out = await grassmannStep(S, Eg, { lr: 0.05, retraction, reorthonormalize: every5 && step % 5 === 0 });
        disposeAll(S, Eg);
        S = out.S;
      }
      const d = orthDefect(await consume(S), D, k);
      // the geodesic alone drifts by roundoff per step; QR / polar / re-orthonormalized are at roundoff
      expect(d, `${retraction}${every5 ? ' + reorth' : ''}`).toBeLessThan(every5 || retraction !== 'geodesic' ? tol(10) : tol(100));
    }
  });

  it('descends for small lr on f(S) = -tr(S^T A S), and momentum follows GCR (first buffer = gradient, then beta buf + g)', async () => {
    const { eng } = h;
    const D = 20,
      k = 3;
    const G0 = hostRandn(D, D, 5);
    const Ah = refMatmul(G0, D, D, G0, D, D, false, true);
    const f = (s: ArrayLike<number>) => {
      const AS = refMatmul(Ah, D, D, s, D, k);
      let v = 0;
      for (let i = 0; i < D * k; i++) v -= s[i] * AS[i];
      return v;
    };
    const s0 = randomOrthonormal(D, k, 6);
    const A = up(Ah, D, D);
    const S = up(s0, D, k);
    const AS = await eng.matmul(A, S);
    const Eg = await eng.scale(AS, -2);
    for (const retraction of ['geodesic', 'qr', 'polar'] as const) {
      const s1 = await consume(grassmannStep(S, Eg, { lr: 1e-3, retraction }).then((r) => r.S));
      expect(f(s1)).toBeLessThan(f(s0));
    }
    // momentum: step 1 buffer = g1; step 2 buffer = beta g1 + g2
    const r1 = await grassmannStep(S, Eg, { lr: 1e-3, momentum: { beta: 0.9 } });
    const plain = await consume(grassmannStep(S, Eg, { lr: 1e-3 }).then((r) => r.S));
    const s1 = await r1.S.toArray();
    let e = 0;
    for (let i = 0; i < s1.length; i++) e = Math.max(e, Math.abs(s1[i] - plain[i]));
    expect(e).toBeLessThan(tol(1));
    const b1 = await r1.buffer!.toArray();
    const g1 = await Eg.toArray();
    for (let i = 0; i < g1.length; i++) expect(Math.abs(b1[i] - g1[i])).toBeLessThanOrEqual(0);
    const g2 = eng.randn(D, k, { seed: 9 });
    const r2 = await grassmannStep(r1.S, g2, { lr: 1e-3, momentum: { beta: 0.9, buffer: r1.buffer } });
    const b2 = await r2.buffer!.toArray();
    const g2h = await g2.toArray();
    for (let i = 0; i < g1.length; i++) expect(Math.abs(b2[i] - (0.9 * g1[i] + g2h[i]))).toBeLessThan(tol(10) * (1 + Math.abs(b2[i])));
    // r2.S: the step along the projection of the buffer = the plain step with egrad = buffer
    const viaBuf = await consume(grassmannStep(r1.S, r2.buffer!, { lr: 1e-3 }).then((r) => r.S));
    const s2 = await r2.S.toArray();
    for (let i = 0; i < s2.length; i++) expect(Math.abs(s2[i] - viaBuf[i])).toBeLessThan(tol(1));
    disposeAll(A, S, AS, Eg, r1.S, r1.buffer, g2, r2.S, r2.buffer);
  });

  it('lr 0 and a zero gradient leave S in place; k = D and k = 1 work', async () => {
    const { eng } = h;
    for (const [D, k] of [
      [4, 4],
      [9, 1],
    ]) {
      const s = randomOrthonormal(D, k, 21);
      const S = up(s, D, k);
      const Z = eng.zeros(D, k);
      const Eg = eng.randn(D, k, { seed: 2 });
      for (const retraction of ['geodesic', 'qr', 'polar'] as const) {
        for (const [g, lr] of [
          [Z, 0.3],
          [Eg, 0],
        ] as const) {
          const out = await consume(grassmannStep(S, g, { lr, retraction }).then((r) => r.S));
          let e = 0;
          for (let i = 0; i < s.length; i++) e = Math.max(e, Math.abs(out[i] - s[i]));
          expect(e, `${retraction} D=${D} k=${k}`).toBeLessThan(tol(10));
        }
      }
      disposeAll(S, Z, Eg);
    }
  });

  it('reorthonormalize: same span, orthonormal, identity on orthonormal input', async () => {
    const D = 30,
      k = 4;
    const s = randomOrthonormal(D, k, 8);
    const S = up(s, D, k);
    const same = await consume(reorthonormalize(S));
    let e = 0;
    for (let i = 0; i < s.length; i++) e = Math.max(e, Math.abs(same[i] - s[i]));
    expect(e).toBeLessThan(tol(10));
    // a skewed basis of the same span
    const M = hostRandn(k, k, 9);
    const Y = up(refMatmul(s, D, k, M, k, k), D, k);
    const q = await consume(reorthonormalize(Y));
    expect(orthDefect(q, D, k)).toBeLessThan(tol(10));
    const Pq = refMatmul(s, D, k, q, D, k, true); // S^T Q: orthogonal k x k when spans agree
    expect(orthDefect(Pq, k, k)).toBeLessThan(tol(100));
    disposeAll(S, Y);
  });

  it('bad input: non-orthonormal S, NaN, shape mismatches, bad options', async () => {
    const { eng } = h;
    const D = 10,
      k = 3;
    const S = up(randomOrthonormal(D, k, 1), D, k);
    const Sbad = await eng.scale(S, 1.01);
    const Eg = eng.randn(D, k, { seed: 1 });
    const wrong = eng.randn(D, k + 1, { seed: 1 });
    await expect(grassmannStep(Sbad, Eg, { lr: 0.1 })).rejects.toThrow(/grassmannStep.*'S'.*orthonormal/);
    await expect(grassmannStep(S, wrong, { lr: 0.1 })).rejects.toThrow(RangeError);
    await expect(grassmannStep(S, wrong, { lr: 0.1 })).rejects.toThrow(/grassmannStep.*'egrad'/);
    await expect(grassmannStep(S, Eg, { lr: -1 })).rejects.toThrow(/grassmannStep.*'lr'/);
    await expect(grassmannStep(S, Eg, { lr: NaN })).rejects.toThrow(/grassmannStep.*'lr'/);
    await expect(grassmannStep(S, Eg, { lr: 0.1, retraction: 'cayley' as 'qr' })).rejects.toThrow(/grassmannStep.*'retraction'/);
    await expect(grassmannStep(S, Eg, { lr: 0.1, momentum: { beta: 1 } })).rejects.toThrow(/grassmannStep.*beta/);
    await expect(grassmannStep(S, Eg, { lr: 0.1, momentum: { beta: 0.9, buffer: wrong } })).rejects.toThrow(/grassmannStep.*buffer/);
    await expect(grassmannStep(S, Eg, { lr: 0.1, lrr: 1 } as never)).rejects.toThrow(TypeError);
    await expect(grassmannStep(S, Eg, undefined as never)).rejects.toThrow(/grassmannStep/);
    await expect(grassmannStep(S, 'x' as never, { lr: 0.1 })).rejects.toThrow(TypeError);
    await expect(grassmannStep(Eg, Eg, { lr: 0.1 })).rejects.toThrow(/orthonormal/);
    const T = eng.randn(k, D, { seed: 3 });
    await expect(grassmannStep(T, T, { lr: 0.1 })).rejects.toThrow(/k <= D/);
    await expect(reorthonormalize(T)).rejects.toThrow(/reorthonormalize.*k <= D/);
    // Infinity in the gradient (engine.matrix rejects non-finite data: overflow makes it)
    const big = await eng.scale(Eg, 1e200);
    const inf = await eng.scale(big, 1e200);
    expect(Number.isFinite(await eng.norm(inf, 'max'))).toBe(false);
    await expect(grassmannStep(S, inf, { lr: 0.1 })).rejects.toThrow(/grassmannStep.*'egrad'.*NaN or Infinity/);
    disposeAll(S, Sbad, Eg, wrong, T, big, inf);
  });
});

describeEngines('grassmannLogits', (h) => {
  const up = (a: ArrayLike<number>, r: number, c: number): Mat => h.eng.matrix(Float64Array.from(a), r, c);
  const rel = h.dtype === 'f64' ? 1e-12 : 2e-5;

  it('equals gamma ||S_c^T x|| / ||x|| for subspaces of different dims, and for the stacked (C k) x D weight', async () => {
    const N = 9,
      D = 17;
    const x = hostRandn(N, D, 1);
    for (let j = 0; j < D; j++) x[3 * D + j] = 0; // a zero row -> logits 0
    const dims = [1, 4, 2];
    const subs = dims.map((k, c) => randomOrthonormal(D, k, 40 + c));
    const ref = (S: H[], kk: number[], gamma: number) => {
      const out = new Float64Array(N * S.length);
      for (let n = 0; n < N; n++) {
        const xn = x.subarray(n * D, n * D + D);
        const nn = frob(xn);
        S.forEach((s, c) => {
          const y = refMatmul(s, D, kk[c], xn, D, 1, true);
          out[n * S.length + c] = nn > 0 ? (gamma * frob(y)) / nn : 0;
        });
      }
      return out;
    };
    const X = up(x, N, D);
    const Sm = subs.map((s, c) => up(s, D, dims[c]));
    const L = await consume(grassmannLogits(X, Sm));
    const R = ref(subs, dims, 25);
    for (let i = 0; i < R.length; i++) expect(Math.abs(L[i] - R[i])).toBeLessThan(rel * 25 * 4);
    // stacked weight: C = 3 classes of k = 3, W rows c k .. c k + k - 1 = S_c^T
    const k = 3;
    const subs3 = [0, 1, 2].map((c) => randomOrthonormal(D, k, 60 + c));
    const W = new Float64Array(3 * k * D);
    for (let c = 0; c < 3; c++) W.set(transposeHost(subs3[c], D, k), c * k * D);
    const Wm = up(W, 3 * k, D);
    const L3 = await consume(grassmannLogits(X, Wm, { k, gamma: 2 }));
    const R3 = ref(subs3, [k, k, k], 2);
    for (let i = 0; i < R3.length; i++) expect(Math.abs(L3[i] - R3[i])).toBeLessThan(rel * 2 * 4);
    for (let c = 0; c < 3; c++) expect(L3[3 * 3 + c]).toBe(0);
    // invariance S -> S Q
    const Q = randomOrthonormal(4, 4, 7);
    const SQ = up(refMatmul(subs[1], D, 4, Q, 4, 4), D, 4);
    const LQ = await consume(grassmannLogits(X, [Sm[0], SQ, Sm[2]]));
    for (let i = 0; i < LQ.length; i++) expect(Math.abs(LQ[i] - L[i])).toBeLessThan(rel * 25 * 4);
    disposeAll(X, Wm, SQ, ...Sm);
  });

  it('bad input: non-orthonormal subspace, feature mismatch, weight rows not a multiple of k, NaN', async () => {
    const { eng } = h;
    const X = eng.randn(4, 6, { seed: 1 });
    const S = up(randomOrthonormal(6, 2, 1), 6, 2);
    const S2 = await eng.scale(S, 2);
    const S7 = up(randomOrthonormal(7, 2, 1), 7, 2);
    const W = eng.randn(5, 6, { seed: 2 });
    await expect(grassmannLogits(X, [S, S2])).rejects.toThrow(/grassmannLogits.*'S\[1\]'.*orthonormal/);
    await expect(grassmannLogits(X, [S7])).rejects.toThrow(/grassmannLogits.*'S\[0\]'.*features/);
    await expect(grassmannLogits(X, W, { k: 2 })).rejects.toThrow(/grassmannLogits.*multiple of k/);
    await expect(grassmannLogits(X, [])).rejects.toThrow(RangeError);
    await expect(grassmannLogits(X, [S], { gamma: Infinity })).rejects.toThrow(/grassmannLogits.*'gamma'/);
    await expect(grassmannLogits(X, [S], { foo: 1 } as never)).rejects.toThrow(TypeError);
    // check: false skips the orthonormality test (the caller vouches)
    const L = await consume(grassmannLogits(X, [S2], { check: false }));
    expect(L.length).toBe(4);
    disposeAll(X, S, S2, S7, W);
  });
});

// ---- Flag Aggregator -----------------------------------------------------------------------------------

/** The spec's Byzantine setup (section 9): unit g*, 12 honest g* + 0.8 N(0, 1/D), 3 Byzantine (host f64). */
function byzantine(D: number, attack: 'random-huge' | 'same-direction', seed: number): { G: H; gstar: H; p: number } {
  const p = 15,
    f = 3;
  const gstar = hostRandn(D, 1, seed);
  const gn = frob(gstar);
  for (let i = 0; i < D; i++) gstar[i] /= gn;
  const G = new Float64Array(D * p); // D x p, column j = worker j
  const noise = hostRandn(D, p, seed + 1);
  const v = hostRandn(D, 1, seed + 2);
  const vn = frob(v);
  for (let j = 0; j < p; j++)
    for (let i = 0; i < D; i++) {
      const z = noise[i * p + j];
      G[i * p + j] =
        j < p - f ? gstar[i] + (0.8 * z) / Math.sqrt(D) : attack === 'random-huge' ? (100 * z) / Math.sqrt(D) : (5 * v[i]) / vn;
    }
  return { G, gstar, p };
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s / (frob(a) * frob(b));
}

describeEngines('flagAggregate', (h) => {
  const up = (a: ArrayLike<number>, r: number, c: number): Mat => h.eng.matrix(Float64Array.from(a), r, c);
  const D = 2000;

  it('cos(aggregate, g*) >= 0.9 with 3 Byzantine workers of 15 where the mean is <= 0.7 (both attacks, r = 1 and 8)', async () => {
    for (const attack of ['random-huge', 'same-direction'] as const) {
      const { G, gstar, p } = byzantine(D, attack, 7);
      const mean = new Float64Array(D);
      for (let i = 0; i < D; i++) for (let j = 0; j < p; j++) mean[i] += G[i * p + j] / p;
      expect(cosine(mean, gstar), attack).toBeLessThanOrEqual(0.7);
      const Gm = up(G, D, p);
      for (const rank of [1, 8]) {
        const res = await flagAggregate(Gm, { rank });
        const a = await consume(res.aggregate);
        const Y = await consume(res.basis);
        expect(cosine(a, gstar), `${attack} r=${rank}`).toBeGreaterThanOrEqual(0.9);
        expect(orthDefect(Y, D, rank)).toBeLessThan(h.dtype === 'f64' ? 1e-12 : 1e-4);
        // objective: starts near p (a random start is far from every gradient in high D), decreases
        expect(res.objective[0]).toBeGreaterThan(p * 0.9);
        for (let i = 1; i < res.objective.length; i++) expect(res.objective[i]).toBeLessThan(res.objective[i - 1]);
        expect(res.iters).toBe(res.objective.length - 1);
        expect(res.iters).toBeGreaterThanOrEqual(1);
        // r = 1: the Byzantine workers reconstruct worst (r = 8 has room for them too)
        const v = res.reconstruction;
        const worstHonest = Math.min(...Array.from(v.subarray(0, p - 3)));
        if (rank === 1) for (let j = p - 3; j < p; j++) expect(v[j], `${attack} r=${rank}`).toBeLessThan(worstHonest);
      }
      Gm.dispose();
    }
  });

  it('one IRLS step equals the top left singular vector of the explicit weighted columns (lambda 0 and > 0)', async () => {
    const Dm = 40,
      p = 6;
    const g = hostRandn(Dm, p, 31);
    const gn = Array.from({ length: p }, (_, j) => Math.hypot(...Array.from({ length: Dm }, (_, i) => g[i * p + j])));
    const gh = Float64Array.from(g, (v, idx) => v / gn[idx % p]);
    const Gm = up(g, Dm, p);
    for (const lambda of [0, 3]) {
      const r0 = await flagAggregate(Gm, { iters: 0, lambda });
      const y0 = await consume(r0.basis);
      r0.aggregate.dispose();
      expect(r0.objective.length).toBe(1);
      const r1 = await flagAggregate(Gm, { iters: 1, lambda });
      const y1 = await consume(r1.basis);
      r1.aggregate.dispose();
      expect(r1.iters).toBe(1);
      // explicit columns
      const cols: H[] = [];
      const proj = (d: ArrayLike<number>) => {
        let s = 0;
        for (let i = 0; i < Dm; i++) s += y0[i] * d[i];
        return s;
      };
      const col = (j: number) => Float64Array.from({ length: Dm }, (_, i) => gh[i * p + j]);
      for (let j = 0; j < p; j++) {
        const c = col(j);
        const s2 = Math.abs(1 - proj(c) ** 2);
        cols.push(c.map((v) => v * (s2 + 1e-7) ** -0.25));
      }
      if (lambda > 0)
        for (let i = 0; i < p; i++)
          for (let j = 0; j < p; j++) {
            if (i === j) continue;
            const d = col(i).map((v, t) => v - gh[t * p + j]);
            const s2 = Math.abs(frob(d) ** 2 - proj(d) ** 2);
            cols.push(d.map((v) => (v * lambda * (s2 + 1e-7) ** -0.25) / (p * (p - 1))));
          }
      const m = cols.length;
      const M = new Float64Array(Dm * m);
      for (let j = 0; j < m; j++) for (let i = 0; i < Dm; i++) M[i * m + j] = cols[j][i];
      const MMt = refMatmul(M, Dm, m, M, Dm, m, false, true);
      // power iteration for the top eigenvector
      let y: H = Float64Array.from({ length: Dm }, (_, i) => 1 + i / Dm);
      for (let it = 0; it < 3000; it++) {
        y = refMatmul(MMt, Dm, Dm, y, Dm, 1);
        const n = frob(y);
        y = y.map((v) => v / n);
      }
      expect(Math.abs(cosine(y, y1)), `lambda ${lambda}`).toBeGreaterThan(1 - (h.dtype === 'f64' ? 1e-10 : 1e-4));
    }
    Gm.dispose();
  });

  it('identical gradients: aggregate = p ĝ, or ||g||-median scaled with rescale median-norm; rank-deficient G', async () => {
    const Dm = 50,
      p = 5;
    const g = hostRandn(Dm, 1, 3);
    const scales = [1, 2, 3, 4, 10];
    const G = new Float64Array(Dm * p);
    for (let i = 0; i < Dm; i++) for (let j = 0; j < p; j++) G[i * p + j] = g[i] * scales[j];
    const Gm = up(G, Dm, p);
    const gn = frob(g);
    const res = await flagAggregate(Gm);
    const a = await consume(res.aggregate);
    res.basis.dispose();
    const tolA = h.dtype === 'f64' ? 1e-10 : 1e-4;
    for (let i = 0; i < Dm; i++) expect(Math.abs(Math.abs(a[i]) - (p * Math.abs(g[i])) / gn)).toBeLessThan(tolA * p);
    expect(a[0] * g[0]).toBeGreaterThan(0);
    const res2 = await flagAggregate(Gm, { rescale: 'median-norm' });
    const a2 = await consume(res2.aggregate);
    res2.basis.dispose();
    for (let i = 0; i < Dm; i++) expect(Math.abs(a2[i] - 3 * g[i])).toBeLessThan(tolA * 3 * gn);
    await expect(flagAggregate(Gm, { rank: 2 })).rejects.toThrow(/flagAggregate.*'rank'.*numerical rank/);
    Gm.dispose();
  });

  it('p = 1 and D < p', async () => {
    const one = up(hostRandn(7, 1, 1), 7, 1);
    const r = await flagAggregate(one);
    const a = await consume(r.aggregate);
    const g = await consume(one);
    expect(Math.abs(cosine(a, g) - 1)).toBeLessThan(1e-5);
    r.basis.dispose();
    const wide = up(hostRandn(3, 8, 2), 3, 8);
    const r2 = await flagAggregate(wide, { rank: 3 });
    expect(r2.basis.shape).toEqual([3, 3]);
    disposeAll(r2.aggregate, r2.basis, wide);
  });

  it('bad input: NaN, zero column, rank, iters, lambda, rescale, unknown options', async () => {
    const { eng } = h;
    const G = eng.randn(20, 4, { seed: 1 });
    const Z = up(
      Float64Array.from({ length: 20 * 4 }, (_, i) => (i % 4 === 2 ? 0 : 1 + i)),
      20,
      4,
    );
    await expect(flagAggregate(Z)).rejects.toThrow(/flagAggregate.*'G' column 2 is zero/);
    await expect(flagAggregate(G, { rank: 5 })).rejects.toThrow(/flagAggregate.*'rank'/);
    await expect(flagAggregate(G, { rank: 0 })).rejects.toThrow(RangeError);
    await expect(flagAggregate(G, { iters: -1 })).rejects.toThrow(/flagAggregate.*'iters'/);
    await expect(flagAggregate(G, { lambda: -1 })).rejects.toThrow(/flagAggregate.*'lambda'/);
    await expect(flagAggregate(G, { rescale: 'mean' as 'none' })).rejects.toThrow(/flagAggregate.*'rescale'/);
    await expect(flagAggregate(G, { its: 2 } as never)).rejects.toThrow(TypeError);
    await expect(flagAggregate([1, 2] as never)).rejects.toThrow(/flagAggregate.*'G'/);
    const big = await eng.scale(G, 1e200);
    const inf = await eng.scale(big, 1e200);
    await expect(flagAggregate(inf)).rejects.toThrow(/flagAggregate.*NaN or Infinity/);
    disposeAll(G, Z, big, inf);
  });
});
