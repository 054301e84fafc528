/** File formats: NumPy `.npy` (dense, streaming) and Matrix Market `.mtx` (sparse and dense). */
export {
  NpyFormatError,
  createNpyWriter,
  encodeNpy,
  openNpy,
  parseNpy,
  parseNpyHeader,
  readNpy,
  readNpyHeader,
  writeNpy,
} from './npy.js';
export type { NpyArray, NpyDType, NpyHeader, NpyReader, NpyWriteOptions, NpyWriter } from './npy.js';
export { MtxFormatError, formatMtx, parseMtx, readMtx, readMtxStream, writeMtx } from './mtx.js';
export type { MtxArray, MtxCoordinate, MtxField, MtxInput, MtxMatrix, MtxSymmetry, MtxWriteOptions } from './mtx.js';
