export {
  robustRecover,
  warmupAuto,
  type SensingProblem,
  type RecoverOptions,
  type RecoverResult,
  type StepOptions,
  type IterInfo,
} from './recover.js';
export { sensingProblem, type SensingProblemOptions, type SensingProblemResult, type OutlierKind } from './problem.js';
export {
  gaussianMeasurements,
  denseMeasurements,
  entryMeasurements,
  type MeasurementOperator,
  type CustomMeasurements,
  type GaussianMeasurementOptions,
} from './operators.js';
