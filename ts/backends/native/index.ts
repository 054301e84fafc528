/**
 * The native backend: stores are host typed arrays owned by the engine; every primitive is one call
 * into the C++ addon (see native/), which runs large work off the JS thread.
 */
import type { Backend, DenseRef, SegmentSketch, SparseRef } from '../../backend.js';
import { FAKE_QUANTIZE_STREAM } from '../../backend.js';
import type { Store, StructStore } from '../../mat.js';
import type { SparseStructure } from '../../sparse/csr.js';
import type { DType, EngineInfo, FloatArray, NormKind } from '../../types.js';
import { loadAddon, type NativeAddon } from './addon.js';

type Arr = FloatArray;

function arr(r: DenseRef): Arr {
  return r._store as Arr;
}

/** A non-negative integer below 2^53 as the (low, high) 32-bit words the addon's Philox keys and counters take. */
function words(v: number): [lo: number, hi: number] {
  return [v % 2 ** 32, Math.floor(v / 2 ** 32)];
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

  info(): Omit<EngineInfo, 'backend' | 'dtype' | 'memory'> {
    return { threads: this.threads, isa: this._info.isa, gemmKernel: this._info.gemmKernel };
  }

  async dispose(): Promise<void> {
    this.pool.clear();
    this.poolBytes = 0;
  }

  // ---- output-array pool ------------------------------------------------------------------------
  // Outputs are recycled from disposed matrices: a fresh large typed array costs page faults on first
  // touch (by both compute threads), which doubled the time of a 512^3 GEMM, and even a small one costs
  // more than a small call (see POOL_MIN_BYTES). The engine frees a store only once no call in flight
  // uses it (Engine._use), so a recycled array is never still being read.

  private readonly pool = new Map<number, Arr[]>();
  private poolBytes = 0;

  /** A zeroed host array of this backend's dtype (recycled when a large one is available). */
  alloc(n: number): Arr {
    return this.allocFor(n, true);
  }

  /**
   * An output array that the addon call it is made for writes in full (every entry, whatever the values:
   * GEMM with beta = 0, elementwise maps, copies): a recycled one is not zeroed first (for a rank-50
   * randomized SVD of 4000 x 2000 that filled ~140 arrays per call). A new one is zeroed by the allocation.
   */
  private allocFull(n: number): Arr {
    return this.allocFor(n, false);
  }

  private allocFor(n: number, zero: boolean): Arr {
    const bytes = n * (this.dtype === 'f64' ? 8 : 4);
    if (bytes >= POOL_MIN_BYTES) {
      const a = this.pool.get(n)?.pop();
      if (a) {
        this.poolBytes -= a.byteLength;
        return zero ? a.fill(0) : a;
      }
    }
    const a = this.fresh(n);
    // an engine store, never handed out (download copies): background calls may use it in place
    if (bytes >= POOL_MIN_BYTES) this.addon.own(a);
    return a;
  }

  /**
   * A new zeroed array of n entries; from ALIGN_MIN_BYTES up, a view of a slightly larger one that starts on
   * a 64-byte line (V8 places large typed arrays 16 bytes past a line). The GEMM kernels read an aligned
   * operand in place where they would pack a misaligned one (native/gemm_driver.cc, kDirectMaxWork): on one
   * Zen 5 thread f32 256^3 6 % faster, 384^3 3 %, 512^3 1 %, f64 256-1024 2-2.6 % (addon.gemm, paired in one
   * process; README, "Zen 5 again, late night").
   */
  private fresh(n: number): Arr {
    const f64 = this.dtype === 'f64';
    if (n * (f64 ? 8 : 4) < ALIGN_MIN_BYTES) return f64 ? new Float64Array(n) : new Float32Array(n);
    const spare = f64 ? 8 : 16; // one line of elements
    const big = f64 ? new Float64Array(n + spare) : new Float32Array(n + spare);
    const skip = ((64 - this.addon.lineOffset(big)) % 64) / big.BYTES_PER_ELEMENT;
    // an offset that is not a whole number of elements cannot happen for V8's allocations; keep it then
    return Number.isInteger(skip) ? big.subarray(skip, skip + n) : big.subarray(0, n);
  }

  /** A private host array of n entries (contents unspecified) for the engine to fill and pass to upload(). */
  hostArray(n: number): Arr {
    return this.allocFull(n);
  }

  private recycle(a: Arr): void {
    if (a.byteLength < POOL_MIN_BYTES || this.poolBytes + a.byteLength > POOL_MAX_BYTES) return;
    let list = this.pool.get(a.length);
    if (!list) this.pool.set(a.length, (list = []));
    list.push(a);
    this.poolBytes += a.byteLength;
  }

  // ---- storage ----
  upload(data: FloatArray): Store {
    // The engine hands over a private array (matrix() and fromArray() copy, sparse() builds its own):
    // marked as the library's, background calls use it in place instead of copying it for every call.
    if (data.byteLength >= POOL_MIN_BYTES) this.addon.own(data);
    return data;
  }

  fill(rows: number, cols: number, kind: 'zeros' | 'eye'): Store {
    const a = this.alloc(rows * cols);
    if (kind === 'eye') for (let i = 0; i < Math.min(rows, cols); i++) a[i * cols + i] = 1;
    return a;
  }

  full(rows: number, cols: number, value: number): Store {
    const a = this.alloc(rows * cols);
    if (value !== 0) pendingFills.set(a, this.addon.full(a, value, this.threads));
    return a;
  }

  random(rows: number, cols: number, dist: 'uniform' | 'normal', seed: number, stream: number, offset: number): Store {
    const a = this.alloc(rows * cols);
    // The fill is synchronous for the caller's purposes: the promise is awaited by the first reader.
    const pending = this.addon.random(a, dist, ...words(seed), stream, ...words(offset), this.threads);
    pendingFills.set(a, pending);
    return a;
  }

  async download(a: DenseRef): Promise<FloatArray> {
    return (await ready(arr(a))).slice();
  }

  free(s: Store): void {
    // Large arrays are recycled (after a pending random fill, if any); the rest is left to the GC.
    const a = s as Arr;
    const fill = pendingFills.get(a);
    if (fill)
      void fill.then(
        () => this.recycle(a),
        () => undefined,
      );
    else this.recycle(a);
  }

  uploadStructure(s: SparseStructure): StructStore {
    return s;
  }

  freeStructure(_s: StructStore): void {}

  // ---- dense primitives ----

  /**
   * Runs `body` once the inputs' pending random fills (if any) are complete: at once (synchronously) when
   * none is pending, the common case, which saves an await per input (~0.3 us of a 5.5 us small call).
   */
  private using<T>(inputs: Arr[], body: (...ready: Arr[]) => Promise<T>): Promise<T> {
    for (const a of inputs) if (pendingFills.has(a)) return this.usingFilled(inputs, body);
    return body(...inputs);
  }

  private async usingFilled<T>(inputs: Arr[], body: (...ready: Arr[]) => Promise<T>): Promise<T> {
    const ins: Arr[] = [];
    for (const a of inputs) ins.push(await ready(a));
    return body(...ins);
  }

  matmul(a: DenseRef, b: DenseRef, transA: boolean, transB: boolean, alpha: number): Promise<Store> {
    const m = transA ? a.cols : a.rows,
      k = transA ? a.rows : a.cols,
      n = transB ? b.rows : b.cols;
    return this.using([arr(a), arr(b)], async (A, B) => {
      const out = this.allocFull(m * n);
      // A^T A or A A^T of one matrix: the Gram routine (syrk, about half the flops; the same entries).
      if (A === B && transA !== transB) await this.addon.gram(A, out, m, k, transA, alpha, this.threads);
      else await this.addon.gemm(A, B, out, m, n, k, transA, transB, alpha, 0, this.threads);
      return out;
    });
  }

  axpby(alpha: number, a: DenseRef, beta: number, b: DenseRef | null): Promise<Store> {
    return this.using(b ? [arr(a), arr(b)] : [arr(a)], async (A, B) => {
      const out = this.allocFull(a.rows * a.cols);
      await this.addon.axpby(out, alpha, A, beta, B ?? null, this.threads);
      return out;
    });
  }

  hadamard(a: DenseRef, b: DenseRef): Promise<Store> {
    return this.using([arr(a), arr(b)], async (A, B) => {
      const out = this.allocFull(a.rows * a.cols);
      await this.addon.hadamard(out, A, B, this.threads);
      return out;
    });
  }

  transpose(a: DenseRef): Promise<Store> {
    return this.using([arr(a)], async (A) => {
      const out = this.allocFull(a.rows * a.cols);
      await this.addon.transpose(out, A, a.rows, a.cols, this.threads);
      return out;
    });
  }

  norm(a: DenseRef, kind: NormKind): Promise<number> {
    return this.using([arr(a)], (A) => this.addon.norm(A, kind, this.threads));
  }

  colNorms(a: DenseRef): Promise<Float64Array> {
    return this.using([arr(a)], async (A) => {
      const out = new Float64Array(a.cols);
      await this.addon.colNorms(A, a.rows, a.cols, out, this.threads);
      return out;
    });
  }

  rowNorms(a: DenseRef): Promise<Float64Array> {
    return this.using([arr(a)], async (A) => {
      const out = new Float64Array(a.rows);
      await this.addon.rowNorms(A, a.rows, a.cols, out, this.threads);
      return out;
    });
  }

  slice(a: DenseRef, r0: number, c0: number, rows: number, cols: number): Promise<Store> {
    return this.using([arr(a)], async (A) => {
      const out = this.allocFull(rows * cols);
      await this.addon.copy2d(A, r0 * a.cols + c0, a.cols, out, 0, cols, rows, cols, this.threads);
      return out;
    });
  }

  concat(mats: readonly DenseRef[], axis: 'h' | 'v'): Promise<Store> {
    const rows = axis === 'h' ? mats[0].rows : mats.reduce((s, m) => s + m.rows, 0);
    const cols = axis === 'v' ? mats[0].cols : mats.reduce((s, m) => s + m.cols, 0);
    return this.using(mats.map(arr), async (...ins) => {
      const out = this.allocFull(rows * cols);
      const jobs: Promise<void>[] = [];
      let at = 0; // first row ('v') or column ('h') of the next block
      mats.forEach((m, i) => {
        const dstOffset = axis === 'v' ? at * cols : at;
        jobs.push(this.addon.copy2d(ins[i], 0, m.cols, out, dstOffset, cols, m.rows, m.cols, this.threads));
        at += axis === 'v' ? m.rows : m.cols;
      });
      await Promise.all(jobs);
      return out;
    });
  }

  scaleAxis(a: DenseRef, s: Float64Array, axis: 'rows' | 'cols'): Promise<Store> {
    return this.using([arr(a)], async (A) => {
      const out = this.allocFull(a.rows * a.cols);
      await this.addon.scaleAxis(out, A, a.rows, a.cols, s, axis === 'cols', this.threads);
      return out;
    });
  }

  colAbsMax(a: DenseRef): Promise<{ index: Int32Array; value: Float64Array }> {
    return this.using([arr(a)], async (A) => {
      const index = new Int32Array(a.cols),
        value = new Float64Array(a.cols);
      await this.addon.colAbsMax(A, a.rows, a.cols, index, value, this.threads);
      return { index, value };
    });
  }

  rowArgmin(a: DenseRef): Promise<{ index: Int32Array; value: Float64Array }> {
    return this.using([arr(a)], async (A) => {
      const index = new Int32Array(a.rows),
        value = new Float64Array(a.rows);
      await this.addon.rowArgmin(A, a.rows, a.cols, index, value, this.threads);
      return { index, value };
    });
  }

  // ---- factorizations ----
  lu(a: DenseRef): Promise<{ PL: Store; U: Store }> {
    const { rows: m, cols: n } = a;
    return this.using([arr(a)], async (A) => {
      const PL = this.alloc(m * n),
        U = this.alloc(n * n);
      await this.addon.lu(A, m, n, PL, U, this.threads);
      return { PL, U };
    });
  }

  qr(a: DenseRef): Promise<{ Q: Store; R: Store }> {
    const { rows: m, cols: n } = a;
    return this.using([arr(a)], async (A) => {
      const Q = this.alloc(m * n),
        R = this.alloc(n * n);
      await this.addon.qr(A, m, n, Q, R, this.threads);
      return { Q, R };
    });
  }

  cholesky(a: DenseRef): Promise<Store> {
    return this.using([arr(a)], async (A) => {
      const L = this.alloc(a.rows * a.rows);
      await this.addon.cholesky(A, a.rows, L, this.threads);
      return L;
    });
  }

  solveTriangular(t: DenseRef, b: DenseRef, lower: boolean, trans: boolean): Promise<Store> {
    return this.using([arr(t), arr(b)], async (T, B) => {
      const X = this.alloc(b.rows * b.cols);
      await this.addon.solveTriangular(T, t.rows, B, b.cols, lower, trans, X, this.threads);
      return X;
    });
  }

  lstsq(a: DenseRef, b: DenseRef): Promise<{ X: Store; rank: number }> {
    return this.using([arr(a), arr(b)], async (A, B) => {
      const X = this.alloc(a.cols * b.cols);
      const { rank } = await this.addon.lstsq(A, a.rows, a.cols, B, b.cols, X, this.threads);
      return { X, rank };
    });
  }

  eigh(a: DenseRef): Promise<{ values: Float64Array; vectors: Store }> {
    const n = a.rows;
    return this.using([arr(a)], async (A) => {
      const values = new Float64Array(n),
        V = this.alloc(n * n);
      await this.addon.eigh(A, n, values, V, this.threads);
      return { values, vectors: V };
    });
  }

  svd(a: DenseRef): Promise<{ U: Store; S: Float64Array; V: Store }> {
    const { rows: m, cols: n } = a;
    const k = Math.min(m, n);
    return this.using([arr(a)], async (A) => {
      const U = this.alloc(m * k),
        S = new Float64Array(k),
        V = this.alloc(n * k);
      await this.addon.svd(A, m, n, U, S, V, this.threads);
      return { U, S, V };
    });
  }

  svdvals(a: DenseRef): Promise<Float64Array> {
    const { rows: m, cols: n } = a;
    return this.using([arr(a)], async (A) => {
      const S = new Float64Array(Math.min(m, n));
      await this.addon.svdvals(A, m, n, S, this.threads);
      return S;
    });
  }

  // ---- sparse ----
  spmm(s: SparseRef, b: DenseRef, transS: boolean): Promise<Store> {
    const st = s._structure;
    const rows = transS ? st.cols : st.rows,
      cols = transS ? st.rows : st.cols;
    return this.using([s._values as Arr, arr(b)], async (vals, B) => {
      const out = this.alloc(rows * b.cols);
      if (transS) await this.addon.spmm(st.colPtr, st.rowIdx, vals, st.perm, rows, cols, B, b.cols, out, this.threads);
      else await this.addon.spmm(st.rowPtr, st.colIdx, vals, null, rows, cols, B, b.cols, out, this.threads);
      return out;
    });
  }

  sddmm(s: SparseRef, u: DenseRef, v: DenseRef): Promise<Store> {
    const st = s._structure;
    return this.using([arr(u), arr(v)], async (U, V) => {
      const out = this.alloc(st.nnz);
      await this.addon.sddmm(st.rowPtr, st.colIdx, st.rows, st.cols, U, V, u.cols, out, this.threads);
      return out;
    });
  }

  // ---- state-space models ----
  async ssmVandermonde(table: Float64Array, h: number, n: number, l: number): Promise<Store> {
    const out = this.alloc(h * l);
    await this.addon.ssmVandermonde(table, h, n, l, out, this.threads);
    return out;
  }

  ssmConv(u: DenseRef, k: DenseRef, d: Float64Array | null): Promise<Store> {
    return this.using([arr(u), arr(k)], async (U, K) => {
      const y = this.alloc(u.rows * u.cols);
      await this.addon.ssmConv(U, K, u.rows, k.rows, u.cols, d ?? new Float64Array(0), y, this.threads);
      return y;
    });
  }

  ssmScan(u: DenseRef, table: Float64Array, h: number, n: number): Promise<Store> {
    return this.using([arr(u)], async (U) => {
      const y = this.alloc(u.rows * u.cols);
      await this.addon.ssmScan(U, table, u.rows, h, n, u.cols, y, this.threads);
      return y;
    });
  }

  // ---- matrix-free Gaussian measurements ----
  gaussianApply(x: DenseRef, m: number, seed: number, stream: number, offset: number): Promise<Store> {
    return this.using([arr(x)], async (X) => {
      const out = this.alloc(m);
      await this.addon.gaussianApply(X, x.rows * x.cols, m, out, ...words(seed), stream, ...words(offset), this.threads);
      return out;
    });
  }

  gaussianAdjoint(r: DenseRef, n: number, seed: number, stream: number, offset: number): Promise<Store> {
    return this.using([arr(r)], async (R) => {
      const out = this.alloc(n);
      await this.addon.gaussianAdjoint(R, r.rows * r.cols, n, out, ...words(seed), stream, ...words(offset), this.threads);
      return out;
    });
  }

  sign(a: DenseRef): Promise<Store> {
    return this.using([arr(a)], async (A) => {
      const out = this.alloc(a.rows * a.cols);
      await this.addon.sign(out, A, this.threads);
      return out;
    });
  }

  fwht(a: DenseRef): Promise<Store> {
    return this.using([arr(a)], async (A) => {
      const out = this.alloc(a.rows * a.cols);
      await this.addon.fwht(out, A, a.rows, a.cols, this.threads);
      return out;
    });
  }

  adamStep(
    m: DenseRef,
    v: DenseRef,
    g: DenseRef,
    beta1: number,
    beta2: number,
    eps: number,
    corr: number,
  ): Promise<{ M: Store; V: Store; N: Store }> {
    return this.using([arr(m), arr(v), arr(g)], async (Mi, Vi, Gi) => {
      const n = m.rows * m.cols;
      const M = this.alloc(n),
        V = this.alloc(n),
        N = this.alloc(n);
      await this.addon.adamStep(M, V, N, Mi, Vi, Gi, beta1, beta2, eps, corr, this.threads);
      return { M, V, N };
    });
  }

  fakeQuantize(a: DenseRef, bits: number, groupSize: number, stochastic: boolean, seed: number, offset: number): Promise<Store> {
    return this.using([arr(a)], async (W) => {
      const out = this.alloc(a.rows * a.cols);
      await this.addon.fakeQuantize(
        out,
        W,
        bits,
        groupSize,
        stochastic,
        ...words(seed),
        FAKE_QUANTIZE_STREAM,
        ...words(offset),
        this.threads,
      );
      return out;
    });
  }

  // ---- segmented least squares ----
  segmentGram(s: SparseRef, f: DenseRef, transS: boolean, mode: 'full' | 'diag', sketch: SegmentSketch | null): Promise<Store> {
    const st = s._structure;
    const segs = transS ? st.cols : st.rows,
      cols = transS ? st.rows : st.cols;
    const k = f.cols;
    return this.using([arr(f)], async (F) => {
      const out = this.alloc(segs * (mode === 'diag' ? k : k * k));
      await this.addon.segmentGram(
        transS ? st.colPtr : st.rowPtr,
        transS ? st.rowIdx : st.colIdx,
        segs,
        cols,
        F,
        k,
        sketch ? sketch.order : null,
        sketch ? sketch.rows : 0,
        out,
        this.threads,
      );
      return out;
    });
  }

  choleskyBatch(
    g: DenseRef,
    k: number,
    ridge: Float64Array | null,
    fallback: number,
    inverse: boolean,
  ): Promise<{ L: Store; status: Store }> {
    return this.using([arr(g)], async (G) => {
      const L = this.alloc(g.rows * k * k),
        status = this.alloc(g.rows);
      await this.addon.choleskyBatch(G, g.rows, k, ridge, fallback, inverse, L, status, this.threads);
      return { L, status };
    });
  }

  choleskySolveBatch(l: DenseRef, h: DenseRef): Promise<Store> {
    return this.using([arr(l), arr(h)], async (L, H) => {
      const X = this.alloc(h.rows * h.cols);
      await this.addon.choleskySolveBatch(L, h.rows, h.cols, H, X, this.threads);
      return X;
    });
  }

  segmentCG(s: SparseRef, f: DenseRef, x0: DenseRef, p: DenseRef, transS: boolean, steps: number, ridge: DenseRef | null): Promise<Store> {
    const st = s._structure;
    const segs = transS ? st.cols : st.rows,
      cols = transS ? st.rows : st.cols;
    const k = f.cols;
    const ins = [s._values as Arr, arr(f), arr(x0), arr(p)];
    if (ridge) ins.push(arr(ridge));
    return this.using(ins, async (vals, F, X0, P, R) => {
      const X = this.alloc(segs * k);
      await this.addon.segmentCG(
        transS ? st.colPtr : st.rowPtr,
        transS ? st.rowIdx : st.colIdx,
        vals,
        transS ? st.perm : null,
        segs,
        cols,
        F,
        k,
        X0,
        P,
        p.cols,
        steps,
        X,
        R ?? null,
        this.threads,
      );
      return X;
    });
  }
}

/** Random fills started by `random()` and not yet awaited by a reader. */
const pendingFills = new WeakMap<Arr, Promise<void>>();

/**
 * Arrays from this size up are pooled, and marked as the library's (own()). V8 keeps typed arrays of up to
 * 64 bytes in its heap, where a new one costs ~40 ns, but marking one moves its data out of the heap
 * (1.6 us; a background call copies such an array instead, a few bytes). A larger one is an ArrayBuffer of
 * its own, whose allocation and collection cost 2.5-8 us in a 2-vCPU KVM guest (256 bytes 2.5 us, 4 KiB
 * 4.7, 16 KiB 5.2, 32 KiB 8.0; from 256 KiB page faults too: 41 us), more than a small call.
 */
const POOL_MIN_BYTES = 256;
/** Arrays from this size up start on a 64-byte line (see fresh()). */
const ALIGN_MIN_BYTES = 64 * 1024;
/** At most this much memory is kept in the output pool of one backend. */
const POOL_MAX_BYTES = 256 * 1024 * 1024;

/** The array, once any pending fill of it has finished. */
async function ready(a: Arr): Promise<Arr> {
  const p = pendingFills.get(a);
  if (p) {
    await p;
    pendingFills.delete(a);
  }
  return a;
}
