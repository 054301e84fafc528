/**
 * RandLoRA (Albert et al., ICLR 2025): a full-rank update from frozen random bases,
 *
 *   dW = s sum_{j=1..N} B_j diag(lambda_j) A diag(gamma_j),
 *
 * with B_j (maxDim x r) distinct per j, A (r x minDim) shared, N = ceil(minDim / r) by default, and only
 * lambda (N x r, init 0) and gamma (N x minDim, init 1 / maxDim) trained.
 *
 * The two codebases disagree on the scale (spec-verified §10): the authors' repo uses s = alpha / r / sqrt(N)
 * with alpha = 64 ('randlora-paper'); upstream HF PEFT uses s = alpha / r with alpha = 640 (its docs say
 * "20 x r") and no sqrt(N) ('peft'): ~113x apart at r = 32, N = 128.
 *
 * Bases are generated on the host from the Philox stream of `seed` (bit-identical on every backend up to the
 * dtype cast) and uploaded once. Dense: kaiming-uniform (uniform(-b, b); the bound drops out) divided by
 * the std of the whole buffer. Sparse: entries in {-1, 0, +1} with P(+-1) = 1 / (2 s) each, s = 3
 * ('sparse') or sqrt(minDim) ('very_sparse'), then divided by the std of the whole buffer (unbiased std, as
 * torch.std). The reference sizes one buffer by the largest layer dims and slices it per layer; here the
 * buffers are sized for one layer (a layer's slice of a bigger buffer is the same construction).
 */
import type { Engine } from '../../engine.js';
import { checkDim, checkFinite, checkInt, checkOneOf, checkOptions, describeValue, rangeError, typeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import { uniformStream } from '../../rng/philox.js';
import type { DType } from '../../types.js';
import { checkMat, disposeAll } from '../common.js';

export type RandLoRASparsity = 'dense' | 'sparse' | 'very_sparse';
export type RandLoRAPreset = 'randlora-paper' | 'peft';

export interface RandLoRAOptions {
  inFeatures: number;
  outFeatures: number;
  /** Basis rank r (default 32, both codebases). */
  rank?: number;
  /** Number of bases N (default ceil(minDim / r), so the sum can reach full rank). */
  bases?: number;
  /** 'dense' (default), 'sparse' (s = 3) or 'very_sparse' (s = sqrt(minDim)). */
  sparsity?: RandLoRASparsity;
  /** 'randlora-paper' (default; alpha 64, s = alpha / r / sqrt(N)) or 'peft' (alpha 640, s = alpha / r). */
  preset?: RandLoRAPreset;
  /** Overrides the preset's alpha. */
  alpha?: number;
  /** Philox seed (default 0). */
  seed?: number;
}

export interface RandLoRABases<D extends DType = DType> {
  /** r x minDim, shared by all N terms (frozen). Owned by the caller. */
  A: Mat<D>;
  /**
   * maxDim x (N r): column j r + i is column i of B_j (frozen). Owned by the caller. (The reference's
   * flattened kernel pairs B's column n r + i with A's row i N + n; that order is not replicated: it only
   * matters for bit-parity with its fused kernel.)
   */
  B: Mat<D>;
  /** The scale s of the preset. */
  scale: number;
  alpha: number;
  rank: number;
  /** N. */
  bases: number;
  minDim: number;
  maxDim: number;
  /**
   * True when outFeatures < inFeatures: the formula then builds dW^T (in x out) and dW is its transpose
   * (randLoRADelta does that).
   */
  transposed: boolean;
  inFeatures: number;
  outFeatures: number;
  /** s of the sparse variants (3 or sqrt(minDim)); null for dense. */
  sparsityS: number | null;
  /** Trainable parameters N r + N minDim (lambda and gamma). */
  trainableParams: number;
  /** lambda's initial value (0: dW = 0 at init). */
  lambdaInit: number;
  /** gamma's initial value (1 / maxDim). */
  gammaInit: number;
}

function basisBuffer(n: number, seed: number, stream: number, sparseS: number | null): Float64Array {
  const u = uniformStream(n, seed, 'f64', stream);
  const x = new Float64Array(n);
  if (sparseS === null) for (let i = 0; i < n; i++) x[i] = 2 * u[i] - 1;
  else {
    const p = 1 / (2 * sparseS);
    for (let i = 0; i < n; i++) x[i] = u[i] < p ? -1 : u[i] >= 1 - p ? 1 : 0;
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i] - mean) ** 2;
  const std = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  // an all-zero draw (tiny very sparse buffers) or a single entry: leave it unscaled rather than divide by 0
  if (std > 0) for (let i = 0; i < n; i++) x[i] /= std;
  return x;
}

export interface RandLoRAPlan {
  rank: number;
  bases: number;
  minDim: number;
  maxDim: number;
  alpha: number;
  scale: number;
  sparsityS: number | null;
  transposed: boolean;
  trainableParams: number;
  seed: number;
  preset: RandLoRAPreset;
  sparsity: RandLoRASparsity;
}

/**
 * The sizes, scale and parameter count {@link randLoRABases} would use, without generating anything
 * (e.g. 4096 x 4096 with r = 32: N = 128, 528,384 trainable parameters).
 *
 * @throws TypeError/RangeError naming the function (default 'randLoRAPlan') and the argument, as randLoRABases.
 */
export function randLoRAPlan(options: RandLoRAOptions, fn = 'randLoRAPlan'): RandLoRAPlan {
  if (options === null || typeof options !== 'object')
    throw typeError(fn, `options must be { inFeatures, outFeatures, ... }, got ${describeValue(options)}`);
  const o = checkOptions<RandLoRAOptions>(fn, options, [
    'inFeatures',
    'outFeatures',
    'rank',
    'bases',
    'sparsity',
    'preset',
    'alpha',
    'seed',
  ]);
  const nin = checkDim(fn, 'inFeatures', o.inFeatures);
  const nout = checkDim(fn, 'outFeatures', o.outFeatures);
  const minDim = Math.min(nin, nout),
    maxDim = Math.max(nin, nout);
  const r = checkInt(fn, 'rank', o.rank ?? Math.min(32, minDim), 1, minDim);
  const N = o.bases === undefined ? Math.ceil(minDim / r) : checkInt(fn, 'bases', o.bases, 1, 2 ** 31 - 1);
  const sparsity = checkOneOf(fn, 'sparsity', o.sparsity, ['dense', 'sparse', 'very_sparse'] as const, 'dense');
  const preset = checkOneOf(fn, 'preset', o.preset, ['randlora-paper', 'peft'] as const, 'randlora-paper');
  const alpha = checkFinite(fn, 'alpha', o.alpha ?? (preset === 'peft' ? 640 : 64));
  if (alpha === 0) throw rangeError(fn, `'alpha' must be non-zero`);
  const seed = checkInt(fn, 'seed', o.seed ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const sparsityS = sparsity === 'dense' ? null : sparsity === 'sparse' ? 3 : Math.sqrt(minDim);
  const scale = preset === 'peft' ? alpha / r : alpha / r / Math.sqrt(N);
  return {
    rank: r,
    bases: N,
    minDim,
    maxDim,
    alpha,
    scale,
    sparsityS,
    transposed: nout < nin,
    trainableParams: N * r + N * minDim,
    seed,
    preset,
    sparsity,
  };
}

/**
 * RandLoRA's frozen random bases and scale for one linear layer (out x in).
 *
 * @throws TypeError/RangeError naming 'randLoRABases' and the argument: dimensions not positive integers,
 *   rank outside [1, minDim], bases < 1, unknown sparsity / preset / option, alpha non-finite or zero,
 *   B over 2^31 - 1 entries.
 */
export function randLoRABases<D extends DType>(eng: Engine<D>, options: RandLoRAOptions): RandLoRABases<D> {
  const fn = 'randLoRABases';
  if (eng === null || typeof eng !== 'object' || typeof (eng as Engine<D>).matrix !== 'function')
    throw typeError(fn, `'eng' must be an Engine, got ${describeValue(eng)}`);
  const p = randLoRAPlan(options, fn);
  const { rank: r, bases: N, minDim, maxDim, sparsityS, seed } = p;
  if (maxDim * N * r > 2 ** 31 - 1)
    throw rangeError(fn, `B would have ${maxDim} x ${N * r} entries (over 2^31 - 1): lower 'bases' or raise 'rank'`);
  const cast = (x: Float64Array): Float64Array | Float32Array => (eng.dtype === 'f64' ? x : Float32Array.from(x));
  const A = eng.matrix(cast(basisBuffer(r * minDim, seed, 1, sparsityS)), r, minDim);
  let B: Mat<D>;
  try {
    B = eng.matrix(cast(basisBuffer(maxDim * N * r, seed, 2, sparsityS)), maxDim, N * r);
  } catch (e) {
    A.dispose();
    throw e;
  }
  return {
    A,
    B,
    scale: p.scale,
    alpha: p.alpha,
    rank: r,
    bases: N,
    minDim,
    maxDim,
    transposed: p.transposed,
    inFeatures: options.inFeatures,
    outFeatures: options.outFeatures,
    sparsityS,
    trainableParams: p.trainableParams,
    lambdaInit: 0,
    gammaInit: 1 / maxDim,
  };
}

function checkVec(fn: string, name: string, v: unknown, n: number): ArrayLike<number> {
  if (!(v instanceof Float64Array || v instanceof Float32Array || Array.isArray(v)))
    throw typeError(fn, `'${name}' must be a Float64Array, Float32Array or number[], got ${describeValue(v)}`);
  if (v.length !== n) throw rangeError(fn, `'${name}' has length ${v.length}, need ${n}`);
  for (let i = 0; i < n; i++)
    if (typeof v[i] !== 'number' || !Number.isFinite(v[i])) throw rangeError(fn, `'${name}[${i}]' = ${describeValue(v[i])} is not finite`);
  return v;
}

/**
 * dW (outFeatures x inFeatures, a new Mat) = s sum_j B_j diag(lambda_j) A diag(gamma_j) (transposed when
 * `bases.transposed`), with lambda of length N r (entry j r + i = lambda_j[i]) and gamma of length
 * N minDim (entry j minDim + k = gamma_j[k]). Formed as one product (B diag(lambda)) [A diag(gamma_1); ...;
 * A diag(gamma_N)].
 *
 * @throws TypeError/RangeError naming 'randLoRADelta': lengths disagree, non-finite values, disposed bases.
 */
export async function randLoRADelta<D extends DType>(
  bases: RandLoRABases<D>,
  lambda: ArrayLike<number>,
  gamma: ArrayLike<number>,
): Promise<Mat<D>> {
  const fn = 'randLoRADelta';
  if (bases === null || typeof bases !== 'object') throw typeError(fn, `'bases' must come from randLoRABases, got ${describeValue(bases)}`);
  const A = checkMat<D>(fn, 'bases.A', bases.A);
  const B = checkMat<D>(fn, 'bases.B', bases.B, A.engine);
  const { rank: r, bases: N, minDim } = bases;
  if (A.rows !== r || A.cols !== minDim || B.cols !== N * r)
    throw rangeError(fn, `'bases' is inconsistent (A ${A.rows} x ${A.cols}, B ${B.rows} x ${B.cols})`);
  const lam = checkVec(fn, 'lambda', lambda, N * r);
  const gam = checkVec(fn, 'gamma', gamma, N * minDim);
  const eng = A.engine;
  const blocks: Mat<D>[] = [];
  let Bl: Mat<D> | undefined, Ag: Mat<D> | undefined, P: Mat<D> | undefined;
  try {
    for (let j = 0; j < N; j++) blocks.push(await eng.scaleColumns(A, Array.prototype.slice.call(gam, j * minDim, (j + 1) * minDim)));
    Ag = N === 1 ? blocks[0] : await eng.vstack(blocks);
    Bl = await eng.scaleColumns(
      B,
      Array.from(lam, (v) => v * bases.scale),
    );
    P = await eng.matmul(Bl, Ag);
    if (!bases.transposed) {
      const out = P;
      P = undefined;
      return out;
    }
    return await eng.transpose(P);
  } finally {
    disposeAll(...blocks, Bl, P);
    if (Ag !== blocks[0]) disposeAll(Ag);
  }
}
