/**
 * LU with partial pivoting on the device (wgsl/lu.wgsl), for the tall matrices of randomized power
 * iterations: nothing is read back. Rows are never swapped: each row records the step at which it
 * became a pivot, and the pivot search of column j runs over the rows not yet pivoted (a two-level
 * argmax whose result stays in a device buffer). Per column: search (which also scales the previous
 * column's multipliers), pick, rank-1 update of the trailing columns; then U is gathered from the
 * pivot rows and the working copy becomes PL = P L in place.
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { ceilDiv, store, type GpuEnv } from '../env.js';
import { grid, specialize } from '../program.js';
import { PROGRAMS as P } from '../programs.js';
import { isCpuAdapter } from './gemm.js';

const { lu_search: SEARCH, lu_pick: PICK, lu_update: UPDATE, lu_upper: UPPER, lu_finish: FINISH } = P;

/** Rows per search workgroup: at least 2048 (8 per invocation), at most 256 workgroups. */
const SEARCH_ROWS = 2048;
const MAX_GROUPS = 256;

export interface LuOptions {
  /** Trailing update with one invocation per row (default on CPU adapters) instead of per entry. */
  updateByRow?: boolean;
}

export function lu(env: GpuEnv, a: DenseRef, opts: LuOptions = {}): { PL: GpuStore; U: GpuStore } {
  const { ctx } = env;
  const { rows: m, cols: n } = a;
  const W = ctx.alloc(m * n * 4);
  ctx.copy(store(a).buffer, 0, W.buffer, 0, m * n * 4);
  const step = ctx.zeros(m * 4);
  const info = ctx.zeros(2 * n * 4);
  const groups = Math.min(MAX_GROUPS, ceilDiv(m, SEARCH_ROWS));
  const chunk = ceilDiv(m, groups);
  const part = ctx.alloc(groups * 8);
  const U = ctx.alloc(n * n * 4);
  const byRow = opts.updateByRow ?? isCpuAdapter(ctx.bundle.info);
  const update = specialize(UPDATE, { BY_ROW: byRow ? 1 : 0 });
  try {
    for (let j = 0; j < n; j++) {
      const u = { m, n, j, chunk, groups };
      ctx.dispatch(SEARCH, { bindings: [W, step, info, part], uniforms: u, workgroups: [groups] });
      ctx.dispatch(PICK, { bindings: [W, step, info, part], uniforms: u, workgroups: [1] });
      if (j + 1 < n)
        ctx.dispatch(update, { bindings: [W, step, info], uniforms: u, workgroups: grid(update, byRow ? m : m * (n - j - 1)) });
    }
    const u = { m, n, j: 0, chunk, groups };
    ctx.dispatch(UPPER, { bindings: [W, info, U], uniforms: u, workgroups: grid(UPPER, n * n) });
    ctx.dispatch(FINISH, { bindings: [W, step, info], uniforms: u, workgroups: grid(FINISH, m) });
  } catch (e) {
    ctx.release(W);
    ctx.release(U);
    throw e;
  } finally {
    ctx.release(step);
    ctx.release(info);
    ctx.release(part);
  }
  return { PL: W, U };
}
