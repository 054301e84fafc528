/**
 * The native backend: stores are host typed arrays owned by the engine; every primitive is one call
 * into the C++ addon (see native/), which runs large work off the JS thread.
 */
import type { Backend, DenseRef, SparseRef } from '../../backend.js';
import type { Store, StructStore } from '../../mat.js';
import type { SparseStructure } from '../../sparse/csr.js';
import type { DType, EngineInfo, FloatArray, NormKind } from '../../types.js';
import { loadAddon, type NativeAddon } from './addon.js';

type Arr = FloatArray;

function arr(r: DenseRef): Arr {
  return r._store as Arr;
}

export class NativeBackend implements Backend {
  readonly name = 'native' as const;
  readonly dtype: DType;
  /** Compute threads used by this backend's calls. */
  readonly threads: number;
  /** @internal */ readonly addon: NativeAddon;
  private readonly _info: ReturnType<NativeAddon['info']>;

  private constructor(addon: NativeAddon, dtype: DType, threads: number | undefined) {
    this.addon = addon;
    this.dtype = dtype;
    this._info = addon.info();
    this.threads = Math.min(threads ?? this._info.threads, this._info.threads);
  }

  static async create(dtype: DType, threads?: number): Promise<NativeBackend> {
    return new NativeBackend(loadAddon(), dtype, threads);
  }

  info(): Omit<EngineInfo, 'backend' | 'dtype'> {
    return { threads: this.threads, isa: this._info.isa, gemmKernel: this._info.gemmKernel };
  }

  async dispose(): Promise<void> {}

  /** A new zeroed host array of this backend's dtype. */
  alloc(n: number): Arr {
    return this.dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
  }

  // ---- storage ----
  upload(data: FloatArray): Store {
    return data;
  }

  fill(rows: number, cols: number, kind: 'zeros' | 'eye'): Store {
    const a = this.alloc(rows * cols);
    if (kind === 'eye') for (let i = 0; i < Math.min(rows, cols); i++) a[i * cols + i] = 1;
    return a;
  }

  random(rows: number, cols: number, dist: 'uniform' | 'normal', seed: number, stream: number): Store {
    const a = this.alloc(rows * cols);
    // The fill is synchronous for the caller's purposes: the promise is awaited by the first reader.
    const pending = this.addon.random(a, dist, seed % 2 ** 32, Math.floor(seed / 2 ** 32), stream, this.threads);
    pendingFills.set(a, pending);
    return a;
  }

  async download(a: DenseRef): Promise<FloatArray> {
    const s = await ready(arr(a));
    return s.slice();
  }

  free(_s: Store): void {
    // Host memory: released by the garbage collector once the handle is gone.
  }

  uploadStructure(s: SparseStructure): StructStore {
    return s;
  }

  freeStructure(_s: StructStore): void {}

  // ---- dense primitives ----
  async matmul(a: DenseRef, b: DenseRef, transA: boolean, transB: boolean, alpha: number): Promise<Store> {
    const m = transA ? a.cols : a.rows, k = transA ? a.rows : a.cols, n = transB ? b.rows : b.cols;
    const out = this.alloc(m * n);
    await this.addon.gemm(await ready(arr(a)), await ready(arr(b)), out, m, n, k, transA, transB, alpha, 0, this.threads);
    return out;
  }

  async axpby(alpha: number, a: DenseRef, beta: number, b: DenseRef | null): Promise<Store> {
    const out = this.alloc(a.rows * a.cols);
    await this.addon.axpby(out, alpha, await ready(arr(a)), beta, b ? await ready(arr(b)) : null, this.threads);
    return out;
  }

  async hadamard(a: DenseRef, b: DenseRef): Promise<Store> {
    const out = this.alloc(a.rows * a.cols);
    await this.addon.hadamard(out, await ready(arr(a)), await ready(arr(b)), this.threads);
    return out;
  }

  async transpose(a: DenseRef): Promise<Store> {
    const out = this.alloc(a.rows * a.cols);
    await this.addon.transpose(out, await ready(arr(a)), a.rows, a.cols, this.threads);
    return out;
  }

  async norm(a: DenseRef, kind: NormKind): Promise<number> {
    return this.addon.norm(await ready(arr(a)), kind, this.threads);
  }

  async colNorms(a: DenseRef): Promise<Float64Array> {
    const out = new Float64Array(a.cols);
    await this.addon.colNorms(await ready(arr(a)), a.rows, a.cols, out, this.threads);
    return out;
  }

  async rowNorms(a: DenseRef): Promise<Float64Array> {
    const out = new Float64Array(a.rows);
    await this.addon.rowNorms(await ready(arr(a)), a.rows, a.cols, out, this.threads);
    return out;
  }

  // ---- factorizations ----
  async qr(a: DenseRef): Promise<{ Q: Store; R: Store }> {
    const { rows: m, cols: n } = a;
    const Q = this.alloc(m * n), R = this.alloc(n * n);
    await this.addon.qr(await ready(arr(a)), m, n, Q, R, this.threads);
    return { Q, R };
  }

  async cholesky(a: DenseRef): Promise<Store> {
    const L = this.alloc(a.rows * a.rows);
    await this.addon.cholesky(await ready(arr(a)), a.rows, L, this.threads);
    return L;
  }

  async solveTriangular(t: DenseRef, b: DenseRef, lower: boolean, trans: boolean): Promise<Store> {
    const X = this.alloc(b.rows * b.cols);
    await this.addon.trsm(await ready(arr(t)), t.rows, await ready(arr(b)), b.cols, lower, trans, X, this.threads);
    return X;
  }

  async lstsq(a: DenseRef, b: DenseRef): Promise<{ X: Store; rank: number }> {
    const X = this.alloc(a.cols * b.cols);
    const { rank } = await this.addon.lstsq(await ready(arr(a)), a.rows, a.cols, await ready(arr(b)), b.cols, X, this.threads);
    return { X, rank };
  }

  async eigh(a: DenseRef): Promise<{ values: Float64Array; vectors: Store }> {
    const n = a.rows;
    const values = new Float64Array(n), V = this.alloc(n * n);
    await this.addon.eigh(await ready(arr(a)), n, values, V, this.threads);
    return { values, vectors: V };
  }

  async svd(a: DenseRef): Promise<{ U: Store; S: Float64Array; V: Store }> {
    const { rows: m, cols: n } = a;
    const k = Math.min(m, n);
    const U = this.alloc(m * k), S = new Float64Array(k), V = this.alloc(n * k);
    await this.addon.svd(await ready(arr(a)), m, n, U, S, V, this.threads);
    return { U, S, V };
  }

  // ---- sparse ----
  async spmm(s: SparseRef, b: DenseRef, transS: boolean): Promise<Store> {
    const st = s._structure;
    const vals = await ready(s._values as Arr);
    const rows = transS ? st.cols : st.rows, cols = transS ? st.rows : st.cols;
    const out = this.alloc(rows * b.cols);
    if (transS) await this.addon.spmm(st.colPtr, st.rowIdx, vals, st.perm, rows, cols, await ready(arr(b)), b.cols, out, this.threads);
    else await this.addon.spmm(st.rowPtr, st.colIdx, vals, null, rows, cols, await ready(arr(b)), b.cols, out, this.threads);
    return out;
  }

  async sddmm(s: SparseRef, u: DenseRef, v: DenseRef): Promise<Store> {
    const st = s._structure;
    const out = this.alloc(st.nnz);
    await this.addon.sddmm(st.rowPtr, st.colIdx, st.rows, st.cols, await ready(arr(u)), await ready(arr(v)), u.cols, out, this.threads);
    return out;
  }
}

/** Random fills started by `random()` and not yet awaited by a reader. */
const pendingFills = new WeakMap<Arr, Promise<void>>();

/** The array, once any pending fill of it has finished. */
async function ready(a: Arr): Promise<Arr> {
  const p = pendingFills.get(a);
  if (p) {
    await p;
    pendingFills.delete(a);
  }
  return a;
}
