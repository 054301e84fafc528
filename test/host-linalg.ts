/**
 * Small f64 host linear algebra for test references (no engine): plain loops, row-major arrays.
 */

/** Solves the SPD system G X = C (G k x k, C k x p, row-major) in f64 by Cholesky; returns X (k x p). */
export function hostSpdSolve(G: ArrayLike<number>, k: number, C: ArrayLike<number>, p: number): Float64Array {
  const L = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j <= i; j++) {
      let s = G[i * k + j];
      for (let l = 0; l < j; l++) s -= L[i * k + l] * L[j * k + l];
      L[i * k + j] = i === j ? Math.sqrt(s) : s / L[j * k + j];
    }
  const X = Float64Array.from(C);
  for (let c = 0; c < p; c++) {
    for (let i = 0; i < k; i++) {
      let s = X[i * p + c];
      for (let l = 0; l < i; l++) s -= L[i * k + l] * X[l * p + c];
      X[i * p + c] = s / L[i * k + i];
    }
    for (let i = k - 1; i >= 0; i--) {
      let s = X[i * p + c];
      for (let l = i + 1; l < k; l++) s -= L[l * k + i] * X[l * p + c];
      X[i * p + c] = s / L[i * k + i];
    }
  }
  return X;
}

/** Fills a with deterministic values in [-1, 1) (mulberry32 from seed; rounded to a's precision) and returns it. */
export function mulberryFill<A extends Float32Array | Float64Array>(a: A, seed: number): A {
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    a[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return a;
}
