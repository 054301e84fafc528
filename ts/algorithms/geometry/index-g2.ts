export { molrgSample, molrgDenoise } from './molrg.js';
export type { MolrgSampleOptions, MolrgSample, MolrgDenoiseOptions } from './molrg.js';
export { kSubspaces } from './ksubspaces.js';
export type { KSubspacesOptions, KSubspacesResult } from './ksubspaces.js';
export { clusteringAccuracy, nmi } from './metrics.js';
export { nearestSubspace } from './nearest.js';
export type { NearestSubspaceOptions, NearestSubspaceModel } from './nearest.js';
