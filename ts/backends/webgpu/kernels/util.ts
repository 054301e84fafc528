/**
 * Small dense helpers shared by the factorization kernels: strided block copies and updates and
 * in-place column / row scaling (wgsl/block.wgsl), diagonal shifts, svd_flip signs and the transposing
 * gather (wgsl/util.wgsl). Also the
 * `ref()` adaptor that lets a bare store (a temporary) be passed to `matmul` and friends.
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { ceilDiv, type GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { PROGRAMS as P } from '../programs.js';

const { block: BLOCK, add_diag: ADD_DIAG, col_sign: COL_SIGN, row_sign: ROW_SIGN, scale_axis_inplace: SCALE, gather_t: GATHER_T } = P;

/** A DenseRef view of a store (for temporaries handed to matmul and the other kernels). */
export function ref(s: GpuStore, rows: number, cols: number): DenseRef {
  return { _store: s, rows, cols };
}

export interface BlockArgs {
  rows: number;
  cols: number;
  /** Source offset (elements) and row stride; with `trans` the block read is src^T. */
  sOff?: number;
  lds: number;
  dOff?: number;
  ldd: number;
  trans?: boolean;
  /** Touch only the lower (c <= r) or upper (c >= r) triangle of the block. */
  uplo?: 'lower' | 'upper';
  alpha?: number;
  /** 0 (default): overwrite without reading dst. */
  beta?: number;
}

/** dst block = alpha op(src block) + beta dst block (see wgsl/block.wgsl `block`). */
export function block(env: GpuEnv, src: GpuStore, dst: GpuStore, a: BlockArgs): void {
  const n = a.rows * a.cols;
  if (n === 0) return;
  env.ctx.dispatch(BLOCK, {
    bindings: [src, dst],
    uniforms: {
      rows: a.rows,
      cols: a.cols,
      s_off: a.sOff ?? 0,
      lds: a.lds,
      d_off: a.dOff ?? 0,
      ldd: a.ldd,
      trans: a.trans ? 1 : 0,
      uplo: a.uplo === 'lower' ? 1 : a.uplo === 'upper' ? 2 : 0,
      alpha: a.alpha ?? 1,
      beta: a.beta ?? 0,
    },
    workgroups: grid(BLOCK, n),
  });
}

/** A fresh rows x cols copy of a (sub)matrix. */
export function copyOf(env: GpuEnv, src: GpuStore, rows: number, cols: number, a: Partial<BlockArgs> = {}): GpuStore {
  const out = env.ctx.alloc(rows * cols * 4);
  block(env, src, out, { lds: cols, ...a, rows, cols, ldd: cols, dOff: 0, beta: 0 });
  return out;
}

/** A fresh n x n matrix holding one triangle of src (the other triangle zero); `trans` reads src^T. */
export function triangle(env: GpuEnv, src: GpuStore, n: number, uplo: 'lower' | 'upper', trans = false, lds = n): GpuStore {
  const out = env.ctx.zeros(n * n * 4);
  block(env, src, out, { rows: n, cols: n, lds, ldd: n, trans, uplo });
  return out;
}

/** x[off + i (ld + 1)] += alpha for i < count. */
export function addDiag(env: GpuEnv, x: GpuStore, count: number, ld: number, alpha: number, off = 0): void {
  if (count === 0) return;
  env.ctx.dispatch(ADD_DIAG, { bindings: [x], uniforms: { count, off, ld, alpha }, workgroups: grid(ADD_DIAG, count) });
}

/**
 * ±1 per column (`cols`) or per row (`rows`) of a row-major rows x cols matrix: the sign of its
 * largest-magnitude entry (first on ties; +1 for a zero vector). The svd_flip convention.
 */
export function signs(env: GpuEnv, x: GpuStore, rows: number, cols: number, along: 'cols' | 'rows'): GpuStore {
  const count = along === 'cols' ? cols : rows;
  const out = env.ctx.alloc(count * 4);
  env.ctx.dispatch(along === 'cols' ? COL_SIGN : ROW_SIGN, { bindings: [x, out], uniforms: { rows, cols }, workgroups: count });
  return out;
}

/** In place: x[i][k] *= f[k] (`cols`) or x[i][k] *= f[i] (`rows`). */
export function scaleBy(env: GpuEnv, x: GpuStore, f: GpuStore, rows: number, cols: number, along: 'cols' | 'rows'): void {
  const n = rows * cols;
  if (n === 0) return;
  env.ctx.dispatch(SCALE, {
    bindings: [f, x],
    uniforms: { rows, cols, by_rows: along === 'rows' ? 1 : 0 },
    workgroups: grid(SCALE, n),
  });
}

/** out (rows x K) with out[i][k] = f[k] src[perm[k]][i] (src rows have stride lds). */
export function gatherT(env: GpuEnv, src: GpuStore, lds: number, perm: GpuStore, f: GpuStore, rows: number, K: number): GpuStore {
  const out = env.ctx.alloc(rows * K * 4);
  const tilesK = ceilDiv(K, 16);
  env.ctx.dispatch(GATHER_T, {
    bindings: [src, perm, f, out],
    uniforms: { rows, kcols: K, lds, tiles_k: tilesK },
    workgroups: tilesK * ceilDiv(rows, 16),
  });
  return out;
}

/** Uploads a small host vector (f32). */
export function upF32(env: GpuEnv, v: ArrayLike<number>): GpuStore {
  return env.ctx.upload(Float32Array.from(v));
}

/** Uploads a small host vector (u32). */
export function upU32(env: GpuEnv, v: ArrayLike<number>): GpuStore {
  return env.ctx.upload(Uint32Array.from(v));
}

/** Releases every store given (null entries ignored). */
export function release(env: GpuEnv, ...s: (GpuStore | null | undefined)[]): void {
  for (const x of s) if (x) env.ctx.release(x);
}
