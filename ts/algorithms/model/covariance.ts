/**
 * Input-activation covariance for EoRA, accumulated on the engine's device from batches of activations
 * X (rows = tokens or samples, dim columns): X^T X by eng.matmul, summed in the engine's dtype.
 */
import { Engine } from '../../engine.js';
import { checkDim, checkOneOf, checkOptions, describeValue, firstNonFinite, rangeError, typeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import type { DType } from '../../types.js';

export type CovarianceMode = 'mean' | 'eora-ref';

export interface CovarianceOptions {
  /**
   * 'mean' (default): C = (1/N) sum X^T X over all N rows added, exact and mergeable (sums and counts).
   * 'eora-ref': the reference's update C <- C N/(N + b) + (X^T X)/N with N = `nsamples` FIXED and b the
   * samples in the batch [NVlabs/EoRA eora.py:447-456], for parity; mergeable only in order.
   */
  mode?: CovarianceMode;
  /** 'eora-ref' only: the reference's fixed N (its eigen_nsamples; default 64, the README's value). */
  nsamples?: number;
}

/** What export() gives and load() takes (plain data; JSON-able after Array.from(sum)). */
export interface CovarianceState {
  dim: number;
  mode: CovarianceMode;
  /** Rows (tokens) added in total. */
  count: number;
  /** Samples (batches' b) added in total ('eora-ref' counts them; for 'mean' the number of add calls). */
  samples: number;
  /** 'eora-ref' only: the fixed N. */
  nsamples?: number;
  /**
   * 'eora-ref' only: prod N/(N + b) over all batches, the factor this state's contribution is scaled by
   * when later batches follow (used by merge).
   */
  decay?: number;
  /** dim x dim row-major, f64: 'mean' the plain sum of X^T X, 'eora-ref' the running matrix C itself. */
  sum: Float64Array | number[];
}

/**
 * Accumulates the activation covariance of one layer's inputs.
 *
 * Precision: X^T X is formed by eng.matmul and summed on the device in the engine's dtype (f32 on the
 * f32 engines, like the reference, which accumulates in fp32; f64 on native/f64). export() downloads the
 * sum widened to f64. The relative error of an f32 sum grows like (batches + rows per batch) * 2^-24.
 *
 * Ownership: the accumulator holds one dim x dim device matrix; call dispose() when done. covariance()
 * returns a new Mat owned by the caller.
 */
export class CovarianceAccumulator<D extends DType = DType> {
  readonly dim: number;
  readonly mode: CovarianceMode;
  readonly nsamples: number | undefined;
  private readonly eng: Engine<D>;
  private acc: Mat<D> | null = null;
  private _count = 0;
  private _samples = 0;
  private _decay = 1;
  private _disposed = false;

  constructor(eng: Engine<D>, dim: number, options?: CovarianceOptions) {
    const fn = 'CovarianceAccumulator';
    if (!(eng instanceof Engine)) throw typeError(fn, `'eng' must be an Engine, got ${describeValue(eng)}`);
    this.eng = eng;
    this.dim = checkDim(fn, 'dim', dim);
    const o = checkOptions<CovarianceOptions>(fn, options, ['mode', 'nsamples']);
    this.mode = checkOneOf(fn, 'mode', o.mode, ['mean', 'eora-ref'] as const, 'mean');
    if (this.mode === 'eora-ref') this.nsamples = o.nsamples === undefined ? 64 : checkDim(fn, 'nsamples', o.nsamples);
    else if (o.nsamples !== undefined) throw typeError(fn, `'nsamples' applies to mode 'eora-ref' only`);
  }

  /** Rows added so far. */
  get count(): number {
    return this._count;
  }

  /** Samples added so far (the b of every add). */
  get samples(): number {
    return this._samples;
  }

  private alive(fn: string): void {
    if (this._disposed) throw typeError(fn, 'the accumulator has been disposed');
    this.eng._mats(fn, {});
  }

  /**
   * Adds a batch X (b x dim, rows = tokens or samples). `samples`: how many samples the batch holds
   * (default 1; only 'eora-ref' uses it, as the reference's b = batch size of sequences).
   *
   * @throws TypeError/RangeError naming 'CovarianceAccumulator.add': X not a Mat of this engine, X.cols
   *   != dim, NaN/Infinity in X, samples not a positive integer.
   */
  async add(X: Mat<D>, options?: { samples?: number }): Promise<void> {
    const fn = 'CovarianceAccumulator.add';
    this.alive(fn);
    this.eng._mats(fn, { X });
    if (X.cols !== this.dim) throw rangeError(fn, `'X' must have dim = ${this.dim} columns, got ${X.rows} x ${X.cols}`);
    const o = checkOptions<{ samples: number }>(fn, options, ['samples']);
    const b = o.samples === undefined ? 1 : checkDim(fn, 'samples', o.samples);
    if (!Number.isFinite(await this.eng.norm(X, 'max'))) throw rangeError(fn, `'X' contains NaN or Infinity`);
    const G = await this.eng.matmul(X, X, { transA: true });
    let next: Mat<D>;
    try {
      if (this.mode === 'mean') next = this.acc ? await this.eng.add(this.acc, G) : G;
      else {
        const N = this.nsamples as number;
        const f = N / (N + b);
        next = this.acc ? await this.eng.axpby(f, this.acc, 1 / N, G) : await this.eng.scale(G, 1 / N);
        this._decay *= f;
      }
    } catch (e) {
      G.dispose();
      throw e;
    }
    if (next !== G) G.dispose();
    this.acc?.dispose();
    this.acc = this.eng.keep(next);
    this._count += X.rows;
    this._samples += b;
  }

  /**
   * Folds another accumulator of the same dim and mode into this one (other is not modified).
   * 'mean': sums and counts add, so any tree of merges equals one pass (to roundoff).
   * 'eora-ref': ordered concatenation, as if other's batches were added after this one's:
   * C = C_this * decay_other + C_other (associative, not commutative; needs the same nsamples).
   *
   * @throws TypeError/RangeError naming 'CovarianceAccumulator.merge': other not an accumulator of the
   *   same engine, dim, mode (and nsamples).
   */
  async merge(other: CovarianceAccumulator<D>): Promise<void> {
    const fn = 'CovarianceAccumulator.merge';
    this.alive(fn);
    if (!(other instanceof CovarianceAccumulator))
      throw typeError(fn, `'other' must be a CovarianceAccumulator, got ${describeValue(other)}`);
    if (other._disposed) throw typeError(fn, `'other' has been disposed`);
    if (other.eng !== this.eng) throw typeError(fn, `'other' belongs to a different engine`);
    if (other.dim !== this.dim) throw rangeError(fn, `'other' has dim ${other.dim}, this has ${this.dim}`);
    if (other.mode !== this.mode) throw rangeError(fn, `'other' has mode '${other.mode}', this has '${this.mode}'`);
    if (other.nsamples !== this.nsamples) throw rangeError(fn, `'other' has nsamples ${other.nsamples}, this has ${this.nsamples}`);
    if (other.acc === null) return;
    let next: Mat<D>;
    if (this.acc === null) next = await this.eng.scale(other.acc, 1);
    else if (this.mode === 'mean') next = await this.eng.add(this.acc, other.acc);
    else next = await this.eng.axpby(other._decay, this.acc, 1, other.acc);
    this.acc?.dispose();
    this.acc = this.eng.keep(next);
    this._count += other._count;
    this._samples += other._samples;
    this._decay *= other._decay;
  }

  /**
   * The covariance (dim x dim, new Mat): 'mean' the sum over the rows counted; 'eora-ref' the running C.
   *
   * @throws RangeError naming 'CovarianceAccumulator.covariance' when nothing was added.
   */
  async covariance(): Promise<Mat<D>> {
    const fn = 'CovarianceAccumulator.covariance';
    this.alive(fn);
    if (this.acc === null) throw rangeError(fn, 'no activations were added');
    return this.eng.scale(this.acc, this.mode === 'mean' ? 1 / this._count : 1);
  }

  /** The state as plain data (the device sum downloaded, widened to f64). */
  async export(): Promise<CovarianceState> {
    this.alive('CovarianceAccumulator.export');
    const sum = this.acc ? Float64Array.from(await this.acc.toArray()) : new Float64Array(this.dim * this.dim);
    const st: CovarianceState = { dim: this.dim, mode: this.mode, count: this._count, samples: this._samples, sum };
    if (this.mode === 'eora-ref') {
      st.nsamples = this.nsamples;
      st.decay = this._decay;
    }
    return st;
  }

  /**
   * An accumulator on `eng` from export()'s data (sum as Float64Array or number[]).
   *
   * @throws TypeError/RangeError naming 'CovarianceAccumulator.load' and the field at fault.
   */
  static load<D extends DType>(eng: Engine<D>, state: CovarianceState): CovarianceAccumulator<D> {
    const fn = 'CovarianceAccumulator.load';
    if (state === null || typeof state !== 'object')
      throw typeError(fn, `'state' must be an object from export(), got ${describeValue(state)}`);
    const dim = checkDim(fn, 'state.dim', state.dim);
    const mode = checkOneOf(fn, 'state.mode', state.mode, ['mean', 'eora-ref'] as const);
    const acc = new CovarianceAccumulator(eng, dim, mode === 'eora-ref' ? { mode, nsamples: state.nsamples } : { mode });
    const count = checkDim(fn, 'state.count', state.count, 0);
    const samples = checkDim(fn, 'state.samples', state.samples, 0);
    const sum = state.sum;
    if (!(sum instanceof Float64Array || Array.isArray(sum)))
      throw typeError(fn, `'state.sum' must be a Float64Array or number[], got ${describeValue(sum)}`);
    if (sum.length !== dim * dim) throw rangeError(fn, `'state.sum' has ${sum.length} values, expected dim^2 = ${dim * dim}`);
    const bad = firstNonFinite(sum);
    if (bad >= 0) throw rangeError(fn, `'state.sum[${bad}]' is not finite`);
    if (mode === 'eora-ref') {
      const d = state.decay;
      if (typeof d !== 'number' || !(d > 0 && d <= 1)) throw rangeError(fn, `'state.decay' must be in (0, 1], got ${describeValue(d)}`);
      acc._decay = d;
    }
    if ((samples === 0) !== (count === 0))
      throw rangeError(fn, `'state.count' (${count}) and 'state.samples' (${samples}) must be both 0 or both positive`);
    if (samples > 0) acc.acc = eng.keep(eng.matrix(sum, dim, dim));
    acc._count = count;
    acc._samples = samples;
    return acc;
  }

  /** Releases the device matrix. Idempotent. */
  dispose(): void {
    this.acc?.dispose();
    this.acc = null;
    this._disposed = true;
  }
}
