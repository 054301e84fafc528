/**
 * Native LU leaf kernels (addon called directly, f32 and f64): the vectorized leaf (AVX2 search and
 * step on the column-major panel; AVX2 or AVX-512 small-k updates) against the scalar one in a child
 * process with LOWRANK_ISA=scalar, and against LOWRANK_ISA=avx2 bit for bit,
 * bit for bit where one leaf does it all (n <= 8; beyond, gemm's ISA paths round differently and the
 * scalar child's factors are checked by A = PL U), on awkward shapes (1, 2, 7, 127, 257 and 2100 rows, the last crossing a 2048-row chunk;
 * 1, 8, 9, 60, 65 columns), 1 and 2 threads, with ties in the pivot column, repeated and zero
 * columns, NaN, Inf and subnormal entries; and for n <= 8 (one leaf) against an unblocked reference
 * LU in JS that performs the same operations in the same order (first largest |x| wins, NaN ranks below
 * every number, multipliers x * (1 / pivot), x / pivot for a subnormal pivot, x for a zero pivot).
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../ts/backends/native/addon.js';
import type { DType } from '../../ts/types.js';
import { mulberryFill } from '../host-linalg.js';
import { runIsaChild } from './isa-child.js';

const addon = loadAddon();
type Arr = Float32Array | Float64Array;
type Kind = 'randn' | 'ties' | 'deficient' | 'special';

interface Case {
  dtype: DType;
  m: number;
  n: number;
  threads: number;
  A: Arr;
}

function input(dtype: DType, m: number, n: number, kind: Kind, seed: number): Arr {
  const a = mulberryFill(new Float64Array(m * n), seed);
  if (kind === 'ties') for (let i = 0; i < a.length; i++) a[i] = [-1, 1, 0, 2, -2, 1][Math.floor((a[i] + 1) * 3)] ?? 1;
  if (kind === 'deficient' && n > 1)
    for (let i = 0; i < m; i++) {
      a[i * n + n - 1] = a[i * n]; // repeated column
      a[i * n + (n >> 1)] = 0; // zero column
    }
  if (kind === 'special') {
    const tiny = dtype === 'f32' ? 1e-40 : 1e-310;
    for (let i = 0; i < m; i++) a[i * n] = i % 3 === 1 ? tiny : 0; // a subnormal pivot
    a[(m >> 1) * n + (n - 1)] = NaN;
    if (m > 2) a[(m - 1) * n + (n >> 1)] = Infinity;
  }
  return dtype === 'f32' ? Float32Array.from(a) : a;
}

function cases(): Case[] {
  const out: Case[] = [];
  const shapes: [number, number][] = [
    [1, 1],
    [2, 1],
    [2, 2],
    [7, 1],
    [7, 7],
    [127, 8],
    [127, 9],
    [257, 60],
    [257, 65],
    [2100, 9],
  ];
  let seed = 1;
  for (const dtype of ['f64', 'f32'] as DType[])
    for (const [m, n] of shapes)
      for (const kind of ['randn', 'ties', 'deficient', 'special'] as Kind[])
        out.push({ dtype, m, n, threads: 1 + (seed % 2), A: input(dtype, m, n, kind, seed++) });
  return out;
}

async function lu(c: Case): Promise<{ PL: Arr; U: Arr }> {
  const T = c.dtype === 'f64' ? Float64Array : Float32Array;
  const PL = new T(c.m * c.n),
    U = new T(c.n * c.n);
  await addon.lu(c.A, c.m, c.n, PL, U, c.threads);
  return { PL, U };
}

/** Unblocked right-looking LU with the native leaf's operations, in the dtype's arithmetic. */
function reference(c: Case): { PL: Arr; U: Arr } {
  const { m, n } = c;
  const T = c.dtype === 'f64' ? Float64Array : Float32Array;
  const r = c.dtype === 'f64' ? (v: number) => v : Math.fround;
  const tiny = c.dtype === 'f64' ? 2.2250738585072014e-308 : 1.1754943508222875e-38;
  const w = T.from(c.A);
  const perm = Array.from({ length: m }, (_, i) => i);
  for (let j = 0; j < n; j++) {
    let p = -1,
      best = -2;
    for (let i = j; i < m; i++) {
      const v = w[i * n + j],
        key = Number.isNaN(v) ? -1 : Math.abs(v);
      if (key > best) [best, p] = [key, i];
    }
    if (p !== j) {
      for (let q = 0; q < n; q++) [w[j * n + q], w[p * n + q]] = [w[p * n + q], w[j * n + q]];
      [perm[j], perm[p]] = [perm[p], perm[j]];
    }
    const d = w[j * n + j],
      inv = r(1 / d);
    for (let i = j + 1; i < m; i++) {
      const x = w[i * n + j],
        l = d === 0 ? x : Math.abs(d) >= tiny ? r(x * inv) : r(x / d);
      w[i * n + j] = l;
      for (let q = j + 1; q < n; q++) w[i * n + q] = r(w[i * n + q] - r(l * w[j * n + q]));
    }
  }
  const PL = new T(m * n),
    U = new T(n * n);
  for (let i = 0; i < m; i++) for (let q = 0; q < n; q++) PL[perm[i] * n + q] = q < i ? w[i * n + q] : q === i ? 1 : 0;
  for (let i = 0; i < n; i++) for (let q = i; q < n; q++) U[i * n + q] = w[i * n + q];
  return { PL, U };
}

/** Bitwise equality (NaN payloads aside): the first differing index, or -1. */
function firstDiff(a: Arr, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  return a.length === b.length ? -1 : a.length;
}

const CHILD = `
  const out = [];
  for (const c of cases) {
    const T = c.dtype === 'f64' ? Float64Array : Float32Array;
    const A = T.from(c.A, Number), PL = new T(c.m * c.n), U = new T(c.n * c.n);
    await addon.lu(A, c.m, c.n, PL, U, c.threads);
    const j = (x) => Array.from(x, (v) => (Number.isFinite(v) && !Object.is(v, -0) ? v : String(Object.is(v, -0) ? '-0' : v)));
    out.push({ PL: j(PL), U: j(U) });
  }
  return { isa: addon.info().isa, out };
`;

/** JSON-safe numbers: non-finite values and -0 as strings (Number() reads them back). */
const toJson = (a: ArrayLike<number>) =>
  Array.from(a, (v) => (Number.isFinite(v) && !Object.is(v, -0) ? v : String(Object.is(v, -0) ? '-0' : v)));
const fromJson = (a: Array<number | string>) => a.map(Number);

/** The cases factored by the addon in a child process with LOWRANK_ISA=isa: the ISA it ran and each PL, U. */
function luInChild(isa: string, all: Case[]): { isa: string; out: Array<{ PL: number[]; U: number[] }> } {
  const child = runIsaChild<{ isa: string; out: Array<{ PL: Array<number | string>; U: Array<number | string> }> }>(
    isa,
    CHILD,
    all.map((c) => ({ ...c, A: toJson(c.A) })),
  );
  return { isa: child.isa, out: child.out.map((o) => ({ PL: fromJson(o.PL), U: fromJson(o.U) })) };
}

describe('native lu leaf kernels', () => {
  it('the unblocked reference (n <= 8: one leaf) matches bit for bit, ties and NaN included', async () => {
    for (const c of cases().filter((q) => q.n <= 8)) {
      const got = await lu(c),
        want = reference(c);
      const tag = `${c.dtype} ${c.m}x${c.n} t=${c.threads}`;
      expect(firstDiff(got.PL, want.PL), `${tag} PL`).toBe(-1);
      expect(firstDiff(got.U, want.U), `${tag} U`).toBe(-1);
    }
  });

  // Every case here has n <= 128, so all of its updates (k <= 64) run in the unpacked small-k kernel, never in
  // gemm: on an AVX-512 CPU this compares the 512-bit search, step and update with the AVX2 ones (the same
  // per-lane operations, so the same bits; a >= pivot compare or a mul + add update fails it); on an AVX2
  // CPU both sides take the same path.
  it.skipIf(!['avx2', 'avx512'].includes(addon.info().isa))(
    'LOWRANK_ISA=avx2: the same bits as this CPU path (512-bit leaf kernels where the CPU has AVX-512)',
    async () => {
      const all = cases();
      expect(Math.max(...all.map((c) => c.n))).toBeLessThanOrEqual(128);
      const child = luInChild('avx2', all);
      expect(child.isa).toBe('avx2');
      for (let k = 0; k < all.length; k++) {
        const c = all[k];
        const got = await lu(c);
        const tag = `${c.dtype} ${c.m}x${c.n} t=${c.threads} case ${k}`;
        expect(firstDiff(got.PL, child.out[k].PL), `${tag} PL`).toBe(-1);
        expect(firstDiff(got.U, child.out[k].U), `${tag} U`).toBe(-1);
      }
    },
  );

  it('LOWRANK_ISA=scalar: the same bits as this CPU path in one leaf, A = PL U beyond', async () => {
    const all = cases();
    const child = luInChild('scalar', all);
    expect(child.isa).toBe('scalar');
    for (let k = 0; k < all.length; k++) {
      const c = all[k],
        { m, n } = c;
      const { PL, U } = child.out[k];
      const tag = `${c.dtype} ${m}x${n} t=${c.threads} case ${k}`;
      if (n <= 8) {
        // one leaf: no gemm (whose ISA paths round differently), so the bits agree
        const got = await lu(c);
        expect(firstDiff(got.PL, PL), `${tag} PL`).toBe(-1);
        expect(firstDiff(got.U, U), `${tag} U`).toBe(-1);
      } else if (c.A.every(Number.isFinite)) {
        let worst = 0,
          scale = Number.MIN_VALUE;
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let s = 0,
              t = 0;
            for (let q = 0; q <= j; q++) {
              s += PL[i * n + q] * U[q * n + j];
              t += Math.abs(PL[i * n + q] * U[q * n + j]);
            }
            worst = Math.max(worst, Math.abs(s - c.A[i * n + j]));
            scale = Math.max(scale, t);
          }
        expect(worst / scale, tag).toBeLessThanOrEqual(8 * n * (c.dtype === 'f64' ? 2 ** -53 : 2 ** -24));
        expect(Math.max(...PL.map(Math.abs)), tag).toBeLessThanOrEqual(1);
      }
    }
  });
});
