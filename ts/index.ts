/**
 * lowrank: low-rank and subspace methods on WebGPU (hand-written WGSL through Dawn) and a C++ N-API
 * backend, behind one typed API.
 */
export { engine, Engine } from './engine.js';
export { Mat, SparseMat } from './mat.js';
export type {
  ArrayFor,
  BackendName,
  CooInput,
  CooOutput,
  DType,
  EngineInfo,
  EngineOptions,
  AdapterInfo,
  FloatArray,
  MatmulOptions,
  NormKind,
  RandomOptions,
  SolveTriangularOptions,
  SpmmOptions,
} from './types.js';
export * from './io/index.js';
export type { LinearOperator, MatrixLike } from './algorithms/operator.js';
export * from './algorithms/rsvd/index.js';
export * from './algorithms/sampling/index.js';
export * as ssm from './algorithms/ssm/index.js';
export * from './algorithms/subgm/index.js';
export * from './algorithms/completion/index.js';
export * from './algorithms/cluster/index.js';
export * from './algorithms/model/index.js';
export * from './algorithms/geometry/index.js';
export * from './algorithms/train/index-t1.js';
