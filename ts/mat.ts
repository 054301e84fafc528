/**
 * Matrix handles. A Mat is an immutable dense matrix living on its engine's device (GPU memory for
 * WebGPU, host memory owned by the engine for native); operations return new matrices. Dispose
 * matrices you no longer need: GPU memory is reclaimed at once (a FinalizationRegistry reclaims it
 * eventually if you forget, but that is a safety net, not a plan).
 */
import type { ArrayFor, CooOutput, DType } from './types.js';
import type { Engine } from './engine.js';
import type { SparseStructure } from './sparse/csr.js';

/** @internal Backend-owned storage of a dense matrix (opaque outside its backend). */
export type Store = unknown;

/** @internal Backend-owned storage of a sparsity structure (CSR + CSC index arrays). */
export type StructStore = unknown;

export class Mat<D extends DType = DType> {
  /** Number of rows. */
  readonly rows: number;
  /** Number of columns. */
  readonly cols: number;
  /** Element type. */
  readonly dtype: D;
  /** @internal */ _store: Store;
  /** @internal */ readonly _engine: Engine<D>;
  /** @internal */ _disposed = false;

  /** @internal Use `engine.matrix()`, `zeros()`, `randn()`... to create matrices. */
  constructor(engine: Engine<D>, store: Store, rows: number, cols: number) {
    this._engine = engine;
    this._store = store;
    this.rows = rows;
    this.cols = cols;
    this.dtype = engine.dtype;
  }

  /** The engine that owns this matrix. */
  get engine(): Engine<D> {
    return this._engine;
  }

  /** `[rows, cols]`. */
  get shape(): [number, number] {
    return [this.rows, this.cols];
  }

  /** True after {@link dispose}. */
  get disposed(): boolean {
    return this._disposed;
  }

  /**
   * Copies the matrix to the host as a row-major typed array (Float32Array for f32, Float64Array for
   * f64). This is the explicit device-to-host transfer.
   */
  toArray(): Promise<ArrayFor<D>> {
    return this._engine._download(this);
  }

  /** Releases the device memory. Using the matrix afterwards throws a TypeError. Idempotent. */
  dispose(): void {
    this._engine._disposeMat(this);
  }
}

/**
 * A sparse matrix: built from COO triplets (duplicates summed), stored as CSR (and CSC for
 * transposed products) on the engine's device. The index structure is shared between matrices with
 * the same pattern (for example the result of `sddmm`).
 */
export class SparseMat<D extends DType = DType> {
  readonly rows: number;
  readonly cols: number;
  readonly dtype: D;
  /** @internal Host copy of the index structure (CSR + CSC + permutation). */
  readonly _structure: SparseStructure;
  /** @internal Device copy of the structure, shared and reference counted. */
  readonly _structStore: { store: StructStore; refs: number };
  /** @internal Values in CSR order, a 1 x nnz dense store. */
  _values: Store;
  /** @internal */ readonly _engine: Engine<D>;
  /** @internal */ _disposed = false;

  /** @internal Use `engine.sparse()` to create sparse matrices. */
  constructor(engine: Engine<D>, structure: SparseStructure, structStore: { store: StructStore; refs: number }, values: Store) {
    this._engine = engine;
    this._structure = structure;
    this._structStore = structStore;
    this._values = values;
    this.rows = structure.rows;
    this.cols = structure.cols;
    this.dtype = engine.dtype;
  }

  /** Number of stored entries (after duplicates were summed). */
  get nnz(): number {
    return this._structure.nnz;
  }

  get engine(): Engine<D> {
    return this._engine;
  }

  get shape(): [number, number] {
    return [this.rows, this.cols];
  }

  get disposed(): boolean {
    return this._disposed;
  }

  /** Row-major COO triplets (sorted by row, then column; no duplicates). */
  toCOO(): Promise<CooOutput<D>> {
    return this._engine._sparseToCOO(this);
  }

  /** Releases device memory. Idempotent. */
  dispose(): void {
    this._engine._disposeSparse(this);
  }
}
