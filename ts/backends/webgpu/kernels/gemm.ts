/**
 * GEMM on the device: wgsl/gemm.wgsl (tiled programs), wgsl/gemm_gemv.wgsl (matrix-vector),
 * wgsl/gemm_reduce.wgsl (split-K reduction).
 *
 * `matmul` is the engine entry point (allocates C). `gemmInto` is the general form for other
 * kernels (QR, rSVD, blocked Cholesky/TRSM): C = alpha op(A) op(B) + beta C on strided sub-matrices
 * of existing stores (element offsets + leading dimensions, no alignment requirements), so trailing
 * updates run in place; A and B may even live in C's own buffer if they do not overlap the C block
 * (they are then read through C's binding, since WebGPU forbids binding one buffer read-only and
 * writable in the same dispatch).
 *
 * Programs (`planGemm` chooses; `GemmOptions.program` forces one, for tests and benchmarks):
 *   tiled8 - 16 x 16 invocations with an 8 x 8 register block each: 128 x 128 tiles, BK = 16
 *   tiled  - 8 x 8 invocations, 8 x 8 blocks: 64 x 64 tiles (medium products)
 *   skinny - tall tiles for n <= 32 (Y = A Omega, Q R^-1): 256 x 16 (2 x 32 invocations) or
 *            256 x 32 (4 x 32), 8 x 8 blocks
 *   wide   - the mirror image for m <= 32: 16 x 256 or 32 x 256
 *   small  - 32 x 32 tiles, BK = 32 (small outputs, with split-K): 8 x 8 invocations with 4 x 4
 *            blocks on GPUs, 4 x 4 invocations with 8 x 8 blocks on CPU adapters
 *   gemv   - n == 1 or m == 1: one invocation per output ('cols') or a 32-lane row ('rowdot')
 * and, orthogonally, split-K for small outputs with a long k (Q^T A, Gram matrices A^T A): k slices
 * written to a scratch buffer, then summed in a fixed order by gemm_reduce.wgsl (deterministic;
 * WGSL has no float atomics). Tile sizes are fitted to the device's workgroup storage and
 * invocation limits (`fitToDevice`), grids are folded under maxComputeWorkgroupsPerDimension.
 *
 * Measured on lavapipe (Mesa 25, llvmpipe 256-bit, 2 shared cores; see the helper's report):
 * 8 x 8 register blocks are ~2x faster than 4 x 4 there (each divergent load is 8 scalar loads,
 * so FMAs per loaded value is what counts); a fits-tile specialisation (FIT) gives ~3%; vec4 global
 * loads gave nothing measurable and were dropped; a 1-D "uniform rows" kernel that relies on
 * scalar broadcast loads was slower (lavapipe keeps loop counters per lane).
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuContext, GpuStore } from '../context.js';
import { ceilDiv, store, type GpuEnv } from '../env.js';
import { grid, specialize } from '../program.js';
import { PROGRAMS as P } from '../programs.js';

const { gemm_reduce: REDUCE } = P;

/** Program names accepted by the `program` override (tests and benchmarks). */
export type GemmProgram = 'tiled8' | 'tiled' | 'skinny' | 'wide' | 'small' | 'gemv';

/** A tile configuration: entry point (register block), invocation grid, k step. */
export interface TileConfig {
  entry: 'tiled8' | 'tiled4';
  wgX: number;
  wgY: number;
  bk: number;
}

/** One operand: a row-major matrix inside a store (element offset, leading dimension). */
export interface GemmOperand {
  store: GpuStore;
  /** Element offset of entry (0, 0) of the stored matrix. Default 0. */
  offset?: number;
  /** Leading dimension (row stride in elements) of the stored matrix. */
  ld: number;
  /** Use the transpose of the stored matrix. */
  trans?: boolean;
}

/** The C block: C(i, j) = store[offset + i * ld + j]. */
export interface GemmOutput {
  store: GpuStore;
  /** Element offset of C(0, 0). Default 0. */
  offset?: number;
  /** Leading dimension (row stride in elements), >= n. */
  ld: number;
}

export interface GemmOptions {
  alpha?: number;
  /** Default 0: C is then never read (it may hold garbage or NaN). */
  beta?: number;
  /** Force a program (tests, benchmarks); default: chosen by `planGemm`. */
  program?: GemmProgram;
  /** Force the number of k slices (1 disables split-K); default: chosen by `planGemm`. */
  splitK?: number;
  /** Force a tile configuration (benchmarks); overrides `program`. */
  tile?: TileConfig;
  /** Force the gemv thread mapping (tests, benchmarks); default: see `planGemm`. */
  gemvMapping?: 'rowdot' | 'cols';
  /** Plan as for this adapter class (tests, benchmarks); default: `isCpuAdapter` of the device. */
  adapterClass?: 'cpu' | 'gpu';
}

// ---- thresholds (documented; `planGemm` is the only place they are used) --------------------------

/** Outputs with n <= SKINNY_N (and m >= SKINNY_MIN_OTHER) use tall tiles; m <= SKINNY_N: wide tiles. */
export const SKINNY_N = 32;
export const SKINNY_MIN_OTHER = 128;
/** Both sides <= SMALL_MN: 32 x 32 tiles (small outputs, usually with split-K). */
export const SMALL_MN = 48;
/** 128 x 128 tiles when both sides >= LARGE_MN and there are at least LARGE_MIN_TILES such tiles. */
export const LARGE_MN = 512;
export const LARGE_MIN_TILES = 16;
/** Split-K when k >= SPLITK_MIN_K, k >= SPLITK_RATIO * max(m, n) and the grid has < SPLITK_MAX_TILES workgroups. */
export const SPLITK_MIN_K = 1024;
export const SPLITK_RATIO = 4;
export const SPLITK_MAX_TILES = 64;
/** Split-K aims at about this many workgroups in total, with slices of at least SPLITK_MIN_CHUNK. */
export const SPLITK_TARGET_WORKGROUPS = 256;
export const SPLITK_MIN_CHUNK = 256;
export const SPLITK_MAX_SLICES = 1024;

const PROGRAMS: Record<Exclude<GemmProgram, 'skinny' | 'wide' | 'gemv'>, TileConfig> = {
  tiled8: { entry: 'tiled8', wgX: 16, wgY: 16, bk: 16 },
  tiled: { entry: 'tiled8', wgX: 8, wgY: 8, bk: 16 },
  small: { entry: 'tiled4', wgX: 8, wgY: 8, bk: 32 },
};

/**
 * `small` on CPU adapters: the same 32 x 32 tile from 4 x 4 invocations with 8 x 8 blocks measured
 * 1.6-1.75x faster on lavapipe (Gram 20 x 20 x 100000); on a GPU 16 invocations would leave half a
 * warp idle, so GPUs keep 8 x 8 invocations with 4 x 4 blocks.
 */
const SMALL_CPU: TileConfig = { entry: 'tiled8', wgX: 4, wgY: 4, bk: 32 };

function skinnyConfig(n: number): TileConfig {
  return n <= 16 ? { entry: 'tiled8', wgX: 2, wgY: 32, bk: 16 } : { entry: 'tiled8', wgX: 4, wgY: 32, bk: 16 };
}
function wideConfig(m: number): TileConfig {
  return m <= 16 ? { entry: 'tiled8', wgX: 32, wgY: 2, bk: 16 } : { entry: 'tiled8', wgX: 32, wgY: 4, bk: 16 };
}

function tileDims(t: TileConfig): { bm: number; bn: number } {
  const r = t.entry === 'tiled8' ? 8 : 4;
  return { bm: r * t.wgY, bn: r * t.wgX };
}

/** Workgroup memory of a configuration in bytes (two k-major panels, rows padded by one vec4). */
export function tileStorage(t: TileConfig): number {
  const { bm, bn } = tileDims(t);
  return 16 * t.bk * (bm / 4 + 1 + bn / 4 + 1);
}

/**
 * Fits a configuration to the device: halves BK (down to 4) while the panels exceed
 * maxComputeWorkgroupStorageSize, and halves the invocation grid while it exceeds
 * maxComputeInvocationsPerWorkgroup (the spec defaults are 16 KiB and 256; missing limits are
 * taken as those defaults).
 */
export function fitToDevice(t: TileConfig, limits: Partial<GPUSupportedLimits>): TileConfig {
  const storage = limits.maxComputeWorkgroupStorageSize ?? 16384;
  const invocations = limits.maxComputeInvocationsPerWorkgroup ?? 256;
  const maxX = limits.maxComputeWorkgroupSizeX ?? 256,
    maxY = limits.maxComputeWorkgroupSizeY ?? 256;
  let c = { ...t };
  while (c.wgX * c.wgY > invocations || c.wgX > maxX || c.wgY > maxY) {
    if (c.wgX >= c.wgY && c.wgX > 1) c.wgX /= 2;
    else c.wgY /= 2;
  }
  while (tileStorage(c) > storage && c.bk > 4) c = { ...c, bk: c.bk / 2 };
  while (tileStorage(c) > storage) {
    if (c.wgX >= c.wgY && c.wgX > 1) c.wgX /= 2;
    else c.wgY /= 2;
  }
  return c;
}

export interface GemmPlan {
  program: GemmProgram | 'custom';
  /** Tile configuration of the tiled programs (null for gemv). */
  tile: TileConfig | null;
  /** Thread mapping of gemv: 'rowdot' when the matrix operand's rows are contiguous, else 'cols'. */
  gemv: 'rowdot' | 'cols' | null;
  /** Number of k slices (1: no split-K). */
  slices: number;
  /** k per slice (a multiple of tile.bk, or of 4 for gemv, when slices > 1). */
  kChunk: number;
}

export interface PlanOptions extends Pick<GemmOptions, 'program' | 'splitK' | 'tile' | 'gemvMapping'> {
  transA?: boolean;
  transB?: boolean;
  /** A or B lives in C's buffer (rules out gemv, which has no aliased mode). */
  aliased?: boolean;
  /** The adapter is a CPU implementation (lavapipe, SwiftShader): see `isCpuAdapter`. */
  cpu?: boolean;
}

/**
 * True for software adapters (Mesa lavapipe/llvmpipe, SwiftShader), where invocations are SIMD lanes
 * of a CPU core, every divergent load is a per-lane scalar load and barriers are coroutine switches.
 */
export function isCpuAdapter(info: { vendor?: string; architecture?: string; device?: string; description?: string }): boolean {
  const s = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.device ?? ''} ${info.description ?? ''}`;
  return /llvmpipe|lavapipe|swiftshader|\bsoftware\b/i.test(s);
}

/**
 * The program for an m x n x k product. Thresholds (constants above):
 *  - n == 1 or m == 1 (and no operand inside C's buffer): `gemv`, mapped 'rowdot' (a 32-lane
 *    workgroup row per output, coalesced) when the matrix operand's rows are contiguous and 'cols'
 *    (one invocation per output) otherwise. On CPU adapters 'cols' is used for both layouts: each
 *    lane then streams its own row and x(p) is a scalar broadcast, which measured 4x faster on
 *    lavapipe than rowdot's per-lane loads and shared-memory tree (on GPUs it would not coalesce).
 *  - n <= 32 and m >= 128: `skinny` (tall tiles); m <= 32 and n >= 128: `wide`.
 *  - m, n <= 48: `small` (32 x 32 tiles).
 *  - m, n >= 512 with >= 16 tiles of 128 x 128: `tiled8`; otherwise `tiled` (64 x 64).
 *  - split-K on top of any of these when k >= 1024, k >= 4 max(m, n) and the grid has < 64
 *    workgroups: about 256 workgroups in total, slices of >= 256 (a multiple of BK), at most 1024
 *    slices, and no more than fit one storage binding of partial products (slices m n 4 bytes).
 */
export function planGemm(m: number, n: number, k: number, limits: Partial<GPUSupportedLimits>, opts: PlanOptions = {}): GemmPlan {
  let program: GemmProgram | 'custom';
  if (opts.tile) program = 'custom';
  else if (opts.program) program = opts.program;
  else if (Math.min(m, n) === 1 && !opts.aliased) program = 'gemv';
  else if (n <= SKINNY_N && m >= SKINNY_MIN_OTHER) program = 'skinny';
  else if (m <= SKINNY_N && n >= SKINNY_MIN_OTHER) program = 'wide';
  else if (m <= SMALL_MN && n <= SMALL_MN) program = 'small';
  else if (m >= LARGE_MN && n >= LARGE_MN && ceilDiv(m, 128) * ceilDiv(n, 128) >= LARGE_MIN_TILES) program = 'tiled8';
  else program = 'tiled';
  let tile: TileConfig | null = null,
    gemv: GemmPlan['gemv'] = null,
    workgroups: number,
    align: number;
  if (program === 'gemv') {
    if (Math.min(m, n) !== 1) throw new RangeError(`gemm: program 'gemv' needs m == 1 or n == 1, got ${m} x ${n}`);
    if (opts.aliased) throw new RangeError("gemm: program 'gemv' cannot read operands inside C's buffer");
    const rowsContiguous = n === 1 ? !opts.transA : !!opts.transB;
    gemv = opts.gemvMapping ?? (rowsContiguous && !opts.cpu ? 'rowdot' : 'cols');
    const rows = n === 1 ? m : n;
    workgroups = gemv === 'rowdot' ? ceilDiv(rows, 8) : ceilDiv(rows, 256);
    align = 4;
  } else {
    const base =
      program === 'custom'
        ? opts.tile!
        : program === 'skinny'
          ? skinnyConfig(n)
          : program === 'wide'
            ? wideConfig(m)
            : program === 'small' && opts.cpu
              ? SMALL_CPU
              : PROGRAMS[program];
    tile = fitToDevice(base, limits);
    const { bm, bn } = tileDims(tile);
    workgroups = ceilDiv(m, bm) * ceilDiv(n, bn);
    align = tile.bk;
  }
  let slices = 1;
  if (opts.splitK !== undefined) slices = Math.max(1, Math.min(opts.splitK, ceilDiv(k, align)));
  else if (k >= SPLITK_MIN_K && k >= SPLITK_RATIO * Math.max(m, n) && workgroups < SPLITK_MAX_TILES)
    slices = Math.max(1, Math.min(SPLITK_MAX_SLICES, ceilDiv(SPLITK_TARGET_WORKGROUPS, workgroups), Math.floor(k / SPLITK_MIN_CHUNK)));
  // The partial products must fit one storage binding.
  const maxBinding = limits.maxStorageBufferBindingSize ?? 134217728;
  slices = Math.min(slices, Math.max(1, Math.floor(maxBinding / (4 * m * n))));
  if (slices <= 1) return { program, tile, gemv, slices: 1, kChunk: k };
  const kChunk = ceilDiv(ceilDiv(k, slices), align) * align;
  return { program, tile, gemv, slices: ceilDiv(k, kChunk), kChunk };
}

// ---- dispatch ----------------------------------------------------------------------------------

const dummies = new WeakMap<GpuContext, GpuStore>();
function dummy(ctx: GpuContext): GpuStore {
  let d = dummies.get(ctx);
  if (!d) {
    d = ctx.alloc(16);
    dummies.set(ctx, d);
  }
  return d;
}

function checkU32(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`gemm: ${what} = ${v} is not a valid u32`);
}

/** Last element index touched by a stored r x c matrix at `offset` with leading dimension `ld`. */
function lastElement(rows: number, cols: number, offset: number, ld: number): number {
  return rows === 0 || cols === 0 ? offset : offset + (rows - 1) * ld + cols - 1;
}

/**
 * C = alpha op(A) op(B) + beta C, with op(A) m x k, op(B) k x n, C m x n, all sub-matrices of
 * existing stores (row-major, element offsets and leading dimensions). Nothing is allocated except
 * a split-K scratch buffer (released after encoding). The A or B block may share C's buffer if it
 * does not overlap the C block (it is then read through C's binding).
 */
export function gemmInto(
  env: GpuEnv,
  m: number,
  n: number,
  k: number,
  a: GemmOperand,
  b: GemmOperand,
  c: GemmOutput,
  opts: GemmOptions = {},
): void {
  const ctx = env.ctx;
  const alpha = opts.alpha ?? 1,
    beta = opts.beta ?? 0;
  const transA = !!a.trans,
    transB = !!b.trans;
  const offA = a.offset ?? 0,
    offB = b.offset ?? 0,
    offC = c.offset ?? 0;
  for (const [w, v] of [
    ['m', m],
    ['n', n],
    ['k', k],
    ['lda', a.ld],
    ['ldb', b.ld],
    ['ldc', c.ld],
    ['offA', offA],
    ['offB', offB],
    ['offC', offC],
  ] as const)
    checkU32(w, v);
  if (m === 0 || n === 0) return;
  if (a.ld < (transA ? m : k) || b.ld < (transB ? k : n) || c.ld < n)
    throw new RangeError(
      `gemm: leading dimensions (${a.ld}, ${b.ld}, ${c.ld}) are smaller than the rows of op(A) ${m} x ${k}, op(B) ${k} x ${n}, C ${m} x ${n}`,
    );
  const lastA = transA ? lastElement(k, m, offA, a.ld) : lastElement(m, k, offA, a.ld);
  const lastB = transB ? lastElement(n, k, offB, b.ld) : lastElement(k, n, offB, b.ld);
  const lastC = lastElement(m, n, offC, c.ld);
  if (4 * (lastC + 1) > c.store.bytes) throw new RangeError(`gemm: C block (${m} x ${n} at ${offC}, ld ${c.ld}) exceeds its store`);
  if (k > 0 && 4 * (lastA + 1) > a.store.bytes)
    throw new RangeError(`gemm: A block (op(A) ${m} x ${k} at ${offA}, ld ${a.ld}) exceeds its store`);
  if (k > 0 && 4 * (lastB + 1) > b.store.bytes)
    throw new RangeError(`gemm: B block (op(B) ${k} x ${n} at ${offB}, ld ${b.ld}) exceeds its store`);
  const sameBuf = a.store.buffer === c.store.buffer || b.store.buffer === c.store.buffer;
  // An operand inside C's buffer is read through C's binding, which covers c.store.bytes.
  if (k > 0 && a.store.buffer === c.store.buffer && 4 * (lastA + 1) > c.store.bytes)
    throw new RangeError("gemm: A block (inside C's buffer) exceeds the C store");
  if (k > 0 && b.store.buffer === c.store.buffer && 4 * (lastB + 1) > c.store.bytes)
    throw new RangeError("gemm: B block (inside C's buffer) exceeds the C store");
  const cpu = opts.adapterClass ? opts.adapterClass === 'cpu' : isCpuAdapter(ctx.bundle.info);
  const plan = planGemm(m, n, k, ctx.limits, { ...opts, transA, transB, aliased: sameBuf, cpu });
  const split = plan.slices > 1;
  // With split-K the products go to a scratch buffer and the reduction writes C.
  const part = split ? ctx.alloc(plan.slices * m * n * 4) : null;
  try {
    if (plan.gemv) encodeGemv(env, plan, m, n, k, a, b, part ?? c.store, part ? 0 : offC, part ? null : c.ld, alpha, part ? 0 : beta);
    else encodeTiled(env, plan, m, n, k, a, b, part ?? c.store, part ? 0 : offC, part ? n : c.ld, part ? 1 : alpha, part ? 0 : beta);
    if (part)
      ctx.dispatch(specialize(REDUCE, { BETA: +(beta !== 0) }), {
        bindings: [part, c.store],
        uniforms: { m, n, ldc: c.ld, offC, slices: plan.slices, sliceStride: m * n, alpha, beta },
        workgroups: grid(REDUCE, m * n),
      });
  } finally {
    if (part) ctx.release(part);
  }
}

/** Folds a linear workgroup count into [x, y] under the per-dimension limit. */
function fold(ctx: GpuContext, count: number, z: number, what: string): [number, number, number] {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  const gy = ceilDiv(count, max),
    gx = ceilDiv(count, gy);
  if (gy > max || z > max) throw new RangeError(`gemm: ${what} needs more workgroups than this device allows`);
  return [gx, gy, z];
}

/**
 * One tiled dispatch: slice z of the plan writes C[offC + z m n + i ldc + j] (ldc = n for
 * split-K partials; otherwise the caller's C with alpha and beta).
 */
function encodeTiled(
  env: GpuEnv,
  plan: GemmPlan,
  m: number,
  n: number,
  k: number,
  a: GemmOperand,
  b: GemmOperand,
  out: GpuStore,
  offC: number,
  ldc: number,
  alpha: number,
  beta: number,
): void {
  const ctx = env.ctx;
  const t = plan.tile!;
  const { bm, bn } = tileDims(t);
  const tilesN = ceilDiv(n, bn),
    tiles = ceilDiv(m, bm) * tilesN;
  const aInC = a.store.buffer === out.buffer,
    bInC = b.store.buffer === out.buffer;
  const r = t.entry === 'tiled8' ? 2 : 1;
  const desc = specialize(
    { ...(t.entry === 'tiled4' ? P.gemm_tiled4 : P.gemm_tiled8), name: `gemm.${plan.program}` },
    {
      TRANS_A: +!!a.trans,
      TRANS_B: +!!b.trans,
      FIT: +(m % bm === 0 && n % bn === 0 && k % t.bk === 0 && plan.kChunk % t.bk === 0),
      A_IN_C: +aInC,
      B_IN_C: +bInC,
      BETA: +(beta !== 0),
      WG_X: t.wgX,
      WG_Y: t.wgY,
      TM4: r * t.wgY,
      TN4: r * t.wgX,
      BK: t.bk,
    },
  );
  ctx.dispatch(desc, {
    bindings: [aInC ? dummy(ctx) : a.store, bInC ? dummy(ctx) : b.store, out],
    uniforms: {
      m,
      n,
      k,
      lda: a.ld,
      ldb: b.ld,
      ldc,
      offA: a.offset ?? 0,
      offB: b.offset ?? 0,
      offC,
      kChunk: Math.max(plan.kChunk, 1),
      zStride: m * n,
      tilesN,
      tiles,
      alpha,
      beta,
    },
    workgroups: fold(ctx, tiles, plan.slices, `${m} x ${n} x ${k}`),
  });
}

/**
 * One gemv dispatch. n == 1: y = op(A) x with x = op(B)(:, 0), y(i) = C(i, 0); m == 1:
 * y = op(B)^T x with x = op(A)(0, :)^T, y(j) = C(0, j). ldc null: split-K partials (y contiguous,
 * slice z at z rows).
 */
function encodeGemv(
  env: GpuEnv,
  plan: GemmPlan,
  m: number,
  n: number,
  k: number,
  a: GemmOperand,
  b: GemmOperand,
  out: GpuStore,
  offC: number,
  ldc: number | null,
  alpha: number,
  beta: number,
): void {
  const transA = !!a.trans,
    transB = !!b.trans;
  const offA = a.offset ?? 0,
    offB = b.offset ?? 0;
  let rows: number, M: GemmOperand, X: GemmOperand, rs: number, cs: number, xs: number, ys: number;
  if (n === 1) {
    rows = m;
    [M, X] = [a, b];
    [rs, cs] = transA ? [1, a.ld] : [a.ld, 1];
    xs = transB ? 1 : b.ld;
    ys = ldc ?? 1;
  } else {
    rows = n;
    [M, X] = [b, a];
    [rs, cs] = transB ? [b.ld, 1] : [1, b.ld];
    xs = transA ? a.ld : 1;
    ys = 1;
  }
  const perGroup = plan.gemv === 'rowdot' ? 8 : 256;
  env.ctx.dispatch(specialize(plan.gemv === 'rowdot' ? P.gemv_rowdot : P.gemv_cols, { BETA: +(beta !== 0) }), {
    bindings: [M.store, X.store, out],
    uniforms: {
      rows,
      k,
      rs,
      cs,
      xs,
      ys,
      offM: M === a ? offA : offB,
      offX: X === a ? offA : offB,
      offY: offC,
      kChunk: Math.max(plan.kChunk, 1),
      zStride: rows,
      alpha,
      beta,
    },
    workgroups: fold(env.ctx, ceilDiv(rows, perGroup), plan.slices, `gemv ${m} x ${n} x ${k}`),
  });
}

/** C = alpha op(A) op(B) into a new store (the engine's matmul). */
export function matmul(
  env: GpuEnv,
  a: DenseRef,
  b: DenseRef,
  transA: boolean,
  transB: boolean,
  alpha: number,
  opts: Omit<GemmOptions, 'alpha' | 'beta'> = {},
): GpuStore {
  const m = transA ? a.cols : a.rows,
    k = transA ? a.rows : a.cols,
    n = transB ? b.rows : b.cols;
  const out = env.ctx.alloc(m * n * 4);
  gemmInto(
    env,
    m,
    n,
    k,
    { store: store(a), ld: a.cols, trans: transA },
    { store: store(b), ld: b.cols, trans: transB },
    { store: out, ld: n },
    { ...opts, alpha, beta: 0 },
  );
  return out;
}
