/**
 * Test matrices with known singular values, A = U diag(s) V^T with random orthonormal U, V, built once
 * in f64 on the native backend (QR of Gaussian matrices) and cached per process.
 */
import { engine } from '../../ts/index.js';

const cache = new Map<string, Float64Array>();

/** m x n (row-major f64) with singular values s (length <= min(m, n)), from `seed`. */
export async function spectrumMatrix(m: number, n: number, s: Float64Array, seed: number): Promise<Float64Array> {
  const key = `${m}x${n}:${seed}:${s.length}:${s[0]}:${s[s.length - 1]}:${s[Math.floor(s.length / 2)]}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const eng = await engine({ backend: 'native', dtype: 'f64' });
  try {
    const r = s.length;
    const { Q: U, R: R1 } = await eng.qr(eng.randn(m, r, { seed: 2 * seed + 101 }));
    const { Q: V, R: R2 } = await eng.qr(eng.randn(n, r, { seed: 2 * seed + 102 }));
    const US = await eng.scaleColumns(U, s);
    const A = await eng.matmul(US, V, { transB: true });
    const out = Float64Array.from(await A.toArray());
    for (const x of [U, R1, V, R2, US, A]) x.dispose();
    cache.set(key, out);
    return out;
  } finally {
    await eng.dispose();
  }
}

/** Common spectra of length n. */
export const spectra = {
  /** s_i = 1/i */
  harmonic: (n: number) => Float64Array.from({ length: n }, (_, i) => 1 / (i + 1)),
  /** s_i = i^-1/2 */
  sqrt: (n: number) => Float64Array.from({ length: n }, (_, i) => (i + 1) ** -0.5),
  /** ten ones, then 0.1 */
  gapFlat: (n: number) => Float64Array.from({ length: n }, (_, i) => (i < 10 ? 1 : 0.1)),
  /** s_i = rho^i */
  exponential: (n: number, rho = 0.9) => Float64Array.from({ length: n }, (_, i) => rho ** i),
  /** exact rank r: log-spaced 10 .. 1 */
  lowRank: (r: number) => Float64Array.from({ length: r }, (_, i) => 10 ** (1 - i / Math.max(1, r - 1))),
};

/** tau_{k+1} = sqrt(sum_{j > k} s_j^2) (0-based: j >= k). */
export function tailFro(s: Float64Array, k: number): number {
  let t = 0;
  for (let j = k; j < s.length; j++) t += s[j] * s[j];
  return Math.sqrt(t);
}
