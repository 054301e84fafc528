export {
  leverageScores,
  lewisWeights,
  lpSensitivities,
  type LewisOptions,
  type LewisDetails,
  type SensitivityOptions,
  type SensitivityMethod,
} from './scores.js';
export { sensitivitySample, keepProbabilities, type SampleOptions, type Sample, type SampleScores } from './sample.js';
export { lpRegression, type RegressionOptions, type RegressionResult } from './regression.js';
export { embeddingDistortion, type DistortionOptions, type DistortionResult } from './distortion.js';
