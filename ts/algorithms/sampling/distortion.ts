/**
 * Distortion of a sampled l_p embedding (spec C.6): D = max(hi, 1/lo) - 1 with hi, lo the extremes of
 * ||S A x||_p / ||A x||_p over Gaussian directions, the right singular vectors and the coordinate axes of
 * A, then refined by normalized ascent (descent) on the log ratio from the 10 highest (lowest) starts.
 * Random directions alone underestimate D; the refinement gives a certified lower bound on the true
 * worst case (every reported ratio is attained by some x).
 *
 * This is a validation tool: A (n x d) is read back to the host once and evaluated in f64 there.
 */
import { checkBool, checkInt, checkOptions, rangeError, typeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import { normalStreamF64 } from '../../rng/philox.js';
import type { DType } from '../../types.js';
import { checkMat, checkP } from './scores.js';

export interface DistortionOptions {
  p: number;
  /** Gaussian directions (default 1000). */
  trials?: number;
  /** Local refinement from the 10 best and 10 worst directions, 300 steps each (default true). */
  refine?: boolean;
  /** Seed of the directions (default 0). */
  seed?: number;
  /**
   * Called now and then with the directions evaluated so far and the planned total (random, axis and
   * singular directions, then up to 301 refinement steps from each of 20 starts).
   */
  onProgress?: (p: { done: number; total: number }) => void;
}

export interface DistortionResult {
  /** max(hi, 1/lo) - 1. */
  distortion: number;
  /** min and max of ||S A x||_p / ||A x||_p over the directions tried. */
  lo: number;
  hi: number;
  /** Directions evaluated (refinement steps included). */
  evaluated: number;
}

/**
 * @example
 * ```ts
 * const sample = await sensitivitySample(A, { p: 1, size: 400 });
 * const { distortion } = await embeddingDistortion(A, sample, { p: 1 });
 * ```
 */
export async function embeddingDistortion<D extends DType>(
  A: Mat<D>,
  sample: { indices: ArrayLike<number>; weights: ArrayLike<number> },
  options: DistortionOptions,
): Promise<DistortionResult> {
  const fn = 'embeddingDistortion';
  const M = checkMat<D>(fn, 'A', A);
  if (options === null || typeof options !== 'object') throw typeError(fn, `options { p, ... } are required`);
  const o = checkOptions<DistortionOptions>(fn, options, ['p', 'trials', 'refine', 'seed', 'onProgress']);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw typeError(fn, `'onProgress' must be a function`);
  const onProgress = o.onProgress;
  const p = checkP(fn, o.p);
  const trials = o.trials === undefined ? 1000 : checkInt(fn, 'trials', o.trials, 0, 1e7);
  const refine = checkBool(fn, 'refine', o.refine, true);
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  if (sample === null || typeof sample !== 'object' || !sample.indices || !sample.weights)
    throw typeError(fn, `'sample' must be { indices, weights } (as sensitivitySample returns)`);
  const { indices, weights } = sample;
  if (indices.length !== weights.length)
    throw rangeError(fn, `sample.indices (${indices.length}) and sample.weights (${weights.length}) differ in length`);
  if (indices.length === 0) throw rangeError(fn, `the sample is empty`);
  const n = M.rows,
    d = M.cols;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= n) throw rangeError(fn, `sample.indices[${k}] = ${i} is not a row of A (0..${n - 1})`);
    if (!(weights[k] > 0) || !Number.isFinite(weights[k]))
      throw rangeError(fn, `sample.weights[${k}] = ${weights[k]} must be positive and finite`);
  }
  const a = Float64Array.from(await M.toArray());
  const m = indices.length;
  const sa = new Float64Array(m * d);
  for (let k = 0; k < m; k++) for (let j = 0; j < d; j++) sa[k * d + j] = weights[k] * a[indices[k] * d + j];

  const lpp = (mat: Float64Array, rows: number, x: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < rows; i++) {
      let y = 0;
      for (let j = 0; j < d; j++) y += mat[i * d + j] * x[j];
      s += p === 1 ? Math.abs(y) : Math.abs(y) ** p;
    }
    return s;
  };
  let evaluated = 0;
  const ratio = (x: Float64Array): number => {
    evaluated++;
    const den = lpp(a, n, x);
    if (!(den > 0)) return NaN; // x in the null space of A
    return (lpp(sa, m, x) / den) ** (1 / p);
  };

  const starts: { x: Float64Array; r: number }[] = [];
  const consider = (x: Float64Array) => {
    const r = ratio(x);
    if (Number.isFinite(r)) starts.push({ x, r });
  };
  const g = normalStreamF64(trials * d, seed, 11);
  const total = trials + 2 * d + (refine ? 20 * 301 : 0);
  for (let t = 0; t < trials; t++) {
    consider(g.slice(t * d, (t + 1) * d));
    if (onProgress && (t + 1) % 100 === 0) onProgress({ done: t + 1, total });
  }
  for (let j = 0; j < d; j++) {
    const e = new Float64Array(d);
    e[j] = 1;
    consider(e);
  }
  const { V } = await M.engine.svd(M);
  const v = Float64Array.from(await V.toArray());
  const kv = V.cols;
  V.dispose();
  for (let c = 0; c < kv; c++) consider(Float64Array.from({ length: d }, (_, j) => v[j * kv + c]));
  if (starts.length === 0) throw rangeError(fn, `A x = 0 for every direction tried (is A zero?)`);
  let lo = Infinity,
    hi = -Infinity;
  for (const s of starts) {
    lo = Math.min(lo, s.r);
    hi = Math.max(hi, s.r);
  }
  if (refine) {
    starts.sort((x, y) => x.r - y.r);
    const pick = [...starts.slice(0, 10).map((s) => ({ ...s, dir: -1 })), ...starts.slice(-10).map((s) => ({ ...s, dir: 1 }))];
    let k = 0;
    for (const s of pick) {
      onProgress?.({ done: trials + 2 * d + 301 * k++, total });
      const x = Float64Array.from(s.x);
      for (let step = 0; step <= 300; step++) {
        // one pass gives the ratio at x (the previous step's result) and the gradient there
        const res = logRatioGrad(a, n, sa, m, d, x, p);
        if (!res) break;
        evaluated++;
        lo = Math.min(lo, res.ratio);
        hi = Math.max(hi, res.ratio);
        if (step === 300) break;
        const gr = res.grad;
        let xx = 0,
          gx = 0;
        for (let j = 0; j < d; j++) {
          xx += x[j] * x[j];
          gx += gr[j] * x[j];
        }
        let gg = 0;
        for (let j = 0; j < d; j++) {
          gr[j] -= (gx / xx) * x[j];
          gg += gr[j] * gr[j];
        }
        if (!(gg > 0)) break;
        const f = (s.dir * 0.05 * Math.sqrt(xx)) / Math.sqrt(gg);
        for (let j = 0; j < d; j++) x[j] += f * gr[j];
      }
    }
  }
  onProgress?.({ done: total, total });
  return { distortion: Math.max(hi, 1 / lo) - 1, lo, hi, evaluated };
}

/** ||S A x||_p / ||A x||_p and the gradient of p (log ||S A x||_p - log ||A x||_p), or null when A x = 0. */
function logRatioGrad(
  a: Float64Array,
  n: number,
  sa: Float64Array,
  m: number,
  d: number,
  x: Float64Array,
  p: number,
): { ratio: number; grad: Float64Array } | null {
  const part = (mat: Float64Array, rows: number): [Float64Array, number] => {
    const gsum = new Float64Array(d);
    let tot = 0;
    for (let i = 0; i < rows; i++) {
      let y = 0;
      for (let j = 0; j < d; j++) y += mat[i * d + j] * x[j];
      const ay = Math.abs(y);
      tot += p === 1 ? ay : ay ** p;
      const w = y === 0 ? 0 : p === 1 ? Math.sign(y) : Math.sign(y) * ay ** (p - 1);
      if (w !== 0) for (let j = 0; j < d; j++) gsum[j] += w * mat[i * d + j];
    }
    return [gsum, tot];
  };
  const [gs, ts] = part(sa, m);
  const [ga, ta] = part(a, n);
  if (!(ta > 0) || !(ts > 0)) return null;
  return { ratio: (ts / ta) ** (1 / p), grad: Float64Array.from(gs, (v, j) => v / ts - ga[j] / ta) };
}
