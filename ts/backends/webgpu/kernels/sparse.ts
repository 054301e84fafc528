/** SpMM and SDDMM (wgsl/sparse.wgsl). Reference kernels. */
import type { DenseRef, SparseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { ceilDiv, store, type GpuEnv, type GpuStructure } from '../env.js';
import type { ProgramDesc } from '../program.js';

const base = {
  file: 'sparse.wgsl',
  bindings: ['read', 'read', 'read', 'read', 'read', 'rw'],
  uniforms: [['rows', 'u32'], ['p', 'u32'], ['k', 'u32'], ['use_perm', 'u32']],
} as const;
const SPMM: ProgramDesc = { ...base, name: 'spmm', entry: 'spmm' };
const SDDMM: ProgramDesc = { ...base, name: 'sddmm', entry: 'sddmm' };

export async function spmm(env: GpuEnv, s: SparseRef, b: DenseRef, transS: boolean): Promise<GpuStore> {
  const g = s._structStore.store as GpuStructure;
  const st = s._structure;
  const rows = transS ? st.cols : st.rows;
  const p = b.cols;
  const out = env.ctx.alloc(rows * p * 4);
  const max = env.ctx.limits.maxComputeWorkgroupsPerDimension;
  const gy = Math.min(rows, max), gz = ceilDiv(rows, gy);
  env.ctx.dispatch(SPMM, {
    bindings: transS
      ? [g.colPtr, g.rowIdx, s._values as GpuStore, g.perm, store(b), out]
      : [g.rowPtr, g.colIdx, s._values as GpuStore, g.perm, store(b), out],
    uniforms: { rows, p, k: 0, use_perm: transS ? 1 : 0 },
    workgroups: [ceilDiv(p, 64), gy, gz],
  });
  return out;
}

export async function sddmm(env: GpuEnv, s: SparseRef, u: DenseRef, v: DenseRef): Promise<GpuStore> {
  const g = s._structStore.store as GpuStructure;
  const st = s._structure;
  const out = env.ctx.alloc(Math.max(st.nnz, 1) * 4);
  env.ctx.dispatch(SDDMM, {
    bindings: [g.rowPtr, g.colIdx, store(u), g.perm, store(v), out],
    uniforms: { rows: st.rows, p: 0, k: u.cols, use_perm: 0 },
    workgroups: ceilDiv(st.nnz, 256),
  });
  return out;
}
