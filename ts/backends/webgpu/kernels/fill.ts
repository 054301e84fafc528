/** eye and the Philox random fills (wgsl/fill.wgsl, wgsl/philox.wgsl). */
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

const RANDOM: ProgramDesc = {
  name: 'random',
  file: 'fill.wgsl',
  entry: 'random',
  bindings: ['rw'],
  uniforms: [['n', 'u32'], ['k0', 'u32'], ['k1', 'u32'], ['stream', 'u32'], ['normal', 'u32']],
};

export function eye(env: GpuEnv, rows: number, cols: number): GpuStore {
  const out = env.ctx.zeros(rows * cols * 4);
  const d = Math.min(rows, cols);
  env.ctx.dispatch(EYE, { bindings: [out], uniforms: { rows, cols }, workgroups: ceilDiv(d, 256) });
  return out;
}

export function random(env: GpuEnv, n: number, dist: 'uniform' | 'normal', seed: number, stream: number): GpuStore {
  const out = env.ctx.alloc(n * 4);
  const blocks = ceilDiv(n, 4);
  env.ctx.dispatch(RANDOM, {
    bindings: [out],
    uniforms: { n, k0: seed % 2 ** 32, k1: Math.floor(seed / 2 ** 32), stream, normal: dist === 'normal' ? 1 : 0 },
    workgroups: ceilDiv(blocks, 256),
  });
  return out;
}
