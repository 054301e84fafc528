/** HiPPO-LegS (S4 / S5 convention) and its normal part (S4D-LegS / S5 "HiPPO-N"), on the host in f64. */
import { checkInt, checkOneOf } from '../../errors.js';
import type { Complex } from './complex.js';
import { jacobi } from '../host-eig.js';

/** Largest state size accepted by the host-side ssm routines. */
export const MAX_N = 1024;
/** Largest N of {@link hippoNormal} (a host Jacobi eigensolver on the 2N x 2N real embedding). */
export const MAX_NORMAL_N = 256;

/**
 * HiPPO-LegS: A_jk = -sqrt(2j+1) sqrt(2k+1) (j > k), A_jj = -(j+1), 0 above the diagonal; B_j = sqrt(2j+1).
 * A is row-major N x N, lower triangular, with eigenvalues -1, ..., -N and A e_0 + B = 0.
 */
export function hippo(kind: 'legs', N: number): { A: Float64Array; B: Float64Array } {
  const fn = 'ssm.hippo';
  checkOneOf(fn, 'kind', kind, ['legs'] as const);
  checkInt(fn, 'N', N, 1, MAX_N);
  const A = new Float64Array(N * N),
    B = new Float64Array(N);
  for (let j = 0; j < N; j++) {
    B[j] = Math.sqrt(2 * j + 1);
    for (let k = 0; k < j; k++) A[j * N + k] = -Math.sqrt(2 * j + 1) * Math.sqrt(2 * k + 1);
    A[j * N + j] = -(j + 1);
  }
  return { A, B };
}

/**
 * The normal part of HiPPO-LegS (S4D-LegS / S5): A + P P^T = -I/2 + S with P_j = sqrt(j + 1/2) and S
 * skew-symmetric; Lambda = -1/2 + i w with (w, V) = eigh(-i S), V unitary (N x N row-major, columns the
 * eigenvectors), B = V^H B_HiPPO. All N modes, sorted by Im(Lambda) ascending (conjugate pairs).
 */
export function hippoNormal(N: number): { Lambda: Complex; B: Complex; V: Complex } {
  const fn = 'ssm.hippoNormal';
  checkInt(fn, 'N', N, 1, MAX_NORMAL_N);
  // -iS is Hermitian with zero real part; its real embedding [[0, S], [-S, 0]] is symmetric, and every
  // eigenvalue w of -iS appears twice there, with eigenvectors [x; y] <-> x + i y.
  const m = 2 * N,
    E = new Float64Array(m * m);
  for (let j = 0; j < N; j++)
    for (let k = 0; k < N; k++) {
      if (j === k) continue;
      const s = ((j > k ? -1 : 1) * Math.sqrt(2 * j + 1) * Math.sqrt(2 * k + 1)) / 2;
      E[j * m + N + k] = s;
      E[(N + j) * m + k] = -s;
    }
  const { w, v } = jacobi(E, m);
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => w[a] - w[b]);
  const Lambda: Complex = { re: new Float64Array(N).fill(-0.5), im: new Float64Array(N) };
  const V: Complex = { re: new Float64Array(N * N), im: new Float64Array(N * N) };
  const B: Complex = { re: new Float64Array(N), im: new Float64Array(N) };
  for (let c = 0; c < N; c++) {
    const col = order[2 * c]; // one member of each doubled eigenvalue
    Lambda.im[c] = w[col];
    let br = 0,
      bi = 0;
    for (let i = 0; i < N; i++) {
      const xr = v[i * m + col],
        xi = v[(N + i) * m + col];
      V.re[i * N + c] = xr;
      V.im[i * N + c] = xi;
      const bj = Math.sqrt(2 * i + 1);
      br += xr * bj; // (V^H B)_c = sum conj(V_ic) B_i
      bi -= xi * bj;
    }
    B.re[c] = br;
    B.im[c] = bi;
  }
  return { Lambda, B, V };
}
