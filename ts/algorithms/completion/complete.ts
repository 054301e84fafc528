/**
 * Matrix completion by alternating minimisation (spec A.2): JNS13 with exact per-row / per-column
 * least-squares solves ('exact': segmented Gram + batched k x k Cholesky, O(|Omega| k^2 + (m + n) k^3)
 * per sweep), and the GSYZ-style approximate solves ('sketch': warm-started preconditioned CG with
 * `inner` steps, the preconditioner R from a CountSketch of each A_j, O(|Omega| k inner +
 * (m + n)(s k^2 + k^3)) per sweep with s = min(|I_j|, 4k); or a diagonal (Jacobi) preconditioner,
 * O(|Omega| k (inner + 1)) per sweep). Every kernel is an engine primitive, so it runs on both backends.
 *
 * Per sweep: V~ = argmin over the columns given U (orthonormal), V = QR(V~).Q, U~ = argmin over the
 * rows given V, U = QR(U~).Q; the output is (U~, V), M_hat = U~ V^T. Only scalars (the train RMSE and,
 * with tol, the relative change on Omega) come back to the host per sweep.
 */
import type { Engine } from '../../engine.js';
import { checkBool, checkFinite, checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import { Mat, SparseMat } from '../../mat.js';
import type { CooInput, DType } from '../../types.js';
import { disposeAll, secondsSince, unitRoundoff } from '../common.js';
import { rsvd } from '../rsvd/rsvd.js';

export type CompletionSolver = 'sketch' | 'exact';
export type CompletionPreconditioner = 'sketch' | 'jacobi';

export interface CompletionIter {
  /** Sweep number (1-based). */
  iter: number;
  /** RMSE of U~ V^T on the observed entries. */
  trainRmse: number;
  /** Seconds since the call started. */
  seconds: number;
}

export interface CompleteOptions<D extends DType = DType> {
  /** Target rank k (required), 1 <= k < min(m, n). */
  rank: number;
  /** Alternating sweeps (default 30). */
  iters?: number;
  /** 'sketch' (default): approximate solves by preconditioned CG; 'exact': batched Cholesky. */
  solver?: CompletionSolver;
  /** CG steps per solve for 'sketch' (default 2), warm-started from the previous factor. */
  inner?: number;
  /**
   * Preconditioner of the 'sketch' solver: 'sketch' (default) the Cholesky factor of (S_j A_j)^T
   * (S_j A_j) for a CountSketch S_j with min(|I_j|, sketchRows * k) rows; 'jacobi' diag(A_j^T A_j).
   */
  preconditioner?: CompletionPreconditioner;
  /** Sketch rows per unit of rank (default 4: s = min(|I_j|, 4k)). */
  sketchRows?: number;
  /** Incoherence clipping of the initial factor (default true). */
  clip?: boolean;
  /** Assumed incoherence for clipping: entries above 2 muClip sqrt(k/m) are zeroed (default 1.5). */
  muClip?: number;
  /** Stop when ||P(X_t) - P(X_{t-1})||_F / ||P(X_t)||_F < tol on Omega (default 0: run all sweeps). */
  tol?: number;
  /**
   * Relative ridge (lambda = ridge trace(A_j^T A_j) / k) of the rows / columns with fewer than k
   * observations (default 1e-3), in every solver; well-determined ones are solved without one.
   */
  ridge?: number;
  /** Seed of the initialisation (randomized SVD) and of the sketches (default 0). */
  seed?: number;
  /**
   * Called after every sweep with the sweep's numbers and its factors (U~ and V, owned by the
   * algorithm: read them, do not dispose them, do not keep them past the callback). A returned
   * promise is awaited before the next sweep (for example to evaluate held-out entries).
   */
  onIter?: (it: CompletionIter, factors: { U: Mat<D>; V: Mat<D> }) => void | Promise<void>;
  /** The engine, required when `obs` is given as COO triplets. */
  engine?: Engine<D>;
}

export interface CompletionInfo {
  history: CompletionIter[];
  /**
   * Incoherence estimate of the result: the larger of sqrt(m/k) max_i ||row_i(orth(U))|| and
   * sqrt(n/k) max_j ||row_j(V)||, in [1, sqrt(max(m, n)/k)]. An incoherent matrix gives values near
   * 1-2; values near the upper end mean a coherent ("spiky") matrix, which uniform samples cannot
   * complete (each column sees few of the rows that carry the mass).
   */
  muHat: number;
  /** Rows with fewer than k observations (their factor rows are not determined by the data). */
  underdeterminedRows: number[];
  /** Columns with fewer than k observations. */
  underdeterminedCols: number[];
  /** Duplicate (i, j) observations that were averaged (COO input only; engine.sparse sums them). */
  duplicates: number;
  /** Observed fraction |Omega| / (m n). */
  pHat: number;
  /** Sweeps run. */
  iters: number;
  /** Why the loop ended. */
  stopped: 'iters' | 'tol';
  solver: CompletionSolver;
  preconditioner?: CompletionPreconditioner;
  seconds: number;
}

export interface CompletionResult<D extends DType = DType> {
  /** m x k; M_hat = U V^T. */
  U: Mat<D>;
  /** n x k, orthonormal columns. */
  V: Mat<D>;
  info: CompletionInfo;
}

const OPTIONS = [
  'rank',
  'iters',
  'solver',
  'inner',
  'preconditioner',
  'sketchRows',
  'clip',
  'muClip',
  'tol',
  'ridge',
  'seed',
  'onIter',
  'engine',
] as const;

/**
 * Averages duplicate (i, j) observations of COO triplets (host, linear time). Returns triplets without
 * duplicates and the number of observations merged away.
 */
export function averageDuplicates(coo: CooInput): { coo: CooInput; duplicates: number } {
  const fn = 'completeMatrix';
  const { rows, cols, row, col, val } = coo;
  const len = row.length;
  if (col.length !== len || val.length !== len) throw rangeError(fn, `'row', 'col' and 'val' must have equal lengths`);
  const key = new Map<number, number>();
  const r: number[] = [],
    c: number[] = [],
    s: number[] = [],
    cnt: number[] = [];
  for (let t = 0; t < len; t++) {
    const i = row[t],
      j = col[t],
      v = val[t];
    if (!Number.isFinite(v)) throw rangeError(fn, `observation ${t} at (${i}, ${j}) is ${v} (NaN/Inf observations are rejected)`);
    const kk = i * cols + j;
    const at = key.get(kk);
    if (at === undefined) {
      key.set(kk, r.length);
      r.push(i);
      c.push(j);
      s.push(v);
      cnt.push(1);
    } else {
      s[at] += v;
      cnt[at]++;
    }
  }
  const out = Float64Array.from(s, (x, q) => x / cnt[q]);
  return { coo: { rows, cols, row: Int32Array.from(r), col: Int32Array.from(c), val: out }, duplicates: len - r.length };
}

/** sqrt(m/k) max row norm of orth(X), X m x k with m >= k. */
async function incoherence<D extends DType>(eng: Engine<D>, X: Mat<D>): Promise<number> {
  const { Q, R } = await eng.qr(X);
  const rn = await eng.rowNorms(Q);
  disposeAll(Q, R);
  let mx = 0;
  for (const v of rn) if (v > mx) mx = v;
  return Math.sqrt(X.rows / X.cols) * mx;
}

/**
 * @example
 * ```ts
 * const obs = eng.sparse({ rows: m, cols: n, row, col, val });
 * const { U, V, info } = await completeMatrix(obs, { rank: 10, solver: 'exact', iters: 20 });
 * console.log(info.history.at(-1), await maskedRmse(U, V, heldOut));
 * ```
 */
export async function completeMatrix<D extends DType>(
  obs: SparseMat<D> | CooInput,
  options: CompleteOptions<D>,
): Promise<CompletionResult<D>> {
  const fn = 'completeMatrix';
  const t0 = performance.now();
  if (options === null || typeof options !== 'object') throw typeError(fn, `'options' with at least { rank } is required`);
  const o = checkOptions<CompleteOptions<D>>(fn, options, OPTIONS);
  let S: SparseMat<D>;
  let owned = false;
  let duplicates = 0;
  if (obs instanceof SparseMat) {
    S = obs;
    if (o.engine !== undefined && o.engine !== S.engine) throw typeError(fn, `'engine' is not the engine of 'obs'`);
  } else if (obs !== null && typeof obs === 'object' && 'row' in obs) {
    if (!o.engine) throw typeError(fn, `COO observations need options.engine (or pass a SparseMat from engine.sparse())`);
    checkOptions(fn, obs, ['rows', 'cols', 'row', 'col', 'val']);
    const a = averageDuplicates(obs as CooInput);
    duplicates = a.duplicates;
    S = o.engine.sparse(a.coo);
    owned = true;
  } else {
    throw typeError(fn, `'obs' must be a SparseMat (engine.sparse()) or COO triplets { rows, cols, row, col, val }`);
  }
  const eng = S.engine;
  try {
    if (S.disposed) throw typeError(fn, `'obs' has been disposed`);
    const m = S.rows,
      n = S.cols,
      N = S.nnz;
    if (N === 0) throw rangeError(fn, `'obs' has no observed entries (empty Omega)`);
    if (o.rank === undefined) throw typeError(fn, `'rank' is required`);
    const k = checkInt(fn, 'rank', o.rank, 1, Number.MAX_SAFE_INTEGER);
    if (k >= Math.min(m, n)) throw rangeError(fn, `'rank' = ${k} must be below min(m, n) = ${Math.min(m, n)} for a ${m} x ${n} matrix`);
    const iters = o.iters === undefined ? 30 : checkInt(fn, 'iters', o.iters, 1, 1e6);
    const solver = checkOneOf(fn, 'solver', o.solver, ['sketch', 'exact'] as const, 'sketch');
    const inner = o.inner === undefined ? 2 : checkInt(fn, 'inner', o.inner, 1, 1e4);
    const precond = checkOneOf(fn, 'preconditioner', o.preconditioner, ['sketch', 'jacobi'] as const, 'sketch');
    const sketchRows = o.sketchRows === undefined ? 4 : checkInt(fn, 'sketchRows', o.sketchRows, 1, 1e6);
    const clip = checkBool(fn, 'clip', o.clip, true);
    const muClip = o.muClip === undefined ? 1.5 : checkFinite(fn, 'muClip', o.muClip);
    if (!(muClip > 0)) throw rangeError(fn, `'muClip' must be positive, got ${muClip}`);
    const tol = o.tol === undefined ? 0 : checkFinite(fn, 'tol', o.tol);
    if (tol < 0) throw rangeError(fn, `'tol' must be >= 0, got ${tol}`);
    const ridgeRel = o.ridge === undefined ? 1e-3 : checkFinite(fn, 'ridge', o.ridge);
    if (ridgeRel < 0) throw rangeError(fn, `'ridge' must be >= 0, got ${ridgeRel}`);
    const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
    if (o.onIter !== undefined && typeof o.onIter !== 'function') throw typeError(fn, `'onIter' must be a function`);
    if (!Number.isFinite(await eng.norm(S, 'max'))) throw rangeError(fn, `'obs' holds non-finite values`);

    // Observation counts per row / column (host structure, no device work).
    const st = S._structure;
    const underdeterminedRows: number[] = [],
      underdeterminedCols: number[] = [];
    const ridgeRows = new Float64Array(m),
      ridgeCols = new Float64Array(n);
    for (let i = 0; i < m; i++)
      if (st.rowPtr[i + 1] - st.rowPtr[i] < k) {
        underdeterminedRows.push(i);
        ridgeRows[i] = ridgeRel;
      }
    for (let j = 0; j < n; j++)
      if (st.colPtr[j + 1] - st.colPtr[j] < k) {
        underdeterminedCols.push(j);
        ridgeCols[j] = ridgeRel;
      }
    const fallback = Math.sqrt(unitRoundoff(eng.dtype));
    const vals = await eng.sparseValues(S);
    const sqrtN = Math.sqrt(N);

    // ---- initialisation: top-k left singular vectors of (1/p) P_Omega(M) (the scale does not matter)
    const init = await rsvd(S, { rank: k, powerIters: 4, seed });
    let U: Mat<D>;
    try {
      let U0 = init.U;
      if (clip) {
        const thr = 2 * muClip * Math.sqrt(k / m);
        const h = await U0.toArray();
        let changed = false;
        for (let i = 0; i < h.length; i++)
          if (Math.abs(h[i]) > thr) {
            h[i] = 0;
            changed = true;
          }
        if (changed) U0 = eng.matrix(h, m, k);
      }
      const { Q, R } = await eng.qr(U0);
      if (U0 !== init.U) U0.dispose();
      R.dispose();
      U = Q;
    } finally {
      disposeAll(init.U, init.V);
    }

    // Relative ridges of the CG solvers on the device (segments x 1), only when some segment needs one.
    const ridgeMats = new Map<Float64Array, Mat<D> | null>();
    const ridgeMat = (r: Float64Array, segs: number): Mat<D> | null => {
      if (!ridgeMats.has(r)) ridgeMats.set(r, r.some((x) => x > 0) ? eng.matrix(r, segs, 1) : null);
      return ridgeMats.get(r) ?? null;
    };

    // ---- one half-sweep: the factor of every segment given the other factor F
    const solve = async (transS: boolean, F: Mat<D>, warm: Mat<D> | null, ridge: Float64Array): Promise<Mat<D>> => {
      if (solver === 'exact') {
        const G = await eng.segmentGram(S, F, { transS });
        const { L, status } = await eng.choleskyBatch(G, { ridge, fallback });
        G.dispose();
        status.dispose();
        const H = await eng.spmm(S, F, { transS });
        const X = await eng.choleskySolveBatch(L, H);
        disposeAll(L, H);
        return X;
      }
      // The CG system gets the same relative ridge as the preconditioner: the underdetermined segments'
      // ridge, plus the fallback ridge where the sketched Gram was singular (status 1; status 2 leaves a
      // zero preconditioner, i.e. the warm start).
      const segs = transS ? n : m;
      const base = ridgeMat(ridge, segs);
      let P: Mat<D>;
      let R: Mat<D> | null = base;
      if (precond === 'jacobi') P = await eng.segmentGram(S, F, { transS, diagonal: true });
      else {
        const Gs = await eng.segmentGram(S, F, { transS, sketch: { rows: sketchRows * k, seed } });
        const { L: W, status } = await eng.choleskyBatch(Gs, { ridge, fallback, inverse: true });
        Gs.dispose();
        R = base ? await eng.axpby(1, base, fallback, status) : await eng.scale(status, fallback);
        status.dispose();
        P = W;
      }
      const X0 = warm ?? eng.zeros(segs, k);
      const X = await eng.segmentCG(S, F, X0, P, { transS, steps: inner, ...(R ? { ridge: R } : {}) });
      if (!warm) X0.dispose();
      P.dispose();
      if (R !== base) R?.dispose();
      return X;
    };

    const history: CompletionIter[] = [];
    let Vw: Mat<D> | null = null; // warm start of V~ (coefficients in the current U basis)
    let Ut: Mat<D> | null = null,
      Vq: Mat<D> | null = null;
    let prevPred: Mat<D> | null = null;
    let stopped: 'iters' | 'tol' = 'iters';
    try {
      for (let t = 1; t <= iters; t++) {
        const Vt = await solve(true, U, Vw, ridgeCols);
        disposeAll(Vw);
        Vw = null;
        const qv = await eng.qr(Vt);
        let Uw: Mat<D> | null = null;
        if (solver === 'sketch') Uw = await eng.matmul(U, qv.R, { transB: true }); // U V~^T = Uw Vq^T
        disposeAll(Vt, qv.R, Vq, Ut);
        Vq = qv.Q;
        Ut = await solve(false, Vq, Uw, ridgeRows);
        disposeAll(Uw);
        // train RMSE (and the change on Omega) of U~ Vq^T
        const predS = await eng.sddmm(S, Ut, Vq);
        const pred = await eng.sparseValues(predS);
        predS.dispose();
        const res = await eng.sub(pred, vals);
        const trainRmse = (await eng.norm(res)) / sqrtN;
        res.dispose();
        let change = Infinity;
        if (tol > 0) {
          if (prevPred) {
            const d = await eng.sub(pred, prevPred);
            change = (await eng.norm(d)) / Math.max(await eng.norm(pred), Number.MIN_VALUE);
            d.dispose();
            prevPred.dispose();
          }
          prevPred = pred;
        } else pred.dispose();
        const rec = { iter: t, trainRmse, seconds: secondsSince(t0) };
        history.push(rec);
        if (o.onIter) await o.onIter(rec, { U: Ut, V: Vq });
        if (!Number.isFinite(trainRmse)) throw new Error(`${fn}: the iteration diverged (train RMSE ${trainRmse} at sweep ${t})`);
        if (change < tol) {
          stopped = 'tol';
          break;
        }
        if (t < iters) {
          const qu = await eng.qr(Ut);
          disposeAll(U);
          U = qu.Q;
          if (solver === 'sketch') Vw = await eng.matmul(Vq, qu.R, { transB: true }); // Ut Vq^T = U Vw^T
          qu.R.dispose();
        }
      }
    } catch (e) {
      disposeAll(Ut, Vq);
      throw e;
    } finally {
      disposeAll(U, Vw, prevPred, vals, ...ridgeMats.values());
    }
    const muHat = Math.max(await incoherence(eng, Ut as Mat<D>), await incoherence(eng, Vq as Mat<D>));
    return {
      U: Ut as Mat<D>,
      V: Vq as Mat<D>,
      info: {
        history,
        muHat,
        underdeterminedRows,
        underdeterminedCols,
        duplicates,
        pHat: N / (m * n),
        iters: history.length,
        stopped,
        solver,
        ...(solver === 'sketch' ? { preconditioner: precond } : {}),
        seconds: secondsSince(t0),
      },
    };
  } finally {
    if (owned) S.dispose();
  }
}

/**
 * RMSE of U V^T on the stored entries of `obs` (for example held-out observations): sqrt(mean over
 * the entries of (U_i . V_j - M_ij)^2), computed on the device (SDDMM); one scalar comes back.
 */
export async function maskedRmse<D extends DType>(U: Mat<D>, V: Mat<D>, obs: SparseMat<D>): Promise<number> {
  const fn = 'maskedRmse';
  if (!(U instanceof Mat) || !(V instanceof Mat)) throw typeError(fn, `'U' and 'V' must be Mats`);
  if (!(obs instanceof SparseMat)) throw typeError(fn, `'obs' must be a SparseMat`);
  const eng = obs.engine;
  if (obs.nnz === 0) throw rangeError(fn, `'obs' has no stored entries`);
  const predS = await eng.sddmm(obs, U, V);
  const pred = await eng.sparseValues(predS);
  predS.dispose();
  const vals = await eng.sparseValues(obs);
  const res = await eng.sub(pred, vals);
  const r = (await eng.norm(res)) / Math.sqrt(obs.nnz);
  disposeAll(pred, vals, res);
  return r;
}
