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
