/**
 * Mixture of low-rank Gaussians (MoLRG; Wang, Zhang, Zhang, Chen, Ma, Qu 2024): the data generator of the
 * reference code (disjoint column blocks of the U of an n x n Gaussian's SVD, equal class sizes) and the
 * closed-form optimal denoiser E[x0 | xt] of the mixture (spec section 6).
 */
import { Engine } from '../../engine.js';
import { checkDim, checkFinite, checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { allFinite } from '../common.js';

export interface MolrgSampleOptions {
  /** Ambient dimension (required). */
  n: number;
  /** Number of subspaces (required); K d <= n. */
  K: number;
  /** Dimension of every subspace (required). */
  d: number;
  /** Samples per subspace (required; equal class sizes, pi_k = 1/K, as the reference generator). */
  perCluster: number;
  /** Standard deviation of the isotropic Gaussian noise added to every entry (default 0). */
  noise?: number;
  /** Seed of everything drawn (default 0). */
  seed?: number;
}

export interface MolrgSample<D extends DType = DType> {
  /** (K perCluster) x n samples, one per row, grouped by class: rows k perCluster .. (k+1) perCluster - 1 are class k. */
  X: Mat<D>;
  /** Class of every row. */
  labels: Int32Array;
  /** K orthonormal n x d bases, mutually orthogonal. */
  bases: Mat<D>[];
}

/**
 * Draws the MoLRG data set of the reference generator: U from the SVD of an n x n Gaussian (seeded),
 * U_k = columns k d .. (k+1) d - 1 of U, x = U_k a with a ~ N(0, I_d), perCluster samples per class,
 * then `noise` times a standard Gaussian added to every entry. All draws come from the stream of `seed`
 * (the n x n Gaussian, then the coefficients, then the noise, at consecutive offsets). Runs on the engine.
 */
export async function molrgSample<D extends DType>(eng: Engine<D>, options: MolrgSampleOptions): Promise<MolrgSample<D>> {
  const fn = 'molrgSample';
  if (!(eng instanceof Engine)) throw typeError(fn, `'eng' must be an Engine`);
  if (options === null || typeof options !== 'object') throw typeError(fn, `options must be an object with n, K, d, perCluster`);
  const o = checkOptions<MolrgSampleOptions>(fn, options, ['n', 'K', 'd', 'perCluster', 'noise', 'seed']);
  const n = checkDim(fn, 'n', o.n);
  const K = checkDim(fn, 'K', o.K);
  const d = checkDim(fn, 'd', o.d);
  const per = checkDim(fn, 'perCluster', o.perCluster);
  if (K * d > n) throw rangeError(fn, `K d (${K} x ${d} = ${K * d}) must not exceed the ambient dimension n (${n})`);
  const noise = o.noise === undefined ? 0 : checkFinite(fn, 'noise', o.noise);
  if (noise < 0) throw rangeError(fn, `'noise' must be >= 0, got ${noise}`);
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  const N = K * per;
  return eng.scope(async () => {
    const G = eng.randn(n, n, { seed });
    const { U } = await eng.svd(G);
    const bases: Mat<D>[] = [];
    for (let k = 0; k < K; k++) bases.push(await eng.slice(U, { cols: [k * d, (k + 1) * d] }));
    const A = eng.randn(N, d, { seed, offset: n * n });
    const blocks: Mat<D>[] = [];
    for (let k = 0; k < K; k++) {
      const Ak = await eng.slice(A, { rows: [k * per, (k + 1) * per] });
      blocks.push(await eng.matmul(Ak, bases[k], { transB: true }));
    }
    let X = K === 1 ? blocks[0] : await eng.vstack(blocks);
    if (noise > 0) X = await eng.axpby(1, X, noise, eng.randn(N, n, { seed, offset: n * n + N * d }));
    const labels = new Int32Array(N);
    for (let k = 0; k < K; k++) labels.fill(k, k * per, (k + 1) * per);
    return { X, labels, bases };
  });
}

export interface MolrgDenoiseOptions<D extends DType = DType> {
  /** The K subspaces, n x d_k each (orthonormalized inside by QR; must have full column rank). */
  bases: Mat<D>[];
  /** 've' (default): xt = x0 + sigma eps. 'vp': xt = sqrt(alpha) x0 + sqrt(1 - alpha) eps. */
  form?: 've' | 'vp';
  /** Noise level of the 've' form (> 0; required there, not allowed with 'vp'). */
  sigma?: number;
  /** Signal level alpha-bar in (0, 1) of the 'vp' form (required there, not allowed with 've'). */
  alpha?: number;
  /** Mixture weights pi_k (>= 0, not all 0; normalized inside). Default uniform. */
  weights?: ArrayLike<number>;
}

/** Orthonormal basis of the span of B (D x k) by QR; RangeError when B is numerically rank-deficient. @internal */
export async function orthonormalBasis<D extends DType>(fn: string, name: string, B: Mat<D>): Promise<Mat<D>> {
  const eng = B.engine;
  const { Q, R } = await eng.qr(B);
  const r = await R.toArray();
  R.dispose();
  const k = B.cols;
  let mx = 0;
  for (let i = 0; i < k; i++) mx = Math.max(mx, Math.abs(r[i * k + i]));
  const tol = Math.max(B.rows, k) * (eng.dtype === 'f64' ? 2 ** -52 : 2 ** -23) * mx;
  for (let i = 0; i < k; i++)
    if (!(Math.abs(r[i * k + i]) > tol)) {
      Q.dispose();
      throw rangeError(fn, `'${name}' must have full column rank (its ${k} columns span fewer dimensions)`);
    }
  return Q;
}

/**
 * The optimal (posterior-mean) denoiser of the MoLRG mixture, E[x0 | xt] for every row of Xt (N x n),
 * with x0 = U_k a, a ~ N(0, I), class k with probability pi_k, and xt = s x0 + g eps (s = 1, g = sigma
 * for 've'; s = sqrt(alpha), g = sqrt(1 - alpha) for 'vp'). Per class, E[x0 | xt, k] = s/(s^2 + g^2)
 * U_k U_k^T xt, and the posterior class weights are w_k = softmax_k(log pi_k + s^2 ||U_k^T xt||^2 /
 * (2 g^2 (s^2 + g^2)) - d_k/2 log(s^2 + g^2) - (n - d_k)/2 log g^2) (the last two terms cancel when all
 * d_k are equal; they are the Gaussian log-determinants). The projections are one GEMM against the
 * stacked bases; only the N x K scores come to the host for a stable log-sum-exp, and the result is one
 * more GEMM. Returns an N x n Mat owned by the caller.
 */
export async function molrgDenoise<D extends DType>(Xt: Mat<D>, options: MolrgDenoiseOptions<D>): Promise<Mat<D>> {
  const fn = 'molrgDenoise';
  if (!(Xt instanceof Mat)) throw typeError(fn, `'Xt' must be a Mat`);
  if (Xt.disposed) throw typeError(fn, `'Xt' has been disposed`);
  if (options === null || typeof options !== 'object') throw typeError(fn, `options must be an object with 'bases'`);
  const o = checkOptions<MolrgDenoiseOptions<D>>(fn, options, ['bases', 'form', 'sigma', 'alpha', 'weights']);
  const eng = Xt.engine;
  const n = Xt.cols,
    N = Xt.rows;
  if (!Array.isArray(o.bases) || o.bases.length === 0) throw typeError(fn, `'bases' must be a non-empty array of Mats`);
  const bases = o.bases;
  const K = bases.length;
  bases.forEach((B, k) => {
    if (!(B instanceof Mat)) throw typeError(fn, `'bases[${k}]' must be a Mat`);
    if (B.disposed) throw typeError(fn, `'bases[${k}]' has been disposed`);
    if (B.engine !== eng) throw typeError(fn, `'bases[${k}]' belongs to a different engine than Xt`);
    if (B.rows !== n) throw rangeError(fn, `'bases[${k}]' must have ${n} rows (the columns of Xt), got ${B.rows}`);
    if (B.cols > n) throw rangeError(fn, `'bases[${k}]' has more columns (${B.cols}) than rows`);
  });
  const form = checkOneOf(fn, 'form', o.form, ['ve', 'vp'] as const, 've');
  let s: number, g: number;
  if (form === 've') {
    if (o.alpha !== undefined) throw typeError(fn, `'alpha' belongs to form 'vp'; form 've' takes 'sigma'`);
    if (o.sigma === undefined) throw typeError(fn, `'sigma' is required for form 've'`);
    g = checkFinite(fn, 'sigma', o.sigma);
    if (!(g > 0)) throw rangeError(fn, `'sigma' must be > 0, got ${g}`);
    s = 1;
  } else {
    if (o.sigma !== undefined) throw typeError(fn, `'sigma' belongs to form 've'; form 'vp' takes 'alpha'`);
    if (o.alpha === undefined) throw typeError(fn, `'alpha' is required for form 'vp'`);
    const a = checkFinite(fn, 'alpha', o.alpha);
    if (!(a > 0 && a < 1)) throw rangeError(fn, `'alpha' must be in (0, 1), got ${a}`);
    s = Math.sqrt(a);
    g = Math.sqrt(1 - a);
  }
  const logPi = new Float64Array(K);
  if (o.weights === undefined) logPi.fill(-Math.log(K));
  else {
    const w = o.weights;
    if (!(Array.isArray(w) || ArrayBuffer.isView(w)) || (w as ArrayLike<number>).length !== K)
      throw rangeError(fn, `'weights' must be an array of ${K} numbers (one per basis)`);
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const v = checkFinite(fn, `weights[${k}]`, w[k]);
      if (v < 0) throw rangeError(fn, `'weights[${k}]' must be >= 0, got ${v}`);
      sum += v;
    }
    if (!(sum > 0)) throw rangeError(fn, `'weights' must not all be 0`);
    for (let k = 0; k < K; k++) logPi[k] = Math.log(w[k] / sum);
  }
  if (!(await allFinite(eng, Xt))) throw rangeError(fn, `'Xt' must be finite (it has NaN or Inf entries)`);
  for (let k = 0; k < K; k++) if (!(await allFinite(eng, bases[k]))) throw rangeError(fn, `'bases[${k}]' must be finite`);

  const dk = bases.map((B) => B.cols);
  const off = [0];
  for (const v of dk) off.push(off[off.length - 1] + v);
  const sd = off[K];
  const s2g2 = s * s + g * g;
  const c = s / s2g2;
  const ex = (s * s) / (2 * g * g * s2g2);
  return eng.scope(async () => {
    const Qs: Mat<D>[] = [];
    for (let k = 0; k < K; k++) Qs.push(await orthonormalBasis(fn, `bases[${k}]`, bases[k]));
    const W = K === 1 ? Qs[0] : await eng.hstack(Qs); // n x sd
    // E (sd x K): block indicator
    const e = new Float64Array(sd * K);
    for (let k = 0; k < K; k++) for (let j = off[k]; j < off[k + 1]; j++) e[j * K + k] = 1;
    const E = eng.matrix(e, sd, K);
    const P = await eng.matmul(Xt, W); // N x sd
    const S = await eng.matmul(await eng.hadamard(P, P), E); // ||U_k^T x_i||^2, N x K
    const sc = await S.toArray();
    const wts = new Float64Array(N * K);
    const cst = new Float64Array(K);
    for (let k = 0; k < K; k++) cst[k] = logPi[k] - (dk[k] / 2) * Math.log(s2g2) - ((n - dk[k]) / 2) * Math.log(g * g);
    for (let i = 0; i < N; i++) {
      let mx = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < K; k++) {
        const v = cst[k] + ex * Math.max(sc[i * K + k], 0);
        wts[i * K + k] = v;
        if (v > mx) mx = v;
      }
      let z = 0;
      for (let k = 0; k < K; k++) {
        const v = Math.exp(wts[i * K + k] - mx);
        wts[i * K + k] = v;
        z += v;
      }
      for (let k = 0; k < K; k++) wts[i * K + k] *= c / z;
    }
    const Wt = eng.matrix(wts, N, K);
    const M = await eng.matmul(Wt, E, { transB: true }); // N x sd: c w_ik on the columns of block k
    return eng.matmul(await eng.hadamard(P, M), W, { transB: true });
  });
}
