/**
 * PTD ("perturb-then-diagonalize", Yu et al., ICLR 2024): diagonalize A + E for a small E chosen so that
 * the eigenvector matrix is well conditioned. E is the spec's language-neutral deterministic matrix, a
 * seeded Gaussian, or the result of minimizing cond(V)^2 + gamma ||E||_F by Adam with the analytic
 * gradient of cond(V) (no autograd). Everything runs on the host in f64 (N <= 1024).
 */
import { checkFinite, checkInt, checkOneOf, checkOptions, checkBool, rangeError } from '../../errors.js';
import { hostEig } from '../../backends/native/host.js';
import { normalStreamF64 } from '../../rng/philox.js';
import { cinv, cmatmul, cond2, extremeSingular, norm2, type Complex } from './complex.js';
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
}

export interface PtdResult {
  /** Eigenvalues of A + E (reflected into the left half-plane unless `reflect: false`). */
  Lambda: Complex;
  /** Unit-column eigenvectors of A + E and their inverse (row-major N x N). */
  V: Complex;
  Vinv: Complex;
  /** cond_2(V). */
  condV: number;
  /** The perturbation (real, row-major N x N), ||E||_2 and ||E||_2 / ||A||_2. */
  E: Float64Array;
  perturbationNorm: number;
  relPerturbation: number;
  /** Number of eigenvalues with Re > 0 that were reflected. */
  reflected: number;
}

/** The spec's deterministic direction M_jk = cos(jk + j + 2k + 1), scaled to unit 2-norm. */
async function deterministicDirection(N: number): Promise<Float64Array> {
  const M = new Float64Array(N * N);
  for (let j = 0; j < N; j++) for (let k = 0; k < N; k++) M[j * N + k] = Math.cos(j * k + j + 2 * k + 1);
  const s = await norm2(M, N, N);
  for (let i = 0; i < M.length; i++) M[i] /= s;
  return M;
}

async function randomDirection(N: number, seed: number): Promise<Float64Array> {
  const M = normalStreamF64(N * N, seed);
  const s = await norm2(M, N, N);
  for (let i = 0; i < M.length; i++) M[i] /= s;
  return M;
}

function addTo(A: Float64Array, E: Float64Array): Float64Array {
  const B = new Float64Array(A.length);
  for (let i = 0; i < A.length; i++) B[i] = A[i] + E[i];
  return B;
}

/**
 * cond_2(V) of A~ = V Lambda V^{-1} (unit columns) and its gradient with respect to a real perturbation
 * of A~ (spec ptd-ssm.md section 2): G = kappa (u1 q1^H / s1 - un qn^H / sn), H = V^H G,
 * H' = H - (V^H V) diag(Re diag H), F_ij = 1 / (lambda_j - lambda_i), grad = W^H (conj(F) o H') V^H.
 */
export async function condAndGradient(At: Float64Array, N: number): Promise<{ kappa: number; grad: Float64Array }> {
  const { values: lam, vectors: V } = await hostEig(At, N);
  const W = cinv('ssm.ptd', V, N);
  const { s1, sn, u1, q1, un, qn } = await extremeSingular(V, N);
  const kappa = s1 / sn;
  const G: Complex = { re: new Float64Array(N * N), im: new Float64Array(N * N) };
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) {
      // u q^H: (ur + i ui)(qr - i qi)
      const a1r = u1.re[i] * q1.re[j] + u1.im[i] * q1.im[j], a1i = u1.im[i] * q1.re[j] - u1.re[i] * q1.im[j];
      const anr = un.re[i] * qn.re[j] + un.im[i] * qn.im[j], ani = un.im[i] * qn.re[j] - un.re[i] * qn.im[j];
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
      const hr = H.re[i * N + j] - VhV.re[i * N + j] * d, hi = H.im[i * N + j] - VhV.im[i * N + j] * d;
      // conj(F_ij) = conj(1 / (lam_j - lam_i))
      const dr = lam.re[j] - lam.re[i], di = lam.im[j] - lam.im[i], m = dr * dr + di * di;
      const fr = dr / m, fi = di / m; // conj(1/(dr + i di)) = (dr + i di) / m
      Y.re[i * N + j] = fr * hr - fi * hi;
      Y.im[i * N + j] = fr * hi + fi * hr;
    }
  const WhY = cmatmul(W, Y, N, N, N, true, false);
  const Gr = cmatmul(WhY, V, N, N, N, false, true);
  return { kappa, grad: Gr.re };
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
  const o = checkOptions<PtdOptions>(fn, options, ['delta', 'gamma', 'method', 'iters', 'seed', 'reflect']);
  const method = checkOneOf(fn, 'method', o.method, ['deterministic', 'random', 'optimize'] as const);
  const delta = o.delta === undefined ? (method === 'optimize' ? 0.07 : 1e-2) : checkFinite(fn, 'delta', o.delta);
  if (!(delta >= 0)) throw rangeError(fn, `'delta' must be >= 0, got ${delta}`);
  const gamma = o.gamma === undefined ? 10 : checkFinite(fn, 'gamma', o.gamma);
  if (!(gamma >= 0)) throw rangeError(fn, `'gamma' must be >= 0, got ${gamma}`);
  const iters = o.iters === undefined ? 600 : checkInt(fn, 'iters', o.iters, 0, 1e6);
  const seed = o.seed === undefined ? undefined : checkInt(fn, 'seed', o.seed, 0, 2 ** 53 - 1);
  const reflect = checkBool(fn, 'reflect', o.reflect, true);
  if (method === 'random' && seed === undefined) throw rangeError(fn, "method 'random' needs a 'seed'");

  const nA = await norm2(a, N, N);
  const dir = method === 'random' || (method === 'optimize' && seed !== undefined)
    ? await randomDirection(N, seed as number)
    : await deterministicDirection(N);
  let E: Float64Array = new Float64Array(N * N);
  for (let i = 0; i < E.length; i++) E[i] = delta * nA * dir[i];

  if (method === 'optimize' && iters > 0) E = await optimize(a, N, E, gamma, iters);

  const { values, vectors: V } = await hostEig(addTo(a, E), N);
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
  const perturbationNorm = await norm2(E, N, N);
  return { Lambda, V, Vinv, condV, E, perturbationNorm, relPerturbation: nA > 0 ? perturbationNorm / nA : 0, reflected };
}

/** Adam on the real E, lr 0.3 decaying geometrically to 1e-3; returns the best E seen. */
async function optimize(A: Float64Array, N: number, E0: Float64Array, gamma: number, iters: number): Promise<Float64Array> {
  const lr0 = 0.3, lr1 = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  let E: Float64Array = E0.slice();
  const m = new Float64Array(E.length), v = new Float64Array(E.length);
  let best: Float64Array = E.slice(), bestLoss = Infinity;
  for (let t = 1; t <= iters; t++) {
    const { kappa, grad } = await condAndGradient(addTo(A, E), N);
    let nE = 0;
    for (let i = 0; i < E.length; i++) nE += E[i] * E[i];
    nE = Math.sqrt(nE);
    const loss = kappa * kappa + gamma * nE;
    if (Number.isFinite(loss) && loss < bestLoss) {
      bestLoss = loss;
      best = E.slice();
    }
    if (!Number.isFinite(kappa)) break;
    const lr = lr0 * (lr1 / lr0) ** (t / iters);
    const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
    const next = new Float64Array(E.length);
    for (let i = 0; i < E.length; i++) {
      const g = 2 * kappa * grad[i] + (nE > 0 ? (gamma * E[i]) / nE : 0);
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      next[i] = E[i] - (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
    }
    E = next;
  }
  return best;
}
