/**
 * Small f64 host kernels for the sampling family: weighted least squares on small problems (Householder
 * QR), l_p norms of vectors, and quantiles. Only used on data that is small by construction (coresets,
 * the per-row problems of exact sensitivities, validation); large data stays on the engine.
 */
import { medianAbs } from '../common.js';

/**
 * min_x ||diag(s) (M x - y)||_2 for a row-major n x d M (n >= 1), by Householder QR in f64. Columns whose
 * R diagonal falls below `rcond` |R|_max are dropped (their x entries are 0), so rank-deficient problems
 * give a basic solution instead of Inf/NaN.
 */
export function weightedLstsq(
  M: ArrayLike<number>,
  n: number,
  d: number,
  y: ArrayLike<number>,
  s?: ArrayLike<number>,
  rcond = 1e-13,
): Float64Array {
  const A = new Float64Array(n * d),
    b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const w = s ? s[i] : 1;
    for (let j = 0; j < d; j++) A[i * d + j] = w * M[i * d + j];
    b[i] = w * y[i];
  }
  const k = Math.min(n, d);
  const diag = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let norm = 0;
    for (let i = j; i < n; i++) norm = Math.hypot(norm, A[i * d + j]);
    if (norm === 0) continue;
    const alpha = A[j * d + j] > 0 ? -norm : norm;
    // v = x - alpha e1, stored in place; beta = 2 / v^T v
    A[j * d + j] -= alpha;
    let vv = 0;
    for (let i = j; i < n; i++) vv += A[i * d + j] ** 2;
    if (vv > 0) {
      for (let c = j + 1; c < d; c++) {
        let dot = 0;
        for (let i = j; i < n; i++) dot += A[i * d + j] * A[i * d + c];
        const f = (2 * dot) / vv;
        for (let i = j; i < n; i++) A[i * d + c] -= f * A[i * d + j];
      }
      let dot = 0;
      for (let i = j; i < n; i++) dot += A[i * d + j] * b[i];
      const f = (2 * dot) / vv;
      for (let i = j; i < n; i++) b[i] -= f * A[i * d + j];
    }
    diag[j] = alpha;
  }
  let rmax = 0;
  for (let j = 0; j < k; j++) rmax = Math.max(rmax, Math.abs(diag[j]));
  const x = new Float64Array(d);
  for (let j = k - 1; j >= 0; j--) {
    if (Math.abs(diag[j]) <= rcond * rmax || diag[j] === 0) continue;
    let t = b[j];
    for (let c = j + 1; c < k; c++) t -= A[j * d + c] * x[c];
    x[j] = t / diag[j];
  }
  return x;
}

/** sum_i |v_i|^p. */
export function sumAbsPow(v: ArrayLike<number>, p: number): number {
  let s = 0;
  if (p === 1) for (let i = 0; i < v.length; i++) s += Math.abs(v[i]);
  else if (p === 2) for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  else for (let i = 0; i < v.length; i++) s += Math.abs(v[i]) ** p;
  return s;
}

/** r = M x - y for a row-major n x d M. */
export function residual(M: ArrayLike<number>, n: number, d: number, y: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  const r = matvec(M, n, d, x);
  for (let i = 0; i < n; i++) r[i] -= y[i];
  return r;
}

/** y = M x for a row-major n x d M. */
export function matvec(M: ArrayLike<number>, n: number, d: number, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += M[i * d + j] * x[j];
    y[i] = s;
  }
  return y;
}

/**
 * Exact l_1 polish (least absolute deviations), after IRLS: from the vertex whose active set is the d
 * rows of smallest |r| (linearly independent), simplex-style edge descent: for each active row j, the edge
 * direction delta with a_j delta = 1 and a_k delta = 0 (k active, k != j) is searched exactly (the
 * objective along an edge is convex piecewise linear: its minimum is a weighted median of the
 * breakpoints), and the best improving edge is taken, until none improves. Returns the vertex (an exact
 * LP optimum when it stops) or null when no independent active set is found. M row-major n x d, f64.
 */
export function ladPolish(
  M: Float64Array,
  n: number,
  d: number,
  y: Float64Array,
  x: Float64Array,
  maxPivots = 50 * d,
): Float64Array | null {
  const resid = (z: Float64Array) => residual(M, n, d, y, z);
  const objective = (z: Float64Array) => sumAbsPow(resid(z), 1);
  // Active set: rows by increasing |r|, kept when independent of those already chosen (Gram-Schmidt).
  const r0 = resid(x);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => Math.abs(r0[a]) - Math.abs(r0[b]));
  const active: number[] = [];
  const basis: Float64Array[] = [];
  let scale = 0;
  for (let i = 0; i < n * d; i++) scale = Math.max(scale, Math.abs(M[i]));
  for (const i of order) {
    if (active.length === d) break;
    const v = Float64Array.from(M.subarray(i * d, i * d + d));
    for (const q of basis) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += q[j] * v[j];
      for (let j = 0; j < d; j++) v[j] -= dot * q[j];
    }
    const nv = Math.hypot(...v);
    if (nv <= 1e-9 * scale) continue;
    basis.push(v.map((t) => t / nv));
    active.push(i);
  }
  if (active.length < d) return null;
  const solveActive = (S: number[], rhs: Float64Array) =>
    weightedLstsq(Float64Array.from(S.flatMap((i) => Array.from(M.subarray(i * d, i * d + d)))), d, d, rhs, undefined, 1e-14);
  let xv = solveActive(
    active,
    Float64Array.from(active, (i) => y[i]),
  );
  let fv = objective(xv);
  for (let pivot = 0; pivot < maxPivots; pivot++) {
    const r = resid(xv);
    let bestGain = 0,
      bestT = 0,
      bestJ = -1,
      bestI = -1;
    let bestDir: Float64Array | null = null;
    for (let jj = 0; jj < d; jj++) {
      const e = new Float64Array(d);
      e[jj] = 1;
      const dir = solveActive(active, e);
      // breakpoints t_i = -r_i / c_i with weights |c_i|; the freed row j contributes |t| (t_j = 0, c = 1)
      const pts: { t: number; w: number; i: number }[] = [];
      let wsum = 0;
      for (let i = 0; i < n; i++) {
        let c = 0;
        for (let j = 0; j < d; j++) c += M[i * d + j] * dir[j];
        if (active.includes(i)) {
          if (i !== active[jj]) continue;
          pts.push({ t: 0, w: Math.abs(c), i });
          wsum += Math.abs(c);
          continue;
        }
        if (c === 0) continue;
        pts.push({ t: -r[i] / c, w: Math.abs(c), i });
        wsum += Math.abs(c);
      }
      pts.sort((a, b) => a.t - b.t);
      let acc = 0,
        tStar = 0,
        iStar = -1;
      for (const q of pts) {
        acc += q.w;
        if (acc >= wsum / 2) {
          tStar = q.t;
          iStar = q.i;
          break;
        }
      }
      if (iStar < 0 || iStar === active[jj] || tStar === 0) continue;
      const cand = Float64Array.from(xv, (v, j) => v + tStar * dir[j]);
      const gain = fv - objective(cand);
      if (gain > bestGain * (1 + 1e-12) && gain > 1e-15 * fv) {
        bestGain = gain;
        bestT = tStar;
        bestJ = jj;
        bestI = iStar;
        bestDir = dir;
      }
    }
    if (bestJ < 0 || !bestDir) break;
    const next = Float64Array.from(xv, (v, j) => v + bestT * bestDir![j]);
    active[bestJ] = bestI;
    // re-solve on the new active set (removes drift), keep whichever is better
    const exact = solveActive(
      active,
      Float64Array.from(active, (i) => y[i]),
    );
    const fe = objective(exact),
      fn = objective(next);
    xv = fe <= fn ? exact : next;
    fv = Math.min(fe, fn);
  }
  return xv;
}

/** max_i |v_i| (0 for an empty vector), without spreading the array into arguments. */
export function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

/**
 * Host IRLS for min_x ||M x - y||_p^p (M row-major n x d, f64), as lpRegression (C.5): 1 <= p < 2 with the
 * delta floor, p > 2 with the damped (Newton) step.
 */
export function irlsHost(
  M: Float64Array,
  n: number,
  d: number,
  y: Float64Array,
  p: number,
  iters: number,
  tol: number,
): { x: Float64Array; objective: number; iterations: number } {
  let x = weightedLstsq(M, n, d, y);
  const resid = (z: Float64Array) => residual(M, n, d, y, z);
  let r = resid(x);
  let obj = sumAbsPow(r, p);
  if (p === 2) return { x, objective: obj, iterations: 0 };
  let delta = medianAbs(r);
  const floor = 1e-15 * (maxAbs(y) || 1);
  let it = 0;
  for (; it < iters; it++) {
    const s = new Float64Array(n);
    if (p < 2) for (let i = 0; i < n; i++) s[i] = Math.max(Math.abs(r[i]), delta, floor) ** ((p - 2) / 2);
    else for (let i = 0; i < n; i++) s[i] = Math.abs(r[i]) ** ((p - 2) / 2);
    let xn = weightedLstsq(M, n, d, y, s);
    if (p > 2) xn = Float64Array.from(xn, (v, j) => x[j] + (v - x[j]) / (p - 1));
    const rn = resid(xn);
    const on = sumAbsPow(rn, p);
    const improved = on <= obj;
    if (improved) {
      x = xn;
      r = rn;
    }
    const rel = Math.abs(obj - on) / Math.max(obj, 1e-300);
    if (improved) obj = on;
    if (p < 2) delta = Math.max(delta / 2, floor);
    if (rel < tol && (p > 2 || delta <= floor * 2)) {
      it++;
      break;
    }
  }
  return { x, objective: obj, iterations: it };
}
