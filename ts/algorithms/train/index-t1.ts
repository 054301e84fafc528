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
