/**
 * Block operations (wgsl/block.wgsl): slice and concatenation by a strided block copy, row / column
 * scaling by a vector, and the per-column largest-magnitude entry, whose (row, value) partials per
 * row chunk are merged on the host (O(cols) bytes come back, never the matrix), and the per-row
 * smallest entry (8 bytes per row come back).
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { ceilDiv, store, type GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { PROGRAMS as P } from '../programs.js';

const { block: BLOCK, scale_axis: SCALE_AXIS, col_absmax: COL_ABSMAX, row_argmin: ROW_ARGMIN } = P;

/**
 * dst[dOff + r ldd + c] = src[sOff + r lds + c] for r < rows, c < cols (offsets in elements). Whole
 * rows of equal stride are one contiguous range: a plain buffer copy.
 */
export function copy2d(
  env: GpuEnv,
  src: GpuStore,
  sOff: number,
  lds: number,
  dst: GpuStore,
  dOff: number,
  ldd: number,
  rows: number,
  cols: number,
): void {
  if (rows === 0 || cols === 0) return;
  if (rows === 1 || (lds === cols && ldd === cols)) {
    env.ctx.copy(src.buffer, 4 * sOff, dst.buffer, 4 * dOff, 4 * rows * cols);
    return;
  }
  // The general block kernel with alpha 1, beta 0 copies the bits (no arithmetic).
  env.ctx.dispatch(BLOCK, {
    bindings: [src, dst],
    uniforms: { rows, cols, s_off: sOff, lds, d_off: dOff, ldd, trans: 0, uplo: 0, alpha: 1, beta: 0 },
    workgroups: grid(BLOCK, rows * cols),
  });
}

export function slice(env: GpuEnv, a: DenseRef, r0: number, c0: number, rows: number, cols: number): GpuStore {
  const out = env.ctx.alloc(rows * cols * 4);
  copy2d(env, store(a), r0 * a.cols + c0, a.cols, out, 0, cols, rows, cols);
  return out;
}

export function concat(env: GpuEnv, mats: readonly DenseRef[], axis: 'h' | 'v'): GpuStore {
  const rows = axis === 'h' ? mats[0].rows : mats.reduce((s, m) => s + m.rows, 0);
  const cols = axis === 'v' ? mats[0].cols : mats.reduce((s, m) => s + m.cols, 0);
  const out = env.ctx.alloc(rows * cols * 4);
  let at = 0;
  for (const m of mats) {
    copy2d(env, store(m), 0, m.cols, out, axis === 'v' ? at * cols : at, cols, m.rows, m.cols);
    at += axis === 'v' ? m.rows : m.cols;
  }
  return out;
}

/** a diag(s) (`cols`) or diag(s) a (`rows`), s rounded to f32 and uploaded as a storage buffer. */
export function scaleAxis(env: GpuEnv, a: DenseRef, s: Float64Array, axis: 'rows' | 'cols'): GpuStore {
  const n = a.rows * a.cols;
  const out = env.ctx.alloc(n * 4);
  const f = env.ctx.upload(Float32Array.from(s));
  try {
    env.ctx.dispatch(SCALE_AXIS, {
      bindings: [store(a), f, out],
      uniforms: { rows: a.rows, cols: a.cols, by_rows: axis === 'rows' ? 1 : 0 },
      workgroups: grid(SCALE_AXIS, n),
    });
  } finally {
    env.ctx.release(f);
  }
  return out;
}

/** Search key of wgsl/block.wgsl: |x| bits + 1, NaN 0. */
function absKey(bits: number): number {
  const b = bits & 0x7fffffff;
  return b > 0x7f800000 ? 0 : b + 1;
}

export async function colAbsMax(env: GpuEnv, a: DenseRef): Promise<{ index: Int32Array; value: Float64Array }> {
  const { rows, cols } = a;
  const tilesC = ceilDiv(cols, 16);
  // Enough row chunks to fill the device, each at least 64 rows, at most 256 of them.
  const chunks = Math.max(1, Math.min(256, ceilDiv(rows, 64), ceilDiv(4096, tilesC)));
  const chunkRows = ceilDiv(rows, chunks);
  const used = ceilDiv(rows, chunkRows);
  const part = env.ctx.alloc(used * cols * 8);
  try {
    env.ctx.dispatch(COL_ABSMAX, {
      bindings: [store(a), part],
      uniforms: { rows, cols, chunk_rows: chunkRows, tiles_c: tilesC, chunks: used },
      workgroups: tilesC * used,
    });
    const raw = await env.ctx.read(part.buffer, 0, used * cols * 8);
    const u = new Uint32Array(raw),
      f = new Float32Array(raw);
    const index = new Int32Array(cols),
      value = new Float64Array(cols);
    for (let c = 0; c < cols; c++) {
      let bestKey = -1,
        bestRow = -1,
        bestVal = NaN;
      // chunks in row order: a strictly larger key is needed to move, so the first row wins ties
      for (let k = 0; k < used; k++) {
        const at = 2 * (k * cols + c);
        const row = u[at];
        if (row === 0xffffffff) continue;
        const key = absKey(u[at + 1]);
        if (key > bestKey) {
          bestKey = key;
          bestRow = row;
          bestVal = f[at + 1];
        }
      }
      index[c] = bestRow;
      value[c] = bestVal;
    }
    return { index, value };
  } finally {
    env.ctx.release(part);
  }
}

/** Per row: the column of the smallest entry (first on ties; a NaN wins, see wgsl/block.wgsl) and that entry. */
export async function rowArgmin(env: GpuEnv, a: DenseRef): Promise<{ index: Int32Array; value: Float64Array }> {
  const { rows, cols } = a;
  const out = env.ctx.alloc(rows * 8);
  try {
    env.ctx.dispatch(ROW_ARGMIN, { bindings: [store(a), out], uniforms: { rows, cols }, workgroups: rows });
    const raw = await env.ctx.read(out.buffer, 0, rows * 8);
    const u = new Int32Array(raw),
      f = new Float32Array(raw);
    const index = new Int32Array(rows),
      value = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      index[r] = u[2 * r];
      value[r] = f[2 * r + 1];
    }
    return { index, value };
  } finally {
    env.ctx.release(out);
  }
}
