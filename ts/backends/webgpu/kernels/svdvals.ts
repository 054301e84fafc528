/**
 * Singular values only on WebGPU (k = min(m, n)), the routes of svd (eig.ts) without the vectors:
 *  - k <= HOST_MAX, "QR route": QR of X = A (or A^T when m < n) on the device, then the values of the
 *    k x k factor R on the host (the native backend's svdvals: bidiagonalization without reflectors
 *    and implicit QR on the bidiagonal). Q is dropped; no U = Q U_R product.
 *  - k > HOST_MAX, "Jacobi route": one-sided Jacobi on the device as svd's, with the rotations not
 *    accumulated (no V; jacobi.ts `vectors = false`): sigma_j are the final column norms.
 * A non-finite entry is a RangeError "svdvals: argument 'A' has a non-finite entry": on the QR route
 * the host finds it in R (a NaN or Inf in A reaches R: every column of A enters its column of R and
 * the norm of its residual), on the Jacobi route a non-finite ||A||_F (one device reduction; on the QR
 * route that reduction would cost more than the host values of R on a CPU adapter).
 */
import type { DenseRef } from '../../../backend.js';
import { rangeError } from '../../../errors.js';
import { HOST_MAX, hostRef, store, type GpuEnv } from '../env.js';
import { tallQR } from './eig.js';
import type { JacobiInfo } from './jacobi.js';
import { oneSidedJacobi } from './jacobi.js';
import type { QrOptions } from './qr.js';
import { axisNorms, norm } from './reduce.js';
import { block, ref, release } from './util.js';

const U32 = 2 ** -24;

export interface SvdvalsOptions {
  /** 'auto' (default): QR route for min(m, n) <= HOST_MAX, else Jacobi; or force one. */
  method?: 'auto' | 'qr' | 'jacobi';
  /** Options of the QR inside the QR route. */
  qr?: QrOptions;
}

export interface SvdvalsResult {
  S: Float64Array;
  info: { method: 'qr' | 'jacobi'; jacobi?: JacobiInfo; qr?: unknown };
}

export async function svdvalsInternal(env: GpuEnv, a: DenseRef, opts: SvdvalsOptions = {}): Promise<SvdvalsResult> {
  const { rows: m, cols: n } = a;
  const k = Math.min(m, n);
  const method = opts.method === 'qr' || opts.method === 'jacobi' ? opts.method : k <= HOST_MAX ? 'qr' : 'jacobi';
  const wide = m < n;
  const mm = Math.max(m, n); // X = A (m >= n) or A^T (m < n) is mm x k
  if (method === 'qr') {
    const q = await tallQR(env, a, opts.qr);
    release(env, q.Q);
    const S = await env.host.svdvals(hostRef(q.Rh, k, k));
    return { S, info: { method, qr: q.info } };
  }
  // Jacobi route (as svd's): bt rows = columns of X, scaled by a power of two so squares cannot overflow.
  const fro = await norm(env, a, 'fro');
  if (!Number.isFinite(fro)) throw rangeError('svdvals', "argument 'A' has a non-finite entry");
  const maxAbs = await norm(env, a, 'max');
  const e = maxAbs > 0 ? -Math.ceil(Math.log2(maxAbs)) : 0;
  const scale = 2 ** e;
  const negligible = U32 * fro * scale;
  const bt = env.ctx.alloc(m * n * 4);
  if (wide) block(env, store(a), bt, { rows: m, cols: n, lds: n, ldd: n, alpha: scale });
  else block(env, store(a), bt, { rows: n, cols: m, lds: n, ldd: m, trans: true, alpha: scale });
  const { Vt, info } = await oneSidedJacobi(env, bt, k, mm, negligible * negligible, false);
  release(env, Vt);
  const sig = await axisNorms(env, ref(bt, k, mm), 'rows');
  release(env, bt);
  const S = Float64Array.from(sig, (s) => s / scale).sort((x, y) => y - x);
  return { S, info: { method, jacobi: info } };
}

export async function svdvals(env: GpuEnv, a: DenseRef): Promise<Float64Array> {
  return (await svdvalsInternal(env, a)).S;
}
