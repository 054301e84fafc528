/**
 * Planar complex arrays ({ re, im } Float64Arrays) and the small dense complex kernels the ssm family
 * runs on the host (N <= 1024): argument normalization, products, inverse by LU, 2-norm condition.
 */
import { rangeError, typeError, describeValue, firstNonFinite } from '../../errors.js';
import { hostSvd } from '../../backends/native/host.js';

/** A complex vector or row-major matrix: real and imaginary parts of equal length. */
export interface Complex {
  re: Float64Array;
  im: Float64Array;
}

/** What the ssm functions accept for a complex array: { re, im } (im optional) or a real array. */
export type ComplexLike = { re: ArrayLike<number>; im?: ArrayLike<number> } | ArrayLike<number>;

function isArrayLike(v: unknown): v is ArrayLike<number> {
  return (ArrayBuffer.isView(v) && !(v instanceof DataView)) || Array.isArray(v);
}

/** Normalizes a complex argument (finite entries; `length` checked when given). */
export function toComplex(fn: string, name: string, v: unknown, length?: number | readonly number[]): Complex {
  let re: Float64Array, im: Float64Array;
  if (isArrayLike(v)) {
    re = Float64Array.from(v as ArrayLike<number>);
    im = new Float64Array(re.length);
  } else if (v !== null && typeof v === 'object' && 're' in v && isArrayLike((v as { re: unknown }).re)) {
    const o = v as { re: ArrayLike<number>; im?: unknown };
    re = Float64Array.from(o.re);
    if (o.im === undefined) im = new Float64Array(re.length);
    else if (isArrayLike(o.im)) im = Float64Array.from(o.im as ArrayLike<number>);
    else throw typeError(fn, `'${name}.im' must be an array of numbers, got ${describeValue(o.im)}`);
    if (im.length !== re.length) throw rangeError(fn, `'${name}.re' has length ${re.length} but '${name}.im' has ${im.length}`);
  } else {
    throw typeError(fn, `'${name}' must be a { re, im } pair of arrays or a real array, got ${describeValue(v)}`);
  }
  if (length !== undefined) {
    const ok = typeof length === 'number' ? [length] : length;
    if (!ok.includes(re.length)) throw rangeError(fn, `'${name}' has length ${re.length}, expected ${ok.join(' or ')}`);
  }
  const bad = Math.max(firstNonFinite(re), firstNonFinite(im));
  if (bad >= 0) throw rangeError(fn, `'${name}' has a non-finite entry`);
  return { re, im };
}

/** A real finite array argument. */
export function toReal(fn: string, name: string, v: unknown, length?: number): Float64Array {
  if (!isArrayLike(v)) throw typeError(fn, `'${name}' must be an array of numbers, got ${describeValue(v)}`);
  const a = Float64Array.from(v as ArrayLike<number>);
  if (length !== undefined && a.length !== length) throw rangeError(fn, `'${name}' has length ${a.length}, expected ${length}`);
  const bad = firstNonFinite(a);
  if (bad >= 0) throw rangeError(fn, `'${name}' has a non-finite entry at index ${bad}`);
  return a;
}

export function czeros(n: number): Complex {
  return { re: new Float64Array(n), im: new Float64Array(n) };
}

/** C = op(A) op(B) for row-major complex A (m x k), B (k x n); op = conjugate transpose when set. */
export function cmatmul(A: Complex, B: Complex, m: number, k: number, n: number, hA = false, hB = false): Complex {
  const C = czeros(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const ai = hA ? p * m + i : i * k + p;
      const ar = A.re[ai],
        aim = hA ? -A.im[ai] : A.im[ai];
      if (ar === 0 && aim === 0) continue;
      for (let j = 0; j < n; j++) {
        const bi = hB ? j * k + p : p * n + j;
        const br = B.re[bi],
          bim = hB ? -B.im[bi] : B.im[bi];
        C.re[i * n + j] += ar * br - aim * bim;
        C.im[i * n + j] += ar * bim + aim * br;
      }
    }
  }
  return C;
}

/** Inverse of a complex n x n matrix by LU with partial pivoting (throws a RangeError when singular). */
export function cinv(fn: string, A: Complex, n: number): Complex {
  const ar = A.re.slice(),
    ai = A.im.slice();
  const X = czeros(n * n);
  for (let i = 0; i < n; i++) X.re[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let piv = c,
      best = -1;
    for (let r = c; r < n; r++) {
      const v = Math.hypot(ar[r * n + c], ai[r * n + c]);
      if (v > best) {
        best = v;
        piv = r;
      }
    }
    if (!(best > 0)) throw rangeError(fn, 'the eigenvector matrix is singular to working precision');
    if (piv !== c) {
      for (const M of [ar, ai, X.re, X.im])
        for (let j = 0; j < n; j++) {
          const t = M[c * n + j];
          M[c * n + j] = M[piv * n + j];
          M[piv * n + j] = t;
        }
    }
    const pr = ar[c * n + c],
      pi = ai[c * n + c],
      d = pr * pr + pi * pi;
    const ir = pr / d,
      ii = -pi / d; // 1 / pivot
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const xr = ar[r * n + c],
        xi = ai[r * n + c];
      if (xr === 0 && xi === 0) continue;
      const fr = xr * ir - xi * ii,
        fi = xr * ii + xi * ir;
      for (let j = 0; j < n; j++) {
        const br = ar[c * n + j],
          bi = ai[c * n + j];
        ar[r * n + j] -= fr * br - fi * bi;
        ai[r * n + j] -= fr * bi + fi * br;
        const yr = X.re[c * n + j],
          yi = X.im[c * n + j];
        X.re[r * n + j] -= fr * yr - fi * yi;
        X.im[r * n + j] -= fr * yi + fi * yr;
      }
    }
  }
  for (let r = 0; r < n; r++) {
    const pr = ar[r * n + r],
      pi = ai[r * n + r],
      d = pr * pr + pi * pi;
    const ir = pr / d,
      ii = -pi / d;
    for (let j = 0; j < n; j++) {
      const yr = X.re[r * n + j],
        yi = X.im[r * n + j];
      X.re[r * n + j] = yr * ir - yi * ii;
      X.im[r * n + j] = yr * ii + yi * ir;
    }
  }
  return X;
}

/** Real embedding [[Re, -Im], [Im, Re]] (2n x 2n) of a complex n x n matrix: same singular values, doubled. */
function embed(A: Complex, n: number): Float64Array {
  const m = 2 * n,
    E = new Float64Array(m * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const r = A.re[i * n + j],
        c = A.im[i * n + j];
      E[i * m + j] = r;
      E[i * m + n + j] = -c;
      E[(n + i) * m + j] = c;
      E[(n + i) * m + n + j] = r;
    }
  return E;
}

/**
 * Extreme singular triplets of a complex n x n matrix (through the real embedding and the f64 SVD):
 * s1 >= sn and unit complex u1, q1, un, qn with A q = s u.
 */
export async function extremeSingular(
  A: Complex,
  n: number,
): Promise<{ s1: number; sn: number; u1: Complex; q1: Complex; un: Complex; qn: Complex }> {
  const m = 2 * n;
  const { U, S, V } = await hostSvd(embed(A, n), m, m);
  const col = (M: Float64Array, j: number): Complex => {
    const re = new Float64Array(n),
      im = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      re[i] = M[i * m + j];
      im[i] = M[(n + i) * m + j];
    }
    return { re, im };
  };
  return { s1: S[0], sn: S[m - 1], u1: col(U, 0), q1: col(V, 0), un: col(U, m - 1), qn: col(V, m - 1) };
}

/** 2-norm condition number of a complex n x n matrix (Infinity when singular). */
export async function cond2(A: Complex, n: number): Promise<number> {
  const m = 2 * n;
  const { S } = await hostSvd(embed(A, n), m, m);
  return S[m - 1] > 0 ? S[0] / S[m - 1] : Infinity;
}

/** Spectral norm of a complex n x n matrix. */
export async function cnorm2(A: Complex, n: number): Promise<number> {
  const { S } = await hostSvd(embed(A, n), 2 * n, 2 * n);
  return S[0];
}

/** Spectral norm of a real row-major m x n matrix. */
export async function norm2(A: Float64Array, m: number, n: number): Promise<number> {
  const { S } = await hostSvd(A, m, n);
  return S[0];
}
