/**
 * Dense factorizations on WebGPU: qr, cholesky, solveTriangular, lstsq. Every function takes an
 * internal options argument that forces a path (used by test/webgpu/decomp.test.ts); the backend
 * calls them without options.
 *
 * qr (m >= n): CholeskyQR passes on the device (cholqr.ts: CholeskyQR2, or shifted CholeskyQR3 when
 *   kappa(A) is too large for it), falling back to blocked Householder QR in WGSL (householder.ts).
 *   Fallback rule: CholeskyQR is abandoned for Householder when a Gram matrix is not finite; when
 *   neither the unshifted first pass nor any shift of the ladder (s_lo, sqrt(s_lo s_safe), s_safe)
 *   yields two positive definite Gram matrices in a row (with kappa(L_2) <= 1e4); when a later Gram
 *   is not positive definite or its kappa(L) > 1e4; or when after 4 passes no pass has been applied
 *   to a Gram within ||G - I||_F <= 0.5 of the identity. Householder handles any input, exactly
 *   rank-deficient A included, with orthonormal Q. Both give R with r_jj >= 0.
 * cholesky: host for n <= HOST_MAX; else blocked right-looking on the device (chol.ts), one 4-byte
 *   readback (the failure flag) at the end.
 * solveTriangular: blocked on the device (solve_triangular.ts), a 4-byte flag read at the end.
 * lstsq: m >= n: QR on the device, then
 *   - n <= HOST_MAX: the SVD of the n x n R on the host gives the numerical rank with the exact
 *     native cutoff (sigma_i > max(m, n) u sigma_1). Full rank: X = R^-1 (Q^T B) (GEMM + device
 *     TRSM). Rank-deficient: X = V_R S_r^+ U_R^T (Q^T B) (two GEMMs).
 *   - n > HOST_MAX: full rank when CholeskyQR succeeded and min |r_ii| > max(m, n) u max |r_ii|
 *     (diag(R) read back, n floats); else the SVD route.
 *   m < n, or the cases above: minimum norm X = V S_r^+ U^T B with the device SVD (eig.ts).
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { HOST_MAX, hostRef, store, toHost, type GpuEnv } from '../env.js';
import { deviceCholesky } from './chol.js';
import { svdInternal, type SvdOptions } from './eig.js';
import { matmul } from './gemm.js';
import { qrFull, type QrInfo, type QrOptions } from './qr.js';
import { deviceTrsm, encodeTrsm } from './solve_triangular.js';
import { block, ref, release, scaleBy, upF32 } from './util.js';

const U32 = 2 ** -24;

export { qrFull, type QrFull, type QrInfo, type QrOptions } from './qr.js';

export async function qr(env: GpuEnv, a: DenseRef, opts: QrOptions = {}): Promise<{ Q: GpuStore; R: GpuStore }> {
  const { Q, R } = await qrFull(env, a, opts);
  return { Q, R };
}

export interface CholeskyOptions {
  /** Factor on the device even when n <= HOST_MAX. */
  device?: boolean;
}

function notPD(k: number): RangeError {
  return new RangeError(`cholesky: the matrix is not positive definite (the leading minor of order ${k} is not positive)`);
}

export async function cholesky(env: GpuEnv, a: DenseRef, opts: CholeskyOptions = {}): Promise<GpuStore> {
  const n = a.rows;
  if (!opts.device && n <= HOST_MAX) {
    const L = await env.host.cholesky(hostRef(await toHost(env, a), n, n));
    return env.ctx.upload(L as Float32Array);
  }
  const { L, failedAt } = await deviceCholesky(env, store(a), n);
  if (failedAt !== 0) {
    release(env, L);
    throw notPD(failedAt);
  }
  return L;
}

export async function solveTriangular(env: GpuEnv, t: DenseRef, b: DenseRef, lower: boolean, trans: boolean): Promise<GpuStore> {
  const { X, zeroAt } = await deviceTrsm(env, store(t), t.rows, store(b), b.cols, lower, trans);
  if (zeroAt >= 0) {
    release(env, X);
    throw new RangeError(`solveTriangular: T is singular (diagonal entry ${zeroAt} is exactly zero)`);
  }
  return X;
}

export interface LstsqOptions {
  /** Options of the QR (m >= n). */
  qr?: QrOptions;
  /** Options of the SVD (rank-deficient or wide A). */
  svd?: SvdOptions;
  /** Skip the QR and go through the SVD. */
  viaSvd?: boolean;
}

export interface LstsqInfo {
  route: 'qr' | 'qr+svd(R)' | 'svd';
  qr?: QrInfo;
}

/** Minimum-norm X = V S_r^+ U^T B from a device SVD of A. */
async function lstsqSvd(env: GpuEnv, a: DenseRef, b: DenseRef, opts: SvdOptions | undefined): Promise<{ X: GpuStore; rank: number }> {
  const { rows: m, cols: n } = a;
  const k = Math.min(m, n);
  const { U, S, V } = await svdInternal(env, a, opts);
  const cutoff = Math.max(m, n) * U32 * S[0];
  let rank = 0;
  const f = new Float32Array(k);
  for (let i = 0; i < k; i++)
    if (S[i] > cutoff) {
      f[i] = 1 / S[i];
      rank++;
    }
  const C = matmul(env, ref(U, m, k), b, true, false, 1); // k x nrhs
  const fs = upF32(env, f);
  scaleBy(env, C, fs, k, b.cols, 'rows');
  const X = matmul(env, ref(V, n, k), ref(C, k, b.cols), false, false, 1);
  release(env, U, V, C, fs);
  return { X, rank };
}

export async function lstsqInternal(
  env: GpuEnv,
  a: DenseRef,
  b: DenseRef,
  opts: LstsqOptions = {},
): Promise<{ X: GpuStore; rank: number; info: LstsqInfo }> {
  const { rows: m, cols: n } = a;
  const nrhs = b.cols;
  if (m < n || opts.viaSvd) return { ...(await lstsqSvd(env, a, b, opts.svd)), info: { route: 'svd' } };
  const q = await qrFull(env, a, opts.qr);
  const cutoffRel = Math.max(m, n) * U32;
  const C = matmul(env, ref(q.Q, m, n), b, true, false, 1); // Q^T B, n x nrhs
  release(env, q.Q);
  const small = n <= HOST_MAX && !(opts.qr?.deviceSmall ?? false);
  if (small) {
    const Rh = q.Rhost ?? (await toHost(env, ref(q.R, n, n)));
    const s = await env.host.svd(hostRef(Rh, n, n));
    const cutoff = cutoffRel * s.S[0];
    let rank = 0;
    while (rank < n && s.S[rank] > cutoff) rank++;
    if (rank === n) {
      const { X, flag } = encodeTrsm(env, q.R, n, C, nrhs, false, false); // r_ii != 0: no flag to read
      release(env, q.R, C, flag);
      return { X, rank, info: { route: 'qr', qr: q.info } };
    }
    // M = V_R[:, :r] S_r^-1 U_R[:, :r]^T (n x n, f64 on the host).
    const Uh = s.U as Float32Array,
      Vh = s.V as Float32Array;
    const M = new Float32Array(n * n);
    const row = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      row.fill(0);
      for (let p = 0; p < rank; p++) {
        const v = Vh[i * n + p] / s.S[p];
        if (v === 0) continue;
        for (let j = 0; j < n; j++) row[j] += v * Uh[j * n + p];
      }
      for (let j = 0; j < n; j++) M[i * n + j] = row[j];
    }
    const Md = env.ctx.upload(M);
    const X = matmul(env, ref(Md, n, n), ref(C, n, nrhs), false, false, 1);
    release(env, Md, C, q.R);
    return { X, rank, info: { route: 'qr+svd(R)', qr: q.info } };
  }
  // n > HOST_MAX: diag(R) decides.
  const dg = env.ctx.alloc(n * 4);
  block(env, q.R, dg, { rows: n, cols: 1, lds: n + 1, ldd: 1 });
  const d = new Float32Array(await env.ctx.read(dg.buffer, 0, n * 4));
  release(env, dg);
  let lo = Infinity,
    hi = 0;
  for (const v of d) {
    lo = Math.min(lo, Math.abs(v));
    hi = Math.max(hi, Math.abs(v));
  }
  if (q.info.method === 'cholqr' && lo > cutoffRel * hi) {
    const { X, flag } = encodeTrsm(env, q.R, n, C, nrhs, false, false);
    release(env, q.R, C, flag);
    return { X, rank: n, info: { route: 'qr', qr: q.info } };
  }
  release(env, q.R, C);
  return { ...(await lstsqSvd(env, a, b, opts.svd)), info: { route: 'svd', qr: q.info } };
}

export async function lstsq(env: GpuEnv, a: DenseRef, b: DenseRef): Promise<{ X: GpuStore; rank: number }> {
  const { X, rank } = await lstsqInternal(env, a, b);
  return { X, rank };
}
