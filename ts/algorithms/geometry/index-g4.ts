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
