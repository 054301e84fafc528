/** Element-wise kernels and transpose (wgsl/ewise.wgsl, wgsl/transpose.wgsl). */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { ceilDiv, store, type GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { PROGRAMS as P } from '../programs.js';

const { axpby: AXPBY, ewise_scale: SCALE, hadamard: HADAMARD, transpose: TRANSPOSE } = P;

export function axpby(env: GpuEnv, alpha: number, a: DenseRef, beta: number, b: DenseRef | null): GpuStore {
  const n = a.rows * a.cols;
  const out = env.ctx.alloc(n * 4);
  const x = store(a);
  env.ctx.dispatch(b ? AXPBY : SCALE, {
    bindings: [x, b ? store(b) : x, out],
    uniforms: { n, alpha, beta },
    workgroups: grid(b ? AXPBY : SCALE, n),
  });
  return out;
}

export function hadamard(env: GpuEnv, a: DenseRef, b: DenseRef): GpuStore {
  const n = a.rows * a.cols;
  const out = env.ctx.alloc(n * 4);
  env.ctx.dispatch(HADAMARD, { bindings: [store(a), store(b), out], uniforms: { n, alpha: 1, beta: 0 }, workgroups: grid(HADAMARD, n) });
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
