/**
 * The engine: picks a backend, validates every argument once, creates Mat / SparseMat handles and
 * dispatches primitives. Algorithms are written against this class only.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { FAKE_QUANTIZE_MAX_GROUP, type Backend, type DenseRef, type SegmentSketch } from './backend.js';
import {
  checkBool,
  checkDim,
  checkFinite,
  checkInt,
  checkOneOf,
  checkOptions,
  describeValue,
  firstNonFinite,
  rangeError,
  typeError,
} from './errors.js';
import { Mat, SparseMat, type Store } from './mat.js';
import { buildStructure, csrRowOf, type SparseStructure } from './sparse/csr.js';
import { segmentSketchOrder } from './sparse/sketch.js';
import type {
  ArrayFor,
  BackendName,
  CooInput,
  CooOutput,
  DType,
  EngineInfo,
  EngineOptions,
  FloatArray,
  MatmulOptions,
  NormKind,
  RandomOptions,
  SolveTriangularOptions,
  SpmmOptions,
} from './types.js';

const ENGINE_OPTIONS = ['backend', 'dtype', 'threads', 'webgpu'] as const;

/**
 * Creates an engine.
 *
 * @example
 * ```ts
 * import { engine } from 'lowrank';
 * const eng = await engine();   // 'auto': WebGPU on a hardware adapter, else native (see info().autoReason)
 * const A = eng.randn(1000, 200, { seed: 1 });
 * const { Q, R } = await eng.qr(A);
 * console.log(eng.backend, await eng.norm(await eng.sub(await eng.matmul(Q, R), A)));
 * await eng.dispose();
 * ```
 */
export async function engine<D extends DType = 'f32'>(options?: EngineOptions<D>): Promise<Engine<D>> {
  const fn = 'engine';
  const o = checkOptions<EngineOptions<D>>(fn, options, ENGINE_OPTIONS);
  const want = checkOneOf(fn, 'backend', o.backend, ['auto', 'webgpu', 'native'] as const, 'auto');
  const dtype = checkOneOf(fn, 'dtype', o.dtype, ['f32', 'f64'] as const, 'f32') as D;
  const threads = o.threads === undefined ? undefined : checkInt(fn, 'threads', o.threads, 1, 1024);
  if (o.webgpu !== undefined) checkOptions(fn, o.webgpu, ['flags', 'powerPreference']);

  const { NativeBackend } = await import('./backends/native/index.js');
  if (want === 'native') return new Engine<D>(await NativeBackend.create(dtype, threads));
  if (want === 'webgpu' && dtype === 'f64')
    throw new Error(
      "engine: backend 'webgpu' cannot run dtype 'f64' (WGSL has no 64-bit floats). " +
        "Use { backend: 'native', dtype: 'f64' }, or dtype 'f32' on WebGPU.",
    );
  const auto = (eng: Engine<D>, reason: string): Engine<D> => {
    eng._autoReason = reason;
    return eng;
  };
  if (dtype === 'f64')
    return auto(new Engine<D>(await NativeBackend.create(dtype, threads)), "dtype 'f64' runs on native (WGSL has no 64-bit floats)");

  const { WebGPUBackend, webgpuUnavailableReason } = await import('./backends/webgpu/index.js');
  const { SoftwareAdapterError, WebGPUPackageMissingError } = await import('./backends/webgpu/device.js');
  try {
    const host = await NativeBackend.create('f32', threads);
    // 'auto' declines a CPU/software adapter (lavapipe, SwiftShader, ...): the native backend runs the
    // same work on the same CPU without the rasterizer in between, typically tens of times faster.
    const gpu = await WebGPUBackend.create(host, { ...(o.webgpu ?? {}), rejectSoftware: want === 'auto' });
    const eng = new Engine<D>(gpu);
    if (want === 'webgpu') return eng;
    const a = gpu.info().adapter;
    return auto(eng, `hardware WebGPU adapter${a ? ` (${[a.vendor, a.device || a.description].filter(Boolean).join(' ')})` : ''}`);
  } catch (e) {
    if (want === 'webgpu') throw new Error(webgpuUnavailableReason(e));
    const native = new Engine<D>(await NativeBackend.create(dtype, threads));
    if (e instanceof SoftwareAdapterError)
      return auto(native, `native: ${e.reason}, which is slower than the native backend on the same CPU (backend 'webgpu' still uses it)`);
    if (e instanceof WebGPUPackageMissingError) return auto(native, "native: the optional package 'webgpu' is not installed");
    return auto(native, `native: no usable WebGPU adapter (${e instanceof Error ? e.message : String(e)})`);
  }
}

interface Held {
  store: Store;
  /** Bytes of `store` (memory accounting, {@link Engine.info}). */
  bytes: number;
  /** Sparse matrices: the shared structure, freed with its last user. */
  struct?: { store: unknown; refs: number };
}

/** What a rejection was, for messages: "AbortError" rather than an empty string. */
function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  return e.message ? `${e.name}: ${e.message}` : e.name;
}

export class Engine<D extends DType = DType> {
  /** @internal */ readonly _backend: Backend;
  /** The resolved backend. */
  readonly backend: BackendName;
  /** Element type of every matrix of this engine. */
  readonly dtype: D;
  private _disposed = false;
  private _seedCounter = 0;
  private readonly _registry: FinalizationRegistry<Held>;

  /** @internal Use {@link engine}. */
  constructor(backend: Backend) {
    this._backend = backend;
    this.backend = backend.name;
    this.dtype = backend.dtype as D;
    this._registry = new FinalizationRegistry<Held>((held) => {
      if (this._disposed) return;
      this._backend.free(held.store);
      this._count(-1, held.bytes);
      if (held.struct && --held.struct.refs === 0) this._freeStructure(held.struct);
    });
  }

  /** @internal Set by {@link engine} for backend 'auto': why it resolved as it did. */
  _autoReason: string | undefined;

  /**
   * What this engine runs on (and, for backend 'auto', why: `autoReason`), and `memory`: the device stores
   * of this engine that are alive (matrices not yet disposed, a sparse matrix's values and its shared index
   * structure) and their bytes.
   */
  info(): EngineInfo {
    return {
      backend: this.backend,
      dtype: this.dtype,
      ...this._backend.info(),
      ...(this._autoReason ? { autoReason: this._autoReason } : {}),
      memory: { ...this._live },
    };
  }

  // Live stores (memory accounting for info().memory): counted when a store is wrapped, uncounted when
  // the backend frees it; all of them go with dispose().
  private readonly _live = { stores: 0, bytes: 0 };
  private readonly _structBytes = new WeakMap<object, number>();
  private _count(delta: 1 | -1, bytes: number): void {
    if (this._disposed) return;
    this._live.stores += delta;
    this._live.bytes += delta * bytes;
  }
  private _freeStructure(struct: { store: unknown; refs: number }): void {
    this._backend.freeStructure(struct.store);
    this._count(-1, this._structBytes.get(struct) ?? 0);
  }
  private _bytes(elems: number): number {
    return elems * (this.dtype === 'f64' ? 8 : 4);
  }

  /** True after {@link dispose}. */
  get disposed(): boolean {
    return this._disposed;
  }

  // Open scopes (see scope()): the matrices created inside the innermost one, followed through awaits.
  private readonly _scopes = new AsyncLocalStorage<Set<Mat<D> | SparseMat<D>>>();

  /**
   * Runs `fn` and then disposes every matrix this engine created while `fn` ran (in its own awaits, also
   * inside the library's algorithms) except those reachable from its result (a Mat or SparseMat, or arrays,
   * plain objects, Maps and Sets holding them) and those passed to {@link keep}. Kept results move to the
   * enclosing scope, if any. If `fn` throws, everything it created is disposed and the error is rethrown.
   * Matrices created before the scope are never touched. Scopes nest, and concurrent scopes on one
   * engine stay apart (each follows its own async context), like tfjs's `tidy` for async code.
   *
   * @example
   * ```ts
   * const C = await eng.scope(async () => {
   *   const G = await eng.matmul(A, A, { transA: true });   // disposed when the scope ends
   *   return eng.scale(G, 0.5);                           // returned: survives
   * });
   * ```
   */
  async scope<T>(fn: () => T | Promise<T>): Promise<T> {
    this._alive('scope');
    if (typeof fn !== 'function') throw typeError('scope', `'fn' must be a function returning the value to keep`);
    const created = new Set<Mat<D> | SparseMat<D>>();
    let result: T;
    try {
      result = await this._scopes.run(created, fn);
    } catch (e) {
      for (const m of created) m.dispose();
      throw e;
    }
    const returned = new Set<object>();
    collectMats(result, returned, 0);
    const parent = this._scopes.getStore();
    for (const m of created) {
      if (returned.has(m)) parent?.add(m);
      else m.dispose();
    }
    return result;
  }

  /** Exempts a matrix from the innermost open {@link scope} (it stays the caller's to dispose); returns it. */
  keep<T extends Mat<D> | SparseMat<D>>(m: T): T {
    if (!(m instanceof Mat || m instanceof SparseMat)) throw typeError('keep', `'m' must be a Mat or SparseMat`);
    this._scopes.getStore()?.delete(m);
    return m;
  }

  /**
   * Releases the device and every matrix of this engine. On WebGPU this also stops Dawn's event pump,
   * which otherwise keeps a CPU core busy while a device lives.
   */
  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    this._live.stores = 0;
    this._live.bytes = 0;
    await this._backend.dispose();
  }

  // ------------------------------------------------------------------------------------------------
  // creation

  /**
   * A dense matrix from host data (row-major). Accepts a typed array or number[] with `rows` and
   * `cols` (a flat array without them is a column vector; with only `rows`, `cols` is inferred), or a
   * number[][] of rows. Values are converted to the engine dtype. Non-finite values are rejected with a
   * RangeError naming the first offending index (NaN/Inf policy: see README).
   */
  matrix(data: FloatArray | number[] | number[][], rows?: number, cols?: number): Mat<D> {
    const fn = 'matrix';
    this._alive(fn);
    let flat: ArrayLike<number>;
    let m: number, n: number;
    if (Array.isArray(data) && data.length > 0 && Array.isArray(data[0])) {
      const rowsArr = data as number[][];
      m = rowsArr.length;
      n = rowsArr[0].length;
      if (rows !== undefined && rows !== m) throw rangeError(fn, `'rows' is ${describeValue(rows)} but data has ${m} rows`);
      if (cols !== undefined && cols !== n) throw rangeError(fn, `'cols' is ${describeValue(cols)} but data has ${n} columns`);
      checkDim(fn, 'rows', m);
      checkDim(fn, 'cols', n);
      const out = new Float64Array(m * n);
      for (let i = 0; i < m; i++) {
        const r = rowsArr[i];
        if (!Array.isArray(r)) throw typeError(fn, `data[${i}] is not an array (data must be number[][] with equal-length rows)`);
        if (r.length !== n) throw rangeError(fn, `data[${i}] has length ${r.length}, expected ${n} (rows must have equal length)`);
        for (let j = 0; j < n; j++) {
          const v = r[j];
          if (typeof v !== 'number') throw typeError(fn, `data[${i}][${j}] is not a number (${describeValue(v)})`);
          out[i * n + j] = v;
        }
      }
      flat = out;
    } else {
      if (!(data instanceof Float32Array || data instanceof Float64Array || Array.isArray(data)))
        throw typeError(fn, `'data' must be a Float32Array, Float64Array, number[] or number[][], got ${describeValue(data)}`);
      const len = data.length;
      if (rows === undefined && cols === undefined) {
        m = len;
        n = 1;
      } else if (cols === undefined) {
        m = checkDim(fn, 'rows', rows);
        n = len / m;
        if (!Number.isInteger(n)) throw rangeError(fn, `'data' has length ${len}, not a multiple of rows = ${m}`);
      } else if (rows === undefined) {
        n = checkDim(fn, 'cols', cols);
        m = len / n;
        if (!Number.isInteger(m)) throw rangeError(fn, `'data' has length ${len}, not a multiple of cols = ${n}`);
      } else {
        m = checkDim(fn, 'rows', rows);
        n = checkDim(fn, 'cols', cols);
        if (len !== m * n) throw rangeError(fn, `'data' has length ${len}, expected rows * cols = ${m} * ${n} = ${m * n}`);
      }
      if (len === 0) throw rangeError(fn, `'data' is empty (matrices need at least one row and one column)`);
      checkDim(fn, 'rows', m);
      checkDim(fn, 'cols', n);
      if (Array.isArray(data)) {
        for (let i = 0; i < len; i++)
          if (typeof data[i] !== 'number') throw typeError(fn, `data[${i}] is not a number (${describeValue(data[i])})`);
      }
      flat = data as ArrayLike<number>;
    }
    const bad = firstNonFinite(flat);
    if (bad >= 0)
      throw rangeError(fn, `data[${bad}] = ${String(flat[bad])} is not finite (lowrank rejects NaN/Infinity at input; see README)`);
    this._checkSize(fn, m, n);
    // The backend's own host array when it has one (the native backend's are line-aligned), filled with
    // set(): a memcpy from a typed array of the engine's type, a converting loop from anything else.
    const arr = this._hostArray(flat.length);
    arr.set(flat);
    if (this.dtype === 'f32' && !(flat instanceof Float32Array)) {
      const over = firstNonFinite(arr);
      if (over >= 0) throw rangeError(fn, `data[${over}] = ${String(flat[over])} overflows f32 (|x| > 3.4e38)`);
    }
    return this._wrap(this._backend.upload(arr, m, n), m, n);
  }

  /**
   * The async counterpart of {@link matrix} for large typed arrays of the engine's dtype (a Float32Array
   * on an f32 engine, a Float64Array on f64), e.g. read from files: one memcpy into a private engine
   * store and one native pass for NaN / Infinity (RangeError naming the first index), instead of
   * matrix()'s JavaScript scans. The caller keeps `data`.
   */
  async fromArray(data: FloatArray, rows: number, cols: number): Promise<Mat<D>> {
    const fn = 'fromArray';
    this._alive(fn);
    const want = this.dtype === 'f64' ? Float64Array : Float32Array;
    if (!(data instanceof want))
      throw typeError(
        fn,
        `'data' must be a ${want.name} on this ${this.dtype} engine, got ${describeValue(data)} (use matrix() to convert)`,
      );
    const m = checkDim(fn, 'rows', rows),
      n = checkDim(fn, 'cols', cols);
    if (data.length !== m * n) throw rangeError(fn, `'data' has length ${data.length}, expected rows * cols = ${m} * ${n} = ${m * n}`);
    const buf = data.buffer as ArrayBufferLike & { resizable?: boolean };
    if (typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer)
      throw typeError(fn, `'data' is backed by a SharedArrayBuffer; pass an array on an ordinary ArrayBuffer`);
    if (buf.resizable) throw typeError(fn, `'data' is backed by a resizable ArrayBuffer; pass a fixed-length array`);
    this._checkSize(fn, m, n);
    const copy = this._hostArray(data.length);
    copy.set(data);
    const M = this._wrap(this._backend.upload(copy, m, n), m, n);
    if (Number.isFinite(await this.norm(M, 'fro'))) return M;
    M.dispose();
    const bad = firstNonFinite(data);
    throw rangeError(fn, `data[${bad}] = ${String(data[bad])} is not finite (lowrank rejects NaN/Infinity at input; see README)`);
  }

  /** An r x c matrix of zeros. */
  zeros(rows: number, cols: number): Mat<D> {
    const fn = 'zeros';
    this._alive(fn);
    const m = checkDim(fn, 'rows', rows),
      n = checkDim(fn, 'cols', cols);
    this._checkSize(fn, m, n);
    return this._wrap(this._backend.fill(m, n, 'zeros'), m, n);
  }

  /** The n x n identity (or n x m with ones on the main diagonal). */
  eye(n: number, m?: number): Mat<D> {
    const fn = 'eye';
    this._alive(fn);
    const r = checkDim(fn, 'n', n);
    const c = m === undefined ? r : checkDim(fn, 'm', m);
    this._checkSize(fn, r, c);
    return this._wrap(this._backend.fill(r, c, 'eye'), r, c);
  }

  /** An r x c matrix with every entry equal to `value`. */
  full(rows: number, cols: number, value: number): Mat<D> {
    const fn = 'full';
    this._alive(fn);
    const m = checkDim(fn, 'rows', rows),
      n = checkDim(fn, 'cols', cols);
    checkFinite(fn, 'value', value);
    if (this.dtype === 'f32' && !Number.isFinite(Math.fround(value))) throw rangeError(fn, `'value' ${value} overflows f32`);
    this._checkSize(fn, m, n);
    return this._wrap(this._backend.full(m, n, value), m, n);
  }

  /** An r x c matrix of ones. */
  ones(rows: number, cols: number): Mat<D> {
    return this.full(rows, cols, 1);
  }

  /** Standard normal entries from the Philox stream of `seed` (same matrix on every backend). */
  randn(rows: number, cols: number, options?: RandomOptions): Mat<D> {
    return this._random('randn', rows, cols, 'normal', options);
  }

  /** Uniform entries in (0, 1) from the Philox stream of `seed` (bit-identical across backends). */
  rand(rows: number, cols: number, options?: RandomOptions): Mat<D> {
    return this._random('rand', rows, cols, 'uniform', options);
  }

  /**
   * A sparse matrix from COO triplets; duplicates are summed, entries are stored as CSR (+ CSC).
   * Indices must be integers in range and values finite.
   */
  sparse(coo: CooInput): SparseMat<D> {
    const fn = 'sparse';
    this._alive(fn);
    if (coo === null || typeof coo !== 'object') throw typeError(fn, `argument must be { rows, cols, row, col, val }`);
    checkOptions(fn, coo, ['rows', 'cols', 'row', 'col', 'val']);
    const { structure, values } = buildStructure(fn, coo.rows, coo.cols, coo.row, coo.col, coo.val);
    this._checkSize(fn, 1, Math.max(structure.nnz, 1));
    const vals = this.dtype === 'f64' ? values : Float32Array.from(values);
    const over = firstNonFinite(vals);
    if (over >= 0) throw rangeError(fn, `the value of entry ${over} (${values[over]}) overflows ${this.dtype}`);
    const structStore = { store: this._backend.uploadStructure(structure), refs: 1 };
    return this._wrapSparse(structure, structStore, this._backend.upload(vals, 1, structure.nnz));
  }

  // ------------------------------------------------------------------------------------------------
  // dense primitives

  /**
   * C = alpha op(A) op(B).
   *
   * @example
   * ```ts
   * const G = await eng.matmul(A, A, { transA: true });   // A^T A
   * ```
   */
  async matmul(A: Mat<D>, B: Mat<D>, options?: MatmulOptions): Promise<Mat<D>> {
    const fn = 'matmul';
    this._mats(fn, { A, B });
    const o = checkOptions<MatmulOptions>(fn, options, ['transA', 'transB', 'alpha']);
    const transA = checkBool(fn, 'transA', o.transA, false);
    const transB = checkBool(fn, 'transB', o.transB, false);
    const alpha = o.alpha === undefined ? 1 : checkFinite(fn, 'alpha', o.alpha);
    const [m, ka] = transA ? [A.cols, A.rows] : [A.rows, A.cols];
    const [kb, n] = transB ? [B.cols, B.rows] : [B.rows, B.cols];
    if (ka !== kb) throw rangeError(fn, `inner dimensions differ: op(A) is ${m} x ${ka}, op(B) is ${kb} x ${n}`);
    this._checkSize(fn, m, n);
    return this._wrap(await this._use(fn, [A, B], () => this._backend.matmul(A, B, transA, transB, alpha)), m, n);
  }

  /** A + B. */
  async add(A: Mat<D>, B: Mat<D>): Promise<Mat<D>> {
    this._sameShape('add', A, B);
    return this._wrap(await this._use('add', [A, B], () => this._backend.axpby(1, A, 1, B)), A.rows, A.cols);
  }

  /** A - B. */
  async sub(A: Mat<D>, B: Mat<D>): Promise<Mat<D>> {
    this._sameShape('sub', A, B);
    return this._wrap(await this._use('sub', [A, B], () => this._backend.axpby(1, A, -1, B)), A.rows, A.cols);
  }

  /** s A. */
  async scale(A: Mat<D>, s: number): Promise<Mat<D>> {
    const fn = 'scale';
    this._mats(fn, { A });
    checkFinite(fn, 's', s);
    return this._wrap(await this._use(fn, [A], () => this._backend.axpby(s, A, 0, null)), A.rows, A.cols);
  }

  /** alpha A + beta B in one pass. */
  async axpby(alpha: number, A: Mat<D>, beta: number, B: Mat<D>): Promise<Mat<D>> {
    const fn = 'axpby';
    this._sameShape(fn, A, B);
    checkFinite(fn, 'alpha', alpha);
    checkFinite(fn, 'beta', beta);
    return this._wrap(await this._use(fn, [A, B], () => this._backend.axpby(alpha, A, beta, B)), A.rows, A.cols);
  }

  /** Element-wise product A .* B. */
  async hadamard(A: Mat<D>, B: Mat<D>): Promise<Mat<D>> {
    this._sameShape('hadamard', A, B);
    return this._wrap(await this._use('hadamard', [A, B], () => this._backend.hadamard(A, B)), A.rows, A.cols);
  }

  /** A^T (materialized). */
  async transpose(A: Mat<D>): Promise<Mat<D>> {
    this._mats('transpose', { A });
    return this._wrap(await this._use('transpose', [A], () => this._backend.transpose(A)), A.cols, A.rows);
  }

  /**
   * A copy of a block of A: `rows` and `cols` are half-open ranges [start, end) (default: all).
   *
   * @example
   * ```ts
   * const Uk = await eng.slice(U, { cols: [0, k] });   // the first k columns
   * ```
   */
  async slice(A: Mat<D>, range: { rows?: [number, number]; cols?: [number, number] } = {}): Promise<Mat<D>> {
    const fn = 'slice';
    this._mats(fn, { A });
    const o = checkOptions<{ rows: [number, number]; cols: [number, number] }>(fn, range, ['rows', 'cols']);
    const span = (name: string, v: unknown, len: number): [number, number] => {
      if (v === undefined) return [0, len];
      if (!Array.isArray(v) || v.length !== 2) throw typeError(fn, `'${name}' must be a [start, end) pair`);
      const a = checkInt(fn, `${name}[0]`, v[0], 0, len - 1);
      const b = checkInt(fn, `${name}[1]`, v[1], a + 1, len);
      return [a, b];
    };
    const [r0, r1] = span('rows', o.rows, A.rows);
    const [c0, c1] = span('cols', o.cols, A.cols);
    if (r0 === 0 && c0 === 0 && r1 === A.rows && c1 === A.cols)
      return this._wrap(await this._use(fn, [A], () => this._backend.slice(A, 0, 0, A.rows, A.cols)), A.rows, A.cols);
    return this._wrap(await this._use(fn, [A], () => this._backend.slice(A, r0, c0, r1 - r0, c1 - c0)), r1 - r0, c1 - c0);
  }

  /** [A, B, ...] side by side (equal row counts). */
  async hstack(mats: Mat<D>[]): Promise<Mat<D>> {
    return this._concat('hstack', mats, 'h');
  }

  /** [A; B; ...] stacked vertically (equal column counts). */
  async vstack(mats: Mat<D>[]): Promise<Mat<D>> {
    return this._concat('vstack', mats, 'v');
  }

  /** A diag(s): column j scaled by s[j]. */
  async scaleColumns(A: Mat<D>, s: ArrayLike<number>): Promise<Mat<D>> {
    return this._scaleAxis('scaleColumns', A, s, 'cols');
  }

  /** diag(s) A: row i scaled by s[i]. */
  async scaleRows(A: Mat<D>, s: ArrayLike<number>): Promise<Mat<D>> {
    return this._scaleAxis('scaleRows', A, s, 'rows');
  }

  /**
   * For every column: the row of its largest-magnitude entry (the first on ties) and that entry.
   * A few bytes per column come back to the host; the matrix does not.
   */
  async colAbsMax(A: Mat<D>): Promise<{ index: Int32Array; value: Float64Array }> {
    this._mats('colAbsMax', { A });
    return this._use('colAbsMax', [A], () => this._backend.colAbsMax(A));
  }

  /**
   * For every row: the column of its smallest entry (the first on ties; -0 equals +0, +-Inf are
   * ordinary values) and that entry. n ints and n values come back to the host; the matrix does not.
   * A NaN entry is a RangeError.
   */
  async rowArgmin(A: Mat<D>): Promise<{ index: Int32Array; value: Float64Array }> {
    const fn = 'rowArgmin';
    this._mats(fn, { A });
    const r = await this._use(fn, [A], () => this._backend.rowArgmin(A));
    for (let i = 0; i < r.value.length; i++) if (Number.isNaN(r.value[i])) throw rangeError(fn, `'A' has a NaN entry in row ${i}`);
    return r;
  }

  /** Frobenius norm or max |a_ij|, computed without overflow (scaled sums of squares). */
  async norm(A: Mat<D> | SparseMat<D>, kind: NormKind = 'fro'): Promise<number> {
    const fn = 'norm';
    if (A instanceof SparseMat) {
      // Over the stored values (on the device); an empty pattern has norm 0.
      this._sparseArg(fn, 'A', A);
      const k = checkOneOf(fn, 'kind', kind, ['fro', 'max'] as const);
      const nnz = A._structure.nnz;
      if (nnz === 0) return 0;
      return this._use(fn, [A], () => this._backend.norm({ _store: A._values, rows: 1, cols: nnz }, k));
    }
    this._mats(fn, { A });
    const k = checkOneOf(fn, 'kind', kind, ['fro', 'max'] as const);
    return this._use(fn, [A], () => this._backend.norm(A, k));
  }

  /** Euclidean norm of every column (length cols). */
  async colNorms(A: Mat<D>): Promise<Float64Array> {
    this._mats('colNorms', { A });
    return this._use('colNorms', [A], () => this._backend.colNorms(A));
  }

  /** Euclidean norm of every row (length rows). */
  async rowNorms(A: Mat<D>): Promise<Float64Array> {
    this._mats('rowNorms', { A });
    return this._use('rowNorms', [A], () => this._backend.rowNorms(A));
  }

  // ------------------------------------------------------------------------------------------------
  // factorizations

  /** Thin QR of an m x n matrix with m >= n: Q (m x n, orthonormal columns), R (n x n, upper). */
  async qr(A: Mat<D>): Promise<{ Q: Mat<D>; R: Mat<D> }> {
    const fn = 'qr';
    this._mats(fn, { A });
    if (A.rows < A.cols) throw rangeError(fn, `A is ${A.rows} x ${A.cols}; thin QR needs rows >= cols (factor A^T instead)`);
    const { Q, R } = await this._use(fn, [A], () => this._backend.qr(A));
    return { Q: this._wrap(Q, A.rows, A.cols), R: this._wrap(R, A.cols, A.cols) };
  }

  /**
   * LU with partial pivoting of an m x n matrix (m >= n) in scipy's `lu(A, permute_l=True)` form:
   * A = PL U, PL (m x n) = P L with L unit lower trapezoidal, U (n x n) upper. PL is not orthonormal,
   * but its entries are bounded by 1 in magnitude: a cheap normalizer for power iterations (sklearn,
   * fbpca). A zero pivot column does not fail (LAPACK getrf behaviour).
   */
  async lu(A: Mat<D>): Promise<{ PL: Mat<D>; U: Mat<D> }> {
    const fn = 'lu';
    this._mats(fn, { A });
    if (A.rows < A.cols) throw rangeError(fn, `A is ${A.rows} x ${A.cols}; lu needs rows >= cols (factor A^T instead)`);
    const { PL, U } = await this._use(fn, [A], () => this._backend.lu(A));
    return { PL: this._wrap(PL, A.rows, A.cols), U: this._wrap(U, A.cols, A.cols) };
  }

  /**
   * Lower-triangular L with A = L L^T. Only the lower triangle of A is read. Rejects with a
   * RangeError when A is not numerically positive definite.
   */
  async cholesky(A: Mat<D>): Promise<Mat<D>> {
    const fn = 'cholesky';
    this._mats(fn, { A });
    this._square(fn, 'A', A);
    return this._wrap(await this._use(fn, [A], () => this._backend.cholesky(A)), A.rows, A.cols);
  }

  /** Solves T X = B (or T^T X = B) for triangular T; only T's triangle is read. */
  async solveTriangular(T: Mat<D>, B: Mat<D>, options?: SolveTriangularOptions): Promise<Mat<D>> {
    const fn = 'solveTriangular';
    this._mats(fn, { T, B });
    this._square(fn, 'T', T);
    const o = checkOptions<SolveTriangularOptions>(fn, options, ['lower', 'trans']);
    const lower = checkBool(fn, 'lower', o.lower, true);
    const trans = checkBool(fn, 'trans', o.trans, false);
    if (B.rows !== T.rows) throw rangeError(fn, `T is ${T.rows} x ${T.cols} but B has ${B.rows} rows`);
    return this._wrap(await this._use(fn, [T, B], () => this._backend.solveTriangular(T, B, lower, trans)), B.rows, B.cols);
  }

  /**
   * X = argmin ||A X - B||_F via QR. When A is rank-deficient (or wide) the minimum-norm solution is
   * returned (SVD with cutoff max(m, n) u sigma_1); `rank` reports the numerical rank used.
   */
  async lstsq(A: Mat<D>, B: Mat<D>): Promise<Mat<D>> {
    return (await this.lstsqInfo(A, B)).X;
  }

  /** {@link lstsq} with the numerical rank. */
  async lstsqInfo(A: Mat<D>, B: Mat<D>): Promise<{ X: Mat<D>; rank: number }> {
    const fn = 'lstsq';
    this._mats(fn, { A, B });
    if (B.rows !== A.rows) throw rangeError(fn, `A is ${A.rows} x ${A.cols} but B has ${B.rows} rows`);
    const { X, rank } = await this._use(fn, [A, B], () => this._backend.lstsq(A, B));
    return { X: this._wrap(X, A.cols, B.cols), rank };
  }

  /** Symmetric eigendecomposition (lower triangle read): values descending, orthonormal vectors. */
  async eigh(A: Mat<D>): Promise<{ values: Float64Array; vectors: Mat<D> }> {
    const fn = 'eigh';
    this._mats(fn, { A });
    this._square(fn, 'A', A);
    const { values, vectors } = await this._use(fn, [A], () => this._backend.eigh(A));
    return { values, vectors: this._wrap(vectors, A.rows, A.rows) };
  }

  /** Thin SVD A = U diag(S) V^T with k = min(m, n), S descending. */
  async svd(A: Mat<D>): Promise<{ U: Mat<D>; S: Float64Array; V: Mat<D> }> {
    const fn = 'svd';
    this._mats(fn, { A });
    const k = Math.min(A.rows, A.cols);
    const { U, S, V } = await this._use(fn, [A], () => this._backend.svd(A));
    return { U: this._wrap(U, A.rows, k), S, V: this._wrap(V, A.cols, k) };
  }

  /**
   * The min(m, n) singular values of A, descending, without vectors (much cheaper than {@link svd}:
   * no U or V is formed). A RangeError when A holds a non-finite entry.
   */
  async svdvals(A: Mat<D>): Promise<Float64Array> {
    const fn = 'svdvals';
    this._mats(fn, { A });
    return this._use(fn, [A], () => this._backend.svdvals(A));
  }

  // ------------------------------------------------------------------------------------------------
  // sparse

  /** S B (or S^T B) for sparse S and dense B. */
  async spmm(S: SparseMat<D>, B: Mat<D>, options?: SpmmOptions): Promise<Mat<D>> {
    const fn = 'spmm';
    this._sparseArg(fn, 'S', S);
    this._mats(fn, { B });
    const o = checkOptions<SpmmOptions>(fn, options, ['transS']);
    const transS = checkBool(fn, 'transS', o.transS, false);
    const [m, k] = transS ? [S.cols, S.rows] : [S.rows, S.cols];
    if (B.rows !== k) throw rangeError(fn, `op(S) is ${m} x ${k} but B is ${B.rows} x ${B.cols}`);
    this._checkSize(fn, m, B.cols);
    return this._wrap(await this._use(fn, [S, B], () => this._backend.spmm(S, B, transS)), m, B.cols);
  }

  /** A sparse matrix with S's pattern and values (U V^T)_ij (U: rows x k, V: cols x k). */
  async sddmm(S: SparseMat<D>, U: Mat<D>, V: Mat<D>): Promise<SparseMat<D>> {
    const fn = 'sddmm';
    this._sparseArg(fn, 'S', S);
    this._mats(fn, { U, V });
    if (U.rows !== S.rows) throw rangeError(fn, `U has ${U.rows} rows but S has ${S.rows}`);
    if (V.rows !== S.cols) throw rangeError(fn, `V has ${V.rows} rows but S has ${S.cols} columns`);
    if (U.cols !== V.cols) throw rangeError(fn, `U has ${U.cols} columns but V has ${V.cols}`);
    const vals = await this._use(fn, [S, U, V], () => this._backend.sddmm(S, U, V));
    S._structStore.refs++;
    return this._wrapSparse(S._structure, S._structStore, vals);
  }

  // ------------------------------------------------------------------------------------------------
  // state-space models (building blocks of the `ssm` namespace; see ts/algorithms/ssm/)

  /**
   * Vandermonde kernel K (H x L): K[h, l] = Re sum_n w[h, n] exp(l z[h, n]), from a f64 `table` of
   * (wRe, wIm, zRe, zIm) per (h, n), row-major over (h, n). O(H N L) on the device, the phase
   * l Im(z) kept accurate for long L on every backend.
   */
  async ssmVandermonde(table: Float64Array, H: number, N: number, L: number): Promise<Mat<D>> {
    const fn = 'ssmVandermonde';
    this._alive(fn);
    checkDim(fn, 'H', H, 1);
    checkDim(fn, 'N', N, 1);
    checkDim(fn, 'L', L, 1);
    const tab = this._ssmTable(fn, table, H * N * 4);
    this._checkSize(fn, H, L);
    return this._wrap(await this._backend.ssmVandermonde(tab, H, N, L), H, L);
  }

  /**
   * Causal convolution of the rows of u ((batch H) x L) with the rows of K (H x L): row r uses
   * channel r mod H; plus D[h] u when D (length H) is given. By FFT, O(rows L log L).
   */
  async ssmConv(u: Mat<D>, K: Mat<D>, D?: ArrayLike<number> | null): Promise<Mat<D>> {
    const fn = 'ssmConv';
    this._mats(fn, { u, K });
    if (K.cols !== u.cols) throw rangeError(fn, `u has ${u.cols} columns (L) but K has ${K.cols}`);
    if (u.rows % K.rows !== 0) throw rangeError(fn, `u has ${u.rows} rows, not a multiple of K's ${K.rows} channels`);
    let d: Float64Array | null = null;
    if (D !== undefined && D !== null) {
      if (typeof D !== 'object' || typeof (D as ArrayLike<number>).length !== 'number')
        throw typeError(fn, `'D' must be an array of numbers, got ${describeValue(D)}`);
      if (D.length !== K.rows) throw rangeError(fn, `'D' has length ${D.length}, expected ${K.rows} (one per channel)`);
      d = Float64Array.from(D);
      const bad = firstNonFinite(d);
      if (bad >= 0) throw rangeError(fn, `'D' has a non-finite entry at index ${bad}`);
    }
    return this._wrap(await this._use(fn, [u, K], () => this._backend.ssmConv(u, K, d)), u.rows, u.cols);
  }

  /**
   * Diagonal complex recurrence over the rows of u ((batch H) x L): x_l = a x_{l-1} + b u_l and
   * y_l = Re sum_n c_n x_{l,n} with (a, b, c) of channel r mod H, from a f64 `table` of
   * (aRe, aIm, bRe, bIm, cRe, cIm) per (h, n). An associative scan on the device.
   */
  async ssmScan(u: Mat<D>, table: Float64Array, H: number, N: number): Promise<Mat<D>> {
    const fn = 'ssmScan';
    this._mats(fn, { u });
    checkDim(fn, 'H', H, 1);
    checkDim(fn, 'N', N, 1);
    if (u.rows % H !== 0) throw rangeError(fn, `u has ${u.rows} rows, not a multiple of H = ${H}`);
    const tab = this._ssmTable(fn, table, H * N * 6);
    return this._wrap(await this._use(fn, [u], () => this._backend.ssmScan(u, tab, H, N)), u.rows, u.cols);
  }

  /** Validates a caller's table and returns a private copy (the caller may change or detach theirs during the call). */
  private _ssmTable(fn: string, table: Float64Array, length: number): Float64Array {
    if (!(table instanceof Float64Array)) throw typeError(fn, `'table' must be a Float64Array, got ${describeValue(table)}`);
    if (table.length !== length) throw rangeError(fn, `'table' has length ${table.length}, expected ${length}`);
    const bad = firstNonFinite(table);
    if (bad >= 0) throw rangeError(fn, `'table' has a non-finite entry at index ${bad}`);
    return new Float64Array(table);
  }

  // ------------------------------------------------------------------------------------------------
  // matrix sensing: matrix-free Gaussian measurements, sign, reshapes and sparse values

  /**
   * Matrix-free Gaussian measurements y = A vec(X), an m x 1 matrix, where A (m x N, N = X.rows * X.cols,
   * vec row-major) is `randn(m, N, { seed, offset })` generated on the fly inside the kernel: the m x N
   * matrix is never stored, and the result equals `matmul(randn(m, N, { seed, offset }), vec(X))` up to
   * summation order. `seed` is required (the operator must be the same on every call).
   *
   * @example
   * ```ts
   * const y = await eng.gaussianApply(X, 20000, { seed: 7 });            // 20000 x 1
   * const Z = await eng.gaussianAdjoint(r, X.rows, X.cols, { seed: 7 });  // reshape(A^T r)
   * ```
   */
  async gaussianApply(X: Mat<D>, m: number, options: { seed: number; offset?: number }): Promise<Mat<D>> {
    const fn = 'gaussianApply';
    this._mats(fn, { X });
    const rows = checkDim(fn, 'm', m);
    const { seed, offset } = this._gaussStream(fn, options, rows, X.rows * X.cols);
    this._checkSize(fn, rows, 1);
    return this._wrap(await this._use(fn, [X], () => this._backend.gaussianApply(X, rows, seed, 0, offset)), rows, 1);
  }

  /**
   * The adjoint of {@link gaussianApply}: reshape(A^T r, rows, cols) for r with m = r.rows * r.cols
   * entries (any shape, read row-major), A = `randn(m, rows * cols, { seed, offset })`.
   */
  async gaussianAdjoint(r: Mat<D>, rows: number, cols: number, options: { seed: number; offset?: number }): Promise<Mat<D>> {
    const fn = 'gaussianAdjoint';
    this._mats(fn, { r });
    const nr = checkDim(fn, 'rows', rows),
      nc = checkDim(fn, 'cols', cols);
    this._checkSize(fn, nr, nc);
    const { seed, offset } = this._gaussStream(fn, options, r.rows * r.cols, nr * nc);
    return this._wrap(await this._use(fn, [r], () => this._backend.gaussianAdjoint(r, nr * nc, seed, 0, offset)), nr, nc);
  }

  /** Element-wise sign: 1, -1, or 0 for a zero entry (a NaN entry stays NaN). */
  async sign(A: Mat<D>): Promise<Mat<D>> {
    this._mats('sign', { A });
    return this._wrap(await this._use('sign', [A], () => this._backend.sign(A)), A.rows, A.cols);
  }

  /**
   * The unnormalised fast Walsh-Hadamard transform of every column: H A for A (L x b) with L = A.rows a
   * power of two (RangeError otherwise) and H the Sylvester-order Hadamard matrix (H_1 = [1],
   * H_2L = [[H, H], [H, -H]]; symmetric, H H = L I). O(L log L) per column.
   *
   * @example
   * ```ts
   * const Y = await eng.fwht(X);   // X: 1024 x 3, three transforms
   * ```
   */
  async fwht(A: Mat<D>): Promise<Mat<D>> {
    const fn = 'fwht';
    this._mats(fn, { A });
    if ((A.rows & (A.rows - 1)) !== 0)
      throw rangeError(fn, `argument 'A' must have a power-of-two number of rows (the transformed axis), got ${A.rows} x ${A.cols}`);
    return this._wrap(await this._use(fn, [A], () => this._backend.fwht(A)), A.rows, A.cols);
  }

  /**
   * One fused Adam moment update (the elementwise part of Adam / AdamW), for equal-shape M, V (the
   * moments) and G (the gradient), t = `step` (1 for the first update):
   * M' = beta1 M + (1 - beta1) G, V' = beta2 V + (1 - beta2) G .* G and the bias-corrected direction
   * N = c M' ./ (sqrt(V') + eps) with c = sqrt(1 - beta2^t) / (1 - beta1^t) (eps added before the
   * correction, as PyTorch's and GaLore's AdamW do; the parameter update is then -lr N). Returns three
   * new matrices; the inputs are unchanged. beta1, beta2 in [0, 1), eps > 0, step an integer >= 1.
   */
  async adamStep(
    M: Mat<D>,
    V: Mat<D>,
    G: Mat<D>,
    options: { beta1: number; beta2: number; eps: number; step: number },
  ): Promise<{ M: Mat<D>; V: Mat<D>; N: Mat<D> }> {
    const fn = 'adamStep';
    this._mats(fn, { M, V, G });
    for (const [name, X] of [
      ['V', V],
      ['G', G],
    ] as const)
      if (X.rows !== M.rows || X.cols !== M.cols)
        throw rangeError(fn, `'${name}' is ${X.rows} x ${X.cols} but 'M' is ${M.rows} x ${M.cols} (shapes must be equal)`);
    const o = checkOptions<{ beta1: number; beta2: number; eps: number; step: number }>(fn, options, ['beta1', 'beta2', 'eps', 'step']);
    const b1 = checkFinite(fn, 'beta1', o.beta1),
      b2 = checkFinite(fn, 'beta2', o.beta2),
      eps = checkFinite(fn, 'eps', o.eps);
    if (!(b1 >= 0 && b1 < 1)) throw rangeError(fn, `'beta1' must be in [0, 1), got ${b1}`);
    if (!(b2 >= 0 && b2 < 1)) throw rangeError(fn, `'beta2' must be in [0, 1), got ${b2}`);
    if (!(eps > 0)) throw rangeError(fn, `'eps' must be > 0, got ${eps}`);
    const t = checkInt(fn, 'step', o.step, 1, Number.MAX_SAFE_INTEGER);
    const corr = Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
    const r = await this._use(fn, [M, V, G], () => this._backend.adamStep(M, V, G, b1, b2, eps, corr));
    return { M: this._wrap(r.M, M.rows, M.cols), V: this._wrap(r.V, M.rows, M.cols), N: this._wrap(r.N, M.rows, M.cols) };
  }

  /**
   * Group-wise quantize-dequantize on the device (Q-GaLore's INT-b weights, kept as the values they
   * stand for): every `groupSize` consecutive row-major entries of W (the last group may be shorter)
   * get scale = (max - min) / (2^bits - 1) and zero = -min / scale in f32 (a group of equal values c:
   * scale = |c| / (2^bits - 1), or 1 / (2^bits - 1) when c = 0, so it is reproduced), and each entry
   * becomes scale (q - zero) with q = clamp(round(w / scale + zero), 0, 2^bits - 1): 'nearest' rounds
   * ties to even (equal to dequantizeGroupwise(quantizeGroupwise(W)) up to f32 rounding of the grid),
   * 'stochastic' takes floor(w / scale + zero + u) with u element `offset` + e (e the row-major index)
   * of the Philox uniform stream (seed, stream 0x7167) in the engine's dtype, as rand lays it out; so it
   * is unbiased, reproducible per (seed, offset), and equal across backends of one dtype up to f32
   * rounding of the grid. The zero point is not clamped and not rounded (quantizeGroupwise's fixes). A
   * group holding a non-finite entry comes out NaN. groupSize is an integer in [1, 4096] (one WebGPU
   * workgroup reduces a group); bits an integer in [2, 8].
   *
   * ```ts
   * const Wq = await eng.fakeQuantize(W, { bits: 8, groupSize: 256, rounding: 'stochastic', seed: step });
   * ```
   */
  async fakeQuantize(
    W: Mat<D>,
    options: { bits: number; groupSize: number; rounding?: 'nearest' | 'stochastic'; seed?: number; offset?: number },
  ): Promise<Mat<D>> {
    const fn = 'fakeQuantize';
    this._mats(fn, { W });
    if (options === null || typeof options !== 'object') throw typeError(fn, `options must be an object with 'bits' and 'groupSize'`);
    const o = checkOptions<{ bits: number; groupSize: number; rounding?: 'nearest' | 'stochastic'; seed?: number; offset?: number }>(
      fn,
      options,
      ['bits', 'groupSize', 'rounding', 'seed', 'offset'],
    );
    if (o.bits === undefined) throw typeError(fn, `'bits' is required`);
    if (o.groupSize === undefined) throw typeError(fn, `'groupSize' is required`);
    const bits = checkInt(fn, 'bits', o.bits, 2, 8);
    const gs = checkInt(fn, 'groupSize', o.groupSize, 1, FAKE_QUANTIZE_MAX_GROUP);
    const rounding = checkOneOf(fn, 'rounding', o.rounding, ['nearest', 'stochastic'] as const, 'nearest');
    const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
    const offset = o.offset === undefined ? 0 : checkInt(fn, 'offset', o.offset, 0, Number.MAX_SAFE_INTEGER);
    const st = await this._use(fn, [W], () => this._backend.fakeQuantize(W, bits, gs, rounding === 'stochastic', seed, offset));
    return this._wrap(st, W.rows, W.cols);
  }

  /** A copy of A with another shape (same number of entries, same row-major order). */
  async reshape(A: Mat<D>, rows: number, cols: number): Promise<Mat<D>> {
    const fn = 'reshape';
    this._mats(fn, { A });
    const m = checkDim(fn, 'rows', rows),
      n = checkDim(fn, 'cols', cols);
    if (m * n !== A.rows * A.cols) throw rangeError(fn, `cannot reshape ${A.rows} x ${A.cols} (${A.rows * A.cols} entries) to ${m} x ${n}`);
    return this._wrap(await this._use(fn, [A], () => this._backend.slice(A, 0, 0, A.rows, A.cols)), m, n);
  }

  /** The stored values of S in CSR order, as an nnz x 1 matrix (S must store at least one entry). */
  async sparseValues(S: SparseMat<D>): Promise<Mat<D>> {
    const fn = 'sparseValues';
    this._sparseArg(fn, 'S', S);
    const nnz = S._structure.nnz;
    if (nnz === 0) throw rangeError(fn, `S stores no entries`);
    return this._wrap(await this._use(fn, [S], () => this._backend.slice({ _store: S._values, rows: 1, cols: nnz }, 0, 0, 1, nnz)), nnz, 1);
  }

  /** A sparse matrix with S's pattern and the values of v (nnz entries, CSR order, any shape). */
  async withValues(S: SparseMat<D>, v: Mat<D>): Promise<SparseMat<D>> {
    const fn = 'withValues';
    this._sparseArg(fn, 'S', S);
    this._mats(fn, { v });
    const nnz = S._structure.nnz;
    if (v.rows * v.cols !== nnz) throw rangeError(fn, `v has ${v.rows * v.cols} entries but S stores ${nnz}`);
    const vals = await this._use(fn, [S, v], () => this._backend.slice(v, 0, 0, v.rows, v.cols));
    S._structStore.refs++;
    return this._wrapSparse(S._structure, S._structStore, vals);
  }

  private _gaussStream(fn: string, options: unknown, m: number, n: number): { seed: number; offset: number } {
    if (options === null || typeof options !== 'object') throw typeError(fn, `options { seed, offset? } are required`);
    const o = checkOptions<{ seed: number; offset: number }>(fn, options, ['seed', 'offset']);
    if (o.seed === undefined) throw typeError(fn, `'seed' is required (it defines the measurement operator)`);
    const seed = checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
    const offset = o.offset === undefined ? 0 : checkInt(fn, 'offset', o.offset, 0, Number.MAX_SAFE_INTEGER);
    if (offset + m * n > Number.MAX_SAFE_INTEGER) throw rangeError(fn, `'offset' + m * N exceeds 2^53`);
    return { seed, offset };
  }

  // ------------------------------------------------------------------------------------------------
  // segmented least squares (per-row / per-column problems on a sparsity pattern)

  /**
   * Per-segment Gram matrices on the pattern of S. A segment is a row of S (or a column, `transS`);
   * for segment j with stored entries at columns I_j (rows, transS), A_j = F[I_j, :] (F: S.cols x k, or
   * S.rows x k with transS). Returns A_j^T A_j for every segment as a segments x k*k matrix (row j =
   * the k x k Gram, row-major), or with `diagonal` only its diagonal (segments x k). With
   * `sketch: { rows, seed }` the Gram is that of S_j A_j for a CountSketch S_j with min(|I_j|, rows)
   * rows (balanced buckets, random signs; fixed per pattern, orientation and seed). Values of S are not
   * read. Empty segments give zeros.
   */
  async segmentGram(
    S: SparseMat<D>,
    F: Mat<D>,
    options?: { transS?: boolean; diagonal?: boolean; sketch?: { rows: number; seed?: number } },
  ): Promise<Mat<D>> {
    const fn = 'segmentGram';
    this._sparseArg(fn, 'S', S);
    this._mats(fn, { F });
    const o = checkOptions<{ transS: boolean; diagonal: boolean; sketch: { rows: number; seed?: number } }>(fn, options, [
      'transS',
      'diagonal',
      'sketch',
    ]);
    const transS = checkBool(fn, 'transS', o.transS, false);
    const diagonal = checkBool(fn, 'diagonal', o.diagonal, false);
    const st = S._structure;
    const segs = transS ? st.cols : st.rows,
      other = transS ? st.rows : st.cols;
    if (F.rows !== other)
      throw rangeError(fn, `F has ${F.rows} rows but S has ${other} ${transS ? 'rows' : 'columns'} (F must be ${other} x k)`);
    const k = F.cols;
    let sketch: SegmentSketch | null = null;
    if (o.sketch !== undefined) {
      if (diagonal) throw rangeError(fn, `'sketch' and 'diagonal' cannot be combined`);
      const so = checkOptions<{ rows: number; seed: number }>(fn, o.sketch, ['rows', 'seed']);
      const rows = checkInt(fn, 'sketch.rows', so.rows, 1, 2 ** 31 - 1);
      const seed = so.seed === undefined ? 0 : checkInt(fn, 'sketch.seed', so.seed, 0, Number.MAX_SAFE_INTEGER);
      sketch = { ...segmentSketchOrder(st, transS, seed), rows };
    }
    const width = diagonal ? k : k * k;
    this._checkSize(fn, segs, width);
    const out = await this._use(fn, [S, F], () => this._backend.segmentGram(S, F, transS, diagonal ? 'diag' : 'full', sketch));
    return this._wrap(out, segs, width);
  }

  /**
   * Batched Cholesky: G holds one symmetric k x k matrix per row (segments x k*k, e.g. from
   * {@link segmentGram}); returns the lower factors L_j of G_j + lambda_j I (same shape) and a status
   * column (segments x 1: 0 ok, 1 the fallback ridge was needed, 2 failed: the factor is 0, e.g. an
   * empty segment). lambda_j = ridge_j trace(G_j) / k (`ridge`: one number or one per segment,
   * default 0); on breakdown the factorization is retried with max(lambda_j, fallback trace(G_j) / k)
   * (`fallback`, default 0: no retry). `inverse: true` returns L_j^{-1} instead of L_j.
   */
  async choleskyBatch(
    G: Mat<D>,
    options?: { ridge?: number | Float64Array | number[]; fallback?: number; inverse?: boolean },
  ): Promise<{ L: Mat<D>; status: Mat<D> }> {
    const fn = 'choleskyBatch';
    this._mats(fn, { G });
    const o = checkOptions<{ ridge: number | Float64Array | number[]; fallback: number; inverse: boolean }>(fn, options, [
      'ridge',
      'fallback',
      'inverse',
    ]);
    const k = Math.round(Math.sqrt(G.cols));
    if (k * k !== G.cols) throw rangeError(fn, `G has ${G.cols} columns, not a square k * k (one k x k matrix per row)`);
    const segs = G.rows;
    let ridge: Float64Array | null = null;
    if (o.ridge !== undefined) {
      if (typeof o.ridge === 'number') {
        checkFinite(fn, 'ridge', o.ridge);
        if (o.ridge < 0) throw rangeError(fn, `'ridge' must be >= 0, got ${o.ridge}`);
        if (o.ridge > 0) ridge = new Float64Array(segs).fill(o.ridge);
      } else {
        if (!(o.ridge instanceof Float64Array || Array.isArray(o.ridge)))
          throw typeError(fn, `'ridge' must be a number, a Float64Array or number[]`);
        if (o.ridge.length !== segs) throw rangeError(fn, `'ridge' has length ${o.ridge.length}, expected ${segs} (one per row of G)`);
        ridge = Float64Array.from(o.ridge);
        for (let i = 0; i < segs; i++)
          if (!(ridge[i] >= 0) || !Number.isFinite(ridge[i]))
            throw rangeError(fn, `ridge[${i}] = ${String(o.ridge[i])} must be finite and >= 0`);
      }
    }
    const fallback = o.fallback === undefined ? 0 : checkFinite(fn, 'fallback', o.fallback);
    if (fallback < 0) throw rangeError(fn, `'fallback' must be >= 0, got ${fallback}`);
    const inverse = checkBool(fn, 'inverse', o.inverse, false);
    const { L, status } = await this._use(fn, [G], () => this._backend.choleskyBatch(G, k, ridge, fallback, inverse));
    return { L: this._wrap(L, segs, k * k), status: this._wrap(status, segs, 1) };
  }

  /**
   * X_j = (L_j L_j^T)^{-1} h_j for every row j: L from {@link choleskyBatch} (segments x k*k, lower
   * factors), H segments x k. Rows whose factor is 0 (status 2) get X_j = 0.
   */
  async choleskySolveBatch(L: Mat<D>, H: Mat<D>): Promise<Mat<D>> {
    const fn = 'choleskySolveBatch';
    this._mats(fn, { L, H });
    if (L.rows !== H.rows) throw rangeError(fn, `L has ${L.rows} rows but H has ${H.rows}`);
    if (L.cols !== H.cols * H.cols)
      throw rangeError(fn, `L has ${L.cols} columns, expected k * k = ${H.cols * H.cols} for H with k = ${H.cols} columns`);
    return this._wrap(await this._use(fn, [L, H], () => this._backend.choleskySolveBatch(L, H)), H.rows, H.cols);
  }

  /**
   * `steps` steps of preconditioned conjugate gradients per segment on the normal equations
   * A_j^T A_j x = A_j^T b_j of min ||A_j x - b_j|| (A_j as in {@link segmentGram}, b_j the stored
   * values of the segment), started at row j of X0 (segments x k). P is the preconditioner: segments x
   * k*k inverse Cholesky factors W_j ({@link choleskyBatch} with inverse: M_j^{-1} = W_j^T W_j), or
   * segments x k diagonals d_j (M_j = diag(d_j); entries <= 0 are skipped). A segment stops early when
   * its residual or curvature vanishes. `ridge` (segments x 1 Mat): solve (A_j^T A_j + lambda_j I) x =
   * A_j^T b_j instead, lambda_j = ridge_j trace(A_j^T A_j) / k (entries <= 0: no ridge); a diagonal
   * preconditioner is shifted by lambda_j too.
   */
  async segmentCG(
    S: SparseMat<D>,
    F: Mat<D>,
    X0: Mat<D>,
    P: Mat<D>,
    options?: { transS?: boolean; steps?: number; ridge?: Mat<D> },
  ): Promise<Mat<D>> {
    const fn = 'segmentCG';
    this._sparseArg(fn, 'S', S);
    this._mats(fn, { F, X0, P });
    const o = checkOptions<{ transS: boolean; steps: number; ridge: Mat<D> }>(fn, options, ['transS', 'steps', 'ridge']);
    const transS = checkBool(fn, 'transS', o.transS, false);
    const steps = o.steps === undefined ? 2 : checkInt(fn, 'steps', o.steps, 0, 1 << 20);
    const st = S._structure;
    const segs = transS ? st.cols : st.rows,
      other = transS ? st.rows : st.cols;
    if (F.rows !== other) throw rangeError(fn, `F has ${F.rows} rows but S has ${other} ${transS ? 'rows' : 'columns'}`);
    const k = F.cols;
    if (X0.rows !== segs || X0.cols !== k) throw rangeError(fn, `X0 is ${X0.rows} x ${X0.cols}, expected ${segs} x ${k}`);
    if (P.rows !== segs || (P.cols !== k && P.cols !== k * k))
      throw rangeError(fn, `P is ${P.rows} x ${P.cols}, expected ${segs} x ${k * k} (inverse factors) or ${segs} x ${k} (diagonals)`);
    const ridge = o.ridge ?? null;
    if (ridge) {
      this._mats(fn, { ridge });
      if (ridge.rows !== segs || ridge.cols !== 1) throw rangeError(fn, `ridge is ${ridge.rows} x ${ridge.cols}, expected ${segs} x 1`);
    }
    const args = ridge ? [S, F, X0, P, ridge] : [S, F, X0, P];
    return this._wrap(await this._use(fn, args, () => this._backend.segmentCG(S, F, X0, P, transS, steps, ridge)), segs, k);
  }

  // ------------------------------------------------------------------------------------------------
  // internals used by Mat / SparseMat and by algorithms

  /** @internal */
  async _download(A: Mat<D>): Promise<ArrayFor<D>> {
    this._mats('toArray', { A });
    return (await this._use('toArray', [A], () => this._backend.download(A))) as ArrayFor<D>;
  }

  /** @internal */
  _disposeMat(A: Mat<D>): void {
    if (A._disposed) return;
    A._disposed = true;
    if (this._disposed) return;
    this._registry.unregister(A);
    const store = A._store,
      bytes = this._bytes(A.rows * A.cols);
    this._freeWhenIdle(store, () => {
      this._backend.free(store);
      this._count(-1, bytes);
    });
  }

  /** @internal */
  async _sparseToCOO(S: SparseMat<D>): Promise<CooOutput<D>> {
    this._sparseArg('toCOO', 'S', S);
    const st = S._structure;
    const val =
      st.nnz === 0
        ? this.dtype === 'f64'
          ? new Float64Array(0)
          : new Float32Array(0)
        : await this._use('toCOO', [S], () => this._backend.download({ _store: S._values, rows: 1, cols: st.nnz }));
    return { rows: st.rows, cols: st.cols, row: csrRowOf(st), col: st.colIdx.slice(), val: val as ArrayFor<D> };
  }

  /** @internal */
  _disposeSparse(S: SparseMat<D>): void {
    if (S._disposed) return;
    S._disposed = true;
    if (this._disposed) return;
    this._registry.unregister(S);
    const values = S._values,
      struct = S._structStore,
      bytes = this._bytes(S._structure.nnz);
    this._freeWhenIdle(values, () => {
      this._backend.free(values);
      this._count(-1, bytes);
    });
    if (--struct.refs === 0) this._freeWhenIdle(struct, () => this._freeStructure(struct));
  }

  // Stores used by calls in flight. A matrix disposed while a call still reads it (for example
  // `const p = eng.qr(A); A.dispose()`, with qr awaiting a readback before its second pass over A)
  // is freed only when the last such call settles, so its memory cannot be recycled under the call.
  private readonly _held = new Map<unknown, number>();
  private readonly _deferredFree = new Map<unknown, () => void>();

  /**
   * @internal Runs a backend call with the stores of `args` held until it settles. `run` starts
   * synchronously, before any other JS can dispose an argument.
   */
  async _use<T>(fn: string, args: ReadonlyArray<Mat<D> | SparseMat<D>>, run: () => Promise<T>): Promise<T> {
    const stores: unknown[] = [];
    for (const a of args) {
      if (a instanceof Mat) stores.push(a._store);
      else stores.push(a._values, a._structStore);
    }
    for (const s of stores) this._held.set(s, (this._held.get(s) ?? 0) + 1);
    try {
      return await run();
    } catch (e) {
      // A device destroyed under a pending call rejects with a bare AbortError: say what happened.
      if (this._disposed) throw new Error(`${fn}: the engine was disposed while this call was pending (${describeError(e)})`, { cause: e });
      throw e;
    } finally {
      for (const s of stores) {
        const c = (this._held.get(s) ?? 1) - 1;
        if (c > 0) this._held.set(s, c);
        else {
          this._held.delete(s);
          const free = this._deferredFree.get(s);
          if (free) {
            this._deferredFree.delete(s);
            if (!this._disposed) free();
          }
        }
      }
    }
  }

  private _freeWhenIdle(store: unknown, free: () => void): void {
    if (this._held.has(store)) this._deferredFree.set(store, free);
    else free();
  }

  /** A fresh host array of the engine's dtype for upload(): the backend's own kind when it has one. */
  private _hostArray(n: number): FloatArray {
    return this._backend.hostArray?.(n) ?? (this.dtype === 'f64' ? new Float64Array(n) : new Float32Array(n));
  }

  /** @internal Wraps a backend store in a Mat owned by this engine. */
  _wrap(store: Store, rows: number, cols: number): Mat<D> {
    const m = new Mat<D>(this, store, rows, cols);
    this._scopes.getStore()?.add(m);
    const bytes = this._bytes(rows * cols);
    this._registry.register(m, { store, bytes }, m);
    this._count(1, bytes);
    return m;
  }

  /** @internal Wraps a values store and a (shared) structure in a SparseMat owned by this engine. */
  _wrapSparse(structure: SparseStructure, structStore: { store: unknown; refs: number }, values: Store): SparseMat<D> {
    const s = new SparseMat<D>(this, structure, structStore, values);
    this._scopes.getStore()?.add(s);
    const bytes = this._bytes(structure.nnz);
    this._registry.register(s, { store: values, bytes, struct: structStore }, s);
    this._count(1, bytes);
    if (!this._structBytes.has(structStore)) {
      // CSR + CSC + permutation, Int32 (counted once per structure, however many value sets share it)
      const sb = 4 * (structure.rows + structure.cols + 2 + 3 * structure.nnz);
      this._structBytes.set(structStore, sb);
      this._count(1, sb);
    }
    return s;
  }

  /** @internal Throws if the engine is disposed. */
  _alive(fn: string): void {
    if (this._disposed) throw new Error(`${fn}: this engine has been disposed`);
  }

  /** @internal Validates Mat arguments: right class, this engine, not disposed. */
  _mats(fn: string, mats: Record<string, unknown>): void {
    this._alive(fn);
    for (const [name, v] of Object.entries(mats)) {
      if (!(v instanceof Mat)) throw typeError(fn, `'${name}' must be a Mat (create one with engine.matrix()), got ${describeValue(v)}`);
      if (v._engine !== (this as unknown as Engine))
        throw typeError(
          fn,
          `'${name}' belongs to a different engine (${v._engine.backend}/${v._engine.dtype}); matrices cannot be mixed across engines`,
        );
      if (v._disposed) throw typeError(fn, `'${name}' has been disposed`);
    }
  }

  private _sparseArg(fn: string, name: string, v: unknown): void {
    this._alive(fn);
    if (!(v instanceof SparseMat))
      throw typeError(fn, `'${name}' must be a SparseMat (create one with engine.sparse()), got ${describeValue(v)}`);
    if (v._engine !== (this as unknown as Engine)) throw typeError(fn, `'${name}' belongs to a different engine`);
    if (v._disposed) throw typeError(fn, `'${name}' has been disposed`);
  }

  private _sameShape(fn: string, A: Mat<D>, B: Mat<D>): void {
    this._mats(fn, { A, B });
    if (A.rows !== B.rows || A.cols !== B.cols)
      throw rangeError(fn, `shapes differ: A is ${A.rows} x ${A.cols}, B is ${B.rows} x ${B.cols}`);
  }

  private _square(fn: string, name: string, A: DenseRef): void {
    if (A.rows !== A.cols) throw rangeError(fn, `'${name}' must be square, got ${A.rows} x ${A.cols}`);
  }

  /** Size limits of the backend (e.g. WebGPU's maxStorageBufferBindingSize). */
  private _checkSize(fn: string, rows: number, cols: number): void {
    const elems = rows * cols;
    const bytes = elems * (this.dtype === 'f64' ? 8 : 4);
    const lim = this._backend.info().limits?.maxStorageBufferBindingSize;
    if (lim !== undefined && bytes > lim)
      throw rangeError(
        fn,
        `a ${rows} x ${cols} ${this.dtype} matrix needs ${bytes} bytes, above this WebGPU device's ` +
          `maxStorageBufferBindingSize (${lim}); use the native backend or split the data`,
      );
    if (elems > 2 ** 32 - 1) throw rangeError(fn, `a ${rows} x ${cols} matrix has more than 2^32 - 1 entries`);
  }

  private async _concat(fn: string, mats: Mat<D>[], axis: 'h' | 'v'): Promise<Mat<D>> {
    this._alive(fn);
    if (!Array.isArray(mats) || mats.length === 0) throw typeError(fn, `expects a non-empty array of matrices`);
    const named: Record<string, unknown> = {};
    mats.forEach((m, i) => {
      named[`mats[${i}]`] = m;
    });
    this._mats(fn, named);
    const first = mats[0];
    let rows = 0,
      cols = 0;
    mats.forEach((m, i) => {
      if (axis === 'h') {
        if (m.rows !== first.rows) throw rangeError(fn, `mats[${i}] has ${m.rows} rows, mats[0] has ${first.rows}`);
        cols += m.cols;
      } else {
        if (m.cols !== first.cols) throw rangeError(fn, `mats[${i}] has ${m.cols} columns, mats[0] has ${first.cols}`);
        rows += m.rows;
      }
    });
    if (axis === 'h') rows = first.rows;
    else cols = first.cols;
    this._checkSize(fn, rows, cols);
    return this._wrap(await this._use(fn, mats, () => this._backend.concat(mats, axis)), rows, cols);
  }

  private async _scaleAxis(fn: string, A: Mat<D>, s: ArrayLike<number>, axis: 'rows' | 'cols'): Promise<Mat<D>> {
    this._mats(fn, { A });
    if (!(Array.isArray(s) || s instanceof Float64Array || s instanceof Float32Array))
      throw typeError(fn, `'s' must be a Float64Array, Float32Array or number[]`);
    const want = axis === 'cols' ? A.cols : A.rows;
    if (s.length !== want)
      throw rangeError(fn, `'s' has length ${s.length}, expected ${want} (the number of ${axis === 'cols' ? 'columns' : 'rows'})`);
    const bad = firstNonFinite(s);
    if (bad >= 0) throw rangeError(fn, `s[${bad}] = ${String(s[bad])} is not finite`);
    const s64 = Float64Array.from(s);
    return this._wrap(await this._use(fn, [A], () => this._backend.scaleAxis(A, s64, axis)), A.rows, A.cols);
  }

  private _random(fn: string, rows: number, cols: number, dist: 'uniform' | 'normal', options?: RandomOptions): Mat<D> {
    this._alive(fn);
    const m = checkDim(fn, 'rows', rows),
      n = checkDim(fn, 'cols', cols);
    const o = checkOptions<RandomOptions>(fn, options, ['seed', 'offset']);
    const seed = o.seed === undefined ? this._seedCounter++ : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
    const offset = o.offset === undefined ? 0 : checkInt(fn, 'offset', o.offset, 0, Number.MAX_SAFE_INTEGER);
    if (offset + m * n > Number.MAX_SAFE_INTEGER) throw rangeError(fn, `'offset' + rows * cols exceeds 2^53`);
    this._checkSize(fn, m, n);
    return this._wrap(this._backend.random(m, n, dist, seed, 0, offset), m, n);
  }
}

/** Adds every Mat / SparseMat reachable from v (arrays, plain objects, Maps, Sets; depth <= 8) to out. */
function collectMats(v: unknown, out: Set<object>, depth: number): void {
  if (v === null || typeof v !== 'object' || depth > 8 || out.has(v)) return;
  if (v instanceof Mat || v instanceof SparseMat) {
    out.add(v);
    return;
  }
  if (Array.isArray(v) || v instanceof Set) {
    out.add(v);
    for (const x of v) collectMats(x, out, depth + 1);
  } else if (v instanceof Map) {
    out.add(v);
    for (const x of v.values()) collectMats(x, out, depth + 1);
  } else {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return;
    out.add(v);
    for (const x of Object.values(v)) collectMats(x, out, depth + 1);
  }
}
