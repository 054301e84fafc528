/**
 * Thin QR of a tall matrix on the device: CholeskyQR passes (cholqr.ts) with the blocked Householder
 * fallback (householder.ts); the fallback rule is documented in factor.ts and cholqr.ts.
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import type { GpuEnv } from '../env.js';
import { cholQR, type CholQrInfo, type CholQrOptions } from './cholqr.js';
import { householderQR } from './householder.js';

export interface QrOptions extends CholQrOptions {
  /** 'auto' (default): CholeskyQR with the Householder fallback; or force one method. */
  method?: 'auto' | 'cholqr' | 'householder';
}

export interface QrInfo {
  method: 'cholqr' | 'householder';
  cholqr?: CholQrInfo;
  /** Why CholeskyQR was abandoned (auto only). */
  fallback?: string;
}

export interface QrFull {
  Q: GpuStore;
  R: GpuStore;
  /** R on the host when the small steps ran there (else null). */
  Rhost: Float32Array | null;
  info: QrInfo;
}

/** Thin QR with the path taken. */
export async function qrFull(env: GpuEnv, a: DenseRef, opts: QrOptions = {}): Promise<QrFull> {
  let fallback: string | undefined;
  let cinfo: CholQrInfo | undefined;
  if (opts.method !== 'householder') {
    const c = await cholQR(env, a, opts);
    if (c.ok) return { Q: c.Q, R: c.R, Rhost: c.Rhost, info: { method: 'cholqr', cholqr: c.info } };
    if (opts.method === 'cholqr') throw new Error(`qr: CholeskyQR broke down (${c.reason})`);
    fallback = c.reason;
    cinfo = c.info;
  }
  const { Q, R } = householderQR(env, a);
  return { Q, R, Rhost: null, info: { method: 'householder', cholqr: cinfo, fallback } };
}
