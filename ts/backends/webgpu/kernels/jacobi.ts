/**
 * Parallel Jacobi methods on the device (wgsl/jacobi.wgsl), for the dense eigen/singular value
 * problems whose sides exceed HOST_MAX.
 *
 *  - symJacobi: two-sided cyclic Jacobi on a symmetric n x n matrix. Sweeps of N - 1 round-robin
 *    rounds (N = n rounded up to even); each round computes n/2 disjoint rotations (`sym_rot`) and
 *    applies them to both sides of A (ping-pong buffers, A' = J^T A J, kept exactly symmetric) and to
 *    the eigenvector rows (`sym_apply`): two dispatches per round. The vectors are accumulated in
 *    double-f32 (hi + lo in two buffers; orthogonality ~0.1 n u instead of ~1.6 n u, for ~10% more
 *    time on lavapipe), the matrix in f32. All rotations use Rutishauser's form (see the WGSL): with
 *    the textbook c x - s y form, c rounds to 1 for small angles and the norms drift by ~s^2 per
 *    rotation, which cost 16-44 n u of orthogonality in f32.
 *    A rotation is skipped when |a_pq| <= max(SYM_RTOL sqrt(|a_pp a_qq|), u ||A||_F / n,
 *    u/2 |a_qq - a_pp|) (the last term: angles below rounding level only add error to the vectors).
 *  - oneSidedJacobi: Hestenes one-sided Jacobi on the rows of Bt (= columns of the matrix), one
 *    fused dispatch per round (Gram entries by a workgroup reduction, then the rotation of both rows
 *    of Bt and Vt; Vt in plain f32). A rotation is skipped when |b_p . b_q| <= sqrt(m) u ||b_p||
 *    ||b_q|| (LAPACK sgesvj's test), or when one of the columns is numerically zero (||b||^2 <=
 *    floor; the caller completes those U columns).
 *
 * Convergence: every applied rotation increments a counter of the sweep and raises its maximum
 * rotation size; the host reads those 8 bytes after each sweep (not each round) and stops at the
 * first sweep without rotations or with only small ones (T_STOP), or after
 * MAX_SWEEPS (then the current iterate is returned with info.converged = false; typical inputs need
 * 8-11 sweeps at n ~ 100-500).
 */
import type { GpuStore } from '../context.js';
import { ceilDiv, type GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { PROGRAMS as P } from '../programs.js';
import * as fill from './fill.js';

export const MAX_SWEEPS = 40;
const U32 = 2 ** -24;
export const SYM_RTOL = 4 * U32;
/**
 * Early stop: once a sweep's largest rotation has |tan| <= T_STOP (two-sided) or its largest pair
 * cosine is <= sqrt(tol) / 2 (one-sided), quadratic convergence leaves only rotations below rounding
 * level for the next sweep, so that sweep (which would merely confirm convergence) is skipped.
 */
export const T_STOP = Math.sqrt(U32) / 4;

/** Reads the (count, max) pair of a sweep slot. */
async function sweepStats(env: GpuEnv, count: GpuStore, sweep: number): Promise<{ rotations: number; max: number }> {
  const b = await env.ctx.read(count.buffer, sweep * 8, 8);
  return { rotations: new Uint32Array(b)[0], max: new Float32Array(b)[1] };
}

const { jacobi_sym_rot: SYM_ROT, jacobi_sym_apply: SYM_APPLY, jacobi_svd_round: SVD_ROUND } = P;

export interface JacobiInfo {
  sweeps: number;
  converged: boolean;
  /** Per sweep: [rotations applied, largest |tan| (two-sided) or |cos| (one-sided)]. */
  history: Array<[number, number]>;
}

/**
 * Diagonalizes the symmetric n x n store `a` (consumed: it is one of the ping-pong buffers). Returns
 * the final matrix D (diagonal up to the tolerance) and Vt, whose rows are the eigenvectors:
 * A = Vt^T D Vt.
 */
export async function symJacobi(
  env: GpuEnv,
  a: GpuStore,
  n: number,
  normA: number,
): Promise<{ D: GpuStore; Vt: GpuStore; info: JacobiInfo }> {
  const ctx = env.ctx;
  const np = ceilDiv(n, 2);
  const rounds = 2 * np - 1;
  let cur = a;
  let other = ctx.alloc(n * n * 4);
  const Vt = fill.eye(env, n, n);
  const vtLo = ctx.zeros(n * n * 4);
  const rot = ctx.alloc(np * 16);
  const count = ctx.zeros(MAX_SWEEPS * 8);
  const atol = (U32 * normA) / n;
  const info: JacobiInfo = { sweeps: 0, converged: n === 1, history: [] };
  for (let sweep = 0; sweep < MAX_SWEEPS && !info.converged; sweep++) {
    for (let round = 0; round < rounds; round++) {
      const u = { n, np, round, slot: sweep, rtol: SYM_RTOL, atol, gtol: U32 / 2, one: 1 };
      ctx.dispatch(SYM_ROT, { bindings: [cur, rot, count], uniforms: u, workgroups: grid(SYM_ROT, np) });
      ctx.dispatch(SYM_APPLY, {
        bindings: [cur, rot, other, Vt, vtLo],
        uniforms: u,
        workgroups: grid(SYM_APPLY, (np * (np + 1)) / 2 + np * ceilDiv(n, 4)),
      });
      [cur, other] = [other, cur];
    }
    info.sweeps = sweep + 1;
    const st = await sweepStats(env, count, sweep);
    info.history.push([st.rotations, st.max]);
    if (st.rotations === 0 || st.max <= T_STOP) info.converged = true;
  }
  ctx.release(other);
  ctx.release(vtLo);
  ctx.release(rot);
  ctx.release(count);
  return { D: cur, Vt, info };
}

/**
 * Orthogonalizes the nn rows (each of length mm) of `bt` in place by one-sided Jacobi rotations and
 * accumulates them in Vt (nn x nn, rows): afterwards bt = Vt * bt_in with mutually orthogonal rows.
 * vectors = false (singular values only): no Vt is formed or rotated (Vt is then a 1 x 1 placeholder).
 */
export async function oneSidedJacobi(
  env: GpuEnv,
  bt: GpuStore,
  nn: number,
  mm: number,
  floor: number,
  vectors = true,
): Promise<{ Vt: GpuStore; info: JacobiInfo }> {
  const ctx = env.ctx;
  const np = ceilDiv(nn, 2);
  const rounds = 2 * np - 1;
  const Vt = vectors ? fill.eye(env, nn, nn) : ctx.zeros(4);
  const nv = vectors ? nn : 0;
  const count = ctx.zeros(MAX_SWEEPS * 8);
  const tol = Math.sqrt(mm) * U32;
  const info: JacobiInfo = { sweeps: 0, converged: nn === 1, history: [] };
  for (let sweep = 0; sweep < MAX_SWEEPS && !info.converged; sweep++) {
    for (let round = 0; round < rounds; round++) {
      ctx.dispatch(SVD_ROUND, {
        bindings: [bt, Vt, count],
        uniforms: { m: mm, n: nn, np, round, slot: sweep, tol, floor, nv },
        workgroups: np,
      });
    }
    info.sweeps = sweep + 1;
    const st = await sweepStats(env, count, sweep);
    info.history.push([st.rotations, st.max]);
    if (st.rotations === 0 || st.max <= Math.sqrt(tol) / 2) info.converged = true;
  }
  ctx.release(count);
  return { Vt, info };
}
