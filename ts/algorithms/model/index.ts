export { energyRank, energyKept } from './spectrum.js';
export { lordFactorize, weloreFactorize, breakEven, type LordOptions, type LordResult, type BreakEven } from './lord.js';
export { svfitInit, svfitSigmaGrad, type SvfitOptions, type SvfitResult } from './svfit.js';
export { weloreRanks, WELORE_TAU, type WeloreSelection, type WeloreSpectrum, type WeloreOptions, type WeloreResult } from './welore.js';
export { trpTruncate, nuclearSubgradient, type TrpOptions, type TrpResult } from './trp.js';
export { CovarianceAccumulator, type CovarianceMode, type CovarianceOptions, type CovarianceState } from './covariance.js';
export { eoraInit, activationWeightedError, type EoraOptions, type EoraResult } from './eora.js';
export { quantizeGroupwise, dequantizeGroupwise, type QuantizeOptions, type QuantizedGroupwise } from './quantize.js';
export { pruneNM, type PruneNMOptions, type PruneNMResult } from './prune.js';
export {
  lowRankVQ,
  reduceCodebook,
  type LowRankVQOptions,
  type LowRankVQResult,
  type ReduceCodebookOptions,
  type ReduceCodebookResult,
} from './vq.js';
