/**
 * PTD ("perturb-then-diagonalize", Yu et al., ICLR 2024): diagonalize A + E for a small E chosen so that
 * the eigenvector matrix is well conditioned. E is the spec's language-neutral deterministic matrix, a
 * seeded Gaussian, or the result of minimizing cond(V)^2 + gamma ||E||_F by Adam with the analytic
 * gradient of cond(V) (no autograd). Everything runs on the host in f64 (N <= 1024).
 */
import { checkFinite, checkInt, checkOneOf, checkOptions, checkBool, rangeError } from '../../errors.js';
import { hostEig, hostEigComplex } from '../../backends/native/host.js';
import { normalStreamF64 } from '../../rng/philox.js';
import { cinv, cmatmul, cnorm2, cond2, extremeSingular, norm2, type Complex } from './complex.js';
import { squareArg } from './eig.js';

export interface PtdOptions {
  /** ||E||_2 / ||A||_2 for 'deterministic' and 'random'; the initial size for 'optimize'. Default 1e-2 (optimize: 0.07). */
  delta?: number;
  /** Weight of ||E||_F in the 'optimize' objective cond(V)^2 + gamma ||E||_F. Default 10. */
  gamma?: number;
  method: 'deterministic' | 'random' | 'optimize';
  /** Adam steps of 'optimize'. Default 600. */
  iters?: number;
  /** Seed of the Gaussian E ('random'; for 'optimize' a seeded Gaussian start instead of the deterministic one). */
  seed?: number;
  /** Reflect right-half-plane eigenvalues (Re <- -|Re|). Default true. */
  reflect?: boolean;
  /**
   * Complex E (the eigenvalues are then no longer conjugate pairs; use conj 'full' kernels, or 2 Re as
   * S4-PTD does). 'deterministic' uses exp(i (jk + j + 2k + 1)) scaled like the real M, 'random' a complex
   * Gaussian; 'optimize' starts from either and updates both parts. Default false.
   */
  complex?: boolean;
}

export interface PtdResult {
  /** Eigenvalues of A + E (reflected into the left half-plane unless `reflect: false`). */
  Lambda: Complex;
  /** Unit-column eigenvectors of A + E and their inverse (row-major N x N). */
  V: Complex;
  Vinv: Complex;
  /** cond_2(V). */
  condV: number;
  /** The perturbation (row-major N x N; E.im is zero unless `complex`), ||E||_2 and ||E||_2 / ||A||_2. */
  E: Complex;
  perturbationNorm: number;
  relPerturbation: number;
  /** Number of eigenvalues with Re > 0 that were reflected. */
  reflected: number;
}

/** The spec's deterministic direction M_jk = cos(jk + j + 2k + 1) (complex: exp(i (jk + j + 2k + 1))), unit 2-norm. */
async function deterministicDirection(N: number, complex: boolean): Promise<Complex> {
  const M: Complex = { re: new Float64Array(N * N), im: new Float64Array(N * N) };
  for (let j = 0; j < N; j++)
    for (let k = 0; k < N; k++) {
      M.re[j * N + k] = Math.cos(j * k + j + 2 * k + 1);
      if (complex) M.im[j * N + k] = Math.sin(j * k + j + 2 * k + 1);
    }
  return normalized(M, N);
}

/** Philox Gaussian direction (complex: independent real and imaginary parts), unit 2-norm. */
async function randomDirection(N: number, seed: number, complex: boolean): Promise<Complex> {
  const g = normalStreamF64((complex ? 2 : 1) * N * N, seed);
  return normalized({ re: g.slice(0, N * N), im: complex ? g.slice(N * N) : new Float64Array(N * N) }, N);
}

async function normalized(M: Complex, N: number): Promise<Complex> {
  const s = await cnorm2(M, N);
  for (let i = 0; i < N * N; i++) {
    M.re[i] /= s;
    M.im[i] /= s;
  }
  return M;
}

function isReal(E: Complex): boolean {
  return E.im.every((v) => v === 0);
}

/** Eigendecomposition of A + E (the real solver when E is real). */
function eigOf(A: Float64Array, E: Complex, N: number): ReturnType<typeof hostEig> {
  const re = new Float64Array(A.length);
  for (let i = 0; i < A.length; i++) re[i] = A[i] + E.re[i];
  return isReal(E) ? hostEig(re, N) : hostEigComplex({ re, im: E.im.slice() }, N);
}

/**
 * cond_2(V) of A~ = A + E = V Lambda V^{-1} (unit columns) and its gradient with respect to E
 * (spec ptd-ssm.md section 2): G = kappa (u1 q1^H / s1 - un qn^H / sn), H = V^H G,
 * H' = H - (V^H V) diag(Re diag H), F_ij = 1 / (lambda_j - lambda_i), grad = W^H (conj(F) o H') V^H;
 * d kappa = Re tr(grad^H dE), i.e. (d/dRe E, d/dIm E) = (Re grad, Im grad).
 */
export async function condAndGradient(A: Float64Array, E: Complex, N: number): Promise<{ kappa: number; grad: Complex }> {
  const { values: lam, vectors: V } = await eigOf(A, E, N);
  const W = cinv('ssm.ptd', V, N);
  const { s1, sn, u1, q1, un, qn } = await extremeSingular(V, N);
  const kappa = s1 / sn;
  const G: Complex = { re: new Float64Array(N * N), im: new Float64Array(N * N) };
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) {
      // u q^H: (ur + i ui)(qr - i qi)
      const a1r = u1.re[i] * q1.re[j] + u1.im[i] * q1.im[j],
        a1i = u1.im[i] * q1.re[j] - u1.re[i] * q1.im[j];
      const anr = un.re[i] * qn.re[j] + un.im[i] * qn.im[j],
        ani = un.im[i] * qn.re[j] - un.re[i] * qn.im[j];
      G.re[i * N + j] = kappa * (a1r / s1 - anr / sn);
      G.im[i * N + j] = kappa * (a1i / s1 - ani / sn);
    }
  const H = cmatmul(V, G, N, N, N, true, false);
  const VhV = cmatmul(V, V, N, N, N, true, false);
  const Y = { re: new Float64Array(N * N), im: new Float64Array(N * N) };
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) {
      if (i === j) continue;
      const d = H.re[j * N + j];
      const hr = H.re[i * N + j] - VhV.re[i * N + j] * d,
        hi = H.im[i * N + j] - VhV.im[i * N + j] * d;
      // conj(F_ij) = conj(1 / (lam_j - lam_i))
      const dr = lam.re[j] - lam.re[i],
        di = lam.im[j] - lam.im[i],
        m = dr * dr + di * di;
      const fr = dr / m,
        fi = di / m; // conj(1/(dr + i di)) = (dr + i di) / m
      Y.re[i * N + j] = fr * hr - fi * hi;
      Y.im[i * N + j] = fr * hi + fi * hr;
    }
  const WhY = cmatmul(W, Y, N, N, N, true, false);
  return { kappa, grad: cmatmul(WhY, V, N, N, N, false, true) };
}

/**
 * Perturb-then-diagonalize: E by `method`, then A + E = V diag(Lambda) V^{-1} with cond(V) reported.
 *
 * @example
 * ```ts
 * const { A } = ssm.hippo('legs', 64);
 * const r = await ssm.ptd(A, 64, { method: 'deterministic', delta: 1e-2 });   // r.condV ~ 501.6
 * ```
 */
export async function ptd(A: ArrayLike<number>, N: number, options: PtdOptions): Promise<PtdResult> {
  const fn = 'ssm.ptd';
  const a = squareArg(fn, A, N);
  const o = checkOptions<PtdOptions>(fn, options, ['delta', 'gamma', 'method', 'iters', 'seed', 'reflect', 'complex']);
  const method = checkOneOf(fn, 'method', o.method, ['deterministic', 'random', 'optimize'] as const);
  const complex = checkBool(fn, 'complex', o.complex, false);
  const delta = o.delta === undefined ? (method === 'optimize' ? (complex ? 0.02 : 0.07) : 1e-2) : checkFinite(fn, 'delta', o.delta);
  if (!(delta >= 0)) throw rangeError(fn, `'delta' must be >= 0, got ${delta}`);
  const gamma = o.gamma === undefined ? 10 : checkFinite(fn, 'gamma', o.gamma);
  if (!(gamma >= 0)) throw rangeError(fn, `'gamma' must be >= 0, got ${gamma}`);
  const iters = o.iters === undefined ? 600 : checkInt(fn, 'iters', o.iters, 0, 1e6);
  const seed = o.seed === undefined ? undefined : checkInt(fn, 'seed', o.seed, 0, 2 ** 53 - 1);
  const reflect = checkBool(fn, 'reflect', o.reflect, true);
  if (method === 'random' && seed === undefined) throw rangeError(fn, "method 'random' needs a 'seed'");

  const nA = await norm2(a, N, N);
  const dir =
    method === 'random' || (method === 'optimize' && seed !== undefined)
      ? await randomDirection(N, seed as number, complex)
      : await deterministicDirection(N, complex);
  let E: Complex = { re: dir.re.map((v) => delta * nA * v), im: dir.im.map((v) => delta * nA * v) };

  if (method === 'optimize' && iters > 0) E = await optimize(a, N, E, gamma, iters, complex);

  const { values, vectors: V } = await eigOf(a, E, N);
  const Vinv = cinv(fn, V, N);
  const condV = await cond2(V, N);
  let reflected = 0;
  const Lambda: Complex = { re: values.re.slice(), im: values.im.slice() };
  if (reflect)
    for (let i = 0; i < N; i++)
      if (Lambda.re[i] > 0) {
        Lambda.re[i] = -Lambda.re[i];
        reflected++;
      }
  const perturbationNorm = await cnorm2(E, N);
  return { Lambda, V, Vinv, condV, E, perturbationNorm, relPerturbation: nA > 0 ? perturbationNorm / nA : 0, reflected };
}

/** Adam on E (real, or both parts of a complex E), lr 0.3 decaying geometrically to 1e-3; returns the best E seen. */
async function optimize(A: Float64Array, N: number, E0: Complex, gamma: number, iters: number, complex: boolean): Promise<Complex> {
  const lr0 = 0.3,
    lr1 = 1e-3,
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-8;
  const parts = complex ? 2 : 1,
    n2 = N * N;
  const x = new Float64Array(parts * n2); // [Re E, Im E]
  x.set(E0.re);
  if (complex) x.set(E0.im, n2);
  const m = new Float64Array(x.length),
    v = new Float64Array(x.length);
  const asE = (y: Float64Array): Complex => ({ re: y.slice(0, n2), im: complex ? y.slice(n2) : new Float64Array(n2) });
  let best = x.slice(),
    bestLoss = Infinity;
  for (let t = 1; t <= iters; t++) {
    const { kappa, grad } = await condAndGradient(A, asE(x), N);
    let nE = 0;
    for (let i = 0; i < x.length; i++) nE += x[i] * x[i];
    nE = Math.sqrt(nE);
    const loss = kappa * kappa + gamma * nE;
    if (Number.isFinite(loss) && loss < bestLoss) {
      bestLoss = loss;
      best = x.slice();
    }
    if (!Number.isFinite(kappa)) break;
    const lr = lr0 * (lr1 / lr0) ** (t / iters);
    const c1 = 1 - b1 ** t,
      c2 = 1 - b2 ** t;
    for (let i = 0; i < x.length; i++) {
      const gk = i < n2 ? grad.re[i] : grad.im[i - n2];
      const g = 2 * kappa * gk + (nE > 0 ? (gamma * x[i]) / nE : 0);
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      x[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
    }
  }
  return asE(best);
}
