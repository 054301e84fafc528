/** SSM convolution kernels (Vandermonde), FFT convolution and the recurrent (scan) mode on the engine. */
import type { Engine } from '../../engine.js';
import type { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { checkDim, checkOneOf, checkOptions, checkInt, rangeError, typeError, describeValue } from '../../errors.js';
import { toComplex, toReal, type ComplexLike } from './complex.js';
import { discreteMode, type Discretization } from './discretize.js';

export interface KernelOptions {
  /** 'half': one member of each conjugate pair is stored, K = 2 Re(...); 'full': K = Re(...). Default 'half'. */
  conj?: 'half' | 'full';
  /** Default 'zoh'. */
  discretization?: Discretization;
}

function engineArg(fn: string, eng: unknown): void {
  if (eng === null || typeof eng !== 'object' || typeof (eng as { ssmVandermonde?: unknown }).ssmVandermonde !== 'function')
    throw typeError(fn, `'eng' must be an Engine, got ${describeValue(eng)}`);
}

/**
 * The SSM convolution kernel K (H x L): K[h, l] = c Re sum_n C[h, n] Bfac(dt_h, Lambda_n) LambdaBar_n^l
 * with dt_h = exp(logDt[h]), c = 2 ('half') or 1 ('full'). Lambda has length N (shared) or H N (per
 * channel); C is H x N row-major with B folded in. O(H N L) on the device; the phase l dt Im(Lambda)
 * stays accurate at long L (the host passes exact per-step turns, the device reduces modulo one turn).
 */
export async function kernel<D extends DType>(
  eng: Engine<D>,
  params: { Lambda: ComplexLike; C: ComplexLike; logDt: ArrayLike<number> },
  L: number,
  options?: KernelOptions,
): Promise<Mat<D>> {
  const fn = 'ssm.kernel';
  engineArg(fn, eng);
  if (params === null || typeof params !== 'object') throw typeError(fn, "'params' must be { Lambda, C, logDt }");
  const logDt = toReal(fn, 'logDt', params.logDt);
  const H = logDt.length;
  if (H < 1) throw rangeError(fn, "'logDt' must have at least one entry (one per channel)");
  const C = toComplex(fn, 'C', params.C);
  if (C.re.length % H !== 0 || C.re.length === 0) throw rangeError(fn, `'C' has length ${C.re.length}, not H*N with H = ${H}`);
  const N = C.re.length / H;
  const lam = toComplex(fn, 'Lambda', params.Lambda, H === 1 ? N : [N, H * N]);
  checkDim(fn, 'L', L, 1);
  const o = checkOptions<KernelOptions>(fn, options, ['conj', 'discretization']);
  const c = checkOneOf(fn, 'conj', o.conj, ['half', 'full'] as const, 'half') === 'half' ? 2 : 1;
  const disc = checkOneOf(fn, 'discretization', o.discretization, ['zoh', 'bilinear'] as const, 'zoh');
  const perChannel = lam.re.length === H * N && H > 1;
  const table = new Float64Array(H * N * 4);
  for (let h = 0; h < H; h++) {
    const dt = Math.exp(logDt[h]);
    for (let n = 0; n < N; n++) {
      const li = perChannel ? h * N + n : n;
      const { zr, zi, br, bi } = discreteMode(lam.re[li], lam.im[li], dt, disc);
      const cr = C.re[h * N + n],
        ci = C.im[h * N + n];
      const e = 4 * (h * N + n);
      table[e] = c * (cr * br - ci * bi);
      table[e + 1] = c * (cr * bi + ci * br);
      table[e + 2] = zr;
      table[e + 3] = zi;
    }
  }
  if (table.some((v) => !Number.isFinite(v))) throw rangeError(fn, 'a mode discretizes to a non-finite node (check Lambda and logDt)');
  return eng.ssmVandermonde(table, H, N, L);
}

/**
 * Causal FFT convolution y = K * u (+ D u) of u ((batch H) x L) with the kernel K (H x L): row r of u
 * uses channel r mod H. O(H L log L) per batch element.
 */
export async function conv<D extends DType>(eng: Engine<D>, u: Mat<D>, K: Mat<D>, options?: { D?: ArrayLike<number> }): Promise<Mat<D>> {
  const fn = 'ssm.conv';
  engineArg(fn, eng);
  const o = checkOptions<{ D?: ArrayLike<number> }>(fn, options, ['D']);
  return eng.ssmConv(u, K, o.D === undefined ? null : toReal(fn, 'D', o.D));
}

/**
 * Recurrent mode: x_l = LambdaBar x_{l-1} + BBar u_l (x_{-1} = 0), y_l = c Re(C x_l) for every row of u
 * ((batch H) x L), row r in channel r mod H; c = 2 ('half', default) or 1 ('full'). LambdaBar and BBar
 * have length N (shared by every channel) or H N; C is H x N. H defaults to C.length / LambdaBar.length
 * (pass it when LambdaBar is per channel). An associative scan on the device.
 */
export async function scan<D extends DType>(
  eng: Engine<D>,
  params: { LambdaBar: ComplexLike; BBar: ComplexLike; C: ComplexLike; H?: number },
  u: Mat<D>,
  options?: { conj?: 'half' | 'full' },
): Promise<Mat<D>> {
  const fn = 'ssm.scan';
  engineArg(fn, eng);
  if (params === null || typeof params !== 'object') throw typeError(fn, "'params' must be { LambdaBar, BBar, C }");
  const a = toComplex(fn, 'LambdaBar', params.LambdaBar);
  const C = toComplex(fn, 'C', params.C);
  if (a.re.length === 0) throw rangeError(fn, "'LambdaBar' is empty");
  const H = params.H === undefined ? C.re.length / a.re.length : checkInt(fn, 'H', params.H, 1, 2 ** 31 - 1);
  if (!Number.isInteger(H) || H < 1 || C.re.length % H !== 0)
    throw rangeError(fn, `'C' has length ${C.re.length}, not a multiple of LambdaBar's`);
  const N = C.re.length / H;
  if (a.re.length !== N && a.re.length !== H * N)
    throw rangeError(fn, `'LambdaBar' has length ${a.re.length}, expected N = ${N} or H*N = ${H * N}`);
  const b = toComplex(fn, 'BBar', params.BBar, H === 1 ? N : [N, H * N]);
  const o = checkOptions<{ conj?: 'half' | 'full' }>(fn, options, ['conj']);
  const c = checkOneOf(fn, 'conj', o.conj, ['half', 'full'] as const, 'half') === 'half' ? 2 : 1;
  const table = new Float64Array(H * N * 6);
  for (let h = 0; h < H; h++)
    for (let n = 0; n < N; n++) {
      const ia = a.re.length === N ? n : h * N + n,
        ib = b.re.length === N ? n : h * N + n,
        e = 6 * (h * N + n);
      table[e] = a.re[ia];
      table[e + 1] = a.im[ia];
      table[e + 2] = b.re[ib];
      table[e + 3] = b.im[ib];
      table[e + 4] = c * C.re[h * N + n];
      table[e + 5] = c * C.im[h * N + n];
    }
  return eng.ssmScan(u, table, H, N);
}
