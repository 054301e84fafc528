/**
 * l_p regression min_x ||A x - b||_p by IRLS (spec C.5), on the whole data or on a sensitivity-sampled
 * coreset of [A, b]. Each IRLS step is a weighted least-squares solve on A's engine (scaleRows + lstsq:
 * QR of the tall matrix on the device); the residual vector (n numbers) comes to the host for the
 * weights. A coreset is gathered on the device by a sparse selection matrix (spmm), never by reading A.
 *
 *   1 <= p < 2: w_i = max(|r_i|, delta)^(p-2), delta_0 = median |r|, delta halves every step down to a floor
 *               (the floor is what makes l_1 work: at the optimum d residuals are exactly zero);
 *   p = 2:      one least-squares solve;
 *   p > 2:      w_i = |r_i|^(p-2) and the damped step x <- x + (x_WLS - x) / (p - 1) (Newton's step on
 *               sum |r_i|^p).
 * For p = 1, IRLS ends with an exact polish on the host when the solved problem has at most 4M entries
 * (always for coresets): simplex-style edge descent from the vertex IRLS points at, so the answer is an
 * exact LP optimum (to roundoff) rather than IRLS's slowly converging approximation.
 */
import type { Engine } from '../../engine.js';
import { checkInt, checkOneOf, checkOptions, firstNonFinite, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { disposeAll } from '../common.js';
import { ladPolish, maxAbs, residual, sumAbsPow } from './host.js';
import { medianAbs } from '../common.js';
import { drawSample, sampleScores, type Sample, type SampleScores } from './sample.js';
import { checkMat, checkP } from './scores.js';

/** p = 1 problems (the coreset, or the full data) up to this many entries get the exact vertex polish. */
const POLISH_MAX = 4_000_000;

export interface RegressionOptions {
  /** 1 <= p < Infinity (required). */
  p: number;
  /** Solve on a sampled coreset of [A, b] of about `size` rows, with these scores (default 'lewis'). */
  coreset?: { size: number; scores?: SampleScores };
  /** IRLS iteration cap (default 100). */
  iters?: number;
  /**
   * Stop when the relative change of the objective falls below tol (and, for p < 2, delta reached its
   * floor). Default 1e-10 on f64 engines, 1e-6 on f32.
   */
  tol?: number;
  /** Seed of the coreset sample (default 0). */
  seed?: number;
}

export interface RegressionResult {
  /** The solution (length d). */
  x: Float64Array;
  /** ||A x - b||_p^p on the full data. */
  objective: number;
  /** IRLS steps taken. */
  iterations: number;
  /** The coreset used, when one was asked for. */
  coreset?: Sample;
}

/**
 * @example
 * ```ts
 * const { x, objective } = await lpRegression(A, b, { p: 1 });
 * const fast = await lpRegression(A, b, { p: 1, coreset: { size: 2000 }, seed: 1 });
 * ```
 */
export async function lpRegression<D extends DType>(
  A: Mat<D>,
  b: Mat<D> | Float32Array | Float64Array | number[],
  options: RegressionOptions,
): Promise<RegressionResult> {
  const fn = 'lpRegression';
  const M = checkMat<D>(fn, 'A', A);
  const eng = M.engine;
  if (options === null || typeof options !== 'object') throw typeError(fn, `options { p, ... } are required`);
  const o = checkOptions<RegressionOptions>(fn, options, ['p', 'coreset', 'iters', 'tol', 'seed']);
  const p = checkP(fn, o.p, 1, true);
  const iters = o.iters === undefined ? 100 : checkInt(fn, 'iters', o.iters, 1, 100000);
  const tol = o.tol === undefined ? (M.dtype === 'f64' ? 1e-10 : 1e-6) : o.tol;
  if (typeof tol !== 'number' || !(tol > 0)) throw rangeError(fn, `'tol' must be a positive number`);
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  const n = M.rows,
    d = M.cols;
  let B: Mat<D>;
  let ownB = false;
  if (b instanceof Mat) {
    eng._mats(fn, { b });
    if (b.rows !== n || b.cols !== 1) throw rangeError(fn, `'b' is ${b.rows} x ${b.cols}; expected ${n} x 1 (A is ${n} x ${d})`);
    B = b;
  } else if (b instanceof Float32Array || b instanceof Float64Array || Array.isArray(b)) {
    if (b.length !== n) throw rangeError(fn, `'b' has length ${b.length}; expected ${n} (the rows of A)`);
    const bad = firstNonFinite(b);
    if (bad >= 0) throw rangeError(fn, `b[${bad}] = ${String(b[bad])} is not finite`);
    B = eng.matrix(b as Float64Array, n, 1);
    ownB = true;
  } else throw typeError(fn, `'b' must be a Mat (n x 1), a Float32Array/Float64Array or a number[]`);

  let coreset: Sample | undefined;
  let SA: Mat<D> = M,
    Sb: Mat<D> = B;
  try {
    if (o.coreset !== undefined) {
      if (o.coreset === null || typeof o.coreset !== 'object') throw typeError(fn, `'coreset' must be { size, scores? }`);
      const c = checkOptions<{ size: number; scores: SampleScores }>(fn, o.coreset, ['size', 'scores']);
      if (c.size === undefined) throw typeError(fn, `'coreset.size' is required`);
      const size = checkInt(fn, 'coreset.size', c.size, 1, 2 ** 31 - 1);
      const scores = checkOneOf(
        fn,
        'coreset.scores',
        c.scores,
        ['lewis', 'sensitivity', 'root-leverage', 'leverage', 'uniform'] as const,
        'lewis',
      );
      const AB = await eng.hstack([M, B]);
      let sigma: Float64Array;
      try {
        sigma = await sampleScores(AB, p, scores);
      } finally {
        AB.dispose();
      }
      coreset = drawSample(sigma, size, p, seed, scores, [], n);
      const m = coreset.indices.length;
      const S = eng.sparse({
        rows: m,
        cols: n,
        row: Int32Array.from({ length: m }, (_, i) => i),
        col: coreset.indices,
        val: coreset.weights,
      });
      try {
        SA = await eng.spmm(S, M);
        Sb = await eng.spmm(S, B);
      } finally {
        S.dispose();
      }
    }
    const r = await irlsDevice(eng, SA, Sb, p, iters, tol);
    if (p === 1 && SA.rows * d <= POLISH_MAX) {
      // IRLS approaches an l_1 vertex only linearly near the end; an exact simplex-style polish from
      // the vertex it points at finishes the job (on the host: the solved problem is small).
      const a = Float64Array.from(await SA.toArray()),
        y = Float64Array.from(await Sb.toArray());
      const v = ladPolish(a, SA.rows, d, y, r.x);
      if (v && sumAbsPow(residual(a, SA.rows, d, y, v), 1) <= sumAbsPow(residual(a, SA.rows, d, y, r.x), 1)) r.x = v;
    }
    // objective on the full data
    const X = eng.matrix(eng.dtype === 'f64' ? r.x : Float32Array.from(r.x), d, 1);
    const AX = await eng.matmul(M, X);
    const R = await eng.sub(B, AX);
    const objective = sumAbsPow(await R.toArray(), p);
    disposeAll(X, AX, R);
    return { x: r.x, objective, iterations: r.iterations, ...(coreset ? { coreset } : {}) };
  } finally {
    if (SA !== M) SA.dispose();
    if (Sb !== B) Sb.dispose();
    if (ownB) B.dispose();
  }
}

/** IRLS on the engine; returns the best iterate (lowest objective). */
async function irlsDevice<D extends DType>(
  eng: Engine<D>,
  A: Mat<D>,
  B: Mat<D>,
  p: number,
  iters: number,
  tol: number,
): Promise<{ x: Float64Array; iterations: number }> {
  let X = await eng.lstsq(A, B);
  const deviceResidual = async (Xc: Mat<D>): Promise<Float64Array> => {
    const AX = await eng.matmul(A, Xc);
    const R = await eng.sub(B, AX);
    const r = Float64Array.from(await R.toArray());
    disposeAll(AX, R);
    return r;
  };
  try {
    if (p === 2) return { x: Float64Array.from(await X.toArray()), iterations: 0 };
    let r = await deviceResidual(X);
    let obj = sumAbsPow(r, p);
    let best = Float64Array.from(await X.toArray());
    let bestObj = obj;
    // delta starts at median |r| and halves down to a floor relative to it (not to max |r|, which heavy
    // tails make huge): 2^-40 ~ 1e-12 in f64, 2^-20 ~ 1e-6 in f32.
    const med = medianAbs(r) || maxAbs(r) || 1;
    const floor = (eng.dtype === 'f64' ? 1e-12 : 1e-6) * med;
    let delta = Math.max(med, floor);
    let it = 0;
    for (; it < iters; it++) {
      const s = new Float64Array(r.length);
      if (p < 2) for (let i = 0; i < r.length; i++) s[i] = Math.max(Math.abs(r[i]), delta) ** ((p - 2) / 2);
      else {
        for (let i = 0; i < r.length; i++) s[i] = Math.abs(r[i]) ** ((p - 2) / 2);
      }
      // normalize (a global scale does not change the weighted solution; keeps f32 in range)
      let smax = 0;
      for (const v of s) smax = Math.max(smax, v);
      if (!(smax > 0) || !Number.isFinite(smax)) break; // r = 0 exactly (p > 2): x is optimal
      for (let i = 0; i < s.length; i++) s[i] /= smax;
      const As = await eng.scaleRows(A, s);
      const Bs = await eng.scaleRows(B, s);
      let Xn = await eng.lstsq(As, Bs);
      disposeAll(As, Bs);
      if (p > 2) {
        const damped = await eng.axpby(1 - 1 / (p - 1), X, 1 / (p - 1), Xn);
        Xn.dispose();
        Xn = damped;
      }
      X.dispose();
      X = Xn;
      r = await deviceResidual(X);
      const on = sumAbsPow(r, p);
      const rel = Math.abs(obj - on) / Math.max(obj, 1e-300);
      obj = on;
      if (on < bestObj) {
        bestObj = on;
        best = Float64Array.from(await X.toArray());
      }
      if (p < 2) delta = Math.max(delta / 2, floor);
      if (rel < tol && (p > 2 || delta <= floor)) {
        it++;
        break;
      }
    }
    return { x: best, iterations: it };
  } finally {
    X.dispose();
  }
}
