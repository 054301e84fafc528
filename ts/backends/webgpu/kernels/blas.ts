/**
 * GEMM on sub-matrix views for the factorization kernels: C = alpha op(A) op(B) + beta C where A, B
 * and C are blocks (element offset + row stride) of larger stores. A thin adaptor over `gemmInto`
 * (gemm.ts), so every flop of the blocked factorizations runs in the shared GEMM kernel, in place.
 */
import type { GpuStore } from '../context.js';
import type { GpuEnv } from '../env.js';
import { gemmInto } from './gemm.js';

/** A block of a row-major store: element (i, j) at off + i * ld + j. */
export interface View {
  s: GpuStore;
  off?: number;
  ld: number;
}

/** The whole-matrix view of a store with `cols` columns. */
export function whole(s: GpuStore, cols: number): View {
  return { s, off: 0, ld: cols };
}

/**
 * op(A) is m x k, op(B) is k x n, C is m x n. The stored A is m x k (or k x m with transA), B k x n
 * (or n x k with transB). Without `c`, C is a new m x n store (returned). A or B may lie in C's
 * buffer when they do not overlap the C block.
 */
export function gemmView(
  env: GpuEnv,
  m: number,
  n: number,
  k: number,
  a: View,
  transA: boolean,
  b: View,
  transB: boolean,
  alpha: number,
  c?: View,
  beta = 0,
): GpuStore | null {
  const A = { store: a.s, offset: a.off ?? 0, ld: a.ld, trans: transA };
  const B = { store: b.s, offset: b.off ?? 0, ld: b.ld, trans: transB };
  if (!c) {
    const out = env.ctx.alloc(m * n * 4);
    gemmInto(env, m, n, k, A, B, { store: out, ld: n }, { alpha, beta: 0 });
    return out;
  }
  gemmInto(env, m, n, k, A, B, { store: c.s, offset: c.off ?? 0, ld: c.ld }, { alpha, beta });
  return null;
}
