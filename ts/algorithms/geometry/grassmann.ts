/**
 * Optimization on the Grassmann manifold in the Stiefel representation (GCR, Wang, Li, Zhang, ICCV 2023):
 * a point is a D x k matrix S with orthonormal columns standing for span(S). `grassmannStep` is one
 * Riemannian SGD step (GCR's rsgd: Euclidean momentum, projection to the tangent space, geodesic step or
 * a QR / polar retraction) and `grassmannLogits` is GCR's head, gamma ||S_c^T x / ||x||||.
 *
 * Host vs device: every D-sized quantity stays on the engine; only k x k matrices (Gram checks, R's
 * diagonal, the polar factor) come to the host.
 */
import type { Engine } from '../../engine.js';
import { checkBool, checkFinite, checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { checkFiniteMat, checkMat, disposeAll, unitRoundoff } from '../common.js';
import { symEigHost } from '../host-eig.js';

export type GrassmannRetraction = 'geodesic' | 'qr' | 'polar';

export interface GrassmannMomentum<D extends DType = DType> {
  /** Momentum factor mu in [0, 1) (GCR: 0.9). */
  beta: number;
  /** The Euclidean buffer returned by the previous step (absent on the first step: buffer = gradient). */
  buffer?: Mat<D>;
}

export interface GrassmannStepOptions<D extends DType = DType> {
  /** Step length t >= 0 (required; GCR: 0.1 with a cosine schedule). */
  lr: number;
  /** 'geodesic' (default, GCR's rsgd), 'qr' (sign-fixed Q of S - t xi) or 'polar' ((S - t xi)(I + t^2 xi^T xi)^-1/2). */
  retraction?: GrassmannRetraction;
  /** GCR's momentum: buf = beta buf + egrad (no dampening), then projected to the tangent space at S. */
  momentum?: GrassmannMomentum<D>;
  /** Re-orthonormalize the result with a sign-fixed QR (GCR does it every 5th step by a global counter). Default false. */
  reorthonormalize?: boolean;
  /** Largest accepted max |S^T S - I| (default sqrt(u): 2.4e-4 in f32, 1.5e-8 in f64). */
  orthTol?: number;
}

export interface GrassmannStepResult<D extends DType = DType> {
  /** The new point, D x k with orthonormal columns (owned by the caller). */
  S: Mat<D>;
  /** The new Euclidean momentum buffer (with `momentum` only; owned by the caller, pass it to the next step). */
  buffer?: Mat<D>;
}

const STEP_OPTIONS = ['lr', 'retraction', 'momentum', 'reorthonormalize', 'orthTol'] as const;

// ---- small host linear algebra (k x k, f64) ---------------------------------------------------------

// ---- argument checks ----------------------------------------------------------------------------------

function defaultOrthTol(dtype: DType): number {
  return Math.sqrt(unitRoundoff(dtype));
}

/** max |S^T S - I| (NaN when S is not finite); one k x k download. */
async function orthDefect<D extends DType>(eng: Engine<D>, S: Mat<D>): Promise<number> {
  const G = await eng.matmul(S, S, { transA: true });
  try {
    const g = await G.toArray();
    const k = S.cols;
    let m = 0;
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++) {
        const d = Math.abs(g[i * k + j] - (i === j ? 1 : 0));
        if (!(d <= m)) m = d; // NaN propagates
      }
    return m;
  } finally {
    G.dispose();
  }
}

async function checkOrthonormal<D extends DType>(fn: string, name: string, S: Mat<D>, tol: number): Promise<void> {
  const e = await orthDefect(S.engine, S);
  if (Number.isNaN(e)) throw rangeError(fn, `'${name}' contains NaN or Infinity`);
  if (e > tol)
    throw rangeError(
      fn,
      `'${name}' does not have orthonormal columns (max |S^T S - I| = ${e.toExponential(2)} > orthTol ${tol.toExponential(2)}); ` +
        `orthonormalize it first (reorthonormalize(S) or engine.qr)`,
    );
}

/**
 * The sign-fixed thin QR factor of a D x k matrix (k <= D): Q with R's diagonal made non-negative, so
 * that an S with orthonormal columns comes back unchanged up to roundoff. This is GCR's periodic
 * re-orthonormalization (its rsgd runs it when a global step counter is a multiple of 5); call it
 * from your training loop on the same schedule, or pass `reorthonormalize: true` to {@link grassmannStep}.
 * Returns a new Mat (owned by the caller).
 *
 * @throws TypeError/RangeError naming 'reorthonormalize': S not a Mat, wider than tall, not finite.
 */
export async function reorthonormalize<D extends DType>(S: Mat<D>): Promise<Mat<D>> {
  const fn = 'reorthonormalize';
  checkMat(fn, 'S', S);
  if (S.cols > S.rows) throw rangeError(fn, `'S' is ${S.rows} x ${S.cols}; a subspace needs k <= D`);
  await checkFiniteMat(fn, 'S', S);
  return signFixedQ(S.engine, S);
}

async function signFixedQ<D extends DType>(eng: Engine<D>, Y: Mat<D>): Promise<Mat<D>> {
  const { Q, R } = await eng.qr(Y);
  try {
    const r = await R.toArray();
    const k = Y.cols;
    const s = Float64Array.from({ length: k }, (_, i) => (r[i * k + i] < 0 ? -1 : 1));
    if (s.every((v) => v === 1)) {
      const out = Q;
      return out;
    }
    const out = await eng.scaleColumns(Q, s);
    Q.dispose();
    return out;
  } finally {
    R.dispose();
  }
}

/**
 * One Riemannian SGD step on the Grassmann manifold (GCR's rsgd): with d = egrad (or, with momentum,
 * the Euclidean buffer buf = beta buf + egrad, the first buffer being egrad itself, no dampening), the
 * Riemannian gradient is the projection xi = d - S (S^T d) and S moves along -xi by t = lr:
 * - 'geodesic' (default): with the thin SVD xi = U Sigma V^T, S' = S V cos(t Sigma) V^T - U sin(t Sigma) V^T,
 *   the exact geodesic (Edelman, Arias, Smith 1998);
 * - 'qr': S' = qf(S - t xi) with R's diagonal made non-negative;
 * - 'polar': S' = (S - t xi)(I + t^2 xi^T xi)^-1/2 (computed as Y (Y^T Y)^-1/2, Y = S - t xi).
 * The buffer is kept Euclidean (as GCR keeps it) and transported to the new tangent space by the next
 * step's projection. S must have orthonormal columns within `orthTol` (else a RangeError telling you to
 * orthonormalize: silently orthonormalizing would move the caller's point). The geodesic step keeps
 * S^T S = I only up to a roundoff drift that grows with the number of steps: re-orthonormalize every
 * few steps (GCR: every 5) with `reorthonormalize: true` or {@link reorthonormalize}.
 *
 * Host vs device: D x k work on the engine (matmuls, one thin SVD or QR); k x k on the host.
 *
 * @throws TypeError/RangeError naming 'grassmannStep' and the argument: S / egrad / buffer not Mats of one
 *   engine, shapes differ, k > D, NaN or Infinity, S not orthonormal, lr < 0 or not finite, beta outside
 *   [0, 1), unknown options.
 */
export async function grassmannStep<D extends DType>(
  S: Mat<D>,
  egrad: Mat<D>,
  options: GrassmannStepOptions<D>,
): Promise<GrassmannStepResult<D>> {
  const fn = 'grassmannStep';
  checkMat(fn, 'S', S);
  const eng = S.engine;
  checkMat(fn, 'egrad', egrad, eng);
  if (options === undefined || options === null) throw typeError(fn, `options { lr } are required`);
  const o = checkOptions<GrassmannStepOptions<D>>(fn, options, STEP_OPTIONS);
  const lr = checkFinite(fn, 'lr', o.lr);
  if (lr < 0) throw rangeError(fn, `'lr' must be >= 0, got ${lr}`);
  const retraction = checkOneOf(fn, 'retraction', o.retraction, ['geodesic', 'qr', 'polar'] as const, 'geodesic');
  const reorth = checkBool(fn, 'reorthonormalize', o.reorthonormalize, false);
  const tol = o.orthTol === undefined ? defaultOrthTol(eng.dtype) : checkFinite(fn, 'orthTol', o.orthTol);
  if (tol <= 0) throw rangeError(fn, `'orthTol' must be > 0, got ${tol}`);
  let beta = 0;
  let buffer: Mat<D> | undefined;
  const useMomentum = o.momentum !== undefined;
  if (useMomentum) {
    const m = checkOptions<GrassmannMomentum<D>>(fn, o.momentum, ['beta', 'buffer']);
    beta = checkFinite(fn, 'momentum.beta', m.beta);
    if (beta < 0 || beta >= 1) throw rangeError(fn, `'momentum.beta' must be in [0, 1), got ${beta}`);
    if (m.buffer !== undefined) buffer = checkMat(fn, 'momentum.buffer', m.buffer, eng);
  }
  if (S.cols > S.rows) throw rangeError(fn, `'S' is ${S.rows} x ${S.cols}; a subspace needs k <= D`);
  if (egrad.rows !== S.rows || egrad.cols !== S.cols)
    throw rangeError(fn, `'egrad' is ${egrad.rows} x ${egrad.cols} but 'S' is ${S.rows} x ${S.cols}`);
  if (buffer && (buffer.rows !== S.rows || buffer.cols !== S.cols))
    throw rangeError(fn, `'momentum.buffer' is ${buffer.rows} x ${buffer.cols} but 'S' is ${S.rows} x ${S.cols}`);
  await checkFiniteMat(fn, 'egrad', egrad);
  if (buffer) await checkFiniteMat(fn, 'momentum.buffer', buffer);
  await checkOrthonormal(fn, 'S', S, tol);

  let newBuf: Mat<D> | undefined;
  const owned: Mat<D>[] = [];
  try {
    let d: Mat<D> = egrad;
    if (useMomentum) {
      newBuf = buffer ? await eng.axpby(beta, buffer, 1, egrad) : await eng.scale(egrad, 1);
      d = newBuf;
    }
    // xi = d - S (S^T d)
    const StD = await eng.matmul(S, d, { transA: true });
    owned.push(StD);
    const SStD = await eng.matmul(S, StD);
    owned.push(SStD);
    const xi = await eng.sub(d, SStD);
    owned.push(xi);
    let out: Mat<D>;
    if (retraction === 'geodesic') {
      const { U, S: sig, V } = await eng.svd(xi);
      owned.push(U, V);
      const c = Float64Array.from(sig, (s) => Math.cos(lr * s));
      const sn = Float64Array.from(sig, (s) => Math.sin(lr * s));
      const SV = await eng.matmul(S, V);
      owned.push(SV);
      const A = await eng.scaleColumns(SV, c);
      owned.push(A);
      const B = await eng.scaleColumns(U, sn);
      owned.push(B);
      const C = await eng.sub(A, B);
      owned.push(C);
      out = await eng.matmul(C, V, { transB: true });
    } else {
      const Y = await eng.axpby(1, S, -lr, xi);
      owned.push(Y);
      if (retraction === 'qr') out = await signFixedQ(eng, Y);
      else out = await polarFactor(eng, Y);
    }
    if (reorth) {
      owned.push(out);
      out = await signFixedQ(eng, out);
    }
    return useMomentum ? { S: out, buffer: newBuf } : { S: out };
  } catch (e) {
    newBuf?.dispose();
    throw e;
  } finally {
    disposeAll(...owned);
  }
}

/** Y (Y^T Y)^-1/2 with the k x k inverse square root from a host eigendecomposition. */
async function polarFactor<D extends DType>(eng: Engine<D>, Y: Mat<D>): Promise<Mat<D>> {
  const k = Y.cols;
  const G = await eng.matmul(Y, Y, { transA: true });
  const g = await G.toArray();
  G.dispose();
  const { w, v } = symEigHost(g, k);
  const M = new Float64Array(k * k);
  for (let t = 0; t < k; t++) {
    const f = 1 / Math.sqrt(Math.max(w[t], Number.MIN_VALUE));
    for (let i = 0; i < k; i++) {
      const vi = v[i * k + t] * f;
      for (let j = 0; j < k; j++) M[i * k + j] += vi * v[j * k + t];
    }
  }
  const Mm = eng.matrix(M, k, k);
  try {
    return await eng.matmul(Y, Mm);
  } finally {
    Mm.dispose();
  }
}

// ---- the head ----------------------------------------------------------------------------------------

export interface GrassmannLogitsOptions {
  /** Logit scale gamma (default 25, GCR's). */
  gamma?: number;
  /** Subspace dimension when S is GCR's stacked (C k) x D weight (default 8, GCR's dims). */
  k?: number;
  /** Check that every subspace has orthonormal columns (default true: C k x k Grams). */
  check?: boolean;
  /** Largest accepted max |S_c^T S_c - I| (default sqrt(u)). */
  orthTol?: number;
}

const LOGIT_OPTIONS = ['gamma', 'k', 'check', 'orthTol'] as const;

/**
 * GCR's head: logits[n, c] = gamma ||S_c^T x_n|| / ||x_n|| (N x C), the scaled cosine between a sample and
 * the class subspace span(S_c). S is either an array of C subspaces D x k_c (k_c may differ) or GCR's
 * stored weight, a (C k) x D matrix whose rows c k .. c k + k - 1 are S_c^T (then `k` gives the
 * dimension). A zero row of X gets logits 0 (as F.normalize's epsilon gives). The logits are invariant to
 * S_c -> S_c Q for orthogonal Q. Subspaces must have orthonormal columns (checked within `orthTol` unless
 * `check: false`; a RangeError otherwise).
 *
 * Host vs device: X Wᵀ (N x sum k_c) and the block sums of its squares on the engine; the N x C squared
 * norms come to the host for the square root and go back as the result.
 *
 * @throws TypeError/RangeError naming 'grassmannLogits' and the argument: X or S not Mats of one engine,
 *   feature counts differ, rows of the weight not a multiple of k, k_c > D, NaN/Infinity, S not orthonormal.
 */
export async function grassmannLogits<D extends DType>(
  X: Mat<D>,
  S: Mat<D>[] | Mat<D>,
  options: GrassmannLogitsOptions = {},
): Promise<Mat<D>> {
  const fn = 'grassmannLogits';
  checkMat(fn, 'X', X);
  const eng = X.engine;
  const o = checkOptions<GrassmannLogitsOptions>(fn, options, LOGIT_OPTIONS);
  const gamma = o.gamma === undefined ? 25 : checkFinite(fn, 'gamma', o.gamma);
  const check = checkBool(fn, 'check', o.check, true);
  const tol = o.orthTol === undefined ? defaultOrthTol(eng.dtype) : checkFinite(fn, 'orthTol', o.orthTol);
  if (tol <= 0) throw rangeError(fn, `'orthTol' must be > 0, got ${tol}`);
  const D = X.cols;
  const owned: Mat<D>[] = [];
  try {
    // W^T: D x K with the subspaces side by side; dims[c] = k_c
    let Wt: Mat<D>;
    let dims: number[];
    if (Array.isArray(S)) {
      if (S.length === 0) throw rangeError(fn, `'S' must hold at least one subspace`);
      S.forEach((s, c) => {
        checkMat(fn, `S[${c}]`, s, eng);
        if (s.rows !== D) throw rangeError(fn, `'S[${c}]' is ${s.rows} x ${s.cols} but X has ${D} features (columns)`);
        if (s.cols > D) throw rangeError(fn, `'S[${c}]' is ${s.rows} x ${s.cols}; a subspace needs k <= D`);
      });
      for (let c = 0; c < S.length; c++) {
        if (check) await checkOrthonormal(fn, `S[${c}]`, S[c], tol);
        else await checkFiniteMat(fn, `S[${c}]`, S[c]);
      }
      dims = S.map((s) => s.cols);
      Wt = S.length === 1 ? S[0] : await eng.hstack(S);
      if (S.length > 1) owned.push(Wt);
    } else {
      const W = checkMat(fn, 'S', S, eng);
      const k = o.k === undefined ? 8 : checkInt(fn, 'k', o.k, 1, D);
      if (W.cols !== D) throw rangeError(fn, `'S' (the stacked weight) is ${W.rows} x ${W.cols} but X has ${D} features (columns)`);
      if (W.rows % k !== 0) throw rangeError(fn, `'S' (the stacked weight) has ${W.rows} rows, not a multiple of k = ${k}`);
      const C = W.rows / k;
      dims = new Array<number>(C).fill(k);
      Wt = await eng.transpose(W);
      owned.push(Wt);
      if (check) {
        for (let c = 0; c < C; c++) {
          const Sc = await eng.slice(Wt, { cols: [c * k, c * k + k] });
          try {
            await checkOrthonormal(fn, `S (rows ${c * k}..${c * k + k - 1})`, Sc, tol);
          } finally {
            Sc.dispose();
          }
        }
      } else await checkFiniteMat(fn, 'S', W);
    }
    await checkFiniteMat(fn, 'X', X);
    const norms = await eng.rowNorms(X);
    const inv = Float64Array.from(norms, (v) => (v > 0 ? 1 / v : 0));
    const Xh = await eng.scaleRows(X, inv);
    owned.push(Xh);
    const P = await eng.matmul(Xh, Wt);
    owned.push(P);
    const P2 = await eng.hadamard(P, P);
    owned.push(P2);
    // block indicator E (K x C): sums each subspace's squared coordinates
    const K = dims.reduce((a, b) => a + b, 0);
    const C = dims.length;
    const e = new Float64Array(K * C);
    for (let c = 0, r = 0; c < C; c++) for (let j = 0; j < dims[c]; j++, r++) e[r * C + c] = 1;
    const E = eng.matrix(e, K, C);
    owned.push(E);
    const L2 = await eng.matmul(P2, E);
    owned.push(L2);
    const l2 = await L2.toArray();
    const out = new Float64Array(l2.length);
    for (let i = 0; i < l2.length; i++) out[i] = gamma * Math.sqrt(Math.max(0, l2[i]));
    return eng.matrix(out, X.rows, C);
  } finally {
    disposeAll(...owned);
  }
}
