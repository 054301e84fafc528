/** Group-wise quantize-dequantize (wgsl/fake_quantize.wgsl): one workgroup per group. */
import { FAKE_QUANTIZE_STREAM, type DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { store, type GpuEnv } from '../env.js';
import { PROGRAMS as P } from '../programs.js';

const { fake_quantize: FQ } = P;

/**
 * out = the quantize-dequantize of every groupSize consecutive entries of a (groupSize <= 4096, checked
 * by the engine); stochastic rounding uses element offset + e of the f32 Philox uniform stream.
 */
export function fakeQuantize(
  env: GpuEnv,
  a: DenseRef,
  bits: number,
  groupSize: number,
  stochastic: boolean,
  seed: number,
  offset: number,
): GpuStore {
  const n = a.rows * a.cols;
  const out = env.ctx.alloc(n * 4);
  env.ctx.dispatch(FQ, {
    bindings: [store(a), out],
    uniforms: {
      n,
      gs: groupSize,
      qmax: 2 ** bits - 1,
      stochastic: stochastic ? 1 : 0,
      k0: seed % 2 ** 32,
      k1: Math.floor(seed / 2 ** 32),
      stream: FAKE_QUANTIZE_STREAM,
      off_lo: offset % 2 ** 32,
      off_hi: Math.floor(offset / 2 ** 32),
    },
    workgroups: Math.ceil(n / groupSize),
  });
  return out;
}
