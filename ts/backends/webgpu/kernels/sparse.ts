/**
 * SpMM and SDDMM (wgsl/sparse.wgsl, wgsl/sparse_sddmm.wgsl). No float atomics: every output element
 * has exactly one writer.
 *
 * SpMM picks per call between one invocation per (row, output column) — or per (row, 4 columns) when
 * p % 4 == 0 — and one workgroup per row. Long rows (much longer than the mean) go to the workgroup
 * kernel so that one skewed row does not serialize the invocations around it; when the (row, column)
 * grid is too small to fill the device and rows are long, every row does. The row lists are built on
 * the host from the structure's pointers once per structure, orientation and threshold, and cached
 * with the structure.
 *
 * SDDMM runs one invocation per entry for small k and G cooperating invocations per entry (strided
 * partial dots, tree reduction in workgroup memory) for large k. The row of each entry comes from an
 * explicit per-entry array built once per structure: on lavapipe it beat a binary search over the
 * row pointers (log2(rows) dependent loads per entry) by ~25% at k = 16.
 *
 * Thresholds come in two profiles. On a software adapter (lavapipe/llvmpipe: every workgroup runs on one
 * CPU thread, 8 lanes at a time, and each workgroupBarrier() is a coroutine switch) the barrier kernels
 * never won in our measurements: the cooperative SDDMM was ~12x slower than one invocation per entry at
 * k = 16, and the workgroup-per-row SpMM was 3-15x slower than the (row, column) kernel even for a single
 * row of 2M entries. So the software profile never uses them. The hardware profile (workgroup per long
 * row, cooperative dots for k >= 32) follows the usual GPU reasoning (warp divergence on skewed rows,
 * coalesced reads of U and V rows) and has not been measured on a GPU yet.
 */
import type { DenseRef, SparseRef } from '../../../backend.js';
import { csrRowOf } from '../../../sparse/csr.js';
import type { GpuStore } from '../context.js';
import { store, type GpuEnv, type GpuStructure } from '../env.js';
import { grid, specialize } from '../program.js';
import { PROGRAMS as P } from '../programs.js';

const {
  spmm_rc: SPMM_RC,
  spmm_rc4: SPMM_RC4,
  spmm_long: SPMM_LONG,
  sddmm_entry: SDDMM_ENTRY,
  sddmm_entry4: SDDMM_ENTRY4,
  sddmm_coop: SDDMM_COOP,
} = P;

/** Kernel-choice thresholds. */
export interface SparseThresholds {
  /** A row is "long" (workgroup kernel) when it has more than max(longMin, longFactor * mean) entries. */
  longMin: number;
  longFactor: number;
  /**
   * When rows * (p, or p / 4) < smallGrid and the mean row length is at least smallGridMean, every
   * non-empty row goes to the workgroup kernel (too few (row, column) invocations to fill the device).
   */
  smallGrid: number;
  smallGridMean: number;
  /** SDDMM uses the cooperative kernel for k >= coopK. */
  coopK: number;
}

/**
 * @internal Thresholds per adapter kind; `force` (tests, benchmarks) overrides fields of whichever
 * profile applies.
 */
export const sparseTuning: { hardware: SparseThresholds; software: SparseThresholds; force: Partial<SparseThresholds> } = {
  hardware: { longMin: 256, longFactor: 8, smallGrid: 8192, smallGridMean: 16, coopK: 32 },
  software: { longMin: Infinity, longFactor: 8, smallGrid: 0, smallGridMean: Infinity, coopK: Infinity },
  force: {},
};

/** A CPU implementation of WebGPU (lavapipe / llvmpipe, SwiftShader). */
function isSoftware(env: GpuEnv): boolean {
  const i = env.ctx.bundle.info;
  return i.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${i.device} ${i.description}`);
}

function thresholds(env: GpuEnv): SparseThresholds {
  return { ...(isSoftware(env) ? sparseTuning.software : sparseTuning.hardware), ...sparseTuning.force };
}

function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

function derived(g: GpuStructure): NonNullable<GpuStructure['derived']> {
  return (g.derived ??= new Map());
}

/** Rows of (ptr, rows) with more than longLen entries, as a device list (cached on the structure). */
function longRowList(
  env: GpuEnv,
  g: GpuStructure,
  key: string,
  ptr: Int32Array,
  rows: number,
  longLen: number,
): { store: GpuStore | null; count: number } {
  if (longLen >= ptr[rows]) return { store: null, count: 0 }; // no row can be longer
  const cache = derived(g);
  const name = `long:${key}:${longLen}`;
  let hit = cache.get(name);
  if (!hit) {
    let count = 0;
    for (let r = 0; r < rows; r++) if (ptr[r + 1] - ptr[r] > longLen) count++;
    let list: GpuStore | null = null;
    if (count > 0) {
      const a = new Uint32Array(count);
      let n = 0;
      for (let r = 0; r < rows; r++) if (ptr[r + 1] - ptr[r] > longLen) a[n++] = r;
      list = env.ctx.upload(a);
    }
    hit = { store: list, count };
    cache.set(name, hit);
  }
  return hit;
}

export async function spmm(env: GpuEnv, s: SparseRef, b: DenseRef, transS: boolean): Promise<GpuStore> {
  const g = s._structStore.store as GpuStructure;
  const st = s._structure;
  const rows = transS ? st.cols : st.rows;
  const ptr = transS ? st.colPtr : st.rowPtr;
  const p = b.cols;
  const vec = p % 4 === 0;
  const pw = vec ? p / 4 : p;
  const out = env.ctx.alloc(rows * p * 4);

  const t = thresholds(env);
  const mean = st.nnz / rows;
  const longLen = Math.min(
    rows * pw < t.smallGrid && mean >= t.smallGridMean ? 0 : Math.max(t.longMin, Math.ceil(t.longFactor * mean)),
    0xffffffff,
  );
  const long = longRowList(env, g, transS ? 'csc' : 'csr', ptr, rows, longLen);

  const bindings = [
    transS ? g.colPtr : g.rowPtr,
    transS ? g.rowIdx : g.colIdx,
    s._values as GpuStore,
    g.perm,
    store(b),
    out,
    long.store ?? g.perm, // not read when there are no long rows
  ];
  const constants = { PERM: transS ? 1 : 0 };
  env.ctx.dispatch(specialize(vec ? SPMM_RC4 : SPMM_RC, constants), {
    bindings,
    uniforms: { rows, pw, long_len: longLen, nlong: long.count },
    workgroups: grid(vec ? SPMM_RC4 : SPMM_RC, rows * pw),
  });
  if (long.count > 0) {
    env.ctx.dispatch(specialize(SPMM_LONG, { ...constants, TX: Math.min(nextPow2(p), 32) }), {
      bindings,
      uniforms: { rows, pw: p, long_len: longLen, nlong: long.count },
      workgroups: long.count,
    });
  }
  return out;
}

export async function sddmm(env: GpuEnv, s: SparseRef, u: DenseRef, v: DenseRef): Promise<GpuStore> {
  const g = s._structStore.store as GpuStructure;
  const st = s._structure;
  const nnz = st.nnz;
  const out = env.ctx.alloc(Math.max(nnz, 1) * 4);
  if (nnz === 0) return out;
  const cache = derived(g);
  let rowOf = cache.get('rowOf');
  if (!rowOf) {
    rowOf = { store: env.ctx.upload(csrRowOf(st)), count: nnz };
    cache.set('rowOf', rowOf);
  }
  const k = u.cols;
  const bindings = [rowOf.store as GpuStore, g.colIdx, store(u), store(v), out];
  if (k >= thresholds(env).coopK) {
    // G lanes per entry, each summing about k / G products (at least 2).
    const G = Math.min(32, nextPow2(Math.ceil(k / 2)));
    env.ctx.dispatch(specialize(SDDMM_COOP, { G }), {
      bindings,
      uniforms: { nnz, kw: k },
      workgroups: grid(SDDMM_COOP, nnz * G),
    });
  } else {
    const vec = k % 4 === 0;
    env.ctx.dispatch(vec ? SDDMM_ENTRY4 : SDDMM_ENTRY, {
      bindings,
      uniforms: { nnz, kw: vec ? k / 4 : k },
      workgroups: grid(vec ? SDDMM_ENTRY4 : SDDMM_ENTRY, nnz),
    });
  }
  return out;
}
