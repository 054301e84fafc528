/**
 * Per-segment preconditioned CG of the segmented least squares (wgsl/segment_cg.wgsl): one workgroup
 * per segment; see segment_gram.ts.
 */
import type { DenseRef, SparseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { store, type GpuEnv } from '../env.js';
import { specialize } from '../program.js';
import { PROGRAMS as P } from '../programs.js';
import { orientation } from './segment_gram.js';

const { segment_cg: SEG_CG } = P;

/** Largest k of the CG kernel's workgroup vectors. */
const CG_MAX_K = 256;

export async function segmentCG(
  env: GpuEnv,
  s: SparseRef,
  f: DenseRef,
  x0: DenseRef,
  p: DenseRef,
  transS: boolean,
  steps: number,
  ridge: DenseRef | null,
): Promise<GpuStore> {
  const k = f.cols;
  if (k > CG_MAX_K) throw new RangeError(`segmentCG: k = ${k} exceeds the WebGPU kernel's limit ${CG_MAX_K}`);
  const { g, segs, ptr, idx } = orientation(s, transS);
  const X = env.ctx.alloc(segs * k * 4);
  env.ctx.dispatch(specialize(SEG_CG, { PERM: transS ? 1 : 0 }), {
    bindings: [ptr, idx, s._values as GpuStore, g.perm, store(f), store(x0), store(p), X, ridge ? store(ridge) : store(x0)],
    uniforms: { segs, k, pw: p.cols, steps, has_ridge: ridge ? 1 : 0 },
    workgroups: segs,
  });
  return X;
}
