/**
 * Segmented least-squares primitives on every backend (segmentGram exact / diagonal / sketched,
 * choleskyBatch, choleskySolveBatch, segmentCG, sparseValues) against f64 host references, over both
 * orientations, awkward sizes (k = 1, 3, 16, 70; empty segments; a long segment), plus input errors.
 */
import { expect, it } from 'vitest';
import type { SparseMat } from '../../ts/index.js';
import type { CooOutput } from '../../ts/types.js';
import { PhiloxRng } from '../../ts/rng/philox.js';
import { segmentSketchOrder } from '../../ts/sparse/sketch.js';
import { describeEngines, hostRandn, type Harness } from '../helpers.js';

type Coo = CooOutput<'f64'>;

/** Random pattern with per-row density `p`, row `empty` left empty and row `long` (if any) full. */
function pattern(rows: number, cols: number, p: number, seed: number, empty = -1, long = -1): Coo {
  const rng = new PhiloxRng(seed, 11);
  const r: number[] = [],
    c: number[] = [],
    v: number[] = [];
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      if (i === empty) continue;
      if (i === long || rng.next() < p) {
        r.push(i);
        c.push(j);
        v.push(rng.normal());
      }
    }
  return { rows, cols, row: Int32Array.from(r), col: Int32Array.from(c), val: Float64Array.from(v) };
}

/** Segments of a COO (already sorted, no duplicates): for each segment the list of (other index, value). */
function segments(t: Coo, transS: boolean): { other: number[]; val: number[] }[] {
  const n = transS ? t.cols : t.rows;
  const out = Array.from({ length: n }, () => ({ other: [] as number[], val: [] as number[] }));
  for (let q = 0; q < t.row.length; q++) {
    const s = transS ? t.col[q] : t.row[q],
      o = transS ? t.row[q] : t.col[q];
    out[s].other.push(o);
    out[s].val.push(t.val[q]);
  }
  return out;
}

function expectRel(got: ArrayLike<number>, ref: ArrayLike<number>, scale: ArrayLike<number> | number, tol: number, what: string): void {
  expect(got.length, what).toBe(ref.length);
  let worst = 0,
    at = -1;
  for (let i = 0; i < ref.length; i++) {
    const s = typeof scale === 'number' ? scale : scale[i];
    const e = Math.abs(got[i] - ref[i]) / Math.max(s, 1e-300);
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  expect(worst, `${what}: worst at ${at}: got ${got[at]} want ${ref[at]}`).toBeLessThanOrEqual(tol);
}

async function setup(h: Harness, rows: number, cols: number, k: number, p: number, seed: number, empty = -1, long = -1) {
  const t0 = pattern(rows, cols, p, seed, empty, long);
  const S = h.eng.sparse(t0);
  const t = (await S.toCOO()) as unknown as Coo;
  return { S, t };
}

function refGram(
  seg: { other: number[] }[],
  F: ArrayLike<number>,
  k: number,
  diag: boolean,
): { G: Float64Array; A: Float64Array; terms: Int32Array } {
  const w = diag ? k : k * k;
  const G = new Float64Array(seg.length * w),
    A = new Float64Array(seg.length * w),
    terms = new Int32Array(seg.length);
  seg.forEach((s, j) => {
    terms[j] = s.other.length;
    for (const o of s.other)
      for (let a = 0; a < k; a++)
        for (let c = 0; c < (diag ? 1 : k); c++) {
          const cc = diag ? a : c;
          const x = F[o * k + a] * F[o * k + cc];
          G[j * w + (diag ? a : a * k + c)] += x;
          A[j * w + (diag ? a : a * k + c)] += Math.abs(x);
        }
  });
  return { G, A, terms };
}

describeEngines('completion primitives', (h) => {
  const cases: [number, number, number][] = [
    [37, 23, 1],
    [40, 31, 3],
    [33, 50, 16],
    [20, 90, 70],
  ];
  for (const [m, n, k] of cases) {
    for (const transS of [false, true]) {
      it(`segmentGram exact and diagonal, ${m} x ${n}, k = ${k}, transS = ${transS}`, async () => {
        const { eng } = h;
        const { S, t } = await setup(h, m, n, k, 0.3, m + k, 2, 5);
        const other = transS ? m : n;
        const F = eng.matrix(hostRandn(other, k, 7 + k), other, k);
        const f = await F.toArray();
        const seg = segments(t, transS);
        const G = await eng.segmentGram(S, F, { transS });
        expect(G.shape).toEqual([seg.length, k * k]);
        const ref = refGram(seg, f, k, false);
        const tol = Array.from(ref.A, (a, i) => 2 * (ref.terms[Math.floor(i / (k * k))] + 2) * h.u * a + 1e-300);
        const g = await G.toArray();
        let bad = -1;
        for (let i = 0; i < g.length && bad < 0; i++) if (!(Math.abs(g[i] - ref.G[i]) <= tol[i])) bad = i;
        expect(bad, bad < 0 ? '' : `G[${bad}] = ${g[bad]} vs ${ref.G[bad]}`).toBe(-1);
        const D = await eng.segmentGram(S, F, { transS, diagonal: true });
        expect(D.shape).toEqual([seg.length, k]);
        const rd = refGram(seg, f, k, true);
        const d = await D.toArray();
        let badD = -1;
        for (let i = 0; i < d.length && badD < 0; i++)
          if (!(Math.abs(d[i] - rd.G[i]) <= 2 * (rd.terms[Math.floor(i / k)] + 2) * h.u * rd.A[i] + 1e-300)) badD = i;
        expect(badD).toBe(-1);
        S.dispose();
        F.dispose();
        G.dispose();
        D.dispose();
      });
    }
  }

  for (const transS of [false, true]) {
    it(`segmentGram sketched equals the host CountSketch Gram (transS = ${transS}); rows >= len gives the exact Gram`, async () => {
      const { eng } = h;
      const k = 5,
        m = 60,
        n = 45;
      const { S, t } = await setup(h, m, n, k, 0.5, 3, 4, 9);
      const other = transS ? m : n;
      const F = eng.matrix(hostRandn(other, k, 21), other, k);
      const f = await F.toArray();
      const st = S._structure;
      const ptr = transS ? st.colPtr : st.rowPtr,
        idx = transS ? st.rowIdx : st.colIdx;
      const rows = 7;
      const { order } = segmentSketchOrder(st, transS, 3);
      const segs = ptr.length - 1;
      const ref = new Float64Array(segs * k * k),
        abs = new Float64Array(segs * k * k);
      for (let j = 0; j < segs; j++) {
        const b = ptr[j],
          len = ptr[j + 1] - b,
          s = Math.min(len, rows);
        const seen = new Set<number>();
        for (let bk = 0; bk < s; bk++) {
          const y = new Float64Array(k),
            ya = new Float64Array(k);
          for (let q = bk; q < len; q += s) {
            const v = order[b + q],
              pos = v < 0 ? -v - 1 : v,
              sg = v < 0 ? -1 : 1;
            expect(pos >= b && pos < b + len).toBe(true);
            seen.add(pos);
            for (let a = 0; a < k; a++) {
              y[a] += sg * f[idx[pos] * k + a];
              ya[a] += Math.abs(f[idx[pos] * k + a]);
            }
          }
          for (let a = 0; a < k; a++)
            for (let c = 0; c < k; c++) {
              ref[j * k * k + a * k + c] += y[a] * y[c];
              abs[j * k * k + a * k + c] += ya[a] * ya[c];
            }
        }
        expect(seen.size).toBe(len); // a permutation of the segment
      }
      const G = await eng.segmentGram(S, F, { transS, sketch: { rows, seed: 3 } });
      const g = await G.toArray();
      for (let i = 0; i < g.length; i++) expect(Math.abs(g[i] - ref[i]) <= 8 * (n + 2) * h.u * abs[i] + 1e-300, `Gs[${i}]`).toBe(true);
      // With as many buckets as entries, the sketch is a signed permutation: the exact Gram.
      const Gbig = await eng.segmentGram(S, F, { transS, sketch: { rows: 1000, seed: 3 } });
      const Gex = await eng.segmentGram(S, F, { transS });
      const a = await Gbig.toArray(),
        b = await Gex.toArray();
      const ex = refGram(segments(t, transS), f, k, false);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]) <= 4 * (n + 2) * h.u * ex.A[i] + 1e-300).toBe(true);
      for (const x of [S, G, Gbig, Gex]) x.dispose();
      F.dispose();
    });
  }

  it('choleskyBatch / choleskySolveBatch: factors, ridge, inverse, status of singular and empty blocks', async () => {
    const { eng } = h;
    const k = 6,
      segs = 9;
    const rng = new PhiloxRng(5, 1);
    const G = new Float64Array(segs * k * k),
      Hh = new Float64Array(segs * k);
    for (let j = 0; j < segs; j++) {
      // j = 7: rank 2 (singular PSD); j = 8: zero; else well conditioned.
      const r = j === 7 ? 2 : j === 8 ? 0 : k + 3;
      const B = Array.from({ length: r * k }, () => rng.normal());
      for (let a = 0; a < k; a++)
        for (let c = 0; c < k; c++) {
          let s = 0;
          for (let t = 0; t < r; t++) s += B[t * k + a] * B[t * k + c];
          G[j * k * k + a * k + c] = s;
        }
      for (let a = 0; a < k; a++) Hh[j * k + a] = rng.normal();
    }
    const Gm = eng.matrix(G, segs, k * k),
      Hm = eng.matrix(Hh, segs, k);
    const ridge = new Float64Array(segs);
    ridge[3] = 0.5;
    const { L, status } = await eng.choleskyBatch(Gm, { ridge, fallback: 1e-3 });
    const l = await L.toArray(),
      st = await status.toArray();
    expect(Array.from(st)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 2]);
    for (let j = 0; j < 8; j++) {
      let tr = 0;
      for (let a = 0; a < k; a++) tr += G[j * k * k + a * k + a];
      const lam = ((j === 3 ? 0.5 : j === 7 ? 1e-3 : 0) * tr) / k;
      for (let a = 0; a < k; a++)
        for (let c = 0; c < k; c++) {
          if (c > a) expect(l[j * k * k + a * k + c]).toBe(0);
          let s = 0;
          for (let t = 0; t < k; t++) s += l[j * k * k + a * k + t] * l[j * k * k + c * k + t];
          const want = G[j * k * k + a * k + c] + (a === c ? lam : 0);
          expect(Math.abs(s - want), `LL^T seg ${j} (${a},${c})`).toBeLessThanOrEqual(40 * k * h.u * tr);
        }
    }
    for (let e = 0; e < k * k; e++) expect(l[8 * k * k + e]).toBe(0);
    const X = await eng.choleskySolveBatch(L, Hm);
    const x = await X.toArray();
    for (let j = 0; j < segs; j++) {
      if (j >= 7) continue;
      let tr = 0;
      for (let a = 0; a < k; a++) tr += G[j * k * k + a * k + a];
      const lam = ((j === 3 ? 0.5 : 0) * tr) / k;
      let rn = 0,
        hn = 0;
      for (let a = 0; a < k; a++) {
        let s = lam * x[j * k + a];
        for (let c = 0; c < k; c++) s += G[j * k * k + a * k + c] * x[j * k + c];
        rn = Math.max(rn, Math.abs(s - Hh[j * k + a]));
        hn = Math.max(hn, Math.abs(Hh[j * k + a]));
      }
      // backward-stable: residual ~ u ||G|| ||x||; these blocks have condition numbers below ~1e3
      expect(rn, `solve residual seg ${j}`).toBeLessThanOrEqual(1e4 * k * h.u * tr * Math.max(1, hn));
    }
    for (let a = 0; a < k; a++) expect(x[8 * k + a]).toBe(0);
    // inverse: W L = I
    const { L: W, status: sw } = await eng.choleskyBatch(Gm, { ridge, fallback: 1e-3, inverse: true });
    const w = await W.toArray();
    for (let j = 0; j < 7; j++)
      for (let a = 0; a < k; a++)
        for (let c = 0; c < k; c++) {
          if (c > a) expect(w[j * k * k + a * k + c]).toBe(0);
          let s = 0;
          for (let t = 0; t < k; t++) s += w[j * k * k + a * k + t] * l[j * k * k + t * k + c];
          expect(Math.abs(s - (a === c ? 1 : 0)), `W L seg ${j}`).toBeLessThanOrEqual(1e4 * k * h.u);
        }
    // without fallback the singular block fails (status 2)
    const { L: L2, status: st2 } = await eng.choleskyBatch(Gm);
    const s2 = await st2.toArray();
    expect(s2[7]).toBe(2);
    expect(s2[0]).toBe(0);
    for (const z of [Gm, Hm, L, status, X, W, st2, sw, L2]) z.dispose();
  });

  for (const transS of [false, true]) {
    it(`segmentCG: k steps with the exact preconditioner solve each least-squares problem; steps = 0 returns X0 (transS = ${transS})`, async () => {
      const { eng } = h;
      const m = 50,
        n = 40,
        k = 4;
      const { S, t } = await setup(h, m, n, k, 0.4, 17, 6);
      const other = transS ? m : n,
        segs = transS ? n : m;
      const F = eng.matrix(hostRandn(other, k, 5), other, k);
      const X0 = eng.matrix(hostRandn(segs, k, 6), segs, k);
      const G = await eng.segmentGram(S, F, { transS });
      const { L: W, status: sW } = await eng.choleskyBatch(G, { fallback: 1e-6, inverse: true });
      const { L, status: sL } = await eng.choleskyBatch(G, { fallback: 1e-6 });
      const Hm = await eng.spmm(S, F, { transS });
      const Xex = await eng.choleskySolveBatch(L, Hm);
      const x0 = await X0.toArray(),
        xe = await Xex.toArray();
      // With M = A^T A exactly, PCG converges in one step.
      const X1 = await eng.segmentCG(S, F, X0, W, { transS, steps: 1 });
      const D = await eng.segmentGram(S, F, { transS, diagonal: true });
      const Xj = await eng.segmentCG(S, F, X0, D, { transS, steps: 3 * k });
      const Xz = await eng.segmentCG(S, F, X0, D, { transS, steps: 0 });
      const seg = segments(t, transS);
      const x1 = await X1.toArray(),
        xj = await Xj.toArray(),
        xz = await Xz.toArray();
      const scale = Math.max(...Array.from(xe, Math.abs));
      const tol = h.dtype === 'f64' ? 1e-9 : 2e-3;
      for (let j = 0; j < segs; j++) {
        for (let a = 0; a < k; a++) {
          const i = j * k + a;
          if (seg[j].other.length === 0) {
            expect(x1[i]).toBe(x0[i]); // nothing observed: the start is kept
            expect(xe[i]).toBe(0);
            continue;
          }
          expect(Math.abs(x1[i] - xe[i]), `pcg(exact M) seg ${j}`).toBeLessThanOrEqual(tol * scale);
          expect(Math.abs(xj[i] - xe[i]), `jacobi-pcg seg ${j}`).toBeLessThanOrEqual(tol * scale);
        }
      }
      expect(Array.from(xz)).toEqual(Array.from(x0));
      // ridge: (A^T A + 0.3 tr/k I) x = A^T b; one step with the matching exact preconditioner, and many
      // Jacobi steps, both reach the ridge solution
      const R = eng.full(segs, 1, 0.3);
      const { L: Wr, status: sWr } = await eng.choleskyBatch(G, { ridge: 0.3, inverse: true });
      const { L: Lr, status: sLr } = await eng.choleskyBatch(G, { ridge: 0.3 });
      const Xr = await eng.choleskySolveBatch(Lr, Hm);
      const X1r = await eng.segmentCG(S, F, X0, Wr, { transS, steps: 1, ridge: R });
      const Xjr = await eng.segmentCG(S, F, X0, D, { transS, steps: 3 * k, ridge: R });
      const xr = await Xr.toArray(),
        x1r = await X1r.toArray(),
        xjr = await Xjr.toArray();
      const sr = Math.max(...Array.from(xr, Math.abs));
      for (let j = 0; j < segs; j++) {
        if (seg[j].other.length === 0) continue;
        for (let a = 0; a < k; a++) {
          const i = j * k + a;
          expect(Math.abs(x1r[i] - xr[i]), `ridge pcg seg ${j}`).toBeLessThanOrEqual(tol * sr);
          expect(Math.abs(xjr[i] - xr[i]), `ridge jacobi seg ${j}`).toBeLessThanOrEqual(tol * sr);
        }
      }
      const Rbad = eng.zeros(segs + 1, 1);
      await expect(eng.segmentCG(S, F, X0, D, { transS, ridge: Rbad })).rejects.toThrow(/ridge/);
      for (const z of [S, F, X0, G, W, L, Hm, Xex, X1, D, Xj, Xz, R, Wr, Lr, Xr, X1r, Xjr, sW, sL, sWr, sLr, Rbad]) z.dispose();
    });
  }

  it('sparseValues copies the stored values; argument errors name the argument', async () => {
    const { eng } = h;
    const S = eng.sparse({ rows: 3, cols: 4, row: [0, 2, 2], col: [1, 0, 3], val: [1.5, -2, 3] });
    const v = await eng.sparseValues(S);
    expect(v.shape).toEqual([3, 1]);
    expect(Array.from(await v.toArray())).toEqual([1.5, -2, 3]);
    const F = eng.zeros(4, 2),
      Fbad = eng.zeros(3, 2);
    await expect(eng.segmentGram(S, Fbad)).rejects.toThrow(RangeError);
    const okT = eng.segmentGram(S, Fbad, { transS: true });
    await expect(okT).resolves.toBeDefined();
    (await okT).dispose();
    await expect(eng.segmentGram(S, F, { diagonal: true, sketch: { rows: 2 } })).rejects.toThrow(/sketch/);
    await expect(eng.segmentGram(S, F, { sketch: { rows: 0 } })).rejects.toThrow(/sketch.rows/);
    await expect(eng.segmentGram(S, F, { bogus: 1 } as never)).rejects.toThrow(TypeError);
    const G = eng.zeros(3, 5);
    await expect(eng.choleskyBatch(G)).rejects.toThrow(/k \* k/);
    const G4 = eng.zeros(3, 4);
    await expect(eng.choleskyBatch(G4, { ridge: -1 })).rejects.toThrow(/ridge/);
    await expect(eng.choleskyBatch(G4, { ridge: [1, 2] })).rejects.toThrow(/ridge/);
    await expect(eng.choleskyBatch(G4, { fallback: NaN })).rejects.toThrow(/fallback/);
    const Z33 = eng.zeros(3, 3),
      Z22 = eng.zeros(2, 2),
      Z23 = eng.zeros(2, 3);
    await expect(eng.choleskySolveBatch(G4, Z33)).rejects.toThrow(/k \* k/);
    const X0 = eng.zeros(3, 2),
      P = eng.zeros(3, 2);
    await expect(eng.segmentCG(S, F, Z22, P)).rejects.toThrow(/X0/);
    await expect(eng.segmentCG(S, F, X0, Z33)).rejects.toThrow(/P is/);
    await expect(eng.segmentCG(S, F, X0, P, { steps: -1 })).rejects.toThrow(/steps/);
    const E = eng.sparse({ rows: 2, cols: 2, row: [], col: [], val: [] });
    await expect(eng.sparseValues(E)).rejects.toThrow(/stores no entries/);
    const Ge = await eng.segmentGram(E, Z23);
    expect(Array.from(await Ge.toArray()).every((x) => x === 0)).toBe(true);
    for (const z of [S, v, F, Fbad, G, G4, Z33, Z22, Z23, X0, P, E, Ge]) z.dispose();
  });
});
