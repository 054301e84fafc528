/** Matrix-free Gaussian measurements and the element-wise sign (wgsl/gaussian_apply.wgsl). */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { ceilDiv, store, type GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { philoxUniforms } from './fill.js';
import { PROGRAMS as P } from '../programs.js';

const { gaussian_apply: APPLY, gaussian_adjoint_partial: ADJ_PART, gaussian_adjoint_sum: ADJ_SUM, sign: SIGN } = P;

function streamUniforms(n: number, m: number, seed: number, stream: number, offset: number, chunk: number): Record<string, number> {
  return { n, m, ...philoxUniforms(seed, stream, offset), chunk };
}

/** y (m x 1) = A vec(x), A[i, e] = normal stream element offset + i N + e (N = entries of x). */
export function gaussianApply(env: GpuEnv, x: DenseRef, m: number, seed: number, stream: number, offset: number): GpuStore {
  const n = x.rows * x.cols;
  const out = env.ctx.alloc(m * 4);
  env.ctx.dispatch(APPLY, { bindings: [store(x), out], uniforms: streamUniforms(n, m, seed, stream, offset, 0), workgroups: m });
  return out;
}

/** z (N entries) = A^T r for r (m entries). Two stages: row chunks of partial sums, then their sum. */
export function gaussianAdjoint(env: GpuEnv, r: DenseRef, n: number, seed: number, stream: number, offset: number): GpuStore {
  const m = r.rows * r.cols;
  const out = env.ctx.alloc(n * 4);
  const colGroups = ceilDiv(n, 1024);
  // Enough row chunks to fill the device when N is small, each long enough to amortize its store.
  const chunks = Math.max(1, Math.min(64, ceilDiv(m, 64), Math.floor(65535 / colGroups) || 1, ceilDiv(256, colGroups)));
  const chunk = ceilDiv(m, chunks);
  const used = ceilDiv(m, chunk);
  if (used === 1) {
    env.ctx.dispatch(ADJ_PART, {
      bindings: [store(r), out],
      uniforms: streamUniforms(n, m, seed, stream, offset, chunk),
      workgroups: [colGroups, 1],
    });
    return out;
  }
  const part = env.ctx.alloc(used * n * 4);
  env.ctx.dispatch(ADJ_PART, {
    bindings: [store(r), part],
    uniforms: streamUniforms(n, m, seed, stream, offset, chunk),
    workgroups: [colGroups, used],
  });
  env.ctx.dispatch(ADJ_SUM, {
    bindings: [part, out],
    uniforms: streamUniforms(n, used, seed, stream, offset, chunk),
    workgroups: grid(ADJ_SUM, n),
  });
  env.ctx.release(part);
  return out;
}

/** Element-wise sign: 1, -1, 0; NaN stays NaN. */
export function sign(env: GpuEnv, a: DenseRef): GpuStore {
  const n = a.rows * a.cols;
  const out = env.ctx.alloc(n * 4);
  env.ctx.dispatch(SIGN, { bindings: [store(a), out], uniforms: { n }, workgroups: grid(SIGN, n) });
  return out;
}
