/**
 * Blocked Householder QR in WGSL (wgsl/householder.wgsl): the robust fallback of the CholeskyQR path.
 *
 * Works on At = A^T (n x m), so that each column of A is a contiguous row. Panels of NB columns:
 *   - inside the panel, column by column: one workgroup builds the reflector (scaled norm, r_jj >= 0),
 *     then one workgroup per remaining panel column applies it (dot product and update fused);
 *   - the panel's compact WY form H_j0 ... H_(j0+b-1) = I - V T V^T (T from V^T V by one workgroup);
 *   - the trailing columns get Q_panel^T = I - V T^T V^T through three GEMMs.
 * Q = Q_1 ... Q_p [I; 0] is accumulated backwards on Qt with the same GEMMs (only rows k >= j0 of Qt
 * and columns >= j0 change for panel j0). No readback.
 *
 * Every H_j is orthogonal for any input (a zero column gives H_j = I and r_jj = 0), so Q has
 * orthonormal columns even when A is exactly rank-deficient; R is upper triangular with r_jj >= 0.
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import type { GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { PROGRAMS as P } from '../programs.js';
import { gemmView, whole } from './blas.js';
import { transpose } from './ewise.js';
import * as fill from './fill.js';
import { matmul } from './gemm.js';
import { ref, release, triangle } from './util.js';

/** Panel width (the build_t workgroup holds NB x NB). */
const NB = 32;

const { householder_reflector: REFLECTOR, householder_apply: APPLY, householder_vpanel: VPANEL, householder_build_t: BUILD_T } = P;

interface Panel {
  j0: number;
  b: number;
  /** b x (m - j0): the panel's reflectors from column j0 on. */
  vt: GpuStore;
  /** b x b upper triangular. */
  t: GpuStore;
}

/**
 * Thin Householder QR of an m x n matrix (m >= n) on the device: Q (m x n) and R (n x n, upper,
 * non-negative diagonal), both new device stores.
 */
export function householderQR(env: GpuEnv, a: DenseRef): { Q: GpuStore; R: GpuStore } {
  const { rows: m, cols: n } = a;
  const ctx = env.ctx;
  const at = transpose(env, a); // n x m, factored in place
  const tau = ctx.alloc(n * 4);
  const v = ctx.alloc(m * 4);
  const panels: Panel[] = [];
  for (let j0 = 0; j0 < n; j0 += NB) {
    const b = Math.min(NB, n - j0);
    for (let j = j0; j < j0 + b; j++) {
      ctx.dispatch(REFLECTOR, { bindings: [at, tau, v], uniforms: { j, m }, workgroups: 1 });
      const count = j0 + b - j - 1;
      if (count > 0) ctx.dispatch(APPLY, { bindings: [v, tau, at], uniforms: { j, m, v_off: 0, k0: j + 1, count }, workgroups: count });
    }
    const w = m - j0;
    const vt = ctx.alloc(b * w * 4);
    ctx.dispatch(VPANEL, { bindings: [at, vt], uniforms: { j0, b, m, c0: j0, w }, workgroups: grid(VPANEL, b * w) });
    const s = matmul(env, ref(vt, b, w), ref(vt, b, w), false, true, 1);
    const t = ctx.alloc(b * b * 4);
    ctx.dispatch(BUILD_T, { bindings: [s, tau, t], uniforms: { j0, b }, workgroups: 1 });
    release(env, s);
    panels.push({ j0, b, vt, t });
    const rest = n - j0 - b;
    if (rest > 0) {
      // At_trail (rows j0+b.., columns j0..) -= (At_trail V) T V^T
      const trail = { s: at, off: (j0 + b) * m + j0, ld: m };
      const y = gemmView(env, rest, b, w, trail, false, whole(vt, w), true, 1)!;
      const z = matmul(env, ref(y, rest, b), ref(t, b, b), false, false, 1);
      gemmView(env, rest, w, b, whole(z, b), false, whole(vt, w), false, -1, trail, 1);
      release(env, y, z);
    }
  }
  // Qt (n x m) = first n rows of I; panels applied backwards: Qt_sub -= (Qt_sub V) T^T V^T.
  const qt = fill.eye(env, n, m);
  for (let p = panels.length - 1; p >= 0; p--) {
    const { j0, b, vt, t } = panels[p];
    const w = m - j0,
      cnt = n - j0;
    const sub = { s: qt, off: j0 * m + j0, ld: m };
    const y = gemmView(env, cnt, b, w, sub, false, whole(vt, w), true, 1)!;
    const z = matmul(env, ref(y, cnt, b), ref(t, b, b), false, true, 1);
    gemmView(env, cnt, w, b, whole(z, b), false, whole(vt, w), false, -1, sub, 1);
    release(env, y, z, vt, t);
  }
  const Q = transpose(env, ref(qt, n, m));
  // R[i][k] = At[k][i] for i <= k.
  const R = triangle(env, at, n, 'upper', true, m);
  release(env, at, tau, v, qt);
  return { Q, R };
}
