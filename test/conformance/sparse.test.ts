/**
 * Sparse matrices on every backend: COO construction (duplicates, order, empty rows/columns, nnz == 0),
 * SpMM (S B and S^T B) and SDDMM against f64 host references, with per-element tolerances scaled by the
 * number of terms and the unit roundoff (|got - ref| <= c (terms + 2) u sum|terms|), plus input errors.
 */
import { afterEach, expect, it } from 'vitest';
import { sparseTuning } from '../../ts/backends/webgpu/kernels/sparse.js';
import type { Mat, SparseMat } from '../../ts/index.js';
import type { CooOutput } from '../../ts/types.js';
import { PhiloxRng } from '../../ts/rng/philox.js';
import { consume, describeEngines, disposeAll, hostRandn, type Harness } from '../helpers.js';

type Coo = CooOutput<'f64'>;

/** Random COO: `count` triplets with uniform positions (duplicates possible), normal values. */
function randomCoo(rows: number, cols: number, count: number, seed: number): Coo {
  const rng = new PhiloxRng(seed, 3);
  const row = new Int32Array(count),
    col = new Int32Array(count),
    val = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    row[i] = rng.int(rows);
    col[i] = rng.int(cols);
    val[i] = rng.normal();
  }
  return { rows, cols, row, col, val };
}

/** Skewed COO: a few rows with `longLen` entries, the rest with 0..2*short entries. */
function skewedCoo(rows: number, cols: number, longRows: number[], longLen: number, short: number, seed: number): Coo {
  const rng = new PhiloxRng(seed, 5);
  const r: number[] = [],
    c: number[] = [],
    v: number[] = [];
  for (let i = 0; i < rows; i++) {
    const n = longRows.includes(i) ? longLen : rng.int(2 * short + 1);
    for (let t = 0; t < n; t++) {
      r.push(i);
      c.push(rng.int(cols));
      v.push(rng.normal());
    }
  }
  return { rows, cols, row: Int32Array.from(r), col: Int32Array.from(c), val: Float64Array.from(v) };
}

/** Dense m x n (f64) of a COO with duplicates summed. */
function cooDense(c: { rows: number; cols: number; row: ArrayLike<number>; col: ArrayLike<number>; val: ArrayLike<number> }): Float64Array {
  const D = new Float64Array(c.rows * c.cols);
  for (let i = 0; i < c.row.length; i++) D[c.row[i] * c.cols + c.col[i]] += c.val[i];
  return D;
}

/**
 * Reference op(S) B in f64 from the stored triplets (the engine's rounded values), with the matching
 * sum |op(S)| |B| and the number of terms of each output row (for the error bound).
 */
function refSpmm(
  t: { rows: number; cols: number; row: ArrayLike<number>; col: ArrayLike<number>; val: ArrayLike<number> },
  B: ArrayLike<number>,
  p: number,
  transS: boolean,
): { C: Float64Array; abs: Float64Array; terms: Int32Array } {
  const m = transS ? t.cols : t.rows;
  const C = new Float64Array(m * p),
    abs = new Float64Array(m * p),
    terms = new Int32Array(m);
  for (let q = 0; q < t.row.length; q++) {
    const i = transS ? t.col[q] : t.row[q],
      k = transS ? t.row[q] : t.col[q],
      v = t.val[q];
    terms[i]++;
    for (let j = 0; j < p; j++) {
      C[i * p + j] += v * B[k * p + j];
      abs[i * p + j] += Math.abs(v * B[k * p + j]);
    }
  }
  return { C, abs, terms };
}

/** Asserts |got - ref| <= c (terms_i + 2) u abs (per element; rows of width p). */
function expectClose(
  got: ArrayLike<number>,
  ref: { C: Float64Array; abs: Float64Array; terms: Int32Array },
  p: number,
  u: number,
  what: string,
  c = 2,
): void {
  expect(got.length, what).toBe(ref.C.length);
  let worst = 0,
    at = -1;
  for (let i = 0; i < got.length; i++) {
    const tol = c * (ref.terms[Math.floor(i / p)] + 2) * u * ref.abs[i];
    const err = Math.abs(got[i] - ref.C[i]);
    if (!(err <= tol)) {
      const r = tol > 0 ? err / tol : Infinity;
      if (!(r <= worst)) {
        worst = r;
        at = i;
      }
    }
  }
  expect(at, `${what}: worst element ${at} got ${got[at]}, want ${ref.C[at]} (err/tol ${worst})`).toBe(-1);
}

function rowLengths(S: { rows: number; row: ArrayLike<number> }): Int32Array {
  const n = new Int32Array(S.rows);
  for (let q = 0; q < S.row.length; q++) n[S.row[q]]++;
  return n;
}

async function checkSpmm(h: Harness, S: SparseMat, p: number, seed: number, what: string): Promise<void> {
  const { eng } = h;
  const t = await S.toCOO();
  for (const transS of [false, true]) {
    const k = transS ? S.rows : S.cols;
    const B = eng.matrix(hostRandn(k, p, seed), k, p);
    const b = await B.toArray();
    const C = await eng.spmm(S, B, { transS });
    expect(C.shape).toEqual([transS ? S.cols : S.rows, p]);
    expectClose(await C.toArray(), refSpmm(t, b, p, transS), p, h.u, `${what} p=${p} transS=${transS}`);
    B.dispose();
    C.dispose();
  }
}

/** Reference sddmm on the stored pattern: values, sum |terms| and k. */
function refSddmm(t: { row: ArrayLike<number>; col: ArrayLike<number> }, U: ArrayLike<number>, V: ArrayLike<number>, k: number) {
  const n = t.row.length;
  const C = new Float64Array(n),
    abs = new Float64Array(n),
    terms = new Int32Array(n).fill(k);
  for (let q = 0; q < n; q++) {
    let s = 0,
      a = 0;
    for (let j = 0; j < k; j++) {
      const x = U[t.row[q] * k + j] * V[t.col[q] * k + j];
      s += x;
      a += Math.abs(x);
    }
    C[q] = s;
    abs[q] = a;
  }
  return { C, abs, terms };
}

async function checkSddmm(h: Harness, S: SparseMat, k: number, seed: number, what: string): Promise<SparseMat> {
  const { eng } = h;
  const U = eng.matrix(hostRandn(S.rows, k, seed), S.rows, k);
  const V = eng.matrix(hostRandn(S.cols, k, seed + 1), S.cols, k);
  const R = await eng.sddmm(S, U, V);
  expect(R.shape).toEqual(S.shape);
  expect(R.nnz).toBe(S.nnz);
  const t = await S.toCOO(),
    r = await R.toCOO();
  expect(Array.from(r.row)).toEqual(Array.from(t.row));
  expect(Array.from(r.col)).toEqual(Array.from(t.col));
  const u = await U.toArray(),
    v = await V.toArray();
  expectClose(r.val, refSddmm(t, u, v, k), 1, h.u, `${what} k=${k}`);
  // agreement with the dense product U V^T on the pattern (both within their error bounds of the truth)
  const DU = await eng.matmul(U, V, { transB: true });
  const D = await DU.toArray();
  const abs = refSddmm(t, u, v, k).abs;
  let worst = 0;
  for (let q = 0; q < r.row.length; q++) {
    const d = D[r.row[q] * S.cols + r.col[q]];
    worst = Math.max(worst, Math.abs(r.val[q] - d) / (4 * (k + 2) * h.u * abs[q] + Number.MIN_VALUE));
  }
  expect(worst, `${what} k=${k}: sddmm vs dense U V^T`).toBeLessThanOrEqual(1);
  DU.dispose();
  U.dispose();
  V.dispose();
  return R;
}

describeEngines('sparse', (h) => {
  afterEach(() => {
    sparseTuning.force = {};
  });
  /** WebGPU: the kernel-choice policies to run a case under (each adapter profile); one pass elsewhere. */
  const policies = h.backend === 'webgpu' ? [{ ...sparseTuning.hardware }, { ...sparseTuning.software }] : [{}];

  it('sums duplicates and returns sorted COO triplets', async () => {
    const S = h.eng.sparse({ rows: 3, cols: 4, row: [2, 0, 0, 2, 0], col: [3, 1, 1, 0, 1], val: [5, 1, 2, 7, -0.5] });
    expect(S.nnz).toBe(3);
    const t = await S.toCOO();
    expect([t.rows, t.cols]).toEqual([3, 4]);
    expect(Array.from(t.row)).toEqual([0, 2, 2]);
    expect(Array.from(t.col)).toEqual([1, 0, 3]);
    expect(Array.from(t.val)).toEqual([2.5, 7, 5]);
    expect(t.val).toBeInstanceOf(h.dtype === 'f64' ? Float64Array : Float32Array);
    expect(t.row).toBeInstanceOf(Int32Array);
    // S I = dense(S)
    const I = h.eng.eye(4, 4);
    const C = await h.eng.spmm(S, I);
    expect(Array.from(await C.toArray())).toEqual([0, 2.5, 0, 0, 0, 0, 0, 0, 7, 0, 0, 5]);
    disposeAll(S, I, C);
  });

  it('accepts unsorted input in every accepted array form', async () => {
    const rng = new PhiloxRng(11, 1);
    const n = 500;
    const row: number[] = [],
      col: number[] = [],
      val: number[] = [];
    for (let i = 0; i < n; i++) {
      row.push(rng.int(40));
      col.push(rng.int(30));
      val.push(rng.int(9) - 4); // small integers: sums are exact in every dtype
    }
    const want = cooDense({ rows: 40, cols: 30, row, col, val });
    for (const coo of [
      { rows: 40, cols: 30, row, col, val },
      { rows: 40, cols: 30, row: Int32Array.from(row), col: Int32Array.from(col), val: Float64Array.from(val) },
      { rows: 40, cols: 30, row: Float64Array.from(row), col: Uint16Array.from(col), val: Float32Array.from(val) },
    ]) {
      const S = h.eng.sparse(coo);
      const t = await S.toCOO();
      for (let q = 1; q < t.row.length; q++)
        expect(t.row[q - 1] < t.row[q] || (t.row[q - 1] === t.row[q] && t.col[q - 1] < t.col[q])).toBe(true);
      expect(Array.from(cooDense(t))).toEqual(Array.from(want));
      // explicit zeros (duplicates that cancel) are kept as stored entries
      let distinct = 0;
      const seen = new Set<number>();
      for (let i = 0; i < n; i++)
        if (!seen.has(row[i] * 30 + col[i])) {
          seen.add(row[i] * 30 + col[i]);
          distinct++;
        }
      expect(S.nnz).toBe(distinct);
      S.dispose();
    }
  });

  it('empty rows and empty columns', async () => {
    // rows 1, 3 and columns 0, 2, 4 are empty
    const S = h.eng.sparse({ rows: 5, cols: 6, row: [0, 2, 4, 0, 4], col: [1, 3, 5, 5, 1], val: [1, 2, 3, 4, 5] });
    await checkSpmm(h, S, 3, 21, 'empty rows/cols');
    const B1 = h.eng.matrix(hostRandn(6, 2, 1), 6, 2),
      B2 = h.eng.matrix(hostRandn(5, 2, 1), 5, 2);
    const C = await consume(h.eng.spmm(S, B1));
    for (const r of [1, 3]) expect([C[2 * r], C[2 * r + 1]]).toEqual([0, 0]);
    const T = await consume(h.eng.spmm(S, B2, { transS: true }));
    for (const c of [0, 2, 4]) expect([T[2 * c], T[2 * c + 1]]).toEqual([0, 0]);
    const R = await checkSddmm(h, S, 3, 5, 'empty rows/cols');
    disposeAll(R, S, B1, B2);
  });

  it('1 x 1, a single entry, and nnz == 0', async () => {
    const { eng } = h;
    const one = eng.sparse({ rows: 1, cols: 1, row: [0], col: [0], val: [3] });
    const M1 = eng.matrix([[2, -1, 0.5]]),
      M2 = eng.matrix([[2]]),
      U1 = eng.matrix([[1, 2]]),
      V1 = eng.matrix([[3, 4]]);
    expect(Array.from(await consume(eng.spmm(one, M1)))).toEqual([6, -3, 1.5]);
    expect(Array.from(await consume(eng.spmm(one, M2, { transS: true })))).toEqual([6]);
    const r1 = await eng.sddmm(one, U1, V1);
    expect(Array.from((await r1.toCOO()).val)).toEqual([11]);
    disposeAll(one, M1, M2, U1, V1, r1);

    const single = eng.sparse({ rows: 4, cols: 7, row: [2], col: [5], val: [-2] });
    await checkSpmm(h, single, 5, 3, 'single entry');
    const B = eng.matrix(hostRandn(7, 4, 8), 7, 4);
    const b = await B.toArray();
    const C = await consume(eng.spmm(single, B));
    for (let i = 0; i < 16; i++) expect(C[i]).toBe(Math.floor(i / 4) === 2 ? -2 * b[5 * 4 + (i % 4)] : 0);
    (await checkSddmm(h, single, 4, 9, 'single entry')).dispose();
    disposeAll(single, B);

    const empty = eng.sparse({ rows: 3, cols: 2, row: [], col: [], val: [] });
    expect(empty.nnz).toBe(0);
    const e = await empty.toCOO();
    expect([e.row.length, e.col.length, e.val.length]).toEqual([0, 0, 0]);
    expect(e.val).toBeInstanceOf(h.dtype === 'f64' ? Float64Array : Float32Array);
    for (const p of [1, 4, 9]) {
      const P2 = eng.matrix(hostRandn(2, p, 1), 2, p),
        P3 = eng.matrix(hostRandn(3, p, 1), 3, p);
      const Z = await eng.spmm(empty, P2);
      expect(Z.shape).toEqual([3, p]);
      expect((await Z.toArray()).every((x) => x === 0)).toBe(true);
      const ZT = await eng.spmm(empty, P3, { transS: true });
      expect((await ZT.toArray()).every((x) => x === 0)).toBe(true);
      disposeAll(P2, P3, Z, ZT);
    }
    const Ue = eng.matrix(hostRandn(3, 5, 1), 3, 5),
      Ve = eng.matrix(hostRandn(2, 5, 1), 2, 5);
    const R = await eng.sddmm(empty, Ue, Ve);
    disposeAll(Ue, Ve);
    expect(R.nnz).toBe(0);
    expect((await R.toCOO()).val.length).toBe(0);
    empty.dispose();
    expect((await R.toCOO()).row.length).toBe(0);
    R.dispose();
  });

  it('1 x n and n x 1 (one long row, one long column)', async () => {
    const n = 6000;
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    const vals = hostRandn(1, n, 31);
    const zeros = new Int32Array(n);
    const wide = h.eng.sparse({ rows: 1, cols: n, row: zeros, col: idx, val: vals });
    const tall = h.eng.sparse({ rows: n, cols: 1, row: idx, col: zeros, val: vals });
    for (const policy of policies) {
      sparseTuning.force = policy;
      for (const p of [1, 4, 7, 33]) {
        await checkSpmm(h, wide, p, 40 + p, '1 x n');
        await checkSpmm(h, tall, p, 50 + p, 'n x 1');
      }
      for (const k of [1, 8, 40]) {
        (await checkSddmm(h, wide, k, 60 + k, '1 x n')).dispose();
        (await checkSddmm(h, tall, k, 70 + k, 'n x 1')).dispose();
      }
    }
    disposeAll(wide, tall);
  });

  it('random 3000 x 2000 with ~60k entries, p in {1, 7, 64}, S B and S^T B', async () => {
    const S = h.eng.sparse(randomCoo(3000, 2000, 60000, 99));
    expect(S.nnz).toBeGreaterThan(59000);
    for (const policy of policies) {
      sparseTuning.force = policy;
      for (const p of [1, 7, 64]) await checkSpmm(h, S, p, 100 + p, 'random');
    }
    if (h.backend === 'webgpu') {
      // the workgroup-per-row kernel for every row, at each column-lane width
      sparseTuning.force = { longMin: 0, longFactor: 0 };
      for (const p of [1, 7, 64]) await checkSpmm(h, S, p, 200 + p, 'random (all rows long)');
    }
    S.dispose();
  });

  it('skewed rows (a few long rows among short ones)', async () => {
    const S = h.eng.sparse(skewedCoo(2000, 3000, [0, 777, 1999], 2500, 3, 7));
    for (const policy of policies) {
      sparseTuning.force = policy;
      for (const p of [1, 8, 20]) await checkSpmm(h, S, p, 300 + p, 'skewed');
      (await checkSddmm(h, S, 16, 12, 'skewed')).dispose();
    }
    S.dispose();
  });

  it('sddmm with k in {1, 3, 4, 16, 64} agrees with the dense product on the pattern', async () => {
    const S = h.eng.sparse(randomCoo(700, 500, 9000, 5));
    for (const k of [1, 3, 4, 16, 64]) (await checkSddmm(h, S, k, 400 + k, 'random')).dispose();
    if (h.backend === 'webgpu') {
      sparseTuning.force = { coopK: 1 }; // cooperative kernel for every k
      for (const k of [1, 3, 64, 200]) (await checkSddmm(h, S, k, 500 + k, 'random (coop)')).dispose();
      sparseTuning.force = { coopK: Infinity }; // one invocation per entry for every k
      for (const k of [64, 200]) (await checkSddmm(h, S, k, 600 + k, 'random (entry)')).dispose();
    }
    S.dispose();
  });

  it('the sddmm result shares the structure and outlives S', async () => {
    const { eng } = h;
    const coo = randomCoo(60, 40, 300, 17);
    const S = eng.sparse(coo);
    const U = eng.matrix(hostRandn(60, 5, 1), 60, 5),
      V = eng.matrix(hostRandn(40, 5, 2), 40, 5);
    const R = await eng.sddmm(S, U, V);
    const R2 = await eng.sddmm(R, U, V); // derived from a derived matrix
    const before = await R.toCOO();
    S.dispose();
    expect(S.disposed).toBe(true);
    await expect(eng.spmm(S, U as Mat)).rejects.toThrow(/'S' has been disposed/);
    const after = await R.toCOO();
    expect(Array.from(after.row)).toEqual(Array.from(before.row));
    expect(Array.from(after.val)).toEqual(Array.from(before.val));
    // R still works as an operand, both ways, after S is gone
    await checkSpmm(h, R, 3, 77, 'sddmm result');
    (await checkSddmm(h, R, 2, 78, 'sddmm result')).dispose();
    R.dispose();
    const t2 = await R2.toCOO();
    expect(t2.row.length).toBe(before.row.length);
    await checkSpmm(h, R2, 2, 79, 'sddmm of sddmm result');
    R2.dispose();
    R.dispose(); // idempotent
    // a new matrix after everything was released
    const S3 = eng.sparse(coo);
    await checkSpmm(h, S3, 2, 80, 'rebuilt');
    disposeAll(S3, U, V);
  });

  it('toCOO is row-major with the stored values', async () => {
    const coo = randomCoo(300, 200, 4000, 23);
    const S = h.eng.sparse(coo);
    const t = await S.toCOO();
    expect(t.row.length).toBe(S.nnz);
    const lens = rowLengths(t);
    expect(lens.reduce((a, b) => a + b, 0)).toBe(S.nnz);
    for (let q = 1; q < t.row.length; q++)
      expect(t.row[q - 1] < t.row[q] || (t.row[q - 1] === t.row[q] && t.col[q - 1] < t.col[q])).toBe(true);
    const want = cooDense(coo),
      got = cooDense(t);
    for (let i = 0; i < want.length; i++) {
      const tol = h.dtype === 'f64' ? 8 * h.u * Math.abs(want[i]) + 1e-15 : Math.abs(want[i]) * 8 * h.u + 1e-6;
      expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(tol);
    }
    // toCOO returns fresh arrays
    t.row[0] = 123;
    expect((await S.toCOO()).row[0]).not.toBe(123);
    S.dispose();
  });

  it('rejects bad input to sparse() naming the argument', () => {
    const { eng } = h;
    const ok = { rows: 3, cols: 4, row: [0, 2], col: [1, 3], val: [1, 2] };
    expect(() => eng.sparse({ ...ok, row: [0, 3] })).toThrow(RangeError);
    expect(() => eng.sparse({ ...ok, row: [0, 3] })).toThrow(/row\[1\] = 3/);
    expect(() => eng.sparse({ ...ok, col: [-1, 0] })).toThrow(/col\[0\] = -1/);
    expect(() => eng.sparse({ ...ok, col: [4, 0] })).toThrow(/col\[0\] = 4/);
    expect(() => eng.sparse({ ...ok, row: [0, 1.5] })).toThrow(/row\[1\] = 1.5/);
    expect(() => eng.sparse({ ...ok, col: new Float32Array([0, NaN]) })).toThrow(/col\[1\]/);
    expect(() => eng.sparse({ ...ok, col: [0, 1, 2] })).toThrow(/'col' has length 3/);
    expect(() => eng.sparse({ ...ok, val: [1] })).toThrow(/'val' has length 1/);
    expect(() => eng.sparse({ ...ok, val: [1, NaN] })).toThrow(/val\[1\] = NaN/);
    expect(() => eng.sparse({ ...ok, val: new Float64Array([Infinity, 1]) })).toThrow(/val\[0\] = Infinity/);
    expect(() => eng.sparse({ ...ok, val: [1, '2'] as never })).toThrow(TypeError);
    expect(() => eng.sparse({ ...ok, val: [1, '2'] as never })).toThrow(/val\[1\]/);
    expect(() => eng.sparse({ ...ok, val: 'x' as never })).toThrow(/'val'/);
    expect(() => eng.sparse({ ...ok, row: 'x' as never })).toThrow(/'row'/);
    expect(() => eng.sparse({ ...ok, rows: 2.5 })).toThrow(/'rows'/);
    expect(() => eng.sparse({ ...ok, cols: -1 })).toThrow(/'cols'/);
    expect(() => eng.sparse({ rows: 1, cols: 1, row: [0, 0], col: [0, 0], val: [1e308, 1e308] })).toThrow(RangeError);
  });

  it('rejects mismatched operands of spmm and sddmm', async () => {
    const { eng } = h;
    const S = eng.sparse({ rows: 3, cols: 4, row: [0, 2], col: [1, 3], val: [1, 2] });
    const Z32 = eng.zeros(3, 2),
      Z42 = eng.zeros(4, 2),
      Z34 = eng.zeros(3, 4),
      Z22 = eng.zeros(2, 2),
      Z43 = eng.zeros(4, 3);
    await expect(eng.spmm(S, Z32)).rejects.toThrow(/op\(S\) is 3 x 4/);
    await expect(eng.spmm(S, Z42, { transS: true })).rejects.toThrow(RangeError);
    await expect(eng.spmm(S, Z42, { transS: 1 as never })).rejects.toThrow(/'transS'/);
    await expect(eng.spmm(Z34 as never, Z42)).rejects.toThrow(/'S' must be a SparseMat/);
    await expect(eng.sddmm(S, Z22, Z42)).rejects.toThrow(/U has 2 rows/);
    await expect(eng.sddmm(S, Z32, Z32)).rejects.toThrow(/V has 3 rows/);
    await expect(eng.sddmm(S, Z32, Z43)).rejects.toThrow(/columns/);
    disposeAll(S, Z32, Z42, Z34, Z22, Z43);
  });

  it('norm of a sparse matrix runs over its stored values (duplicates summed), nnz = 0 gives 0', async () => {
    const { eng } = h;
    const S = eng.sparse({ rows: 5, cols: 4, row: [0, 0, 3, 4, 4], col: [1, 1, 2, 0, 3], val: [1.5, 1.5, -4, 2, 0.5] });
    const want = Math.sqrt(3 ** 2 + 4 ** 2 + 2 ** 2 + 0.5 ** 2);
    expect(Math.abs((await eng.norm(S)) - want) / want).toBeLessThan(10 * h.u);
    expect(await eng.norm(S, 'max')).toBe(4);
    const E = eng.sparse({ rows: 3, cols: 3, row: [], col: [], val: [] });
    expect(await eng.norm(E)).toBe(0);
    E.dispose();
    S.dispose();
    await expect(eng.norm(S)).rejects.toThrow(/disposed/);
  });
});
