/**
 * randomSubspace (intrinsic-dimension subspaces): the adjoint identity <P X, Y> = <X, P^T Y>, the
 * column norms of each normalisation, Fastfood against an independent host evaluation of its formula
 * (same Philox parameters) and against its own materialisation P = apply(I), padding (D not a power of
 * two), seeded reproducibility, and argument errors.
 */
import { expect, it } from 'vitest';
import { randomSubspace, rsvd, type Engine, type Mat, type SubspaceKind } from '../../ts/index.js';
import { PhiloxRng } from '../../ts/rng/philox.js';
import { describeEngines, hostRandn } from '../helpers.js';

const KINDS: SubspaceKind[] = ['fastfood', 'gaussian', 'sparse'];

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
const nrm = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a));

/** The Fastfood matrix (D x d, row-major) from its formula, with the parameters drawn as the library does. */
function hostFastfood(D: number, d: number, seed: number): Float64Array {
  let L = 1;
  while (L < D) L *= 2;
  const rng = new PhiloxRng(seed, 0x3f00);
  const B = Array.from({ length: d }, () => (rng.next() < 0.5 ? -1 : 1));
  const pi = Array.from({ length: L }, (_, i) => i);
  for (let i = L - 1; i > 0; i--) {
    const k = rng.int(i + 1);
    [pi[i], pi[k]] = [pi[k], pi[i]];
  }
  const G = Array.from({ length: L }, () => rng.normal());
  const ss = G.reduce((s, g) => s + g * g, 0);
  const H = (i: number, k: number): number => {
    let v = i & k,
      p = 0;
    while (v) {
      p ^= 1;
      v &= v - 1;
    }
    return p ? -1 : 1;
  };
  const P = new Float64Array(D * d);
  const c = 1 / (Math.sqrt(L * ss) * Math.sqrt(D / L));
  for (let j = 0; j < d; j++) {
    // v = G Pi H B e_j: (H B e_j)_k = B_j H[k, j]; (Pi w)_i = w_{pi(i)}
    const v = Array.from({ length: L }, (_, i) => G[i] * B[j] * H(pi[i], j));
    for (let r = 0; r < D; r++) {
      let s = 0;
      for (let i = 0; i < L; i++) s += H(r, i) * v[i];
      P[r * d + j] = c * s;
    }
  }
  return P;
}

async function materialize(eng: Engine, P: { cols: number; apply(X: Mat): Promise<Mat> }): Promise<Float64Array> {
  const I = eng.eye(P.cols);
  const M = await P.apply(I);
  const m = Float64Array.from(await M.toArray());
  I.dispose();
  M.dispose();
  return m;
}

function colNorms(P: Float64Array, D: number, d: number): number[] {
  const out = new Array<number>(d).fill(0);
  for (let i = 0; i < D; i++) for (let j = 0; j < d; j++) out[j] += P[i * d + j] ** 2;
  return out.map(Math.sqrt);
}

describeEngines('randomSubspace', (h) => {
  it('adjoint identity <P X, Y> = <X, P^T Y> for every kind (D = 1, 7, 64, 1000; 1 and 3 columns)', async () => {
    const { eng, u } = h;
    for (const kind of KINDS)
      for (const [D, d, b] of [
        [1, 1, 1],
        [7, 3, 3],
        [64, 64, 1],
        [1000, 37, 3],
      ]) {
        const P = await randomSubspace(eng, D, d, { kind, seed: 3 });
        expect([P.rows, P.cols]).toEqual([D, d]);
        const X = eng.matrix(hostRandn(d, b, 1), d, b);
        const Y = eng.matrix(hostRandn(D, b, 2), D, b);
        const PX = await P.apply(X);
        const PtY = await P.applyT(Y);
        expect([PX.rows, PX.cols, PtY.rows, PtY.cols]).toEqual([D, b, d, b]);
        const [x, y, px, pty] = await Promise.all([X.toArray(), Y.toArray(), PX.toArray(), PtY.toArray()]);
        disposeAll(X, Y, PX, PtY);
        P.dispose();
        const lhs = dot(px, y),
          rhs = dot(x, pty);
        // each side is exact up to O((log2 L + D) u) relative to |P| |X| |Y|, |P| <= a few here
        const tol = 20 * (Math.log2(2 * D) + Math.sqrt(D) + d) * u * nrm(x) * nrm(y) * 4;
        expect(Math.abs(lhs - rhs), `${kind} D=${D} d=${d}`).toBeLessThan(tol);
      }
  });

  it('fastfood equals the host evaluation of its formula and its own materialisation (D = 1, 5, 8, 100)', async () => {
    const { eng, u } = h;
    for (const [D, d] of [
      [1, 1],
      [5, 2],
      [8, 8],
      [100, 9],
    ]) {
      const P = await randomSubspace(eng, D, d, { kind: 'fastfood', seed: 11 });
      let L = 1;
      while (L < D) L *= 2;
      expect(P.padded).toBe(L);
      const M = await materialize(eng, P);
      const ref = hostFastfood(D, d, 11);
      for (let i = 0; i < D * d; i++) expect(Math.abs(M[i] - ref[i]), `D=${D} entry ${i}`).toBeLessThan(40 * Math.log2(2 * L) * u * 4);
      // a 3-column apply and applyT equal the dense products with the materialisation
      const X = eng.matrix(hostRandn(d, 3, 4), d, 3);
      const Y = eng.matrix(hostRandn(D, 3, 5), D, 3);
      const PX = await P.apply(X);
      const PtY = await P.applyT(Y);
      const [x, y, px, pty] = await Promise.all([X.toArray(), Y.toArray(), PX.toArray(), PtY.toArray()]);
      disposeAll(X, Y, PX, PtY);
      P.dispose();
      for (let i = 0; i < D; i++)
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let j = 0; j < d; j++) s += ref[i * d + j] * x[j * 3 + c];
          expect(Math.abs(px[i * 3 + c] - s)).toBeLessThan(200 * Math.log2(2 * L) * u * nrm(x));
        }
      for (let j = 0; j < d; j++)
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let i = 0; i < D; i++) s += ref[i * d + j] * y[i * 3 + c];
          expect(Math.abs(pty[j * 3 + c] - s)).toBeLessThan(200 * Math.log2(2 * L) * u * nrm(y));
        }
    }
  });

  it('column norms: exactly 1 (gaussian, sparse, fastfood with D = L), 1 in expectation (fastfood, padded D)', async () => {
    const { eng, u } = h;
    const exact: Array<[SubspaceKind, number, number]> = [
      ['gaussian', 300, 20],
      ['sparse', 300, 20],
      ['sparse', 4, 4],
      ['fastfood', 256, 40],
      ['fastfood', 1, 1],
    ];
    for (const [kind, D, d] of exact) {
      const P = await randomSubspace(eng, D, d, { kind, seed: 7 });
      const n = colNorms(await materialize(eng, P), D, d);
      P.dispose();
      for (const v of n) expect(Math.abs(v - 1), `${kind} D=${D}`).toBeLessThan(20 * (Math.log2(2 * D) + Math.sqrt(D)) * u);
    }
    // D = 1000 in L = 1024: a column keeps (D / L)(1 +- O(sqrt(2 (L - D)) / L)) of its squared norm before the
    // sqrt(D / L) rescaling; 24 of 1024 rows dropped: squared norms 1 +- 0.01 (0.05 is > 5 sigma)
    const P = await randomSubspace(eng, 1000, 200, { kind: 'fastfood', seed: 7 });
    const n2 = colNorms(await materialize(eng, P), 1000, 200).map((v) => v * v);
    P.dispose();
    for (const v of n2) expect(Math.abs(v - 1)).toBeLessThan(0.05);
    expect(Math.abs(n2.reduce((s, v) => s + v, 0) / n2.length - 1)).toBeLessThan(0.01);
    // the reference code's dense variant: N(0, 0.01^2) entries, squared column norms D 1e-4 in expectation
    const Q = await randomSubspace(eng, 2000, 50, { kind: 'gaussian', normalize: false, seed: 7 });
    const q2 = colNorms(await materialize(eng, Q), 2000, 50).map((v) => v * v);
    Q.dispose();
    expect(Math.abs(q2.reduce((s, v) => s + v, 0) / q2.length / 0.2 - 1)).toBeLessThan(0.05);
  });

  it('sparse: about density D entries per column, values +-1/sqrt(nnz of the column)', async () => {
    const { eng } = h;
    const D = 1024,
      d = 32;
    for (const density of [undefined, 0.01, 1]) {
      const P = await randomSubspace(eng, D, d, { kind: 'sparse', seed: 2, density });
      const M = await materialize(eng, P);
      P.dispose();
      const p = density ?? 1 / Math.sqrt(D);
      let nnz = 0;
      for (let j = 0; j < d; j++) {
        let c = 0;
        for (let i = 0; i < D; i++) if (M[i * d + j] !== 0) c++;
        for (let i = 0; i < D; i++) if (M[i * d + j] !== 0) expect(Math.abs(Math.abs(M[i * d + j]) * Math.sqrt(c) - 1)).toBeLessThan(1e-6);
        nnz += c;
      }
      const mean = p * D * d;
      expect(Math.abs(nnz - mean)).toBeLessThan(6 * Math.sqrt(mean * (1 - p)) + 1);
    }
  });

  it('is reproducible from its seed (and another seed gives another subspace)', async () => {
    const { eng } = h;
    for (const kind of KINDS) {
      const a = await randomSubspace(eng, 100, 6, { kind, seed: 9 });
      const b = await randomSubspace(eng, 100, 6, { kind, seed: 9 });
      const c = await randomSubspace(eng, 100, 6, { kind, seed: 10 });
      const [ma, mb, mc] = [await materialize(eng, a), await materialize(eng, b), await materialize(eng, c)];
      a.dispose();
      b.dispose();
      c.dispose();
      expect(Array.from(mb)).toEqual(Array.from(ma));
      expect(Array.from(mc)).not.toEqual(Array.from(ma));
    }
  });

  it('plugs into rsvd as a LinearOperator: rank d recovers the singular values of the materialisation', async () => {
    const { eng, u } = h;
    for (const kind of KINDS) {
      const P = await randomSubspace(eng, 200, 6, { kind, seed: 5 });
      const I = eng.eye(6);
      const M = await P.apply(I);
      const ref = await eng.svdvals(M);
      const { U, S, V } = await rsvd(P, { rank: 6, seed: 1 });
      disposeAll(I, M, U, V);
      P.dispose();
      for (let i = 0; i < 6; i++) expect(Math.abs(S[i] - ref[i]), kind).toBeLessThan(1e3 * u * ref[0]);
    }
  });

  it('rejects bad arguments with TypeError / RangeError naming randomSubspace', async () => {
    const { eng } = h;
    const bad: Array<[() => Promise<unknown>, typeof TypeError | typeof RangeError]> = [
      [() => randomSubspace(eng, 5, 6), RangeError],
      [() => randomSubspace(eng, 0, 1), RangeError],
      [() => randomSubspace(eng, 5, 0), RangeError],
      [() => randomSubspace(eng, 5.5, 1), RangeError],
      [() => randomSubspace(eng, '5' as never, 1), TypeError],
      [() => randomSubspace(eng, 5, 1, { kind: 'dense' as never }), RangeError],
      [() => randomSubspace(eng, 5, 1, { seed: -1 }), RangeError],
      [() => randomSubspace(eng, 5, 1, { bogus: 1 } as never), TypeError],
      [() => randomSubspace(eng, 5, 1, { kind: 'sparse', density: 0 }), RangeError],
      [() => randomSubspace(eng, 5, 1, { kind: 'sparse', density: 1.5 }), RangeError],
      [() => randomSubspace(eng, 5, 1, { kind: 'fastfood', density: 0.5 }), RangeError],
      [() => randomSubspace(eng, 5, 1, { kind: 'sparse', normalize: true }), RangeError],
      [() => randomSubspace({} as never, 5, 1), TypeError],
    ];
    for (const [f, E] of bad) {
      await expect(f()).rejects.toThrow(E);
      await expect(f()).rejects.toThrow(/randomSubspace/);
    }
    for (const kind of KINDS) {
      const P = await randomSubspace(eng, 10, 3, { kind });
      const X = eng.zeros(4, 1);
      await expect(P.apply(X)).rejects.toThrow(RangeError);
      await expect(P.applyT(X)).rejects.toThrow(/randomSubspace.applyT/);
      await expect(P.apply('x' as never)).rejects.toThrow(TypeError);
      P.dispose();
      const Z = eng.zeros(3, 1);
      await expect(P.apply(Z)).rejects.toThrow(/disposed/);
      X.dispose();
      Z.dispose();
    }
  });
});

function disposeAll(...m: Mat[]): void {
  for (const x of m) x.dispose();
}
