/**
 * eigh and SVD on WebGPU. PLACEHOLDER: runs on the host through the native addon for every size.
 * To be replaced by QR-first SVD (large data on the device) and device Jacobi for large n.
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { hostRef, toHost, type GpuEnv } from '../env.js';

export async function eigh(env: GpuEnv, a: DenseRef): Promise<{ values: Float64Array; vectors: GpuStore }> {
  const { values, vectors } = await env.host.eigh(hostRef(await toHost(env, a), a.rows, a.cols));
  return { values, vectors: env.ctx.upload(vectors as Float32Array) };
}

export async function svd(env: GpuEnv, a: DenseRef): Promise<{ U: GpuStore; S: Float64Array; V: GpuStore }> {
  const { U, S, V } = await env.host.svd(hostRef(await toHost(env, a), a.rows, a.cols));
  return { U: env.ctx.upload(U as Float32Array), S, V: env.ctx.upload(V as Float32Array) };
}
