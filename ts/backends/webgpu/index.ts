/**
 * The WebGPU backend: f32 stores in pooled GPU buffers, every primitive a hand-written WGSL kernel
 * (kernels/<family>.ts + wgsl/<family>.wgsl). Small dense factorizations (both sides <= 512) may run
 * on the host through the native addon, as MAGMA does; large-data work always stays on the device.
 */
import type { Backend, DenseRef, SegmentSketch, SparseRef } from '../../backend.js';
import type { Store, StructStore } from '../../mat.js';
import type { SparseStructure } from '../../sparse/csr.js';
import type { EngineInfo, FloatArray, NormKind } from '../../types.js';
import type { NativeBackend } from '../native/index.js';
import { GpuContext, type GpuStore } from './context.js';
import { acquireDevice, WebGPUPackageMissingError } from './device.js';
import type { GpuEnv, GpuStructure } from './env.js';
import * as fill from './kernels/fill.js';
import * as ewise from './kernels/ewise.js';
import * as reduce from './kernels/reduce.js';
import * as gemm from './kernels/gemm.js';
import * as factor from './kernels/factor.js';
import * as eig from './kernels/eig.js';
import * as svdvals from './kernels/svdvals.js';
import * as sparse from './kernels/sparse.js';
import * as block from './kernels/block.js';
import * as lu from './kernels/lu.js';
import * as ssm from './kernels/ssm.js';
import * as gaussian from './kernels/gaussian_apply.js';
import * as fwhtKernel from './kernels/fwht.js';
import * as choleskyBatch from './kernels/cholesky_batch.js';
import * as segmentCG from './kernels/segment_cg.js';
import * as segmentGram from './kernels/segment_gram.js';
import * as adam from './kernels/adam_step.js';
import * as fakeQuant from './kernels/fake_quantize.js';

/** The message for an unavailable WebGPU adapter: what happened and what to do. */
export function webgpuUnavailableReason(e: unknown): string {
  if (e instanceof WebGPUPackageMissingError)
    return (
      "engine: backend 'webgpu' needs the optional package 'webgpu' (Dawn's Node binding), which is not " +
      "installed. Install it with `npm install webgpu`, or use { backend: 'native' } or 'auto'."
    );
  const why = e instanceof Error ? e.message : String(e);
  return (
    `engine: backend 'webgpu' was requested but no WebGPU device could be created (${why}). ` +
    'On a machine without a GPU, install a Vulkan software driver: Mesa lavapipe from Debian ' +
    'bookworm-backports (`apt-get install -t bookworm-backports mesa-vulkan-drivers`, version 25; ' +
    "bookworm's own 22.3 is refused by Dawn). Otherwise use { backend: 'native' } or 'auto'."
  );
}

const st = (r: DenseRef): GpuStore => r._store as GpuStore;

export class WebGPUBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly dtype = 'f32' as const;
  /** @internal */ readonly env: GpuEnv;
  private readonly _info: Omit<EngineInfo, 'backend' | 'dtype' | 'memory'>;

  private constructor(env: GpuEnv) {
    this.env = env;
    const l = env.ctx.limits;
    this._info = {
      threads: env.host.threads,
      adapter: { ...env.ctx.bundle.info },
      limits: {
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      },
    };
  }

  static async create(
    host: NativeBackend,
    opts: { flags?: string[]; powerPreference?: 'low-power' | 'high-performance'; rejectSoftware?: boolean },
  ): Promise<WebGPUBackend> {
    const bundle = await acquireDevice(opts);
    return new WebGPUBackend({ ctx: new GpuContext(bundle), host });
  }

  info(): Omit<EngineInfo, 'backend' | 'dtype' | 'memory'> {
    return this._info;
  }

  async dispose(): Promise<void> {
    this.env.ctx.destroy();
  }

  // ---- storage ----
  upload(data: FloatArray): Store {
    return this.env.ctx.upload(data);
  }
  fill(rows: number, cols: number, kind: 'zeros' | 'eye'): Store {
    return kind === 'zeros' ? this.env.ctx.zeros(rows * cols * 4) : fill.eye(this.env, rows, cols);
  }
  full(rows: number, cols: number, value: number): Store {
    return fill.full(this.env, rows * cols, value);
  }
  random(rows: number, cols: number, dist: 'uniform' | 'normal', seed: number, stream: number, offset: number): Store {
    return fill.random(this.env, rows * cols, dist, seed, stream, offset);
  }
  async download(a: DenseRef): Promise<FloatArray> {
    const s = st(a);
    return new Float32Array(await this.env.ctx.read(s.buffer, 0, a.rows * a.cols * 4));
  }
  free(s: Store): void {
    this.env.ctx.release(s as GpuStore);
  }
  uploadStructure(s: SparseStructure): StructStore {
    const ctx = this.env.ctx;
    const up = (a: Int32Array): GpuStore => ctx.upload(a.length ? a : new Int32Array(1));
    const g: GpuStructure = {
      rowPtr: up(s.rowPtr),
      colIdx: up(s.colIdx),
      colPtr: up(s.colPtr),
      rowIdx: up(s.rowIdx),
      perm: up(s.perm),
    };
    return g;
  }
  freeStructure(s: StructStore): void {
    const g = s as GpuStructure;
    for (const k of ['rowPtr', 'colIdx', 'colPtr', 'rowIdx', 'perm'] as const) this.env.ctx.release(g[k]);
    for (const d of g.derived?.values() ?? []) if (d.store) this.env.ctx.release(d.store);
  }

  // ---- dense primitives ----
  async matmul(a: DenseRef, b: DenseRef, transA: boolean, transB: boolean, alpha: number): Promise<Store> {
    return gemm.matmul(this.env, a, b, transA, transB, alpha);
  }
  async axpby(alpha: number, a: DenseRef, beta: number, b: DenseRef | null): Promise<Store> {
    return ewise.axpby(this.env, alpha, a, beta, b);
  }
  async hadamard(a: DenseRef, b: DenseRef): Promise<Store> {
    return ewise.hadamard(this.env, a, b);
  }
  async transpose(a: DenseRef): Promise<Store> {
    return ewise.transpose(this.env, a);
  }
  norm(a: DenseRef, kind: NormKind): Promise<number> {
    return reduce.norm(this.env, a, kind);
  }
  colNorms(a: DenseRef): Promise<Float64Array> {
    return reduce.axisNorms(this.env, a, 'cols');
  }
  rowNorms(a: DenseRef): Promise<Float64Array> {
    return reduce.axisNorms(this.env, a, 'rows');
  }

  async slice(a: DenseRef, r0: number, c0: number, rows: number, cols: number): Promise<Store> {
    return block.slice(this.env, a, r0, c0, rows, cols);
  }
  async concat(mats: readonly DenseRef[], axis: 'h' | 'v'): Promise<Store> {
    return block.concat(this.env, mats, axis);
  }
  async scaleAxis(a: DenseRef, s: Float64Array, axis: 'rows' | 'cols'): Promise<Store> {
    return block.scaleAxis(this.env, a, s, axis);
  }
  colAbsMax(a: DenseRef): Promise<{ index: Int32Array; value: Float64Array }> {
    return block.colAbsMax(this.env, a);
  }
  rowArgmin(a: DenseRef): Promise<{ index: Int32Array; value: Float64Array }> {
    return block.rowArgmin(this.env, a);
  }

  // ---- factorizations ----
  async lu(a: DenseRef): Promise<{ PL: Store; U: Store }> {
    return lu.lu(this.env, a);
  }
  qr(a: DenseRef): Promise<{ Q: Store; R: Store }> {
    return factor.qr(this.env, a);
  }
  cholesky(a: DenseRef): Promise<Store> {
    return factor.cholesky(this.env, a);
  }
  solveTriangular(t: DenseRef, b: DenseRef, lower: boolean, trans: boolean): Promise<Store> {
    return factor.solveTriangular(this.env, t, b, lower, trans);
  }
  lstsq(a: DenseRef, b: DenseRef): Promise<{ X: Store; rank: number }> {
    return factor.lstsq(this.env, a, b);
  }
  eigh(a: DenseRef): Promise<{ values: Float64Array; vectors: Store }> {
    return eig.eigh(this.env, a);
  }
  svd(a: DenseRef): Promise<{ U: Store; S: Float64Array; V: Store }> {
    return eig.svd(this.env, a);
  }
  svdvals(a: DenseRef): Promise<Float64Array> {
    return svdvals.svdvals(this.env, a);
  }

  // ---- sparse ----
  spmm(s: SparseRef, b: DenseRef, transS: boolean): Promise<Store> {
    return sparse.spmm(this.env, s, b, transS);
  }
  sddmm(s: SparseRef, u: DenseRef, v: DenseRef): Promise<Store> {
    return sparse.sddmm(this.env, s, u, v);
  }

  // ---- state-space models ----
  async ssmVandermonde(table: Float64Array, h: number, n: number, l: number): Promise<Store> {
    return ssm.vandermonde(this.env, table, h, n, l);
  }
  async ssmConv(u: DenseRef, k: DenseRef, d: Float64Array | null): Promise<Store> {
    return ssm.conv(this.env, u, k, d);
  }
  async ssmScan(u: DenseRef, table: Float64Array, h: number, n: number): Promise<Store> {
    return ssm.scan(this.env, u, table, h, n);
  }

  // ---- matrix-free Gaussian measurements ----
  async gaussianApply(x: DenseRef, m: number, seed: number, stream: number, offset: number): Promise<Store> {
    return gaussian.gaussianApply(this.env, x, m, seed, stream, offset);
  }
  async gaussianAdjoint(r: DenseRef, n: number, seed: number, stream: number, offset: number): Promise<Store> {
    return gaussian.gaussianAdjoint(this.env, r, n, seed, stream, offset);
  }
  async sign(a: DenseRef): Promise<Store> {
    return gaussian.sign(this.env, a);
  }

  async fwht(a: DenseRef): Promise<Store> {
    return fwhtKernel.fwht(this.env, a);
  }

  // ---- optimizers ----
  async adamStep(
    m: DenseRef,
    v: DenseRef,
    g: DenseRef,
    beta1: number,
    beta2: number,
    eps: number,
    corr: number,
  ): Promise<{ M: Store; V: Store; N: Store }> {
    return adam.adamStep(this.env, m, v, g, beta1, beta2, eps, corr);
  }

  async fakeQuantize(a: DenseRef, bits: number, groupSize: number, stochastic: boolean, seed: number, offset: number): Promise<Store> {
    return fakeQuant.fakeQuantize(this.env, a, bits, groupSize, stochastic, seed, offset);
  }

  // ---- segmented least squares ----
  segmentGram(s: SparseRef, f: DenseRef, transS: boolean, mode: 'full' | 'diag', sketch: SegmentSketch | null): Promise<Store> {
    return segmentGram.segmentGram(this.env, s, f, transS, mode, sketch);
  }
  choleskyBatch(
    g: DenseRef,
    k: number,
    ridge: Float64Array | null,
    fallback: number,
    inverse: boolean,
  ): Promise<{ L: Store; status: Store }> {
    return choleskyBatch.choleskyBatch(this.env, g, k, ridge, fallback, inverse);
  }
  choleskySolveBatch(l: DenseRef, h: DenseRef): Promise<Store> {
    return choleskyBatch.choleskySolveBatch(this.env, l, h);
  }
  segmentCG(s: SparseRef, f: DenseRef, x0: DenseRef, p: DenseRef, transS: boolean, steps: number, ridge: DenseRef | null): Promise<Store> {
    return segmentCG.segmentCG(this.env, s, f, x0, p, transS, steps, ridge);
  }
}
