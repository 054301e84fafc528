/**
 * Factorizations on WebGPU. PLACEHOLDER: runs on the host through the native addon for every size.
 * To be replaced by the WGSL paths (CholeskyQR2 / Householder, blocked Cholesky and TRSM).
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { hostRef, toHost, type GpuEnv } from '../env.js';

const up = (env: GpuEnv, a: unknown): GpuStore => env.ctx.upload(a as Float32Array);

export async function qr(env: GpuEnv, a: DenseRef): Promise<{ Q: GpuStore; R: GpuStore }> {
  const { Q, R } = await env.host.qr(hostRef(await toHost(env, a), a.rows, a.cols));
  return { Q: up(env, Q), R: up(env, R) };
}

export async function cholesky(env: GpuEnv, a: DenseRef): Promise<GpuStore> {
  return up(env, await env.host.cholesky(hostRef(await toHost(env, a), a.rows, a.cols)));
}

export async function solveTriangular(env: GpuEnv, t: DenseRef, b: DenseRef, lower: boolean, trans: boolean): Promise<GpuStore> {
  const X = await env.host.solveTriangular(hostRef(await toHost(env, t), t.rows, t.cols), hostRef(await toHost(env, b), b.rows, b.cols), lower, trans);
  return up(env, X);
}

export async function lstsq(env: GpuEnv, a: DenseRef, b: DenseRef): Promise<{ X: GpuStore; rank: number }> {
  const { X, rank } = await env.host.lstsq(hostRef(await toHost(env, a), a.rows, a.cols), hostRef(await toHost(env, b), b.rows, b.cols));
  return { X: up(env, X), rank };
}
