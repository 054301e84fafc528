/**
 * Segmented least-squares kernels for matrix completion (wgsl/completion_*.wgsl): per-segment Gram
 * matrices (exact, CountSketched or diagonal; one workgroup per segment), batched k x k Cholesky
 * factorizations and solves (one invocation per segment) and per-segment preconditioned CG (one
 * workgroup per segment). A segment is a row of S (CSR) or a column (CSC, values through perm). No
 * float atomics: every output element has one writer.
 */
import type { DenseRef, SegmentSketch, SparseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { ceilDiv, store, type GpuEnv, type GpuStructure } from '../env.js';
import { specialize, type ProgramDesc } from '../program.js';

const GRAM_BASE = {
  file: 'completion_gram.wgsl',
  // ptr, idx, order, F, out
  bindings: ['read', 'read', 'read', 'read', 'rw'],
  uniforms: [['segs', 'u32'], ['k', 'u32'], ['srows', 'u32'], ['ch', 'u32']],
} as const;
const SEG_GRAM: ProgramDesc = { ...GRAM_BASE, name: 'seg_gram', entry: 'seg_gram' };
const SEG_DIAG: ProgramDesc = { ...GRAM_BASE, name: 'seg_diag', entry: 'seg_diag' };

const CHOL_UNIFORMS = [['segs', 'u32'], ['k', 'u32'], ['has_ridge', 'u32'], ['inverse', 'u32'], ['fallback', 'f32']] as const;
const CHOL_BATCH: ProgramDesc = {
  name: 'chol_batch',
  file: 'completion_chol.wgsl',
  entry: 'chol_batch',
  // G, ridge, L, status
  bindings: ['read', 'read', 'rw', 'rw'],
  uniforms: CHOL_UNIFORMS,
};
const CHOL_SOLVE: ProgramDesc = {
  name: 'chol_solve',
  file: 'completion_chol.wgsl',
  entry: 'chol_solve',
  // L, H, X
  bindings: ['read', 'read', 'rw'],
  uniforms: CHOL_UNIFORMS,
};
const SEG_CG: ProgramDesc = {
  name: 'seg_cg',
  file: 'completion_cg.wgsl',
  entry: 'seg_cg',
  // ptr, idx, vals, perm, F, X0, P, X, ridge
  bindings: ['read', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'read'],
  uniforms: [['segs', 'u32'], ['k', 'u32'], ['pw', 'u32'], ['steps', 'u32'], ['has_ridge', 'u32']],
};

/** Largest k of the staged Gram tile (2048 floats) and of the CG kernel's workgroup vectors. */
const GRAM_MAX_K = 2048;
const CG_MAX_K = 256;

function orientation(s: SparseRef, transS: boolean): { g: GpuStructure; segs: number; ptr: GpuStore; idx: GpuStore } {
  const g = s._structStore.store as GpuStructure;
  const st = s._structure;
  return transS
    ? { g, segs: st.cols, ptr: g.colPtr, idx: g.rowIdx }
    : { g, segs: st.rows, ptr: g.rowPtr, idx: g.colIdx };
}

function sketchStore(env: GpuEnv, g: GpuStructure, sk: SegmentSketch): GpuStore {
  const cache = (g.derived ??= new Map());
  let hit = cache.get(sk.key);
  if (!hit) {
    hit = { store: env.ctx.upload(sk.order.length ? sk.order : new Int32Array(1)), count: sk.order.length };
    cache.set(sk.key, hit);
  }
  return hit.store as GpuStore;
}

export async function segmentGram(env: GpuEnv, s: SparseRef, f: DenseRef, transS: boolean, mode: 'full' | 'diag', sketch: SegmentSketch | null): Promise<GpuStore> {
  const k = f.cols;
  if (mode === 'full' && k > GRAM_MAX_K) throw new RangeError(`segmentGram: k = ${k} exceeds the WebGPU kernel's limit ${GRAM_MAX_K}`);
  const { g, segs, ptr, idx } = orientation(s, transS);
  const width = mode === 'diag' ? k : k * k;
  const out = env.ctx.alloc(Math.max(segs * width, 1) * 4);
  const order = sketch ? sketchStore(env, g, sketch) : g.perm; // g.perm: not read without SKETCH
  const desc = mode === 'diag' ? SEG_DIAG : specialize(SEG_GRAM, { SKETCH: sketch ? 1 : 0 });
  env.ctx.dispatch(desc, {
    bindings: [ptr, idx, order, store(f), out],
    uniforms: { segs, k, srows: sketch ? sketch.rows : 0, ch: Math.max(1, Math.floor(2048 / k)) },
    workgroups: segs,
  });
  return out;
}

export async function choleskyBatch(env: GpuEnv, gm: DenseRef, k: number, ridge: Float64Array | null, fallback: number, inverse: boolean): Promise<{ L: GpuStore; status: GpuStore }> {
  const segs = gm.rows;
  const L = env.ctx.alloc(segs * k * k * 4);
  const status = env.ctx.alloc(segs * 4);
  const r = env.ctx.upload(ridge ? Float32Array.from(ridge) : new Float32Array(1));
  try {
    env.ctx.dispatch(CHOL_BATCH, {
      bindings: [store(gm), r, L, status],
      uniforms: { segs, k, has_ridge: ridge ? 1 : 0, inverse: inverse ? 1 : 0, fallback },
      workgroups: ceilDiv(segs, 64),
    });
  } finally {
    env.ctx.release(r);
  }
  return { L, status };
}

export async function choleskySolveBatch(env: GpuEnv, l: DenseRef, h: DenseRef): Promise<GpuStore> {
  const segs = h.rows, k = h.cols;
  const X = env.ctx.alloc(segs * k * 4);
  env.ctx.dispatch(CHOL_SOLVE, {
    bindings: [store(l), store(h), X],
    uniforms: { segs, k, has_ridge: 0, inverse: 0, fallback: 0 },
    workgroups: ceilDiv(segs, 64),
  });
  return X;
}

export async function segmentCG(env: GpuEnv, s: SparseRef, f: DenseRef, x0: DenseRef, p: DenseRef, transS: boolean, steps: number, ridge: DenseRef | null): Promise<GpuStore> {
  const k = f.cols;
  if (k > CG_MAX_K) throw new RangeError(`segmentCG: k = ${k} exceeds the WebGPU kernel's limit ${CG_MAX_K}`);
  const { g, segs, ptr, idx } = orientation(s, transS);
  const X = env.ctx.alloc(segs * k * 4);
  env.ctx.dispatch(specialize(SEG_CG, { PERM: transS ? 1 : 0 }), {
    bindings: [ptr, idx, s._values as GpuStore, g.perm, store(f), store(x0), store(p), X, ridge ? store(ridge) : store(x0)],
    uniforms: { segs, k, pw: p.cols, steps, has_ridge: ridge ? 1 : 0 },
    workgroups: segs,
  });
  return X;
}
