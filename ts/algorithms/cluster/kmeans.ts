/**
 * k-means (Lloyd) on the engine. Per iteration the device computes every squared distance in one GEMM,
 * [X, 1] [-2 C, ||c||^2]^T = ||c_j||^2 - 2 x_i . c_j (n x k), and rowArgmin brings back only the n
 * labels and n minima; the centres are then one sparse product C = S X with S (k x n) holding
 * 1 / count_j at (label_i, i). Seeding (k-means++ or random rows) and empty-cluster relocation run on
 * the host from those O(n) numbers; the candidates' rows are gathered on the device.
 */
import type { Engine } from '../../engine.js';
import { checkFinite, checkInt, checkOptions, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import { PhiloxRng } from '../../rng/philox.js';
import type { DType } from '../../types.js';
import { allFinite, disposeAll, gatherRows } from '../common.js';

export interface KMeansOptions<D extends DType = DType> {
  /** Number of clusters, 1 <= k <= n (required). */
  k: number;
  /**
   * 'k-means++' (default: greedy k-means++ with 2 + floor(ln k) local trials, sklearn's rule), 'random'
   * (k distinct rows drawn uniformly) or a k x d Mat of initial centres (copied; then nInit must be 1).
   */
  init?: 'k-means++' | 'random' | Mat<D>;
  /** Most Lloyd iterations (default 100, sklearn's max_iter). */
  iters?: number;
  /**
   * Relative tolerance (default 1e-4): stop when sum_j ||c_j^new - c_j||^2 <= tol * mean of the
   * per-feature variances of X (sklearn's rule). Identical labels in two iterations also stop.
   */
  tol?: number;
  /** Seed of the initialization (default 0). */
  seed?: number;
  /** Runs from different seeds (seed, seed + 1, ...), the one of least inertia kept (default 1). */
  nInit?: number;
}

export interface KMeansResult<D extends DType = DType> {
  /** k x d centres (owned by the caller). */
  centers: Mat<D>;
  /**
   * Cluster of every row of X: the nearest of `centers` (first on ties), except a point that re-seeded an
   * empty cluster in the last step, which keeps that cluster (sklearn's labels_ rule).
   */
  labels: Int32Array;
  /** sum_i ||x_i - c_{label_i}||^2, computed as ||X - S^T C||_F^2 at the end (no cancellation). */
  inertia: number;
  /** Lloyd iterations run (of the kept run). */
  iters: number;
}

const OPTIONS = ['k', 'init', 'iters', 'tol', 'seed', 'nInit'] as const;

/** [-2 C, ||c||^2] (k x (d + 1)) and the squared row norms of C. */
async function augmentCenters<D extends DType>(eng: Engine<D>, C: Mat<D>): Promise<{ Ca: Mat<D>; cn2: Float64Array }> {
  const cn = await eng.rowNorms(C);
  const cn2 = Float64Array.from(cn, (v) => v * v);
  const m2 = await eng.scale(C, -2);
  const col = eng.matrix(Float64Array.from(cn2), C.rows, 1);
  try {
    return { Ca: await eng.hstack([m2, col]), cn2 };
  } finally {
    disposeAll(m2, col);
  }
}

/** Nearest centre of every row and its squared distance (clamped at 0). */
async function assign<D extends DType>(
  eng: Engine<D>,
  Xa: Mat<D>,
  xn2: Float64Array,
  C: Mat<D>,
): Promise<{ labels: Int32Array; dist: Float64Array }> {
  const { Ca } = await augmentCenters(eng, C);
  let D2: Mat<D> | null = null;
  try {
    D2 = await eng.matmul(Xa, Ca, { transB: true });
    const { index, value } = await eng.rowArgmin(D2);
    const dist = new Float64Array(index.length);
    for (let i = 0; i < dist.length; i++) dist[i] = Math.max(0, xn2[i] + value[i]);
    return { labels: index, dist };
  } finally {
    disposeAll(Ca, D2);
  }
}

/**
 * Empty clusters get the points farthest from their centres (sklearn's relocation), taken only from
 * clusters that keep at least one point, so that no new cluster empties. Updates labels and counts.
 */
function relocateEmpty(labels: Int32Array, dist: Float64Array, counts: Int32Array): number {
  const empty: number[] = [];
  for (let j = 0; j < counts.length; j++) if (counts[j] === 0) empty.push(j);
  if (empty.length === 0) return 0;
  const order = Int32Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => dist[b] - dist[a] || a - b);
  let at = 0;
  for (const j of empty) {
    while (counts[labels[order[at]]] <= 1) at++; // k <= n guarantees a donor exists
    const i = order[at++];
    counts[labels[i]]--;
    labels[i] = j;
    counts[j] = 1;
    dist[i] = 0;
  }
  return empty.length;
}

/** Centres as the means of their clusters: S X with S_{label_i, i} = 1 / count. */
async function updateCenters<D extends DType>(eng: Engine<D>, X: Mat<D>, labels: Int32Array, counts: Int32Array): Promise<Mat<D>> {
  const n = labels.length;
  const val = new Float64Array(n);
  for (let i = 0; i < n; i++) val[i] = 1 / counts[labels[i]];
  const S = eng.sparse({ rows: counts.length, cols: n, row: labels, col: Int32Array.from({ length: n }, (_, i) => i), val });
  try {
    return await eng.spmm(S, X);
  } finally {
    S.dispose();
  }
}

/** Greedy k-means++ (sklearn's _kmeans_plusplus): k row indices of X. */
async function kmeansPlusPlus<D extends DType>(eng: Engine<D>, X: Mat<D>, xn2: Float64Array, k: number, rng: PhiloxRng): Promise<number[]> {
  const n = X.rows;
  const trials = 2 + Math.floor(Math.log(k));
  const chosen = [rng.int(n)];
  // ||x_i - x_c||^2 = ||x_i||^2 - 2 x_i . x_c + ||x_c||^2 for candidate rows c (norms known on the
  // host): one n x L GEMM against the gathered rows, downloaded
  const distTo = async (ids: number[]): Promise<(i: number, t: number) => number> => {
    const Cc = await gatherRows(eng, X, ids);
    let G: Mat<D> | null = null;
    try {
      G = await eng.matmul(X, Cc, { transB: true });
      const g = await G.toArray();
      const L = ids.length;
      const cn2 = ids.map((id) => xn2[id]);
      return (i, t) => Math.max(0, xn2[i] - 2 * g[i * L + t] + cn2[t]);
    } finally {
      disposeAll(Cc, G);
    }
  };
  const closest = new Float64Array(n);
  const d0 = await distTo(chosen);
  let pot = 0;
  for (let i = 0; i < n; i++) pot += closest[i] = d0(i, 0);
  const cum = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) cum[i] = s += closest[i];
    const ids: number[] = [];
    for (let t = 0; t < trials; t++) {
      const r = rng.next() * pot;
      // searchsorted (left): first i with cum[i] >= r
      let lo = 0,
        hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid] < r) lo = mid + 1;
        else hi = mid;
      }
      ids.push(lo);
    }
    const dist = await distTo(ids);
    let best = 0,
      bestPot = Infinity;
    for (let t = 0; t < trials; t++) {
      let p = 0;
      for (let i = 0; i < n; i++) {
        const d = dist(i, t);
        p += Math.min(d, closest[i]);
      }
      if (p < bestPot) {
        bestPot = p;
        best = t;
      }
    }
    for (let i = 0; i < n; i++) {
      const d = dist(i, best);
      if (d < closest[i]) closest[i] = d;
    }
    chosen.push(ids[best]);
    pot = bestPot;
  }
  return chosen;
}

/** k distinct row indices uniformly (partial Fisher-Yates). */
function randomRows(n: number, k: number, rng: PhiloxRng): number[] {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return Array.from(perm.subarray(0, k));
}

function countLabels(labels: Int32Array, k: number): Int32Array {
  const counts = new Int32Array(k);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}

/** ||X - P C||_F^2 with P the n x k one-hot matrix of the labels (gathered centres on the device). */
async function inertiaOf<D extends DType>(eng: Engine<D>, X: Mat<D>, C: Mat<D>, labels: Int32Array): Promise<number> {
  const G = await gatherRows(eng, C, labels);
  const R = await eng.sub(X, G);
  try {
    const f = await eng.norm(R);
    return f * f;
  } finally {
    disposeAll(G, R);
  }
}

/**
 * k-means clustering of the rows of X (n x d) by Lloyd's algorithm, sklearn's `KMeans(algorithm='lloyd')`
 * semantics: per iteration, assign every row to its nearest centre, re-seed empty clusters with the
 * farthest points, recompute the centres as means; stop after `iters` iterations, when the labels
 * repeat, or when the total squared centre shift is at most tol * mean(var(X, axis=0)). The labels
 * returned are the nearest of the returned centres (a last assignment step when the loop did not stop
 * on repeated labels, as sklearn does).
 *
 * Host vs device: distances (one GEMM), the argmin and the centre means run on the engine; per
 * iteration n labels and n minima come back (8n bytes in f32 plus n ints). k-means++ seeding brings
 * back n x (2 + ln k) distances per centre.
 *
 * @throws TypeError/RangeError naming 'kmeans' and the argument: X not a Mat or not finite, k outside
 *   [1, n], an init Mat of the wrong shape or engine, bad iters/tol/seed/nInit, unknown options.
 */
export async function kmeans<D extends DType>(X: Mat<D>, options: KMeansOptions<D>): Promise<KMeansResult<D>> {
  const fn = 'kmeans';
  if (!(X instanceof Mat)) throw typeError(fn, `'X' must be a Mat, got ${typeof X}`);
  if (X.disposed) throw typeError(fn, `'X' has been disposed`);
  if (options === null || typeof options !== 'object') throw typeError(fn, `options must be an object with 'k'`);
  const o = checkOptions<KMeansOptions<D>>(fn, options, OPTIONS);
  const eng = X.engine;
  const n = X.rows,
    d = X.cols;
  if (o.k === undefined) throw typeError(fn, `'k' is required`);
  const k = checkInt(fn, 'k', o.k, 1, Number.MAX_SAFE_INTEGER);
  if (k > n) throw rangeError(fn, `'k' (${k}) must not exceed the number of rows of X (${n})`);
  const iters = o.iters === undefined ? 100 : checkInt(fn, 'iters', o.iters, 1, 1e9);
  const tol = o.tol === undefined ? 1e-4 : checkFinite(fn, 'tol', o.tol);
  if (tol < 0) throw rangeError(fn, `'tol' must be >= 0, got ${tol}`);
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  const nInit = o.nInit === undefined ? 1 : checkInt(fn, 'nInit', o.nInit, 1, 1e6);
  const init = o.init ?? 'k-means++';
  if (init instanceof Mat) {
    if (init.engine !== eng) throw typeError(fn, `'init' belongs to a different engine than X`);
    if (init.disposed) throw typeError(fn, `'init' has been disposed`);
    if (init.rows !== k || init.cols !== d) throw rangeError(fn, `'init' must be ${k} x ${d} (k x d), got ${init.rows} x ${init.cols}`);
    if (nInit !== 1) throw rangeError(fn, `'nInit' must be 1 when 'init' is a matrix, got ${nInit}`);
    if (!(await allFinite(eng, init))) throw rangeError(fn, `'init' must be finite`);
  } else if (init !== 'k-means++' && init !== 'random') {
    throw (typeof init === 'string' ? rangeError : typeError)(fn, `'init' must be 'k-means++', 'random' or a k x d Mat`);
  }
  if (!(await allFinite(eng, X))) throw rangeError(fn, `'X' must be finite (it has NaN or Inf entries)`);

  // Shared per call: ||x_i||^2, [X, 1], and the absolute tolerance.
  const xn = await eng.rowNorms(X);
  const xn2 = Float64Array.from(xn, (v) => v * v);
  const ones = eng.ones(n, 1);
  const Xa = await eng.hstack([X, ones]);
  ones.dispose();
  let best: KMeansResult<D> | null = null;
  try {
    let tolAbs = 0;
    if (tol > 0) {
      const cn = await eng.colNorms(X);
      const onesRow = eng.ones(1, n);
      const S = await eng.matmul(onesRow, X);
      const sums = await S.toArray();
      disposeAll(onesRow, S);
      let v = 0;
      for (let j = 0; j < d; j++) v += Math.max(0, (cn[j] * cn[j]) / n - (sums[j] / n) ** 2);
      tolAbs = (tol * v) / d;
    }
    for (let run = 0; run < nInit; run++) {
      const rng = new PhiloxRng(seed + run, 0x6b6d);
      let C: Mat<D>;
      if (init instanceof Mat) C = await eng.scale(init, 1);
      else if (init === 'random') C = await gatherRows(eng, X, randomRows(n, k, rng));
      else C = await gatherRows(eng, X, await kmeansPlusPlus(eng, X, xn2, k, rng));
      let labels: Int32Array | null = null;
      let it = 0,
        strict = false;
      try {
        for (it = 1; it <= iters; it++) {
          const a = await assign(eng, Xa, xn2, C);
          const counts = countLabels(a.labels, k);
          relocateEmpty(a.labels, a.dist, counts);
          const Cn = await updateCenters(eng, X, a.labels, counts);
          const diff = await eng.sub(Cn, C);
          const shift = (await eng.norm(diff)) ** 2;
          disposeAll(diff, C);
          C = Cn;
          const same = labels?.every((v, i) => v === a.labels[i]) === true;
          labels = a.labels;
          if (same) {
            strict = true;
            break;
          }
          if (shift <= tolAbs) break;
        }
        it = Math.min(it, iters);
        if (!strict || labels === null) labels = (await assign(eng, Xa, xn2, C)).labels;
        const inertia = await inertiaOf(eng, X, C, labels);
        if (best === null || inertia < best.inertia) {
          best?.centers.dispose();
          best = { centers: C, labels, inertia, iters: it };
        } else C.dispose();
      } catch (e) {
        C.dispose();
        throw e;
      }
    }
  } catch (e) {
    best?.centers.dispose();
    throw e;
  } finally {
    Xa.dispose();
  }
  return best as KMeansResult<D>;
}
