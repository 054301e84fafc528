/**
 * Linear operators: the one interface through which the algorithms touch A. A dense Mat, a SparseMat
 * and a user-supplied matrix-free operator all become an `Operator` with `apply(X) = A X` and
 * `applyT(Y) = A^T Y` on the engine's device; implicit column centering wraps any of them.
 */
import type { Engine } from '../engine.js';
import { checkDim, rangeError, typeError } from '../errors.js';
import { Mat, SparseMat } from '../mat.js';
import type { DType } from '../types.js';

/**
 * A matrix-free linear operator on an engine. `apply(X)` must return A X (rows x b) for X (cols x b),
 * `applyT(Y)` must return A^T Y (cols x b) for Y (rows x b); the caller owns (and disposes) the
 * returned matrices and keeps ownership of its arguments.
 *
 * @example
 * ```ts
 * const op: LinearOperator = {
 *   engine: eng, rows: m, cols: n,
 *   apply: (X) => eng.matmul(A, X),
 *   applyT: (Y) => eng.matmul(A, Y, { transA: true }),
 * };
 * const { U, S, V } = await rsvd(op, { rank: 10 });
 * ```
 */
export interface LinearOperator<D extends DType = DType> {
  readonly engine: Engine<D>;
  readonly rows: number;
  readonly cols: number;
  apply(X: Mat<D>): Promise<Mat<D>>;
  applyT(Y: Mat<D>): Promise<Mat<D>>;
}

/** What an algorithm accepts as A. */
export type MatrixLike<D extends DType = DType> = Mat<D> | SparseMat<D> | LinearOperator<D>;

/** The internal operator: validated shapes, counted products. */
export interface Operator<D extends DType = DType> {
  readonly eng: Engine<D>;
  readonly rows: number;
  readonly cols: number;
  readonly kind: 'dense' | 'sparse' | 'operator';
  apply(X: Mat<D>): Promise<Mat<D>>;
  applyT(Y: Mat<D>): Promise<Mat<D>>;
  /** Columns multiplied so far (A and A^T together), and products (each one pass over A). */
  readonly counts: { matvecs: number; passes: number };
  /** Releases what the operator allocated (e.g. centering vectors). */
  dispose(): void;
}

function isOperatorLike(a: unknown): a is LinearOperator {
  return (
    typeof a === 'object' &&
    a !== null &&
    !(a instanceof Mat) &&
    !(a instanceof SparseMat) &&
    typeof (a as LinearOperator).apply === 'function' &&
    typeof (a as LinearOperator).applyT === 'function'
  );
}

/** Wraps A (Mat, SparseMat or LinearOperator) as a counted Operator, with validation. */
export function toOperator<D extends DType>(fn: string, A: MatrixLike<D>): Operator<D> {
  const counts = { matvecs: 0, passes: 0 };
  const count = (b: number): void => {
    counts.matvecs += b;
    counts.passes += 1;
  };
  if (A instanceof Mat) {
    const eng = A.engine;
    eng._mats(fn, { A });
    return {
      eng,
      rows: A.rows,
      cols: A.cols,
      kind: 'dense',
      counts,
      apply: (X) => (count(X.cols), eng.matmul(A, X)),
      applyT: (Y) => (count(Y.cols), eng.matmul(A, Y, { transA: true })),
      dispose: () => undefined,
    };
  }
  if (A instanceof SparseMat) {
    const eng = A.engine;
    if (A.disposed) throw typeError(fn, `'A' has been disposed`);
    return {
      eng,
      rows: A.rows,
      cols: A.cols,
      kind: 'sparse',
      counts,
      apply: (X) => (count(X.cols), eng.spmm(A, X)),
      applyT: (Y) => (count(Y.cols), eng.spmm(A, Y, { transS: true })),
      dispose: () => undefined,
    };
  }
  if (!isOperatorLike(A)) throw typeError(fn, `'A' must be a Mat, a SparseMat or a LinearOperator { engine, rows, cols, apply, applyT }`);
  const eng = A.engine as Engine<D>;
  if (!eng || typeof eng._mats !== 'function')
    throw typeError(fn, `the LinearOperator needs an 'engine' (the engine its apply() works on)`);
  eng._alive(fn);
  const rows = checkDim(fn, 'A.rows', A.rows),
    cols = checkDim(fn, 'A.cols', A.cols);
  const checked = async (what: string, p: Promise<Mat<D>>, r: number, c: number): Promise<Mat<D>> => {
    const out = await p;
    if (!(out instanceof Mat)) throw typeError(fn, `A.${what}() must resolve to a Mat, got ${typeof out}`);
    if (out.rows !== r || out.cols !== c) {
      out.dispose(); // the operator's result is ours to release, refused or not
      throw rangeError(fn, `A.${what}() returned a ${out.rows} x ${out.cols} matrix, expected ${r} x ${c}`);
    }
    return out;
  };
  return {
    eng,
    rows,
    cols,
    kind: 'operator',
    counts,
    apply: (X) => (count(X.cols), checked('apply', A.apply(X), rows, X.cols)),
    applyT: (Y) => (count(Y.cols), checked('applyT', A.applyT(Y), cols, Y.cols)),
    dispose: () => undefined,
  };
}

/** The transpose of an operator (swaps apply and applyT; shares the counts). */
export function transposed<D extends DType>(op: Operator<D>): Operator<D> {
  return {
    eng: op.eng,
    rows: op.cols,
    cols: op.rows,
    kind: op.kind,
    counts: op.counts,
    apply: (X) => op.applyT(X),
    applyT: (Y) => op.apply(Y),
    dispose: () => op.dispose(),
  };
}

/**
 * Implicit column centering: the operator of A - 1 mu^T with mu the column means of A, never formed.
 * apply(X) = A X - 1 (mu^T X), applyT(Y) = A^T Y - mu (1^T Y). Computing mu costs one pass over A.
 */
export async function centered<D extends DType>(op: Operator<D>): Promise<Operator<D>> {
  const { eng, rows, cols } = op;
  const onesCol = eng.ones(rows, 1);
  const sum = await op.applyT(onesCol); // A^T 1 (cols x 1)
  const mu = await eng.scale(sum, 1 / rows); // cols x 1
  sum.dispose();
  return {
    eng,
    rows,
    cols,
    kind: op.kind,
    counts: op.counts,
    apply: async (X) => {
      const AX = await op.apply(X);
      const w = await eng.matmul(mu, X, { transA: true }); // 1 x b = mu^T X
      const corr = await eng.matmul(onesCol, w); // rows x b
      const out = await eng.sub(AX, corr);
      AX.dispose();
      w.dispose();
      corr.dispose();
      return out;
    },
    applyT: async (Y) => {
      const ATY = await op.applyT(Y);
      const w = await eng.matmul(onesCol, Y, { transA: true }); // 1 x b = 1^T Y
      const corr = await eng.matmul(mu, w); // cols x b
      const out = await eng.sub(ATY, corr);
      ATY.dispose();
      w.dispose();
      corr.dispose();
      return out;
    },
    dispose: () => {
      onesCol.dispose();
      mu.dispose();
      op.dispose();
    },
  };
}
