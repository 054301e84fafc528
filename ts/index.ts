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
export { quantizeGroupwise, dequantizeGroupwise, type QuantizeOptions, type QuantizedGroupwise } from './algorithms/model/quantize.js';
export { pruneNM, type PruneNMOptions, type PruneNMResult } from './algorithms/model/prune.js';
export {
  lowRankVQ,
  reduceCodebook,
  type LowRankVQOptions,
  type LowRankVQResult,
  type ReduceCodebookOptions,
  type ReduceCodebookResult,
} from './algorithms/model/vq.js';
