/** ssm.eig: real non-symmetric eigendecomposition on the host (native f64). */
import { checkInt, rangeError, typeError, describeValue, firstNonFinite } from '../../errors.js';
import { hostEig } from '../../backends/native/host.js';
import type { Complex } from './complex.js';
import { MAX_N } from './hippo.js';

/** Validates a real row-major N x N matrix argument. */
export function squareArg(fn: string, A: unknown, N: unknown): Float64Array {
  checkInt(fn, 'N', N, 1, MAX_N);
  const n = N as number;
  if (!((ArrayBuffer.isView(A) && !(A instanceof DataView)) || Array.isArray(A)))
    throw typeError(fn, `'A' must be a row-major array of N*N numbers, got ${describeValue(A)}`);
  const a = Float64Array.from(A as ArrayLike<number>);
  if (a.length !== n * n) throw rangeError(fn, `'A' has length ${a.length}, expected N*N = ${n * n}`);
  const bad = firstNonFinite(a);
  if (bad >= 0) throw rangeError(fn, `'A' has a non-finite entry at index ${bad}`);
  return a;
}

/**
 * Eigendecomposition A V = V diag(values) of a real row-major N x N matrix, in f64 (Hessenberg
 * reduction, Francis double-shift QR, back-substitution). Every column of V has unit 2-norm; complex
 * pairs are adjacent, positive imaginary part first.
 *
 * For non-normal matrices the eigenvectors can be numerically meaningless: HiPPO-LegS with N = 64 has
 * cond(V) = 3.2e47, far beyond f64, and the computed V is garbage. Use {@link ptd} instead.
 */
export async function eig(A: ArrayLike<number>, N: number): Promise<{ values: Complex; vectors: Complex }> {
  const a = squareArg('ssm.eig', A, N);
  return hostEig(a, N);
}
