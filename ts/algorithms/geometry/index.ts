/** Subspace geometry: angles and similarity (G1), clustering (G2), coding rate (G3), Grassmann and Flag (G4). */
export { principalAngles, subspaceDistance } from './angles.js';
export type { SubspaceDistanceKind } from './angles.js';
export { linearCKA, pwcca, svcca } from './similarity.js';
export type { LinearCkaOptions, PwccaOptions, PwccaResult, SvccaOptions, SvccaResult } from './similarity.js';
export { molrgSample, molrgDenoise } from './molrg.js';
export type { MolrgSampleOptions, MolrgSample, MolrgDenoiseOptions } from './molrg.js';
export { kSubspaces } from './ksubspaces.js';
export type { KSubspacesOptions, KSubspacesResult } from './ksubspaces.js';
export { clusteringAccuracy, nmi } from './metrics.js';
export { nearestSubspace } from './nearest.js';
export type { NearestSubspaceOptions, NearestSubspaceModel } from './nearest.js';
export {
  codingRate,
  rateReduction,
  type CodingRateOptions,
  type CodingRateResult,
  type GramSide,
  type RateReductionOptions,
  type RateReductionResult,
} from './codingrate.js';
export { sinkhorn, SINKHORN_MAX_N, type SinkhornOptions, type SinkhornResult } from './sinkhorn.js';
export { mssa, istaStep, MSSA_MAX_TOKENS, type MssaOptions, type IstaOptions } from './crate.js';
export {
  grassmannStep,
  grassmannLogits,
  reorthonormalize,
  type GrassmannRetraction,
  type GrassmannMomentum,
  type GrassmannStepOptions,
  type GrassmannStepResult,
  type GrassmannLogitsOptions,
} from './grassmann.js';
export { flagAggregate, type FlagAggregateOptions, type FlagAggregateResult } from './flag.js';
