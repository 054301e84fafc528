/**
 * Batched k x k Cholesky factorizations and solves of the segmented least squares
 * (wgsl/cholesky_batch.wgsl): one invocation per segment; see segment_gram.ts.
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { store, type GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { PROGRAMS as P } from '../programs.js';

const { cholesky_batch: CHOL_BATCH, cholesky_solve_batch: CHOL_SOLVE } = P;

export async function choleskyBatch(
  env: GpuEnv,
  gm: DenseRef,
  k: number,
  ridge: Float64Array | null,
  fallback: number,
  inverse: boolean,
): Promise<{ L: GpuStore; status: GpuStore }> {
  const segs = gm.rows;
  const L = env.ctx.alloc(segs * k * k * 4);
  const status = env.ctx.alloc(segs * 4);
  const r = env.ctx.upload(ridge ? Float32Array.from(ridge) : new Float32Array(1));
  try {
    env.ctx.dispatch(CHOL_BATCH, {
      bindings: [store(gm), r, L, status],
      uniforms: { segs, k, has_ridge: ridge ? 1 : 0, inverse: inverse ? 1 : 0, fallback },
      workgroups: grid(CHOL_BATCH, segs),
    });
  } finally {
    env.ctx.release(r);
  }
  return { L, status };
}

export async function choleskySolveBatch(env: GpuEnv, l: DenseRef, h: DenseRef): Promise<GpuStore> {
  const segs = h.rows,
    k = h.cols;
  const X = env.ctx.alloc(segs * k * 4);
  env.ctx.dispatch(CHOL_SOLVE, {
    bindings: [store(l), store(h), X],
    uniforms: { segs, k, has_ridge: 0, inverse: 0, fallback: 0 },
    workgroups: grid(CHOL_SOLVE, segs),
  });
  return X;
}
