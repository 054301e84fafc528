/**
 * Native GEMM kernels (addon called directly, f32 and f64): block-edge sizes, every transpose with
 * alpha/beta, k much larger than KC, GEMV shapes, bit-identical results for 1 vs 2 threads, the forced
 * AVX2 and scalar paths (child processes with LOWRANK_ISA), the f64 kernel for big products forced on and off
 * (LOWRANK_GEMM_BIG), syrkLower, and a 1500^3 product.
 *
 * Every entry checked satisfies |C - ref| <= (k + 4) u (|alpha| sum_p |a_ip b_pj| + |beta c0|), the
 * classical componentwise bound (gamma_k plus the roundings of alpha, beta and the final update).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../ts/backends/native/addon.js';
import type { DType } from '../../ts/types.js';
import { unitRoundoff } from '../helpers.js';
import { mulberryFill } from '../host-linalg.js';
import { runIsaChild } from './isa-child.js';

type Arr = Float32Array | Float64Array;
const addon = loadAddon();
const DTYPES: DType[] = ['f32', 'f64'];

function alloc(dtype: DType, n: number): Arr {
  return dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
}

/** Deterministic values in [-1, 1) (mulberry32). */
function rand(dtype: DType, n: number, seed: number): Arr {
  return mulberryFill(alloc(dtype, n), seed);
}

interface Case {
  m: number;
  n: number;
  k: number;
  ta: boolean;
  tb: boolean;
  alpha: number;
  beta: number;
}

/**
 * Rows (or columns) checked in full: the ends, a few micro-tile and MC edges, and random ones. A full
 * row crosses every tile edge in the other dimension, so these cover all edge tiles.
 */
function pick(len: number, seed: number): number[] {
  if (len <= 48) return Array.from({ length: len }, (_, i) => i);
  const s = new Set<number>([0, 1, len - 2, len - 1]);
  for (const b of [11, 12, 15, 16, 32, 383, 384]) if (b < len) s.add(b);
  for (let i = 0; i < 3; i++) s.add(Math.floor((((seed * 7919 + i * 104729) % 1000003) / 1000003) * len));
  return [...s].sort((x, y) => x - y);
}

/**
 * Checks entries of C = alpha op(A) op(B) + beta C0 (all of them for small outputs, otherwise full
 * rows and columns at block edges plus random ones). Returns '' or a description of the first failure.
 */
function checkGemm(dtype: DType, c: Case, A: Arr, B: Arr, C0: Arr, C: Arr, full = false): string {
  const { m, n, k, ta, tb, alpha, beta } = c;
  const u = unitRoundoff(dtype);
  const check = (i: number, j: number): string => {
    let s = 0,
      abs = 0;
    for (let p = 0; p < k; p++) {
      const a = ta ? A[p * m + i] : A[i * k + p];
      const b = tb ? B[j * k + p] : B[p * n + j];
      s += a * b;
      abs += Math.abs(a * b);
    }
    const c0 = beta === 0 ? 0 : beta * C0[i * n + j];
    const ref = alpha * s + c0;
    const got = C[i * n + j];
    const tol = (k + 4) * u * (Math.abs(alpha) * abs + Math.abs(c0)) + 1e-300;
    if (!(Math.abs(got - ref) <= tol))
      return `${m}x${n}x${k} ta=${ta} tb=${tb} alpha=${alpha} beta=${beta}: C[${i},${j}] = ${got}, expected ${ref} (tol ${tol})`;
    return '';
  };
  if (full || m * n <= 2000) {
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        const e = check(i, j);
        if (e) return e;
      }
    return '';
  }
  for (const i of pick(m, k + n))
    for (let j = 0; j < n; j++) {
      const e = check(i, j);
      if (e) return e;
    }
  for (const j of pick(n, k + m))
    for (let i = 0; i < m; i++) {
      const e = check(i, j);
      if (e) return e;
    }
  return '';
}

/** Runs one gemm case on the addon; beta == 0 cases start from a NaN-filled C (it must not be read). */
async function runGemm(dtype: DType, c: Case, seed: number, threads = 2): Promise<{ A: Arr; B: Arr; C0: Arr; C: Arr }> {
  const A = rand(dtype, c.m * c.k, seed),
    B = rand(dtype, c.k * c.n, seed + 1);
  const C0 = c.beta === 0 ? alloc(dtype, c.m * c.n).fill(NaN) : rand(dtype, c.m * c.n, seed + 2);
  const C = C0.slice();
  await addon.gemm(A, B, C, c.m, c.n, c.k, c.ta, c.tb, c.alpha, c.beta, threads);
  return { A, B, C0, C };
}

const ALPHAS = [1, -0.75, 2.5];
const BETAS = [0, 1, -0.5, 0.25];
const TRANS: ReadonlyArray<[boolean, boolean]> = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

/** Runs and checks every transpose of a shape, cycling alpha and beta; returns the failures. */
async function sweep(dtype: DType, shapes: ReadonlyArray<[number, number, number]>, seed0: number): Promise<string[]> {
  const errors: string[] = [];
  let q = seed0;
  for (const [m, n, k] of shapes)
    for (const [ta, tb] of TRANS) {
      q++;
      const c: Case = { m, n, k, ta, tb, alpha: ALPHAS[q % ALPHAS.length], beta: BETAS[q % BETAS.length] };
      const r = await runGemm(dtype, c, q);
      const e = checkGemm(dtype, c, r.A, r.B, r.C0, r.C);
      if (e) errors.push(`${dtype}: ${e}`);
    }
  return errors;
}

function sameBits(x: Arr, y: Arr): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  return true;
}

/** Lower triangle of C = alpha op(A) op(A)^T + beta C0 on every entry; the strict upper must equal C0. */
function checkSyrk(dtype: DType, n: number, k: number, trans: boolean, alpha: number, beta: number, A: Arr, C0: Arr, C: Arr): string {
  const u = unitRoundoff(dtype);
  const at = (i: number, p: number) => (trans ? A[p * n + i] : A[i * k + p]);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const got = C[i * n + j];
      if (j > i) {
        if (!Object.is(got, C0[i * n + j])) return `syrk n=${n} k=${k}: upper entry C[${i},${j}] was modified`;
        continue;
      }
      let s = 0,
        abs = 0;
      for (let p = 0; p < k; p++) {
        s += at(i, p) * at(j, p);
        abs += Math.abs(at(i, p) * at(j, p));
      }
      const c0 = beta === 0 ? 0 : beta * C0[i * n + j];
      const ref = alpha * s + c0;
      const tol = (k + 4) * u * (Math.abs(alpha) * abs + Math.abs(c0)) + 1e-300;
      if (!(Math.abs(got - ref) <= tol))
        return `syrk ${dtype} n=${n} k=${k} trans=${trans} alpha=${alpha} beta=${beta}: C[${i},${j}] = ${got}, expected ${ref}`;
    }
  return '';
}

async function runSyrk(dtype: DType, n: number, k: number, trans: boolean, alpha: number, beta: number, seed: number, threads = 2) {
  const A = rand(dtype, n * k, seed);
  // beta == 0: NaN everywhere (the lower part must not be read, the upper must stay NaN).
  const C0 = beta === 0 ? alloc(dtype, n * n).fill(NaN) : rand(dtype, n * n, seed + 5);
  const C = C0.slice();
  await addon.syrk(A, C, n, k, trans, alpha, beta, threads);
  return { A, C0, C };
}

describe('native gemm', () => {
  it('reports its kernel', () => {
    const info = addon.info();
    expect(['avx512', 'avx2', 'neon', 'scalar']).toContain(info.isa);
    expect(info.gemmKernel.startsWith(info.isa)).toBe(true);
  });

  const SIZES = [1, 2, 15, 16, 17, 31, 32, 33, 255, 256, 257, 511, 512, 513];
  for (const dtype of DTYPES) {
    it(`${dtype}: block-edge sizes in each dimension, all transposes, alpha and beta`, async () => {
      const shapes: Array<[number, number, number]> = [];
      for (const s of SIZES) shapes.push([s, 19, 37], [23, s, 29], [13, 27, s]);
      for (const s of [17, 33, 257, 513]) shapes.push([s, s, s]);
      // MC / NC edges (user n is the packed-A dimension, user m the packed-B one), KC edges (KC is 512
      // for f32 and 256 for f64 on a 32 KiB L1; other machines get other values, these stay valid).
      shapes.push([40, 383, 50], [40, 385, 50], [30, 769, 20], [4081, 20, 30], [4081, 131, 20]);
      for (const k of [255, 256, 257, 511, 512, 513, 1025]) shapes.push([9, 13, k]);
      expect(await sweep(dtype, shapes, dtype === 'f32' ? 100 : 200)).toEqual([]);
    });

    it(`${dtype}: skinny products (few columns of C, many rows: the row-split path), all transposes`, async () => {
      // m n k >= 1e7 with n <= 256: C is split by rows, each task packing its own slice of op(A).
      const shapes: Array<[number, number, number]> = [
        [3001, 61, 1100],
        [997, 250, 2050],
        [5000, 7, 300],
        [600, 256, 70],
        // A^T op(B) with n <= 128: computed as balanced row blocks of C^T
        [1300, 60, 200],
        [700, 128, 120],
        [257, 5, 8000],
      ];
      expect(await sweep(dtype, shapes, dtype === 'f32' ? 500 : 600)).toEqual([]);
    });

    it(`${dtype}: k much larger than KC`, async () => {
      expect(
        await sweep(
          dtype,
          [
            [37, 45, 4099],
            [20, 30, 9000],
          ],
          300,
        ),
      ).toEqual([]);
    });

    it(`${dtype}: m or n in 1..4 (GEMV paths, up to four vectors)`, async () => {
      const shapes: Array<[number, number, number]> = [
        [1, 1000, 700],
        [1000, 1, 700],
        [1, 1, 5000],
        [1, 5, 9],
        [9, 1, 5],
        [1, 300, 1],
        [300, 1, 1],
        [2, 1, 3000],
        [2, 2, 100],
        [3, 700, 41],
        [700, 3, 41],
        [4, 513, 300],
        [513, 4, 300],
        [4, 5000, 7],
        [5000, 2, 7],
        [5, 5, 5],
      ];
      expect(await sweep(dtype, shapes, 400)).toEqual([]);
    });

    it(`${dtype}: bit-identical results on 1 and 2 threads`, async () => {
      const cases: Case[] = [
        { m: 700, n: 600, k: 900, ta: false, tb: false, alpha: 1, beta: 0 },
        // C with 1100 / 1500 columns: five or more row blocks of the nest, the last two cut into tail blocks
        // on two threads (gemm_driver.cc, kTailSplit) for both dtypes
        { m: 300, n: 1100, k: 500, ta: false, tb: false, alpha: 1, beta: 0.5 },
        { m: 257, n: 1500, k: 300, ta: true, tb: true, alpha: -1, beta: 0 },
        { m: 2000, n: 40, k: 300, ta: true, tb: false, alpha: -0.75, beta: 0.5 },
        { m: 40, n: 2000, k: 300, ta: false, tb: true, alpha: 1, beta: 1 },
        { m: 4000, n: 1, k: 600, ta: false, tb: false, alpha: 2, beta: 0 },
        { m: 4000, n: 1, k: 600, ta: true, tb: false, alpha: 1, beta: -1 },
        { m: 1, n: 4000, k: 600, ta: false, tb: false, alpha: 1, beta: 0 },
        { m: 1, n: 4000, k: 600, ta: false, tb: true, alpha: 1, beta: 0 },
        { m: 4000, n: 4, k: 600, ta: false, tb: true, alpha: 1, beta: 0 },
        { m: 3, n: 4000, k: 600, ta: true, tb: false, alpha: 0.5, beta: 0 },
        { m: 3001, n: 61, k: 1100, ta: false, tb: false, alpha: 1, beta: 0 },
        { m: 997, n: 250, k: 2050, ta: true, tb: true, alpha: 1, beta: 0.25 },
        { m: 1300, n: 60, k: 200, ta: true, tb: false, alpha: 1, beta: 0 },
        { m: 2500, n: 9, k: 800, ta: true, tb: true, alpha: 0.5, beta: -2 },
        // long k, small C: split into chunks of k fixed by k alone (6 and 8 chunks)
        { m: 60, n: 60, k: 4000, ta: true, tb: false, alpha: 1, beta: 0 },
        { m: 100, n: 150, k: 9000, ta: false, tb: true, alpha: -0.5, beta: 0 },
      ];
      for (const [i, c] of cases.entries()) {
        const one = await runGemm(dtype, c, 500 + i, 1);
        const two = await runGemm(dtype, c, 500 + i, 2);
        expect(sameBits(one.C, two.C), `${c.m}x${c.n}x${c.k}`).toBe(true);
      }
      for (const trans of [false, true])
        for (const [n, k] of [
          [600, 400],
          [60, 3000],
        ]) {
          const one = await runSyrk(dtype, n, k, trans, 1, 0, 77, 1);
          const two = await runSyrk(dtype, n, k, trans, 1, 0, 77, 2);
          expect(sameBits(one.C, two.C), `syrk n=${n} k=${k} trans=${trans}`).toBe(true);
        }
    });

    it(`${dtype}: operands at every offset within a cache line give the same bits (direct A' with a head)`, async () => {
      // Rows 4 KiB+ apart and a whole number of lines, read in place (direct A'): A^T Q and Q^T A. Off a
      // line boundary the first rows become a block of their own so that later tiles are line-aligned; the
      // tiling never changes an entry's arithmetic, so every placement and thread count gives the same bits.
      const es = dtype === 'f64' ? 8 : 4;
      const wide = 4096 / es;
      const cases: Case[] = [
        { m: wide, n: 60, k: 300, ta: true, tb: false, alpha: 1, beta: 0 },
        { m: 2 * wide, n: 37, k: 150, ta: true, tb: false, alpha: -0.5, beta: 0 },
        { m: 20, n: wide, k: 300, ta: true, tb: false, alpha: 1, beta: 0 },
      ];
      const view = (src: Arr, off: number): Arr => {
        const buf = new ArrayBuffer((src.length + 64 / es) * es);
        const v = dtype === 'f64' ? new Float64Array(buf, off * es, src.length) : new Float32Array(buf, off * es, src.length);
        v.set(src);
        return v;
      };
      for (const [ci, c] of cases.entries()) {
        const A = rand(dtype, c.m * c.k, 900 + ci),
          B = rand(dtype, c.k * c.n, 950 + ci);
        let first: Arr | undefined;
        for (let off = 0; off < 64 / es; off++)
          for (const threads of [1, 2]) {
            const C = alloc(dtype, c.m * c.n).fill(NaN);
            await addon.gemm(view(A, off), view(B, off), C, c.m, c.n, c.k, c.ta, c.tb, c.alpha, c.beta, threads);
            if (!first) {
              first = C;
              expect(checkGemm(dtype, c, A, B, C.slice().fill(0), C, true), `${c.m}x${c.n}x${c.k}`).toBe('');
            } else expect(sameBits(first, C), `${c.m}x${c.n}x${c.k} offset ${off}, ${threads} threads`).toBe(true);
          }
      }
    });

    it(`${dtype}: syrkLower against a reference, upper triangle untouched`, async () => {
      const errors: string[] = [];
      let q = 600;
      for (const n of [1, 2, 17, 33, 100, 257])
        for (const k of n <= 100 ? [1, 50, 300, 2500] : [1, 50, 300]) // 2500: the long-k chunked route
          for (const trans of [false, true]) {
            q++;
            const alpha = ALPHAS[q % 3],
              beta = BETAS[q % 4];
            const r = await runSyrk(dtype, n, k, trans, alpha, beta, q);
            const e = checkSyrk(dtype, n, k, trans, alpha, beta, r.A, r.C0, r.C);
            if (e) errors.push(e);
          }
      expect(errors).toEqual([]);
    });

    it(`${dtype}: gram (syrk + mirror) against an f64 reference, exactly symmetric, C never read`, async () => {
      const errors: string[] = [];
      const u = unitRoundoff(dtype);
      let q = 700;
      for (const n of [1, 2, 4, 5, 17, 64, 65, 127, 257])
        for (const k of n <= 127 ? [1, 3, 300, 2100] : [1, 3, 300])
          for (const trans of [false, true]) {
            q++;
            const alpha = ALPHAS[q % 3];
            const A = rand(dtype, n * k, q);
            const G = alloc(dtype, n * n).fill(NaN); // never read: NaN must not leak in
            await addon.gram(A, G, n, k, trans, alpha, 2);
            const at = (i: number, p: number) => (trans ? A[p * n + i] : A[i * k + p]);
            for (let i = 0; i < n && errors.length < 20; i++)
              for (let j = 0; j <= i; j++) {
                let s = 0,
                  abs = 0;
                for (let p = 0; p < k; p++) {
                  s += at(i, p) * at(j, p);
                  abs += Math.abs(at(i, p) * at(j, p));
                }
                const g = G[i * n + j];
                if (!(Math.abs(g - alpha * s) <= 4 * (k + 2) * u * Math.abs(alpha) * abs + 1e-300)) {
                  errors.push(`n=${n} k=${k} trans=${trans}: G[${i},${j}] = ${g}, expected ${alpha * s}`);
                  break;
                }
                if (!Object.is(g, G[j * n + i])) {
                  errors.push(`n=${n} k=${k} trans=${trans}: G[${i},${j}] = ${g} but G[${j},${i}] = ${G[j * n + i]}`);
                  break;
                }
              }
          }
      expect(errors).toEqual([]);
      // thread count does not change a bit (the mirror runs in parallel above 1000 x 1000)
      const n = 1100,
        k = 40;
      const A = rand(dtype, n * k, 99);
      const one = alloc(dtype, n * n),
        two = alloc(dtype, n * n);
      await addon.gram(A, one, n, k, true, 1, 1);
      await addon.gram(A, two, n, k, true, 1, 2);
      expect(sameBits(one, two)).toBe(true);
      for (let i = 0; i < n; i += 37) for (let j = 0; j < n; j += 41) expect(one[i * n + j]).toBe(one[j * n + i]);
    });

    it(`${dtype}: 1500 x 1500 x 1500 product on sampled entries`, async () => {
      const n = 1500;
      const c: Case = { m: n, n, k: n, ta: dtype === 'f64', tb: false, alpha: 1, beta: 0 };
      const { A, B, C0, C } = await runGemm(dtype, c, 900);
      // 400 pseudo-random entries plus the four corners, each against an f64 dot product.
      const u = unitRoundoff(dtype);
      let worst = 0;
      for (let t = 0; t < 404; t++) {
        const i = t < 4 ? (t & 1) * (n - 1) : (t * 7919) % n,
          j = t < 4 ? (t >> 1) * (n - 1) : (t * 104729 + 13) % n;
        let s = 0,
          abs = 0;
        for (let p = 0; p < n; p++) {
          const a = c.ta ? A[p * n + i] : A[i * n + p];
          s += a * B[p * n + j];
          abs += Math.abs(a * B[p * n + j]);
        }
        worst = Math.max(worst, Math.abs(C[i * n + j] - s) / ((n + 4) * u * abs));
      }
      expect(C0.length).toBe(n * n);
      expect(worst).toBeLessThanOrEqual(1);
    });
  }

  it('peak() measures a positive FMA rate and validates its arguments', async () => {
    const g = await addon.peak('f32', 1, 20);
    expect(Number.isFinite(g) && g > 0).toBe(true);
    expect(() => addon.peak('f16' as 'f32', 1, 20)).toThrow(RangeError);
    expect(() => addon.peak('f64', 0, 20)).toThrow(RangeError);
  });
});

// ---- forced lower ISA paths (LOWRANK_ISA is read once per process, so each runs in a child) ----

/** The child's loop: each case through addon.gemm or addon.syrk, NaN carried as null. */
const CHILD = `
  const out = [];
  for (const c of cases) {
    const T = c.dtype === 'f64' ? Float64Array : Float32Array;
    const A = T.from(c.A), C = T.from(c.C, (v) => (v === null ? NaN : v));
    if (c.op === 'gemm') await addon.gemm(A, T.from(c.B), C, c.m, c.n, c.k, c.ta, c.tb, c.alpha, c.beta, c.threads);
    else await addon.syrk(A, C, c.n, c.k, c.ta, c.alpha, c.beta, c.threads);
    out.push(Array.from(C, (v) => (Number.isNaN(v) ? null : v)));
  }
  const info = addon.info();
  return { isa: info.isa, kernel: info.gemmKernel, out };
`;

interface ChildCase extends Case {
  op: 'gemm' | 'syrk';
  dtype: DType;
  threads: number;
  A: Arr;
  B: Arr;
  C0: Arr;
}

function runChild(isa: string, cases: ChildCase[]): { isa: string; kernel: string; out: Arr[] } {
  const res = runIsaChild<{ isa: string; kernel: string; out: Array<Array<number | null>> }>(
    isa,
    CHILD,
    cases.map((c) => ({
      op: c.op,
      dtype: c.dtype,
      m: c.m,
      n: c.n,
      k: c.k,
      ta: c.ta,
      tb: c.tb,
      alpha: c.alpha,
      beta: c.beta,
      threads: c.threads,
      A: Array.from(c.A),
      B: Array.from(c.B),
      C: Array.from(c.C0, (v) => (Number.isNaN(v) ? null : v)),
    })),
  );
  return {
    isa: res.isa,
    kernel: res.kernel,
    out: res.out.map((o, i) => {
      const a = alloc(cases[i].dtype, o.length);
      o.forEach((v, j) => {
        a[j] = v === null ? NaN : v;
      });
      return a;
    }),
  };
}

for (const isa of ['avx2', 'scalar']) {
  describe(`native gemm with LOWRANK_ISA=${isa}`, () => {
    it('uses the forced path and computes correct products (edges, transposes, GEMV, syrk, threads)', () => {
      const main = addon.info().isa;
      const cases: ChildCase[] = [];
      let q = 1000;
      const shapes: Array<[number, number, number]> = [
        [1, 1, 1],
        [5, 7, 3],
        [6, 8, 9],
        [17, 13, 600],
        [33, 47, 65],
        [70, 9, 40],
        [9, 70, 40],
        [1, 50, 30],
        [50, 1, 30],
        [3, 70, 40],
        [70, 4, 40],
        [100, 100, 100],
      ];
      for (const dtype of DTYPES) {
        for (const [m, n, k] of shapes)
          for (const [ta, tb] of TRANS) {
            q++;
            const c: Case = { m, n, k, ta, tb, alpha: ALPHAS[q % 3], beta: BETAS[q % 4] };
            const A = rand(dtype, m * k, q),
              B = rand(dtype, k * n, q + 1);
            const C0 = c.beta === 0 ? alloc(dtype, m * n).fill(NaN) : rand(dtype, m * n, q + 2);
            cases.push({ ...c, op: 'gemm', dtype, threads: 2, A, B, C0 });
          }
        // 1 vs 2 threads on a product large enough to be split.
        for (const threads of [1, 2]) {
          const c: Case = { m: 200, n: 150, k: 300, ta: false, tb: false, alpha: 1, beta: 0 };
          cases.push({
            ...c,
            op: 'gemm',
            dtype,
            threads,
            A: rand(dtype, 200 * 300, 7),
            B: rand(dtype, 300 * 150, 8),
            C0: alloc(dtype, 200 * 150).fill(NaN),
          });
        }
        for (const trans of [false, true]) {
          const n = 37,
            k = 50;
          cases.push({
            m: n,
            n,
            k,
            ta: trans,
            tb: false,
            alpha: -0.75,
            beta: 0.5,
            op: 'syrk',
            dtype,
            threads: 2,
            A: rand(dtype, n * k, 9),
            B: alloc(dtype, 0),
            C0: rand(dtype, n * n, 10),
          });
        }
      }
      const res = runChild(isa, cases);
      // The forced path is taken wherever the CPU has it (avx2 is below avx512; scalar always exists).
      if (isa === 'scalar' || main === 'avx512' || main === 'avx2') expect(res.isa).toBe(isa);
      expect(res.kernel.startsWith(res.isa)).toBe(true);
      const errors: string[] = [];
      const pairs: Arr[] = [];
      cases.forEach((c, i) => {
        const C = res.out[i];
        if (c.op === 'syrk') {
          const e = checkSyrk(c.dtype, c.n, c.k, c.ta, c.alpha, c.beta, c.A, c.C0, C);
          if (e) errors.push(`${isa}: ${e}`);
          return;
        }
        const e = checkGemm(c.dtype, c, c.A, c.B, c.C0, C, true);
        if (e) errors.push(`${isa} ${c.dtype}: ${e}`);
        if (c.m === 200) pairs.push(C);
      });
      expect(errors).toEqual([]);
      expect(pairs.length).toBe(4);
      expect(sameBits(pairs[0], pairs[1])).toBe(true);
      expect(sameBits(pairs[2], pairs[3])).toBe(true);
    });
  });
}

// ---- the f64 kernel set for big products (AVX-512 24x8; default on Zen 4 only, LOWRANK_GEMM_BIG forces it) ----

/** The child's loop: operands from raw f64 files, each product written back to its own file. */
const BIG_CHILD = `
  const fs = require('node:fs');
  const load = (f) => { const b = fs.readFileSync(f); return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
  for (const c of cases) {
    const C = load(c.c0);
    await addon.gemm(load(c.a), load(c.b), C, c.m, c.n, c.k, c.ta, c.tb, c.alpha, c.beta, 2);
    fs.writeFileSync(c.out, new Uint8Array(C.buffer));
  }
  const info = addon.info();
  return { isa: info.isa, kernel: info.gemmKernel };
`;

describe('native gemm: the f64 kernel set for big products, forced on and off', () => {
  it('changes no bit of C >= 2048 x 2048 (edges, transposes, beta, two kc blocks) and is right', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lowrank-big-'));
    try {
      // C' edges in both directions of a 24 x 8 and a 16 x 12 tile; k = 300 spans two kc blocks.
      const cases: Array<Case & { A: Arr; B: Arr; C0: Arr }> = [
        { m: 2049, n: 2050, k: 300, ta: false, tb: false, alpha: 1, beta: 0 },
        { m: 2050, n: 2049, k: 300, ta: true, tb: true, alpha: -0.5, beta: 0.75 },
      ].map((c, i) => ({
        ...c,
        A: rand('f64', c.m * c.k, 40 + i),
        B: rand('f64', c.k * c.n, 50 + i),
        C0: rand('f64', c.m * c.n, 60 + i),
      }));
      const files = cases.map((c, i) => {
        const f = (s: string) => join(dir, `${s}${i}.f64`);
        writeFileSync(f('a'), new Uint8Array(c.A.buffer));
        writeFileSync(f('b'), new Uint8Array(c.B.buffer));
        writeFileSync(f('c'), new Uint8Array(c.C0.buffer));
        return { a: f('a'), b: f('b'), c0: f('c') };
      });
      // LOWRANK_ISA='' names no ISA: the child runs this CPU's own kernels.
      const run = (mode: 'on' | 'off') =>
        runIsaChild<{ isa: string; kernel: string }>(
          '',
          BIG_CHILD,
          cases.map((c, i) => ({ ...c, A: undefined, B: undefined, C0: undefined, ...files[i], out: join(dir, `${mode}${i}.f64`) })),
          { LOWRANK_GEMM_BIG: mode },
        );
      const on = run('on'),
        off = run('off');
      // Only the AVX-512 table has the set; elsewhere both runs take the same path.
      expect(on.kernel.includes('24x8')).toBe(on.isa === 'avx512');
      expect(off.kernel.includes('24x8')).toBe(false);
      const read = (f: string) => {
        const b = readFileSync(f);
        return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      };
      cases.forEach((c, i) => {
        const Con = read(join(dir, `on${i}.f64`)),
          Coff = read(join(dir, `off${i}.f64`));
        expect(Con.length).toBe(c.m * c.n);
        expect(sameBits(Con, Coff), `${c.m}x${c.n}x${c.k}`).toBe(true);
        expect(checkGemm('f64', c, c.A, c.B, c.C0, Con)).toBe('');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
