/**
 * Clustering metrics on the host (labelings are O(N) integers; the contingency table is small):
 * accuracy under the best one-to-one matching of clusters to classes (Hungarian algorithm) and
 * normalized mutual information (scikit-learn's `normalized_mutual_info_score`).
 */
import { rangeError, typeError } from '../../errors.js';

/** Labels as dense codes 0..c-1 (in order of first value, ascending) and the count c. */
function encode(fn: string, name: string, v: unknown): { codes: Int32Array; count: number } {
  if (!(Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))))
    throw typeError(fn, `'${name}' must be an array or typed array of integer labels`);
  const a = v as ArrayLike<unknown>;
  const vals = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== 'number' && typeof x !== 'bigint') throw typeError(fn, `'${name}[${i}]' must be a number, got ${typeof x}`);
    const n = Number(x);
    if (!Number.isSafeInteger(n)) throw rangeError(fn, `'${name}[${i}]' must be an integer, got ${n}`);
    vals[i] = n;
  }
  const uniq = Float64Array.from(new Set(vals)).sort();
  const index = new Map<number, number>();
  for (let j = 0; j < uniq.length; j++) index.set(uniq[j], j);
  const codes = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) codes[i] = index.get(vals[i]) as number;
  return { codes, count: uniq.length };
}

function pair(fn: string, labels: unknown, truth: unknown) {
  const a = encode(fn, 'labels', labels);
  const b = encode(fn, 'truth', truth);
  if (a.codes.length !== b.codes.length) throw rangeError(fn, `'labels' has ${a.codes.length} entries but 'truth' has ${b.codes.length}`);
  if (a.codes.length === 0) throw rangeError(fn, `'labels' and 'truth' must not be empty`);
  // contingency C[i][j] = #{labels = i, truth = j}
  const C = new Float64Array(a.count * b.count);
  for (let i = 0; i < a.codes.length; i++) C[a.codes[i] * b.count + b.codes[i]]++;
  return { n: a.codes.length, ra: a.count, rb: b.count, C };
}

/**
 * Minimum-cost assignment for an r x c cost matrix (row-major) with r <= c: for every row the column
 * assigned to it (distinct). Shortest augmenting paths with potentials (Kuhn-Munkres, O(r^2 c)).
 * @internal
 */
export function hungarian(cost: ArrayLike<number>, r: number, c: number): Int32Array {
  if (r > c) throw new RangeError('hungarian: needs rows <= cols');
  const INF = Number.POSITIVE_INFINITY;
  const u = new Float64Array(r + 1);
  const v = new Float64Array(c + 1);
  const p = new Int32Array(c + 1); // p[j]: row (1-based) matched to column j; 0 = free
  const way = new Int32Array(c + 1);
  const minv = new Float64Array(c + 1);
  const used = new Uint8Array(c + 1);
  for (let i = 1; i <= r; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(INF);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = INF;
      let j1 = 0;
      for (let j = 1; j <= c; j++) {
        if (used[j]) continue;
        const cur = cost[(i0 - 1) * c + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= c; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const match = new Int32Array(r);
  for (let j = 1; j <= c; j++) if (p[j] > 0) match[p[j] - 1] = j - 1;
  return match;
}

/**
 * Clustering accuracy: the largest fraction of points whose cluster maps to their class under a
 * one-to-one matching of cluster ids to class ids (Hungarian algorithm on the contingency table,
 * O(c^3) for c distinct ids; the ids themselves are arbitrary integers, and the numbers of clusters and
 * classes may differ: unmatched ones count as errors). Host only.
 */
export function clusteringAccuracy(labels: ArrayLike<number>, truth: ArrayLike<number>): number {
  const { n, ra, rb, C } = pair('clusteringAccuracy', labels, truth);
  // maximize matches = minimize -C, with the smaller side as rows
  const rows = Math.min(ra, rb),
    cols = Math.max(ra, rb);
  const cost = new Float64Array(rows * cols);
  for (let i = 0; i < ra; i++)
    for (let j = 0; j < rb; j++) {
      const v = -C[i * rb + j];
      if (ra <= rb) cost[i * cols + j] = v;
      else cost[j * cols + i] = v;
    }
  const match = hungarian(cost, rows, cols);
  let hit = 0;
  for (let i = 0; i < rows; i++) hit -= cost[i * cols + match[i]];
  return hit / n;
}

/**
 * Normalized mutual information, scikit-learn's `normalized_mutual_info_score` with its default
 * (since 0.22; checked on 1.2.1) `average_method='arithmetic'`: MI / ((H(labels) + H(truth)) / 2) in nats.
 * Its limit cases too: both labelings a single cluster gives 1; MI = 0 gives 0. Symmetric. Host only.
 */
export function nmi(labels: ArrayLike<number>, truth: ArrayLike<number>): number {
  const { n, ra, rb, C } = pair('nmi', labels, truth);
  if (ra === 1 && rb === 1) return 1;
  if (ra === 1 || rb === 1) return 0;
  const pa = new Float64Array(ra),
    pb = new Float64Array(rb);
  for (let i = 0; i < ra; i++)
    for (let j = 0; j < rb; j++) {
      pa[i] += C[i * rb + j];
      pb[j] += C[i * rb + j];
    }
  let mi = 0;
  for (let i = 0; i < ra; i++)
    for (let j = 0; j < rb; j++) {
      const c = C[i * rb + j];
      if (c > 0) mi += (c / n) * (Math.log(c) + Math.log(n) - Math.log(pa[i]) - Math.log(pb[j]));
    }
  mi = Math.max(mi, 0);
  if (mi === 0) return 0;
  const h = (p: Float64Array) => {
    let s = 0;
    for (const x of p) if (x > 0) s -= (x / n) * (Math.log(x) - Math.log(n));
    return s;
  };
  return mi / ((h(pa) + h(pb)) / 2);
}
