/**
 * Host-side f64 reference arithmetic for test data and accuracy relations. Deliberately independent of
 * lowrank (plain loops), so lowrank's results are never judged with lowrank's own kernels.
 */
export type Arr = Float32Array | Float64Array | number[];

/** Deterministic standard normals (mulberry32 + Box-Muller). */
export function randn(count: number, seed: number): Float64Array {
  let s = seed >>> 0 || 0x9e3779b9;
  const u = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u()));
    const th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th);
    if (i + 1 < count) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

/**
 * GEMM spot check: max over `samples` random entries of |c_ij - sum_k a_ik b_kj| / sum_k |a_ik b_kj|
 * with the reference in f64. `c(i, j)` reads the peer's result.
 */
export function gemmSpotCheck(A: Arr, B: Arr, n: number, c: (i: number, j: number) => number, samples = 20, seed = 7): number {
  let worst = 0;
  let s = seed;
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
  for (let t = 0; t < samples; t++) {
    const i = next(),
      j = next();
    let ref = 0,
      abs = 0;
    for (let k = 0; k < n; k++) {
      const p = A[i * n + k] * B[k * n + j];
      ref += p;
      abs += Math.abs(p);
    }
    const v = c(i, j);
    const e = Number.isFinite(v) ? Math.abs(v - ref) / (abs || 1) : Infinity;
    if (e > worst) worst = e;
  }
  return worst;
}

/** C = A B, A m x k, B k x n, row-major, accumulated in f64. */
export function matmul(A: Arr, m: number, k: number, B: Arr, n: number): Float64Array {
  const C = new Float64Array(m * n);
  const brow = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const a = A[i * k + p];
      if (a === 0) continue;
      const bp = p * n;
      for (let j = 0; j < n; j++) brow[j] = B[bp + j];
      for (let j = 0; j < n; j++) C[ci + j] += a * brow[j];
    }
  }
  return C;
}

/** G = X^T X for X m x n row-major (n x n, both triangles), in f64. */
export function gram(X: Arr, m: number, n: number): Float64Array {
  const G = new Float64Array(n * n);
  const row = new Float64Array(n);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) row[j] = X[r * n + j];
    for (let i = 0; i < n; i++) {
      const a = row[i];
      if (a === 0) continue;
      const gi = i * n;
      for (let j = i; j < n; j++) G[gi + j] += a * row[j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) G[i * n + j] = G[j * n + i];
  return G;
}

export function fro(X: Arr): number {
  let s = 0;
  for (let i = 0; i < X.length; i++) s += X[i] * X[i];
  return Math.sqrt(s);
}

/** ||X - Y||_F. */
export function froDiff(X: Arr, Y: Arr): number {
  let s = 0;
  for (let i = 0; i < X.length; i++) {
    const d = X[i] - Y[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

/** ||X^T X - I||_F for X m x k. */
export function orthError(X: Arr, m: number, k: number): number {
  const G = gram(X, m, k);
  for (let i = 0; i < k; i++) G[i * k + i] -= 1;
  return fro(G);
}

export function transpose(X: Arr, m: number, n: number): Float64Array {
  const T = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) T[j * m + i] = X[i * n + j];
  return T;
}

/** QR: ||QR - A||_F / ||A||_F and ||Q^T Q - I||_F (Q m x n, R n x n). */
export function qrAccuracy(A: Arr, m: number, n: number, Q: Arr, R: Arr): { resid: number; orth: number } {
  return { resid: froDiff(matmul(Q, m, n, R, n), A) / fro(A), orth: orthError(Q, m, n) };
}

/** Thin SVD: ||U diag(S) V^T - A||_F / ||A||_F and max(||U^T U - I||_F, ||V^T V - I||_F). U m x k, V n x k. */
export function svdAccuracy(A: Arr, m: number, n: number, U: Arr, S: Arr, V: Arr, k: number): { resid: number; orth: number } {
  const US = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let l = 0; l < k; l++) US[i * k + l] = U[i * k + l] * S[l];
  const rec = matmul(US, m, k, transpose(V, n, k), n);
  return { resid: froDiff(rec, A) / fro(A), orth: Math.max(orthError(U, m, k), orthError(V, n, k)) };
}

/** LU in scipy's permute_l form: ||PL U - A||_F / ||A||_F (PL m x n, U n x n). */
export function luAccuracy(A: Arr, m: number, n: number, PL: Arr, U: Arr): { resid: number } {
  return { resid: froDiff(matmul(PL, m, n, U, n), A) / fro(A) };
}

/** Symmetric eigen: ||G V - V diag(values)||_F / ||G||_F and ||V^T V - I||_F (V n x n, eigenvectors in columns). */
export function eighAccuracy(G: Arr, n: number, values: Arr, V: Arr): { resid: number; orth: number } {
  const GV = matmul(G, n, n, V, n);
  let s = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const d = GV[i * n + j] - V[i * n + j] * values[j];
      s += d * d;
    }
  return { resid: Math.sqrt(s) / fro(G), orth: orthError(V, n, n) };
}

/** Least squares: ||A^T r||_2 / (||A||_F ||r||_2), r = b - A x (A m x n, x n x 1). Small when r is orthogonal to range(A). */
export function lstsqAccuracy(A: Arr, m: number, n: number, b: Arr, x: Arr): { resid: number } {
  const r = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += A[i * n + j] * x[j];
    r[i] = b[i] - s;
  }
  const atr = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    const ri = r[i];
    for (let j = 0; j < n; j++) atr[j] += A[i * n + j] * ri;
  }
  return { resid: fro(atr) / (fro(A) * fro(r)) };
}
