/**
 * Adding a primitive (the stem is the engine method's name; files use its snake_case form, see
 * PRIMITIVES below; test/conformance/primitives.test.ts fails while a piece is missing):
 *   1. Engine: a public method named after the stem (ts/engine.ts), validating its arguments.
 *   2. Backend: a method of the same name in the interface below, then in NativeBackend
 *      (ts/backends/native/index.ts) and WebGPUBackend (ts/backends/webgpu/index.ts).
 *   3. WebGPU: the shader wgsl/<stem>.wgsl, its descriptors in ts/backends/webgpu/programs.ts (checked
 *      against the WGSL by test/webgpu/programs.test.ts) and the host side in
 *      ts/backends/webgpu/kernels/<stem>.ts.
 *   4. Native: the algorithm in native/<stem>.cc and an addon export named after the stem.
 *   5. A row in PRIMITIVES (family files are allowed only for the documented families), conformance
 *      tests in test/conformance/, and the README's API section.
 *
 * The primitive set every backend implements. The engine validates arguments (shapes, dtypes,
 * ownership) before calling a backend, so backends may assume well-formed input: matrices are
 * non-empty, belong to this backend, and have compatible shapes.
 *
 * Dense stores are row-major. A backend's methods take `DenseRef`s (a Mat satisfies it) and return new
 * stores; the engine wraps them in Mat handles. Stores are never mutated after they are returned.
 */
import type { SparseStructure } from './sparse/csr.js';
import type { BackendName, DType, EngineInfo, FloatArray, NormKind } from './types.js';
import type { Store, StructStore } from './mat.js';

export interface DenseRef {
  readonly _store: Store;
  readonly rows: number;
  readonly cols: number;
}

export interface SparseRef {
  readonly _structure: SparseStructure;
  readonly _structStore: { store: StructStore };
  readonly _values: Store;
}

/** A balanced CountSketch of every segment (see Backend.segmentGram). */
export interface SegmentSketch {
  order: Int32Array;
  rows: number;
  key: string;
}

export interface Backend {
  readonly name: BackendName;
  readonly dtype: DType;

  info(): Omit<EngineInfo, 'backend' | 'dtype' | 'memory'>;
  /** Releases the device (and every store). */
  dispose(): Promise<void>;

  // ---- storage ----
  /** Stores host data (already in the backend's dtype). The backend may keep `data`: pass a fresh array. */
  upload(data: FloatArray, rows: number, cols: number): Store;
  /**
   * Optional: a fresh host array of n entries of the backend's dtype (contents unspecified) that upload()
   * keeps best, e.g. a line-aligned one; the engine fills it and passes it to upload() (without it: a new
   * typed array).
   */
  hostArray?(n: number): FloatArray;
  /** Zero matrix or identity (`eye`, rows x cols with ones on the main diagonal). */
  fill(rows: number, cols: number, kind: 'zeros' | 'eye'): Store;
  /** Every entry equal to `value` (finite). */
  full(rows: number, cols: number, value: number): Store;
  /**
   * Philox stream fill (README, "Random numbers"); `seed` in [0, 2^53), `stream` in [0, 2^32).
   * Entry e (row-major) is element `offset + e` of the stream, offset an integer in [0, 2^53), so a
   * block of rows of a huge random matrix can be generated on its own and equals the same rows of
   * the whole matrix, bit for bit (rand) or to a few ulps (randn).
   */
  random(rows: number, cols: number, dist: 'uniform' | 'normal', seed: number, stream: number, offset: number): Store;
  /** Row-major copy on the host. */
  download(a: DenseRef): Promise<FloatArray>;
  /** Releases a store. The engine calls it exactly once per store. */
  free(s: Store): void;

  /** Sparse index structure (CSR + CSC + permutation) on the device. */
  uploadStructure(s: SparseStructure): StructStore;
  freeStructure(s: StructStore): void;

  // ---- dense primitives ----
  /** alpha op(A) op(B). */
  matmul(a: DenseRef, b: DenseRef, transA: boolean, transB: boolean, alpha: number): Promise<Store>;
  /** alpha A + beta B (B null: alpha A). Shapes equal. */
  axpby(alpha: number, a: DenseRef, beta: number, b: DenseRef | null): Promise<Store>;
  hadamard(a: DenseRef, b: DenseRef): Promise<Store>;
  transpose(a: DenseRef): Promise<Store>;
  norm(a: DenseRef, kind: NormKind): Promise<number>;
  colNorms(a: DenseRef): Promise<Float64Array>;
  rowNorms(a: DenseRef): Promise<Float64Array>;

  /** Copy of the block a[r0 : r0 + rows, c0 : c0 + cols] (in range). */
  slice(a: DenseRef, r0: number, c0: number, rows: number, cols: number): Promise<Store>;
  /** Concatenation: 'h' side by side (equal rows), 'v' stacked (equal cols). At least one matrix. */
  concat(mats: readonly DenseRef[], axis: 'h' | 'v'): Promise<Store>;
  /** a diag(s) (axis 'cols', s.length = cols) or diag(s) a (axis 'rows', s.length = rows); s finite. */
  scaleAxis(a: DenseRef, s: Float64Array, axis: 'rows' | 'cols'): Promise<Store>;
  /**
   * For every column j: the row index of the entry of largest magnitude (the first such row on ties)
   * and that entry's value (signed). Used for sign conventions without reading a tall matrix back.
   */
  colAbsMax(a: DenseRef): Promise<{ index: Int32Array; value: Float64Array }>;
  /**
   * For every row i: the column of the smallest entry (the first such column on ties; -0 equals +0,
   * +-Inf are ordinary values) and that entry. A row holding a NaN reports a NaN value (its index is
   * then unspecified); the engine turns it into an error. Used by k-means assignments (n ints back).
   */
  rowArgmin(a: DenseRef): Promise<{ index: Int32Array; value: Float64Array }>;

  // ---- factorizations ----
  /**
   * LU with partial pivoting of an m x n matrix, m >= n, in scipy's `lu(a, permute_l=True)` form:
   * a = PL U with PL = P L (m x n: unit lower trapezoidal L with its rows in a's row order) and U
   * (n x n, upper). Pivot: the largest |.| in the column among rows not yet pivoted, the first such
   * row on ties; a zero column gets zero multipliers (LAPACK getrf behaviour, no error).
   */
  lu(a: DenseRef): Promise<{ PL: Store; U: Store }>;
  /** Thin QR, rows >= cols. */
  qr(a: DenseRef): Promise<{ Q: Store; R: Store }>;
  /** Lower Cholesky factor; rejects with a RangeError when A is not (numerically) positive definite. */
  cholesky(a: DenseRef): Promise<Store>;
  /** Solves op(T) X = B with T square triangular. */
  solveTriangular(t: DenseRef, b: DenseRef, lower: boolean, trans: boolean): Promise<Store>;
  /** argmin ||A X - B||_F (minimum-norm when A is rank-deficient or wide). */
  lstsq(a: DenseRef, b: DenseRef): Promise<{ X: Store; rank: number }>;
  /** Symmetric eigendecomposition, values descending. */
  eigh(a: DenseRef): Promise<{ values: Float64Array; vectors: Store }>;
  /** Thin SVD, k = min(m, n), S descending. */
  svd(a: DenseRef): Promise<{ U: Store; S: Float64Array; V: Store }>;
  /**
   * Singular values only, min(m, n) of them, descending (no vectors: much cheaper than svd). Rejects
   * with a RangeError "svdvals: argument 'A' has a non-finite entry" when A holds NaN or Inf.
   */
  svdvals(a: DenseRef): Promise<Float64Array>;

  // ---- sparse ----
  /** S B (or S^T B): returns a dense store of shape (S.rows or S.cols) x B.cols. */
  spmm(s: SparseRef, b: DenseRef, transS: boolean): Promise<Store>;
  /** Values (U V^T)_ij on the pattern of S, a 1 x nnz store in CSR order. */
  sddmm(s: SparseRef, u: DenseRef, v: DenseRef): Promise<Store>;

  // ---- state-space models ----
  /**
   * Vandermonde kernel: K[h, l] = Re sum_n w[h, n] exp(l z[h, n]) for l < L, an H x L store. `table`
   * holds (wRe, wIm, zRe, zIm) per (h, n), row-major over (h, n), in f64; z is the per-step log node
   * (dt Lambda for ZOH), so long L needs an accurate phase l Im(z) (see wgsl/ssm_vandermonde.wgsl).
   */
  ssmVandermonde(table: Float64Array, h: number, n: number, l: number): Promise<Store>;
  /**
   * Causal convolution y[r, l] = sum_{j <= l} K[r mod H, j] u[r, l - j] (+ D[r mod H] u[r, l]) of the
   * rows of u (R x L) with the rows of K (H x L), R a multiple of H; by FFT (zero-padded to >= 2L).
   */
  ssmConv(u: DenseRef, k: DenseRef, d: Float64Array | null): Promise<Store>;
  /**
   * Diagonal linear recurrence: x_l = a x_{l-1} + b u[r, l], y[r, l] = Re sum_n c_n x_{l,n}, x_{-1} = 0,
   * with complex (a, b, c) of channel h = r mod H: `table` rows (aRe, aIm, bRe, bIm, cRe, cIm) per (h, n).
   */
  ssmScan(u: DenseRef, table: Float64Array, h: number, n: number): Promise<Store>;

  // ---- matrix-free Gaussian measurements (robust matrix sensing) ----
  /**
   * y (m x 1) = A vec(x) with A[i, e] = element offset + i N + e of the Philox normal stream of
   * (seed, stream), N = x.rows * x.cols: the entries random(m, N, 'normal', seed, stream, offset) holds,
   * generated on the fly (A is never stored). offset + m N < 2^53.
   */
  gaussianApply(x: DenseRef, m: number, seed: number, stream: number, offset: number): Promise<Store>;
  /** The adjoint: z (N entries, returned as a store of N elements) = A^T r for r with m entries. */
  gaussianAdjoint(r: DenseRef, n: number, seed: number, stream: number, offset: number): Promise<Store>;
  /** Element-wise sign: 1 (x > 0), -1 (x < 0), 0 (x = 0, either zero), NaN for NaN. */
  sign(a: DenseRef): Promise<Store>;

  // ---- fast Walsh-Hadamard transform ----
  /**
   * H_L a for a (L x b, L = rows a power of two): the unnormalised Walsh-Hadamard transform (Sylvester
   * order, H_2L = [[H, H], [H, -H]], H H = L I) of every column.
   */
  fwht(a: DenseRef): Promise<Store>;

  // ---- optimizers ----
  /**
   * One fused Adam moment update, element-wise over equal-shape m, v, g: M = beta1 m + (1 - beta1) g,
   * V = beta2 v + (1 - beta2) g^2, N = corr M / (sqrt(V) + eps) (three new stores).
   */
  adamStep(
    m: DenseRef,
    v: DenseRef,
    g: DenseRef,
    beta1: number,
    beta2: number,
    eps: number,
    corr: number,
  ): Promise<{ M: Store; V: Store; N: Store }>;
  /**
   * Group-wise quantize-dequantize of the row-major entries (engine.fakeQuantize): every `groupSize`
   * consecutive entries (the last group may be shorter) on their own asymmetric min-max grid of 2^bits
   * levels, rounded to nearest (ties to even) or stochastically with element offset + e of the Philox
   * uniform stream (seed, FAKE_QUANTIZE_STREAM) in the dtype's layout. A group with a non-finite entry is NaN.
   */
  fakeQuantize(a: DenseRef, bits: number, groupSize: number, stochastic: boolean, seed: number, offset: number): Promise<Store>;

  // ---- segmented least squares (matrix completion) ----
  // A segment is one row of S (transS false: entries of the CSR row) or one column (transS true: the
  // CSC column, values through perm). For segment j, A_j = F[cols of its entries, :] and b_j = values.
  /**
   * Per segment: A_j^T A_j (segments x k*k, full symmetric), or its diagonal (mode 'diag', segments x
   * k), or the Gram of the balanced CountSketch `sketch` of A_j (min(len_j, sketch.rows) rows; `order`
   * as built by ts/sparse/sketch.ts, `key` identifies it for caching).
   */
  segmentGram(s: SparseRef, f: DenseRef, transS: boolean, mode: 'full' | 'diag', sketch: SegmentSketch | null): Promise<Store>;
  /**
   * Batched lower Cholesky factors of G_j + lambda_j I (g: segments x k*k), lambda_j = ridge[j]
   * trace(G_j) / k; on breakdown retried with max(lambda_j, fallback trace / k). status (segments x
   * 1): 0 ok, 1 fallback ridge used, 2 failed (factor 0). inverse: returns L_j^{-1} instead.
   */
  choleskyBatch(
    g: DenseRef,
    k: number,
    ridge: Float64Array | null,
    fallback: number,
    inverse: boolean,
  ): Promise<{ L: Store; status: Store }>;
  /** X_j = (L_j L_j^T)^{-1} h_j (l: segments x k*k lower factors, h: segments x k); 0 where L_j = 0. */
  choleskySolveBatch(l: DenseRef, h: DenseRef): Promise<Store>;
  /**
   * `steps` steps of preconditioned CG per segment on (A_j^T A_j + lambda_j I) x = A_j^T b_j from x0_j
   * (segments x k), lambda_j = ridge_j trace(A_j^T A_j) / k (ridge: segments x 1, entries <= 0 mean no
   * ridge; null: none). p: segments x k*k inverse factors W_j (M^{-1} = W_j^T W_j) or segments x k
   * diagonals (shifted by lambda_j).
   */
  segmentCG(s: SparseRef, f: DenseRef, x0: DenseRef, p: DenseRef, transS: boolean, steps: number, ridge: DenseRef | null): Promise<Store>;
}

/**
 * One primitive: the Backend method (= the stem, = the engine method where `engine` is omitted), the
 * engine methods it serves, and the files that implement it. A family file (`family`) holds several
 * closely related primitives: gemm (matmul, syrk, gemv), ewise, block, reduce, fill/philox, sparse,
 * householder/qr, cholesky, lu, eigh/jacobi, svd, fft (ssmConv).
 */
export interface Primitive {
  readonly method: keyof Backend;
  /** Engine methods served; default [method]. */
  readonly engine?: readonly string[];
  /** The family file stem, where the primitive is not in a file of its own stem. */
  readonly family?: string;
  /** Files under wgsl/. */
  readonly wgsl: readonly string[];
  /** Files under ts/backends/webgpu/kernels/. */
  readonly kernels: readonly string[];
  /** Files under native/ (binding, then algorithm); absent where the native backend needs no addon call (fill). */
  readonly native?: readonly string[];
}

export const PRIMITIVES: readonly Primitive[] = [
  { method: 'fill', engine: ['zeros', 'eye'], family: 'fill', wgsl: ['fill.wgsl'], kernels: ['fill.ts'] },
  {
    method: 'full',
    engine: ['full', 'ones'],
    family: 'fill',
    wgsl: ['fill.wgsl'],
    kernels: ['fill.ts'],
    native: ['block.cc', 'block_kernels.cc'],
  },
  {
    method: 'random',
    engine: ['rand', 'randn'],
    family: 'fill',
    wgsl: ['fill.wgsl', 'philox.wgsl'],
    kernels: ['fill.ts'],
    native: ['rng.cc', 'rng_kernels.cc', 'normals.cc'],
  },
  {
    method: 'matmul',
    family: 'gemm',
    wgsl: ['gemm.wgsl', 'gemm_gemv.wgsl', 'gemm_reduce.wgsl'],
    kernels: ['gemm.ts'],
    native: ['gemm.cc', 'gemm_driver.cc'],
  },
  {
    method: 'axpby',
    engine: ['axpby', 'add', 'sub', 'scale'],
    family: 'ewise',
    wgsl: ['ewise.wgsl'],
    kernels: ['ewise.ts'],
    native: ['core.cc', 'core_kernels.cc'],
  },
  { method: 'hadamard', family: 'ewise', wgsl: ['ewise.wgsl'], kernels: ['ewise.ts'], native: ['core.cc', 'core_kernels.cc'] },
  { method: 'transpose', family: 'ewise', wgsl: ['transpose.wgsl'], kernels: ['ewise.ts'], native: ['core.cc', 'core_kernels.cc'] },
  {
    method: 'sign',
    family: 'gaussian_apply',
    wgsl: ['gaussian_apply.wgsl'],
    kernels: ['gaussian_apply.ts'],
    native: ['core.cc', 'core_kernels.cc'],
  },
  { method: 'norm', family: 'reduce', wgsl: ['reduce.wgsl', 'ssq.wgsl'], kernels: ['reduce.ts'], native: ['core.cc', 'core_kernels.cc'] },
  {
    method: 'colNorms',
    family: 'reduce',
    wgsl: ['reduce.wgsl', 'ssq.wgsl'],
    kernels: ['reduce.ts'],
    native: ['core.cc', 'core_kernels.cc'],
  },
  {
    method: 'rowNorms',
    family: 'reduce',
    wgsl: ['reduce.wgsl', 'ssq.wgsl'],
    kernels: ['reduce.ts'],
    native: ['core.cc', 'core_kernels.cc'],
  },
  { method: 'slice', family: 'block', wgsl: ['block.wgsl'], kernels: ['block.ts'], native: ['block.cc', 'block_kernels.cc'] },
  {
    method: 'concat',
    engine: ['hstack', 'vstack'],
    family: 'block',
    wgsl: ['block.wgsl'],
    kernels: ['block.ts'],
    native: ['block.cc', 'block_kernels.cc'],
  },
  {
    method: 'scaleAxis',
    engine: ['scaleRows', 'scaleColumns'],
    family: 'block',
    wgsl: ['block.wgsl'],
    kernels: ['block.ts'],
    native: ['block.cc', 'block_kernels.cc'],
  },
  { method: 'colAbsMax', family: 'block', wgsl: ['block.wgsl'], kernels: ['block.ts'], native: ['block.cc', 'block_kernels.cc'] },
  { method: 'rowArgmin', family: 'block', wgsl: ['block.wgsl'], kernels: ['block.ts'], native: ['block.cc', 'block_kernels.cc'] },
  { method: 'lu', wgsl: ['lu.wgsl'], kernels: ['lu.ts'], native: ['factor.cc', 'lu.cc'] },
  {
    method: 'qr',
    family: 'householder',
    wgsl: ['householder.wgsl', 'chol.wgsl'],
    kernels: ['factor.ts', 'qr.ts', 'cholqr.ts', 'householder.ts'],
    native: ['factor.cc', 'qr.cc'],
  },
  { method: 'cholesky', family: 'chol', wgsl: ['chol.wgsl'], kernels: ['factor.ts', 'chol.ts'], native: ['factor.cc', 'chol.cc'] },
  {
    method: 'solveTriangular',
    wgsl: ['solve_triangular.wgsl'],
    kernels: ['factor.ts', 'solve_triangular.ts'],
    native: ['factor.cc', 'solve_triangular.cc'],
  },
  {
    method: 'lstsq',
    engine: ['lstsq', 'lstsqInfo'],
    family: 'jacobi',
    wgsl: ['jacobi.wgsl'],
    kernels: ['factor.ts', 'eig.ts', 'jacobi.ts'],
    native: ['factor.cc', 'lstsq.cc'],
  },
  { method: 'eigh', family: 'jacobi', wgsl: ['jacobi.wgsl'], kernels: ['eig.ts', 'jacobi.ts'], native: ['eig.cc', 'eigh.cc'] },
  { method: 'svd', family: 'jacobi', wgsl: ['jacobi.wgsl'], kernels: ['eig.ts', 'jacobi.ts'], native: ['eig.cc', 'svd.cc', 'dc.cc'] },
  {
    method: 'svdvals',
    family: 'jacobi',
    wgsl: ['jacobi.wgsl'],
    kernels: ['svdvals.ts', 'jacobi.ts', 'qr.ts'],
    native: ['eig.cc', 'svdvals.cc', 'svd.cc'],
  },
  { method: 'spmm', family: 'sparse', wgsl: ['sparse.wgsl'], kernels: ['sparse.ts'], native: ['sparse.cc', 'sparse_kernels.cc', 'csr.cc'] },
  {
    method: 'sddmm',
    family: 'sparse',
    wgsl: ['sparse_sddmm.wgsl'],
    kernels: ['sparse.ts'],
    native: ['sparse.cc', 'sparse_kernels.cc', 'csr.cc'],
  },
  { method: 'ssmVandermonde', wgsl: ['ssm_vandermonde.wgsl'], kernels: ['ssm.ts'], native: ['ssm.cc', 'ssm_kernels.cc'] },
  { method: 'ssmConv', family: 'fft', wgsl: ['fft.wgsl'], kernels: ['ssm.ts'], native: ['ssm.cc', 'ssm_kernels.cc'] },
  { method: 'ssmScan', wgsl: ['ssm_scan.wgsl'], kernels: ['ssm.ts'], native: ['ssm.cc', 'ssm_kernels.cc'] },
  {
    method: 'gaussianApply',
    family: 'gaussian_apply',
    wgsl: ['gaussian_apply.wgsl', 'philox.wgsl'],
    kernels: ['gaussian_apply.ts'],
    native: ['gaussian_apply.cc', 'gaussian_apply_kernels.cc', 'normals.cc'],
  },
  {
    method: 'gaussianAdjoint',
    family: 'gaussian_apply',
    wgsl: ['gaussian_apply.wgsl', 'philox.wgsl'],
    kernels: ['gaussian_apply.ts'],
    native: ['gaussian_apply.cc', 'gaussian_apply_kernels.cc', 'normals.cc'],
  },
  { method: 'fwht', wgsl: ['fwht.wgsl'], kernels: ['fwht.ts'], native: ['fwht.cc', 'fwht_kernels.cc'] },
  {
    method: 'segmentGram',
    wgsl: ['segment_gram.wgsl'],
    kernels: ['segment_gram.ts'],
    native: ['segment_gram.cc', 'completion.cc', 'completion_kernels.cc', 'csr.cc'],
  },
  {
    method: 'choleskyBatch',
    family: 'cholesky_batch',
    wgsl: ['cholesky_batch.wgsl'],
    kernels: ['cholesky_batch.ts'],
    native: ['cholesky_batch.cc', 'completion_kernels.cc'],
  },
  {
    method: 'choleskySolveBatch',
    family: 'cholesky_batch',
    wgsl: ['cholesky_batch.wgsl'],
    kernels: ['cholesky_batch.ts'],
    native: ['cholesky_batch.cc', 'completion_kernels.cc'],
  },
  {
    method: 'segmentCG',
    wgsl: ['segment_cg.wgsl'],
    kernels: ['segment_cg.ts'],
    native: ['segment_cg.cc', 'completion.cc', 'completion_kernels.cc'],
  },
  { method: 'adamStep', wgsl: ['adam_step.wgsl'], kernels: ['adam_step.ts'], native: ['adam_step.cc', 'adam_step_kernels.cc'] },
  {
    method: 'fakeQuantize',
    wgsl: ['fake_quantize.wgsl', 'philox.wgsl'],
    kernels: ['fake_quantize.ts'],
    native: ['fake_quantize.cc', 'fake_quantize_kernels.cc'],
  },
];

/** The Philox stream of fakeQuantize's stochastic rounding (also quantizeGroupwise's). */
export const FAKE_QUANTIZE_STREAM = 0x7167;
/** The largest groupSize of fakeQuantize (one WebGPU workgroup reduces a group in workgroup memory). */
export const FAKE_QUANTIZE_MAX_GROUP = 4096;

/** Backend methods that are plumbing (storage, lifetime), not primitives. */
export const BACKEND_PLUMBING: readonly (keyof Backend)[] = [
  'info',
  'dispose',
  'upload',
  'hostArray',
  'download',
  'free',
  'uploadStructure',
  'freeStructure',
];
