/** Random-subspace training (intrinsic dimension): T3 of issue 16. */
export { randomSubspace, type RandomSubspace, type RandomSubspaceOptions, type SubspaceKind } from './subspace.js';
