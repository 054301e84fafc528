/**
 * Small host eigensolver for symmetric matrices that are small by construction (k x k, p x p; f64 on the
 * host): cyclic Jacobi, accurate to roundoff, shared by the algorithms that need one (HiPPO's normal part,
 * Grassmann steps, Flag aggregation). Large or device-resident matrices go through `eng.eigh`.
 */

/**
 * Cyclic Jacobi eigendecomposition of a real symmetric n x n matrix (row-major, overwritten):
 * returns the eigenvalues and the eigenvectors as the columns of a row-major n x n matrix.
 */
export function jacobi(a: Float64Array, n: number): { w: Float64Array; v: Float64Array } {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const eps = 2 ** -52;
  let fro = 0;
  for (let i = 0; i < n * n; i++) fro += a[i] * a[i];
  const tiny = 4 * eps * Math.sqrt(fro); // roundoff level of the whole matrix
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        // negligible (roundoff level, or against the diagonal): no rotation; an exactly doubled spectrum keeps
        // off-diagonal noise of this size in its 2 x 2 blocks forever, so the stop rule must allow it
        if (Math.abs(apq) <= tiny || Math.abs(apq) <= eps * 0.25 * Math.sqrt(Math.abs(a[p * n + p] * a[q * n + q]))) continue;
        rotated = true;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1),
          s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p],
            akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k],
            aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p],
            vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    if (!rotated) break;
  }
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = a[i * n + i];
  return { w, v };
}

/**
 * Eigendecomposition of a symmetric n x n matrix (row-major; a copy is worked on): eigenvalues descending
 * and the eigenvectors as the columns of v (row-major n x n).
 */
export function symEigHost(A: ArrayLike<number>, n: number): { w: Float64Array; v: Float64Array } {
  const { w: d, v } = jacobi(Float64Array.from(A), n);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y] - d[x]);
  const w = Float64Array.from(order, (i) => d[i]);
  const vs = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) vs[r * n + c] = v[r * n + order[c]];
  return { w, v: vs };
}
