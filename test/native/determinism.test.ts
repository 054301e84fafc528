/**
 * Thread-count determinism of the native backend (README: "native results are bit-identical for any
 * thread count"): every primitive the engine exports and the main algorithms, f32 and f64, run on
 * engines with 1, 2, 3 and 7 threads, outputs compared bit for bit with the 1-thread result.
 *
 * The pool is forced to 7 threads (LOWRANK_POOL_THREADS, set before the addon loads; oversubscribed
 * on smaller machines), so 3 and 7 are real partition counts even on a 2-core host. Sizes cross the
 * native thresholds where results could depend on a split: the parallel-flop and skinny/GEMV paths
 * and every GEMM blocking (K > kc, M' > mc, N' > nc = 4080), the level-2 splits of the reductions
 * (gemv from 2^18 entries, symv from m ~ 725), the Cholesky/TRSM leaf and column splits, LU's row
 * chunks (2048), the QR-first SVD path (m >= 11 n / 6) and the divide-and-conquer parallel merges.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  if (!process.env.LOWRANK_POOL_THREADS) process.env.LOWRANK_POOL_THREADS = '7';
});

import {
  completeMatrix,
  engine,
  leverageScores,
  lewisWeights,
  robustRecover,
  rsvd,
  rsvdStream,
  sensingProblem,
  ssm,
  type Engine,
  Mat,
  SparseMat,
} from '../../ts/index.js';
import type { DType } from '../../ts/types.js';
import { mulberryFill } from '../host-linalg.js';

const THREADS = [1, 2, 3, 7];
const T = { timeout: 60_000 };

/** Deterministic values in [-1, 1) (mulberry32). */
function rand(n: number, seed: number): Float64Array {
  return mulberryFill(new Float64Array(n), seed);
}

/** Symmetric n x n with a well-separated spectrum: G + G^T + n I. */
function symmetric(n: number, seed: number, shift = 0): Float64Array {
  const g = rand(n * n, seed),
    a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = g[i * n + j] + g[j * n + i] + (i === j ? shift : 0);
  return a;
}

/** Random sparse COO (rows x cols, about `per` entries per row). */
function coo(
  rows: number,
  cols: number,
  per: number,
  seed: number,
): { rows: number; cols: number; row: Int32Array; col: Int32Array; val: Float64Array } {
  const nnz = rows * per,
    r = rand(2 * nnz, seed),
    val = rand(nnz, seed + 1);
  const row = new Int32Array(nnz),
    col = new Int32Array(nnz);
  for (let e = 0; e < nnz; e++) {
    row[e] = Math.min(rows - 1, Math.floor(((r[2 * e] + 1) / 2) * rows));
    col[e] = Math.min(cols - 1, Math.floor(((r[2 * e + 1] + 1) / 2) * cols));
  }
  return { rows, cols, row, col, val };
}

type Out = Mat | SparseMat | Float64Array | Float32Array | Int32Array | number | number[] | null | undefined | Out[] | { [k: string]: Out };

/** Flattens an output to typed arrays (matrices downloaded, then disposed), keyed by path. */
async function flatten(o: Out, key: string, into: Map<string, Uint8Array>): Promise<void> {
  if (o === null || o === undefined) return;
  if (o instanceof Mat) {
    const a = await o.toArray();
    o.dispose();
    into.set(key, new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice());
  } else if (o instanceof SparseMat) {
    const c = await o.toCOO();
    o.dispose();
    await flatten([c.row, c.col, c.val as Float64Array], key, into);
  } else if (typeof o === 'number') {
    into.set(key, new Uint8Array(new Float64Array([o]).buffer));
  } else if (ArrayBuffer.isView(o)) {
    into.set(key, new Uint8Array(o.buffer, o.byteOffset, o.byteLength).slice());
  } else if (Array.isArray(o)) {
    if (o.every((x) => typeof x === 'number')) into.set(key, new Uint8Array(Float64Array.from(o as number[]).buffer));
    else for (let i = 0; i < o.length; i++) await flatten(o[i] as Out, `${key}[${i}]`, into);
  } else {
    for (const k of Object.keys(o)) await flatten(o[k], `${key}.${k}`, into);
  }
}

/** '' when equal bit for bit, else where the first difference is. */
function diff(ref: Map<string, Uint8Array>, got: Map<string, Uint8Array>): string {
  if (ref.size !== got.size) return `${got.size} outputs, expected ${ref.size}`;
  for (const [k, a] of ref) {
    const b = got.get(k);
    if (!b) return `output ${k} missing`;
    if (a.length !== b.length) return `${k}: ${b.length} bytes, expected ${a.length}`;
    let count = 0,
      first = -1;
    for (let i = 0; i < a.length; i++)
      if (a[i] !== b[i]) {
        if (first < 0) first = i;
        count++;
      }
    if (count) return `${k}: ${count} bytes differ, first at byte ${first} of ${a.length}`;
  }
  return '';
}

for (const dtype of ['f32', 'f64'] as DType[]) {
  describe(`native thread-count determinism [${dtype}]`, () => {
    const engines: Engine[] = [];
    beforeAll(async () => {
      for (const t of THREADS) engines.push(await engine({ backend: 'native', dtype, threads: t }));
    });
    afterAll(async () => {
      for (const e of engines) await e.dispose();
    });

    /** Runs f on every engine; every result must equal the 1-thread result bit for bit. */
    async function same(label: string, f: (eng: Engine) => Promise<Out>): Promise<void> {
      let ref: Map<string, Uint8Array> | undefined;
      for (const eng of engines) {
        const got = new Map<string, Uint8Array>();
        await flatten(await f(eng), label, got);
        if (!ref) {
          ref = got;
          continue;
        }
        expect(diff(ref, got), `${label}, threads ${eng.info().threads} vs 1`).toBe('');
      }
    }
    const M = (eng: Engine, a: Float64Array, r: number, c: number): Mat => eng.matrix(a, r, c);

    it('the pool runs the requested thread counts', () => {
      const want = process.env.LOWRANK_THREADS ? Math.min(7, Number(process.env.LOWRANK_THREADS)) : 7;
      expect(engines.map((e) => e.info().threads)).toEqual(THREADS.map((t) => Math.min(t, want)));
    });

    it('matmul, every transpose: GEMV, skinny, parallel threshold and kc / mc / nc blockings', T, async () => {
      // [m, n, k] of C = op(A) op(B)
      const shapes = [
        [3, 5, 7],
        [1, 300, 400],
        [300, 3, 400],
        [130, 140, 150],
        [300, 257, 520],
        [2000, 60, 300],
        [4100, 300, 70],
      ];
      for (const [m, n, k] of shapes)
        for (const transA of [false, true])
          for (const transB of [false, true]) {
            const a = rand(m * k, m + k),
              b = rand(k * n, n + 3 * k);
            await same(`matmul ${m}x${n}x${k} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`, async (eng) => {
              const A = transA ? M(eng, a, k, m) : M(eng, a, m, k),
                B = transB ? M(eng, b, n, k) : M(eng, b, k, n);
              const C = await eng.matmul(A, B, { transA, transB, alpha: 0.75 });
              A.dispose();
              B.dispose();
              return C;
            });
          }
    });

    it('qr and lu (panel and 2048-row chunk thresholds)', T, async () => {
      for (const [m, n] of [
        [1, 1],
        [257, 127],
        [2100, 70],
        [700, 520],
        [25000, 12], // lu: leaf passes split into 2048-row chunks
      ]) {
        const a = rand(m * n, m * 7 + n);
        await same(`qr ${m}x${n}`, async (eng) => {
          const A = M(eng, a, m, n),
            r = await eng.qr(A);
          A.dispose();
          return r;
        });
        await same(`lu ${m}x${n}`, async (eng) => {
          const A = M(eng, a, m, n),
            r = await eng.lu(A);
          A.dispose();
          return r;
        });
      }
    });

    it('cholesky (leaf, TRSM leaf row split, syrk) at n = 100, 1100, 1500', T, async () => {
      for (const n of [100, 1100, 1500]) {
        const a = symmetric(n, n, 2 * n);
        await same(`cholesky ${n}`, async (eng) => {
          const A = M(eng, a, n, n),
            L = await eng.cholesky(A);
          A.dispose();
          return L;
        });
      }
    });

    it('solveTriangular, every orientation, 1 / 37 / 300 right-hand sides (column split)', T, async () => {
      const n = 700,
        t = rand(n * n, 5);
      for (let i = 0; i < n; i++) t[i * n + i] = 4 + Math.abs(t[i * n + i]);
      for (const nrhs of [1, 37, 300]) {
        const b = rand(n * nrhs, nrhs);
        for (const lower of [true, false])
          for (const trans of [false, true])
            await same(`solveTriangular n ${n} nrhs ${nrhs} ${lower ? 'L' : 'U'}${trans ? 'T' : 'N'}`, async (eng) => {
              const Tm = M(eng, t, n, n),
                B = M(eng, b, n, nrhs);
              const X = await eng.solveTriangular(Tm, B, { lower, trans });
              Tm.dispose();
              B.dispose();
              return X;
            });
      }
    });

    it('eigh at n = 5, 200 and 780 (symv split from ~725)', T, async () => {
      for (const n of [5, 200, 780]) {
        const a = symmetric(n, 3 * n);
        await same(`eigh ${n}`, async (eng) => {
          const A = M(eng, a, n, n),
            r = await eng.eigh(A);
          A.dispose();
          return r;
        });
      }
    });

    it('svd, direct bidiagonalization (gemv split from 2^18 entries): 600 x 520 and 3 x 2', T, async () => {
      for (const [m, n] of [
        [3, 2],
        [600, 520],
      ]) {
        const a = rand(m * n, m + 11 * n);
        await same(`svd ${m}x${n}`, async (eng) => {
          const A = M(eng, a, m, n),
            r = await eng.svd(A);
          A.dispose();
          return r;
        });
      }
    });

    it('svdvals: one-stage (600 x 520), QR first (2000 x 300), two-stage (1030 x 1100: band, bulge chasing)', T, async () => {
      for (const [m, n] of [
        [600, 520],
        [2000, 300],
        [1030, 1100],
      ]) {
        const a = rand(m * n, 5 * m + n);
        await same(`svdvals ${m}x${n}`, async (eng) => {
          const A = M(eng, a, m, n),
            S = await eng.svdvals(A);
          A.dispose();
          return S;
        });
      }
    });

    it('svd, QR first (wide 530 x 1000) and lstsq (full rank, rank-deficient)', T, async () => {
      const [m, n] = [530, 1000],
        a = rand(m * n, 99);
      await same(`svd ${m}x${n}`, async (eng) => {
        const A = M(eng, a, m, n),
          r = await eng.svd(A);
        A.dispose();
        return r;
      });
      const [p, q] = [800, 530],
        c = rand(p * q, 7),
        b = rand(p * 3, 8);
      const d = c.slice();
      for (let i = 0; i < p; i++) d[i * q + q - 1] = d[i * q]; // a repeated column: rank q - 1
      for (const [label, x] of [
        ['full rank', c],
        ['rank-deficient', d],
      ] as const)
        await same(`lstsqInfo ${label}`, async (eng) => {
          const A = M(eng, x, p, q),
            B = M(eng, b, p, 3),
            r = await eng.lstsqInfo(A, B);
          A.dispose();
          B.dispose();
          return [r.X, r.rank];
        });
    });

    it(
      'norms, element-wise and block primitives, colAbsMax, rowArgmin, randn / rand, sign, reshape, fwht, adamStep, fakeQuantize',
      T,
      async () => {
        const [m, n] = [1100, 600],
          a = rand(m * n, 1),
          b = rand(m * n, 2),
          s = rand(Math.max(m, n), 3);
        await same('block primitives', async (eng) => {
          const A = M(eng, a, m, n),
            B = M(eng, b, m, n),
            F1 = M(eng, a.subarray(0, 2 ** 19), 2 ** 19, 1),
            F2 = M(eng, b.subarray(0, 2 ** 19), 2 ** 15, 16);
          const out: Out = [
            await eng.norm(A, 'fro'),
            await eng.norm(A, 'max'),
            await eng.colNorms(A),
            await eng.rowNorms(A),
            await eng.add(A, B),
            await eng.sub(A, B),
            await eng.scale(A, 1.5),
            await eng.axpby(0.5, A, -2, B),
            await eng.hadamard(A, B),
            await eng.transpose(A),
            await eng.slice(A, { rows: [3, 1000], cols: [5, 590] }),
            await eng.hstack([A, B]),
            await eng.vstack([A, B]),
            await eng.scaleRows(A, s.subarray(0, m)),
            await eng.scaleColumns(A, s.subarray(0, n)),
            await eng.colAbsMax(A),
            await eng.rowArgmin(A),
            await eng.sign(A),
            await eng.reshape(A, n, m),
            await eng.fwht(F1),
            await eng.fwht(F2),
            await eng.adamStep(A, B, A, { beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 3 }),
            await eng.fakeQuantize(A, { bits: 8, groupSize: 256, rounding: 'nearest' }),
            await eng.fakeQuantize(A, { bits: 4, groupSize: 1000, rounding: 'stochastic', seed: 6, offset: 7 }),
            eng.full(m, n, 0.25),
            eng.randn(m, n, { seed: 4, offset: 12345 }),
            eng.rand(m, n, { seed: 5 }),
          ];
          A.dispose();
          B.dispose();
          F1.dispose();
          F2.dispose();
          return out;
        });
      },
    );

    it('spmm (both orientations), sddmm, sparse norms', T, async () => {
      const S = coo(3000, 2000, 30, 1),
        b = rand(2000 * 40, 2),
        bt = rand(3000 * 40, 3),
        u = rand(3000 * 16, 4),
        v = rand(2000 * 16, 5);
      await same('sparse', async (eng) => {
        const Sp = eng.sparse(S),
          B = M(eng, b, 2000, 40),
          Bt = M(eng, bt, 3000, 40),
          U = M(eng, u, 3000, 16),
          V = M(eng, v, 2000, 16);
        const out: Out = [
          await eng.spmm(Sp, B),
          await eng.spmm(Sp, Bt, { transS: true }),
          await eng.sddmm(Sp, U, V),
          await eng.norm(Sp, 'fro'),
        ];
        for (const x of [Sp, B, Bt, U, V]) x.dispose();
        return out;
      });
    });

    it('gaussianApply / gaussianAdjoint and ssm kernels (Vandermonde, conv, scan)', T, async () => {
      const x = rand(60 * 50, 6),
        r = rand(5000, 7);
      const H = 4,
        N = 16,
        L = 3000;
      const Lambda = { re: Array.from(rand(H * N, 8), (t) => -0.1 - Math.abs(t)), im: Array.from(rand(H * N, 9), (t) => 3 * t) };
      const C = { re: Array.from(rand(H * N, 10)), im: Array.from(rand(H * N, 11)) };
      const logDt = Array.from(rand(H, 12), (t) => -3 + t);
      const u = rand(2 * H * L, 13);
      await same('gauss + ssm', async (eng) => {
        const X = M(eng, x, 60, 50),
          R = M(eng, r, 5000, 1),
          Um = M(eng, u, 2 * H, L);
        const K = await ssm.kernel(eng, { Lambda, C, logDt }, L, { conj: 'half' });
        const bar = ssm.discretize(
          { Lambda: { re: Lambda.re.slice(0, N), im: Lambda.im.slice(0, N) }, B: Array(N).fill(1) },
          Math.exp(logDt[0]),
          'zoh',
        );
        const out: Out = [
          await eng.gaussianApply(X, 5000, { seed: 3 }),
          await eng.gaussianAdjoint(R, 60, 50, { seed: 3, offset: 17 }),
          await ssm.conv(eng, Um, K, { D: [1, 2, 3, 4] }),
          await ssm.scan(eng, { LambdaBar: bar.LambdaBar, BBar: bar.BBar, C: { re: C.re.slice(0, N), im: C.im.slice(0, N) } }, Um),
          K,
        ];
        for (const m of [X, R, Um]) m.dispose();
        return out;
      });
    });

    it('rsvd (subspace, krylov), rsvdStream, leverage scores, Lewis weights', T, async () => {
      const [m, n] = [1500, 600],
        a = rand(m * n, 21);
      for (let i = 0; i < m; i++) for (let j = 0; j < 5; j++) a[i * n + j] *= 20; // a few strong directions
      await same('rsvd', async (eng) => {
        const A = M(eng, a, m, n);
        const s = await rsvd(A, { rank: 10, seed: 3 }),
          k = await rsvd(A, { rank: 10, seed: 3, method: 'krylov', powerIters: 3 });
        A.dispose();
        return [s.U, s.S, s.V, k.U, k.S, k.V];
      });
      await same('rsvdStream', async (eng) => {
        async function* gen(): AsyncGenerator<Float64Array> {
          for (let r0 = 0; r0 < m; r0 += 400) yield a.slice(r0 * n, Math.min(m, r0 + 400) * n);
        }
        const r = await rsvdStream(gen(), { engine: eng, cols: n, rank: 8, seed: 4 });
        return [r.U, r.S, r.V];
      });
      const b = rand(3000 * 40, 22);
      await same('leverage scores', async (eng) => {
        const B = M(eng, b, 3000, 40);
        const out: Out = [await leverageScores(B), await lewisWeights(B, { p: 1 })];
        B.dispose();
        return out;
      });
    });

    it('completeMatrix (exact and sketch solvers) and robustRecover (matrix-free Gaussian operator)', T, async () => {
      const [m, n, k] = [400, 300, 5];
      const uf = rand(m * k, 31),
        vf = rand(n * k, 32),
        pick = coo(m, n, 60, 33);
      const val = new Float64Array(pick.row.length);
      for (let e = 0; e < val.length; e++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += uf[pick.row[e] * k + t] * vf[pick.col[e] * k + t];
        val[e] = s;
      }
      for (const solver of ['exact', 'sketch'] as const)
        await same(`completeMatrix ${solver}`, async (eng) => {
          const S = eng.sparse({ ...pick, val });
          const r = await completeMatrix(S, { rank: k, solver, iters: 2, seed: 1 });
          S.dispose();
          return [r.U, r.V];
        });
      await same('robustRecover', async (eng) => {
        const { problem, truth } = await sensingProblem(eng, {
          n: 30,
          rank: 2,
          m: 1500,
          outlierFraction: 0.1,
          storage: 'matrix-free',
          seed: 2,
        });
        const r = await robustRecover(problem, { rank: 3, iters: 10, seed: 2 });
        truth.X.dispose();
        problem.measurements.dispose();
        return [r.U, r.V];
      });
    });
  });
}
