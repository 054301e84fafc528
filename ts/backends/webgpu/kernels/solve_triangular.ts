/**
 * Blocked triangular solve op(T) X = B on the device (wgsl/solve_triangular.wgsl + GEMM).
 *
 * M = op(T) is lower (forward substitution) for (lower, !trans) and (upper, trans), else upper. Two
 * levels: block rows of NB_OUTER = 128 are solved in NB = 32 steps (the diagonal block by `diag`, one
 * workgroup per 64 right-hand sides with the block in workgroup memory, then a GEMM update of the
 * rest of the 128-row block); after each 128-row block, all not-yet-solved rows get
 * X_rest -= M_rest,blk X_blk (k = 128) through the GEMM kernel, in place (`gemmInto`, right-looking).
 * An exactly zero diagonal entry sets a 4-byte flag.
 */
import type { GpuStore } from '../context.js';
import type { GpuEnv } from '../env.js';
import { grid, specialize } from '../program.js';
import { PROGRAMS as P } from '../programs.js';
import { gemmView } from './blas.js';
import { copyOf, release } from './util.js';

const NB = 32;
const NB_OUTER = 128;

const { solve_triangular_diag: DIAG } = P;

/**
 * Encodes X = op(T)^-1 B for the n x n store `t` and the n x nrhs store `b` (not modified). Returns
 * X and the zero-diagonal flag store (u32, not read).
 */
export function encodeTrsm(
  env: GpuEnv,
  t: GpuStore,
  n: number,
  b: GpuStore,
  nrhs: number,
  lower: boolean,
  trans: boolean,
): { X: GpuStore; flag: GpuStore } {
  const ctx = env.ctx;
  const forward = lower !== trans;
  const diag = specialize(DIAG, { FORWARD: forward ? 1 : 0, TRANS: trans ? 1 : 0 });
  const X = copyOf(env, b, n, nrhs);
  const flag = ctx.zeros(4);
  const xv = (r: number) => ({ s: X, off: r * nrhs, ld: nrhs });
  /** X[rows r..r+rows) -= M[r.., c..c+k) X[c..c+k) (M = op(T)). */
  const upd = (r: number, rows: number, c: number, k: number): void => {
    if (rows <= 0) return;
    const mBlk = trans ? { s: t, off: c * n + r, ld: n } : { s: t, off: r * n + c, ld: n };
    gemmView(env, rows, nrhs, k, mBlk, trans, xv(c), false, -1, xv(r), 1);
  };
  const diagAt = (r0: number, bs: number): void =>
    ctx.dispatch(diag, { bindings: [t, X, flag], uniforms: { n, nrhs, r0, bs }, workgroups: grid(diag, nrhs) });
  const outer: number[] = [];
  for (let R0 = 0; R0 < n; R0 += NB_OUTER) outer.push(R0);
  if (forward) {
    for (const R0 of outer) {
      const W = Math.min(NB_OUTER, n - R0);
      for (let r0 = R0; r0 < R0 + W; r0 += NB) {
        const bs = Math.min(NB, R0 + W - r0);
        diagAt(r0, bs);
        upd(r0 + bs, R0 + W - r0 - bs, r0, bs); // the rest of this block row panel
      }
      upd(R0 + W, n - R0 - W, R0, W); // everything below, k = W
    }
  } else {
    for (const R0 of outer.reverse()) {
      const W = Math.min(NB_OUTER, n - R0);
      const inner: number[] = [];
      for (let r0 = R0; r0 < R0 + W; r0 += NB) inner.push(r0);
      for (const r0 of inner.reverse()) {
        const bs = Math.min(NB, R0 + W - r0);
        diagAt(r0, bs);
        upd(R0, r0 - R0, r0, bs);
      }
      upd(0, R0, R0, W); // everything above, k = W
    }
  }
  return { X, flag };
}

/** Device triangular solve with the zero-diagonal flag read back (4 bytes): zeroAt = -1, or the first
 * index i with T_ii = 0 (X is then not usable). */
export async function deviceTrsm(
  env: GpuEnv,
  t: GpuStore,
  n: number,
  b: GpuStore,
  nrhs: number,
  lower: boolean,
  trans: boolean,
): Promise<{ X: GpuStore; zeroAt: number }> {
  const { X, flag } = encodeTrsm(env, t, n, b, nrhs, lower, trans);
  const f = new Uint32Array(await env.ctx.read(flag.buffer, 0, 4))[0];
  release(env, flag);
  return { X, zeroAt: f - 1 };
}
