/**
 * Loads the C++ addon (prebuilt in the npm package, or built from source through cmake-js) and types
 * its entry points. Every function validates its arguments (throwing TypeError/RangeError
 * synchronously) and returns a Promise; work above ~0.5 ms runs on the addon's background thread, on private copies of
 * the arrays (except those marked with own()), so a caller may change or detach its arrays meanwhile.
 * Shared, resizable and detached buffers are refused with a TypeError. Arrays are row-major; outputs
 * are caller-allocated.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { addonCandidates, prebuildName } from '../../paths.js';

type F = Float32Array | Float64Array;

/** A position in the Philox streams (README, "Random numbers"): the 64-bit seed and element offset as 32-bit words. */
type PhiloxPosition = [seedLo: number, seedHi: number, stream: number, offsetLo: number, offsetHi: number];

export interface NativeAddon {
  info(): { threads: number; isa: string; gemmKernel: string; napiVersion: number };
  /** out[i] = element offsetHi 2^32 + offsetLo + i of the Philox stream (README, "Random numbers"). */
  random(out: F, kind: 'uniform' | 'normal', ...at: [...philox: PhiloxPosition, threads: number]): Promise<void>;
  /** Every entry of out = value (finite). */
  full(out: F, value: number, threads: number): Promise<void>;
  /** dst[dstOffset + r dstStride + c] = src[srcOffset + r srcStride + c] for r < rows, c < cols (offsets < 2^53). */
  copy2d(
    src: F,
    srcOffset: number,
    srcStride: number,
    dst: F,
    dstOffset: number,
    dstStride: number,
    rows: number,
    cols: number,
    threads: number,
  ): Promise<void>;
  /** out = x diag(s) (cols, s.length = n) or diag(s) x (rows, s.length = m); x, out m x n. */
  scaleAxis(out: F, x: F, m: number, n: number, s: Float64Array, cols: boolean, threads: number): Promise<void>;
  /** Per column: row of the largest-|.| entry (first on ties) and the entry. */
  colAbsMax(x: F, m: number, n: number, index: Int32Array, value: Float64Array, threads: number): Promise<void>;
  rowArgmin(x: F, m: number, n: number, index: Int32Array, value: Float64Array, threads: number): Promise<void>;
  /** A (m x n, m >= n) = PL U, partial pivoting, scipy's permute_l form. */
  lu(A: F, m: number, n: number, PL: F, U: F, threads: number): Promise<void>;
  gemm(
    A: F,
    B: F,
    C: F,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    alpha: number,
    beta: number,
    threads: number,
  ): Promise<void>;
  /** Lower triangle of C (n x n) = alpha op(A) op(A)^T + beta C; op(A) is n x k (A stored k x n when trans). The strict upper triangle is not touched. */
  syrk(A: F, C: F, n: number, k: number, trans: boolean, alpha: number, beta: number, threads: number): Promise<void>;
  /** C (n x n, both triangles) = alpha op(A) op(A)^T; op(A) is n x k (A stored k x n when trans): syrk plus a copy of the lower triangle onto the upper (exactly symmetric). C is never read. */
  gram(A: F, C: F, n: number, k: number, trans: boolean, alpha: number, threads: number): Promise<void>;
  axpby(out: F, alpha: number, x: F, beta: number, y: F | null, threads: number): Promise<void>;
  hadamard(out: F, x: F, y: F, threads: number): Promise<void>;
  transpose(out: F, x: F, m: number, n: number, threads: number): Promise<void>;
  norm(x: F, kind: 'fro' | 'max', threads: number): Promise<number>;
  colNorms(x: F, m: number, n: number, out: Float64Array, threads: number): Promise<void>;
  rowNorms(x: F, m: number, n: number, out: Float64Array, threads: number): Promise<void>;
  qr(A: F, m: number, n: number, Q: F, R: F, threads: number): Promise<void>;
  cholesky(A: F, n: number, L: F, threads: number): Promise<void>;
  solveTriangular(T: F, n: number, B: F, nrhs: number, lower: boolean, trans: boolean, X: F, threads: number): Promise<void>;
  lstsq(A: F, m: number, n: number, B: F, nrhs: number, X: F, threads: number): Promise<{ rank: number }>;
  eigh(A: F, n: number, values: Float64Array, V: F, threads: number): Promise<void>;
  svd(A: F, m: number, n: number, U: F, S: Float64Array, V: F, threads: number): Promise<void>;
  svdvals(A: F, m: number, n: number, S: Float64Array, threads: number): Promise<void>;
  spmm(
    ptr: Int32Array,
    idx: Int32Array,
    vals: F,
    perm: Int32Array | null,
    rows: number,
    cols: number,
    B: F,
    p: number,
    C: F,
    threads: number,
  ): Promise<void>;
  sddmm(ptr: Int32Array, idx: Int32Array, rows: number, cols: number, U: F, V: F, k: number, out: F, threads: number): Promise<void>;
  // ---- state-space models (native/eig_general.cc, native/ssm.cc) ----
  /** Real non-symmetric eigendecomposition (f64): A V = V diag(values), unit-2-norm complex columns. */
  eigGeneral(
    A: Float64Array,
    n: number,
    valuesRe: Float64Array,
    valuesIm: Float64Array,
    vectorsRe: Float64Array,
    vectorsIm: Float64Array,
    threads: number,
  ): Promise<void>;
  /** Complex non-symmetric eigendecomposition (f64, complex Schur form + back-substitution), unit columns. */
  eigGeneralComplex(
    Are: Float64Array,
    Aim: Float64Array,
    n: number,
    valuesRe: Float64Array,
    valuesIm: Float64Array,
    vectorsRe: Float64Array,
    vectorsIm: Float64Array,
    threads: number,
  ): Promise<void>;
  /** out[h L + l] = Re sum_n w[h, n] exp(l z[h, n]); table rows (wRe, wIm, zRe, zIm) per (h, n). */
  ssmVandermonde(table: Float64Array, H: number, N: number, L: number, out: F, threads: number): Promise<void>;
  /** Causal FFT convolution of u rows (R x L) with K rows (H x L, row r uses r mod H), + D u (D empty: none). */
  ssmConv(u: F, K: F, R: number, H: number, L: number, D: Float64Array, y: F, threads: number): Promise<void>;
  /** x_l = a x_{l-1} + b u_l, y_l = Re sum_n c_n x_{l,n}; table rows (aRe, aIm, bRe, bIm, cRe, cIm) per (h, n). */
  ssmScan(u: F, table: Float64Array, R: number, H: number, N: number, L: number, y: F, threads: number): Promise<void>;
  /** out[i] = sum_e A[i, e] x[e], A[i, e] = Philox normal stream element offset + i N + e (native/gaussian_apply.cc). */
  gaussianApply(x: F, N: number, m: number, out: F, ...at: [...philox: PhiloxPosition, threads: number]): Promise<void>;
  /** out[e] = sum_i A[i, e] r[i] (the adjoint of gaussianApply). */
  gaussianAdjoint(r: F, m: number, N: number, out: F, ...at: [...philox: PhiloxPosition, threads: number]): Promise<void>;
  /** out[i] = sign(x[i]) with sign(0) = 0 and NaN kept. */
  sign(out: F, x: F, threads: number): Promise<void>;
  /** out (L x b, row-major) = H_L x per column, unnormalised Walsh-Hadamard; L a power of two. */
  fwht(out: F, x: F, L: number, b: number, threads: number): Promise<void>;
  /** out = group-wise quantize-dequantize of w (native/fake_quantize.cc; stochastic: Philox uniforms from element offset). */
  fakeQuantize(
    out: F,
    w: F,
    bits: number,
    groupSize: number,
    stochastic: boolean,
    ...at: [...philox: PhiloxPosition, threads: number]
  ): Promise<void>;
  /** outM = b1 m + (1 - b1) g, outV = b2 v + (1 - b2) g^2, outN = corr outM / (sqrt(outV) + eps) (native/adam_step.cc). */
  adamStep(
    outM: F,
    outV: F,
    outN: F,
    m: F,
    v: F,
    g: F,
    beta1: number,
    beta2: number,
    eps: number,
    corr: number,
    threads: number,
  ): Promise<void>;
  // ---- segmented least squares (matrix completion; native/completion.cc) ----
  /** Per segment (CSR/CSC row of S): out = A^T A (out of length segs*k*k) or its diagonal (length segs*k), A = F[idx[seg], :]; with `order`, the Gram of a balanced CountSketch of A with min(len, sketchRows) rows. */
  segmentGram(
    ptr: Int32Array,
    idx: Int32Array,
    segs: number,
    cols: number,
    F: F,
    k: number,
    order: Int32Array | null,
    sketchRows: number,
    out: F,
    threads: number,
  ): Promise<void>;
  /** Batched lower Cholesky of G_j + ridge_j tr(G_j)/k I (ridge < 0 counts as 0; fallback ridge on breakdown when fallback > 0); status 0 ok, 1 fallback, 2 failed (L_j = 0); inverse: L_j^{-1}. */
  choleskyBatch(
    G: F,
    segs: number,
    k: number,
    ridge: Float64Array | null,
    fallback: number,
    inverse: boolean,
    L: F,
    status: F,
    threads: number,
  ): Promise<void>;
  /** X_j = (L_j L_j^T)^{-1} h_j; 0 where L_j[0] == 0. */
  choleskySolveBatch(L: F, segs: number, k: number, H: F, X: F, threads: number): Promise<void>;
  /** `steps` preconditioned CG steps per segment on (A^T A + ridge_j tr/k I) x = A^T b from X0 (P: W = L^{-1} when pw = k*k, a diagonal when pw = k). */
  segmentCG(
    ptr: Int32Array,
    idx: Int32Array,
    vals: F,
    perm: Int32Array | null,
    segs: number,
    cols: number,
    F: F,
    k: number,
    X0: F,
    P: F,
    pw: number,
    steps: number,
    X: F,
    ridge: F | null,
    threads: number,
  ): Promise<void>;
  /**
   * Marks the ArrayBuffer behind `array` as private to the library: background calls then use it in
   * place instead of working on a copy (native/job.cc). Only for host stores no caller can reach.
   */
  own(array: F): void;
  /** Bytes (0..63) by which the first element of `array` lies past a 64-byte cache-line boundary. */
  lineOffset(array: F): number;
  /** GFLOP/s of an FMA-throughput loop on `threads` pool threads for about `millis` ms (widest ISA of the CPU). */
  peak(dtype: 'f32' | 'f64', threads: number, millis: number): Promise<number>;
}

let cached: NativeAddon | undefined;
let loadError: Error | undefined;

/**
 * The addon, loaded once from the first of {@link addonCandidates} that loads (a source build, then the
 * prebuild for this platform). Throws an Error naming every path tried and how to build from source.
 */
export function loadAddon(): NativeAddon {
  if (cached) return cached;
  if (loadError) throw loadError;
  const tried: string[] = [];
  const req = createRequire(import.meta.url);
  for (const p of addonCandidates()) {
    if (!existsSync(p)) {
      tried.push(`${p} (not found)`);
      continue;
    }
    try {
      cached = req(p) as NativeAddon;
      return cached;
    } catch (e) {
      tried.push(`${p} (${(e as Error).message.split('\n')[0]})`);
    }
  }
  const name = prebuildName();
  loadError = new Error(
    `lowrank: cannot load the native addon; tried ${tried.join('; ')}. ` +
      (name === undefined
        ? `No prebuilt addon fits this ${process.platform}-${process.arch} process (the Linux prebuild needs glibc). `
        : name !== 'linux-x64'
          ? `The npm package carries a prebuilt addon for linux-x64 (glibc) only; this is ${name}. `
          : '') +
      'Build from source in the package folder with `LOWRANK_BUILD_FROM_SOURCE=1 npm rebuild lowrank` ' +
      '(or `npm run build:native` in a clone; needs cmake and a C++17 compiler).',
  );
  throw loadError;
}
