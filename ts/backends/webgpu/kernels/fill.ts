/** eye, constant fills and the Philox random fills (wgsl/fill.wgsl, wgsl/philox.wgsl). */
import type { GpuStore } from '../context.js';
import { ceilDiv, type GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { PROGRAMS as P } from '../programs.js';

const { eye: EYE, full: FULL, random: RANDOM } = P;

export function eye(env: GpuEnv, rows: number, cols: number): GpuStore {
  const out = env.ctx.zeros(rows * cols * 4);
  const d = Math.min(rows, cols);
  env.ctx.dispatch(EYE, { bindings: [out], uniforms: { rows, cols }, workgroups: grid(EYE, d) });
  return out;
}

/** Every entry equal to `value` (rounded to f32). */
export function full(env: GpuEnv, n: number, value: number): GpuStore {
  if (value === 0) return env.ctx.zeros(n * 4);
  const out = env.ctx.alloc(n * 4);
  env.ctx.dispatch(FULL, { bindings: [out], uniforms: { n, value }, workgroups: grid(FULL, n) });
  return out;
}

/**
 * The uniforms of a Philox stream position (wgsl/philox.wgsl): key words k0, k1, the stream, the 64-bit
 * block index floor(offset / 4) as u32 words b0_lo, b0_hi (exact in doubles), and r = offset mod 4.
 */
export function philoxUniforms(
  seed: number,
  stream: number,
  offset: number,
): Record<'k0' | 'k1' | 'stream' | 'b0_lo' | 'b0_hi' | 'r', number> {
  const b0 = Math.floor(offset / 4);
  return {
    k0: seed % 2 ** 32,
    k1: Math.floor(seed / 2 ** 32),
    stream,
    b0_lo: b0 % 2 ** 32,
    b0_hi: Math.floor(b0 / 2 ** 32),
    r: offset - 4 * b0,
  };
}

/**
 * Entries 0..n-1 = elements offset..offset+n-1 of the Philox stream (offset < 2^53). The 64-bit block
 * index is split into u32 words here (exact in doubles) and advanced with a carry in the shader.
 */
export function random(env: GpuEnv, n: number, dist: 'uniform' | 'normal', seed: number, stream: number, offset = 0): GpuStore {
  const out = env.ctx.alloc(n * 4);
  const pos = philoxUniforms(seed, stream, offset);
  const blocks = ceilDiv(n + pos.r, 4);
  env.ctx.dispatch(RANDOM, {
    bindings: [out],
    uniforms: { n, normal: dist === 'normal' ? 1 : 0, ...pos },
    workgroups: grid(RANDOM, blocks),
  });
  return out;
}
