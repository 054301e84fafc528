/** What a WebGPU kernel function gets: the device runtime and the native host for small factorizations. */
import type { DenseRef } from '../../backend.js';
import type { NativeBackend } from '../native/index.js';
import type { GpuContext, GpuStore } from './context.js';

export interface GpuEnv {
  ctx: GpuContext;
  /** f32 native backend for small dense factorizations on the host (both sides <= HOST_MAX). */
  host: NativeBackend;
}

/** Device copy of a sparse structure (see ts/sparse/csr.ts). */
export interface GpuStructure {
  rowPtr: GpuStore;
  colIdx: GpuStore;
  colPtr: GpuStore;
  rowIdx: GpuStore;
  perm: GpuStore;
  /**
   * Arrays derived from the structure on first use by the sparse kernels (row of each CSR entry,
   * lists of long rows), keyed by purpose; released with the structure.
   */
  derived?: Map<string, { store: GpuStore | null; count: number }>;
}

/** Largest side of a dense factorization that may run on the host. */
export const HOST_MAX = 512;

export function store(r: DenseRef): GpuStore {
  return r._store as GpuStore;
}

/** Explicit device-to-host copy of a dense matrix (used only for small host factorizations). */
export async function toHost(env: GpuEnv, r: DenseRef): Promise<Float32Array> {
  return new Float32Array(await env.ctx.read(store(r).buffer, 0, r.rows * r.cols * 4));
}

/** A host-side view usable with the native backend. */
export function hostRef(data: Float32Array, rows: number, cols: number): DenseRef {
  return { _store: data, rows, cols };
}

/** Integer division rounding up. */
export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}
