/** Public types shared by the facade, the backends and the algorithms. */

/** Element type of an engine: `f32` (both backends) or `f64` (native only; WGSL has no f64). */
export type DType = 'f32' | 'f64';

/** A concrete backend. `'auto'` resolves to one of these when the engine is created. */
export type BackendName = 'webgpu' | 'native';

/** Host array type for a dtype. */
export type ArrayFor<D extends DType> = D extends 'f64' ? Float64Array : Float32Array;

/** Any float host array accepted on input. */
export type FloatArray = Float32Array | Float64Array;

export interface EngineOptions<D extends DType = DType> {
  /** `'auto'` (default): WebGPU when a hardware (not CPU/software) adapter is found and dtype is `f32`, else native; see `EngineInfo.autoReason`. */
  backend?: BackendName | 'auto';
  /** Element type, default `'f32'`. */
  dtype?: D;
  /**
   * Threads for the native backend (and for the host-side small factorizations of the WebGPU
   * backend). Default: every hardware thread (capped by the `LOWRANK_THREADS` environment variable).
   */
  threads?: number;
  /** WebGPU options. */
  webgpu?: {
    /** Dawn toggles/flags passed to `create()` of the `webgpu` package, e.g. `['backend=vulkan']`. */
    flags?: string[];
    /** Adapter preference, default `'high-performance'`. */
    powerPreference?: 'low-power' | 'high-performance';
  };
}

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export interface EngineInfo {
  backend: BackendName;
  dtype: DType;
  /** Native compute threads this engine uses (for WebGPU: its host-side factorizations). */
  threads: number;
  /** Device stores of this engine that are alive (not yet disposed) and their bytes; 0 after dispose(). */
  memory: { stores: number; bytes: number };
  /** WebGPU only: the adapter the device was created on. */
  adapter?: AdapterInfo;
  /** WebGPU only: the device limits that matter to lowrank. */
  limits?: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
  };
  /** Native only: instruction set and GEMM kernel chosen at load time. */
  isa?: string;
  gemmKernel?: string;
  /**
   * Backend 'auto' only: why it resolved to this backend, e.g. that the only WebGPU adapter is a
   * software rasterizer (lavapipe/llvmpipe, SwiftShader) so native was chosen.
   */
  autoReason?: string;
}

export interface MatmulOptions {
  /** Use A^T instead of A. */
  transA?: boolean;
  /** Use B^T instead of B. */
  transB?: boolean;
  /** Scale of the product, default 1. */
  alpha?: number;
}

export interface RandomOptions {
  /**
   * Seed, an integer in [0, 2^53). Default: the engine's own counter (0, 1, 2, ... in call order),
   * so a program that creates random matrices in a fixed order is reproducible without seeds.
   */
  seed?: number;
  /**
   * Start position (element index) in the seed's stream, default 0: rows r0..r1 of a huge random
   * matrix can be generated alone with `offset = r0 * cols`. An integer in [0, 2^53).
   */
  offset?: number;
}

export interface SolveTriangularOptions {
  /** T is lower triangular (default true); otherwise upper. Entries on the other side are ignored. */
  lower?: boolean;
  /** Solve T^T X = B instead of T X = B (default false). */
  trans?: boolean;
}

export interface SpmmOptions {
  /** Use S^T instead of S (default false). */
  transS?: boolean;
}

export type NormKind = 'fro' | 'max';

/** COO triplets for {@link Engine.sparse}. Duplicates are summed. */
export interface CooInput {
  rows: number;
  cols: number;
  row: Int32Array | ArrayLike<number>;
  col: Int32Array | ArrayLike<number>;
  val: Float32Array | Float64Array | ArrayLike<number>;
}

/** COO triplets as returned by {@link SparseMat.toCOO}: row-major order, no duplicates. */
export interface CooOutput<D extends DType = DType> {
  rows: number;
  cols: number;
  row: Int32Array;
  col: Int32Array;
  val: ArrayFor<D>;
}
