/**
 * Adapters that train a few numbers on top of a frozen weight:
 *
 * - LoRA-SB (Ponkshe, Singhal et al. 2024) on the LoRA-XS architecture: h = W0 x + s B R A x with B
 *   (out x r) and A (r x in) frozen with orthonormal columns / rows and only R (r x r) trained.
 *   {@link loraSBInit} sets B = U_r, A = V_r^T, R = Sigma_r / s from a truncated SVD of an estimate of the
 *   first full fine-tuning update (spec §3), so that s B R A is its optimal rank-r approximation.
 *   {@link loraSBFirstUpdate} forms that estimate from summed gradients; {@link loraXS} holds the step
 *   helpers (g_R = s B^T G A^T and the equivalent full update s B g_R A).
 * - SVFit (Sun et al. 2024): {@link svfitAdapter} trains only the r kept singular values.
 *
 * Everything stays on the engine (device) except R's r x r diagonal at init and SVFit's r values.
 */
import { checkFinite, checkOneOf, checkOptions, describeValue, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { checkMat, disposeAll, finiteMat } from '../common.js';
import { checkRank, checkSelection, tailNorm, type RankSelection } from '../model/spectrum.js';
import { svfitInit, svfitSigmaGrad, type SvfitOptions } from '../model/svfit.js';
import { rsvd } from '../rsvd/rsvd.js';

// ---- LoRA-SB -----------------------------------------------------------------------------------

export interface LoraSBInitOptions {
  /** Adapter rank r, 1 <= r <= min(out, in). Required. */
  rank: number;
  /** s = alpha / r of the adapter (default 1: the reference always sets lora_alpha = r). Finite, non-zero. */
  scale?: number;
  /**
   * 'exact' (default): the engine's full SVD cut to r, so s B R A is exactly the Eckart-Young optimum.
   * 'randomized': rsvd at rank r with oversampling (default 10) and power iterations (default 'auto').
   */
  svd?: 'exact' | 'randomized';
  /** Oversampling p for 'randomized' (default 10; the reference uses 0). */
  oversample?: number;
  /** Power iterations for 'randomized' (default 'auto'; the reference uses 10). */
  powerIters?: number | 'auto';
  /** Seed of rsvd's test matrix (default 0). */
  seed?: number;
}

export interface LoraSBInitResult<D extends DType = DType> {
  /** out x r, orthonormal columns (U_r), frozen. Owned by the caller. */
  B: Mat<D>;
  /** r x r, the trainable matrix, initialized to diag(sigma) / scale. Owned by the caller. */
  R: Mat<D>;
  /** r x in, orthonormal rows (V_r^T), frozen. Owned by the caller. */
  A: Mat<D>;
  /** The r leading singular values of the estimate, descending. */
  sigma: Float64Array;
  rank: number;
  scale: number;
  /**
   * ||dW - s B R A||_F = tau_{r+1}(dW) = sqrt(sum_{i>r} sigma_i^2) from the full spectrum ('exact'); null
   * for 'randomized' (no full spectrum computed).
   */
  tail: number | null;
  /** Trainable parameters: r^2. */
  trainableParams: number;
}

/**
 * LoRA-SB's initialization from an estimate of the first full update dW_1 (out x in; see
 * {@link loraSBFirstUpdate}): the truncated SVD dW_1 ~ U_r Sigma_r V_r^T gives B = U_r, A = V_r^T,
 * R = Sigma_r / s, so s B R A is the optimal rank-r approximation of dW_1 (the first step is "already
 * applied" at init).
 *
 * The reference (lora-sb utils/svd_utils.py) runs torch.svd_lowrank on dW^T with q = r, niter = 10 and no
 * oversampling and casts the factors to bfloat16, so its B, A are orthonormal only to ~1e-3. Here the
 * default is the exact SVD (orthonormal to the working precision); 'randomized' uses rsvd with
 * oversampling (p = 10 by default), which the reference lacks.
 *
 * @throws TypeError/RangeError naming 'loraSBInit' and the argument: gradEstimate not a Mat or non-finite,
 *   rank outside [1, min(out, in)], scale zero or non-finite, unknown options.
 */
export async function loraSBInit<D extends DType>(gradEstimate: Mat<D>, options: LoraSBInitOptions): Promise<LoraSBInitResult<D>> {
  const fn = 'loraSBInit';
  const G = await finiteMat<D>(fn, 'gradEstimate', gradEstimate);
  const eng = G.engine;
  if (options === null || typeof options !== 'object') throw typeError(fn, `options must be { rank, ... }, got ${describeValue(options)}`);
  const o = checkOptions<LoraSBInitOptions>(fn, options, ['rank', 'scale', 'svd', 'oversample', 'powerIters', 'seed']);
  const kmax = Math.min(G.rows, G.cols);
  const r = checkRank(fn, 'rank', o.rank, kmax);
  const s = checkFinite(fn, 'scale', o.scale ?? 1);
  if (s === 0) throw rangeError(fn, `'scale' must be non-zero`);
  const method = checkOneOf(fn, 'svd', o.svd, ['exact', 'randomized'] as const, 'exact');
  let U: Mat<D>, S: Float64Array, V: Mat<D>;
  let tail: number | null = null;
  if (method === 'exact') {
    const f = await eng.svd(G);
    tail = tailNorm(f.S, r);
    S = f.S.slice(0, r);
    try {
      U = r === kmax ? f.U : await eng.slice(f.U, { cols: [0, r] });
      try {
        V = r === kmax ? f.V : await eng.slice(f.V, { cols: [0, r] });
      } catch (e) {
        if (U !== f.U) U.dispose();
        throw e;
      }
    } finally {
      if (r !== kmax) disposeAll(f.U, f.V);
    }
  } else {
    const res = await rsvd(G, { rank: r, oversample: o.oversample ?? 10, powerIters: o.powerIters ?? 'auto', seed: o.seed ?? 0 });
    U = res.U;
    S = res.S;
    V = res.V;
  }
  let A: Mat<D> | undefined;
  try {
    A = await eng.transpose(V);
    const diag = new Float64Array(r * r);
    for (let i = 0; i < r; i++) diag[i * r + i] = S[i] / s;
    const R = eng.matrix(eng.dtype === 'f64' ? diag : Float32Array.from(diag), r, r);
    return { B: U, R, A, sigma: S, rank: r, scale: s, tail, trainableParams: r * r };
  } catch (e) {
    disposeAll(U, A);
    throw e;
  } finally {
    V.dispose();
  }
}

export interface LoraSBFirstUpdateOptions {
  /**
   * 'adam' (default): the first bias-corrected Adam step is -lr sign(g), so dW_1 ~ -lr sign(sum_b g_b).
   * 'sgd': dW_1 = -lr sum_b g_b.
   */
  optimizer?: 'adam' | 'sgd';
  /**
   * The learning rate of the first step (required, finite, > 0). The reference uses eta_eff =
   * lr / (warmup_ratio * total_steps), the linear-warmup LR at step 1.
   */
  lr: number;
}

/**
 * The estimate of the first full fine-tuning update that {@link loraSBInit} factors: the gradients (each
 * out x in, e.g. of loss / batch size over N_init batches; the reference's N_init is 170 for commonsense,
 * 50 arithmetic, 2 GLUE) are summed, then -lr sign(sum) for Adam or -lr sum for SGD. A new Mat.
 *
 * @throws TypeError/RangeError naming 'loraSBFirstUpdate': grads not a Mat or a non-empty array of Mats
 *   of one shape, lr not a positive finite number, optimizer not 'adam' | 'sgd'.
 */
export async function loraSBFirstUpdate<D extends DType>(grads: Mat<D> | Mat<D>[], options: LoraSBFirstUpdateOptions): Promise<Mat<D>> {
  const fn = 'loraSBFirstUpdate';
  const list = Array.isArray(grads) ? grads : [grads];
  if (list.length === 0) throw rangeError(fn, `'grads' is an empty array`);
  const first = checkMat<D>(fn, 'grads[0]', list[0]);
  const eng = first.engine;
  list.forEach((g, i) => {
    checkMat(fn, `grads[${i}]`, g, eng);
    if (g.rows !== first.rows || g.cols !== first.cols)
      throw rangeError(fn, `'grads[${i}]' is ${g.rows} x ${g.cols}, grads[0] is ${first.rows} x ${first.cols}`);
  });
  if (options === null || typeof options !== 'object')
    throw typeError(fn, `options must be { lr, optimizer? }, got ${describeValue(options)}`);
  const o = checkOptions<LoraSBFirstUpdateOptions>(fn, options, ['optimizer', 'lr']);
  const lr = checkFinite(fn, 'lr', o.lr);
  if (!(lr > 0)) throw rangeError(fn, `'lr' must be > 0, got ${lr}`);
  const opt = checkOneOf(fn, 'optimizer', o.optimizer, ['adam', 'sgd'] as const, 'adam');
  let sum: Mat<D> = await eng.scale(first, 1);
  try {
    for (let i = 1; i < list.length; i++) {
      const next = await eng.add(sum, list[i]);
      sum.dispose();
      sum = next;
    }
    if (opt === 'sgd') return await eng.scale(sum, -lr);
    const sg = await eng.sign(sum);
    try {
      return await eng.scale(sg, -lr);
    } finally {
      sg.dispose();
    }
  } finally {
    sum.dispose();
  }
}

// ---- LoRA-XS step helpers ---------------------------------------------------------------------------

function checkScale(fn: string, options: unknown): number {
  const o = checkOptions<{ scale: number }>(fn, options, ['scale']);
  const s = checkFinite(fn, 'scale', o.scale ?? 1);
  if (s === 0) throw rangeError(fn, `'scale' must be non-zero`);
  return s;
}

function checkBA<D extends DType>(fn: string, B: unknown, A: unknown): { B: Mat<D>; A: Mat<D>; r: number } {
  const b = checkMat<D>(fn, 'B', B);
  const a = checkMat<D>(fn, 'A', A, b.engine);
  if (a.rows !== b.cols) throw rangeError(fn, `'B' is ${b.rows} x ${b.cols} and 'A' is ${a.rows} x ${a.cols}: need B out x r, A r x in`);
  return { B: b, A: a, r: b.cols };
}

/**
 * LoRA-XS step helpers (only R trains). With B (out x r) and A (r x in) orthonormal, the full update
 * equivalent to a step on R is s B g_R A = s^2 P_B G P_A, the projection of G onto the frozen subspaces.
 */
export const loraXS = {
  /**
   * g_R = dL/dR = s B^T G A^T (r x r) for the gradient G = dL/dW (out x in). A new Mat.
   *
   * @throws TypeError/RangeError naming 'loraXS.gradR': shapes disagree, scale zero or non-finite.
   */
  async gradR<D extends DType>(B: Mat<D>, G: Mat<D>, A: Mat<D>, options?: { scale?: number }): Promise<Mat<D>> {
    const fn = 'loraXS.gradR';
    const { B: b, A: a } = checkBA<D>(fn, B, A);
    const g = checkMat<D>(fn, 'G', G, b.engine);
    if (g.rows !== b.rows || g.cols !== a.cols) throw rangeError(fn, `'G' is ${g.rows} x ${g.cols}, need out x in = ${b.rows} x ${a.cols}`);
    const s = checkScale(fn, options);
    const eng = b.engine;
    const BtG = await eng.matmul(b, g, { transA: true });
    try {
      const M = await eng.matmul(BtG, a, { transB: true });
      if (s === 1) return M;
      try {
        return await eng.scale(M, s);
      } finally {
        M.dispose();
      }
    } finally {
      BtG.dispose();
    }
  },

  /**
   * s B M A (out x in): the full update equivalent to M (r x r; e.g. g_R, or R itself for the adapter's
   * weight delta). A new Mat.
   *
   * @throws TypeError/RangeError naming 'loraXS.effectiveUpdate': shapes disagree, scale zero or non-finite.
   */
  async effectiveUpdate<D extends DType>(B: Mat<D>, M: Mat<D>, A: Mat<D>, options?: { scale?: number }): Promise<Mat<D>> {
    const fn = 'loraXS.effectiveUpdate';
    const { B: b, A: a, r } = checkBA<D>(fn, B, A);
    const m = checkMat<D>(fn, 'gR', M, b.engine);
    if (m.rows !== r || m.cols !== r) throw rangeError(fn, `'gR' is ${m.rows} x ${m.cols}, need r x r = ${r} x ${r}`);
    const s = checkScale(fn, options);
    const eng = b.engine;
    const BM = await eng.matmul(b, m);
    try {
      const P = await eng.matmul(BM, a);
      if (s === 1) return P;
      try {
        return await eng.scale(P, s);
      } finally {
        P.dispose();
      }
    } finally {
      BM.dispose();
    }
  },
};

// ---- SVFit ------------------------------------------------------------------------------------------

/**
 * SVFit adapter for one weight W (m x n): W = U diag(sigma) V^T + residual with U, V, residual frozen
 * (device) and only the r values sigma (host Float64Array) trained. Create with {@link svfitAdapter}.
 */
export class SvfitAdapter<D extends DType = DType> {
  /** m x r, orthonormal columns (frozen). Owned by the adapter. */
  readonly U: Mat<D>;
  /** The r trainable singular values (initialized to the top r of W; updated in place by update()). */
  readonly sigma: Float64Array;
  /** n x r, orthonormal columns (frozen). Owned by the adapter. */
  readonly V: Mat<D>;
  /** W - U diag(sigma_0) V^T (frozen). Owned by the adapter. */
  readonly residual: Mat<D>;
  readonly rank: number;
  /** Energy kept by the top r at init. */
  readonly energy: number;
  private _disposed = false;

  constructor(init: { U: Mat<D>; sigma: Float64Array; V: Mat<D>; residual: Mat<D>; rank: number; energy: number }) {
    this.U = init.U;
    this.sigma = init.sigma;
    this.V = init.V;
    this.residual = init.residual;
    this.rank = init.rank;
    this.energy = init.energy;
  }

  /** Trainable parameters: r. */
  get trainableParams(): number {
    return this.rank;
  }

  private alive(fn: string): void {
    if (this._disposed) throw typeError(fn, `the adapter was disposed`);
  }

  /** The current weight U diag(sigma) V^T + residual (m x n, a new Mat); equals W at init to roundoff. */
  async weight(): Promise<Mat<D>> {
    this.alive('SvfitAdapter.weight');
    const eng = this.U.engine;
    const US = await eng.scaleColumns(this.U, this.sigma);
    try {
      const P = await eng.matmul(US, this.V, { transB: true });
      try {
        return await eng.add(P, this.residual);
      } finally {
        P.dispose();
      }
    } finally {
      US.dispose();
    }
  }

  /**
   * dL/dsigma_i = u_i^T G v_i (length r) for G = dL/dW (m x n).
   *
   * @throws TypeError/RangeError naming the function: G not a Mat of the adapter's engine or wrong shape.
   */
  async grad(G: Mat<D>): Promise<Float64Array> {
    const fn = 'SvfitAdapter.grad';
    this.alive(fn);
    const g = checkMat<D>(fn, 'G', G, this.U.engine);
    if (g.rows !== this.U.rows || g.cols !== this.V.rows)
      throw rangeError(fn, `'G' is ${g.rows} x ${g.cols}, need ${this.U.rows} x ${this.V.rows}`);
    return svfitSigmaGrad(this.U, g, this.V);
  }

  /**
   * sigma += delta (an optimizer's step, e.g. -lr * grad). Returns sigma.
   *
   * @throws TypeError/RangeError naming 'SvfitAdapter.update': delta not length r or non-finite.
   */
  update(delta: ArrayLike<number>): Float64Array {
    const fn = 'SvfitAdapter.update';
    this.alive(fn);
    if (!(delta instanceof Float64Array || delta instanceof Float32Array || Array.isArray(delta)))
      throw typeError(fn, `'delta' must be a Float64Array, Float32Array or number[], got ${describeValue(delta)}`);
    if (delta.length !== this.rank) throw rangeError(fn, `'delta' has length ${delta.length}, need r = ${this.rank}`);
    for (let i = 0; i < delta.length; i++)
      if (typeof delta[i] !== 'number' || !Number.isFinite(delta[i]))
        throw rangeError(fn, `'delta[${i}]' = ${describeValue(delta[i])} is not finite`);
    for (let i = 0; i < delta.length; i++) this.sigma[i] += delta[i];
    return this.sigma;
  }

  /** Frees U, V and the residual. Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    disposeAll(this.U, this.V, this.residual);
  }
}

/**
 * SVFit's adapter for W (m x n) from {@link svfitInit}: selection `{ energy }` (default 0.99, "capture >
 * 99%") or `{ rank }`; options as svfitInit ('exact' SVD by default).
 *
 * @throws TypeError/RangeError naming 'svfitAdapter' / 'svfitInit' and the argument.
 */
export async function svfitAdapter<D extends DType>(
  W: Mat<D>,
  selection: RankSelection = { energy: 0.99 },
  options?: SvfitOptions,
): Promise<SvfitAdapter<D>> {
  const fn = 'svfitAdapter';
  if (!(W instanceof Mat)) throw typeError(fn, `'W' must be a Mat, got ${describeValue(W)}`);
  checkSelection(fn, selection, Math.min(W.rows, W.cols));
  const init = await svfitInit(W, selection, options);
  return new SvfitAdapter<D>(init);
}
