/**
 * CRATE's two blocks (Yu et al. 2023, "White-box transformers via sparse rate reduction"): multi-head
 * subspace self-attention (MSSA, a gradient step on the compression term sum_k R(U_k^T Z)) and one ISTA
 * sparsification step.
 *
 * Layout: Z is n x D with ONE TOKEN PER ROW (the paper writes D x n); U is an array of K subspace bases
 * U_k, each D x p_k. With Y_k = Z U_k (n x p_k, the paper's (U_k^T Z)^T):
 *
 *   'paper':      SSA_k = softmax_rows(Y_k Y_k^T) Y_k,           MSSA = sum_k (p_k / (n eps2)) SSA_k U_k^T   (n x D)
 *   'crate-code': H_k = softmax_rows(Y_k Y_k^T / sqrt(p_k)) Y_k,  MSSA = [H_1 ... H_K] W_out^T + 1 b^T
 *
 * The 'crate-code' form is what Ma-Lab-Berkeley/CRATE's model/crate.py computes: one bias-free
 * Linear(dim, heads * dim_head) gives Q = K = V = U_k^T z (so U_k = (rows k p .. (k+1) p of that weight)^T),
 * temperature dim_head^-1/2, and a learned output Linear with bias (`out: { weight, bias }`, PyTorch's
 * (out_features x in_features) layout; without `out` the concatenated heads n x sum p_k come back). The
 * code applies LayerNorm before both blocks and adds the residual (x = attn(norm(x)) + x); neither is done
 * here. The layer of the paper is Z + mssa(Z, U).
 *
 * Host / device: the projections and products are engine GEMMs; the engine has no element-wise exp, so
 * each head's n x n score matrix is read to the host, soft-maxed in f64 and uploaded (n <= 4096 tokens).
 */
import type { Engine } from '../../engine.js';
import { checkOneOf, checkOptions, describeValue, rangeError, typeError, firstNonFinite } from '../../errors.js';
import type { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { checkFiniteMat, checkMat } from '../common.js';
import { checkPositive } from './codingrate.js';

export interface MssaOptions<D extends DType = DType> {
  /** 'paper' (default) or 'crate-code' (see the module comment). */
  form?: 'paper' | 'crate-code';
  /** eps^2 of the paper form's step p / (n eps2); required for 'paper'. */
  eps2?: number;
  /** 'crate-code' only: the output Linear, weight Dout x sum p_k (PyTorch layout) and bias (length Dout). */
  out?: { weight: Mat<D>; bias?: ArrayLike<number> };
}

export interface IstaOptions {
  /** Step size (default 0.1, CRATE's). */
  eta?: number;
  /** Sparsity weight (default 0.1, CRATE's); the threshold is eta * lambda. */
  lambda?: number;
}

/** Largest token count for the host softmax. */
export const MSSA_MAX_TOKENS = 4096;

/** Row-wise softmax of s * S (n x n, row-major, f64). */
function softmaxRows(S: ArrayLike<number>, n: number, s: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let j = 0; j < n; j++) mx = Math.max(mx, s * S[i * n + j]);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += out[i * n + j] = Math.exp(s * S[i * n + j] - mx);
    for (let j = 0; j < n; j++) out[i * n + j] /= sum;
  }
  return out;
}

/**
 * Multi-head subspace self-attention of the tokens Z (n x D) with the subspaces U[k] (D x p_k), in the
 * paper's form or the form CRATE's code implements. Returns n x D ('paper', or 'crate-code' with `out`)
 * or n x sum p_k ('crate-code' without `out`), owned by the caller.
 */
export async function mssa<D extends DType>(Z: Mat<D>, U: Mat<D>[], options?: MssaOptions<D>): Promise<Mat<D>> {
  const fn = 'mssa';
  checkMat(fn, 'Z', Z);
  if (!Array.isArray(U) || U.length === 0) throw typeError(fn, `'U' must be a non-empty array of D x p Mats, got ${describeValue(U)}`);
  const eng = Z.engine as Engine<D>;
  const n = Z.rows,
    Dm = Z.cols;
  U.forEach((Uk, k) => {
    checkMat(fn, `U[${k}]`, Uk);
    if (Uk.engine !== Z.engine) throw rangeError(fn, `'U[${k}]' belongs to another engine than 'Z'`);
    if (Uk.rows !== Dm) throw rangeError(fn, `'U[${k}]' is ${Uk.rows} x ${Uk.cols} but Z has ${Dm} columns (U[k] must be D x p)`);
  });
  const o = checkOptions<MssaOptions<D>>(fn, options, ['form', 'eps2', 'out']);
  const form = checkOneOf(fn, 'form', o.form, ['paper', 'crate-code'] as const, 'paper');
  if (n > MSSA_MAX_TOKENS) throw rangeError(fn, `'Z' has ${n} tokens; the host softmax accepts n <= ${MSSA_MAX_TOKENS}`);
  const ptot = U.reduce((s, Uk) => s + Uk.cols, 0);
  let eps2 = 0;
  let W: Mat<D> | null = null;
  let bias: Float64Array | null = null;
  if (form === 'paper') {
    if (o.eps2 === undefined) throw typeError(fn, `option 'eps2' (eps^2 > 0) is required for form 'paper'`);
    eps2 = checkPositive(fn, 'eps2', o.eps2);
    if (o.out !== undefined) throw rangeError(fn, `option 'out' belongs to form 'crate-code'`);
  } else {
    if (o.eps2 !== undefined) throw rangeError(fn, `option 'eps2' belongs to form 'paper'`);
    if (o.out !== undefined) {
      if (o.out === null || typeof o.out !== 'object') throw typeError(fn, `'out' must be { weight, bias? }`);
      W = checkMat<D>(fn, 'out.weight', o.out.weight);
      if (W.engine !== Z.engine) throw rangeError(fn, `'out.weight' belongs to another engine than 'Z'`);
      if (W.cols !== ptot) throw rangeError(fn, `'out.weight' is ${W.rows} x ${W.cols}; expected Dout x ${ptot} (sum of the heads' p)`);
      if (o.out.bias !== undefined) {
        const b = o.out.bias;
        if (b === null || typeof b !== 'object' || typeof b.length !== 'number')
          throw typeError(fn, `'out.bias' must be an array of numbers`);
        if (b.length !== W.rows) throw rangeError(fn, `'out.bias' has ${b.length} entries, expected ${W.rows}`);
        bias = Float64Array.from(b);
        const bad = firstNonFinite(bias);
        if (bad >= 0) throw rangeError(fn, `'out.bias' has a non-finite entry at ${bad}`);
      }
    }
  }
  await checkFiniteMat(fn, 'Z', Z);
  return eng.scope(async () => {
    const heads: Mat<D>[] = [];
    for (const Uk of U) {
      const p = Uk.cols;
      const Y = await eng.matmul(Z, Uk); // n x p
      const S = await (await eng.matmul(Y, Y, { transB: true })).toArray();
      const A = eng.matrix(softmaxRows(S, n, form === 'paper' ? 1 : 1 / Math.sqrt(p)), n, n);
      heads.push(await eng.matmul(A, Y, form === 'paper' ? { alpha: p / (n * eps2) } : undefined));
    }
    const H = heads.length === 1 ? heads[0] : await eng.hstack(heads); // n x sum p
    if (form === 'paper') {
      const Ucat = U.length === 1 ? U[0] : await eng.hstack(U);
      return eng.matmul(H, Ucat, { transB: true });
    }
    if (!W) return H;
    if (!bias) return eng.matmul(H, W, { transB: true });
    const Ha = await eng.hstack([H, eng.ones(n, 1)]);
    const Wa = await eng.hstack([W, eng.matrix(bias, W.rows, 1)]);
    return eng.matmul(Ha, Wa, { transB: true });
  });
}

/**
 * One ISTA step of CRATE's sparsification block on the tokens Z (n x D, one per row) with a square
 * dictionary Dict (D x D): z <- ReLU(z + eta (Dict^T z - Dict^T Dict z) - eta lambda), i.e. in rows
 * Z <- ReLU(Z + eta (Z Dict - Z Dict^T Dict) - eta lambda) (CRATE's FeedForward: x1 = x W^T, grad_1 = x1 W,
 * grad_2 = x W). All on the device (ReLU(x) = (x + sign(x) x) / 2). Returns n x D, owned by the caller.
 */
export async function istaStep<D extends DType>(Z: Mat<D>, Dict: Mat<D>, options?: IstaOptions): Promise<Mat<D>> {
  const fn = 'istaStep';
  checkMat(fn, 'Z', Z);
  checkMat(fn, 'D', Dict);
  if (Dict.engine !== Z.engine) throw rangeError(fn, `'D' belongs to another engine than 'Z'`);
  if (Dict.rows !== Dict.cols || Dict.rows !== Z.cols)
    throw rangeError(fn, `'D' must be square D x D with D = Z's ${Z.cols} columns, got ${Dict.rows} x ${Dict.cols}`);
  const o = checkOptions<IstaOptions>(fn, options, ['eta', 'lambda']);
  const eta = checkPositive(fn, 'eta', o.eta, 0.1);
  let lambda = 0.1;
  if (o.lambda !== undefined) {
    if (typeof o.lambda !== 'number') throw typeError(fn, `'lambda' must be a number, got ${describeValue(o.lambda)}`);
    if (!Number.isFinite(o.lambda) || o.lambda < 0) throw rangeError(fn, `'lambda' must be a finite number >= 0, got ${o.lambda}`);
    lambda = o.lambda;
  }
  const eng = Z.engine as Engine<D>;
  await checkFiniteMat(fn, 'Z', Z);
  return eng.scope(async () => {
    const ZD = await eng.matmul(Z, Dict); // rows: Dict^T z
    const ZDt = await eng.matmul(Z, Dict, { transB: true }); // rows: Dict z
    const ZDtD = await eng.matmul(ZDt, Dict); // rows: Dict^T Dict z
    const step = await eng.axpby(eta, ZD, -eta, ZDtD);
    const pre = await eng.axpby(1, await eng.add(Z, step), 1, eng.full(Z.rows, Z.cols, -eta * lambda));
    const abs = await eng.hadamard(await eng.sign(pre), pre);
    return eng.axpby(0.5, pre, 0.5, abs);
  });
}
