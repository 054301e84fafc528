/**
 * Nearest-subspace classifier, the evaluation classifier of the MCR^2 code (ryanchankh/mcr2 evaluate.py,
 * `nearsub`): per class, PCA with `components` components (centered: the class mean is subtracted, as
 * sklearn's PCA does; the value that function returns) or, with `center: false`, the uncentered
 * TruncatedSVD variant it also prints; a sample goes to the class of least residual
 * ||(I - U_k U_k^T)(x - mu_k)||.
 */
import type { Engine } from '../../engine.js';
import { checkBool, checkInt, checkOptions, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { allFinite, disposeAll } from '../common.js';
import { gatherRows } from '../common.js';
import { topRightSingular } from './ksubspaces.js';

export interface NearestSubspaceOptions {
  /** Components per class (default 30, the MCR^2 evaluation's n_comp); <= D and <= the rows of every class. */
  components?: number;
  /** Subtract each class mean before the SVD and from the samples (PCA, default true); false: TruncatedSVD. */
  center?: boolean;
}

export interface NearestSubspaceModel<D extends DType = DType> {
  /** The class ids, ascending (predict returns these values). */
  readonly classes: Int32Array;
  /** Components per class. */
  readonly components: number;
  /** Whether the class means were subtracted. */
  readonly center: boolean;
  /** Class of every row of X (N x D): the one of least residual norm (the first on ties). */
  predict(X: Mat<D>): Promise<Int32Array>;
  /** Releases the model's matrices. */
  dispose(): void;
}

class Model<D extends DType> implements NearestSubspaceModel<D> {
  private disposed = false;
  constructor(
    private readonly eng: Engine<D>,
    readonly classes: Int32Array,
    readonly components: number,
    readonly center: boolean,
    private readonly D: number,
    /** (D + 1) x (C c): [U_1 ... U_C; -mu_k^T U_k] */
    private readonly Wa: Mat<D>,
    /** (D + 1) x C: [-2 mu_k; ||mu_k||^2] */
    private readonly Ba: Mat<D>,
    /** (C c) x C: -1 on the blocks */
    private readonly Eneg: Mat<D>,
  ) {}

  async predict(X: Mat<D>): Promise<Int32Array> {
    const fn = 'nearestSubspace.predict';
    if (this.disposed) throw typeError(fn, `the model has been disposed`);
    if (!(X instanceof Mat)) throw typeError(fn, `'X' must be a Mat`);
    if (X.disposed) throw typeError(fn, `'X' has been disposed`);
    if (X.engine !== this.eng) throw typeError(fn, `'X' belongs to a different engine than the model`);
    if (X.cols !== this.D) throw rangeError(fn, `'X' must have ${this.D} columns (as in fit), got ${X.cols}`);
    const eng = this.eng;
    if (!(await allFinite(eng, X))) throw rangeError(fn, `'X' must be finite (it has NaN or Inf entries)`);
    // residual^2 = ||x||^2 - 2 x.mu + ||mu||^2 - ||U^T (x - mu)||^2; ||x||^2 is the same for every class
    const { index } = await eng.scope(async () => {
      const Xa = await eng.hstack([X, eng.ones(X.rows, 1)]);
      const P = await eng.matmul(Xa, this.Wa);
      const S = await eng.add(await eng.matmul(await eng.hadamard(P, P), this.Eneg), await eng.matmul(Xa, this.Ba));
      return eng.rowArgmin(S);
    });
    return Int32Array.from(index, (k) => this.classes[k]);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeAll(this.Wa, this.Ba, this.Eneg);
  }
}

async function fit<D extends DType>(X: Mat<D>, y: ArrayLike<number>, options?: NearestSubspaceOptions): Promise<NearestSubspaceModel<D>> {
  const fn = 'nearestSubspace.fit';
  if (!(X instanceof Mat)) throw typeError(fn, `'X' must be a Mat`);
  if (X.disposed) throw typeError(fn, `'X' has been disposed`);
  const o = checkOptions<NearestSubspaceOptions>(fn, options, ['components', 'center']);
  const eng = X.engine;
  const N = X.rows,
    D = X.cols;
  if (!(Array.isArray(y) || (ArrayBuffer.isView(y) && !(y instanceof DataView))))
    throw typeError(fn, `'y' must be an array or typed array of integer class ids`);
  if (y.length !== N) throw rangeError(fn, `'y' has ${y.length} entries but X has ${N} rows`);
  const c = o.components === undefined ? 30 : checkInt(fn, 'components', o.components, 1, Number.MAX_SAFE_INTEGER);
  if (c > D) throw rangeError(fn, `'components' (${c}) must not exceed the columns of X (${D})`);
  const center = checkBool(fn, 'center', o.center, true);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < N; i++) {
    const v = y[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)
      throw rangeError(fn, `'y[${i}]' must be a 32-bit integer, got ${v}`);
    let m = byClass.get(v);
    if (!m) byClass.set(v, (m = []));
    m.push(i);
  }
  const classes = Int32Array.from(byClass.keys()).sort();
  for (const k of classes) {
    const n = (byClass.get(k) as number[]).length;
    if (n < c) throw rangeError(fn, `class ${k} has ${n} rows, fewer than 'components' (${c})`);
  }
  if (!(await allFinite(eng, X))) throw rangeError(fn, `'X' must be finite (it has NaN or Inf entries)`);
  const C = classes.length;
  const { Wa, Ba, Eneg } = await eng.scope(async () => {
    const Us: Mat<D>[] = [];
    const mus: Mat<D>[] = [];
    const pad = { seed: 0, offset: 0 }; // not used: every class has >= c rows
    for (const k of classes) {
      const idx = byClass.get(k) as number[];
      let Xk = idx.length === N ? X : await gatherRows(eng, X, idx);
      let mu: Mat<D>;
      if (center) {
        mu = await eng.scale(await eng.matmul(eng.ones(1, idx.length), Xk), 1 / idx.length); // 1 x D
        Xk = await eng.sub(Xk, await eng.matmul(eng.ones(idx.length, 1), mu));
      } else mu = eng.zeros(1, D);
      Us.push((await topRightSingular(eng, Xk, c, pad)).U);
      mus.push(mu);
    }
    const W = C === 1 ? Us[0] : await eng.hstack(Us); // D x Cc
    const M = C === 1 ? mus[0] : await eng.vstack(mus); // C x D
    const m = await eng.matmul(M, W); // C x Cc; block k of row k is mu_k^T U_k
    const mh = await m.toArray();
    const row = new Float64Array(C * c);
    for (let k = 0; k < C; k++) for (let j = 0; j < c; j++) row[k * c + j] = -mh[k * C * c + k * c + j];
    const Wa = await eng.vstack([W, eng.matrix(row, 1, C * c)]);
    const mn = await eng.rowNorms(M);
    const Ba = await eng.vstack([
      await eng.scale(await eng.transpose(M), -2),
      eng.matrix(
        Float64Array.from(mn, (v) => v * v),
        1,
        C,
      ),
    ]);
    const en = new Float64Array(C * c * C);
    for (let k = 0; k < C; k++) for (let j = k * c; j < (k + 1) * c; j++) en[j * C + k] = -1;
    return { Wa, Ba, Eneg: eng.matrix(en, C * c, C) };
  });
  return new Model(eng, classes, c, center, D, Wa, Ba, Eneg);
}

/** The nearest-subspace classifier: `nearestSubspace.fit(X, y, { components: 30 })` -> model with `predict`. */
export const nearestSubspace = { fit };
