/**
 * WebGPU GEMM programs, each forced through the `program` / `tile` overrides of gemmInto: shapes
 * around tile boundaries (tile - 1, tile, tile + 1), every transpose combination, grids over the
 * 65535 per-dimension limit, split-K with k = 100000, beta accumulation, strided sub-blocks and
 * operands living in C's own buffer. References are f64 host products; errors are measured per
 * entry against (|op(A)| |op(B)|)_ij, the scale of the f32 rounding bound.
 */
import { expect, it } from 'vitest';
import type { GpuEnv } from '../../ts/backends/webgpu/env.js';
import { fitToDevice, gemmInto, planGemm, tileStorage, type GemmOptions, type GemmProgram } from '../../ts/backends/webgpu/kernels/gemm.js';
import { describeEngines, hostRandn } from '../helpers.js';

const U = 2 ** -24;

interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  /** Stored leading dimensions / element offsets (default: dense, offset 0). */
  lda?: number;
  ldb?: number;
  ldc?: number;
  offA?: number;
  offB?: number;
  offC?: number;
  opts?: GemmOptions;
  seed?: number;
}

function f32(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x);
}

/** op(X)(i, p) for a stored row-major matrix. */
function at(X: Float32Array, off: number, ld: number, trans: boolean, i: number, p: number): number {
  return trans ? X[off + p * ld + i] : X[off + i * ld + p];
}

/**
 * Runs one case on the device and returns max_ij |C - ref|_ij / (|alpha| (|op(A)||op(B)|)_ij +
 * |beta| |C0|_ij), in units of u = 2^-24, after checking that C's storage outside the block is
 * untouched.
 */
async function run(env: GpuEnv, c: Case): Promise<number> {
  const { m, n, k } = c;
  const tA = !!c.transA,
    tB = !!c.transB;
  const alpha = c.alpha ?? 1,
    beta = c.beta ?? 0;
  const [ar, ac] = tA ? [k, m] : [m, k];
  const [br, bc] = tB ? [n, k] : [k, n];
  const lda = c.lda ?? ac,
    ldb = c.ldb ?? bc,
    ldc = c.ldc ?? n;
  const offA = c.offA ?? 0,
    offB = c.offB ?? 0,
    offC = c.offC ?? 0;
  const seed = c.seed ?? m * 31 + n * 17 + k;
  const A = f32(hostRandn(offA + ar * lda + 1, 1, seed));
  const B = f32(hostRandn(offB + br * ldb + 1, 1, seed + 1));
  const C0 = f32(hostRandn(offC + m * ldc + 1, 1, seed + 2));
  const ctx = env.ctx;
  const sa = ctx.upload(A),
    sb = ctx.upload(B),
    sc = ctx.upload(C0);
  try {
    gemmInto(
      env,
      m,
      n,
      k,
      { store: sa, offset: offA, ld: lda, trans: tA },
      { store: sb, offset: offB, ld: ldb, trans: tB },
      { store: sc, offset: offC, ld: ldc },
      { ...c.opts, alpha, beta },
    );
    const C = new Float32Array(await ctx.read(sc.buffer, 0, C0.length * 4));
    return measure(C, C0, A, B, c, { tA, tB, alpha, beta, lda, ldb, ldc, offA, offB, offC });
  } finally {
    ctx.release(sa);
    ctx.release(sb);
    ctx.release(sc);
  }
}

function measure(
  C: Float32Array,
  C0: Float32Array,
  A: Float32Array,
  B: Float32Array,
  c: Case,
  o: {
    tA: boolean;
    tB: boolean;
    alpha: number;
    beta: number;
    lda: number;
    ldb: number;
    ldc: number;
    offA: number;
    offB: number;
    offC: number;
  },
): number {
  const { m, n, k } = c;
  const inBlock = (e: number): boolean => {
    const r = e - o.offC;
    if (r < 0) return false;
    const i = Math.floor(r / o.ldc),
      j = r - i * o.ldc;
    return i < m && j < n;
  };
  for (let e = 0; e < C.length; e++) if (!inBlock(e) && C[e] !== C0[e]) throw new Error(`element ${e} outside the C block changed`);
  // Row i of op(A) and column j of op(B) gathered once, then f64 dot products.
  const colB = new Float64Array(k * n);
  for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) colB[j * k + p] = at(B, o.offB, o.ldb, o.tB, p, j);
  const rowA = new Float64Array(k);
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) rowA[p] = at(A, o.offA, o.lda, o.tA, i, p);
    for (let j = 0; j < n; j++) {
      let s = 0,
        sabs = 0;
      const base = j * k;
      for (let p = 0; p < k; p++) {
        const t = rowA[p] * colB[base + p];
        s += t;
        sabs += Math.abs(t);
      }
      const e = o.offC + i * o.ldc + j;
      const ref = o.alpha * s + o.beta * C0[e];
      const scale = Math.abs(o.alpha) * sabs + Math.abs(o.beta * C0[e]) + 1e-30;
      const got = C[e];
      if (!Number.isFinite(got)) return Infinity;
      worst = Math.max(worst, Math.abs(got - ref) / scale / U);
    }
  }
  return worst;
}

/**
 * Bound in units of u for a k-term f32 dot product plus alpha/beta scaling: the worst case is
 * about k u; blocked sums (BK-long register chains, split-K slices) and random signs keep real
 * errors near sqrt(k) u, so allow 4 sqrt(k) + 8 (still far below k for large k).
 */
function bound(k: number): number {
  return 4 * Math.sqrt(k) + 8;
}

function envOf(h: { eng: unknown }): GpuEnv {
  return (h.eng as { _backend: { env: GpuEnv } })._backend.env;
}

const TILE: Record<Exclude<GemmProgram, 'skinny' | 'wide' | 'gemv'>, [number, number, number]> = {
  tiled8: [128, 128, 16],
  tiled: [64, 64, 16],
  small: [32, 32, 32],
};
const TRANS: ReadonlyArray<[boolean, boolean]> = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

describeEngines(
  'webgpu gemm programs',
  (h) => {
    for (const program of Object.keys(TILE) as (keyof typeof TILE)[]) {
      it(`${program}: tile boundaries (tile - 1, tile, tile + 1), all transposes`, async () => {
        const env = envOf(h);
        const [bm, bn, bk] = TILE[program];
        const cases: Array<[number, number, number]> = [
          [bm - 1, bn + 1, bk + 1],
          [bm, bn, 2 * bk],
          [bm + 1, bn - 1, bk - 1],
          [2 * bm, bn, bk],
        ];
        // `small` has a GPU and a CPU-adapter configuration: run both whatever the adapter is
        const classes = program === 'small' ? (['gpu', 'cpu'] as const) : ([undefined] as const);
        let t = 0;
        for (const adapterClass of classes)
          for (const [m, n, k] of cases) {
            // every transpose combination on each shape for `tiled`; one per shape (rotating) for
            // the others, which share the staging code (keeps the number of compiled pipelines down)
            for (const [transA, transB] of program === 'tiled' ? TRANS : [TRANS[t++ % 4]]) {
              const err = await run(env, { m, n, k, transA, transB, alpha: transA ? -0.5 : 1, opts: { program, splitK: 1, adapterClass } });
              expect(err, `${program} ${m}x${n}x${k} tA=${transA} tB=${transB} ${adapterClass ?? ''}`).toBeLessThanOrEqual(bound(k));
            }
          }
      });
    }

    it('skinny (n <= 16, n <= 32) and wide (m <= 16, m <= 32) around their tiles', async () => {
      const env = envOf(h);
      // tiles: skinny 256 x 16 (n <= 16) and 256 x 32; wide 16 x 256 (m <= 16) and 32 x 256
      const cases: Array<[number, number, number, GemmProgram]> = [
        [256, 16, 32, 'skinny'],
        [257, 15, 17, 'skinny'],
        [1000, 31, 40, 'skinny'],
        [15, 257, 16, 'wide'],
        [32, 256, 32, 'wide'],
        [31, 1000, 7, 'wide'],
      ];
      let t = 0;
      for (const [m, n, k, program] of cases) {
        const [transA, transB] = TRANS[t++ % 4];
        const err = await run(env, { m, n, k, transA, transB, opts: { program, splitK: 1 } });
        expect(err, `${program} ${m}x${n}x${k} tA=${transA} tB=${transB}`).toBeLessThanOrEqual(bound(k));
      }
    });

    it('gemv (n == 1, m == 1): both thread mappings, all transposes, split-K', async () => {
      const env = envOf(h);
      // rowdot takes 8 rows per workgroup with 32 lanes along k; cols 256 outputs per workgroup
      const cases: Array<[number, number, number]> = [
        [1, 1, 33],
        [257, 1, 65],
        [255, 1, 31],
        [1, 9, 64],
        [1, 256, 1],
        [1, 7, 32],
      ];
      for (const [m, n, k] of cases)
        for (const [transA, transB] of TRANS) {
          const err = await run(env, { m, n, k, transA, transB, alpha: -2, beta: transA ? 0.5 : 0, opts: { program: 'gemv' } });
          expect(err, `gemv ${m}x${n}x${k} tA=${transA} tB=${transB}`).toBeLessThanOrEqual(bound(k));
        }
      const plan = planGemm(20, 1, 100000, envOf(h).ctx.limits, { transA: true });
      expect([plan.program, plan.gemv, plan.slices > 1]).toEqual(['gemv', 'cols', true]);
      expect(await run(env, { m: 20, n: 1, k: 100000, transA: true })).toBeLessThanOrEqual(bound(100000));
      expect(await run(env, { m: 1, n: 3, k: 50000, transB: true, beta: 1, lda: 50000, ldb: 50001, offB: 5, offC: 2 })).toBeLessThanOrEqual(
        bound(50000),
      );
    });

    it('chooses the documented programs', () => {
      const lim = envOf(h).ctx.limits;
      expect(planGemm(100000, 20, 1000, lim).program).toBe('skinny');
      expect(planGemm(20, 100000, 1000, lim).program).toBe('wide');
      expect(planGemm(2048, 2048, 2048, lim).program).toBe('tiled8');
      expect(planGemm(300, 300, 300, lim).program).toBe('tiled');
      const gram = planGemm(20, 20, 100000, lim);
      expect(gram.program).toBe('small');
      expect(gram.slices).toBeGreaterThan(1);
      expect(gram.kChunk % gram.tile!.bk).toBe(0);
      expect(planGemm(20, 20, 100, lim, { cpu: true }).tile).toMatchObject({ entry: 'tiled8', wgX: 4, wgY: 4 });
      expect(planGemm(20, 20, 100, lim, { cpu: false }).tile).toMatchObject({ entry: 'tiled4', wgX: 8, wgY: 8 });
      expect(planGemm(20, 1000, 100000, lim).slices).toBeGreaterThan(1);
      expect(planGemm(1000, 1000, 100000, lim).slices).toBe(1);
      // tiles shrink to the spec-default limits (16 KiB workgroup storage, 256 invocations)
      const big = { entry: 'tiled8' as const, wgX: 16, wgY: 16, bk: 16 };
      expect(tileStorage(big)).toBeGreaterThan(16384);
      expect(fitToDevice(big, {})).toEqual({ ...big, bk: 8 });
      expect(fitToDevice(big, { maxComputeInvocationsPerWorkgroup: 128 })).toMatchObject({ wgX: 8, wgY: 16 });
      for (const [m, n, k] of [
        [2048, 2048, 2048],
        [100000, 20, 64],
        [20, 20, 100000],
      ]) {
        const t = planGemm(m, n, k, {}).tile!;
        expect(tileStorage(t)).toBeLessThanOrEqual(16384);
        expect(t.wgX * t.wgY).toBeLessThanOrEqual(256);
      }
      expect(planGemm(5000, 1, 300, lim, { transA: false }).gemv).toBe('rowdot');
      expect(planGemm(1, 5000, 300, lim, { transB: false }).gemv).toBe('cols');
    });

    it('folds grids over 65535 workgroups (70000 x 3, 3 x 70000, tiny tiles)', async () => {
      const env = envOf(h);
      expect(await run(env, { m: 70000, n: 3, k: 5, transA: true })).toBeLessThanOrEqual(bound(5));
      expect(await run(env, { m: 3, n: 70000, k: 5, transB: true })).toBeLessThanOrEqual(bound(5));
      // 4 x 4 tiles: 68 750 tiles > 65535, so the tile grid itself is folded into 2-D.
      const tiny = { tile: { entry: 'tiled4' as const, wgX: 1, wgY: 1, bk: 4 }, splitK: 1 };
      expect(await run(env, { m: 1100, n: 1000, k: 3, opts: tiny })).toBeLessThanOrEqual(bound(3));
      // split-K reduction over 65536 x 256 outputs: 65 536 reduce workgroups (2 slices = 128 MiB).
      expect(await run(env, { m: 65536, n: 256, k: 32, opts: { program: 'tiled', splitK: 2 } })).toBeLessThanOrEqual(bound(32));
    }, 120_000);

    it('split-K with k = 100000 (Gram A^T A, Q^T A) matches f64 within sqrt(k) u', async () => {
      const env = envOf(h);
      const k = 100000;
      const gram = await run(env, { m: 20, n: 20, k, transA: true });
      expect(gram).toBeLessThanOrEqual(bound(k));
      const qta = await run(env, { m: 20, n: 48, k, transA: true, alpha: 0.25 });
      expect(qta).toBeLessThanOrEqual(bound(k));
      // forced: many slices on a 2-D tile grid, and the same product without split-K
      expect(await run(env, { m: 70, n: 33, k: 20000, opts: { program: 'tiled', splitK: 37 } })).toBeLessThanOrEqual(bound(20000));
      expect(await run(env, { m: 20, n: 20, k: 20000, transA: true, opts: { splitK: 1 } })).toBeLessThanOrEqual(bound(20000));
    }, 120_000);

    it('accumulates with beta (plain and split-K) and never reads C when beta = 0', async () => {
      const env = envOf(h);
      expect(await run(env, { m: 65, n: 129, k: 40, alpha: -1, beta: 1 })).toBeLessThanOrEqual(bound(40));
      expect(
        await run(env, { m: 128, n: 128, k: 32, alpha: 2, beta: -0.5, transB: true, opts: { program: 'tiled8' } }),
      ).toBeLessThanOrEqual(bound(32));
      expect(await run(env, { m: 20, n: 20, k: 5000, alpha: -1, beta: 1, transA: true, opts: { splitK: 8 } })).toBeLessThanOrEqual(
        bound(5000),
      );
      expect(
        await run(env, { m: 20, n: 20, k: 5000, alpha: -1, beta: 1, transA: true, opts: { splitK: 8, adapterClass: 'gpu' } }),
      ).toBeLessThanOrEqual(bound(5000));
      // beta = 0 with NaN in C: the result must be finite
      const ctx = envOf(h).ctx;
      const a = ctx.upload(f32(hostRandn(8, 8, 1))),
        c = ctx.upload(new Float32Array(64).fill(NaN));
      gemmInto(env, 8, 8, 8, { store: a, ld: 8 }, { store: a, ld: 8 }, { store: c, ld: 8 }, { beta: 0 });
      const got = new Float32Array(await ctx.read(c.buffer, 0, 256));
      expect(got.every(Number.isFinite)).toBe(true);
      ctx.release(a);
      ctx.release(c);
    });

    it('works on strided sub-blocks (offsets, leading dimensions) without touching the rest of C', async () => {
      const env = envOf(h);
      expect(await run(env, { m: 37, n: 29, k: 41, lda: 50, ldb: 33, ldc: 31, offA: 7, offB: 3, offC: 65, beta: 1 })).toBeLessThanOrEqual(
        bound(41),
      );
      expect(
        await run(env, {
          m: 130,
          n: 70,
          k: 19,
          transA: true,
          transB: true,
          lda: 131,
          ldb: 20,
          ldc: 75,
          offA: 1,
          offB: 2,
          offC: 3,
          opts: { program: 'tiled8' },
        }),
      ).toBeLessThanOrEqual(bound(19));
      expect(
        await run(env, {
          m: 20,
          n: 20,
          k: 3000,
          transA: true,
          lda: 25,
          ldb: 22,
          ldc: 24,
          offA: 5,
          offB: 9,
          offC: 26,
          beta: -1,
          opts: { splitK: 6 },
        }),
      ).toBeLessThanOrEqual(bound(3000));
    });

    it("reads A and B from inside C's buffer (trailing update C22 -= L21 L21^T in place)", async () => {
      const env = envOf(h);
      const ctx = env.ctx;
      // A 100 x 100 matrix M; L21 = M[40:100, 0:24], C22 = M[40:100, 40:100]: C22 = C22 - L21 L21^T.
      const N = 100,
        r0 = 40,
        nb = 24,
        t = N - r0;
      const M = f32(hostRandn(N, N, 99));
      for (const program of ['tiled', 'small'] as const) {
        const s = ctx.upload(M);
        gemmInto(
          env,
          t,
          t,
          nb,
          { store: s, offset: r0 * N, ld: N },
          { store: s, offset: r0 * N, ld: N, trans: true },
          { store: s, offset: r0 * N + r0, ld: N },
          { alpha: -1, beta: 1, program, splitK: 1 },
        );
        const got = new Float32Array(await ctx.read(s.buffer, 0, N * N * 4));
        ctx.release(s);
        let worst = 0;
        for (let i = 0; i < N; i++)
          for (let j = 0; j < N; j++) {
            const e = i * N + j;
            if (i < r0 || j < r0) {
              expect(got[e]).toBe(M[e]);
              continue;
            }
            let sum = 0,
              sabs = 0;
            for (let p = 0; p < nb; p++) {
              const v = M[i * N + p] * M[j * N + p];
              sum += v;
              sabs += Math.abs(v);
            }
            worst = Math.max(worst, Math.abs(got[e] - (M[e] - sum)) / (sabs + Math.abs(M[e])) / U);
          }
        expect(worst, program).toBeLessThanOrEqual(bound(nb));
      }
    });

    it('rejects blocks that do not fit their stores', () => {
      const env = envOf(h);
      const s = env.ctx.alloc(16 * 4);
      try {
        expect(() => gemmInto(env, 4, 4, 4, { store: s, ld: 4 }, { store: s, ld: 4 }, { store: s, offset: 1, ld: 4 })).toThrow(RangeError);
        expect(() => gemmInto(env, 4, 4, 5, { store: s, ld: 5 }, { store: s, ld: 4 }, { store: s, ld: 4 })).toThrow(RangeError);
        expect(() => gemmInto(env, 4, 4, 4, { store: s, ld: 3 }, { store: s, ld: 4 }, { store: s, ld: 4 })).toThrow(RangeError);
      } finally {
        env.ctx.release(s);
      }
    });
  },
  { configs: [{ backend: 'webgpu', dtype: 'f32' }] },
);
