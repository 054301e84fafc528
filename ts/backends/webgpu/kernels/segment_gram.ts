/**
 * Segmented least squares for matrix completion, part 1 (wgsl/segment_gram.wgsl): per-segment Gram
 * matrices (exact, CountSketched or diagonal; one workgroup per segment). The other parts:
 * cholesky_batch.ts (batched k x k Cholesky factorizations and solves, one invocation per segment) and
 * segment_cg.ts (per-segment preconditioned CG, one workgroup per segment). A segment is a row of S
 * (CSR) or a column (CSC, values through perm). No float atomics: every output element has one writer.
 */
import type { DenseRef, SegmentSketch, SparseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { store, type GpuEnv, type GpuStructure } from '../env.js';
import { specialize } from '../program.js';
import { PROGRAMS as P } from '../programs.js';

const { segment_gram: SEG_GRAM, segment_diag: SEG_DIAG } = P;
/** Largest k of the staged Gram tile (2048 floats). */
const GRAM_MAX_K = 2048;

/** The segments of S (its rows, or its columns when transS) on the device. */
export function orientation(s: SparseRef, transS: boolean): { g: GpuStructure; segs: number; ptr: GpuStore; idx: GpuStore } {
  const g = s._structStore.store as GpuStructure;
  const st = s._structure;
  return transS ? { g, segs: st.cols, ptr: g.colPtr, idx: g.rowIdx } : { g, segs: st.rows, ptr: g.rowPtr, idx: g.colIdx };
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

export async function segmentGram(
  env: GpuEnv,
  s: SparseRef,
  f: DenseRef,
  transS: boolean,
  mode: 'full' | 'diag',
  sketch: SegmentSketch | null,
): Promise<GpuStore> {
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
