/**
 * Native Philox normals (addon `random(..., 'normal', ...)`, the generator of randn and of the
 * matrix-free Gaussian measurements) against an f64 reference of the documented stream computed here
 * from ts/rng/philox.ts: the same uniforms, r = sqrt(-2 ln u0) and t = 2 pi u1 rounded as the target
 * precision rounds it (binary32 for f32), cos/sin in f64. Every entry must satisfy
 * |z - ref| <= 8 u r (u the unit roundoff: a few ulps of the radius), on every ISA path (the SIMD
 * kernels of this CPU, and LOWRANK_ISA=avx2 / scalar in child processes), for offsets that are not
 * multiples of the block size, blocks whose counter crosses 2^32, and lengths 1, 2, 3, 127, 257.
 * Uniforms must equal uniformStream bit for bit, and an element's value must not depend on where the
 * requested range starts or how many threads fill it.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../ts/backends/native/addon.js';
import { philox4x32, seedKey, uniformStream, unitF32, unitF64 } from '../../ts/rng/philox.js';
import type { DType } from '../../ts/types.js';
import { runIsaChild } from './isa-child.js';

type Arr = Float32Array | Float64Array;
const addon = loadAddon();
const DTYPES: DType[] = ['f32', 'f64'];
const TWO_PI_F32 = Math.fround(2 * Math.PI);

/** f64 reference of normal elements offset .. offset + n - 1 and their radii. */
function reference(dtype: DType, n: number, seed: number, stream: number, offset: number): { z: Float64Array; r: Float64Array } {
  const [k0, k1] = seedKey(seed);
  const W = dtype === 'f32' ? 4 : 2;
  const z = new Float64Array(n),
    r = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const e = offset + i,
      b = Math.floor(e / W),
      j = e - W * b;
    const x = philox4x32(b >>> 0, Math.floor(b / 2 ** 32) >>> 0, stream, 0, k0, k1);
    let u0: number, u1: number, t: number;
    if (dtype === 'f32') {
      const p = j >> 1;
      u0 = unitF32(x[2 * p]);
      u1 = unitF32(x[2 * p + 1]);
      t = Math.fround(TWO_PI_F32 * u1);
    } else {
      u0 = unitF64(x[0], x[1]);
      u1 = unitF64(x[2], x[3]);
      t = 2 * Math.PI * u1;
    }
    r[i] = Math.sqrt(-2 * Math.log(u0));
    z[i] = (j & 1) === 0 ? r[i] * Math.cos(t) : r[i] * Math.sin(t);
  }
  return { z, r };
}

interface Case {
  dtype: DType;
  n: number;
  offset: number;
  seed: number;
  stream: number;
  threads: number;
}

const CASES: Case[] = [];
for (const dtype of DTYPES) {
  let q = 0;
  for (const n of [1, 2, 3, 127, 257])
    for (const offset of [0, 1, 2, 3, 5, 7, 1001]) CASES.push({ dtype, n, offset, seed: 11 + q++, stream: q % 3, threads: 1 });
  // counters crossing 2^32 (offset > 2^32 blocks), a seed above 2^32, and a multi-threaded fill
  const W = dtype === 'f32' ? 4 : 2;
  CASES.push({ dtype, n: 300, offset: W * (2 ** 32 - 20) + 3, seed: 2 ** 40 + 5, stream: 1, threads: 1 });
  CASES.push({ dtype, n: 70000, offset: 6, seed: 3, stream: 0, threads: 2 });
}

function alloc(dtype: DType, n: number): Arr {
  return dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
}

async function generate(c: Case, kind: 'normal' | 'uniform' = 'normal'): Promise<Arr> {
  const out = alloc(c.dtype, c.n);
  const [lo, hi] = seedKey(c.seed);
  await addon.random(out, kind, lo, hi, c.stream, c.offset % 2 ** 32, Math.floor(c.offset / 2 ** 32), c.threads);
  return out;
}

/** Largest |z - ref| / (u r) over a case. */
function worst(c: Case, z: ArrayLike<number>): number {
  const ref = reference(c.dtype, c.n, c.seed, c.stream, c.offset);
  const u = c.dtype === 'f32' ? 2 ** -24 : 2 ** -53;
  let w = 0;
  for (let i = 0; i < c.n; i++) {
    const d = Math.abs(z[i] - ref.z[i]) / (u * ref.r[i]);
    w = Number.isNaN(d) ? Infinity : Math.max(w, d);
  }
  return w;
}

describe('native Philox normals', () => {
  it('match the f64 reference of the stream to a few ulps (offsets, lengths, counters past 2^32, threads)', async () => {
    for (const c of CASES) {
      const z = await generate(c);
      const w = worst(c, z);
      if (!(w <= 8)) throw new Error(`${c.dtype} n=${c.n} offset=${c.offset}: error ${w} u r`);
    }
  });

  it('give every element the same bits whatever the range start and thread count', async () => {
    for (const dtype of DTYPES) {
      const whole = await generate({ dtype, n: 40000, offset: 0, seed: 8, stream: 2, threads: 2 });
      const one = await generate({ dtype, n: 40000, offset: 0, seed: 8, stream: 2, threads: 1 });
      expect(one.every((v, i) => Object.is(v, whole[i]))).toBe(true);
      for (const [n, offset] of [
        [1, 0],
        [2, 5],
        [3, 3],
        [127, 1],
        [257, 6],
        [1000, 13],
      ]) {
        const part = await generate({ dtype, n, offset, seed: 8, stream: 2, threads: 1 });
        expect(part.every((v, i) => Object.is(v, whole[offset + i]))).toBe(true);
      }
    }
  });

  it('leave the uniforms bit-identical to uniformStream', async () => {
    for (const dtype of DTYPES)
      for (const [n, offset] of [
        [1, 3],
        [257, 5],
        [5000, 2],
      ]) {
        const c: Case = { dtype, n, offset, seed: 77, stream: 4, threads: 2 };
        const u = await generate(c, 'uniform');
        const ref = uniformStream(n, 77, dtype, 4, offset);
        expect(u.every((v, i) => v === ref[i])).toBe(true);
      }
  });
});

// ---- forced lower ISA paths (LOWRANK_ISA is read once per process, so each runs in a child) ----

/** The child's loop: each case's normals through addon.random. */
const CHILD = `
  const out = [];
  for (const c of cases) {
    const a = c.dtype === 'f64' ? new Float64Array(c.n) : new Float32Array(c.n);
    await addon.random(a, 'normal', c.lo, c.hi, c.stream, c.offset % 2 ** 32, Math.floor(c.offset / 2 ** 32), c.threads);
    out.push(Array.from(a));
  }
  return { isa: addon.info().isa, out };
`;

function runChild(isa: string, cases: Case[]): { isa: string; out: number[][] } {
  return runIsaChild(
    isa,
    CHILD,
    cases.map((c) => {
      const [lo, hi] = seedKey(c.seed);
      return { ...c, lo, hi };
    }),
  );
}

for (const isa of ['avx2', 'scalar']) {
  describe(`native Philox normals with LOWRANK_ISA=${isa}`, () => {
    it('use the forced path and match the f64 reference to a few ulps', async () => {
      const main = addon.info().isa;
      const cases = CASES.filter((c) => c.n <= 300 || c.threads === 2);
      const res = runChild(isa, cases);
      // the child runs the forced ISA when the CPU has it (a lower one never rises)
      if (isa === 'scalar' || main === 'avx512' || main === 'avx2') expect(res.isa).toBe(isa);
      cases.forEach((c, i) => {
        const w = worst(c, res.out[i]);
        if (!(w <= 8)) throw new Error(`${isa} ${c.dtype} n=${c.n} offset=${c.offset}: error ${w} u r`);
      });
      // AVX2 and AVX-512 evaluate the same operations per lane: identical bits
      if (isa === 'avx2' && main === 'avx512') {
        for (let i = 0; i < cases.length; i++) {
          const mine = await generate(cases[i]);
          expect(mine.every((v, j) => Object.is(v, cases[i].dtype === 'f32' ? Math.fround(res.out[i][j]) : res.out[i][j]))).toBe(true);
        }
      }
    });
  });
}
