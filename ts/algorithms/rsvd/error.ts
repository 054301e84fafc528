/**
 * Accuracy of a truncated SVD A ~ U diag(S) V^T, without a dense SVD of A: the residual's spectral
 * norm by block power iteration on E = A - U S V^T (matrix-free: E X = A X - U (S .* (V^T X))), its
 * Frobenius norm, and the orthogonality of U and V. Ratios against the optimal errors when the caller
 * passes A's true singular values (`tail`) or asks for them (`exact`, small dense A).
 */
import type { Engine } from '../../engine.js';
import { checkBool, checkInt, checkOptions, firstNonFinite, rangeError, typeError } from '../../errors.js';
import { Mat, type SparseMat } from '../../mat.js';
import type { DType } from '../../types.js';
import { disposeAll } from '../common.js';
import { toOperator, type MatrixLike, type Operator } from '../operator.js';

export interface SvdErrorOptions {
  /**
   * The true singular values of A, descending: at least rank + 1 of them for the spectral ratio, all of
   * them (or all the non-zero ones) for the Frobenius ratio.
   */
  tail?: ArrayLike<number>;
  /** Compute A's singular values with a dense SVD (dense Mat only; small A). Default false. */
  exact?: boolean;
  /** Power iterations of the spectral-norm estimate (default 20, as fbpca's diffsnorm). */
  iters?: number;
  /** Block size of the power iteration (default 4). */
  block?: number;
  /** Seed of the power iteration's start block (default 0). */
  seed?: number;
}

export interface SvdErrorResult {
  /** ||A - U S V^T||_F / ||A||_F. */
  relResidualFro: number;
  /** ||A - U S V^T||_F. */
  residualFro: number;
  /** Power-iteration estimate of ||A - U S V^T||_2 (converges from below). */
  residualSpectral: number;
  /** ||U^T U - I||_F and ||V^T V - I||_F. */
  orthU: number;
  orthV: number;
  /** residualSpectral / sigma_{k+1}, when the true spectrum is known (k = S.length). */
  spectralRatio?: number;
  /** residualFro / tau_{k+1}, tau_{k+1} = sqrt(sum_{j > k} sigma_j^2), when the true spectrum is known. */
  frobeniusRatio?: number;
}

/**
 * @example
 * ```ts
 * const { U, S, V } = await rsvd(A, { rank: 10 });
 * const e = await svdError(A, { U, S, V }, { tail: trueSingularValues });
 * console.log(e.spectralRatio, e.frobeniusRatio, e.orthU);
 * ```
 */
export async function svdError<D extends DType>(
  A: MatrixLike<D>,
  factors: { U: Mat<D>; S: ArrayLike<number>; V: Mat<D> },
  options: SvdErrorOptions = {},
): Promise<SvdErrorResult> {
  const fn = 'svdError';
  const op = toOperator(fn, A);
  const { eng, rows: m, cols: n } = op;
  if (factors === null || typeof factors !== 'object') throw typeError(fn, `'factors' must be { U, S, V }`);
  const { U, S, V } = factors;
  eng._mats(fn, { U, V });
  if (!(S instanceof Float64Array || S instanceof Float32Array || Array.isArray(S)))
    throw typeError(fn, `'S' must be a Float64Array or number[]`);
  const k = S.length;
  if (U.rows !== m || V.rows !== n || U.cols !== k || V.cols !== k)
    throw rangeError(fn, `U (${U.rows} x ${U.cols}), S (${k}) and V (${V.rows} x ${V.cols}) do not fit A (${m} x ${n})`);
  if (firstNonFinite(S) >= 0) throw rangeError(fn, `'S' contains non-finite values`);
  const o = checkOptions<SvdErrorOptions>(fn, options, ['tail', 'exact', 'iters', 'block', 'seed']);
  const iters = o.iters === undefined ? 20 : checkInt(fn, 'iters', o.iters, 1, 10000);
  const block = Math.min(o.block === undefined ? 4 : checkInt(fn, 'block', o.block, 1, 256), n, m);
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  const exact = checkBool(fn, 'exact', o.exact, false);
  let tail: Float64Array | undefined;
  if (o.tail !== undefined) {
    tail = Float64Array.from(o.tail);
    if (firstNonFinite(tail) >= 0) throw rangeError(fn, `'tail' contains non-finite values`);
  }
  if (exact) {
    if (!(A instanceof Mat)) throw rangeError(fn, `'exact' needs a dense Mat (it runs a dense SVD of A)`);
    const full = await eng.svd(A);
    disposeAll(full.U, full.V);
    tail = full.S;
  }

  const s64 = Float64Array.from(S);
  const res = new ResidualOp(op, U, s64, V);
  const orthU = await orthDefect(eng, U);
  const orthV = await orthDefect(eng, V);
  const residualSpectral = await spectralEstimate(res, iters, block, seed);
  const { residual, normA } = await frobenius(A, op, res);
  const out: SvdErrorResult = {
    relResidualFro: normA > 0 ? residual / normA : residual,
    residualFro: residual,
    residualSpectral,
    orthU,
    orthV,
  };
  if (tail && tail.length > k) {
    if (tail[k] > 0) out.spectralRatio = residualSpectral / tail[k];
    let t = 0;
    for (let j = k; j < tail.length; j++) t += tail[j] * tail[j];
    if (t > 0) out.frobeniusRatio = residual / Math.sqrt(t);
  }
  return out;
}

/** ||M^T M - I||_F (the Gram matrix is k x k and comes back to the host). */
async function orthDefect<D extends DType>(eng: Engine<D>, M: Mat<D>): Promise<number> {
  const G = await eng.matmul(M, M, { transA: true });
  const g = await G.toArray();
  G.dispose();
  const k = M.cols;
  let s = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) s += (g[i * k + j] - (i === j ? 1 : 0)) ** 2;
  return Math.sqrt(s);
}

/** E = A - U diag(S) V^T as an operator. */
class ResidualOp<D extends DType> {
  constructor(
    readonly op: Operator<D>,
    readonly U: Mat<D>,
    readonly S: Float64Array,
    readonly V: Mat<D>,
  ) {}

  /** E X. */
  async apply(X: Mat<D>): Promise<Mat<D>> {
    return this.side(X, false);
  }

  /** E^T Y. */
  async applyT(Y: Mat<D>): Promise<Mat<D>> {
    return this.side(Y, true);
  }

  private async side(X: Mat<D>, trans: boolean): Promise<Mat<D>> {
    const eng = this.op.eng;
    const [near, far] = trans ? [this.V, this.U] : [this.U, this.V];
    const AX = trans ? await this.op.applyT(X) : await this.op.apply(X);
    const c = await eng.matmul(far, X, { transA: true }); // k x b
    const sc = await eng.scaleRows(c, this.S);
    const low = await eng.matmul(near, sc);
    const out = await eng.sub(AX, low);
    disposeAll(AX, c, sc, low);
    return out;
  }
}

/** Block power iteration on E^T E: an estimate of ||E||_2 from below. */
async function spectralEstimate<D extends DType>(E: ResidualOp<D>, iters: number, b: number, seed: number): Promise<number> {
  const eng = E.op.eng;
  let X = eng.randn(E.op.cols, b, { seed });
  try {
    for (let it = 0; it < iters; it++) {
      const { Q, R } = await eng.qr(X);
      disposeAll(X, R);
      const Y = await E.apply(Q);
      Q.dispose();
      X = await E.applyT(Y);
      Y.dispose();
    }
    const { Q, R } = await eng.qr(X);
    disposeAll(R);
    const Y = await E.apply(Q);
    Q.dispose();
    const G = await eng.matmul(Y, Y, { transA: true });
    Y.dispose();
    const { values, vectors } = await eng.eigh(G);
    G.dispose();
    vectors.dispose();
    return Math.sqrt(Math.max(0, values[0]));
  } finally {
    X.dispose();
  }
}

/** ||E||_F and ||A||_F: exact, by row blocks (dense), by the Gram identity (sparse), or by probing (operator). */
async function frobenius<D extends DType>(
  A: MatrixLike<D>,
  op: Operator<D>,
  E: ResidualOp<D>,
): Promise<{ residual: number; normA: number }> {
  const { eng, rows: m, cols: n } = op;
  const { U, S, V } = E;
  if (A instanceof Mat) {
    const US = await eng.scaleColumns(U, S);
    const rowsPerBlock = Math.max(1, Math.floor((16 << 20) / n));
    let e2 = 0;
    for (let r0 = 0; r0 < m; r0 += rowsPerBlock) {
      const r1 = Math.min(m, r0 + rowsPerBlock);
      const whole = r0 === 0 && r1 === m;
      const Ab = whole ? A : await eng.slice(A, { rows: [r0, r1] });
      const Ub = whole ? US : await eng.slice(US, { rows: [r0, r1] });
      const P = await eng.matmul(Ub, V, { transB: true });
      const Eb = await eng.sub(Ab, P);
      e2 += (await eng.norm(Eb)) ** 2;
      disposeAll(whole ? null : Ab, whole ? null : Ub, P, Eb);
    }
    US.dispose();
    return { residual: Math.sqrt(e2), normA: await eng.norm(A) };
  }
  if (op.kind === 'sparse') {
    // ||E||^2 = ||A||^2 - 2 sum_i s_i u_i^T A v_i + sum_ij s_i s_j (U^T U)_ij (V^T V)_ij. Accurate to about
    // u ||A||^2 / ||E||^2 relative (cancellation), which is ample unless the residual is tiny.
    const a2 = (await eng.norm(A as SparseMat<D>)) ** 2; // over the stored values, on the device
    const AV = await op.apply(V);
    const W = await eng.matmul(U, AV, { transA: true });
    const GU = await eng.matmul(U, U, { transA: true });
    const GV = await eng.matmul(V, V, { transA: true });
    const [w, gu, gv] = [await W.toArray(), await GU.toArray(), await GV.toArray()];
    disposeAll(AV, W, GU, GV);
    const k = S.length;
    let cross = 0,
      low = 0;
    for (let i = 0; i < k; i++) {
      cross += S[i] * w[i * k + i];
      for (let j = 0; j < k; j++) low += S[i] * S[j] * gu[i * k + j] * gv[i * k + j];
    }
    return { residual: Math.sqrt(Math.max(0, a2 - 2 * cross + low)), normA: Math.sqrt(a2) };
  }
  // Matrix-free: probe with blocks of identity columns (n matvecs in total).
  let e2 = 0,
    a2 = 0;
  const b = Math.min(n, 64);
  for (let c0 = 0; c0 < n; c0 += b) {
    const c1 = Math.min(n, c0 + b);
    const host = eng.dtype === 'f64' ? new Float64Array(n * (c1 - c0)) : new Float32Array(n * (c1 - c0));
    for (let j = c0; j < c1; j++) host[j * (c1 - c0) + (j - c0)] = 1;
    const X = eng.matrix(host, n, c1 - c0);
    const AX = await op.apply(X);
    a2 += (await eng.norm(AX)) ** 2;
    AX.dispose();
    const EX = await E.apply(X);
    e2 += (await eng.norm(EX)) ** 2;
    disposeAll(X, EX);
  }
  return { residual: Math.sqrt(e2), normA: Math.sqrt(a2) };
}
