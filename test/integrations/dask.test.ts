/**
 * lowrank on a real Dask cluster (integrations/dask): runs integrations/dask/selftest.py — a
 * LocalCluster(n_workers=3, threads_per_worker=1, processes=True) over 6 shards of 5,000 x 400 f32 —
 * and checks its output against the in-memory engine: the merged sketch equals the one-process sketch,
 * the single-pass error is within the Tropp-Yurtsever-Udell-Cevher bound and its estimate near the
 * truth, the multi-pass result equals the in-memory rsvd with the same q, the covariance equals X^T X
 * centered, and a worker killed mid-run changes nothing.
 *
 * Needs python3 with dask.distributed (Debian: python3-distributed) and a compiled CLI (dist/, built by
 * `npm ci` / `npm run build:ts`). Skipped without them, a failure with LOWRANK_REQUIRE_DASK=1 (CI).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engine, readNpy, rsvd, type Engine } from '../../ts/index.js';
import { relFro } from '../helpers.js';

const REQUIRE = process.env.LOWRANK_REQUIRE_DASK === '1';
const root = path.resolve(import.meta.dirname, '..', '..');
const bin = path.join(root, 'dist', 'cli', 'main.js');

function newestTs(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestTs(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0);
  }
  return t;
}

function findPython(): string | null {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import dask.distributed, numpy'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

const python = findPython();
const missing = !python
  ? 'python3 with dask.distributed and numpy not found (Debian: apt-get install python3-distributed)'
  : !existsSync(bin) || statSync(bin).mtimeMs < newestTs(path.join(root, 'ts'))
    ? 'dist/cli/main.js is missing or older than ts/ (run npm run build:ts)'
    : null;

if (missing && !REQUIRE) console.warn(`[lowrank tests] Dask suite SKIPPED: ${missing}. Set LOWRANK_REQUIRE_DASK=1 to fail instead.`);

describe.skipIf(missing !== null && !REQUIRE)('lowrank on Dask (LocalCluster, 3 worker processes)', () => {
  let out = '';
  interface RunInfo {
    seconds: number;
    tasks: number;
    errorFro: number;
    trueErrorFro: number;
    merged: string;
    workerKilled: boolean;
    count: number;
  }
  let summary = {} as {
    tau: number;
    cluster_seconds: number;
    total_seconds: number;
    daskArrayCovRelDiff: number;
    badShardError: string | null;
  } & Record<'single' | 'multi' | 'covariance' | 'killed', RunInfo>;
  let eng: Engine;
  let A: Float32Array;
  const M = 30000,
    N = 400,
    k = 10;

  beforeAll(async () => {
    if (missing) throw new Error(`LOWRANK_REQUIRE_DASK=1 but ${missing}`);
    out = mkdtempSync(path.join(tmpdir(), 'lowrank-dask-'));
    const r = spawnSync(python as string, [path.join(root, 'integrations', 'dask', 'selftest.py'), out], {
      encoding: 'utf8',
      env: { ...process.env, LOWRANK_CLI: `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)}` },
      timeout: 300_000,
    });
    if (r.status !== 0) throw new Error(`selftest.py failed (${r.status ?? r.signal}):\n${r.stderr.slice(-3000)}`);
    summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    console.log(
      `[dask] cluster start ${summary.cluster_seconds.toFixed(1)} s; single pass ${summary.single.seconds.toFixed(1)} s (${summary.single.tasks} tasks); ` +
        `multi-pass q 2 ${summary.multi.seconds.toFixed(1)} s (${summary.multi.tasks} tasks); covariance ${summary.covariance.seconds.toFixed(1)} s; ` +
        `killed-worker run ${summary.killed.seconds.toFixed(1)} s; all runs ${summary.total_seconds.toFixed(1)} s`,
    );
    A = (await readNpy(path.join(out, 'A.npy'))).data as Float32Array;
    eng = await engine({ backend: 'native', dtype: 'f64' });
  }, 320_000);

  afterAll(async () => {
    await eng?.dispose();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  const npy = async (...p: string[]) => (await readNpy(path.join(out, ...p))).data;
  const relDiff = relFro;

  it('single pass: the merged sketch (a tree of merges) equals the one-process sketch to 1e-6', async () => {
    const merged = summary.single.merged as string;
    expect(path.basename(merged)).toMatch(/^sketch-merge-2-0$/); // fan-in 2 over 6 parts: three levels
    expect(relDiff(await npy(path.relative(out, merged), 'W.npy'), await npy('one-shot', 'W.npy'))).toBeLessThan(1e-6);
    const meta = JSON.parse(readFileSync(path.join(merged, 'meta.json'), 'utf8'));
    const oneY = await npy('one-shot', 'Y.npy');
    const kk = meta.rangeSize as number;
    for (const b of meta.blocks as { row: number; rows: number; Y: string }[]) {
      const y = (await readNpy(b.Y)).data;
      expect(relDiff(y, oneY.subarray(b.row * kk, (b.row + b.rows) * kk))).toBeLessThan(1e-6);
    }
  });

  it('single pass: within the TYUC bound (5 tau_{k+1}), the estimate within 0.57..1.43 of the truth', () => {
    const { tau } = summary;
    expect(summary.single.trueErrorFro).toBeLessThanOrEqual(5 * tau);
    expect(summary.single.trueErrorFro).toBeGreaterThanOrEqual(tau * (1 - 1e-6)); // no better than optimal
    const ratio = summary.single.errorFro / summary.single.trueErrorFro;
    expect(ratio).toBeGreaterThan(0.57);
    expect(ratio).toBeLessThan(1.43);
  });

  it('multi-pass q = 2 equals the in-memory rsvd with the same q, oversampling and seed (1e-5)', async () => {
    const f32 = await engine({ backend: 'native', dtype: 'f32' });
    try {
      const Am = f32.matrix(A, M, N);
      const ref = await rsvd(Am, { rank: k, powerIters: 2, oversample: 10, seed: 5 });
      Am.dispose();
      const S = await npy('multi', 'S.npy');
      for (let i = 0; i < k; i++) expect(Math.abs(S[i] - ref.S[i]) / ref.S[i]).toBeLessThan(1e-5);
      // the vectors agree up to sign, column by column
      const U = await npy('multi', 'U.npy');
      const V = await npy('multi', 'V.npy');
      const Ur = await ref.U.toArray();
      const Vr = await ref.V.toArray();
      for (let t = 0; t < k; t++) {
        let du = 0,
          dv = 0;
        for (let i = 0; i < M; i++) du += U[i * k + t] * Ur[i * k + t];
        for (let j = 0; j < N; j++) dv += V[j * k + t] * Vr[j * k + t];
        expect(1 - Math.abs(du)).toBeLessThan(1e-5);
        expect(1 - Math.abs(dv)).toBeLessThan(1e-5);
      }
      ref.U.dispose();
      ref.V.dispose();
    } finally {
      await f32.dispose();
    }
    // near-optimal: tau_{k+1} <= error <= 1.01 tau_{k+1}; the exact-error formula agrees with the truth
    expect(summary.multi.trueErrorFro / summary.tau).toBeLessThan(1.01);
    expect(Math.abs(summary.multi.errorFro - summary.multi.trueErrorFro) / summary.multi.trueErrorFro).toBeLessThan(0.02);
  });

  it('covariance == (X - mean)^T (X - mean) / (m - 1), gram == X^T X (f64 reference)', async () => {
    const X = eng.matrix(A, M, N);
    const G = await eng.matmul(X, X, { transA: true });
    const g = await G.toArray();
    const ones = eng.ones(1, M);
    const colSum = await eng.matmul(ones, X);
    const mean = Float64Array.from(await colSum.toArray(), (v) => v / M);
    const cov = new Float64Array(N * N);
    for (let a = 0; a < N; a++) for (let b = 0; b < N; b++) cov[a * N + b] = (g[a * N + b] - M * mean[a] * mean[b]) / (M - 1);
    for (const x of [X, G, ones, colSum]) x.dispose();
    expect(relDiff(await npy('mean.npy'), mean)).toBeLessThan(1e-12);
    expect(relDiff(await npy('gram.npy'), g)).toBeLessThan(1e-6);
    expect(relDiff(await npy('cov.npy'), cov)).toBeLessThan(1e-5);
    expect(summary.covariance.count).toBe(M);
  });

  it('a dask array works as input; a failing step names the step and the shard', () => {
    expect(summary.daskArrayCovRelDiff).toBeLessThan(1e-6);
    expect(summary.badShardError).toMatch(/^lowrank pass range failed on shard-bad\.npy: /);
    expect(summary.badShardError).toMatch(/row 8|row 7/);
  });

  it('a worker killed mid-run: Dask reschedules, the answer is unchanged', async () => {
    expect(summary.killed.workerKilled).toBe(true);
    for (const f of ['S.npy', 'V.npy', 'U.npy']) expect(relDiff(await npy('killed', f), await npy('multi', f))).toBeLessThan(1e-6);
  });
});
