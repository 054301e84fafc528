/** Element-wise kernels and transpose (wgsl/ewise.wgsl, wgsl/transpose.wgsl). */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { ceilDiv, store, type GpuEnv } from '../env.js';
import type { ProgramDesc } from '../program.js';

const base = { file: 'ewise.wgsl', bindings: ['read', 'read', 'rw'], uniforms: [['n', 'u32'], ['alpha', 'f32'], ['beta', 'f32']] } as const;
const AXPBY: ProgramDesc = { ...base, name: 'axpby', entry: 'axpby' };
const SCALE: ProgramDesc = { ...base, name: 'scale', entry: 'scale' };
const HADAMARD: ProgramDesc = { ...base, name: 'hadamard', entry: 'hadamard' };
const TRANSPOSE: ProgramDesc = {
  name: 'transpose',
  file: 'transpose.wgsl',
  entry: 'main',
  bindings: ['read', 'rw'],
  uniforms: [['rows', 'u32'], ['cols', 'u32']],
};

export function axpby(env: GpuEnv, alpha: number, a: DenseRef, beta: number, b: DenseRef | null): GpuStore {
  const n = a.rows * a.cols;
  const out = env.ctx.alloc(n * 4);
  const x = store(a);
  env.ctx.dispatch(b ? AXPBY : SCALE, {
    bindings: [x, b ? store(b) : x, out],
    uniforms: { n, alpha, beta },
    workgroups: ceilDiv(n, 256),
  });
  return out;
}

export function hadamard(env: GpuEnv, a: DenseRef, b: DenseRef): GpuStore {
  const n = a.rows * a.cols;
  const out = env.ctx.alloc(n * 4);
  env.ctx.dispatch(HADAMARD, { bindings: [store(a), store(b), out], uniforms: { n, alpha: 1, beta: 0 }, workgroups: ceilDiv(n, 256) });
  return out;
}

export function transpose(env: GpuEnv, a: DenseRef): GpuStore {
  const out = env.ctx.alloc(a.rows * a.cols * 4);
  env.ctx.dispatch(TRANSPOSE, {
    bindings: [store(a), out],
    uniforms: { rows: a.rows, cols: a.cols },
    // linear tile count: the runtime folds it under maxComputeWorkgroupsPerDimension
    workgroups: ceilDiv(a.cols, 16) * ceilDiv(a.rows, 16),
  });
  return out;
}
