/**
 * Randomized SVD: the HMT range finder with subspace (power) iteration, and randomized block Krylov
 * (Musco & Musco), on dense, sparse and matrix-free inputs. Every large product runs on A's engine;
 * only the small (k+p)-column problems reach the host (through the engine's own svd/qr rules).
 *
 * Subspace iteration (HMT Alg. 4.4 with re-orthonormalization after every product):
 *   Y = A Omega; Q = N(Y); repeat q times { Z = N(A^T Q); Q = N(A Z) }; the last Q is orthonormalized;
 *   B^T = A^T Q; svd(B^T) = U' S V'^T; U = Q V'[:, :k], V = U'[:, :k].
 * N is the normalizer ('qr', 'cholqr2', 'lu' = P L of an LU with partial pivoting, or 'none'). With
 * 'lu'/'none' the final product is orthonormalized by QR, exactly as sklearn and fbpca do.
 * Block Krylov: K = [Q_0, Q_1, ..., Q_q] with Q_0 = N(A Omega), Q_i = N(A A^T Q_{i-1}); Q = orth(K);
 * Rayleigh-Ritz on Q.
 * The stages (rangeBasis, rayleighRitzOp, svdFlip) are public through stages.ts (rangeFinder,
 * rayleighRitz, svdFlip).
 */
import type { Engine } from '../../engine.js';
import { checkBool, checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { allFinite, cholQRFactor, cholQRPass, disposeAll, secondsSince, svdFlip, unitRoundoff } from '../common.js';
import { centered, toOperator, type MatrixLike, type Operator } from '../operator.js';

export type RsvdMethod = 'subspace' | 'krylov';
export type RsvdNormalizer = 'auto' | 'qr' | 'cholqr2' | 'lu' | 'none';
export type RsvdPreset = 'sklearn' | 'torch' | 'fbpca';

export interface RsvdOptions {
  /** Target rank k, required: 1 <= k <= min(m, n). */
  rank: number;
  /** Oversampling p (default 10): the sketch has l = min(k + p, min(m, n)) columns. */
  oversample?: number;
  /**
   * Power (subspace) or Krylov iterations q. An integer runs exactly q iterations (2q + 2 passes over A).
   * 'auto' (default, without a preset): adaptive, an a-posteriori stopping rule on the Ritz values (see
   * {@link RsvdStop}): after every iteration the top-k Ritz values of the current basis are computed from
   * the A^T product the iteration makes anyway, and the iterations stop once the extrapolated remaining
   * change of the top-k singular values is at most `tol` (relative), or at the cap: sklearn's count, 7 if
   * k < 0.1 min(m, n) else 4 (never more passes than sklearn's defaults). With a preset, 'auto' is the
   * preset's fixed count.
   */
  powerIters?: number | 'auto';
  /**
   * Tolerance of the 'auto' stopping rule: the target relative accuracy of the top-k singular values,
   * in (0, 1), default 1e-3. Only used with powerIters 'auto' and no preset.
   */
  tol?: number;
  /**
   * 'subspace' or 'krylov' (block Krylov). Default: 'krylov' with powerIters 'auto' (adaptive depth),
   * 'subspace' with an integer powerIters or a preset.
   */
  method?: RsvdMethod;
  /**
   * Normalizer between products: 'auto' (default) = 'qr'; 'cholqr2' (Gram-Cholesky twice, falls back to
   * 'qr' when a Gram is not positive definite); 'lu' (P L, cheap, not orthonormal); 'none' (refused for
   * q > 1 in f32, where the columns overflow/underflow like sigma^(2q+1)). 'krylov' orthonormalizes
   * every block (with 'cholqr2' when chosen, else 'qr').
   */
  normalizer?: RsvdNormalizer;
  /** Implicit column centering (PCA of A) without forming A - 1 mu^T; costs one more pass. Default false. */
  center?: boolean;
  /**
   * Reproduce a library's parameter choices (explicit options still win):
   * 'sklearn' randomized_svd: p = 10, q = auto (7 / 4), normalizer 'none' if q <= 2 else 'lu';
   * 'torch' svd_lowrank: p = 0 (q columns = rank), q = 2, normalizer 'qr';
   * 'fbpca' pca: p = 2, q = 2, normalizer 'lu', uniform[-1, 1] test matrix, and the exact SVD when
   * l >= min(m, n) / 1.25 and A is a dense Mat (fbpca.pca centers by default: pass center: true).
   */
  preset?: RsvdPreset;
  /** Seed of the test matrix (default 0). */
  seed?: number;
  /**
   * Called after every pass over A (for progress bars). With powerIters 'auto', `passes` is the cap's
   * count, an upper bound: the run may end earlier.
   */
  onPass?: (p: { pass: number; passes: number; stage: string }) => void;
}

export interface RsvdInfo {
  /** Columns multiplied by A or A^T in total. */
  matvecs: number;
  /** Products with A or A^T (each one pass over the data). */
  passes: number;
  seconds: number;
  method: RsvdMethod;
  /** The parameters actually used. */
  rank: number;
  oversample: number;
  powerIters: number;
  normalizer: Exclude<RsvdNormalizer, 'auto'>;
  preset?: RsvdPreset;
  /** True when the exact SVD was used (the fbpca preset's small-problem rule). */
  exact: boolean;
  /** The 'auto' stopping rule's record (powerIters 'auto' without a preset only). */
  stop?: RsvdStop;
}

/**
 * What the 'auto' stopping rule did. After iteration t (t = 0: the plain sketch) the top-k Ritz values
 * theta^(t) of the current basis are the singular values of W = A^T Q (Q orthonormal: the product the
 * next iteration needs anyway, so the check costs no pass over A). They come from one of two routes
 * (`values`): 'gram', the square roots of the eigenvalues of the c x c Gram W^T W, kept on the host in
 * f64 and extended by one block of products per iteration (W^T z and z^T z for the new block z: a few
 * small products and a c x c eigh a step), used while the top k are resolved by it (relative error about
 * u (theta_1 / theta_k)^2 <= tol / 64: theta_k >= 0.062 theta_1 in f32 at tol 1e-3); else, from then on,
 * 'qr': W = Qw Rw (Householder once, then extended by one block per iteration) and the singular values
 * of the c x c Rw, accurate to u theta_1 absolutely. The final Rayleigh-Ritz on the 'gram' route takes
 * the Gram's eigenvectors as W's right singular vectors when theta_k >= theta_1 / 16 (V = W Vr_k / theta
 * is then orthonormal to about 256 u), else W = Qw Rw by one CholeskyQR2 seeded with the Gram
 * (Householder when kappa(W) > 1 / (16 sqrt(u)) or a Cholesky refuses) and the SVD of Rw. The change d_t = max_{i <= k} |theta_i^(t) - theta_i^(t-1)| / max(theta_i^(t), tau),
 * tau = sqrt(u) theta_1 (u the unit roundoff: smaller values are measured to that absolute accuracy),
 * and the estimate of what is left assumes geometric decay at the observed rate rho = d_t / d_(t-1):
 * estimate = d_t rho / (1 - rho) (Infinity while rho >= 1 or for t = 1, with no rate yet; when the rate
 * is itself falling, rho_t < rho_(t-1), as block Krylov's does, the next rate rho_t^2 / rho_(t-1) is used;
 * d_t itself once d_t is at roundoff level, 64 u theta_1 / max(theta_k, tau), squared ratio on the 'gram'
 * route). Stop when
 * estimate <= tol, at the cap, or (Krylov) when the basis spans min(m, n) columns (a block that would
 * go past that is cut to the columns left, so the last Ritz values are exact).
 *
 * Guarantee (exact arithmetic): Ritz values never exceed the singular values (theta_i <= sigma_i), and in
 * 'krylov' the bases are nested, so theta_i^(t) only grows with t and the Frobenius error
 * ||A - U S V^T||_F^2 = ||A||_F^2 - sum theta_i^2 only shrinks; a 'krylov' stop at depth t is at least as
 * accurate as subspace iteration with q = t from the same test matrix. The estimate itself is a
 * heuristic, not a bound: a sequence that stalls and later moves again (a hidden cluster, an unlucky
 * test matrix) can stop early with an error above tol (measured: 1.4e-3 at tol 1e-3 on the nearly flat
 * spectrum 1 - 1e-4 i; 2-15x overestimates on decaying ones). The cap bounds the work either way.
 */
export interface RsvdStop {
  rule: 'ritz-extrapolated';
  /** Iterations done (= info.powerIters) and the cap. */
  iters: number;
  cap: number;
  /** Passes over A (= info.passes without centering). */
  passes: number;
  /** The last estimate of the remaining relative change of the top-k singular values (Infinity: none). */
  estimate: number;
  tolerance: number;
  /** Why it stopped: 'converged' (estimate <= tol), 'cap', or 'basis' (the Krylov basis reached min(m, n) columns; the last block cut to fit). */
  reason: 'converged' | 'cap' | 'basis';
  /** d_1, d_2, ...: the relative change of the top-k Ritz values after every iteration. */
  changes: number[];
  /** Where the last Ritz values came from: 'gram' (eigenvalues of W^T W) or 'qr' (singular values of Rw). */
  values: 'gram' | 'qr';
}

export interface RsvdResult<D extends DType = DType> {
  /** m x k, orthonormal columns; sklearn's svd_flip sign convention. */
  U: Mat<D>;
  /** k singular values, descending. */
  S: Float64Array;
  /** n x k, orthonormal columns. */
  V: Mat<D>;
  info: RsvdInfo;
}

const OPTIONS = ['rank', 'oversample', 'powerIters', 'tol', 'method', 'normalizer', 'center', 'preset', 'seed', 'onPass'] as const;

/** Default of the 'tol' option of the 'auto' stopping rule. */
export const RSVD_AUTO_TOL = 1e-3;

/** What the range finders need: the stage shared by rsvd and the public `rangeFinder`. */
export interface RangePlan {
  /** Columns of the test matrix. */
  l: number;
  /** Power (subspace) or Krylov iterations. */
  q: number;
  method: RsvdMethod;
  norm: Exclude<RsvdNormalizer, 'auto'>;
  seed: number;
  /** uniform[-1, 1] test matrix (fbpca) instead of Gaussian. */
  uniform: boolean;
}

interface Plan extends RangePlan {
  k: number;
  /** powerIters 'auto' without a preset: q is the cap of the stopping rule. */
  adaptive: boolean;
  tol: number;
  p: number;
  center: boolean;
  preset?: RsvdPreset;
  exactFallback: boolean;
  onPass?: RsvdOptions['onPass'];
}

/**
 * Resolves and checks the 'normalizer' option (shared by rsvd and rangeFinder): `auto(q)` gives what
 * 'auto' resolves to; 'none' is refused for q > 1 in f32.
 */
export function resolveNormalizer(
  fn: string,
  v: unknown,
  auto: (q: number) => Exclude<RsvdNormalizer, 'auto'>,
  q: number,
  dtype: DType,
): Exclude<RsvdNormalizer, 'auto'> {
  let norm = checkOneOf(fn, 'normalizer', v, ['auto', 'qr', 'cholqr2', 'lu', 'none'] as const, 'auto');
  if (norm === 'auto') norm = auto(q);
  if (norm === 'none' && q > 1 && dtype === 'f32')
    throw rangeError(
      fn,
      `normalizer 'none' with powerIters = ${q} > 1 is refused in f32: the sketch columns grow like sigma^(2q+1) and overflow or lose all but the top direction. Use 'lu', 'qr' or 'cholqr2'.`,
    );
  return norm;
}

/** The method 'auto' uses by default (block Krylov: see the README's measurements). */
const AUTO_METHOD: RsvdMethod = 'krylov';

function checkTol(fn: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw typeError(fn, `'tol' must be a number in (0, 1), got ${String(v)}`);
  if (!(v > 0 && v < 1)) throw rangeError(fn, `'tol' must be in (0, 1), got ${v}`);
  return v;
}

/** The 'seed' option (default 0). */
export function checkSeed(fn: string, v: unknown): number {
  return v === undefined ? 0 : checkInt(fn, 'seed', v, 0, Number.MAX_SAFE_INTEGER);
}

/** Validates options against the shape and resolves presets and 'auto' values. */
export function planRsvd(fn: string, m: number, n: number, dtype: DType, options: RsvdOptions): Plan {
  if (options === null || typeof options !== 'object') throw typeError(fn, `options { rank, ... } are required`);
  const o = checkOptions<RsvdOptions>(fn, options, OPTIONS);
  const mn = Math.min(m, n);
  if (o.rank === undefined) throw typeError(fn, `'rank' is required`);
  const k = checkInt(fn, 'rank', o.rank, 1, mn);
  const preset = o.preset === undefined ? undefined : checkOneOf(fn, 'preset', o.preset, ['sklearn', 'torch', 'fbpca'] as const);
  const isAuto = o.powerIters === undefined || o.powerIters === 'auto';
  const adaptive = isAuto && preset === undefined;
  const method = checkOneOf(fn, 'method', o.method, ['subspace', 'krylov'] as const, adaptive ? AUTO_METHOD : 'subspace');
  const presetP = preset === 'torch' ? 0 : preset === 'fbpca' ? 2 : 10;
  const p = o.oversample === undefined ? presetP : checkInt(fn, 'oversample', o.oversample, 0, 2 ** 31 - 1);
  const autoQ = method === 'krylov' && !adaptive ? (k < 0.1 * mn ? 4 : 2) : k < 0.1 * mn ? 7 : 4;
  const presetQ = preset === 'torch' || preset === 'fbpca' ? 2 : autoQ;
  const q = isAuto ? presetQ : checkInt(fn, 'powerIters', o.powerIters, 0, 1000);
  const tol = o.tol === undefined ? RSVD_AUTO_TOL : checkTol(fn, o.tol);
  const norm = resolveNormalizer(
    fn,
    o.normalizer,
    (qq) => (preset === 'sklearn' ? (qq <= 2 ? 'none' : 'lu') : preset === 'fbpca' ? 'lu' : 'qr'),
    q,
    dtype,
  );
  const center = checkBool(fn, 'center', o.center, false);
  const seed = checkSeed(fn, o.seed);
  if (o.onPass !== undefined && typeof o.onPass !== 'function') throw typeError(fn, `'onPass' must be a function`);
  const l = Math.min(k + p, mn);
  return {
    k,
    adaptive,
    tol,
    l,
    p,
    q,
    method,
    norm,
    center,
    preset,
    seed,
    uniform: preset === 'fbpca',
    exactFallback: preset === 'fbpca' && (l >= m / 1.25 || l >= n / 1.25),
    onPass: o.onPass,
  };
}

/**
 * Randomized SVD of A (Mat, SparseMat or LinearOperator) on A's engine.
 *
 * @example
 * ```ts
 * const { U, S, V, info } = await rsvd(A, { rank: 20 });                 // block Krylov, adaptive stop (info.stop)
 * const hmt = await rsvd(A, { rank: 20, powerIters: 7 });                // HMT subspace iteration, q = 7
 * const sk = await rsvd(A, { rank: 20, preset: 'sklearn', seed: 1 });    // sklearn's choices
 * ```
 */
export async function rsvd<D extends DType>(A: MatrixLike<D>, options: RsvdOptions): Promise<RsvdResult<D>> {
  const fn = 'rsvd';
  const t0 = performance.now();
  let op: Operator<D> = toOperator(fn, A);
  const { eng, rows: m, cols: n } = op;
  const plan = planRsvd(fn, m, n, eng.dtype, options);
  const passes = expectedPasses(plan);
  let stage = 'sketch';
  const progress = (): void => plan.onPass?.({ pass: op.counts.passes, passes, stage });
  let stop: RsvdStop | undefined;
  const info = (exact: boolean): RsvdInfo => ({
    matvecs: op.counts.matvecs,
    passes: op.counts.passes,
    seconds: secondsSince(t0),
    method: plan.method,
    rank: plan.k,
    oversample: plan.l - plan.k,
    powerIters: stop ? stop.iters : plan.q,
    normalizer: plan.norm,
    preset: plan.preset,
    exact,
    ...(stop ? { stop } : {}),
  });

  if (plan.exactFallback && op.kind === 'dense' && !plan.center) {
    const res = await exactTruncated(eng, A as Mat<D>, plan.k);
    op.counts.passes = 1;
    op.counts.matvecs = n;
    return { ...res, info: info(true) };
  }

  if (plan.center) {
    stage = 'center';
    op = await centered(op);
    progress();
  }
  const counted: Operator<D> = {
    ...op,
    apply: async (X) => {
      const r = await op.apply(X);
      progress();
      return r;
    },
    applyT: async (Y) => {
      const r = await op.applyT(Y);
      progress();
      return r;
    },
  };
  try {
    if (plan.adaptive) {
      stage = 'range';
      const r = await adaptiveRsvd(counted, plan);
      stop = { ...r.stop, passes: op.counts.passes - (plan.center ? 1 : 0) };
      await checkFiniteTriplets(fn, eng, r.res);
      return { ...r.res, info: info(false) };
    }
    stage = 'range';
    const Q = await rangeBasis(counted, plan);
    stage = 'project';
    let res: { U: Mat<D>; S: Float64Array; V: Mat<D> };
    try {
      res = await rayleighRitzOp(counted, Q, plan.k);
    } finally {
      Q.dispose();
    }
    await checkFiniteTriplets(fn, eng, res);
    return { ...res, info: info(false) };
  } finally {
    op.dispose();
  }
}

/** Passes over A the plan will make (for progress reporting). */
function expectedPasses(plan: Plan): number {
  const c = plan.center ? 1 : 0;
  if (plan.method === 'krylov') return c + 1 + 2 * plan.q + 1;
  return c + 1 + 2 * plan.q + 1;
}

/**
 * Rejects (and disposes) factors with NaN/Infinity: A, or the values an operator returned, held
 * non-finite values or the products overflowed.
 */
export async function checkFiniteTriplets<D extends DType>(
  fn: string,
  eng: Engine<D>,
  res: { U: Mat<D>; S: Float64Array; V: Mat<D> },
): Promise<void> {
  if (!res.S.every(Number.isFinite) || !(await allFinite(eng, res.U, res.V))) {
    disposeAll(res.U, res.V);
    throw rangeError(fn, 'non-finite singular values: A (or the values an operator returned) contains NaN or Infinity, or overflowed');
  }
}

/** The test matrix Omega (n x l): Gaussian, or uniform[-1, 1] for the fbpca preset. */
async function testMatrix<D extends DType>(eng: Engine<D>, n: number, plan: RangePlan): Promise<Mat<D>> {
  if (!plan.uniform) return eng.randn(n, plan.l, { seed: plan.seed });
  const U = eng.rand(n, plan.l, { seed: plan.seed });
  const ones = eng.ones(n, plan.l);
  const out = await eng.axpby(2, U, -1, ones);
  disposeAll(U, ones);
  return out;
}

/** Applies a normalizer; consumes Y. `orthonormal` forces an orthonormal result ('qr' for lu/none). */
export async function normalize<D extends DType>(
  eng: Engine<D>,
  Y: Mat<D>,
  norm: Exclude<RsvdNormalizer, 'auto'> | 'cholqr1',
  orthonormal = false,
): Promise<Mat<D>> {
  const kind = orthonormal && (norm === 'lu' || norm === 'none') ? 'qr' : norm;
  try {
    return await normalizeOwned(eng, Y, kind);
  } catch (e) {
    Y.dispose(); // consumed on success; released on failure too (e.g. a factorization refusing Inf)
    throw e;
  }
}

async function normalizeOwned<D extends DType>(
  eng: Engine<D>,
  Y: Mat<D>,
  kind: Exclude<RsvdNormalizer, 'auto'> | 'cholqr1',
): Promise<Mat<D>> {
  switch (kind) {
    case 'cholqr1': {
      // one CholeskyQR pass (the caller re-orthogonalizes); QR when the Gram is not positive definite
      const Q = await cholQRPass(eng, Y);
      if (Q) {
        Y.dispose();
        return Q;
      }
      break;
    }
    case 'none':
      return Y;
    case 'lu': {
      const { PL, U } = await eng.lu(Y);
      disposeAll(Y, U);
      return PL;
    }
    case 'cholqr2': {
      const Q = await cholQR2(eng, Y);
      if (Q) {
        Y.dispose();
        return Q;
      }
      break; // fall back to QR
    }
    default:
      break;
  }
  const { Q, R } = await eng.qr(Y);
  disposeAll(Y, R);
  return Q;
}

/**
 * CholeskyQR2 from engine primitives (two cholQRPass). Returns null when a Gram matrix is not
 * numerically positive definite (the caller then uses Householder/engine QR).
 */
async function cholQR2<D extends DType>(eng: Engine<D>, Y: Mat<D>): Promise<Mat<D> | null> {
  const Q1 = await cholQRPass(eng, Y);
  if (!Q1) return null;
  const Q = await cholQRPass(eng, Q1);
  Q1.dispose();
  return Q;
}

/**
 * The range finder: an orthonormal basis (m x l for 'subspace', m x min(l (q + 1), min(m, n)) for
 * 'krylov') of the approximate range of op. The caller owns (and disposes) it.
 */
export function rangeBasis<D extends DType>(op: Operator<D>, plan: RangePlan): Promise<Mat<D>> {
  return plan.method === 'krylov' ? krylovBasis(op, plan) : subspaceBasis(op, plan);
}

/** Awaits p, then disposes `mats` whether p resolved or threw (intermediates never outlive an error). */
async function thenDispose<T>(p: Promise<T>, ...mats: ReadonlyArray<Mat | null>): Promise<T> {
  try {
    return await p;
  } finally {
    disposeAll(...mats);
  }
}

/** HMT range finder with subspace iteration: an orthonormal m x l basis. */
async function subspaceBasis<D extends DType>(op: Operator<D>, plan: RangePlan): Promise<Mat<D>> {
  const { eng } = op;
  const Omega = await testMatrix(eng, op.cols, plan);
  let Y = await thenDispose(op.apply(Omega), Omega);
  let Q = await normalize(eng, Y, plan.norm, plan.q === 0);
  for (let it = 0; it < plan.q; it++) {
    const Z0 = await thenDispose(op.applyT(Q), Q);
    const Z = await normalize(eng, Z0, plan.norm);
    Y = await thenDispose(op.apply(Z), Z);
    Q = await normalize(eng, Y, plan.norm, it === plan.q - 1);
  }
  return Q;
}

/** Randomized block Krylov: an orthonormal basis of [Q_0, (A A^T) Q_0, ..., (A A^T)^q Q_0]. */
async function krylovBasis<D extends DType>(op: Operator<D>, plan: RangePlan): Promise<Mat<D>> {
  const { eng } = op;
  const Omega = await testMatrix(eng, op.cols, plan);
  const Y0 = await thenDispose(op.apply(Omega), Omega);
  const norm = plan.norm === 'cholqr2' ? 'cholqr2' : 'qr';
  const blocks: Mat<D>[] = [await normalize(eng, Y0, norm, true)];
  try {
    for (let it = 0; it < plan.q; it++) {
      const Z = await op.applyT(blocks[blocks.length - 1]);
      const Y = await thenDispose(op.apply(Z), Z);
      blocks.push(await normalize(eng, Y, norm, true));
    }
    const K = blocks.length === 1 ? blocks[0] : await eng.hstack(blocks);
    const own = K === blocks[0] ? null : K;
    if (K.cols > Math.min(op.rows, op.cols)) {
      // More Krylov columns than the rank of A can support: keep the leading part of the space.
      const keep = await thenDispose(eng.slice(K, { cols: [0, Math.min(op.rows, op.cols)] }), own);
      const { Q, R } = await thenDispose(eng.qr(keep), keep);
      R.dispose();
      return Q;
    }
    const { Q, R } = await thenDispose(eng.qr(K), own);
    R.dispose();
    return Q;
  } finally {
    disposeAll(...blocks);
  }
}

/**
 * The 'auto' stopping rule's estimate of the remaining relative change after a change d (the previous
 * changes dPrev and dPrev2, NaN when none): geometric extrapolation d rho / (1 - rho) with the next rate
 * rho = d / dPrev, or, when the rate is itself falling (d / dPrev < dPrev / dPrev2: block Krylov
 * converges faster than geometrically), the rate extrapolated one step, (d / dPrev)^2 / (dPrev / dPrev2);
 * d itself at or below the roundoff floor; Infinity with no rate yet or no decay.
 */
export function stopEstimate(d: number, dPrev: number, floor: number, dPrev2 = NaN): number {
  if (d <= floor) return d;
  if (!(dPrev > 0)) return Infinity;
  let rho = d / dPrev;
  if (!(rho < 1)) return Infinity;
  if (dPrev2 > 0) {
    const before = dPrev / dPrev2;
    if (rho < before) rho = (rho * rho) / before;
  }
  return (d * rho) / (1 - rho);
}

/**
 * d = max_i |theta_i - prev_i| / max(theta_i, tau) with tau = sqrt(u) theta_1 (values below tau are
 * measured to absolute accuracy tau: in f32 they are at the level of A's own rounding, and a zero
 * value's Ritz value is roundoff noise that moves freely), and the roundoff floor of d: the singular
 * values of W are accurate to about c u theta_1 absolutely, so d below 64 u theta_1 / max(theta_k, tau)
 * is noise.
 */
function ritzChange(theta: Float64Array, prev: Float64Array, eps: number, gram = false): { d: number; floor: number } {
  const big = theta[0] ?? 0;
  if (!(big > 0)) return { d: 0, floor: Infinity };
  const tau = Math.sqrt(eps) * big;
  let d = 0;
  for (let i = 0; i < theta.length; i++) d = Math.max(d, Math.abs(theta[i] - prev[i]) / Math.max(theta[i], tau));
  const ratio = big / Math.max(theta[theta.length - 1], tau);
  return { d, floor: 64 * eps * (gram ? ratio * ratio : ratio) };
}

/**
 * powerIters 'auto': block Krylov or subspace iteration with the a-posteriori stopping rule (RsvdStop).
 *
 * Block Krylov keeps K = [Q_0, ..., Q_t] orthonormal (every new block A (A^T Q_t) is orthogonalized
 * against K by block Gram-Schmidt twice, Householder QR after the first pass and one CholeskyQR pass
 * after the second), so A^T K = [A^T Q_0, ..., A^T Q_t] = W consists of exactly the products the
 * iteration makes: the Ritz values after each block and the final Rayleigh-Ritz need no extra pass, and
 * a stop at depth t costs 2t + 2 passes of l columns, as subspace iteration with q = t. Subspace
 * iteration orthonormalizes Q before every A^T product (so W = A^T Q gives Ritz values); a stop reuses
 * that product. After every product the Ritz values come from the Gram of W (host, extended by a block)
 * or, once that cannot resolve the top k, from W = Qw Rw (extendQR) (see RsvdStop); the final
 * Rayleigh-Ritz uses the Gram's eigenvectors or the SVD of the c x c Rw (from CholeskyQR2 of W on the
 * Gram route).
 */
async function adaptiveRsvd<D extends DType>(
  op: Operator<D>,
  plan: Plan,
): Promise<{ res: { U: Mat<D>; S: Float64Array; V: Mat<D> }; stop: Omit<RsvdStop, 'passes'> }> {
  const { eng } = op;
  const krylov = plan.method === 'krylov';
  const mn = Math.min(op.rows, op.cols);
  const eps = unitRoundoff(eng.dtype);
  const Omega = await testMatrix(eng, op.cols, plan);
  const Y0 = await thenDispose(op.apply(Omega), Omega);
  let K: Mat<D> | null = await normalize(eng, Y0, 'cholqr2', true); // m x c, orthonormal
  let Qlast: Mat<D> | null = null; // Krylov: the newest block (null: K itself)
  let W: Mat<D> | null = null; // A^T K, n x c
  let Z: Mat<D> | null = null; // the newest A^T product when W is a copy
  // Ritz values: from the Gram G = W^T W on the host while W's top k are well separated from roundoff
  // (gramResolves), else ('qr' mode, kept from then on) from W = Qw Rw, extended by one block a step.
  let G: Float64Array | null = null;
  let Qw: Mat<D> | null = null;
  let Rw: Mat<D> | null = null;
  let Vg: Mat<D> | null = null; // eigenvectors of the last Gram
  const changes: number[] = [];
  let prev: Float64Array | null = null;
  let estimate = Infinity;
  try {
    for (let t = 0; ; t++) {
      const z: Mat<D> = await op.applyT(Qlast ?? K);
      const grow = krylov && W !== null;
      let Wz: Float64Array | null = null,
        zz: Float64Array | null = null;
      if (!Qw && grow) [Wz, zz] = [await hostProduct(eng, W!, z), await hostProduct(eng, z, z)];
      if (grow) {
        Z = z;
        const W2: Mat<D> = await eng.hstack([W!, z]);
        W!.dispose();
        W = W2;
      } else {
        W?.dispose();
        W = z;
      }
      let ritz: Float64Array | null = null;
      if (!Qw) {
        G = Wz && zz ? extendGram(G!, W.cols - z.cols, z.cols, Wz, zz) : await hostProduct(eng, z, z);
        const gr = await gramRitz(eng, G, W.cols);
        ritz = gr.ritz;
        Vg?.dispose();
        Vg = gr.vectors;
        if (!gramResolves(ritz, plan.k, eps, plan.tol)) {
          // from now on the accurate route: a Householder QR of W once, then extended block by block
          ritz = null;
          G = null;
          Vg.dispose();
          Vg = null;
          ({ Q: Qw, R: Rw } = await eng.qr(W));
        }
      } else {
        const f: { Q: Mat<D>; R: Mat<D> } = await extendQR(eng, krylov ? Qw : null, W, z);
        disposeAll(Qw, Rw);
        Qw = f.Q;
        Rw = f.R;
      }
      ritz ??= await eng.svdvals(Rw!);
      const theta = ritz.slice(0, plan.k);
      if (prev) {
        const { d, floor } = ritzChange(theta, prev, eps, G !== null);
        estimate = stopEstimate(d, changes.at(-1) ?? NaN, floor, changes.at(-2) ?? NaN);
        changes.push(d);
      }
      prev = theta;
      const full = krylov && K.cols >= mn;
      const reason = estimate <= plan.tol ? 'converged' : t >= plan.q ? 'cap' : full ? 'basis' : null;
      if (reason) {
        const values: RsvdStop['values'] = G ? 'gram' : 'qr';
        const stop: Omit<RsvdStop, 'passes'> = {
          rule: 'ritz-extrapolated',
          iters: t,
          cap: plan.q,
          estimate,
          tolerance: plan.tol,
          reason,
          changes,
          values,
        };
        // The Gram's eigenvectors are accurate enough for the vectors themselves (V = W Vg_k / theta
        // orthonormal to about u (theta_1 / theta_k)^2 <= 256 u): no factorization of W at all.
        if (G && gramVectorsSuffice(ritz, plan.k)) return { res: await ritzFromProducts(eng, K, W, { Vr: Vg!, S: ritz }, plan.k), stop };
        const f = G ? await factorW(eng, W, G, ritz) : { Q: Qw!, R: Rw! };
        try {
          return { res: await ritzFromProducts(eng, K, W, { Qw: f.Q, Rw: f.R }, plan.k), stop };
        } finally {
          if (G) disposeAll(f.Q, f.R);
        }
      }
      if (krylov) {
        // A block that would make the basis wider than min(m, n) is cut to the columns left: the basis
        // then spans everything A can reach (exact Ritz values), and the next round stops ('basis').
        const left = mn - K.cols;
        const zc: Mat<D> = left < z.cols ? await eng.slice(z, { cols: [0, left] }) : z;
        const Y: Mat<D> = await thenDispose(op.apply(zc), zc === z ? null : zc);
        if (Z) Z.dispose();
        Z = null;
        const Q = await orthogonalizeAgainst(eng, Y, K);
        const K2: Mat<D> = await eng.hstack([K, Q]);
        K.dispose();
        K = K2;
        Qlast?.dispose();
        Qlast = Q;
      } else {
        W = null;
        const Zn = await normalize(eng, z, plan.norm); // consumes z (the old W)
        const Y = await thenDispose(op.apply(Zn), Zn);
        K.dispose();
        K = null;
        K = await normalize(eng, Y, 'qr', true);
      }
    }
  } finally {
    disposeAll(K, Qlast, W, Z, Qw, Rw, Vg);
  }
}

/**
 * Whether the final vectors may come from the Gram's eigenvectors (ritz: all c values, descending): the
 * off-diagonal of V^T V for V = W Vg_k / theta is about u theta_1^2 / (theta_i theta_j) <= u (theta_1 /
 * theta_k)^2, kept at most 256 u (theta_k >= theta_1 / 16), the level of the QR route's own rounding.
 */
function gramVectorsSuffice(ritz: Float64Array, k: number): boolean {
  const small = ritz[Math.min(k, ritz.length) - 1] ?? 0;
  return small > 0 && ritz[0] <= 16 * small;
}

/**
 * Whether the Gram route resolves the top k Ritz values (ritz: all of them, descending) to the stopping
 * rule's needs: eigenvalues of the rounded Gram carry an absolute error of about u theta_1^2, i.e. a
 * relative error of about u (theta_1 / theta_i)^2 in theta_i (measured on 4000 x 2000 f32 problems: at most
 * that, usually 10x less), which must stay below tol / 64 for the k-th value. In f32 at tol 1e-3 that
 * is theta_k >= 0.062 theta_1; in f64 theta_k >= 3e-6 theta_1. Rank-deficient or steeply decaying top k go
 * to the QR route, whose values are accurate to u theta_1 absolutely.
 */
function gramResolves(ritz: Float64Array, k: number, eps: number, tol: number): boolean {
  const big = ritz[0] ?? 0,
    small = ritz[Math.min(k, ritz.length) - 1] ?? 0;
  return big > 0 && small > 0 && eps * (big / small) ** 2 <= tol / 64;
}

/**
 * W = Q R (Q orthonormal n x c, R c x c) for the final Rayleigh-Ritz, from the Gram G = W^T W already on
 * the host: CholeskyQR2 (R1 = chol(G)^T, Q1 = W R1^-1, then one more CholeskyQR pass, R = R2 R1) when W is
 * well conditioned, theta_c / theta_1 >= 16 sqrt(u) (sqrt of G's eigenvalues, descending; kappa(W) <= 256
 * in f32, where CholeskyQR2 is orthonormal and backward stable to O(u)); Householder QR otherwise, or when
 * a Cholesky factorization refuses.
 */
async function factorW<D extends DType>(eng: Engine<D>, W: Mat<D>, G: Float64Array, ritz: Float64Array): Promise<{ Q: Mat<D>; R: Mat<D> }> {
  const c = W.cols;
  if (ritz[c - 1] >= 16 * Math.sqrt(unitRoundoff(eng.dtype)) * ritz[0]) {
    const Gm = hostMatrix(eng, G, c, c);
    const f1 = await thenDispose(cholQRFactor(eng, W, Gm), Gm);
    if (f1) {
      try {
        const f2 = await thenDispose(cholQRFactor(eng, f1.Q), f1.Q);
        if (f2) {
          try {
            return { Q: f2.Q, R: await eng.matmul(f2.L, f1.L, { transA: true, transB: true }) }; // R2 R1 = L2^T L1^T
          } catch (e) {
            f2.Q.dispose();
            throw e;
          } finally {
            f2.L.dispose();
          }
        }
      } finally {
        f1.L.dispose();
      }
    }
  }
  return eng.qr(W); // ill-conditioned, or a Gram not positive definite
}

/** A small host matrix (f64 values) as an engine Mat of the engine's dtype. */
function hostMatrix<D extends DType>(eng: Engine<D>, data: Float64Array, rows: number, cols: number): Mat<D> {
  return eng.matrix(eng.dtype === 'f64' ? data : Float32Array.from(data), rows, cols) as Mat<D>;
}

/** X^T Y on the host (f64), X n x a, Y n x b: a x b row-major. */
async function hostProduct<D extends DType>(eng: Engine<D>, X: Mat<D>, Y: Mat<D>): Promise<Float64Array> {
  const P = await eng.matmul(X, Y, { transA: true });
  try {
    return Float64Array.from(await P.toArray());
  } finally {
    P.dispose();
  }
}

/** [[G, B], [B^T, C]] from G (a x a), B (a x b) and C (b x b), all row-major. */
function extendGram(G: Float64Array, a: number, b: number, B: Float64Array, C: Float64Array): Float64Array {
  const c = a + b;
  const out = new Float64Array(c * c);
  for (let i = 0; i < a; i++) {
    out.set(G.subarray(i * a, (i + 1) * a), i * c);
    for (let j = 0; j < b; j++) out[i * c + a + j] = out[(a + j) * c + i] = B[i * b + j];
  }
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) out[(a + i) * c + a + j] = C[i * b + j];
  return out;
}

/**
 * sqrt of the eigenvalues of the Gram G (c x c), descending (negative roundoff clamped to 0), and the
 * eigenvectors (c x c engine Mat, the caller's).
 */
async function gramRitz<D extends DType>(eng: Engine<D>, G: Float64Array, c: number): Promise<{ ritz: Float64Array; vectors: Mat<D> }> {
  const M = hostMatrix(eng, G, c, c);
  try {
    const { values, vectors } = await eng.eigh(M);
    return { ritz: Float64Array.from(values, (v) => Math.sqrt(Math.max(v, 0))), vectors };
  } finally {
    M.dispose();
  }
}

/**
 * W = Qw Rw with Qw orthonormal (n x c) and Rw = Qw^T W (c x c), from the previous Qw (null: none yet):
 * the newest block Z of W is orthonormalized against Qw as the Krylov blocks are (orthogonalizeAgainst),
 * and Rw is one product. Qw_old, W and Z stay the caller's.
 */
async function extendQR<D extends DType>(eng: Engine<D>, Qw: Mat<D> | null, W: Mat<D>, Z: Mat<D>): Promise<{ Q: Mat<D>; R: Mat<D> }> {
  if (!Qw) return eng.qr(Z);
  const copy = await eng.slice(Z); // orthogonalizeAgainst consumes its block
  const Qz = await orthogonalizeAgainst(eng, copy, Qw);
  const Q = await thenDispose(eng.hstack([Qw, Qz]), Qz);
  try {
    return { Q, R: await eng.matmul(Q, W, { transA: true }) };
  } catch (e) {
    Q.dispose();
    throw e;
  }
}

/**
 * Y (consumed) made orthonormal and orthogonal to the orthonormal K: Y - K (K^T Y) and one CholeskyQR
 * pass (Householder QR when its Gram is not positive definite), then again Q - K (K^T Q) ("twice is
 * enough") finished by one CholeskyQR pass when every column kept more than half its norm; otherwise (a
 * column was numerically inside span K, e.g. A of rank below the basis size) those columns get random
 * directions, Householder QR, and another round, at most three.
 */
async function orthogonalizeAgainst<D extends DType>(eng: Engine<D>, Y: Mat<D>, K: Mat<D>): Promise<Mat<D>> {
  const project = async (X: Mat<D>): Promise<Mat<D>> => {
    try {
      const C = await eng.matmul(K, X, { transA: true });
      const P = await thenDispose(eng.matmul(K, C), C);
      return await thenDispose(eng.axpby(1, X, -1, P), P);
    } finally {
      X.dispose();
    }
  };
  let Q = await normalize(eng, await project(Y), 'cholqr1', true);
  for (let round = 0; ; round++) {
    const X = await project(Q); // consumes Q
    let kept: Float64Array;
    try {
      kept = await eng.colNorms(X);
    } catch (e) {
      X.dispose();
      throw e;
    }
    if (kept.every((x) => x > 0.5)) {
      let C: Mat<D> | null;
      try {
        C = await cholQRPass(eng, X);
      } catch (e) {
        X.dispose();
        throw e;
      }
      if (C) {
        X.dispose();
        return C;
      }
    }
    if (round === 2) return normalize(eng, X, 'qr', true);
    // Columns that (numerically) lay inside span K get fresh random directions, so that the block
    // still adds c new orthonormal directions (Householder QR of a zero column invents a unit vector
    // that may well be in span K already).
    const lost = Array.from(kept, (x) => (x > 0.5 ? 0 : 1));
    let X2 = X;
    if (lost.some((x) => x === 1)) {
      const R = eng.randn(X.rows, X.cols, { seed: 0x5eed + round });
      const Rm = await thenDispose(eng.scaleColumns(R, lost), R);
      X2 = await thenDispose(eng.axpby(1, X, 1, Rm), Rm, X);
    }
    Q = await normalize(eng, X2, 'qr', true); // consumes X2
  }
}

/**
 * Rayleigh-Ritz from products already made: K (m x c, orthonormal), W = A^T K (n x c) and either W = Qw Rw
 * (svd(Rw) = Ur S Vr^T, U = K Vr_k, V = Qw Ur_k) or the right singular vectors Vr of W directly (the
 * eigenvectors of W^T W, with their values S: U = K Vr_k, V = W Vr_k normalized, then one CholeskyQR
 * pass). The values are refined as ||A^T u_i|| /
 * ||u_i|| = ||W Vr e_i|| / ||K Vr e_i|| with both norms accumulated in f64 (U's columns are then scaled
 * to unit norm): equal to the SVD's values in exact arithmetic, and in f32 free of the first-order effect
 * of K being orthonormal only to a few ulps and of the small SVD's rounding. The arguments stay the caller's.
 */
async function ritzFromProducts<D extends DType>(
  eng: Engine<D>,
  K: Mat<D>,
  W: Mat<D>,
  from: { Qw: Mat<D>; Rw: Mat<D> } | { Vr: Mat<D>; S: Float64Array },
  k: number,
): Promise<{ U: Mat<D>; S: Float64Array; V: Mat<D> }> {
  const held: Array<Mat<D> | null> = [];
  const keep = <M extends Mat<D>>(x: M): M => (held.push(x), x);
  try {
    // The QR form: svd(Rw) = Ur S Vr^T (Ur, Vr held here), V = Qw Ur_k below; the Gram form brings Vr and S.
    let Vr: Mat<D>,
      Sw: Float64Array,
      qr: { Qw: Mat<D>; Ur: Mat<D> } | null = null;
    if ('Vr' in from) {
      Vr = from.Vr;
      Sw = from.S;
    } else {
      const r = await eng.svd(from.Rw);
      Vr = keep(r.V);
      Sw = r.S;
      qr = { Qw: from.Qw, Ur: keep(r.U) };
    }
    const kk = Math.min(k, Vr.cols);
    const Vk = keep(await eng.slice(Vr, { cols: [0, kk] }));
    const U0 = keep(await eng.matmul(K, Vk)); // m x k
    const T = keep(await eng.matmul(W, Vk)); // A^T U0, n x k
    const nu = await eng.colNorms(U0);
    const nt = await eng.colNorms(T);
    const S = Float64Array.from(nu, (x, i) => (x > 0 && Number.isFinite(nt[i]) ? nt[i] / x : (Sw[i] ?? 0)));
    const inv = Array.from(nu, (x) => (x > 0 ? 1 / x : 1));
    let U = await eng.scaleColumns(U0, inv);
    let V: Mat<D>;
    try {
      if (qr) {
        V = await eng.matmul(qr.Qw, keep(await eng.slice(qr.Ur, { cols: [0, kk] })));
      } else {
        // W Vr_k / theta is orthonormal only to about u (theta_1 / theta_k)^2 (measured 2e-5 in f32 on
        // the bench's gapless case against 6e-6 from the QR route): one CholeskyQR pass (n x k) brings it
        // back to roundoff; kept as it is if its Gram is not positive definite.
        const V0 = await eng.scaleColumns(
          T,
          Array.from(nt, (x) => (x > 0 ? 1 / x : 1)),
        );
        const Vq = await cholQRPass(eng, V0).catch((e: unknown) => {
          V0.dispose();
          throw e;
        });
        if (Vq) V0.dispose();
        V = Vq ?? V0;
      }
    } catch (e) {
      U.dispose();
      throw e;
    }
    // The refinement can swap values within rounding of each other: reorder (a permutation product).
    const order = Array.from(S.keys()).sort((a, b) => S[b] - S[a]);
    if (!order.every((v, i) => v === i)) {
      const P = new Float64Array(kk * kk);
      for (let dst = 0; dst < kk; dst++) P[order[dst] * kk + dst] = 1;
      const Pm = keep(hostMatrix(eng, P, kk, kk));
      held.push(U, V);
      U = await eng.matmul(U, Pm);
      V = await eng.matmul(V, Pm);
    }
    const f = await svdFlip(eng, U, V); // consumes U, V
    return { U: f.U, S: Float64Array.from(order, (i) => S[i]), V: f.V };
  } finally {
    disposeAll(...held);
  }
}

/**
 * Rayleigh-Ritz on an orthonormal basis Q (m x c): svd of B^T = A^T Q (n x c, tall), then the top k
 * triplets with sklearn's sign convention. Q stays the caller's (not disposed).
 */
export async function rayleighRitzOp<D extends DType>(
  op: Operator<D>,
  Q: Mat<D>,
  k: number,
): Promise<{ U: Mat<D>; S: Float64Array; V: Mat<D> }> {
  const { eng } = op;
  const Bt = await op.applyT(Q); // n x c = (Q^T A)^T
  let parts: Awaited<ReturnType<typeof eng.svd>>;
  try {
    parts = await eng.svd(Bt); // Bt = Ub S Vb^T  =>  B = Vb S Ub^T
  } finally {
    Bt.dispose(); // also when the SVD refuses (non-finite values from an operator)
  }
  const { U: Ub, S, V: Vb } = parts;
  const kk = Math.min(k, S.length);
  const Vk = await eng.slice(Vb, { cols: [0, kk] }); // c x k
  const U0 = await eng.matmul(Q, Vk); // m x k
  const V0 = await eng.slice(Ub, { cols: [0, kk] }); // n x k
  disposeAll(Ub, Vb, Vk);
  const { U, V } = await svdFlip(eng, U0, V0);
  return { U, S: S.slice(0, kk), V };
}

/** Exact truncated SVD (small problems): svd(A) cut to k columns, signs flipped. */
async function exactTruncated<D extends DType>(eng: Engine<D>, A: Mat<D>, k: number): Promise<{ U: Mat<D>; S: Float64Array; V: Mat<D> }> {
  const { U, S, V } = await eng.svd(A);
  const Uk = await eng.slice(U, { cols: [0, k] });
  const Vk = await eng.slice(V, { cols: [0, k] });
  disposeAll(U, V);
  const f = await svdFlip(eng, Uk, Vk);
  return { U: f.U, S: S.slice(0, k), V: f.V };
}
