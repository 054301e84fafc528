/** File formats: NumPy `.npy` (dense, streaming), Matrix Market `.mtx` (sparse and dense), safetensors checkpoints. */
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
export type { MtxArray, MtxCoordinate, MtxField, MtxInput, MtxMatrix, MtxReadOptions, MtxSymmetry, MtxWriteOptions } from './mtx.js';
export { SafetensorsFormatError, openSafetensors, writeSafetensors } from './safetensors.js';
export type {
  SafetensorsArray,
  SafetensorsDType,
  SafetensorsFile,
  SafetensorsInfo,
  SafetensorsOpenOptions,
  SafetensorsReadOptions,
  SafetensorsTensor,
  SafetensorsWriteDType,
  SafetensorsWriteOptions,
} from './safetensors.js';
export { bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits } from './half.js';
