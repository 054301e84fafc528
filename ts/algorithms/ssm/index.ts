/**
 * State-space model kernels with perturb-then-diagonalize (namespace `ssm`): HiPPO-LegS and its normal
 * part, a real non-symmetric eigensolver, PTD, discretization, Vandermonde kernels, FFT convolution, the
 * recurrent scan and transfer functions. Spec: shared/spec/ptd-ssm.md.
 */
export { hippo, hippoNormal } from './hippo.js';
export { eig } from './eig.js';
export { ptd, type PtdOptions, type PtdResult } from './ptd.js';
export { discretize, type Discretization } from './discretize.js';
export { kernel, conv, scan, type KernelOptions } from './kernel.js';
export { transfer } from './transfer.js';
export type { Complex, ComplexLike } from './complex.js';
