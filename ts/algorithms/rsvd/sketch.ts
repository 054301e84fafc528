/**
 * Single-pass low-rank approximation from linear sketches (Tropp, Yurtsever, Udell, Cevher, SIMAX
 * 2017). For A (m x n) seen once, in row blocks:
 *
 *   range sketch    Y = A Omega   (m x k),  Omega n x k Gaussian
 *   co-range sketch W = Psi A     (l x n),  Psi   l x m Gaussian
 *
 * Both are linear in A: the sketch of A1 + A2 is the sum of the sketches. A row block A_b (rows
 * r0..r1) contributes its own rows Y_b = A_b Omega and adds Psi[:, r0:r1] A_b to W, so sketches of
 * row-disjoint parts merge by addition (W adds, Y's blocks interleave — equivalently, zero-padded Y's
 * add). This is how the work spreads over processes or machines: each worker sketches its rows with the
 * same seed and parameters, `export()`s its state, and one process `merge()`s them and finalizes.
 * Psi's columns for rows r0..r1 are generated on their own from the counter-based RNG (engine randn
 * with an offset), so nobody needs m in advance or the whole Psi.
 *
 * Reconstruction: Q = orth(Y); X = (Psi Q)^+ W (least squares, l x k); A_hat = Q X; the rank-r output is
 * Q [[X]]_r (truncated SVD of the small X). With k = 2r + 1 and l = 2k + 1 (the defaults),
 * E ||A - A_hat||_F^2 <= 4 tau_{r+1}^2 and ||A - [[A_hat]]_r||_F <= tau_{r+1} + 2 ||A - A_hat||_F,
 * so E ||A - U S V^T||_F <= 5 tau_{r+1}, tau_{r+1} the optimal rank-r error.
 *
 * These are bounds in expectation relative to tau_{r+1}: when the tail of the spectrum carries most of
 * ||A||_F (a flat or noise-dominated spectrum), the oblique solve (Psi Q)^+ Psi amplifies that tail and
 * the leading singular values come out inflated (e.g. 2-8x on a Gaussian matrix) — a property of the
 * single-pass reconstruction, not of its implementation. A single pass cannot rule this out by itself,
 * so the sketch also keeps a small Gaussian test sketch Z = A Theta (m x s, s = `testSize`, default 10,
 * Theta independent of Omega and Psi) and `finalize()` reports the a-posteriori estimate (Tropp,
 * Yurtsever, Udell, Cevher 2019, section on a-posteriori error estimation)
 *
 *   ||A - U S V^T||_F^2  ~  (1/s) sum_i ||(A - U S V^T) theta_i||^2 = ||Z - U S (V^T Theta)||_F^2 / s,
 *
 * an unbiased estimate of the square, at worst (error of rank 1) distributed as chi^2_s / s times the
 * truth, so with s = 10 the estimated norm lies within 0.57 .. 1.43 times the true one with 95 %
 * probability (closer for errors spread over many directions). ||A||_F is accumulated exactly from the
 * blocks. See `info.errorEstimate`.
 */
import type { Engine } from '../../engine.js';
import { checkDim, checkInt, checkOptions, rangeError, typeError } from '../../errors.js';
import { openNpy } from '../../io/npy.js';
import { Mat } from '../../mat.js';
import type { DType, FloatArray } from '../../types.js';
import { allFinite, disposeAll, secondsSince, svdFlip } from '../common.js';

export interface SketchOptions {
  /** Columns n of A (required). */
  cols: number;
  /** Rows m of A, when known (checked at finalize; otherwise the rows seen define m). */
  rows?: number;
  /** Target rank r (required), 1 <= r. */
  rank: number;
  /** Range sketch size k, default 2r + 1 (k > r). */
  rangeSize?: number;
  /** Co-range sketch size l, default 2k + 1 (l >= k). */
  corangeSize?: number;
  /** Seed of Omega and Psi (default 0). Sketches that are merged must share it. */
  seed?: number;
  /**
   * Columns s of the Gaussian test sketch A Theta used for the a-posteriori error estimate (default
   * 10; 0 turns the estimate off). Theta has seed `seed + 2`.
   */
  testSize?: number;
}

/** The a-posteriori error estimate of a single-pass sketch (see the module comment). */
export interface SketchErrorEstimate {
  /** Estimate of ||A - U S V^T||_F from the test sketch. */
  fro: number;
  /** ||A||_F, accumulated exactly from the rows added. */
  normFro: number;
  /** fro / normFro (NaN for A = 0). 1 or more means no better than the zero matrix. */
  relFro: number;
  /** Test vectors s behind the estimate. */
  testSize: number;
  /**
   * A warning when the answer is poor: relFro > 0.5 (over half of ||A||_F is missed, where the
   * single-pass reconstruction is at its least reliable), or sum S_i^2 > ||A||_F^2 (the singular
   * values are certainly inflated). Undefined when none applies.
   */
  warning?: string;
}

/** Plain-data state of a sketch (host arrays), for moving it between processes. */
export interface SketchState {
  cols: number;
  rows?: number;
  rank: number;
  rangeSize: number;
  corangeSize: number;
  seed: number;
  dtype: DType;
  /** W (l x n), row-major. */
  W: FloatArray;
  /** Range-sketch rows: { row: first row, data: (rows x k) row-major }. */
  Y: { row: number; rows: number; data: FloatArray }[];
  /** Test-sketch size s (0: none); absent in states exported before the error estimate existed. */
  testSize?: number;
  /** Test-sketch rows (rows x s) matching Y's blocks, and the sum of squares of the rows added. */
  Z?: { row: number; rows: number; data: FloatArray }[];
  sumSquares?: number;
}

export interface SketchResult<D extends DType = DType> {
  U: Mat<D>;
  S: Float64Array;
  V: Mat<D>;
  info: {
    rows: number;
    cols: number;
    rank: number;
    rangeSize: number;
    corangeSize: number;
    blocks: number;
    seconds: number;
    /** The a-posteriori error estimate (absent with testSize 0). */
    errorEstimate?: SketchErrorEstimate;
  };
}

const OPTIONS = ['cols', 'rows', 'rank', 'rangeSize', 'corangeSize', 'seed', 'testSize'] as const;

/**
 * A linear sketch of a matrix streamed by row blocks.
 *
 * @example
 * ```ts
 * const sk = RsvdSketch.create(eng, { cols: n, rank: 10, seed: 7 });
 * for await (const { row, block } of blocks) await sk.add(block, row);
 * const { U, S, V } = await sk.finalize();
 * ```
 */
export class RsvdSketch<D extends DType = DType> {
  readonly eng: Engine<D>;
  readonly cols: number;
  readonly rows: number | undefined;
  readonly rank: number;
  readonly rangeSize: number;
  readonly corangeSize: number;
  readonly seed: number;
  readonly testSize: number;
  private omega: Mat<D> | null = null;
  private theta: Mat<D> | null = null;
  private W: Mat<D> | null = null;
  private readonly Y: { row: number; mat: Mat<D> }[] = [];
  private readonly Z: { row: number; mat: Mat<D> }[] = [];
  private sumSquares = 0;
  private nextRow = 0;
  private disposed = false;

  private constructor(eng: Engine<D>, o: Required<Omit<SketchOptions, 'rows'>> & { rows?: number }) {
    this.eng = eng;
    this.cols = o.cols;
    this.rows = o.rows;
    this.rank = o.rank;
    this.rangeSize = o.rangeSize;
    this.corangeSize = o.corangeSize;
    this.seed = o.seed;
    this.testSize = o.testSize;
  }

  /** A new, empty sketch on `eng`. */
  static create<D extends DType>(eng: Engine<D>, options: SketchOptions): RsvdSketch<D> {
    const fn = 'RsvdSketch.create';
    eng._alive(fn);
    if (options === null || typeof options !== 'object') throw typeError(fn, `options { cols, rank, ... } are required`);
    const o = checkOptions<SketchOptions>(fn, options, OPTIONS);
    const cols = checkDim(fn, 'cols', o.cols);
    const rows = o.rows === undefined ? undefined : checkDim(fn, 'rows', o.rows);
    const rank = checkInt(fn, 'rank', o.rank, 1, rows === undefined ? cols : Math.min(rows, cols));
    const rangeSize = o.rangeSize === undefined ? 2 * rank + 1 : checkInt(fn, 'rangeSize', o.rangeSize, rank + 1, 2 ** 20);
    const corangeSize = o.corangeSize === undefined ? 2 * rangeSize + 1 : checkInt(fn, 'corangeSize', o.corangeSize, rangeSize, 2 ** 20);
    const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER - 2);
    const testSize = o.testSize === undefined ? 10 : checkInt(fn, 'testSize', o.testSize, 0, 2 ** 20);
    if (rangeSize > cols) throw rangeError(fn, `rangeSize ${rangeSize} exceeds cols ${cols}: lower the rank or rangeSize`);
    return new RsvdSketch(eng, { cols, rows, rank, rangeSize, corangeSize, seed, testSize });
  }

  /** The Gaussian Omega (n x k), seed `seed`. */
  private getOmega(): Mat<D> {
    this.omega ??= this.eng.keep(this.eng.randn(this.cols, this.rangeSize, { seed: this.seed }));
    return this.omega;
  }

  /** The Gaussian test matrix Theta (n x s), seed `seed + 2`. */
  private getTheta(): Mat<D> {
    this.theta ??= this.eng.keep(this.eng.randn(this.cols, this.testSize, { seed: this.seed + 2 }));
    return this.theta;
  }

  /** Rows r0 .. r0 + b of Psi^T (b x l): the same rows of one (unbounded) m x l Gaussian, seed + 1. */
  private psiRows(r0: number, b: number): Mat<D> {
    return this.eng.randn(b, this.corangeSize, { seed: this.seed + 1, offset: r0 * this.corangeSize });
  }

  /** Rows seen so far (the next default row offset). */
  get rowsSeen(): number {
    return this.nextRow;
  }

  /**
   * Adds a block of rows: a Mat (b x n) or a typed array of b * n row-major values. `row` is the index
   * of its first row (default: right after the previous block). Blocks may come in any order but must
   * not overlap.
   */
  async add(block: Mat<D> | FloatArray, row?: number): Promise<void> {
    const fn = 'RsvdSketch.add';
    this.alive(fn);
    let B: Mat<D>;
    let owned = false;
    if (block instanceof Mat) {
      this.eng._mats(fn, { block });
      if (block.cols !== this.cols) throw rangeError(fn, `the block has ${block.cols} columns, the sketch ${this.cols}`);
      B = block;
    } else if (block instanceof Float32Array || block instanceof Float64Array) {
      if (block.length === 0 || block.length % this.cols !== 0)
        throw rangeError(
          fn,
          `a typed-array block must hold whole rows: length ${block.length} is not a positive multiple of cols = ${this.cols}`,
        );
      const bad = nonFiniteEntry(block, this.cols, row ?? this.nextRow, this.eng.dtype === 'f32', '0-based, of the whole matrix');
      if (bad) throw rangeError(fn, bad);
      B = this.eng.matrix(block, block.length / this.cols, this.cols);
      owned = true;
    } else {
      throw typeError(fn, `'block' must be a Mat or a Float32Array/Float64Array of whole rows`);
    }
    const r0 = row === undefined ? this.nextRow : checkInt(fn, 'row', row, 0, Number.MAX_SAFE_INTEGER);
    const r1 = r0 + B.rows;
    if (this.rows !== undefined && r1 > this.rows) {
      if (owned) B.dispose();
      throw rangeError(fn, `rows ${r0}..${r1} exceed the declared ${this.rows} rows`);
    }
    for (const y of this.Y) {
      if (r0 < y.row + y.mat.rows && y.row < r1) {
        if (owned) B.dispose();
        throw rangeError(fn, `rows ${r0}..${r1} overlap rows ${y.row}..${y.row + y.mat.rows} already in the sketch`);
      }
    }
    const Yb = await this.eng.matmul(B, this.getOmega()); // b x k
    if (this.testSize > 0) {
      this.Z.push({ row: r0, mat: this.eng.keep(await this.eng.matmul(B, this.getTheta())) }); // b x s
      this.sumSquares += (await this.eng.norm(B, 'fro')) ** 2;
    }
    const Psi = this.psiRows(r0, B.rows); // b x l
    const dW = await this.eng.matmul(Psi, B, { transA: true }); // l x n
    Psi.dispose();
    if (owned) B.dispose();
    if (this.W) {
      const sum = await this.eng.add(this.W, dW);
      disposeAll(this.W, dW);
      this.W = this.eng.keep(sum);
    } else this.W = this.eng.keep(dW);
    this.Y.push({ row: r0, mat: this.eng.keep(Yb) });
    this.nextRow = Math.max(this.nextRow, r1);
  }

  /** Adds another sketch of disjoint rows (same seed, sizes and engine): W adds, Y's rows join. */
  async merge(other: RsvdSketch<D>): Promise<void> {
    const fn = 'RsvdSketch.merge';
    this.alive(fn);
    other.alive(fn);
    if (other.eng !== this.eng) throw typeError(fn, `the sketches live on different engines`);
    if (
      other.seed !== this.seed ||
      other.cols !== this.cols ||
      other.rangeSize !== this.rangeSize ||
      other.corangeSize !== this.corangeSize ||
      other.testSize !== this.testSize
    )
      throw rangeError(fn, `sketches merge only with the same seed, cols, rangeSize, corangeSize and testSize`);
    for (const y of other.Y)
      for (const z of this.Y)
        if (y.row < z.row + z.mat.rows && z.row < y.row + y.mat.rows)
          throw rangeError(fn, `rows ${y.row}..${y.row + y.mat.rows} are in both sketches (merge needs row-disjoint parts)`);
    if (other.W) {
      if (this.W) {
        const sum = await this.eng.add(this.W, other.W);
        this.W.dispose();
        this.W = this.eng.keep(sum);
      } else this.W = this.eng.keep(await this.eng.scale(other.W, 1));
    }
    for (const y of other.Y) this.Y.push({ row: y.row, mat: this.eng.keep(await this.eng.scale(y.mat, 1)) });
    for (const z of other.Z) this.Z.push({ row: z.row, mat: this.eng.keep(await this.eng.scale(z.mat, 1)) });
    this.sumSquares += other.sumSquares;
    this.nextRow = Math.max(this.nextRow, other.nextRow);
  }

  /** The state as host arrays (an explicit device-to-host copy), for another process to `load()`. */
  async export(): Promise<SketchState> {
    this.alive('RsvdSketch.export');
    const W = this.W
      ? await this.W.toArray()
      : this.eng.dtype === 'f64'
        ? new Float64Array(this.corangeSize * this.cols)
        : new Float32Array(this.corangeSize * this.cols);
    const Y = [];
    for (const y of this.Y) Y.push({ row: y.row, rows: y.mat.rows, data: await y.mat.toArray() });
    const Z = [];
    for (const z of this.Z) Z.push({ row: z.row, rows: z.mat.rows, data: await z.mat.toArray() });
    return {
      cols: this.cols,
      rows: this.rows,
      rank: this.rank,
      rangeSize: this.rangeSize,
      corangeSize: this.corangeSize,
      seed: this.seed,
      dtype: this.eng.dtype,
      W,
      Y,
      testSize: this.testSize,
      Z,
      sumSquares: this.sumSquares,
    };
  }

  /** A sketch rebuilt from `export()`ed state (on any engine of a compatible dtype). */
  static async load<D extends DType>(eng: Engine<D>, state: SketchState): Promise<RsvdSketch<D>> {
    const fn = 'RsvdSketch.load';
    if (state === null || typeof state !== 'object') throw typeError(fn, `'state' must be an exported sketch state`);
    const sk = RsvdSketch.create(eng, {
      cols: state.cols,
      rows: state.rows,
      rank: state.rank,
      rangeSize: state.rangeSize,
      corangeSize: state.corangeSize,
      seed: state.seed,
      testSize: state.testSize ?? 0,
    });
    if (!(state.W instanceof Float32Array || state.W instanceof Float64Array) || state.W.length !== sk.corangeSize * sk.cols)
      throw rangeError(fn, `'W' must hold corangeSize * cols = ${sk.corangeSize * sk.cols} values`);
    if (!Array.isArray(state.Y)) throw typeError(fn, `'Y' must be an array of row blocks`);
    sk.W = eng.keep(eng.matrix(state.W, sk.corangeSize, sk.cols));
    for (const [i, y] of state.Y.entries()) {
      const rows = checkDim(fn, `Y[${i}].rows`, y.rows);
      const row = checkInt(fn, `Y[${i}].row`, y.row, 0, Number.MAX_SAFE_INTEGER);
      if (!(y.data instanceof Float32Array || y.data instanceof Float64Array) || y.data.length !== rows * sk.rangeSize)
        throw rangeError(fn, `Y[${i}].data must hold rows * rangeSize = ${rows * sk.rangeSize} values`);
      sk.Y.push({ row, mat: eng.keep(eng.matrix(y.data, rows, sk.rangeSize)) });
      sk.nextRow = Math.max(sk.nextRow, row + rows);
    }
    if (sk.testSize > 0) {
      if (!Array.isArray(state.Z) || state.Z.length !== state.Y.length || typeof state.sumSquares !== 'number' || !(state.sumSquares >= 0))
        throw rangeError(fn, `a state with testSize ${sk.testSize} needs 'Z' (one block per Y block) and 'sumSquares' >= 0`);
      for (const [i, z] of state.Z.entries()) {
        const y = sk.Y[i];
        if (
          z.row !== y.row ||
          z.rows !== y.mat.rows ||
          !(z.data instanceof Float32Array || z.data instanceof Float64Array) ||
          z.data.length !== z.rows * sk.testSize
        )
          throw rangeError(fn, `Z[${i}] must match Y[${i}]'s rows and hold rows * testSize = ${y.mat.rows * sk.testSize} values`);
        sk.Z.push({ row: z.row, mat: eng.keep(eng.matrix(z.data, z.rows, sk.testSize)) });
      }
      sk.sumSquares = state.sumSquares;
    }
    return sk;
  }

  /** The rank-r approximation U diag(S) V^T from the sketch (the sketch stays usable). */
  async finalize(): Promise<SketchResult<D>> {
    const fn = 'RsvdSketch.finalize';
    this.alive(fn);
    const t0 = performance.now();
    const { eng } = this;
    if (this.Y.length === 0 || !this.W) throw rangeError(fn, `the sketch is empty: add() rows first`);
    const blocks = [...this.Y].sort((a, b) => a.row - b.row);
    let expect = 0;
    for (const b of blocks) {
      if (b.row !== expect) throw rangeError(fn, `rows ${expect}..${b.row} were never added (the sketch must cover rows 0..m-1)`);
      expect = b.row + b.mat.rows;
    }
    const m = expect;
    if (this.rows !== undefined && m !== this.rows) throw rangeError(fn, `the sketch covers ${m} rows, ${this.rows} were declared`);
    if (m < this.rangeSize)
      throw rangeError(fn, `only ${m} rows were added; the range sketch needs at least rangeSize = ${this.rangeSize}`);
    const Y = blocks.length === 1 ? await eng.scale(blocks[0].mat, 1) : await eng.vstack(blocks.map((b) => b.mat));
    const { Q, R } = await eng.qr(Y); // m x k
    disposeAll(Y, R);
    // Psi Q = sum over row blocks of Psi[:, rows]^T-blocks times Q's rows (bounded memory).
    let PsiQ: Mat<D> | null = null;
    const chunk = Math.max(1, Math.floor((8 << 20) / this.corangeSize));
    for (let r0 = 0; r0 < m; r0 += chunk) {
      const r1 = Math.min(m, r0 + chunk);
      const Psi = this.psiRows(r0, r1 - r0); // (r1 - r0) x l
      const Qb = r0 === 0 && r1 === m ? Q : await eng.slice(Q, { rows: [r0, r1] });
      const part = await eng.matmul(Psi, Qb, { transA: true }); // l x k
      disposeAll(Psi, Qb === Q ? null : Qb);
      if (PsiQ) {
        const sum: Mat<D> = await eng.add(PsiQ, part);
        disposeAll(PsiQ, part);
        PsiQ = sum;
      } else PsiQ = part;
    }
    if (!PsiQ) throw rangeError(fn, 'internal: empty sketch');
    const X = await eng.lstsq(PsiQ, this.W); // k x n
    PsiQ.dispose();
    // svd of X^T (n x k, tall): X^T = Ux S Vx^T  =>  X = Vx S Ux^T
    const Xt = await eng.transpose(X);
    X.dispose();
    const { U: Ux, S, V: Vx } = await eng.svd(Xt);
    Xt.dispose();
    const r = Math.min(this.rank, S.length);
    const Vr = await eng.slice(Vx, { cols: [0, r] }); // k x r
    const U0 = await eng.matmul(Q, Vr); // m x r
    const V0 = await eng.slice(Ux, { cols: [0, r] }); // n x r
    disposeAll(Q, Ux, Vx, Vr);
    const { U, V } = await svdFlip(eng, U0, V0);
    if (!S.every(Number.isFinite) || !(await allFinite(eng, U, V))) {
      disposeAll(U, V);
      throw rangeError(fn, `non-finite singular values (the data overflowed)`);
    }
    const Sr = S.slice(0, r);
    const errorEstimate = this.testSize > 0 ? await this.estimateError(U, Sr, V) : undefined;
    return {
      U,
      S: Sr,
      V,
      info: {
        rows: m,
        cols: this.cols,
        rank: r,
        rangeSize: this.rangeSize,
        corangeSize: this.corangeSize,
        blocks: blocks.length,
        seconds: secondsSince(t0),
        ...(errorEstimate ? { errorEstimate } : {}),
      },
    };
  }

  /** ||Z - U S (V^T Theta)||_F^2 / s, Z = A Theta accumulated by add(); see the module comment. */
  private async estimateError(U: Mat<D>, S: Float64Array, V: Mat<D>): Promise<SketchErrorEstimate> {
    const { eng } = this;
    const blocks = [...this.Z].sort((a, b) => a.row - b.row);
    const Z = blocks.length === 1 ? await eng.scale(blocks[0].mat, 1) : await eng.vstack(blocks.map((b) => b.mat));
    const VtTheta = await eng.matmul(V, this.getTheta(), { transA: true }); // r x s
    const SVt = await eng.scaleRows(VtTheta, S);
    const UStheta = await eng.matmul(U, SVt); // m x s
    const D = await eng.sub(Z, UStheta);
    const fro = (await eng.norm(D, 'fro')) / Math.sqrt(this.testSize);
    disposeAll(Z, VtTheta, SVt, UStheta, D);
    const normFro = Math.sqrt(this.sumSquares);
    const relFro = normFro > 0 ? fro / normFro : fro > 0 ? Infinity : NaN;
    let captured = 0;
    for (const s of S) captured += s * s;
    let warning: string | undefined;
    if (captured > this.sumSquares * (1 + 1e-6))
      warning = `the singular values are inflated: sum sigma_i^2 = ${captured.toPrecision(3)} exceeds ||A||_F^2 = ${this.sumSquares.toPrecision(3)} (the spectrum's tail dominates; the single-pass sketch is unreliable here)`;
    else if (relFro > 0.5)
      warning = `estimated ||A - U S V^T||_F / ||A||_F = ${relFro.toPrecision(3)} (over half of A is missed; with a heavy spectral tail the single-pass answer, sigma_1 included, can be far off)`;
    return { fro, normFro, relFro, testSize: this.testSize, ...(warning ? { warning } : {}) };
  }

  /** Frees the sketch's device memory. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeAll(this.omega, this.theta, this.W, ...this.Y.map((y) => y.mat), ...this.Z.map((z) => z.mat));
    this.Y.length = 0;
    this.Z.length = 0;
  }

  private alive(fn: string): void {
    if (this.disposed) throw typeError(fn, `the sketch has been disposed`);
    this.eng._alive(fn);
  }
}

export interface StreamOptions<D extends DType = DType> extends Omit<SketchOptions, 'cols'> {
  /** Columns n; required for iterables of typed arrays, read from the header for a .npy path. */
  cols?: number;
  /** Engine to run on; required unless the source yields Mats (then theirs). */
  engine?: Engine<D>;
  /** Rows per block read from a .npy file (default: about 32 MiB per block). */
  blockRows?: number;
  /** Called after every block with the rows done (and the total, when known). */
  onProgress?: (p: { rows: number; totalRows?: number }) => void;
}

/**
 * Single-pass rank-r SVD of a matrix streamed in row blocks: from an AsyncIterable of Mats or
 * typed arrays (whole rows), or from a path to a .npy file (C order, possibly larger than memory),
 * which is read in row blocks with positioned reads.
 *
 * @example
 * ```ts
 * const { U, S, V } = await rsvdStream('big.npy', { engine: eng, rank: 20 });
 * const r = await rsvdStream(blocksOfMats(), { rank: 20 });   // the blocks' engine
 * ```
 */
export async function rsvdStream<D extends DType>(
  source: AsyncIterable<Mat<D> | FloatArray> | Iterable<Mat<D> | FloatArray> | string,
  options: StreamOptions<D>,
): Promise<SketchResult<D>> {
  const fn = 'rsvdStream';
  if (options === null || typeof options !== 'object') throw typeError(fn, `options { rank, ... } are required`);
  const {
    blockRows,
    onProgress,
    engine: given,
    ...rest
  } = checkOptions<StreamOptions<D>>(fn, options, [...OPTIONS, 'blockRows', 'onProgress', 'engine']);
  if (onProgress !== undefined && typeof onProgress !== 'function') throw typeError(fn, `'onProgress' must be a function`);
  if (given !== undefined && (given === null || typeof given._alive !== 'function')) throw typeError(fn, `'engine' must be an Engine`);
  given?._alive(fn);
  if (typeof source === 'string') {
    if (!given) throw typeError(fn, `'engine' is required to stream a .npy file`);
    const eng = given;
    const reader = await openNpy(source);
    try {
      const [m, n] = reader.shape;
      if (rest.cols !== undefined && rest.cols !== n) throw rangeError(fn, `'cols' is ${rest.cols} but ${source} has ${n} columns`);
      const sk = RsvdSketch.create(eng, { ...rest, cols: n, rows: m } as SketchOptions);
      try {
        const bytesPerRow = n * (reader.dtype === 'f64' ? 8 : 4);
        const step = blockRows === undefined ? Math.max(1, Math.floor((32 << 20) / bytesPerRow)) : checkDim(fn, 'blockRows', blockRows);
        for (let r = 0; r < m; r += step) {
          const data = await reader.readRows(r, Math.min(step, m - r));
          // Checked here so that the position is the file's (row, col), not an index into the block.
          const bad = nonFiniteEntry(data, n, r, eng.dtype === 'f32', '0-based');
          if (bad) throw rangeError(fn, `${source}: ${bad}`);
          await sk.add(data, r);
          onProgress?.({ rows: Math.min(m, r + step), totalRows: m });
        }
        return await sk.finalize();
      } finally {
        sk.dispose();
      }
    } finally {
      await reader.close();
    }
  }
  if (source === null || typeof source !== 'object' || !(Symbol.asyncIterator in source || Symbol.iterator in source))
    throw typeError(fn, `'source' must be a .npy path or an (async) iterable of row blocks`);
  let sk: RsvdSketch<D> | null = null;
  try {
    for await (const block of source as AsyncIterable<Mat<D> | FloatArray>) {
      if (!sk) {
        const eng = given ?? (block instanceof Mat ? block.engine : undefined);
        if (!eng) throw typeError(fn, `'engine' is required when the blocks are typed arrays`);
        const cols = rest.cols ?? (block instanceof Mat ? block.cols : undefined);
        if (cols === undefined) throw typeError(fn, `'cols' is required when the blocks are typed arrays`);
        sk = RsvdSketch.create(eng, { ...rest, cols } as SketchOptions);
      }
      await sk.add(block);
      onProgress?.({ rows: sk.rowsSeen, totalRows: rest.rows });
    }
    if (!sk) throw rangeError(fn, `the source yielded no rows`);
    return await sk.finalize();
  } finally {
    sk?.dispose();
  }
}

/**
 * Describes the first entry of a row-major block that is not finite as the engine stores it (f64 values that
 * overflow f32 count): "entry (row R, col C) (where) = v is not finite[ in f32] (...)", R counted from `row0`;
 * null when every entry is finite.
 */
function nonFiniteEntry(data: ArrayLike<number>, cols: number, row0: number, f32: boolean, where: string): string | null {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(f32 ? Math.fround(v) : v))
      return `entry (row ${row0 + Math.floor(i / cols)}, col ${i % cols}) (${where}) = ${String(v)} is not finite${Number.isFinite(v) ? ' in f32' : ''} (lowrank rejects NaN/Infinity at input)`;
  }
  return null;
}
