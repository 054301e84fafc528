/** Discretization of a diagonal continuous SSM (ZOH, bilinear) and the discrete Vandermonde nodes. */
import { checkFinite, checkOneOf, rangeError } from '../../errors.js';
import { toComplex, type Complex, type ComplexLike } from './complex.js';

export type Discretization = 'zoh' | 'bilinear';

/**
 * Discrete node and input factor of one mode: LambdaBar = exp(dt lambda) (ZOH) or
 * (1 + dt lambda / 2) / (1 - dt lambda / 2) (bilinear); Bfac = (exp(dt lambda) - 1) / lambda with a
 * complex expm1 (no cancellation for small |dt lambda|), or dt / (1 - dt lambda / 2). `z` = log(LambdaBar)
 * (dt lambda for ZOH), so LambdaBar^l = exp(l z).
 */
export function discreteMode(
  lr: number,
  li: number,
  dt: number,
  method: Discretization,
): { zr: number; zi: number; br: number; bi: number } {
  const xr = dt * lr,
    xi = dt * li;
  if (method === 'zoh') {
    // expm1(x + iy) = (expm1(x) cos y - 2 sin^2(y/2)) + i e^x sin y
    const sh = Math.sin(xi / 2);
    const er = Math.expm1(xr) * Math.cos(xi) - 2 * sh * sh,
      ei = Math.exp(xr) * Math.sin(xi);
    const m = lr * lr + li * li;
    if (m === 0) return { zr: 0, zi: 0, br: dt, bi: 0 };
    return { zr: xr, zi: xi, br: (er * lr + ei * li) / m, bi: (ei * lr - er * li) / m };
  }
  // bilinear: d = 1 - x/2, LambdaBar = (1 + x/2) / d, Bfac = dt / d
  const dr = 1 - xr / 2,
    di = -xi / 2,
    dm = dr * dr + di * di;
  if (dm === 0) throw rangeError('ssm.discretize', 'the bilinear transform is singular (dt lambda = 2)');
  const nr = 1 + xr / 2,
    ni = xi / 2;
  const lbr = (nr * dr + ni * di) / dm,
    lbi = (ni * dr - nr * di) / dm;
  const mag = Math.hypot(lbr, lbi);
  const zr = mag > 0 ? Math.log(mag) : -Infinity,
    zi = Math.atan2(lbi, lbr);
  return { zr, zi, br: (dt * dr) / dm, bi: (-dt * di) / dm };
}

/**
 * { LambdaBar, BBar } of x' = Lambda x + B u sampled with step dt: ZOH (expm1-safe) or bilinear.
 * Lambda and B are complex arrays of length N ({ re, im } or real arrays); C is accepted and ignored
 * (the read-out does not change under discretization).
 */
export function discretize(
  sys: { Lambda: ComplexLike; B: ComplexLike; C?: ComplexLike },
  dt: number,
  method: Discretization,
): { LambdaBar: Complex; BBar: Complex } {
  const fn = 'ssm.discretize';
  if (sys === null || typeof sys !== 'object') throw rangeError(fn, 'the system must be an object { Lambda, B }');
  const lam = toComplex(fn, 'Lambda', sys.Lambda);
  const B = toComplex(fn, 'B', sys.B, lam.re.length);
  checkFinite(fn, 'dt', dt);
  if (!(dt > 0)) throw rangeError(fn, `'dt' must be > 0, got ${dt}`);
  const m = checkOneOf(fn, 'method', method, ['zoh', 'bilinear'] as const);
  const N = lam.re.length;
  const LambdaBar: Complex = { re: new Float64Array(N), im: new Float64Array(N) };
  const BBar: Complex = { re: new Float64Array(N), im: new Float64Array(N) };
  for (let n = 0; n < N; n++) {
    const { zr, zi, br, bi } = discreteMode(lam.re[n], lam.im[n], dt, m);
    const e = Math.exp(zr);
    LambdaBar.re[n] = e * Math.cos(zi);
    LambdaBar.im[n] = e * Math.sin(zi);
    BBar.re[n] = br * B.re[n] - bi * B.im[n];
    BBar.im[n] = br * B.im[n] + bi * B.re[n];
  }
  return { LambdaBar, BBar };
}
