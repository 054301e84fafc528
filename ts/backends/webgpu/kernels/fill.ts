/** eye, constant fills and the Philox random fills (wgsl/fill.wgsl, wgsl/philox.wgsl). */
import type { GpuStore } from '../context.js';
import { ceilDiv, type GpuEnv } from '../env.js';
import type { ProgramDesc } from '../program.js';

const EYE: ProgramDesc = {
  name: 'eye',
  file: 'fill.wgsl',
  entry: 'eye',
  bindings: ['rw'],
  uniforms: [['rows', 'u32'], ['cols', 'u32']],
};

const FULL: ProgramDesc = {
  name: 'full',
  file: 'fill.wgsl',
  entry: 'full',
  bindings: ['rw'],
  uniforms: [['n', 'u32'], ['value', 'f32']],
};

const RANDOM: ProgramDesc = {
  name: 'random',
  file: 'fill.wgsl',
  entry: 'random',
  bindings: ['rw'],
  uniforms: [
    ['n', 'u32'], ['k0', 'u32'], ['k1', 'u32'], ['stream', 'u32'], ['normal', 'u32'],
    ['b0_lo', 'u32'], ['b0_hi', 'u32'], ['r', 'u32'],
  ],
};

export function eye(env: GpuEnv, rows: number, cols: number): GpuStore {
  const out = env.ctx.zeros(rows * cols * 4);
  const d = Math.min(rows, cols);
  env.ctx.dispatch(EYE, { bindings: [out], uniforms: { rows, cols }, workgroups: ceilDiv(d, 256) });
  return out;
}

/** Every entry equal to `value` (rounded to f32). */
export function full(env: GpuEnv, n: number, value: number): GpuStore {
  if (value === 0) return env.ctx.zeros(n * 4);
  const out = env.ctx.alloc(n * 4);
  env.ctx.dispatch(FULL, { bindings: [out], uniforms: { n, value }, workgroups: ceilDiv(n, 256) });
  return out;
}

/**
 * Entries 0..n-1 = elements offset..offset+n-1 of the Philox stream (offset < 2^53). The 64-bit block
 * index is split into u32 words here (exact in doubles) and advanced with a carry in the shader.
 */
export function random(env: GpuEnv, n: number, dist: 'uniform' | 'normal', seed: number, stream: number, offset = 0): GpuStore {
  const out = env.ctx.alloc(n * 4);
  const b0 = Math.floor(offset / 4), r = offset - 4 * b0;
  const blocks = ceilDiv(n + r, 4);
  env.ctx.dispatch(RANDOM, {
    bindings: [out],
    uniforms: {
      n, k0: seed % 2 ** 32, k1: Math.floor(seed / 2 ** 32), stream, normal: dist === 'normal' ? 1 : 0,
      b0_lo: b0 % 2 ** 32, b0_hi: Math.floor(b0 / 2 ** 32), r,
    },
    workgroups: ceilDiv(blocks, 256),
  });
  return out;
}
