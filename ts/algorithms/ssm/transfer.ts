/** Transfer functions: the diagonal (eigen) form, a dense resolvent reference, and the sup error on iR. */
import { rangeError } from '../../errors.js';
import { toComplex, type Complex, type ComplexLike } from './complex.js';

/**
 * G(s) = sum_n C_n B_n / (s - Lambda_n) at every point of `s` (complex arrays of length N for Lambda, B, C).
 */
export function transfer(sys: { Lambda: ComplexLike; B: ComplexLike; C: ComplexLike }, s: ComplexLike): Complex {
  const fn = 'ssm.transfer';
  if (sys === null || typeof sys !== 'object') throw rangeError(fn, 'the system must be an object { Lambda, B, C }');
  const lam = toComplex(fn, 'Lambda', sys.Lambda);
  const N = lam.re.length;
  const B = toComplex(fn, 'B', sys.B, N),
    C = toComplex(fn, 'C', sys.C, N);
  const z = toComplex(fn, 's', s);
  const wr = new Float64Array(N),
    wi = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    wr[n] = C.re[n] * B.re[n] - C.im[n] * B.im[n];
    wi[n] = C.re[n] * B.im[n] + C.im[n] * B.re[n];
  }
  const out: Complex = { re: new Float64Array(z.re.length), im: new Float64Array(z.re.length) };
  for (let k = 0; k < z.re.length; k++) {
    let gr = 0,
      gi = 0;
    for (let n = 0; n < N; n++) {
      const dr = z.re[k] - lam.re[n],
        di = z.im[k] - lam.im[n],
        m = dr * dr + di * di;
      // w / d = w conj(d) / |d|^2
      gr += (wr[n] * dr + wi[n] * di) / m;
      gi += (wi[n] * dr - wr[n] * di) / m;
    }
    out.re[k] = gr;
    out.im[k] = gi;
  }
  return out;
}

/**
 * Reference G(s) = C (sI - A)^{-1} B for a real row-major N x N A and real B, C, by a complex solve per
 * point (forward substitution when A is lower triangular, else Gaussian elimination with partial pivoting).
 */
export function transferDense(A: Float64Array, N: number, B: ArrayLike<number>, C: ArrayLike<number>, s: Complex): Complex {
  let lower = true;
  for (let i = 0; i < N && lower; i++)
    for (let j = i + 1; j < N; j++)
      if (A[i * N + j] !== 0) {
        lower = false;
        break;
      }
  const out: Complex = { re: new Float64Array(s.re.length), im: new Float64Array(s.re.length) };
  const xr = new Float64Array(N),
    xi = new Float64Array(N);
  const Mr = lower ? new Float64Array(0) : new Float64Array(N * N),
    Mi = lower ? new Float64Array(0) : new Float64Array(N * N);
  for (let k = 0; k < s.re.length; k++) {
    const sr = s.re[k],
      si = s.im[k];
    if (lower) {
      for (let i = 0; i < N; i++) {
        let rr = B[i],
          ri = 0;
        for (let j = 0; j < i; j++) {
          rr += A[i * N + j] * xr[j];
          ri += A[i * N + j] * xi[j];
        }
        const dr = sr - A[i * N + i],
          di = si,
          m = dr * dr + di * di;
        xr[i] = (rr * dr + ri * di) / m;
        xi[i] = (ri * dr - rr * di) / m;
      }
    } else {
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          Mr[i * N + j] = -A[i * N + j];
          Mi[i * N + j] = 0;
        }
        Mr[i * N + i] += sr;
        Mi[i * N + i] += si;
        xr[i] = B[i];
        xi[i] = 0;
      }
      for (let c = 0; c < N; c++) {
        let p = c,
          best = -1;
        for (let r = c; r < N; r++) {
          const v = Math.hypot(Mr[r * N + c], Mi[r * N + c]);
          if (v > best) {
            best = v;
            p = r;
          }
        }
        if (p !== c) {
          for (let j = 0; j < N; j++) {
            let t = Mr[c * N + j];
            Mr[c * N + j] = Mr[p * N + j];
            Mr[p * N + j] = t;
            t = Mi[c * N + j];
            Mi[c * N + j] = Mi[p * N + j];
            Mi[p * N + j] = t;
          }
          let t = xr[c];
          xr[c] = xr[p];
          xr[p] = t;
          t = xi[c];
          xi[c] = xi[p];
          xi[p] = t;
        }
        const pr = Mr[c * N + c],
          pi = Mi[c * N + c],
          pm = pr * pr + pi * pi;
        for (let r = c + 1; r < N; r++) {
          const ar = Mr[r * N + c],
            ai = Mi[r * N + c];
          const fr = (ar * pr + ai * pi) / pm,
            fi = (ai * pr - ar * pi) / pm;
          for (let j = c; j < N; j++) {
            Mr[r * N + j] -= fr * Mr[c * N + j] - fi * Mi[c * N + j];
            Mi[r * N + j] -= fr * Mi[c * N + j] + fi * Mr[c * N + j];
          }
          xr[r] -= fr * xr[c] - fi * xi[c];
          xi[r] -= fr * xi[c] + fi * xr[c];
        }
      }
      for (let i = N - 1; i >= 0; i--) {
        let rr = xr[i],
          ri = xi[i];
        for (let j = i + 1; j < N; j++) {
          rr -= Mr[i * N + j] * xr[j] - Mi[i * N + j] * xi[j];
          ri -= Mr[i * N + j] * xi[j] + Mi[i * N + j] * xr[j];
        }
        const dr = Mr[i * N + i],
          di = Mi[i * N + i],
          m = dr * dr + di * di;
        xr[i] = (rr * dr + ri * di) / m;
        xi[i] = (ri * dr - rr * di) / m;
      }
    }
    let gr = 0,
      gi = 0;
    for (let i = 0; i < N; i++) {
      gr += C[i] * xr[i];
      gi += C[i] * xi[i];
    }
    out.re[k] = gr;
    out.im[k] = gi;
  }
  return out;
}

/** The spec's frequency grid s = i omega_j, omega_j = 10^(-3 + 8 j / (points - 1)) (16001 points by default). */
export function frequencyGrid(points = 16001, lo = -3, hi = 5): Complex {
  const s: Complex = { re: new Float64Array(points), im: new Float64Array(points) };
  for (let j = 0; j < points; j++) s.im[j] = 10 ** (lo + ((hi - lo) * j) / (points - 1));
  return s;
}

/** max_k |G1(s_k) - G2(s_k)| and the omega where it is attained. */
export function maxGap(G1: Complex, G2: Complex, s: Complex): { value: number; omega: number } {
  let value = 0,
    omega = 0;
  for (let k = 0; k < G1.re.length; k++) {
    const d = Math.hypot(G1.re[k] - G2.re[k], G1.im[k] - G2.im[k]);
    if (d > value) {
      value = d;
      omega = s.im[k];
    }
  }
  return { value, omega };
}
