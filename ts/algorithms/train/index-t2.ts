/** Training-time adapters and Tucker (issue 16, part T2): LoRA-SB / LoRA-XS, SVFit, RandLoRA, HOSVD. */
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
