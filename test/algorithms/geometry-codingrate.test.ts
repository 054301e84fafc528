/**
 * Coding rate (MCR²), rate reduction, Sinkhorn and CRATE's blocks: the spec's closed forms (2 ln 3,
 * Rc = ln 5 / Delta R = 0.587787, 0 for identical samples, the 4 x 4 block Sinkhorn), f64 host references,
 * central finite differences of every gradient (f64), the Sylvester branch against the direct one,
 * rank-deficient / normalized / zero features (no NaN), and bad input.
 */
import { expect, it } from 'vitest';
import { codingRate, istaStep, mssa, rateReduction, sinkhorn, type Engine, type Mat } from '../../ts/index.js';
import { consume, describeEngines, disposeAll, hostRandn, refMatmul } from '../helpers.js';

// ---- f64 host references ------------------------------------------------------------------------

/** logdet and inverse of an SPD k x k matrix (Cholesky). */
function hostCholInv(A: Float64Array, k: number): { logdet: number; inv: Float64Array } {
  const L = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    let s = A[j * k + j];
    for (let p = 0; p < j; p++) s -= L[j * k + p] ** 2;
    L[j * k + j] = Math.sqrt(s);
    for (let i = j + 1; i < k; i++) {
      let t = A[i * k + j];
      for (let p = 0; p < j; p++) t -= L[i * k + p] * L[j * k + p];
      L[i * k + j] = t / L[j * k + j];
    }
  }
  let logdet = 0;
  for (let i = 0; i < k; i++) logdet += 2 * Math.log(L[i * k + i]);
  // inverse column by column
  const inv = new Float64Array(k * k);
  for (let c = 0; c < k; c++) {
    const y = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      let s = i === c ? 1 : 0;
      for (let p = 0; p < i; p++) s -= L[i * k + p] * y[p];
      y[i] = s / L[i * k + i];
    }
    for (let i = k - 1; i >= 0; i--) {
      let s = y[i];
      for (let p = i + 1; p < k; p++) s -= L[p * k + i] * inv[p * k + c];
      inv[i * k + c] = s / L[i * k + i];
    }
  }
  return { logdet, inv };
}

/** R(Z) = c logdet(I + a Z^T Z) and its gradient 2 c a Z (I + a Z^T Z)^-1 (Z n x d row-major). */
function hostRate(Z: Float64Array, n: number, d: number, eps2: number, c = 0.5, gam1 = 1): { value: number; grad: Float64Array } {
  const a = (gam1 * d) / (n * eps2);
  const G = refMatmul(Z, n, d, Z, n, d, true, false);
  for (let i = 0; i < d * d; i++) G[i] *= a;
  for (let i = 0; i < d; i++) G[i * d + i] += 1;
  const { logdet, inv } = hostCholInv(G, d);
  const grad = refMatmul(Z, n, d, inv, d, d);
  for (let i = 0; i < grad.length; i++) grad[i] *= 2 * c * a;
  return { value: c * logdet, grad };
}

/** Rc(Z | Pi) for a soft n x K membership (row-major), with mcr2's +1e-8. */
function hostRc(Z: Float64Array, n: number, d: number, pi: Float64Array, K: number, eps2: number, c = 0.5): number {
  let tot = 0;
  for (let j = 0; j < K; j++) {
    let t = 1e-8;
    const B = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      t += pi[i * K + j];
      for (let q = 0; q < d; q++) B[i * d + q] = Math.sqrt(pi[i * K + j]) * Z[i * d + q];
    }
    const G = refMatmul(B, n, d, B, n, d, true, false);
    for (let i = 0; i < d * d; i++) G[i] *= d / (t * eps2);
    for (let i = 0; i < d; i++) G[i * d + i] += 1;
    tot += ((c * t) / n) * hostCholInv(G, d).logdet;
  }
  return tot;
}

function oneHot(labels: number[], K: number): Float64Array {
  const P = new Float64Array(labels.length * K);
  labels.forEach((l, i) => {
    P[i * K + l] = 1;
  });
  return P;
}

function unitRows(X: Float64Array, n: number, d: number): Float64Array {
  const Y = Float64Array.from(X);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let q = 0; q < d; q++) s += Y[i * d + q] ** 2;
    s = Math.sqrt(s) || 1;
    for (let q = 0; q < d; q++) Y[i * d + q] /= s;
  }
  return Y;
}

/** max |a - b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0,
    s = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return e / (s || 1);
}

/** Central finite differences of f at x (all coordinates), step h. */
async function fdGrad(f: (x: Float64Array) => Promise<number>, x: Float64Array, h = 1e-5): Promise<Float64Array> {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xp = Float64Array.from(x),
      xm = Float64Array.from(x);
    xp[i] += h;
    xm[i] -= h;
    g[i] = ((await f(xp)) - (await f(xm))) / (2 * h);
  }
  return g;
}

async function rateOf(eng: Engine, z: Float64Array, n: number, d: number, opts: Parameters<typeof codingRate>[1]) {
  const Z = eng.matrix(z, n, d);
  try {
    const r = await codingRate(Z, opts);
    return { value: r.value, grad: r.grad ? Float64Array.from(await consume(r.grad)) : null };
  } finally {
    Z.dispose();
  }
}

describeEngines('geometry: coding rate', (h) => {
  const tol = (scale: number) => Math.max(1e-12, scale * h.u * 64);

  it('closed forms: R(I_4) = 2 ln 3, Rc = ln 5 and Delta R = 0.587787, Delta R = 0 for identical samples', async () => {
    const eng = h.eng;
    const Z = eng.eye(4);
    for (const gram of ['auto', 'features', 'samples'] as const) {
      const r = await codingRate(Z, { eps2: 0.5, gram });
      expect(r.value).toBeCloseTo(2 * Math.log(3), 5);
      expect(Math.abs(r.value - 2 * Math.log(3))).toBeLessThan(tol(10));
      // grad = a Z (1 + a)^-1 = (2/3) I
      const g = await consume(r.grad as Mat);
      for (let i = 0; i < 16; i++) expect(g[i]).toBeCloseTo(i % 5 === 0 ? 2 / 3 : 0, 6);
      const rr = await rateReduction(Z, Int32Array.from([0, 0, 1, 1]), { eps2: 0.5, gram });
      expect(Math.abs(rr.Rc - Math.log(5))).toBeLessThan(tol(10) + 1e-8);
      expect(Math.abs(rr.value - (2 * Math.log(3) - Math.log(5)))).toBeLessThan(tol(10) + 1e-8);
      expect(rr.value).toBeCloseTo(0.587787, 6);
      disposeAll(rr.grad);
    }
    // soft one-hot membership gives the same numbers; half: false doubles them (MLC convention)
    const P = eng.matrix(oneHot([0, 0, 1, 1], 2), 4, 2);
    const soft = await rateReduction(Z, P, { eps2: 0.5 });
    expect(soft.value).toBeCloseTo(0.587787, 6);
    const mlc = await rateReduction(Z, P, { eps2: 0.5, half: false, grad: false });
    expect(mlc.value).toBeCloseTo(2 * 0.587787, 5);
    expect(mlc.grad).toBeNull();
    disposeAll(soft.grad, soft.gradMembership, P, Z);
    // all samples equal e_1 (any partition): Delta R = 0, also with soft memberships
    const E = eng.matrix(
      new Float64Array(24).map((_, i) => (i % 4 === 0 ? 1 : 0)),
      6,
      4,
    );
    const same = await rateReduction(E, Int32Array.from([0, 1, 0, 2, 2, 1]), { eps2: 0.5 });
    expect(Math.abs(same.value)).toBeLessThan(tol(10) + 1e-8);
    const Ps = eng.matrix(
      Float64Array.from({ length: 12 }, (_, i) => (i % 2 ? 0.3 : 0.7)),
      6,
      2,
    );
    const same2 = await rateReduction(E, Ps, { eps2: 0.5 });
    expect(Math.abs(same2.value)).toBeLessThan(tol(10) + 1e-8);
    disposeAll(same.grad, same2.grad, same2.gradMembership, Ps, E);
  });

  it('matches the f64 host reference on awkward shapes, and the Sylvester branch equals the direct one', async () => {
    const eng = h.eng;
    const shapes: [number, number][] = [
      [1, 1],
      [1, 7],
      [7, 1],
      [2, 2],
      [9, 5],
      [5, 9],
      [40, 12],
      [12, 40],
    ];
    for (const [n, d] of shapes) {
      const z = unitRows(hostRandn(n, d, 11 + n * 7 + d), n, d);
      const ref = hostRate(z, n, d, 0.5, 0.5, 2);
      for (const gram of ['features', 'samples'] as const) {
        const r = await rateOf(eng, z, n, d, { eps2: 0.5, gam1: 2, gram });
        expect(Math.abs(r.value - ref.value)).toBeLessThan(tol(4 * Math.max(n, d)) * Math.max(1, ref.value));
        expect(relErr(r.grad as Float64Array, ref.grad)).toBeLessThan(tol(8 * Math.max(n, d)));
      }
    }
  });

  it('rate reduction: hard and soft memberships against the host reference, both Gram branches', async () => {
    const eng = h.eng;
    const n = 14,
      d = 6,
      K = 3;
    const z = unitRows(hostRandn(n, d, 5), n, d);
    const labels = Array.from({ length: n }, (_, i) => i % K);
    const soft = Float64Array.from(hostRandn(n, K, 9), (v) => Math.abs(v) + 0.05);
    const Z = eng.matrix(z, n, d);
    const Pm = eng.matrix(soft, n, K);
    try {
      const R = hostRate(z, n, d, 0.5).value;
      for (const gram of ['features', 'samples'] as const) {
        const hard = await rateReduction(Z, Int32Array.from(labels), { eps2: 0.5, gram, gam2: 1.5 });
        const refHard = 1.5 * R - hostRc(z, n, d, oneHot(labels, K), K, 0.5);
        expect(Math.abs(hard.value - refHard)).toBeLessThan(tol(200));
        const sft = await rateReduction(Z, Pm, { eps2: 0.5, gram });
        expect(Math.abs(sft.value - (R - hostRc(z, n, d, soft, K, 0.5)))).toBeLessThan(tol(200));
        // plain number[] labels are accepted too
        const arr = await rateReduction(Z, labels, { eps2: 0.5, gram, grad: false });
        expect(Math.abs(arr.value - (R - hostRc(z, n, d, oneHot(labels, K), K, 0.5)))).toBeLessThan(tol(200));
        disposeAll(hard.grad, sft.grad, sft.gradMembership);
      }
      // branches agree on gradients
      const a = await rateReduction(Z, Pm, { eps2: 0.5, gram: 'features' });
      const b = await rateReduction(Z, Pm, { eps2: 0.5, gram: 'samples' });
      expect(relErr(await consume(a.grad as Mat), await consume(b.grad as Mat))).toBeLessThan(tol(400));
      expect(relErr(await consume(a.gradMembership as Mat), await consume(b.gradMembership as Mat))).toBeLessThan(tol(4000));
    } finally {
      disposeAll(Z, Pm);
    }
  });

  it('gradients agree with central finite differences to 1e-6 (f64)', async () => {
    if (h.dtype !== 'f64') return;
    const eng = h.eng;
    for (const [n, d] of [
      [7, 4],
      [3, 6],
    ] as const) {
      const z = hostRandn(n, d, 21 + n);
      for (const gram of ['features', 'samples'] as const) {
        const opts = { eps2: 0.7, gam1: 1.3, gram, half: gram === 'samples' };
        const an = (await rateOf(eng, z, n, d, opts)).grad as Float64Array;
        const fd = await fdGrad(async (x) => (await rateOf(eng, x, n, d, { ...opts, grad: false })).value, z);
        expect(relErr(an, fd)).toBeLessThan(1e-6);
      }
      // rate reduction, hard labels (one class smaller than d: Sylvester blocks) and soft memberships
      const labels = Int32Array.from({ length: n }, (_, i) => (i < 2 ? 0 : 1));
      const pi = Float64Array.from(hostRandn(n, 2, 3 + n), (v) => Math.abs(v) + 0.1);
      const rr = async (x: Float64Array, memb: Int32Array | Float64Array, grad: boolean) => {
        const Z = eng.matrix(x, n, d);
        const M = memb instanceof Float64Array ? eng.matrix(memb, n, 2) : null;
        try {
          const r = await rateReduction(Z, M ?? memb, { eps2: 0.6, gam2: 1.7, grad });
          const g = r.grad ? Float64Array.from(await consume(r.grad)) : null;
          const gm = r.gradMembership ? Float64Array.from(await consume(r.gradMembership)) : null;
          return { value: r.value, g, gm };
        } finally {
          disposeAll(Z, M);
        }
      };
      for (const memb of [labels, pi]) {
        const an = await rr(z, memb, true);
        const fd = await fdGrad(async (x) => (await rr(x, memb, false)).value, z);
        expect(relErr(an.g as Float64Array, fd)).toBeLessThan(1e-6);
      }
      const anM = (await rr(z, pi, true)).gm as Float64Array;
      const fdM = await fdGrad(async (p) => (await rr(z, p, false)).value, pi);
      expect(relErr(anM, fdM)).toBeLessThan(1e-6);
    }
  });

  it('stays finite on rank-deficient, normalized, duplicated and zero features (mcr2#1/#10 NaN)', async () => {
    const eng = h.eng;
    const n = 30,
      d = 10;
    // rank 1: every sample the same unit vector; rank 2: two directions; zero matrix
    const r1 = unitRows(
      new Float64Array(n * d).map((_, i) => (i % d) + 1),
      n,
      d,
    );
    const r2 = unitRows(
      new Float64Array(n * d).map((_, i) => (Math.floor(i / d) % 2 ? (i % d) + 1 : (i % d) % 3)),
      n,
      d,
    );
    for (const z of [r1, r2, new Float64Array(n * d)]) {
      for (const eps2 of [0.01, 0.5]) {
        const Z = eng.matrix(z, n, d);
        const c = await codingRate(Z, { eps2 });
        const g = await consume(c.grad as Mat);
        expect(Number.isFinite(c.value)).toBe(true);
        expect(g.every(Number.isFinite)).toBe(true);
        const rr = await rateReduction(
          Z,
          Int32Array.from({ length: n }, (_, i) => i % 4),
          { eps2 },
        );
        expect(Number.isFinite(rr.value)).toBe(true);
        expect((await consume(rr.grad as Mat)).every(Number.isFinite)).toBe(true);
        Z.dispose();
      }
    }
    // zero features: R = 0 and gradient 0
    const Z0 = eng.zeros(5, 3);
    const c0 = await codingRate(Z0, { eps2: 0.5 });
    expect(c0.value).toBe(0);
    expect(Math.max(...(await consume(c0.grad as Mat)).map(Math.abs))).toBe(0);
    // an empty class (label 1 unused) contributes nothing
    const Z1 = eng.eye(4);
    const withGap = await rateReduction(Z1, Int32Array.from([0, 0, 2, 2]), { eps2: 0.5, grad: false });
    expect(withGap.value).toBeCloseTo(0.587787, 5);
    disposeAll(Z0, Z1);
  });

  it('sinkhorn: marginals 1 +- 1e-6, the 4 x 4 block closed form, symmetric mode', async () => {
    const eng = h.eng;
    const B = eng.matrix([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1], 4, 4);
    const s = await sinkhorn(B, { eta: 0.1 });
    expect(s.marginalError).toBeLessThan(1e-6);
    const P = await consume(s.P);
    // in-block mass per row: 2 e^10 / (2 e^10 + 2) = 1 / (1 + e^-10) = 0.99995
    const inBlock = (P[0] + P[1] + P[4] + P[5] + P[10] + P[11] + P[14] + P[15]) / 4;
    expect(Math.abs(inBlock - 1 / (1 + Math.exp(-10)))).toBeLessThan(1e-6);
    expect(inBlock).toBeGreaterThan(0.9999);
    // tol: 0 runs exactly `iters`
    const fixed = await sinkhorn(B, { eta: 0.5, iters: 7, tol: 0 });
    expect(fixed.iters).toBe(7);
    B.dispose();
    fixed.P.dispose();
    // random cosine-similarity matrices (MLC's P(Z^T Z)), both modes
    for (const n of [1, 2, 37]) {
      const x = unitRows(hostRandn(n, 5, 40 + n), n, 5);
      const S = eng.matrix(refMatmul(x, n, 5, x, n, 5, false, true), n, n);
      for (const mode of ['alternating', 'symmetric'] as const) {
        const r = await sinkhorn(S, { eta: 0.2, iters: 2000, tol: 1e-10, mode });
        expect(r.marginalError).toBeLessThan(1e-6);
        expect(r.iters).toBeLessThan(2000); // stopped on tol
        const G = await consume(r.P);
        const slack = 1e-6 + n * h.u * 4;
        for (let i = 0; i < n; i++) {
          let rs = 0,
            cs = 0;
          for (let j = 0; j < n; j++) {
            rs += G[i * n + j];
            cs += G[j * n + i];
            if (mode === 'symmetric') expect(G[i * n + j]).toBe(G[j * n + i]);
          }
          expect(Math.abs(rs - 1)).toBeLessThan(slack);
          expect(Math.abs(cs - 1)).toBeLessThan(slack);
        }
      }
      S.dispose();
    }
  });

  it('mssa (paper and crate-code forms) and istaStep match host f64 references', async () => {
    const eng = h.eng;
    const n = 9,
      D = 8,
      p = 3,
      K = 2;
    const z = hostRandn(n, D, 1);
    const us = [hostRandn(D, p, 2), hostRandn(D, p, 3)].map((u) => u.map((v) => v * 0.5));
    const Z = eng.matrix(z, n, D);
    const U = us.map((u) => eng.matrix(u, D, p));
    const softmaxHost = (Y: Float64Array, s: number) => {
      const S = refMatmul(Y, n, p, Y, n, p, false, true);
      for (let i = 0; i < n; i++) {
        let mx = -Infinity,
          sum = 0;
        for (let j = 0; j < n; j++) mx = Math.max(mx, s * S[i * n + j]);
        for (let j = 0; j < n; j++) sum += S[i * n + j] = Math.exp(s * S[i * n + j] - mx);
        for (let j = 0; j < n; j++) S[i * n + j] /= sum;
      }
      return refMatmul(S, n, n, Y, n, p); // n x p
    };
    const eps2 = 0.5;
    const paperRef = new Float64Array(n * D);
    const headsRef: Float64Array[] = [];
    for (let k = 0; k < K; k++) {
      const Y = refMatmul(z, n, D, us[k], D, p);
      const Sk = softmaxHost(Y, 1);
      const out = refMatmul(Sk, n, p, us[k], D, p, false, true);
      for (let i = 0; i < n * D; i++) paperRef[i] += (p / (n * eps2)) * out[i];
      headsRef.push(softmaxHost(Y, 1 / Math.sqrt(p)));
    }
    const Hcat = new Float64Array(n * K * p);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < K; k++) for (let c = 0; c < p; c++) Hcat[i * K * p + k * p + c] = headsRef[k][i * p + c];
    const w = hostRandn(D, K * p, 4);
    const bias = Array.from({ length: D }, (_, i) => 0.1 * i - 0.3);
    const codeRef = refMatmul(Hcat, n, K * p, w, D, K * p, false, true);
    for (let i = 0; i < n; i++) for (let c = 0; c < D; c++) codeRef[i * D + c] += bias[c];
    const W = eng.matrix(w, D, K * p);
    const t = tol(400);
    try {
      expect(relErr(await consume(mssa(Z, U, { form: 'paper', eps2 })), paperRef)).toBeLessThan(t);
      expect(relErr(await consume(mssa(Z, U, { form: 'crate-code' })), Hcat)).toBeLessThan(t);
      expect(relErr(await consume(mssa(Z, U, { form: 'crate-code', out: { weight: W, bias } })), codeRef)).toBeLessThan(t);
      expect(relErr(await consume(mssa(Z, [U[0]], { form: 'crate-code' })), headsRef[0])).toBeLessThan(t);
      // ISTA: ReLU(z + eta (D^T z - D^T D z) - eta lambda), tokens as rows
      const dict = hostRandn(D, D, 6).map((v) => v / Math.sqrt(D));
      const Dm = eng.matrix(dict, D, D);
      for (const [eta, lambda] of [
        [0.1, 0.1],
        [0.5, 0],
      ]) {
        const ZD = refMatmul(z, n, D, dict, D, D);
        const ZDtD = refMatmul(refMatmul(z, n, D, dict, D, D, false, true), n, D, dict, D, D);
        const ref = z.map((v, i) => Math.max(0, v + eta * (ZD[i] - ZDtD[i]) - eta * lambda));
        const got = await consume(istaStep(Z, Dm, { eta, lambda }));
        expect(relErr(got, ref)).toBeLessThan(t);
        expect(got.every((v) => v >= 0)).toBe(true);
      }
      Dm.dispose();
    } finally {
      disposeAll(Z, W, ...U);
    }
  });

  it('rejects bad input with TypeError / RangeError naming the function and argument', async () => {
    const eng = h.eng;
    const Z = eng.eye(4);
    const big = eng.full(3, 3, h.dtype === 'f64' ? 1e200 : 1e30);
    const inf = await eng.hadamard(big, big);
    try {
      await expect(codingRate(Z, {} as never)).rejects.toThrow(/codingRate: option 'eps2'/);
      await expect(codingRate(Z, { eps2: 0 })).rejects.toThrow(RangeError);
      await expect(codingRate(Z, { eps2: 0.5, gram: 'rows' as never })).rejects.toThrow(/codingRate: 'gram'/);
      await expect(codingRate(Z, { eps2: 0.5, foo: 1 } as never)).rejects.toThrow(/codingRate: unknown option 'foo'/);
      await expect(codingRate([1, 2] as never, { eps2: 0.5 })).rejects.toThrow(TypeError);
      await expect(codingRate(inf, { eps2: 0.5 })).rejects.toThrow(/codingRate: 'Z' contains NaN or Infinity/);
      await expect(rateReduction(Z, Int32Array.from([0, 1]), { eps2: 0.5 })).rejects.toThrow(/rateReduction: 'membership' has 2 labels/);
      await expect(rateReduction(Z, [0, -1, 0, 1], { eps2: 0.5 })).rejects.toThrow(/rateReduction: 'membership' labels must be integers/);
      await expect(rateReduction(Z, [0, 0.5, 0, 1], { eps2: 0.5 })).rejects.toThrow(RangeError);
      await expect(rateReduction(Z, 'x' as never, { eps2: 0.5 })).rejects.toThrow(TypeError);
      const Pbad = eng.matrix([1, 0, -0.1, 1, 1, 0, 0, 1], 4, 2);
      await expect(rateReduction(Z, Pbad, { eps2: 0.5 })).rejects.toThrow(/rateReduction: 'membership' entries must be finite and >= 0/);
      const P3 = eng.ones(3, 2);
      await expect(rateReduction(Z, P3, { eps2: 0.5 })).rejects.toThrow(/rateReduction: 'membership' has 3 rows/);
      await expect(rateReduction(Z, [0, 0, 1, 1], { eps2: 0.5, gam2: -1 })).rejects.toThrow(/rateReduction: 'gam2'/);
      disposeAll(Pbad, P3);
      const R = eng.ones(3, 4);
      await expect(sinkhorn(R, { eta: 0.1 })).rejects.toThrow(/sinkhorn: 'M' must be square/);
      await expect(sinkhorn(Z, {} as never)).rejects.toThrow(/sinkhorn: option 'eta'/);
      await expect(sinkhorn(Z, { eta: 0.1, iters: 0 })).rejects.toThrow(/sinkhorn: 'iters'/);
      await expect(sinkhorn(inf, { eta: 0.1 })).rejects.toThrow(/sinkhorn: 'M' contains NaN or Infinity/);
      const A = eng.matrix([1, 2, 0, 1], 2, 2);
      await expect(sinkhorn(A, { eta: 0.1, mode: 'symmetric' })).rejects.toThrow(/sinkhorn: mode 'symmetric' needs a symmetric 'M'/);
      await expect(mssa(Z, [R], { eps2: 0.5 })).rejects.toThrow(/mssa: 'U\[0\]' is 3 x 4/);
      await expect(mssa(Z, [], { eps2: 0.5 })).rejects.toThrow(/mssa: 'U' must be a non-empty array/);
      await expect(mssa(Z, [Z])).rejects.toThrow(/mssa: option 'eps2'/);
      const W3 = eng.ones(4, 3);
      await expect(mssa(Z, [Z], { form: 'crate-code', out: { weight: W3 } })).rejects.toThrow(/mssa: 'out.weight' is 4 x 3/);
      W3.dispose();
      await expect(mssa(Z, [Z], { form: 'crate-code', out: { weight: Z, bias: [1, 2] } })).rejects.toThrow(
        /mssa: 'out.bias' has 2 entries/,
      );
      await expect(mssa(Z, [Z], { form: 'xla' as never })).rejects.toThrow(/mssa: 'form'/);
      await expect(istaStep(Z, R)).rejects.toThrow(/istaStep: 'D' must be square/);
      await expect(istaStep(Z, Z, { eta: -1 })).rejects.toThrow(/istaStep: 'eta'/);
      await expect(istaStep(Z, Z, { lambda: Number.NaN })).rejects.toThrow(/istaStep: 'lambda'/);
      disposeAll(R, A);
    } finally {
      disposeAll(Z, big, inf);
    }
  });
});
