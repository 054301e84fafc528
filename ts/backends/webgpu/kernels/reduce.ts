/**
 * Norms (wgsl/reduce.wgsl): the device produces (scale, ssq) partials, the host merges them in f64.
 * These are explicit reductions to host numbers, so they read back (a few KB at most).
 */
import type { DenseRef } from '../../../backend.js';
import type { NormKind } from '../../../types.js';
import { ceilDiv, store, type GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { PROGRAMS as P } from '../programs.js';

const { norm: TOTAL, col_norms: COLS, row_norms_wide: ROWS_WIDE, row_norms_narrow: ROWS_NARROW } = P;

/**
 * Merges (scale, ssq) pairs in f64: returns [scale, ssq]. A negative ssq marks a partial that saw a
 * NaN (wgsl/ssq.wgsl); the merged result is then [NaN, NaN].
 */
function merge(parts: Float32Array, from: number, count: number, stride: number): [number, number] {
  let scale = 0,
    ssq = 1,
    inf = false;
  for (let i = 0; i < count; i++) {
    const s = parts[2 * (from + i * stride)],
      q = parts[2 * (from + i * stride) + 1];
    if (q < 0 || Number.isNaN(q) || Number.isNaN(s)) return [NaN, NaN];
    if (s === Infinity) inf = true;
    if (inf || s === 0) continue;
    if (scale < s) {
      const r = scale / s;
      ssq = q + ssq * r * r;
      scale = s;
    } else {
      const r = s / scale;
      ssq += q * r * r;
    }
  }
  return inf ? [Infinity, 1] : [scale, ssq];
}

export async function norm(env: GpuEnv, a: DenseRef, kind: NormKind): Promise<number> {
  const n = a.rows * a.cols;
  const groups = Math.min(ceilDiv(n, 1024), 512);
  const part = env.ctx.alloc(groups * 8);
  try {
    env.ctx.dispatch(TOTAL, { bindings: [store(a), part], uniforms: { rows: a.rows, cols: a.cols, chunk: 0 }, workgroups: [groups] });
    const p = new Float32Array(await env.ctx.read(part.buffer, 0, groups * 8));
    const [scale, ssq] = merge(p, 0, groups, 1);
    return kind === 'max' ? scale : scale * Math.sqrt(ssq);
  } finally {
    env.ctx.release(part);
  }
}

export async function axisNorms(env: GpuEnv, a: DenseRef, axis: 'rows' | 'cols'): Promise<Float64Array> {
  const { rows, cols } = a;
  if (axis === 'cols') {
    const chunks = Math.min(64, Math.max(1, ceilDiv(rows, 64)));
    const chunk = ceilDiv(rows, chunks);
    const part = env.ctx.alloc(chunks * cols * 8);
    try {
      env.ctx.dispatch(COLS, { bindings: [store(a), part], uniforms: { rows, cols, chunk }, workgroups: [grid(COLS, cols), chunks] });
      const p = new Float32Array(await env.ctx.read(part.buffer, 0, chunks * cols * 8));
      const out = new Float64Array(cols);
      for (let c = 0; c < cols; c++) {
        const [s, q] = merge(p, c, chunks, cols);
        out[c] = s * Math.sqrt(q);
      }
      return out;
    } finally {
      env.ctx.release(part);
    }
  }
  const part = env.ctx.alloc(rows * 8);
  try {
    if (cols >= 64) env.ctx.dispatch(ROWS_WIDE, { bindings: [store(a), part], uniforms: { rows, cols, chunk: 0 }, workgroups: rows });
    else
      env.ctx.dispatch(ROWS_NARROW, {
        bindings: [store(a), part],
        uniforms: { rows, cols, chunk: 0 },
        workgroups: grid(ROWS_NARROW, rows),
      });
    const p = new Float32Array(await env.ctx.read(part.buffer, 0, rows * 8));
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) out[r] = p[2 * r + 1] < 0 ? NaN : p[2 * r] * Math.sqrt(p[2 * r + 1]);
    return out;
  } finally {
    env.ctx.release(part);
  }
}
