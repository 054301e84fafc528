/** Fast Walsh-Hadamard transform of every column (wgsl/fwht.wgsl). */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { store, type GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { PROGRAMS as P } from '../programs.js';

/** Rows per workgroup-memory block (the shader's array size). */
const TILE = 2048;

/** y = H_L x for every column of x (L = rows, a power of two), unnormalised. */
export function fwht(env: GpuEnv, x: DenseRef): GpuStore {
  const L = x.rows,
    b = x.cols;
  const out = env.ctx.alloc(L * b * 4);
  const T = Math.min(L, TILE);
  env.ctx.dispatch(P.fwht_local, { bindings: [store(x), out], uniforms: { L, b, T, h: 0 }, workgroups: (L / T) * b });
  for (let h = T; h < L; h *= 2) {
    env.ctx.dispatch(P.fwht_stage, { bindings: [out], uniforms: { L, b, T, h }, workgroups: grid(P.fwht_stage, (L / 2) * b) });
  }
  return out;
}
