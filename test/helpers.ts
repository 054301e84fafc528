/**
 * Shared test harness: the backend/dtype matrix every conformance suite runs over, f64 host
 * references, and tolerance helpers that scale with size and unit roundoff.
 *
 * WebGPU: when no adapter is found the WebGPU suites are skipped with a visible message, unless
 * LOWRANK_REQUIRE_WEBGPU=1 (as in CI), which turns the missing adapter into a failing test.
 */
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { engine, type Engine } from '../ts/index.js';
import { randomOrthonormalHost, withSpectrumHost } from '../ts/gen/spectrum.js';
import { normalStreamF64 } from '../ts/rng/philox.js';
import type { BackendName, DType } from '../ts/types.js';

export interface Config {
  backend: BackendName;
  dtype: DType;
}

export const CONFIGS: Config[] = [
  { backend: 'native', dtype: 'f32' },
  { backend: 'native', dtype: 'f64' },
  { backend: 'webgpu', dtype: 'f32' },
];

export const REQUIRE_WEBGPU = process.env.LOWRANK_REQUIRE_WEBGPU === '1';

async function probeWebGPU(): Promise<string | null> {
  try {
    const mod = (await import('webgpu')) as unknown as { create(f: string[]): GPU };
    const gpu = mod.create([]);
    const adapter = await gpu.requestAdapter();
    return adapter ? null : 'requestAdapter() returned null';
  } catch (e) {
    return (e as Error).message;
  }
}

/** null when a WebGPU adapter exists, else the reason. */
export const webgpuMissing: string | null = await probeWebGPU();
let warned = false;

/** Unit roundoff of a dtype. */
export function unitRoundoff(dtype: DType): number {
  return dtype === 'f64' ? 2 ** -53 : 2 ** -24;
}

export interface Harness {
  readonly eng: Engine;
  readonly backend: BackendName;
  readonly dtype: DType;
  /** Unit roundoff. */
  readonly u: number;
  /** Short label, e.g. 'webgpu/f32'. */
  readonly label: string;
}

/**
 * Runs `body` once per engine configuration, each in its own describe block with one engine created
 * in beforeAll and disposed in afterAll.
 */
export function describeEngines(title: string, body: (h: Harness) => void, opts: { configs?: Config[] } = {}): void {
  for (const cfg of opts.configs ?? CONFIGS) {
    const label = `${cfg.backend}/${cfg.dtype}`;
    const missing = cfg.backend === 'webgpu' ? webgpuMissing : null;
    if (missing && !REQUIRE_WEBGPU) {
      if (!warned) {
        warned = true;
        console.warn(`[lowrank tests] WebGPU suites SKIPPED: no adapter (${missing}). Set LOWRANK_REQUIRE_WEBGPU=1 to fail instead.`);
      }
      describe.skipIf(true)(`${title} [${label}] (skipped: no WebGPU adapter)`, () => {
        it('needs a WebGPU adapter', () => {});
      });
      continue;
    }
    describe(`${title} [${label}]`, () => {
      let eng: Engine | undefined;
      beforeAll(async () => {
        eng = await engine({ backend: cfg.backend, dtype: cfg.dtype });
      });
      // Ownership: everything the suite created must have been disposed by its end (its own afterAll
      // hooks run first: vitest runs hooks as a stack). Checked before dispose(), which frees everything
      // anyway. Tests that left stores alive are named in the message (a store created in beforeAll
      // and released in afterAll shows up there too: it is only a hint).
      let before = 0;
      const grew: string[] = [];
      afterEach((ctx) => {
        const now = eng?.info().memory.stores ?? 0;
        if (now > before) grew.push(`${ctx.task.name} (+${now - before})`);
        before = now;
      });
      afterAll(async () => {
        const live = eng?.info().memory;
        await eng?.dispose();
        if (live && live.stores !== 0)
          throw new Error(
            `${title} [${label}]: ${live.stores} device store(s) (${live.bytes} bytes) still alive at the end of the suite: ` +
              `dispose what the tests create (stores left by: ${grew.join('; ') || 'the suite hooks'})`,
          );
      });
      const h: Harness = {
        get eng() {
          if (!eng) throw new Error(`engine ${label} was not created`);
          return eng;
        },
        backend: cfg.backend,
        dtype: cfg.dtype,
        u: unitRoundoff(cfg.dtype),
        label,
      };
      body(h);
    });
  }
}

// ---- f64 host references ------------------------------------------------------------------------

export type Host = Float64Array;

/** Gaussian m x n (row-major, f64) from the Philox f64 normal stream. */
export function hostRandn(m: number, n: number, seed: number): Host {
  return normalStreamF64(m * n, seed, 7);
}

/** C = op(A) op(B) in f64. */
export function refMatmul(
  A: ArrayLike<number>,
  ar: number,
  ac: number,
  B: ArrayLike<number>,
  br: number,
  bc: number,
  transA = false,
  transB = false,
): Host {
  const m = transA ? ac : ar,
    k = transA ? ar : ac,
    n = transB ? br : bc;
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const a = transA ? A[p * ac + i] : A[i * ac + p];
      if (a === 0) continue;
      for (let j = 0; j < n; j++) C[i * n + j] += a * (transB ? B[j * bc + p] : B[p * bc + j]);
    }
  return C;
}

export function transposeHost(A: ArrayLike<number>, m: number, n: number): Host {
  const T = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) T[j * m + i] = A[i * n + j];
  return T;
}

export function frob(A: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < A.length; i++) s += A[i] * A[i];
  return Math.sqrt(s);
}

/** ||A - B||_F. */
export function diffFrob(A: ArrayLike<number>, B: ArrayLike<number>): number {
  if (A.length !== B.length) throw new Error(`length ${A.length} vs ${B.length}`);
  let s = 0;
  for (let i = 0; i < A.length; i++) s += (A[i] - B[i]) ** 2;
  return Math.sqrt(s);
}

/** ||A - B||_F / ||B||_F (flat arrays of equal length). */
export function relFro(A: ArrayLike<number>, B: ArrayLike<number>): number {
  if (A.length !== B.length) throw new Error(`length ${A.length} vs ${B.length}`);
  let d = 0,
    s = 0;
  for (let i = 0; i < A.length; i++) {
    d += (A[i] - B[i]) ** 2;
    s += B[i] ** 2;
  }
  return Math.sqrt(d / s);
}

/** max |A - B|. */
export function diffMax(A: ArrayLike<number>, B: ArrayLike<number>): number {
  if (A.length !== B.length) throw new Error(`length ${A.length} vs ${B.length}`);
  let s = 0;
  for (let i = 0; i < A.length; i++) s = Math.max(s, Math.abs(A[i] - B[i]));
  return s;
}

/** ||Q^T Q - I||_F for an m x n row-major Q (orthonormal columns). */
export function orthDefect(Q: ArrayLike<number>, m: number, n: number): number {
  const G = refMatmul(Q, m, n, Q, m, n, true, false);
  for (let i = 0; i < n; i++) G[i * n + i] -= 1;
  return frob(G);
}

/** Orthonormal m x k (k <= m) from a seed (f64, host). */
export const randomOrthonormal = randomOrthonormalHost;

/** U diag(s) V^T (m x n) with random orthonormal U (m x r), V (n x r), r = s.length. */
export const withSpectrum = withSpectrumHost;

/** Symmetric positive definite n x n: G G^T / n + shift I. */
export function spd(n: number, seed: number, shift = 1): Host {
  const G = hostRandn(n, n, seed);
  const A = refMatmul(G, n, n, G, n, n, false, true);
  for (let i = 0; i < n * n; i++) A[i] /= n;
  for (let i = 0; i < n; i++) A[i * n + i] += shift;
  return A;
}

/** Awkward shapes every conformance suite should cover. */
export const AWKWARD: ReadonlyArray<[number, number]> = [
  [1, 1],
  [1, 7],
  [7, 1],
  [2, 2],
  [3, 2],
  [127, 127],
  [257, 257],
  [257, 3],
  [3, 257],
  [500, 31],
  [31, 500],
];

/** Disposes every given matrix (null / undefined skipped); for test clean-up. */
export function disposeAll(...mats: ReadonlyArray<{ dispose(): void } | null | undefined>): void {
  for (const m of mats) m?.dispose();
}

/** Reads a matrix (or the matrix a promise gives) to the host and disposes it. */
export async function consume<T extends { toArray(): Promise<A>; dispose(): void }, A>(m: T | Promise<T>): Promise<A> {
  const mat = await m;
  try {
    return await mat.toArray();
  } finally {
    mat.dispose();
  }
}
