/**
 * Blocked right-looking Cholesky on the device (wgsl/chol.wgsl), for n > HOST_MAX or when forced.
 *
 * Two levels. Panels of NB_OUTER = 128 columns are factored in NB = 32 steps: the diagonal block by
 * one workgroup in workgroup memory (`potrf`), the rows below it one invocation each (`panel`,
 * L_ik = A_ik L_kk^-T), then a GEMM update restricted to the rest of the 128-wide panel. After each
 * panel the trailing matrix gets A_22 -= L_21 L_21^T (k = 128) through the GEMM kernel, in place
 * (`gemmInto`), in 128-column strips of the lower triangle only.
 * A non-positive or non-finite pivot records its column in a 4-byte flag that is read back once, at
 * the end (the only readback).
 */
import type { GpuStore } from '../context.js';
import type { GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { PROGRAMS as P } from '../programs.js';
import { gemmView } from './blas.js';
import { addDiag, copyOf, release, triangle } from './util.js';

/** Diagonal blocks (workgroup memory) and the panel width of the trailing GEMMs. */
const NB = 32;
const NB_OUTER = 128;

const { chol_potrf: POTRF, chol_panel: PANEL } = P;

export interface DeviceCholesky {
  /** Lower-triangular n x n factor (upper triangle zero). Garbage when `failedAt` > 0. */
  L: GpuStore;
  /** 0 on success, else the 1-based column of the first pivot that was not positive and finite. */
  failedAt: number;
}

/**
 * Encodes the factorization of the lower triangle of the n x n store `a` (+ shift on the diagonal)
 * and returns the factor and the failure flag store (not read).
 */
export function encodeCholesky(env: GpuEnv, a: GpuStore, n: number, shift = 0): { L: GpuStore; flag: GpuStore } {
  const ctx = env.ctx;
  const w = copyOf(env, a, n, n, { uplo: 'lower' });
  if (shift !== 0) addDiag(env, w, n, n, shift); // the shifted CholeskyQR step
  const flag = ctx.zeros(4);
  const upd = (rows: number, cols: number, k: number, r: number, c: number, k0: number): void => {
    // W[r.., c..c+cols) -= W[r.., k0..k0+k) W[c..c+cols, k0..k0+k)^T  (in place)
    gemmView(
      env,
      rows,
      cols,
      k,
      { s: w, off: r * n + k0, ld: n },
      false,
      { s: w, off: c * n + k0, ld: n },
      true,
      -1,
      { s: w, off: r * n + c, ld: n },
      1,
    );
  };
  for (let K0 = 0; K0 < n; K0 += NB_OUTER) {
    const W = Math.min(NB_OUTER, n - K0);
    // Panel K0 .. K0+W: 32-wide steps, updates restricted to the panel's columns.
    for (let k0 = K0; k0 < K0 + W; k0 += NB) {
      const bs = Math.min(NB, K0 + W - k0);
      const r0 = k0 + bs;
      const count = n - r0;
      ctx.dispatch(POTRF, { bindings: [w, flag], uniforms: { n, k0, bs, r0, count }, workgroups: 1 });
      if (count === 0) break;
      ctx.dispatch(PANEL, { bindings: [w, flag], uniforms: { n, k0, bs, r0, count }, workgroups: grid(PANEL, count) });
      if (K0 + W > r0) upd(count, K0 + W - r0, bs, r0, r0, k0);
    }
    // Trailing matrix, lower triangle only, in column strips of NB_OUTER: k = W.
    for (let j0 = K0 + W; j0 < n; j0 += NB_OUTER) upd(n - j0, Math.min(NB_OUTER, n - j0), W, j0, j0, K0);
  }
  const L = triangle(env, w, n, 'lower');
  release(env, w);
  return { L, flag };
}

/** Device Cholesky with the failure flag read back (4 bytes). */
export async function deviceCholesky(env: GpuEnv, a: GpuStore, n: number, shift = 0): Promise<DeviceCholesky> {
  const { L, flag } = encodeCholesky(env, a, n, shift);
  const failedAt = new Uint32Array(await env.ctx.read(flag.buffer, 0, 4))[0];
  release(env, flag);
  return { L, failedAt };
}
