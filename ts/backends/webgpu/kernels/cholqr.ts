/**
 * Tall-skinny QR by CholeskyQR passes (Yamamoto et al., ETNA 2015; shifted variant: Fukaya, Kannan,
 * Nakatsukasa, Yamamoto, Yanagisawa, SISC 2020). The Householder fallback is decided by the caller.
 *
 * One pass: G = Q^T Q (GEMM on the device), G + s I = L L^T, Q <- Q L^-T (GEMM with L^-1). The n x n
 * steps run on the host through the native addon when n <= HOST_MAX (the Gram matrix is then the only
 * readback: n^2 * 4 bytes per pass), else on the device (blocked Cholesky and TRSM; per pass a few
 * bytes come back: failure flag, diag(L), ||G - I||_F). R = L_last^T ... L_1^T.
 *
 * Pass rules (f32, u = 2^-24):
 *   1. Unshifted route (CholeskyQR2): taken when G = A^T A is positive definite and kappa(L) <=
 *      KAPPA_CHOLQR2 = 1e3, inside CholeskyQR2's kappa(A) <~ u^-1/2 ~ 4e3 limit. kappa(L) is a
 *      power-iteration estimate of ||L||_2 ||L^-1||_2 on the host, max l_ii / min l_ii on the device;
 *      for the Gram of an already orthogonalized Q with delta = ||G - I||_F < 1 it is the bound
 *      sqrt((1 + delta) / (1 - delta)) instead.
 *   2. Shifted route (shifted CholeskyQR3): the first pass factors A^T A + s I. Fukaya et al.'s shift
 *      s_safe = 11 (m n + n (n + 1)) u ||A||_F^2 provably keeps that Cholesky from breaking down, but in
 *      f32 it is so large (s / ||A||_2^2 ~ 0.1 already at 2000 x 32) that the shifted pass only divides
 *      kappa by ~3, and the next Gram is not positive definite once kappa(A) >~ 1e4. So the shift is
 *      taken from a ladder s_lo = (sqrt(m) + n + 1) u ||A||_F^2 (the typical rather than worst-case
 *      rounding level of the Gram and its Cholesky), sqrt(s_lo s_safe), s_safe, smallest first.
 *      kappa(Q_1) ~ kappa(A) sqrt(s) / ||A||_2, so the smallest working shift reaches furthest
 *      (kappa(A) up to ~1e6 in f32).
 *   In both routes passes 1 and 2 are one verified unit: a route (a rung) is accepted when the
 *   Cholesky of A^T A (+ s I) and the Cholesky of the next Gram both succeed, with kappa(L_2) <=
 *   KAPPA_LATER = 1e4 (beyond which a pass cannot make Q orthonormal). A rejected unshifted route
 *   moves on to the ladder.
 *   3. Every later pass factors the Gram of the current Q unshifted; delta = ||G - I||_F comes with
 *      that Gram (free: it is read for the host Cholesky). Passes continue until one has been applied
 *      to a Gram with delta <= DELTA_DONE = 0.5 (kappa(Q)^2 <= 3): the "last Gram near the identity"
 *      check, which is what makes the final Q orthonormal to working accuracy. Typically 2 passes
 *      (unshifted) or 3 (shifted).
 *   Breakdown (the caller falls back to Householder QR): a non-finite Gram; no route accepted; a later
 *   Gram that is not positive definite or has kappa(L) > KAPPA_LATER; or no Gram within DELTA_DONE of
 *   I after MAX_PASSES = 4 passes.
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { HOST_MAX, hostRef, type GpuEnv } from '../env.js';
import { deviceCholesky } from './chol.js';
import * as fill from './fill.js';
import { matmul } from './gemm.js';
import { norm } from './reduce.js';
import { encodeTrsm } from './solve_triangular.js';
import { addDiag, block, copyOf, ref, release, triangle } from './util.js';

export const KAPPA_CHOLQR2 = 1e3;
export const KAPPA_LATER = 1e4;
export const DELTA_DONE = 0.5;
export const MAX_PASSES = 4;
const U32 = 2 ** -24;

export interface CholQrOptions {
  /** Run the n x n steps on the device even when n <= HOST_MAX (tests). */
  deviceSmall?: boolean;
  /** Skip the unshifted first pass (tests). */
  forceShift?: boolean;
}

export interface CholQrInfo {
  /** Passes applied (2 for CholeskyQR2, 3 for shifted CholeskyQR3 on typical inputs). */
  passes: number;
  /** The first pass was shifted; `shift` is the accepted s (0 when unshifted). */
  shifted: boolean;
  shift: number;
  /** Shifts tried and rejected. */
  rejectedShifts: number[];
  /** Where the n x n steps ran. */
  small: 'host' | 'device';
  /** ||G - I||_F of each Gram after the first. */
  deltas: number[];
  /** kappa(L) estimates of the accepted factors. */
  kappas: number[];
}

export type CholQrResult =
  | { ok: true; Q: GpuStore; R: GpuStore; Rhost: Float32Array | null; info: CholQrInfo }
  | { ok: false; reason: string; info: CholQrInfo };

/** A factored Gram: L^-1 on the device, L wherever the R product is formed, a kappa(L) estimate. */
interface Factor {
  linv: GpuStore;
  L: unknown;
  kappa: number;
}

/** The n x n steps: on the host (native addon) or on the device. */
interface Small {
  /**
   * Takes ownership of the device Gram; returns a handle for factor(), delta = ||G - I||_F and (host
   * only) the trace.
   */
  gram(g: GpuStore): Promise<{ h: unknown; delta: number; trace: number | null }>;
  /**
   * Cholesky of G + shift I and L^-1; null when not positive definite. With `delta` = ||G - I||_F < 1
   * the bound kappa(L) <= sqrt((1 + delta) / (1 - delta)) replaces the estimate.
   */
  factor(h: unknown, shift: number, delta?: number): Promise<Factor | null>;
  /** R <- L^T R (and frees the factor). */
  accept(f: Factor): Promise<void>;
  /** Frees a factor that is not used. */
  reject(f: Factor): void;
  drop(h: unknown): void;
  /** Forgets the accumulated R. */
  resetR(): void;
  result(): { R: GpuStore; Rhost: Float32Array | null };
  dispose(): void;
}

/** kappa(L) <= sqrt(kappa(G)) <= sqrt((1 + delta) / (1 - delta)) when ||G - I||_2 <= delta < 1. */
function kappaBound(delta: number | undefined): number | null {
  return delta !== undefined && delta < 1 ? Math.sqrt((1 + delta) / (1 - delta)) : null;
}

/** ||L||_2 of a lower-triangular n x n row-major matrix by power iteration on L^T L (f64). */
function norm2(L: Float32Array, n: number, iters = 8): number {
  let x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = 1 + ((i * 7919) % 17) / 17; // fixed, generic start
  let est = 0;
  for (let it = 0; it < iters; it++) {
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const row = i * n;
      let y = 0;
      for (let j = 0; j <= i; j++) y += L[row + j] * x[j];
      if (y !== 0) for (let j = 0; j <= i; j++) z[j] += L[row + j] * y;
    }
    let nz = 0,
      nx = 0;
    for (let i = 0; i < n; i++) {
      nz += z[i] * z[i];
      nx += x[i] * x[i];
    }
    nz = Math.sqrt(nz);
    if (nz === 0 || !Number.isFinite(nz)) return nz === 0 ? 0 : Infinity;
    est = Math.sqrt(nz / Math.sqrt(nx));
    for (let i = 0; i < n; i++) z[i] /= nz;
    x = z;
  }
  return est;
}

class HostSmall implements Small {
  private R: Float32Array | null = null;
  constructor(
    private readonly env: GpuEnv,
    private readonly n: number,
  ) {}

  async gram(g: GpuStore) {
    const n = this.n;
    const h = new Float32Array(await this.env.ctx.read(g.buffer, 0, n * n * 4));
    release(this.env, g);
    let delta = 0,
      trace = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const v = h[i * n + j];
        delta += (v - (i === j ? 1 : 0)) ** 2;
        if (i === j) trace += v;
      }
    return { h, delta: Math.sqrt(delta), trace };
  }

  async factor(h: unknown, shift: number, delta?: number): Promise<Factor | null> {
    const n = this.n;
    let g = h as Float32Array;
    if (shift !== 0) {
      g = g.slice();
      for (let i = 0; i < n; i++) g[i * n + i] += shift;
    }
    let L: Float32Array;
    try {
      L = (await this.env.host.cholesky(hostRef(g, n, n))) as Float32Array;
    } catch (e) {
      if (e instanceof RangeError) return null;
      throw e;
    }
    for (let i = 0; i < n; i++) if (!(L[i * n + i] > 0) || !Number.isFinite(L[i * n + i])) return null;
    const eye = new Float32Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    const linvHost = (await this.env.host.solveTriangular(hostRef(L, n, n), hostRef(eye, n, n), true, false)) as Float32Array;
    const kappa = kappaBound(delta) ?? norm2(L, n) * norm2(linvHost, n);
    return { linv: this.env.ctx.upload(linvHost), L, kappa: Number.isFinite(kappa) ? kappa : Infinity };
  }

  async accept(f: Factor) {
    const n = this.n;
    const L = f.L as Float32Array;
    release(this.env, f.linv);
    if (!this.R) {
      const R = new Float32Array(n * n);
      for (let i = 0; i < n; i++) for (let j = i; j < n; j++) R[i * n + j] = L[j * n + i];
      this.R = R;
    } else {
      this.R = (await this.env.host.matmul(hostRef(L, n, n), hostRef(this.R, n, n), true, false, 1)) as Float32Array;
    }
  }

  reject(f: Factor) {
    release(this.env, f.linv);
  }

  drop() {}

  resetR() {
    this.R = null;
  }

  result() {
    const R = this.R!;
    return { R: this.env.ctx.upload(R.slice()), Rhost: R };
  }

  dispose() {}
}

class DeviceSmall implements Small {
  private R: GpuStore | null = null;
  constructor(
    private readonly env: GpuEnv,
    private readonly n: number,
  ) {}

  async gram(g: GpuStore) {
    const n = this.n;
    const d = copyOf(this.env, g, n, n);
    addDiag(this.env, d, n, n, -1);
    const delta = await norm(this.env, ref(d, n, n), 'fro');
    release(this.env, d);
    return { h: g, delta, trace: null };
  }

  async factor(h: unknown, shift: number, delta?: number): Promise<Factor | null> {
    const env = this.env,
      n = this.n;
    const { L, failedAt } = await deviceCholesky(env, h as GpuStore, n, shift);
    if (failedAt !== 0) {
      release(env, L);
      return null;
    }
    // diag(L) for the kappa estimate (n floats).
    const dg = env.ctx.alloc(n * 4);
    block(env, L, dg, { rows: n, cols: 1, lds: n + 1, ldd: 1 });
    const diag = new Float32Array(await env.ctx.read(dg.buffer, 0, n * 4));
    release(env, dg);
    let lo = Infinity,
      hi = 0;
    for (const v of diag) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (!(lo > 0) || !Number.isFinite(hi)) {
      release(env, L);
      return null;
    }
    const eye = fill.eye(env, n, n);
    const { X: linv, flag } = encodeTrsm(env, L, n, eye, n, true, false); // diag(L) > 0 checked above
    release(env, eye, flag);
    return { linv, L, kappa: kappaBound(delta) ?? hi / lo };
  }

  async accept(f: Factor) {
    const env = this.env,
      n = this.n;
    const L = f.L as GpuStore;
    if (!this.R) this.R = triangle(env, L, n, 'upper', true);
    else {
      const next = matmul(env, ref(L, n, n), ref(this.R, n, n), true, false, 1);
      release(env, this.R);
      this.R = next;
    }
    release(env, L, f.linv);
  }

  reject(f: Factor) {
    release(this.env, f.L as GpuStore, f.linv);
  }

  drop(h: unknown) {
    release(this.env, h as GpuStore);
  }

  resetR() {
    if (this.R) release(this.env, this.R);
    this.R = null;
  }

  result() {
    const R = this.R!;
    this.R = null;
    return { R, Rhost: null };
  }

  dispose() {
    this.resetR();
  }
}

/**
 * CholeskyQR passes on the m x n matrix `a` (m >= n). On success Q and R are new device stores (and R
 * is also returned on the host when the small steps ran there); on breakdown every temporary is
 * released and the reason returned.
 */
export async function cholQR(env: GpuEnv, a: DenseRef, opts: CholQrOptions = {}): Promise<CholQrResult> {
  const { rows: m, cols: n } = a;
  const onHost = !opts.deviceSmall && n <= HOST_MAX;
  const small: Small = onHost ? new HostSmall(env, n) : new DeviceSmall(env, n);
  const info: CholQrInfo = {
    passes: 0,
    shifted: false,
    shift: 0,
    rejectedShifts: [],
    small: onHost ? 'host' : 'device',
    deltas: [],
    kappas: [],
  };
  const aStore = a._store as GpuStore;
  let Q: GpuStore | null = null; // owned; null while Q = A
  let g1: unknown = null;
  const gram = (q: GpuStore): GpuStore => matmul(env, ref(q, m, n), ref(q, m, n), true, false, 1);
  /** Q L^-T for the given Q (A when null); frees nothing. */
  const times = (q: GpuStore | null, f: Factor): GpuStore => matmul(env, ref(q ?? aStore, m, n), ref(f.linv, n, n), false, true, 1);
  const fail = (reason: string): CholQrResult => {
    if (Q) release(env, Q);
    if (g1 !== null) small.drop(g1);
    small.dispose();
    return { ok: false, reason, info };
  };

  const first = await small.gram(gram(aStore));
  g1 = first.h;
  if (!Number.isFinite(first.delta)) return fail('the Gram matrix A^T A is not finite');

  /**
   * Passes 1 and 2 as one verified unit: factor A^T A + sI, Q1 = A L1^-T, factor Q1^T Q1; accepted
   * when that second factorization succeeds with kappa(L2) <= KAPPA_LATER. Returns delta_2 or null.
   */
  const firstTwo = async (f1: Factor, s: number): Promise<number | null> => {
    const q1 = times(null, f1);
    const g2 = await small.gram(gram(q1));
    const f2 = Number.isFinite(g2.delta) ? await small.factor(g2.h, 0, g2.delta) : null;
    small.drop(g2.h);
    if (!f2 || f2.kappa > KAPPA_LATER) {
      if (f2) small.reject(f2);
      small.reject(f1);
      release(env, q1);
      return null;
    }
    Q = times(q1, f2);
    release(env, q1);
    info.kappas.push(f1.kappa, f2.kappa);
    info.deltas.push(g2.delta);
    await small.accept(f1);
    await small.accept(f2);
    info.shift = s;
    info.passes = 2;
    return g2.delta;
  };

  // ---- rule 1: unshifted first pass ----
  let lastDelta: number | null = null;
  if (!opts.forceShift) {
    const f = await small.factor(g1, 0);
    if (f && f.kappa <= KAPPA_CHOLQR2) lastDelta = await firstTwo(f, 0);
    else if (f) small.reject(f);
  }

  // ---- rule 2: shifted first pass from a verified ladder ----
  if (lastDelta === null) {
    info.shifted = true;
    const fro2 = first.trace ?? (await norm(env, a, 'fro')) ** 2;
    const sSafe = 11 * (m * n + n * (n + 1)) * U32 * fro2;
    const sLo = Math.min(sSafe, (Math.sqrt(m) + n + 1) * U32 * fro2);
    const ladder = sLo < sSafe ? [sLo, Math.sqrt(sLo * sSafe), sSafe] : [sSafe];
    for (const s of ladder) {
      const f1 = await small.factor(g1, s);
      lastDelta = f1 ? await firstTwo(f1, s) : null;
      if (lastDelta !== null) break;
      info.rejectedShifts.push(s);
    }
    if (lastDelta === null) return fail('no shift of the ladder gave two positive definite Gram matrices');
  }
  small.drop(g1);
  g1 = null;

  // ---- rule 3: unshifted passes until one is applied to a Gram near the identity ----
  while (lastDelta > DELTA_DONE) {
    const g = await small.gram(gram(Q!));
    info.deltas.push(g.delta);
    if (!Number.isFinite(g.delta)) {
      small.drop(g.h);
      return fail(`the Gram matrix of pass ${info.passes + 1} is not finite`);
    }
    const f = await small.factor(g.h, 0, g.delta);
    small.drop(g.h);
    if (!f) return fail(`the Gram matrix of pass ${info.passes + 1} is not positive definite`);
    if (f.kappa > KAPPA_LATER) {
      small.reject(f);
      return fail(`pass ${info.passes + 1}: kappa(L) ~ ${f.kappa.toExponential(1)} > ${KAPPA_LATER}`);
    }
    const next = times(Q, f);
    release(env, Q!);
    Q = next;
    info.kappas.push(f.kappa);
    await small.accept(f);
    info.passes++;
    lastDelta = g.delta;
    if (lastDelta > DELTA_DONE && info.passes >= MAX_PASSES)
      return fail(`no Gram matrix within ${DELTA_DONE} of I after ${MAX_PASSES} passes`);
  }
  const { R, Rhost } = small.result();
  small.dispose();
  return { ok: true, Q: Q!, R, Rhost, info };
}
