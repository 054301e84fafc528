/**
 * K-subspaces clustering (spec section 6): alternate assignment to the subspace of largest projection
 * ||U_k^T x||^2 and refit of every U_k as the top-d right singular vectors of its cluster's rows. This is
 * the MoLRG denoising objective max sum_k sum_{i in C_k} ||U_k^T x_i||^2 (K = 1 is PCA).
 */
import type { Engine } from '../../engine.js';
import { checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import { PhiloxRng } from '../../rng/philox.js';
import type { DType } from '../../types.js';
import { allFinite, disposeAll, gatherRows } from '../common.js';
import { kmeans } from '../cluster/kmeans.js';

export interface KSubspacesOptions {
  /** Number of subspaces (required), 1 <= K <= N. */
  K: number;
  /** Dimension of every subspace (required), K d <= D. */
  d: number;
  /**
   * 'spectral' (default): spectral clustering of |<x^_i, x^_j>| (rows normalized, zero diagonal; Ng-Jordan-
   * Weiss: top-K eigenvectors of D^-1/2 A D^-1/2, rows normalized, k-means++ with 10 runs) on at most
   * `spectralSamples` rows drawn at random, whose clusters give the initial bases. 'random': K independent
   * random orthonormal bases.
   */
  init?: 'spectral' | 'random';
  /** Initializations (seeds seed, seed + 1, ...); the run of largest objective is kept. Default 1 for 'spectral', 10 for 'random'. */
  restarts?: number;
  /** Most refits per run (default 100); a run stops earlier when no label changes. */
  maxIter?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Most rows in the spectral initialization's N x N affinity (default 2000). */
  spectralSamples?: number;
}

export interface KSubspacesResult<D extends DType = DType> {
  /** Subspace of every row, 0..K-1. */
  labels: Int32Array;
  /** K orthonormal D x d bases (owned by the caller). */
  bases: Mat<D>[];
  /** sum_i ||U_{label_i}^T x_i||^2 of the kept run (the K-subspaces objective, maximized). */
  objective: number;
  /** Refits of the kept run. */
  iters: number;
  /** Whether the kept run stopped because no label changed (rather than at maxIter). */
  converged: boolean;
}

const OPTIONS = ['K', 'd', 'init', 'restarts', 'maxIter', 'seed', 'spectralSamples'] as const;

/** Draws padding columns from one stream per run at increasing offsets. */
export interface Padder {
  seed: number;
  offset: number;
}

/**
 * Top-d right singular vectors of A (m x D): D x d orthonormal, and the captured energy (sum of the top d
 * squared singular values). m >= D: eigh of the D x D Gram; m < D: thin SVD of A; fewer than d rows:
 * padded with random columns and re-orthonormalized (QR keeps the leading span).
 * @internal
 */
export async function topRightSingular<D extends DType>(
  eng: Engine<D>,
  A: Mat<D>,
  d: number,
  pad: Padder,
): Promise<{ U: Mat<D>; energy: number }> {
  const D = A.cols;
  return eng.scope(async () => {
    if (A.rows >= D) {
      const G = await eng.matmul(A, A, { transA: true });
      const { values, vectors } = await eng.eigh(G);
      let energy = 0;
      for (let j = 0; j < d; j++) energy += Math.max(values[j], 0);
      return { U: d === D ? vectors : await eng.slice(vectors, { cols: [0, d] }), energy };
    }
    const { S, V } = await eng.svd(A); // V: D x min(m, D)
    let energy = 0;
    for (let j = 0; j < Math.min(d, S.length); j++) energy += S[j] * S[j];
    if (V.cols >= d) return { U: V.cols === d ? V : await eng.slice(V, { cols: [0, d] }), energy };
    const R = eng.randn(D, d - V.cols, { seed: pad.seed, offset: pad.offset });
    pad.offset += D * (d - V.cols);
    const { Q } = await eng.qr(await eng.hstack([V, R]));
    return { U: Q, energy };
  });
}

/** topRightSingular of the rows `idx` of X. */
async function fitBasis<D extends DType>(
  eng: Engine<D>,
  X: Mat<D>,
  idx: number[],
  d: number,
  pad: Padder,
): Promise<{ U: Mat<D>; energy: number }> {
  if (idx.length === X.rows) return topRightSingular(eng, X, d, pad);
  const Xk = await gatherRows(eng, X, idx);
  try {
    return await topRightSingular(eng, Xk, d, pad);
  } finally {
    Xk.dispose();
  }
}

/** Assignment: labels (argmax_k ||U_k^T x_i||^2) and the best score of every row. */
async function assign<D extends DType>(
  eng: Engine<D>,
  X: Mat<D>,
  bases: Mat<D>[],
  Eneg: Mat<D>,
): Promise<{ labels: Int32Array; best: Float64Array }> {
  return eng.scope(async () => {
    const W = bases.length === 1 ? bases[0] : await eng.hstack(bases);
    const P = await eng.matmul(X, W);
    const negS = await eng.matmul(await eng.hadamard(P, P), Eneg); // -||U_k^T x_i||^2
    const { index, value } = await eng.rowArgmin(negS);
    return { labels: index, best: Float64Array.from(value, (v) => -v) };
  });
}

/**
 * Empty clusters take the rows farthest from their subspaces (largest residual ||x||^2 - best), taken
 * only from clusters that keep at least one row. Updates labels; returns the cluster member lists.
 */
function members(labels: Int32Array, K: number, resid: Float64Array | null): number[][] {
  const mem: number[][] = Array.from({ length: K }, () => []);
  for (let i = 0; i < labels.length; i++) mem[labels[i]].push(i);
  const empty = mem.flatMap((m, k) => (m.length === 0 ? [k] : []));
  if (empty.length === 0) return mem;
  const counts = mem.map((m) => m.length);
  const order = Int32Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => (resid ? resid[b] - resid[a] : 0) || a - b);
  let at = 0;
  for (const k of empty) {
    while (counts[labels[order[at]]] <= 1) at++; // K <= N guarantees a donor
    const i = order[at++];
    counts[labels[i]]--;
    labels[i] = k;
    counts[k] = 1;
  }
  const out: number[][] = Array.from({ length: K }, () => []);
  for (let i = 0; i < labels.length; i++) out[labels[i]].push(i);
  return out;
}

async function fitAll<D extends DType>(
  eng: Engine<D>,
  X: Mat<D>,
  mem: number[][],
  d: number,
  pad: Padder,
): Promise<{ bases: Mat<D>[]; energy: number }> {
  const bases: Mat<D>[] = [];
  let energy = 0;
  try {
    for (const idx of mem) {
      const r = await fitBasis(eng, X, idx, d, pad);
      bases.push(r.U);
      energy += r.energy;
    }
  } catch (e) {
    disposeAll(...bases);
    throw e;
  }
  return { bases, energy };
}

/** Spectral initialization on a random subset of at most `cap` rows: initial bases. */
async function spectralInit<D extends DType>(
  eng: Engine<D>,
  X: Mat<D>,
  K: number,
  d: number,
  cap: number,
  seed: number,
  pad: Padder,
): Promise<Mat<D>[]> {
  const N = X.rows;
  const rng = new PhiloxRng(seed, 11);
  let idx: number[];
  if (N <= cap) idx = Array.from({ length: N }, (_, i) => i);
  else {
    const perm = Int32Array.from({ length: N }, (_, i) => i);
    for (let i = 0; i < cap; i++) {
      const j = i + rng.int(N - i);
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    idx = Array.from(perm.subarray(0, cap)).sort((a, b) => a - b);
  }
  const Ns = idx.length;
  const sub = await eng.scope(async () => {
    const Xs = Ns === N ? X : await gatherRows(eng, X, idx);
    const rn = await eng.rowNorms(Xs);
    const mask = Float64Array.from(rn, (v) => (v > 0 ? 1 : 0));
    const Xn = await eng.scaleRows(
      Xs,
      Float64Array.from(rn, (v) => (v > 0 ? 1 / v : 0)),
    );
    const G = await eng.matmul(Xn, Xn, { transB: true });
    const A = await eng.sub(await eng.hadamard(G, await eng.sign(G)), await eng.scaleRows(eng.eye(Ns), mask));
    const deg = await (await eng.matmul(A, eng.ones(Ns, 1))).toArray();
    const dinv = Float64Array.from(deg, (v) => (v > 0 ? 1 / Math.sqrt(v) : 0));
    const M = await eng.scaleRows(await eng.scaleColumns(A, dinv), dinv);
    const { vectors } = await eng.eigh(M);
    const Y = await (await eng.slice(vectors, { cols: [0, K] })).toArray();
    for (let i = 0; i < Ns; i++) {
      let s = 0;
      for (let j = 0; j < K; j++) s += Y[i * K + j] ** 2;
      const r = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let j = 0; j < K; j++) Y[i * K + j] *= r;
    }
    const { labels } = await kmeans(eng.matrix(Y, Ns, K), { k: K, nInit: 10, seed });
    return labels;
  });
  const mem: number[][] = Array.from({ length: K }, () => []);
  for (let i = 0; i < Ns; i++) mem[sub[i]].push(idx[i]);
  for (let k = 0; k < K; k++) if (mem[k].length === 0) mem[k].push(idx[k % Ns]); // k-means relocates: not reached
  return (await fitAll(eng, X, mem, d, pad)).bases;
}

/**
 * K-subspaces clustering of the rows of X (N x D): labels, K orthonormal D x d bases and the objective
 * sum_i ||U_{label_i}^T x_i||^2 (maximized), best of `restarts` runs. Each iteration is one GEMM against
 * the stacked bases plus one small GEMM for the N x K scores, rowArgmin bringing back only the N labels and
 * scores, then a refit per cluster (rows gathered on the device; eigh of the D x D Gram when the cluster has
 * at least D rows, else the thin SVD of its rows). An empty cluster is re-seeded with the row of largest
 * residual ||x||^2 - max_k ||U_k^T x||^2 (from a cluster that keeps a row), and a cluster of fewer than d
 * rows is padded with random orthonormal columns. Stops when no label changes.
 */
export async function kSubspaces<D extends DType>(X: Mat<D>, options: KSubspacesOptions): Promise<KSubspacesResult<D>> {
  const fn = 'kSubspaces';
  if (!(X instanceof Mat)) throw typeError(fn, `'X' must be a Mat`);
  if (X.disposed) throw typeError(fn, `'X' has been disposed`);
  if (options === null || typeof options !== 'object') throw typeError(fn, `options must be an object with 'K' and 'd'`);
  const o = checkOptions<KSubspacesOptions>(fn, options, OPTIONS);
  const eng = X.engine;
  const N = X.rows,
    D = X.cols;
  if (o.K === undefined) throw typeError(fn, `'K' is required`);
  if (o.d === undefined) throw typeError(fn, `'d' is required`);
  const K = checkInt(fn, 'K', o.K, 1, Number.MAX_SAFE_INTEGER);
  const d = checkInt(fn, 'd', o.d, 1, Number.MAX_SAFE_INTEGER);
  if (K > N) throw rangeError(fn, `'K' (${K}) must not exceed the number of rows of X (${N})`);
  if (K * d > D) throw rangeError(fn, `K d (${K} x ${d} = ${K * d}) must not exceed the columns of X (${D})`);
  const init = checkOneOf(fn, 'init', o.init, ['spectral', 'random'] as const, 'spectral');
  const restarts = o.restarts === undefined ? (init === 'random' ? 10 : 1) : checkInt(fn, 'restarts', o.restarts, 1, 1e6);
  const maxIter = o.maxIter === undefined ? 100 : checkInt(fn, 'maxIter', o.maxIter, 1, 1e9);
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER - 1e6);
  const cap = o.spectralSamples === undefined ? 2000 : checkInt(fn, 'spectralSamples', o.spectralSamples, K, 1e6);
  if (!(await allFinite(eng, X))) throw rangeError(fn, `'X' must be finite (it has NaN or Inf entries)`);

  const xn = await eng.rowNorms(X);
  const xn2 = Float64Array.from(xn, (v) => v * v);
  const en = new Float64Array(K * d * K);
  for (let k = 0; k < K; k++) for (let j = k * d; j < (k + 1) * d; j++) en[j * K + k] = -1;
  const Eneg = eng.matrix(en, K * d, K);
  let best: KSubspacesResult<D> | null = null;
  try {
    for (let r = 0; r < restarts; r++) {
      const rseed = seed + r;
      const pad: Padder = { seed: rseed, offset: D * K * d };
      let bases: Mat<D>[];
      if (init === 'random') {
        bases = await eng.scope(async () => {
          const G = eng.randn(D, K * d, { seed: rseed });
          const out: Mat<D>[] = [];
          for (let k = 0; k < K; k++) out.push((await eng.qr(await eng.slice(G, { cols: [k * d, (k + 1) * d] }))).Q);
          return out;
        });
      } else bases = await spectralInit(eng, X, K, d, cap, rseed, pad);
      let iters = 0,
        converged = false,
        energy = 0;
      try {
        const a0 = await assign(eng, X, bases, Eneg);
        let labels = a0.labels;
        let mem = members(
          labels,
          K,
          Float64Array.from(a0.best, (v, i) => xn2[i] - v),
        );
        for (;;) {
          const fit = await fitAll(eng, X, mem, d, pad);
          disposeAll(...bases);
          bases = fit.bases;
          energy = fit.energy;
          iters++;
          if (iters >= maxIter) break;
          const a = await assign(eng, X, bases, Eneg);
          const m2 = members(
            a.labels,
            K,
            Float64Array.from(a.best, (v, i) => xn2[i] - v),
          );
          let same = true;
          for (let i = 0; i < N && same; i++) same = a.labels[i] === labels[i];
          if (same) {
            converged = true;
            break;
          }
          labels = a.labels;
          mem = m2;
        }
        if (best === null || energy > best.objective) {
          if (best) disposeAll(...best.bases);
          best = { labels, bases, objective: energy, iters, converged };
        } else disposeAll(...bases);
      } catch (e) {
        disposeAll(...bases);
        throw e;
      }
    }
  } catch (e) {
    if (best) disposeAll(...best.bases);
    throw e;
  } finally {
    Eneg.dispose();
  }
  return best as KSubspacesResult<D>;
}
