export {
  completeMatrix,
  maskedRmse,
  averageDuplicates,
  type CompleteOptions,
  type CompletionResult,
  type CompletionInfo,
  type CompletionIter,
  type CompletionSolver,
  type CompletionPreconditioner,
} from './complete.js';
