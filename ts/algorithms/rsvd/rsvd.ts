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
import { allFinite, cholQRPass, disposeAll, secondsSince, svdFlip } from '../common.js';
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
   * Power (subspace) or Krylov iterations q. 'auto' (default): for 'subspace' sklearn's rule, 7 if
   * k < 0.1 min(m, n) else 4; for 'krylov' 4 if k < 0.1 min(m, n) else 2.
   */
  powerIters?: number | 'auto';
  /** 'subspace' (default) or 'krylov'. */
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
  /** Called after every pass over A (for progress bars). */
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

const OPTIONS = ['rank', 'oversample', 'powerIters', 'method', 'normalizer', 'center', 'preset', 'seed', 'onPass'] as const;

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
  const method = checkOneOf(fn, 'method', o.method, ['subspace', 'krylov'] as const, 'subspace');
  const presetP = preset === 'torch' ? 0 : preset === 'fbpca' ? 2 : 10;
  const p = o.oversample === undefined ? presetP : checkInt(fn, 'oversample', o.oversample, 0, 2 ** 31 - 1);
  const autoQ = method === 'krylov' ? (k < 0.1 * mn ? 4 : 2) : k < 0.1 * mn ? 7 : 4;
  const presetQ = preset === 'torch' || preset === 'fbpca' ? 2 : autoQ;
  const q = o.powerIters === undefined || o.powerIters === 'auto' ? presetQ : checkInt(fn, 'powerIters', o.powerIters, 0, 1000);
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
 * const { U, S, V, info } = await rsvd(A, { rank: 20 });                 // HMT, q = auto
 * const kr = await rsvd(A, { rank: 20, method: 'krylov' });              // block Krylov
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
  const info = (exact: boolean): RsvdInfo => ({
    matvecs: op.counts.matvecs,
    passes: op.counts.passes,
    seconds: secondsSince(t0),
    method: plan.method,
    rank: plan.k,
    oversample: plan.l - plan.k,
    powerIters: plan.q,
    normalizer: plan.norm,
    preset: plan.preset,
    exact,
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
  norm: Exclude<RsvdNormalizer, 'auto'>,
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

async function normalizeOwned<D extends DType>(eng: Engine<D>, Y: Mat<D>, kind: Exclude<RsvdNormalizer, 'auto'>): Promise<Mat<D>> {
  switch (kind) {
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
