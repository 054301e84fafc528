export { rsvd, type RsvdOptions, type RsvdResult, type RsvdInfo, type RsvdMethod, type RsvdNormalizer, type RsvdPreset } from './rsvd.js';
export { RsvdSketch, rsvdStream, type SketchOptions, type SketchResult, type SketchState, type StreamOptions } from './sketch.js';
export { svdError, type SvdErrorOptions, type SvdErrorResult } from './error.js';
export { rangeFinder, rayleighRitz, svdFlip, type RangeFinderOptions } from './stages.js';
