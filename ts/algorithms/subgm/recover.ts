/**
 * Robust low-rank matrix recovery by the sub-gradient method (SubGM) on the l1 loss with a small,
 * over-parameterized initialization (Ma & Fattahi, JMLR 2023; spec part B):
 *
 *   f(U) = (1/m) sum_i |<A_i, U U^T> - y_i|,   U in R^{n x r'} with r' >= r allowed,
 *   U_0 = alpha G / ||G||_2,  alpha = initScale * sqrt(median|y| / 0.6745),
 *   Q_t = sym(sum_i sign(r_i) A_i) / m,   U_{t+1} = U_t - eta_t Q_t U_t,
 *   eta_t = eta0 rho^max(0, t - T1)       (constant warm-up of T1 steps, then geometric decay).
 *
 * The loop runs on the engine: X = U U^T (GEMM), the measurement operator, residual, sign, adjoint,
 * symmetrization, one GEMM for Q U and an axpby. Only the loss (one scalar, <sign(r), r> / m) comes
 * back every `logEvery` steps (and ||U||_F every 10 steps while the automatic warm-up watches it).
 * symmetric: false runs the asymmetric extension of spec B.3 (X = U V^T, U <- U - eta Q V and
 * V <- V - eta Q^T U simultaneously, Q unsymmetrized).
 */
import type { Engine } from '../../engine.js';
import {
  checkBool,
  checkDim,
  checkFinite,
  checkInt,
  checkOneOf,
  checkOptions,
  firstNonFinite,
  rangeError,
  typeError,
} from '../../errors.js';
import { Mat, SparseMat } from '../../mat.js';
import type { DType } from '../../types.js';
import { disposeAll, medianAbs } from '../common.js';
import { denseMeasurements, entryMeasurements, type CustomMeasurements, type MeasurementOperator } from './operators.js';

export interface SensingProblem<D extends DType = DType> {
  /** X is n x n. */
  n: number;
  /**
   * The operator: one from gaussianMeasurements / denseMeasurements / entryMeasurements, a dense
   * m x n^2 Mat, a SparseMat pattern (entry sampling, scale n), or a custom { apply, adjoint }.
   */
  measurements: MeasurementOperator<D> | Mat<D> | SparseMat<D> | CustomMeasurements<D>;
  /** The m measurements. */
  y: Float32Array | Float64Array | number[];
  /** Engine of a custom operator (when the operator does not name one). */
  engine?: Engine<D>;
}

export interface StepOptions {
  /** eta0 in (0, 1] (default 0.2). */
  initial?: number;
  /** rho in (0, 1) (default 0.98). */
  decay?: number;
  /** Constant-step iterations before the decay starts: a count, or 'auto' (default; see warmupAuto). */
  warmup?: 'auto' | number;
}

export interface IterInfo<D extends DType = DType> {
  /** Iterations done (U is the iterate after `iter` updates). */
  iter: number;
  /** Loss of U: (1/m) sum |r_i| (l1) or (1/2m) sum r_i^2 (l2). */
  loss: number;
  /** Step size of the next update. */
  eta: number;
  /** The current factor(s): valid only during the callback (do not dispose or keep). */
  U: Mat<D>;
  V?: Mat<D>;
}

export interface RecoverOptions<D extends DType = DType> {
  /** r' >= 1: the rank of the factor (may exceed the true rank; at most n). */
  rank: number;
  /** alpha relative to sqrt of the robust scale estimate median|y| / 0.6745 ~ ||X*||_F (default 1e-6). */
  initScale?: number;
  step?: StepOptions;
  /** Iterations T (default 1500). */
  iters?: number;
  /** true: X = U U^T (PSD); false: X = U V^T (spec B.3, not from the paper). Default true. */
  symmetric?: boolean;
  /** Seed of the random initialization (default 0). */
  seed?: number;
  /** Loss evaluation and callback period (default 10). */
  logEvery?: number;
  /**
   * Called every logEvery iterations and at the end (may be async). Returning (or resolving to) false
   * stops the iteration there: the current U is returned (a user-side stopping rule, e.g. an error
   * target on a problem with known truth).
   */
  onIter?: (info: IterInfo<D>) => void | boolean | Promise<void | boolean>;
  /** 'l1' (default): the robust sub-gradient method; 'l2': plain gradient descent on the squared loss (a non-robust baseline). */
  loss?: 'l1' | 'l2';
}

export interface RecoverResult<D extends DType = DType> {
  /** The factor: X = U U^T (symmetric) or U V^T. */
  U: Mat<D>;
  V?: Mat<D>;
  info: {
    /** Loss every logEvery iterations and of the returned factor (iter = iters). */
    history: { iter: number; loss: number }[];
    /** Updates made (iters, or fewer when onIter stopped the run). */
    iterations: number;
    /** True when onIter returned false. */
    stopped: boolean;
    /** Warm-up length used. */
    warmup: number;
    /** ||U_0||_2. */
    alpha: number;
    /** The robust scale estimate median|y| / 0.6745. */
    scale: number;
  };
}

/** Safety factor of the automatic warm-up end (see warmupAuto). */
const AUTO_MARGIN = 1.3;
/** While the automatic warm-up is open, ||U||_F is read every this many iterations (one scalar). */
const WARMUP_WATCH = 10;

/**
 * Upper bound of the automatic warm-up (spec B.2): ceil(1.3 ln(1/alpha_rel) / (eta0 * 0.8 * 0.3)), the
 * step budget the growth phase needs from alpha_rel when phi ~ 0.8 and s_r(X*)/||X*||_F ~ 0.3.
 *
 * warmup: 'auto' usually ends the warm-up earlier: at 1.3 t_d, where t_d is the first multiple of 10
 * at which ||U||_F has grown at least 10-fold from ||U_0||_F and changed by less than 1 % over the last
 * 20 iterations (the leading components have escaped; the margin 1.3 leaves time for slower ones).
 * Ending the warm-up early matters: with r' > r a constant step longer than needed lets the spurious
 * directions grow and raises the final error floor (n = 20, r = 2, r' = 5, m = 600, p = 0.2, 5 seeds,
 * f64: median 1.3e-6 for T1 = 200, 8e-6 for 250, 5.9e-4 for 374; 'auto' 4.8e-6, and at p = 0.4 median
 * 1.4e-4, max 6.8e-3, where T1 = 250 gives 1.1e-4 / 1.5e-3).
 */
export function warmupAuto(initScale: number, eta0: number): number {
  return Math.ceil((1.3 * Math.log(1 / Math.min(initScale, 0.5))) / (eta0 * 0.8 * 0.3));
}

/**
 * @example
 * ```ts
 * const { problem, truth } = await sensingProblem(eng, { n: 20, rank: 2, m: 600, outlierFraction: 0.2, seed: 1 });
 * const { U, info } = await robustRecover(problem, { rank: 5, step: { warmup: 250 } });
 * const X = await eng.matmul(U, U, { transB: true });   // ~ truth.X
 * ```
 */
export async function robustRecover<D extends DType>(problem: SensingProblem<D>, options: RecoverOptions<D>): Promise<RecoverResult<D>> {
  const fn = 'robustRecover';
  const { op, y, owned } = checkProblem<D>(fn, problem);
  const eng = op.engine;
  if (options === null || typeof options !== 'object') throw typeError(fn, `options { rank, ... } are required`);
  const o = checkOptions<RecoverOptions<D>>(fn, options, [
    'rank',
    'initScale',
    'step',
    'iters',
    'symmetric',
    'seed',
    'logEvery',
    'onIter',
    'loss',
  ]);
  if (o.rank === undefined) throw typeError(fn, `'rank' is required`);
  const rank = checkInt(fn, 'rank', o.rank, 1, Math.max(op.rows, op.cols));
  const initScale = o.initScale === undefined ? 1e-6 : checkFinite(fn, 'initScale', o.initScale);
  if (!(initScale > 0)) throw rangeError(fn, `'initScale' must be positive, got ${initScale}`);
  const st = checkOptions<StepOptions>(fn, o.step, ['initial', 'decay', 'warmup']);
  const eta0 = st.initial === undefined ? 0.2 : checkFinite(fn, 'step.initial', st.initial);
  if (!(eta0 > 0 && eta0 <= 1))
    throw rangeError(fn, `'step.initial' (eta0) must be in (0, 1], got ${eta0} (larger steps diverge or stall; spec B.2)`);
  const rho = st.decay === undefined ? 0.98 : checkFinite(fn, 'step.decay', st.decay);
  if (!(rho > 0 && rho < 1)) throw rangeError(fn, `'step.decay' (rho) must be in (0, 1), got ${rho}`);
  const iters = o.iters === undefined ? 1500 : checkInt(fn, 'iters', o.iters, 1, 1e7);
  const autoWarmup = st.warmup === undefined || st.warmup === 'auto';
  let warmup = autoWarmup ? warmupAuto(initScale, eta0) : checkInt(fn, 'step.warmup', st.warmup, 0, 1e7);
  const symmetric = checkBool(fn, 'symmetric', o.symmetric, true);
  if (symmetric && op.rows !== op.cols)
    throw rangeError(fn, `symmetric recovery needs square X, the operator's X is ${op.rows} x ${op.cols}`);
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  const logEvery = o.logEvery === undefined ? 10 : checkInt(fn, 'logEvery', o.logEvery, 1, 1e7);
  if (o.onIter !== undefined && typeof o.onIter !== 'function') throw typeError(fn, `'onIter' must be a function`);
  const l1 = checkOneOf(fn, 'loss', o.loss, ['l1', 'l2'] as const, 'l1') === 'l1';
  const m = op.m;

  // Scale estimate (median |y| / 0.6745 ~ ||X*||_F for Gaussian measurements and < 50% outliers).
  const med = medianAbs(y);
  const top = med > 0 ? 0 : y.reduce((a: number, v: number) => Math.max(a, Math.abs(v)), 0);
  const scale = med > 0 ? med / 0.6745 : top > 0 ? top : 1;
  const alpha = initScale * Math.sqrt(scale);

  const Y = eng.matrix(y, m, 1);
  let U: Mat<D> | null = null,
    V: Mat<D> | null = null;
  const live: Mat<D>[] = [];
  const track = <M extends Mat<D>>(x: M): M => (live.push(x), x);
  const drop = (): void => {
    disposeAll(...live);
    live.length = 0;
  };
  try {
    U = await initFactor(eng, op.rows, rank, seed, 0, alpha);
    if (!symmetric) V = await initFactor(eng, op.cols, rank, seed, op.rows * rank, alpha);
    const history: { iter: number; loss: number }[] = [];
    const etaAt = (t: number): number => eta0 * rho ** Math.max(0, t - warmup);
    // ||U||_F every WARMUP_WATCH iterations, for the automatic end of the warm-up.
    const norms: { iter: number; norm: number }[] = [];
    let warmupOpen = autoWarmup;
    const watchWarmup = (t: number, normU: number): void => {
      if (!warmupOpen) return;
      if (t >= warmup) {
        warmupOpen = false;
        return;
      }
      let prev: number | undefined;
      for (const h of norms) if (h.iter <= t - 20) prev = h.norm;
      if (prev !== undefined && normU >= 10 * norms[0].norm && Math.abs(normU / prev - 1) < 0.01) {
        warmup = Math.min(warmup, Math.ceil(AUTO_MARGIN * t));
        warmupOpen = false;
      }
      norms.push({ iter: t, norm: normU });
    };

    // Residual r = A(X) - y and the (sub)gradient weights g = sign(r) (l1) or r (l2).
    const residual = async (): Promise<{ r: Mat<D>; g: Mat<D> }> => {
      const X = track(await eng.matmul(U as Mat<D>, symmetric ? (U as Mat<D>) : (V as Mat<D>), { transB: true }));
      const AX = track(await op.apply(X));
      if (AX.rows * AX.cols !== m) throw rangeError(fn, `the operator's apply returned ${AX.rows * AX.cols} values, expected m = ${m}`);
      const r = track(await eng.sub(AX.cols === 1 ? AX : track(await eng.reshape(AX, m, 1)), Y));
      const g = l1 ? track(await eng.sign(r)) : r;
      return { r, g };
    };
    const report = async (t: number, r: Mat<D>, g: Mat<D>): Promise<boolean> => {
      const s = track(await eng.matmul(g, r, { transA: true }));
      const loss = (await s.toArray())[0] / (l1 ? m : 2 * m);
      // A non-finite entry of U or V makes X, the residual and so the loss non-finite: the loss alone
      // is checked here (one scalar), ||U||_F and ||V||_F at the end.
      if (!Number.isFinite(loss)) throw diverged(t, `loss ${loss}`);
      history.push({ iter: t, loss });
      if (!o.onIter) return true;
      return (await o.onIter({ iter: t, loss, eta: etaAt(t), U: U as Mat<D>, ...(V ? { V } : {}) })) !== false;
    };
    const diverged = (t: number, what: string): Error =>
      new Error(`${fn}: the iteration diverged at step ${t} (${what}); use a smaller step.initial (now ${eta0}) or check the measurements`);

    let done = iters;
    for (let t = 0; t < iters; t++) {
      const { r, g } = await residual();
      if (t % logEvery === 0 && !(await report(t, r, g))) {
        done = t;
        break;
      }
      if (warmupOpen && t % WARMUP_WATCH === 0) watchWarmup(t, await eng.norm(U));
      const Z = track(await op.adjoint(g));
      if (Z.rows !== op.rows || Z.cols !== op.cols)
        throw rangeError(fn, `the operator's adjoint returned ${Z.rows} x ${Z.cols}, expected ${op.rows} x ${op.cols}`);
      const eta = etaAt(t);
      if (symmetric) {
        const Zt = track(await eng.transpose(Z));
        const Q = track(await eng.axpby(0.5 / m, Z, 0.5 / m, Zt));
        const D = track(await eng.matmul(Q, U));
        const next = await eng.axpby(1, U, -eta, D);
        U.dispose();
        U = next;
      } else {
        const DU = track(await eng.matmul(Z, V as Mat<D>, { alpha: 1 / m }));
        const DV = track(await eng.matmul(Z, U, { transA: true, alpha: 1 / m }));
        const nu = await eng.axpby(1, U, -eta, DU);
        const nv = await eng.axpby(1, V as Mat<D>, -eta, DV);
        U.dispose();
        (V as Mat<D>).dispose();
        U = nu;
        V = nv;
      }
      drop();
    }
    drop();
    if (done === iters) {
      const { r, g } = await residual();
      await report(iters, r, g);
      drop();
    }
    const normU = await eng.norm(U),
      normV = V ? await eng.norm(V) : 0;
    if (!Number.isFinite(normU) || !Number.isFinite(normV)) throw diverged(done, `||U||_F ${normU}, ||V||_F ${normV}`);
    const out: RecoverResult<D> = { U, info: { history, iterations: done, stopped: done < iters, warmup, alpha, scale } };
    if (V) out.V = V;
    U = V = null;
    return out;
  } finally {
    drop();
    disposeAll(Y, U, V);
    if (owned) op.dispose();
  }
}

/** alpha G / ||G||_2 with G = randn(rows, k, { seed, offset }). */
async function initFactor<D extends DType>(
  eng: Engine<D>,
  rows: number,
  k: number,
  seed: number,
  offset: number,
  alpha: number,
): Promise<Mat<D>> {
  const G = eng.randn(rows, k, { seed, offset });
  const Gram = await eng.matmul(G, G, { transA: true });
  const { values, vectors } = await eng.eigh(Gram);
  Gram.dispose();
  vectors.dispose();
  const s = Math.sqrt(Math.max(values[0], 0));
  const U = await eng.scale(G, s > 0 ? alpha / s : alpha);
  G.dispose();
  return U;
}

function checkProblem<D extends DType>(
  fn: string,
  problem: unknown,
): { op: MeasurementOperator<D>; y: Float64Array; n: number; owned: boolean } {
  if (problem === null || typeof problem !== 'object') throw typeError(fn, `'problem' must be { n, measurements, y }`);
  const p = checkOptions<SensingProblem<D>>(fn, problem, ['n', 'measurements', 'y', 'engine']);
  const n = checkDim(fn, 'problem.n', p.n);
  const meas = p.measurements as unknown;
  let op: MeasurementOperator<D>;
  if (meas instanceof Mat) op = denseMeasurements(meas as Mat<D>, n, n);
  else if (meas instanceof SparseMat) op = entryMeasurements(meas as SparseMat<D>);
  else if (
    meas !== null &&
    typeof meas === 'object' &&
    typeof (meas as MeasurementOperator<D>).apply === 'function' &&
    typeof (meas as MeasurementOperator<D>).adjoint === 'function'
  ) {
    const c = meas as Partial<MeasurementOperator<D>> & CustomMeasurements<D>;
    if (typeof c.m === 'number' && typeof c.rows === 'number' && typeof c.cols === 'number' && c.engine) op = c as MeasurementOperator<D>;
    else {
      const eng = c.engine ?? p.engine;
      if (!eng) throw typeError(fn, `a custom operator needs an engine: set 'engine' on the operator or on the problem`);
      const y = p.y as ArrayLike<number> | undefined;
      op = {
        kind: 'custom',
        engine: eng,
        m: y?.length ?? 0,
        rows: n,
        cols: n,
        apply: (X) => c.apply(X),
        adjoint: (r) => c.adjoint(r),
        dispose: () => undefined,
      };
    }
  } else throw typeError(fn, `'problem.measurements' must be a measurement operator, a Mat, a SparseMat or { apply, adjoint }`);
  if (op.rows !== n && op.cols !== n)
    throw rangeError(fn, `'problem.n' is ${n} but the operator measures ${op.rows} x ${op.cols} matrices`);
  const yIn = p.y as unknown;
  if (!(yIn instanceof Float32Array || yIn instanceof Float64Array || Array.isArray(yIn)))
    throw typeError(fn, `'problem.y' must be a Float32Array, Float64Array or number[]`);
  if (yIn.length !== op.m) throw rangeError(fn, `'problem.y' has ${yIn.length} entries, the operator makes m = ${op.m} measurements`);
  if (yIn.length === 0) throw rangeError(fn, `'problem.y' is empty`);
  const bad = firstNonFinite(yIn as ArrayLike<number>);
  if (bad >= 0) throw rangeError(fn, `problem.y[${bad}] = ${String((yIn as ArrayLike<number>)[bad])} is not finite`);
  return { op, y: Float64Array.from(yIn as ArrayLike<number>), n, owned: meas instanceof Mat || meas instanceof SparseMat };
}
