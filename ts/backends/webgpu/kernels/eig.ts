/**
 * eigh and SVD on WebGPU.
 *
 * eigh: n <= HOST_MAX on the host (native addon: read A, upload the vectors); above, two-sided
 * parallel Jacobi on the device (jacobi.ts). Values descending; each vector's largest-|.| entry is
 * positive (first entry on ties).
 *
 * svd (k = min(m, n)):
 *  - k <= HOST_MAX, "QR route": QR of A (or of A^T when m < n, an LQ of A) on the device, SVD of the
 *    k x k factor R on the host, U = Q U_R by GEMM (roles of U and V swapped for A^T).
 *  - k > HOST_MAX, "Jacobi route": one-sided Jacobi on the device on the columns of A (rows of the
 *    transposed store), after an exact power-of-two scaling of A so that squares cannot overflow.
 *    sigma_k are the final column norms; U's columns are the normalized columns in descending order.
 *    Columns whose norm is <= u ||A||_F are numerically zero (Jacobi leaves them alone; sigma_k is still
 *    reported): U is then completed to orthonormal columns by a Householder QR of [U_nonzero, 0]
 *    (columns are sorted, so the zero ones are last; r_jj >= 0 keeps the others as they are).
 * Sign convention (both routes, as native and sklearn's svd_flip): the largest-|.| entry of every
 * column of U is positive, V's columns flipped with them. Applied on the device, no readback.
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { HOST_MAX, hostRef, store, toHost, type GpuEnv } from '../env.js';
import { transpose } from './ewise.js';
import { matmul } from './gemm.js';
import { householderQR } from './householder.js';
import { oneSidedJacobi, symJacobi, type JacobiInfo } from './jacobi.js';
import { qrFull, type QrOptions } from './qr.js';
import { axisNorms, norm } from './reduce.js';
import { block, gatherT, ref, release, scaleBy, signs, upF32, upU32 } from './util.js';

const U32 = 2 ** -24;

export interface EighOptions {
  /** 'auto' (default): host for n <= HOST_MAX, else Jacobi; 'jacobi' forces the device. */
  method?: 'auto' | 'host' | 'jacobi';
}

export interface SvdOptions {
  /** 'auto' (default): QR route for min(m, n) <= HOST_MAX, else Jacobi; or force one. */
  method?: 'auto' | 'qr' | 'jacobi';
  /** Options of the QR inside the QR route. */
  qr?: QrOptions;
}

export interface EighResult {
  values: Float64Array;
  vectors: GpuStore;
  info: { method: 'host' | 'jacobi'; jacobi?: JacobiInfo };
}

export interface SvdResult {
  U: GpuStore;
  S: Float64Array;
  V: GpuStore;
  info: { method: 'qr' | 'jacobi'; jacobi?: JacobiInfo; completed?: boolean; qr?: unknown };
}

/** Indices of `v` sorted by descending value (stable). */
function descending(v: ArrayLike<number>): number[] {
  return Array.from({ length: v.length }, (_, i) => i).sort((i, j) => v[j] - v[i] || i - j);
}

/** svd_flip on the device: sign of U's largest-|.| entry per column, applied to U's and V's columns. */
function flip(env: GpuEnv, U: GpuStore, uRows: number, V: GpuStore, vRows: number, k: number): void {
  const sg = signs(env, U, uRows, k, 'cols');
  scaleBy(env, U, sg, uRows, k, 'cols');
  scaleBy(env, V, sg, vRows, k, 'cols');
  release(env, sg);
}

export async function eighInternal(env: GpuEnv, a: DenseRef, opts: EighOptions = {}): Promise<EighResult> {
  const n = a.rows;
  const method = opts.method === 'jacobi' || (opts.method !== 'host' && n > HOST_MAX) ? 'jacobi' : 'host';
  if (method === 'host') {
    const { values, vectors } = await env.host.eigh(hostRef(await toHost(env, a), n, n));
    return { values, vectors: env.ctx.upload(vectors as Float32Array), info: { method } };
  }
  // Symmetric working copy from the lower triangle.
  const w = env.ctx.alloc(n * n * 4);
  block(env, store(a), w, { rows: n, cols: n, lds: n, ldd: n, uplo: 'lower' });
  block(env, store(a), w, { rows: n, cols: n, lds: n, ldd: n, uplo: 'upper', trans: true });
  const normA = await norm(env, ref(w, n, n), 'fro');
  const { D, Vt, info } = await symJacobi(env, w, n, normA);
  // eigenvalues = diag(D): n floats back (they are returned on the host anyway).
  const dg = env.ctx.alloc(n * 4);
  block(env, D, dg, { rows: n, cols: 1, lds: n + 1, ldd: 1 });
  const d = new Float32Array(await env.ctx.read(dg.buffer, 0, n * 4));
  release(env, dg, D);
  const perm = descending(d);
  const values = Float64Array.from(perm, (i) => d[i]);
  const p = upU32(env, perm);
  const ones = upF32(env, new Float32Array(n).fill(1));
  const vectors = gatherT(env, Vt, n, p, ones, n, n);
  release(env, p, ones, Vt);
  const sg = signs(env, vectors, n, n, 'cols');
  scaleBy(env, vectors, sg, n, n, 'cols');
  release(env, sg);
  return { values, vectors, info: { method, jacobi: info } };
}

export async function eigh(env: GpuEnv, a: DenseRef): Promise<{ values: Float64Array; vectors: GpuStore }> {
  const { values, vectors } = await eighInternal(env, a);
  return { values, vectors };
}

/**
 * Thin QR on the device of X = A (m >= n) or A^T (m < n), mm x k with k = min(m, n) and mm = max(m, n):
 * Q stays on the device (the caller's), R (k x k) comes to the host. The QR route of svd and svdvals.
 */
export async function tallQR(env: GpuEnv, a: DenseRef, opts?: QrOptions): Promise<{ Q: GpuStore; Rh: Float32Array; info: unknown }> {
  const { rows: m, cols: n } = a;
  const k = Math.min(m, n),
    mm = Math.max(m, n);
  const xt = m < n ? transpose(env, a) : null;
  const q = await qrFull(env, xt ? ref(xt, mm, k) : a, opts);
  if (xt) release(env, xt);
  const Rh = q.Rhost ?? (await toHost(env, ref(q.R, k, k)));
  release(env, q.R);
  return { Q: q.Q, Rh, info: q.info };
}

export async function svdInternal(env: GpuEnv, a: DenseRef, opts: SvdOptions = {}): Promise<SvdResult> {
  const { rows: m, cols: n } = a;
  const k = Math.min(m, n);
  const method = opts.method === 'qr' || opts.method === 'jacobi' ? opts.method : k <= HOST_MAX ? 'qr' : 'jacobi';
  const wide = m < n;
  const mm = Math.max(m, n); // X = A (m >= n) or A^T (m < n) is mm x k
  if (method === 'qr') {
    const q = await tallQR(env, a, opts.qr);
    const s = await env.host.svd(hostRef(q.Rh, k, k));
    const uR = env.ctx.upload(s.U as Float32Array);
    const Ux = matmul(env, ref(q.Q, mm, k), ref(uR, k, k), false, false, 1);
    release(env, q.Q, uR);
    const Vx = env.ctx.upload(s.V as Float32Array);
    const [U, V] = wide ? [Vx, Ux] : [Ux, Vx];
    flip(env, U, m, V, n, k);
    return { U, S: s.S, V, info: { method, qr: q.info } };
  }
  // Jacobi route: bt rows = columns of X, scaled by a power of two.
  const maxAbs = await norm(env, a, 'max');
  const e = maxAbs > 0 && Number.isFinite(maxAbs) ? -Math.ceil(Math.log2(maxAbs)) : 0;
  const scale = 2 ** e;
  // Columns below u ||A||_F are numerically zero: not rotated, and completed in U afterwards.
  const negligible = U32 * (await norm(env, a, 'fro')) * scale;
  const bt = env.ctx.alloc(m * n * 4);
  if (wide) block(env, store(a), bt, { rows: m, cols: n, lds: n, ldd: n, alpha: scale });
  else block(env, store(a), bt, { rows: n, cols: m, lds: n, ldd: m, trans: true, alpha: scale });
  const { Vt, info } = await oneSidedJacobi(env, bt, k, mm, negligible * negligible);
  const sig = await axisNorms(env, ref(bt, k, mm), 'rows');
  const perm = descending(sig);
  const tiny = Math.max(negligible, 1e-30);
  let zeros = 0;
  const f = new Float32Array(k);
  perm.forEach((i, c) => {
    if (sig[i] > tiny) f[c] = 1 / sig[i];
    else zeros++;
  });
  const S = Float64Array.from(perm, (i) => sig[i] / scale);
  const p = upU32(env, perm);
  const fs = upF32(env, f);
  let Ux = gatherT(env, bt, mm, p, fs, mm, k);
  release(env, fs, bt);
  let completed = false;
  if (zeros > 0) {
    // Orthonormal completion: Householder QR of [U_nonzero, 0]. Its r_jj >= 0, so Q keeps the
    // orthonormal columns as they are and fills the zero ones with an orthonormal complement.
    const { Q, R } = householderQR(env, ref(Ux, mm, k));
    release(env, R, Ux);
    Ux = Q;
    completed = true;
  }
  const ones = upF32(env, new Float32Array(k).fill(1));
  const Vx = gatherT(env, Vt, k, p, ones, k, k);
  release(env, p, ones, Vt);
  const [U, V] = wide ? [Vx, Ux] : [Ux, Vx];
  flip(env, U, m, V, n, k);
  return { U, S, V, info: { method, jacobi: info, completed } };
}

export async function svd(env: GpuEnv, a: DenseRef): Promise<{ U: GpuStore; S: Float64Array; V: GpuStore }> {
  const { U, S, V } = await svdInternal(env, a);
  return { U, S, V };
}
