/** Training-time toolkit: adapters and Tucker (T2), random subspaces (T3), GaLore (T1). */
export {
  loraSBInit,
  loraSBFirstUpdate,
  loraXS,
  svfitAdapter,
  SvfitAdapter,
  type LoraSBInitOptions,
  type LoraSBInitResult,
  type LoraSBFirstUpdateOptions,
} from './adapters.js';
export {
  randLoRABases,
  randLoRADelta,
  randLoRAPlan,
  type RandLoRAPlan,
  type RandLoRABases,
  type RandLoRAOptions,
  type RandLoRAPreset,
  type RandLoRASparsity,
} from './randlora.js';
export { hosvd, tuckerReconstruct, type HosvdOptions, type HosvdResult, type TensorInput } from './tucker.js';
export { randomSubspace, type RandomSubspace, type RandomSubspaceOptions, type SubspaceKind } from './subspace.js';
export {
  GaLoreAdamW,
  GaLoreProjector,
  type GaLoreAdamWOptions,
  type GaLoreAdamWState,
  type GaLoreHostBasis,
  type GaLoreLazyOptions,
  type GaLoreProjectionType,
  type GaLoreProjectorJSON,
  type GaLoreProjectorOptions,
  type GaLoreRefreshInfo,
} from './galore.js';
