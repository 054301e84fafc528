/**
 * Flag Aggregator (Almasi, Mishra, Vamanan, Ravi): Byzantine-robust gradient aggregation as the flag
 * median of the workers' normalized gradients, solved by IRLS (weighted flag means).
 *
 * Host vs device: the D x p gradients stay on the engine. One Gram A = Ĝ^T Ĝ (p x p) comes to the host
 * and every IRLS iteration is p x p work there: with A = E Λ E^T, Ĝ = Q R with R = Λ^{1/2} E^T (Q never
 * formed), so the top-r left singular vectors of the weighted matrix Ĝ B are Q Z, Z the top eigenvectors of
 * R B B^T R^T, and the projections Y^T Ĝ = Z^T R. The basis Y = Ĝ E Λ^{-1/2} Z is formed once at the end
 * (one D x p by p x r product and a thin QR), then the aggregate from it.
 */
import type { Engine } from '../../engine.js';
import { checkFinite, checkInt, checkOneOf, checkOptions, describeValue, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { disposeAll, medianAbs, unitRoundoff } from '../common.js';
import { symEigHost } from '../host-eig.js';

export interface FlagAggregateOptions {
  /** Subspace dimension r, 1 <= r <= min(D, p) (default 1, the reference code's r_col; its scripts use 8). */
  rank?: number;
  /**
   * Most IRLS iterations (default 10; the reference hard-codes 1, which can return the random start).
   * As in the reference, the loop stops at the first iteration that does not decrease the objective and
   * keeps the previous iterate.
   */
  iters?: number;
  /** Weight of the pairwise-difference term (default 0, as the reference). */
  lambda?: number;
  /**
   * 'none' (default): the reference's output (1/r) sum_i Y Y^T ĝ_i, built from normalized gradients, so
   * the gradients' scale is lost; 'median-norm': that direction rescaled to the median of ||g_i||.
   */
  rescale?: 'none' | 'median-norm';
  /** Seed of the random start Y_0 = qf(U[-1/2, 1/2]^{D x r}) (default 1, the reference's). */
  seed?: number;
  /** The IRLS regularizer eps in (s_i^2 + eps)^{-1/4} (default 1e-7, the reference's). */
  eps?: number;
}

export interface FlagAggregateResult<D extends DType = DType> {
  /** The aggregate, D x 1 (owned by the caller). */
  aggregate: Mat<D>;
  /** Orthonormal basis Y of the flag median, D x r (owned by the caller). */
  basis: Mat<D>;
  /** sum_i sqrt(1 - ||Y^T ĝ_i||^2) at the start and after every accepted iteration (decreasing). */
  objective: number[];
  /** IRLS iterations accepted (0: the random start was kept). */
  iters: number;
  /** Each worker's reconstruction ratio v_i = ||Y^T ĝ_i||^2 in [0, 1] (low: an outlier). */
  reconstruction: Float64Array;
}

const OPTIONS = ['rank', 'iters', 'lambda', 'rescale', 'seed', 'eps'] as const;

function objectiveOf(P: ArrayLike<number>, r: number, p: number): { obj: number; s2: Float64Array; v: Float64Array } {
  const s2 = new Float64Array(p);
  const v = new Float64Array(p);
  let obj = 0;
  for (let i = 0; i < p; i++) {
    let t = 0;
    for (let j = 0; j < r; j++) t += P[j * p + i] * P[j * p + i];
    v[i] = t;
    s2[i] = Math.abs(1 - t);
    obj += Math.sqrt(Math.max(1 - t, 0));
  }
  return { obj, s2, v };
}

/**
 * Aggregates p worker gradients (the columns of G, D x p) into one D x 1 update with the Flag Aggregator:
 * ĝ_i = g_i / ||g_i||, Y_0 = qf(U[-1/2, 1/2]^{D x r}) (seeded), then IRLS for the flag median
 * min_Y sum_i sqrt(1 - ||Y^T ĝ_i||^2): with s_i^2 = |1 - ||Y^T ĝ_i||^2| the new Y is the top-r left
 * singular vectors of [w_1 ĝ_1 ... w_p ĝ_p], w_i = (s_i^2 + eps)^{-1/4}, plus, when lambda > 0, the columns
 * lambda / (p (p - 1)) (s_ij^2 + eps)^{-1/4} (ĝ_i - ĝ_j) over all ordered pairs i != j with
 * s_ij^2 = | ||ĝ_i - ĝ_j||^2 - ||Y^T (ĝ_i - ĝ_j)||^2 | (the reference's non-unit differences). A new Y is
 * kept only while the objective decreases. The aggregate is (1/r) Y Y^T sum_i ĝ_i (`rescale` below).
 *
 * Numerics: the p x p Gram is the only data the host sees, so directions of Ĝ with Gram eigenvalue
 * below 100 p u λ_max are treated as absent (u the dtype's unit roundoff); the final basis is
 * re-orthonormalized by a thin QR on the engine.
 *
 * @throws TypeError/RangeError naming 'flagAggregate' and the argument: G not a Mat, NaN/Infinity, a zero
 *   column, rank outside [1, min(D, p)] or above G's numerical rank, iters < 0, lambda < 0, eps <= 0,
 *   unknown options.
 */
export async function flagAggregate<D extends DType>(G: Mat<D>, options: FlagAggregateOptions = {}): Promise<FlagAggregateResult<D>> {
  const fn = 'flagAggregate';
  if (!(G instanceof Mat)) throw typeError(fn, `'G' must be a Mat (D x p, one gradient per column), got ${describeValue(G)}`);
  const eng = G.engine as Engine<D>;
  eng._mats(fn, { G });
  const o = checkOptions<FlagAggregateOptions>(fn, options, OPTIONS);
  const D = G.rows,
    p = G.cols;
  const r = o.rank === undefined ? 1 : checkInt(fn, 'rank', o.rank, 1, Math.min(D, p));
  const iters = o.iters === undefined ? 10 : checkInt(fn, 'iters', o.iters, 0, 1e6);
  const lambda = o.lambda === undefined ? 0 : checkFinite(fn, 'lambda', o.lambda);
  if (lambda < 0) throw rangeError(fn, `'lambda' must be >= 0, got ${lambda}`);
  const rescale = checkOneOf(fn, 'rescale', o.rescale, ['none', 'median-norm'] as const, 'none');
  const seed = o.seed === undefined ? 1 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  const eps = o.eps === undefined ? 1e-7 : checkFinite(fn, 'eps', o.eps);
  if (eps <= 0) throw rangeError(fn, `'eps' must be > 0, got ${eps}`);
  if (!Number.isFinite(await eng.norm(G, 'max'))) throw rangeError(fn, `'G' contains NaN or Infinity`);
  const gn = await eng.colNorms(G);
  for (let i = 0; i < p; i++) if (!(gn[i] > 0)) throw rangeError(fn, `'G' column ${i} is zero (a worker gradient needs a direction)`);

  const owned: Mat<D>[] = [];
  let Y: Mat<D> | null = null;
  try {
    const Gh = await eng.scaleColumns(
      G,
      Float64Array.from(gn, (v) => 1 / v),
    );
    owned.push(Gh);
    // Gram and its eigendecomposition (host, f64)
    const Am = await eng.matmul(Gh, Gh, { transA: true });
    owned.push(Am);
    const a = Float64Array.from(await Am.toArray());
    for (let i = 0; i < p; i++) for (let j = 0; j < i; j++) a[i * p + j] = a[j * p + i] = 0.5 * (a[i * p + j] + a[j * p + i]);
    const { w: lam, v: E } = symEigHost(a, p);
    const cut = 100 * p * unitRoundoff(eng.dtype) * Math.max(lam[0], 0);
    let rho = 0;
    while (rho < p && lam[rho] > cut) rho++;
    if (rho < r) throw rangeError(fn, `'rank' ${r} exceeds the numerical rank ${rho} of the normalized gradients`);
    // R = Λ^{1/2} E^T (rho x p)
    const R = new Float64Array(rho * p);
    for (let t = 0; t < rho; t++) {
      const s = Math.sqrt(lam[t]);
      for (let i = 0; i < p; i++) R[t * p + i] = s * E[i * p + t];
    }

    // random start (kept on the device until an iterate is accepted)
    const U0 = eng.rand(D, r, { seed });
    owned.push(U0);
    const half = eng.full(D, r, 0.5);
    owned.push(half);
    const Yr = await eng.sub(U0, half);
    owned.push(Yr);
    const { Q: Y0, R: R0 } = await eng.qr(Yr);
    owned.push(R0);
    Y = Y0;
    const P0m = await eng.matmul(Y0, Gh, { transA: true });
    owned.push(P0m);
    let P: Float64Array = Float64Array.from(await P0m.toArray());
    let cur = objectiveOf(P, r, p);
    const objective = [cur.obj];
    let Z: Float64Array | null = null; // rho x r, the accepted iterate's coordinates
    let accepted = 0;
    const BB = new Float64Array(p * p);
    const T = new Float64Array(rho * rho);
    const RB = new Float64Array(rho * p);
    for (let it = 0; it < iters; it++) {
      // B B^T (p x p) of the weighted columns
      BB.fill(0);
      for (let i = 0; i < p; i++) BB[i * p + i] = 1 / Math.sqrt(cur.s2[i] + eps); // w_i^2
      if (lambda > 0) {
        const scale = lambda / (p * (p - 1));
        for (let i = 0; i < p; i++)
          for (let j = i + 1; j < p; j++) {
            const dn2 = a[i * p + i] + a[j * p + j] - 2 * a[i * p + j];
            let py = 0;
            for (let t = 0; t < r; t++) {
              const d = P[t * p + i] - P[t * p + j];
              py += d * d;
            }
            const c2 = 2 * scale * scale * (1 / Math.sqrt(Math.abs(dn2 - py) + eps)); // both orders
            BB[i * p + i] += c2;
            BB[j * p + j] += c2;
            BB[i * p + j] -= c2;
            BB[j * p + i] -= c2;
          }
      }
      // T = R BB R^T
      RB.fill(0);
      for (let t = 0; t < rho; t++)
        for (let i = 0; i < p; i++) {
          const x = R[t * p + i];
          if (x === 0) continue;
          for (let j = 0; j < p; j++) RB[t * p + j] += x * BB[i * p + j];
        }
      for (let t = 0; t < rho; t++)
        for (let u = 0; u <= t; u++) {
          let s = 0;
          for (let j = 0; j < p; j++) s += RB[t * p + j] * R[u * p + j];
          T[t * rho + u] = T[u * rho + t] = s;
        }
      const { v: W } = symEigHost(T, rho);
      const Zn = new Float64Array(rho * r);
      for (let t = 0; t < rho; t++) for (let c = 0; c < r; c++) Zn[t * r + c] = W[t * rho + c];
      // projections Y^T Ĝ = Z^T R (r x p)
      const Pn = new Float64Array(r * p);
      for (let c = 0; c < r; c++)
        for (let t = 0; t < rho; t++) {
          const z = Zn[t * r + c];
          for (let i = 0; i < p; i++) Pn[c * p + i] += z * R[t * p + i];
        }
      const next = objectiveOf(Pn, r, p);
      if (!(next.obj < cur.obj)) break;
      Z = Zn;
      P = Pn;
      cur = next;
      objective.push(next.obj);
      accepted++;
    }

    if (Z) {
      // Y = Ĝ E_rho Λ^{-1/2} Z, re-orthonormalized
      const Cm = new Float64Array(p * r);
      for (let i = 0; i < p; i++)
        for (let t = 0; t < rho; t++) {
          const e = E[i * p + t] / Math.sqrt(lam[t]);
          for (let c = 0; c < r; c++) Cm[i * r + c] += e * Z[t * r + c];
        }
      const Cmat = eng.matrix(Cm, p, r);
      owned.push(Cmat);
      const Yraw = await eng.matmul(Gh, Cmat);
      owned.push(Yraw);
      const { Q, R: Rq } = await eng.qr(Yraw);
      owned.push(Rq);
      owned.push(Y0);
      Y = Q;
    } else {
      // the random start is the answer (the reference's behaviour): hand Y0 out
    }
    // final projections and aggregate (1/r) Y (Y^T Ĝ 1)
    const Pm = await eng.matmul(Y, Gh, { transA: true });
    owned.push(Pm);
    const pf = await Pm.toArray();
    const fin = objectiveOf(pf, r, p);
    const coef = new Float64Array(r);
    for (let c = 0; c < r; c++) {
      let s = 0;
      for (let i = 0; i < p; i++) s += pf[c * p + i];
      coef[c] = s / r;
    }
    let scale = 1;
    if (rescale === 'median-norm') {
      let n2 = 0;
      for (const c of coef) n2 += c * c;
      const an = Math.sqrt(n2); // Y orthonormal: ||Y coef|| = ||coef||
      if (an > 0) scale = medianAbs(gn) / an;
    }
    const cv = eng.matrix(
      Float64Array.from(coef, (c) => c * scale),
      r,
      1,
    );
    owned.push(cv);
    const aggregate = await eng.matmul(Y, cv);
    const basis = Y;
    Y = null;
    return { aggregate, basis, objective, iters: accepted, reconstruction: fin.v };
  } catch (e) {
    Y?.dispose();
    throw e;
  } finally {
    disposeAll(...owned);
  }
}
