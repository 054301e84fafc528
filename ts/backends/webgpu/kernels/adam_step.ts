/** The fused Adam moment update (wgsl/adam_step.wgsl). */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { store, type GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { PROGRAMS as P } from '../programs.js';

const { adam_step: ADAM } = P;

/** M = b1 m + (1 - b1) g, V = b2 v + (1 - b2) g^2, N = corr M / (sqrt(V) + eps): three new stores. */
export function adamStep(
  env: GpuEnv,
  m: DenseRef,
  v: DenseRef,
  g: DenseRef,
  beta1: number,
  beta2: number,
  eps: number,
  corr: number,
): { M: GpuStore; V: GpuStore; N: GpuStore } {
  const n = m.rows * m.cols;
  const M = env.ctx.alloc(n * 4),
    V = env.ctx.alloc(n * 4),
    N = env.ctx.alloc(n * 4);
  env.ctx.dispatch(ADAM, {
    bindings: [store(m), store(v), store(g), M, V, N],
    uniforms: { n, beta1, beta2, omb1: 1 - beta1, omb2: 1 - beta2, eps, corr },
    workgroups: grid(ADAM, n),
  });
  return { M, V, N };
}
