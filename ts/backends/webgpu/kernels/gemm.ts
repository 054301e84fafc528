/** GEMM (wgsl/gemm.wgsl). */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { ceilDiv, store, type GpuEnv } from '../env.js';
import { specialize, type ProgramDesc } from '../program.js';

const GEMM: ProgramDesc = {
  name: 'gemm',
  file: 'gemm.wgsl',
  entry: 'main',
  bindings: ['read', 'read', 'rw'],
  uniforms: [['m', 'u32'], ['n', 'u32'], ['k', 'u32'], ['lda', 'u32'], ['ldb', 'u32'], ['alpha', 'f32']],
};

export function matmul(env: GpuEnv, a: DenseRef, b: DenseRef, transA: boolean, transB: boolean, alpha: number): GpuStore {
  const m = transA ? a.cols : a.rows, k = transA ? a.rows : a.cols, n = transB ? b.rows : b.cols;
  const out = env.ctx.alloc(m * n * 4);
  env.ctx.dispatch(specialize(GEMM, { TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0 }), {
    bindings: [store(a), store(b), out],
    uniforms: { m, n, k, lda: a.cols, ldb: b.cols, alpha },
    workgroups: [ceilDiv(n, 16), ceilDiv(m, 16)],
  });
  return out;
}
