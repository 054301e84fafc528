/**
 * Random subspaces for intrinsic-dimension training (Li et al. 2018; Aghajanyan et al. 2020): theta =
 * theta_0 + P theta_d with P (D x d) random and fixed. `randomSubspace` returns P as a LinearOperator
 * (apply: d -> D, applyT: D -> d, on matrices of one or more columns) on the engine's device.
 *
 * Kinds and normalisations (../shared/spec/higher-level-verified.md §10):
 * - 'fastfood' (default): P x = (H G Pi H B x_pad)[:D] / (sqrt(L sum G^2) sqrt(D / L)), L = 2^ceil(log2 D),
 *   H the unnormalised Walsh-Hadamard matrix (engine.fwht), B random signs, Pi a random permutation
 *   ((Pi v)_i = v_{pi(i)}), G a standard Gaussian diagonal, x_pad = x zero-padded to L: the formula of the
 *   Aghajanyan code. Every column of the untruncated L x d matrix has norm exactly 1; the first D rows
 *   keep squared norm D / L of it on average, rescaled to 1 by sqrt(D / L), so columns have norm 1 in
 *   expectation (exactly when D = L). O(L log L) per column, O(L) memory; never materialised.
 * - 'gaussian': dense i.i.d. N(0, 1) then every column scaled to norm exactly 1 (Li et al.);
 *   `normalize: false` keeps the Aghajanyan code's dense variant, N(0, 0.01^2) entries, no normalisation.
 *   Materialised (D d entries on the device).
 * - 'sparse': Li et al.'s very sparse projection: entry (i, j) nonzero with probability `density`
 *   (default 1 / sqrt(D), Li, Hastie and Church's "very sparse" s = sqrt(D)) with a random sign, then each
 *   column scaled to norm exactly 1 (value +-1 / sqrt(nnz of the column)). A column that drew no entry gets
 *   one at a uniformly random row. Stored as a SparseMat (about d D density entries).
 *
 * Random parameters (signs, permutation, G, the sparse pattern) come from the host Philox generator
 * (ts/rng/philox.ts) of `seed`, so P is the same matrix on every backend and dtype (the Gaussian kind
 * uses engine.randn of `seed`: identical to a few ulps across backends).
 */
import type { Engine } from '../../engine.js';
import { checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import type { Mat, SparseMat } from '../../mat.js';
import { PhiloxRng } from '../../rng/philox.js';
import type { DType } from '../../types.js';
import { checkMat } from '../common.js';
import type { LinearOperator } from '../operator.js';

export type SubspaceKind = 'gaussian' | 'sparse' | 'fastfood';

export interface RandomSubspaceOptions {
  /** Default 'fastfood'. */
  kind?: SubspaceKind;
  /** Integer in [0, 2^53), default 0. */
  seed?: number;
  /** 'gaussian' only: unit-norm columns (default true, Li et al.) or N(0, 0.01^2) entries (false). */
  normalize?: boolean;
  /** 'sparse' only: probability of a nonzero, in (0, 1]; default 1 / sqrt(D). */
  density?: number;
}

/** A random D x d subspace basis P: apply(X) = P X (X: d x b), applyT(Y) = P^T Y (Y: D x b). */
export interface RandomSubspace<D extends DType = DType> extends LinearOperator<D> {
  readonly kind: SubspaceKind;
  readonly seed: number;
  /** The padded length L = 2^ceil(log2 D) ('fastfood'; D otherwise). */
  readonly padded: number;
  /** Releases the device data (the operator is unusable afterwards). */
  dispose(): void;
}

const FN = 'randomSubspace';
const STREAM_FASTFOOD = 0x3f00;
const STREAM_SPARSE = 0x3f01;

/**
 * A random subspace P (D x d, d <= D) as a LinearOperator; see the module comment for the kinds and
 * their normalisations.
 *
 * @example
 * ```ts
 * const P = await randomSubspace(eng, 199210, 750, { kind: 'fastfood', seed: 1 });
 * const delta = await P.apply(thetaD);      // D x 1: theta = theta0 + delta
 * const gD = await P.applyT(grad);          // d x 1: the gradient in the subspace
 * P.dispose();
 * ```
 */
export async function randomSubspace<D extends DType>(
  eng: Engine<D>,
  D: number,
  d: number,
  options: RandomSubspaceOptions = {},
): Promise<RandomSubspace<D>> {
  if (eng === null || typeof eng !== 'object' || typeof (eng as Engine<D>).fwht !== 'function')
    throw typeError(FN, `'eng' must be an Engine`);
  const o = checkOptions<RandomSubspaceOptions>(FN, options, ['kind', 'seed', 'normalize', 'density']);
  const nD = checkInt(FN, 'D', D, 1, 2 ** 30);
  const nd = checkInt(FN, 'd', d, 1, 2 ** 30);
  if (nd > nD) throw rangeError(FN, `'d' (${nd}) must not exceed 'D' (${nD})`);
  const kind = checkOneOf<SubspaceKind>(FN, 'kind', o.kind, ['gaussian', 'sparse', 'fastfood'], 'fastfood');
  const seed = o.seed === undefined ? 0 : checkInt(FN, 'seed', o.seed, 0, 2 ** 53 - 1);
  if (o.normalize !== undefined && (typeof o.normalize !== 'boolean' || kind !== 'gaussian'))
    throw (typeof o.normalize !== 'boolean' ? typeError : rangeError)(
      FN,
      `'normalize' must be a boolean and applies to kind 'gaussian' only`,
    );
  if (o.density !== undefined) {
    if (typeof o.density !== 'number') throw typeError(FN, `'density' must be a number, got ${typeof o.density}`);
    if (kind !== 'sparse') throw rangeError(FN, `'density' applies to kind 'sparse' only`);
    if (!(o.density > 0 && o.density <= 1)) throw rangeError(FN, `'density' must be in (0, 1], got ${o.density}`);
  }
  if (kind === 'fastfood') return fastfood(eng, nD, nd, seed);
  if (kind === 'sparse') return sparse(eng, nD, nd, seed, o.density ?? 1 / Math.sqrt(nD));
  return gaussian(eng, nD, nd, seed, o.normalize ?? true);
}

/** Shape check of an apply / applyT argument. */
function arg<D extends DType>(eng: Engine<D>, who: string, name: string, X: unknown, rows: number): Mat<D> {
  const M = checkMat(who, name, X, eng);
  if (M.rows !== rows) throw rangeError(who, `'${name}' must have ${rows} rows, got ${M.rows} x ${M.cols}`);
  return M;
}

function operator<D extends DType>(
  eng: Engine<D>,
  kind: SubspaceKind,
  seed: number,
  D: number,
  d: number,
  padded: number,
  apply: (X: Mat<D>) => Promise<Mat<D>>,
  applyT: (Y: Mat<D>) => Promise<Mat<D>>,
  release: () => void,
): RandomSubspace<D> {
  let alive = true;
  const live = (who: string): void => {
    if (!alive) throw rangeError(who, `the subspace was disposed`);
  };
  return {
    engine: eng,
    rows: D,
    cols: d,
    kind,
    seed,
    padded,
    apply: async (X) => (live('randomSubspace.apply'), apply(arg(eng, 'randomSubspace.apply', 'X', X, d))),
    applyT: async (Y) => (live('randomSubspace.applyT'), applyT(arg(eng, 'randomSubspace.applyT', 'Y', Y, D))),
    dispose: () => {
      if (alive) release();
      alive = false;
    },
  };
}

async function fastfood<D extends DType>(eng: Engine<D>, D: number, d: number, seed: number): Promise<RandomSubspace<D>> {
  let L = 1;
  while (L < D) L *= 2;
  const rng = new PhiloxRng(seed, STREAM_FASTFOOD);
  const B = new Float64Array(d);
  for (let j = 0; j < d; j++) B[j] = rng.next() < 0.5 ? -1 : 1;
  // Fisher-Yates: a uniform permutation pi of [0, L).
  const pi = new Int32Array(L);
  for (let i = 0; i < L; i++) pi[i] = i;
  for (let i = L - 1; i > 0; i--) {
    const k = rng.int(i + 1);
    const t = pi[i];
    pi[i] = pi[k];
    pi[k] = t;
  }
  const G = new Float64Array(L);
  let ss = 0;
  for (let i = 0; i < L; i++) {
    G[i] = rng.normal();
    ss += G[i] * G[i];
  }
  const c = 1 / (Math.sqrt(L * ss) * Math.sqrt(D / L));
  const idx = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
  // S1 (L x d): x -> B x_pad. S2 (L x L): v -> c G (Pi v), row i holding c G_i at column pi(i).
  const S1 = eng.sparse({ rows: L, cols: d, row: idx(d), col: idx(d), val: B });
  const S2 = eng.sparse({ rows: L, cols: L, row: idx(L), col: pi, val: G.map((g) => c * g) });
  const apply = async (X: Mat<D>): Promise<Mat<D>> => {
    const Z1 = await eng.spmm(S1, X);
    const Z2 = await eng.fwht(Z1);
    Z1.dispose();
    const Z3 = await eng.spmm(S2, Z2);
    Z2.dispose();
    const Z4 = await eng.fwht(Z3);
    Z3.dispose();
    if (D === L) return Z4;
    const Y = await eng.slice(Z4, { rows: [0, D] });
    Z4.dispose();
    return Y;
  };
  const applyT = async (Y: Mat<D>): Promise<Mat<D>> => {
    let Z0: Mat<D>;
    if (D === L) Z0 = Y;
    else {
      const pad = eng.zeros(L - D, Y.cols);
      Z0 = await eng.vstack([Y, pad]);
      pad.dispose();
    }
    const Z1 = await eng.fwht(Z0);
    if (Z0 !== Y) Z0.dispose();
    const Z2 = await eng.spmm(S2, Z1, { transS: true });
    Z1.dispose();
    const Z3 = await eng.fwht(Z2);
    Z2.dispose();
    const X = await eng.spmm(S1, Z3, { transS: true });
    Z3.dispose();
    return X;
  };
  return operator(eng, 'fastfood', seed, D, d, L, apply, applyT, () => {
    S1.dispose();
    S2.dispose();
  });
}

async function gaussian<D extends DType>(
  eng: Engine<D>,
  D: number,
  d: number,
  seed: number,
  normalize: boolean,
): Promise<RandomSubspace<D>> {
  const R = eng.randn(D, d, { seed });
  let P: Mat<D>;
  if (normalize) {
    const norms = await eng.colNorms(R);
    P = await eng.scaleColumns(
      R,
      Array.from(norms, (n) => 1 / n),
    );
  } else P = await eng.scale(R, 0.01);
  R.dispose();
  return operator(
    eng,
    'gaussian',
    seed,
    D,
    d,
    D,
    (X) => eng.matmul(P, X),
    (Y) => eng.matmul(P, Y, { transA: true }),
    () => P.dispose(),
  );
}

async function sparse<D extends DType>(eng: Engine<D>, D: number, d: number, seed: number, density: number): Promise<RandomSubspace<D>> {
  const rng = new PhiloxRng(seed, STREAM_SPARSE);
  const rows: number[] = [],
    cols: number[] = [],
    vals: number[] = [];
  const logq = Math.log1p(-density);
  const col: number[] = [];
  for (let j = 0; j < d; j++) {
    // Bernoulli(density) per entry of column j by geometric gaps between nonzeros.
    col.length = 0;
    if (density >= 1) for (let i = 0; i < D; i++) col.push(i);
    else for (let i = Math.floor(Math.log(rng.next()) / logq); i < D; i += 1 + Math.floor(Math.log(rng.next()) / logq)) col.push(i);
    if (col.length === 0) col.push(rng.int(D));
    const v = 1 / Math.sqrt(col.length);
    for (const i of col) {
      rows.push(i);
      cols.push(j);
      vals.push(rng.next() < 0.5 ? -v : v);
    }
  }
  const S: SparseMat<D> = eng.sparse({ rows: D, cols: d, row: rows, col: cols, val: vals });
  return operator(
    eng,
    'sparse',
    seed,
    D,
    d,
    D,
    (X) => eng.spmm(S, X),
    (Y) => eng.spmm(S, Y, { transS: true }),
    () => S.dispose(),
  );
}
