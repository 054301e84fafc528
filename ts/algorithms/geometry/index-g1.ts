/** Subspace geometry, part G1: principal angles, subspace distances, SVCCA / PWCCA / linear CKA. */
export { principalAngles, subspaceDistance } from './angles.js';
export type { SubspaceDistanceKind } from './angles.js';
export { linearCKA, pwcca, svcca } from './similarity.js';
export type { LinearCkaOptions, PwccaOptions, PwccaResult, SvccaOptions, SvccaResult } from './similarity.js';
