/**
 * Generated robust matrix-sensing problems (spec B.6): X* = U* diag(s) U*^T (PSD, rank r) with U*
 * orthonormal and s proportional to linspace(kappa, 1, r) (kappa = 2), normalised to ||X*||_F = 1
 * (or X* = U* diag(s) V*^T when symmetric: false); y = A(X*) + s with outliers on a random fraction p
 * of the measurements and optional dense Gaussian noise:
 *   'uniform'   s_i ~ U(-c, c) max|y0|,  'one-sided' s_i ~ U(0, c) max|y0|,  'cauchy' s_i ~ max|y0| Cauchy,
 * c = outlierScale (default 10). The truth and the noise come from a host Philox stream of `seed`
 * (stream 1); the Gaussian operator is randn(m, n^2, { seed }) (stream 0).
 */
import type { Engine } from '../../engine.js';
import { checkBool, checkDim, checkFinite, checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import { PhiloxRng } from '../../rng/philox.js';
import type { DType } from '../../types.js';
import { entryMeasurements, gaussianMeasurements, type MeasurementOperator } from './operators.js';
import type { SensingProblem } from './recover.js';

export type OutlierKind = 'uniform' | 'one-sided' | 'cauchy';

export interface SensingProblemOptions {
  n: number;
  /** True rank r (1..n). */
  rank: number;
  /** Number of measurements. */
  m: number;
  /** Fraction p in [0, 1] of corrupted measurements (default 0). */
  outlierFraction?: number;
  outlierKind?: OutlierKind;
  /** Outlier magnitude relative to max|y0| (default 10). */
  outlierScale?: number;
  /** Standard deviation of dense Gaussian noise on every measurement (default 0). */
  noiseStd?: number;
  /** 'gaussian' (default) or 'entries' (m distinct entries sampled uniformly, scale n). */
  measurements?: 'gaussian' | 'entries';
  /** Gaussian operator storage (gaussianMeasurements): 'auto' (default), 'dense' or 'matrix-free'. */
  storage?: 'auto' | 'dense' | 'matrix-free';
  /** Condition number kappa of X*'s nonzero spectrum (default 2). */
  condition?: number;
  /** PSD target U U^T (default) or a general rank-r U V^T. */
  symmetric?: boolean;
  seed?: number;
}

export interface SensingProblemResult<D extends DType> {
  problem: SensingProblem<D> & { measurements: MeasurementOperator<D>; y: Float32Array | Float64Array };
  truth: {
    /** X* (n x n, ||X*||_F = 1). */
    X: Mat<D>;
    /** 1 where a measurement carries an outlier. */
    outliers: Uint8Array;
  };
}

/**
 * @example
 * ```ts
 * const { problem, truth } = await sensingProblem(eng, { n: 20, rank: 2, m: 600, outlierFraction: 0.2, seed: 3 });
 * ```
 */
export async function sensingProblem<D extends DType>(eng: Engine<D>, options: SensingProblemOptions): Promise<SensingProblemResult<D>> {
  const fn = 'sensingProblem';
  if (options === null || typeof options !== 'object') throw typeError(fn, `options { n, rank, m, ... } are required`);
  const o = checkOptions<SensingProblemOptions>(fn, options, [
    'n',
    'rank',
    'm',
    'outlierFraction',
    'outlierKind',
    'outlierScale',
    'noiseStd',
    'measurements',
    'storage',
    'condition',
    'symmetric',
    'seed',
  ]);
  const n = checkDim(fn, 'n', o.n);
  const r = checkInt(fn, 'rank', o.rank, 1, n);
  const m = checkDim(fn, 'm', o.m);
  const p = o.outlierFraction === undefined ? 0 : checkFinite(fn, 'outlierFraction', o.outlierFraction);
  if (!(p >= 0 && p <= 1)) throw rangeError(fn, `'outlierFraction' must be in [0, 1], got ${p}`);
  const kind = checkOneOf(fn, 'outlierKind', o.outlierKind, ['uniform', 'one-sided', 'cauchy'] as const, 'uniform');
  const outScale = o.outlierScale === undefined ? 10 : checkFinite(fn, 'outlierScale', o.outlierScale);
  if (!(outScale > 0)) throw rangeError(fn, `'outlierScale' must be positive`);
  const noise = o.noiseStd === undefined ? 0 : checkFinite(fn, 'noiseStd', o.noiseStd);
  if (!(noise >= 0)) throw rangeError(fn, `'noiseStd' must be >= 0, got ${noise}`);
  const which = checkOneOf(fn, 'measurements', o.measurements, ['gaussian', 'entries'] as const, 'gaussian');
  const storage = checkOneOf(fn, 'storage', o.storage, ['auto', 'dense', 'matrix-free'] as const, 'auto');
  const kappa = o.condition === undefined ? 2 : checkFinite(fn, 'condition', o.condition);
  if (!(kappa >= 1)) throw rangeError(fn, `'condition' must be >= 1, got ${kappa}`);
  const symmetric = checkBool(fn, 'symmetric', o.symmetric, true);
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  if (which === 'entries' && m > n * n) throw rangeError(fn, `'m' = ${m} exceeds the n^2 = ${n * n} entries that can be sampled`);

  // Truth on the host in f64.
  const rng = new PhiloxRng(seed, 1);
  const Us = orthonormal(rng, n, r);
  const Vs = symmetric ? Us : orthonormal(rng, n, r);
  const sig = Float64Array.from({ length: r }, (_, k) => (r === 1 ? 1 : kappa + ((1 - kappa) * k) / (r - 1)));
  const X = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += Us[i * r + k] * sig[k] * Vs[j * r + k];
      X[i * n + j] = s;
    }
  let fro = 0;
  for (const v of X) fro += v * v;
  fro = Math.sqrt(fro);
  for (let i = 0; i < X.length; i++) X[i] /= fro;
  const Xmat = eng.matrix(X, n, n);

  let op: MeasurementOperator<D>;
  if (which === 'gaussian') op = await gaussianMeasurements(eng, { n, m, seed, storage });
  else {
    const pos = sampleDistinct(rng, n * n, m);
    const S = eng.sparse({
      rows: n,
      cols: n,
      row: Int32Array.from(pos, (q) => Math.floor(q / n)),
      col: Int32Array.from(pos, (q) => q % n),
      val: new Float64Array(m).fill(1),
    });
    const E = entryMeasurements(S);
    op = { ...E, dispose: () => (E.dispose(), S.dispose()) };
  }
  const Y0 = await op.apply(Xmat);
  const y0 = await Y0.toArray();
  Y0.dispose();
  let ymax = 0;
  for (const v of y0) ymax = Math.max(ymax, Math.abs(v));
  const y = eng.dtype === 'f64' ? new Float64Array(m) : new Float32Array(m);
  const outliers = new Uint8Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    if (p > 0 && rng.next() < p) {
      outliers[i] = 1;
      const u = rng.next();
      if (kind === 'uniform') s = outScale * ymax * (2 * u - 1);
      else if (kind === 'one-sided') s = outScale * ymax * u;
      else s = ymax * Math.tan(Math.PI * (u - 0.5));
    }
    if (noise > 0) s += noise * rng.normal();
    y[i] = y0[i] + s;
  }
  if (eng.dtype === 'f32') for (let i = 0; i < m; i++) if (!Number.isFinite(y[i])) y[i] = Math.sign(y[i]) * 3e38; // a Cauchy draw past f32
  return { problem: { n, measurements: op, y }, truth: { X: Xmat, outliers } };
}

/** n x k with orthonormal columns (two passes of modified Gram-Schmidt on Gaussian columns), row-major. */
function orthonormal(rng: PhiloxRng, n: number, k: number): Float64Array {
  const Q = new Float64Array(n * k);
  for (let i = 0; i < n * k; i++) Q[i] = rng.normal();
  for (let j = 0; j < k; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let l = 0; l < j; l++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += Q[i * k + l] * Q[i * k + j];
        for (let i = 0; i < n; i++) Q[i * k + j] -= d * Q[i * k + l];
      }
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += Q[i * k + j] ** 2;
    s = Math.sqrt(s);
    for (let i = 0; i < n; i++) Q[i * k + j] /= s;
  }
  return Q;
}

/** m distinct integers from [0, total), uniformly (partial Fisher-Yates on a sparse swap map). */
function sampleDistinct(rng: PhiloxRng, total: number, m: number): number[] {
  const swapped = new Map<number, number>();
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(total - i);
    const vj = swapped.get(j) ?? j,
      vi = swapped.get(i) ?? i;
    swapped.set(j, vi);
    out.push(vj);
  }
  return out;
}
