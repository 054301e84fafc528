/**
 * `npm run bench -- subgm`: robust matrix sensing by SubGM at scale. X* is n x n PSD of rank r
 * (default n = 100, r = 5), the factor has rank r' = 20, m = 20000 Gaussian measurements with 20 %
 * uniform outliers (+-10 max|y0|), alpha = 1e-6, eta0 = 0.2, rho = 0.98, automatic warm-up.
 *
 * 1. Convergence, measured: one run with the dense operator (A stored, 2 GEMVs per iteration) on
 *    native f32 until ||U U^T - X*||_F <= 1e-4 (checked every 10 iterations, the check's time excluded):
 *    iterations and seconds to 1e-4.
 * 2. Matrix-free Gaussian operator (A regenerated from the Philox stream inside the kernels, twice per
 *    iteration): seconds per iteration on each configuration, measured over a few iterations at full
 *    size. The matrix-free and dense operators follow the same trajectory (same A, tested), so the
 *    matrix-free seconds to 1e-4 are REPORTED AS EXTRAPOLATED = iterations to 1e-4 (from 1) x measured
 *    seconds per iteration.
 * 3. Seconds per iteration vs m (matrix-free on every configuration, dense on native f32).
 */
import { engine, robustRecover, sensingProblem, type Engine, type SensingProblemResult } from '../ts/index.js';
import type { DType } from '../ts/types.js';
import type { BenchArgs } from './lib/args.js';
import { selected } from './lib/args.js';
import { headerPairs, markers, mdTable, textTable, writeResults } from './lib/report.js';
import { errMessage, progress, resetClock } from './lib/runner.js';
import { startHeader } from './lib/suite.js';

interface Config {
  id: string;
  backend: 'native' | 'webgpu';
  dtype: DType;
  /** Also run the matrix-free operator all the way to the target (measured, not extrapolated). */
  fullRun?: boolean;
}

interface MfRow {
  id: string;
  label: string;
  status: 'ok' | 'failed';
  reason?: string;
  /** Seconds per iteration at full size. */
  secPerIter?: number;
  measuredIters?: number;
  /** Seconds to the target: measured (a full matrix-free run) or extrapolated (dense iterations x secPerIter). */
  secToTarget?: number;
  extrapolated?: boolean;
  /** Iterations and final error of a measured full run. */
  itersToTarget?: number;
  finalErr?: number;
  /** m -> seconds per iteration. */
  sweep: Record<number, number>;
}

const TARGET = 1e-4;

async function problemFor(
  eng: Engine,
  n: number,
  r: number,
  m: number,
  storage: 'dense' | 'matrix-free',
  seed: number,
): Promise<SensingProblemResult<DType>> {
  return sensingProblem(eng, { n, rank: r, m, outlierFraction: 0.2, storage, seed });
}

/** Seconds per iteration over `iters` iterations (between the first and the last loss evaluation). */
async function perIteration(
  eng: Engine,
  n: number,
  r: number,
  rp: number,
  m: number,
  storage: 'dense' | 'matrix-free',
  iters: number,
): Promise<number> {
  const { problem, truth } = await problemFor(eng, n, r, m, storage, 1);
  const stamps: number[] = [];
  const { U } = await robustRecover(problem, { rank: rp, seed: 1, iters, logEvery: 1, onIter: () => void stamps.push(performance.now()) });
  U.dispose();
  truth.X.dispose();
  problem.measurements.dispose();
  return (stamps[stamps.length - 1] - stamps[0]) / 1000 / iters;
}

/** Runs to the error target; returns iterations, seconds (error checks excluded) and the final error. */
async function toTarget(
  eng: Engine,
  n: number,
  r: number,
  rp: number,
  m: number,
  storage: 'dense' | 'matrix-free',
  maxIters: number,
): Promise<{ iters: number; sec: number; err: number; warmup: number; hit: boolean }> {
  const { problem, truth } = await problemFor(eng, n, r, m, storage, 1);
  let checkMs = 0,
    err = 1,
    hitAt = -1;
  const t0 = performance.now();
  const { U, info } = await robustRecover(problem, {
    rank: rp,
    seed: 1,
    iters: maxIters,
    logEvery: 10,
    onIter: async ({ iter, U }) => {
      const tc = performance.now();
      const X = await eng.matmul(U, U, { transB: true });
      const D = await eng.sub(X, truth.X);
      err = await eng.norm(D);
      X.dispose();
      D.dispose();
      if (err <= TARGET && hitAt < 0) hitAt = iter;
      checkMs += performance.now() - tc;
      return hitAt < 0;
    },
  });
  const sec = (performance.now() - t0 - checkMs) / 1000;
  U.dispose();
  truth.X.dispose();
  problem.measurements.dispose();
  return { iters: hitAt >= 0 ? hitAt : info.iterations, sec, err, warmup: info.warmup, hit: hitAt >= 0 };
}

export async function runSubgm(args: BenchArgs): Promise<void> {
  resetClock();
  const suite = 'subgm';
  const quick = args.quick;
  const [m, n] = args.shape ?? (quick ? [3000, 30] : [20000, 100]); // --shape MxN: m measurements, X n x n
  const r = quick ? 3 : 5,
    rp = quick ? 10 : 20;
  const maxIters = 1500;
  const sweepM = quick ? [750, 1500, m] : [2500, 5000, 10000, m];
  const timedIters = quick ? 3 : 2;
  const header = startHeader(suite, args);
  progress(suite, `n = ${n}, r = ${r}, r' = ${rp}, m = ${m}, 20 % outliers; target ||UU^T - X*||_F <= ${TARGET}`);

  // 1. convergence with the dense operator on native f32
  let conv: Awaited<ReturnType<typeof toTarget>> | undefined;
  let convError: string | undefined;
  let denseSecPerIter: number | undefined;
  const denseSweep: Record<number, number> = {};
  {
    const eng = await engine({ backend: 'native', dtype: 'f32' });
    try {
      progress(suite, `native f32, dense operator (${((m * n * n * 4) / 2 ** 20).toFixed(0)} MiB): running to ${TARGET}`);
      conv = await toTarget(eng, n, r, rp, m, 'dense', maxIters);
      denseSecPerIter = conv.sec / Math.max(conv.iters, 1);
      progress(
        suite,
        `  ${conv.hit ? `reached ${TARGET}` : 'did NOT reach the target'} after ${conv.iters} iterations (warm-up ${conv.warmup}) in ${conv.sec.toFixed(1)} s, error ${conv.err.toExponential(2)}`,
      );
      for (const mm of sweepM) {
        if (mm === m) {
          denseSweep[mm] = denseSecPerIter;
          continue;
        }
        denseSweep[mm] = await perIteration(eng, n, r, rp, mm, 'dense', 5);
        progress(suite, `  dense m = ${mm}: ${denseSweep[mm].toFixed(4)} s / iteration`);
      }
    } catch (e) {
      convError = errMessage(e);
      progress(suite, `  failed: ${convError}`);
    } finally {
      await eng.dispose();
    }
  }

  // 2 + 3. matrix-free on every configuration
  const configs: Config[] = [
    { id: 'lowrank-native-f64', backend: 'native', dtype: 'f64' },
    { id: 'lowrank-native-f32', backend: 'native', dtype: 'f32', fullRun: !quick },
    { id: 'lowrank-webgpu-f32', backend: 'webgpu', dtype: 'f32' },
  ];
  const rows: MfRow[] = [];
  let adapter: string | undefined;
  let bindLimit: number | undefined;
  for (const c of configs) {
    if (!selected(args, c.id)) continue;
    const row: MfRow = { id: c.id, label: `lowrank ${c.backend} ${c.dtype}`, status: 'ok', sweep: {} };
    rows.push(row);
    let eng: Engine | undefined;
    try {
      eng = await engine({ backend: c.backend, dtype: c.dtype });
      if (c.backend === 'webgpu') {
        adapter = eng.info().adapter?.description ?? 'adapter';
        bindLimit = eng.info().limits?.maxStorageBufferBindingSize;
        row.label += ` (${adapter})`;
      }
      await perIteration(eng, 20, 2, 5, 200, 'matrix-free', 2); // warm-up: pipelines, pools
      for (const mm of sweepM) {
        const s = await perIteration(eng, n, r, rp, mm, 'matrix-free', timedIters);
        row.sweep[mm] = s;
        progress(suite, `${row.label}: matrix-free m = ${mm}: ${s.toFixed(3)} s / iteration`);
      }
      row.secPerIter = row.sweep[m];
      row.measuredIters = timedIters;
      if (c.fullRun) {
        // one measured matrix-free run to the target (the SIMD generator makes this affordable natively)
        progress(suite, `${row.label}: matrix-free run to ${TARGET} (about ${Math.round((conv?.iters ?? 700) * row.secPerIter!)} s)`);
        const full = await toTarget(eng, n, r, rp, m, 'matrix-free', maxIters);
        row.secToTarget = full.sec;
        row.extrapolated = false;
        row.itersToTarget = full.hit ? full.iters : undefined;
        row.finalErr = full.err;
        progress(
          suite,
          `  ${full.hit ? `reached ${TARGET}` : 'did NOT reach the target'} after ${full.iters} iterations in ${full.sec.toFixed(1)} s, error ${full.err.toExponential(2)}`,
        );
      } else if (conv?.hit) {
        row.secToTarget = conv.iters * row.secPerIter!;
        row.extrapolated = true;
      }
    } catch (e) {
      row.status = 'failed';
      row.reason = errMessage(e);
      progress(suite, `  failed: ${row.reason}`);
    } finally {
      await eng?.dispose();
    }
  }

  const f = (x: number | undefined, d = 3) => (x === undefined ? '—' : x < 0.01 ? x.toExponential(2) : x.toFixed(d));
  const h1 = ['configuration', 'operator', `iterations to ${TARGET}`, 's / iteration', `seconds to ${TARGET}`, 'final error'];
  const t1: string[][] = [];
  if (conv || convError)
    t1.push(
      convError
        ? [
            'lowrank native f32',
            `dense (A stored, ${((m * n * n * 4) / 2 ** 20).toFixed(0)} MiB)`,
            `failed: ${convError.slice(0, 80)}`,
            '',
            '',
            '',
          ]
        : [
            'lowrank native f32',
            `dense (A stored, ${((m * n * n * 4) / 2 ** 20).toFixed(0)} MiB)`,
            conv!.hit ? String(conv!.iters) : `not reached in ${maxIters}`,
            f(denseSecPerIter),
            `${f(conv!.sec, 1)} (measured)`,
            conv!.err.toExponential(2),
          ],
    );
  for (const r0 of rows)
    t1.push(
      r0.status !== 'ok'
        ? [r0.label, 'matrix-free', `failed: ${(r0.reason ?? '').slice(0, 80)}`, '', '', '']
        : [
            r0.label,
            'matrix-free',
            r0.extrapolated === false
              ? r0.itersToTarget === undefined
                ? `not reached in ${maxIters}`
                : String(r0.itersToTarget)
              : conv?.hit
                ? String(conv.iters)
                : '—',
            `${f(r0.secPerIter)} (over ${r0.measuredIters} it)`,
            r0.secToTarget === undefined ? '—' : `${f(r0.secToTarget, 0)} (${r0.extrapolated ? 'EXTRAPOLATED' : 'measured'})`,
            r0.finalErr === undefined ? '—' : r0.finalErr.toExponential(2),
          ],
    );
  const h2 = ['m', 'native f32 dense', ...rows.map((r0) => `${r0.label.replace(/ \(.*\)$/, '')} matrix-free`)];
  const t2 = sweepM.map((mm) => [String(mm), f(denseSweep[mm], 4), ...rows.map((r0) => f(r0.sweep[mm], 4))]);
  const pairs = headerPairs(header)
    .filter(([k]) => k !== 'threads' && k !== 'FMA peak' && k !== 'python')
    .map(([k, v]): [string, string] => (k === 'adapter' ? [k, adapter ?? 'none used'] : [k, v]));
  const what = [
    `X* is ${n} x ${n} PSD of rank ${r} (eigenvalues proportional to linspace(2, 1, ${r}), ||X*||_F = 1); U is ${n} x ${rp}; m = ${m} Gaussian measurements, 20 % of them with outliers uniform in +-10 max|y0|. SubGM: alpha = 1e-6, eta0 = 0.2, rho = 0.98, automatic warm-up (${conv ? conv.warmup : '—'} iterations here), error checked every 10 iterations (the check's time excluded).`,
    `Dense: A (m x n^2) stored, two GEMVs per iteration. Matrix-free: every entry of A regenerated from the Philox normal stream inside the kernels, twice per iteration (2 m n^2 = ${((2 * m * n * n) / 1e6).toFixed(0)} M normals), A never stored. Both follow the same trajectory (same A, up to summation order). ${rows.some((r0) => r0.extrapolated === false) ? 'Native f32 runs the matrix-free operator all the way to the target (measured); the other' : 'The'} matrix-free seconds to ${TARGET} marked EXTRAPOLATED are the dense run's iteration count times the measured seconds per iteration (a full run per configuration does not fit in a bench session on a 2-core machine).`,
    bindLimit !== undefined && m * n * n * 4 > bindLimit
      ? `WebGPU cannot hold the dense A here (maxStorageBufferBindingSize ${(bindLimit / 2 ** 20).toFixed(0)} MiB on this adapter)${/llvmpipe|lavapipe/i.test(adapter ?? '') ? '; lavapipe runs the shaders on the CPU' : ''}.`
      : `The dense WebGPU operator is not timed here (only native f32 runs the dense convergence).`,
  ];
  const text = [
    `lowrank benchmark: SubGM robust matrix sensing${quick ? ' — QUICK SMOKE RUN' : ''}`,
    ...pairs.map(([k, v]) => `${k.padEnd(8)}: ${v}`),
    '',
    ...what,
    '',
    textTable(h1, t1),
    '',
    'seconds per iteration vs m',
    textTable(h2, t2),
  ].join('\n');
  const mk = markers(suite);
  const md = [
    mk.start,
    `### SubGM robust matrix sensing, n = ${n}, r = ${r}, r' = ${rp}, m = ${m}, 20 % outliers${quick ? ' — quick smoke run' : ''}`,
    '',
    ...pairs.map(([k, v]) => `- **${k}**: ${v}`),
    '',
    ...what.map((w) => w + '\n'),
    mdTable(h1, t1),
    '',
    `Seconds per iteration vs m (n = ${n}, r' = ${rp}):`,
    '',
    mdTable(h2, t2),
    mk.end,
  ].join('\n');
  process.stdout.write(text + '\n\n' + md + '\n');
  if (args.write) {
    const json = {
      suite,
      schema: 1,
      quick,
      options: { n, r, rp, m, outlierFraction: 0.2, target: TARGET, maxIters, sweepM },
      machine: header.machine,
      versions: header.versions,
      addon: header.addon,
      convergence: conv ?? { error: convError },
      denseSweep,
      results: rows,
    };
    const files = writeResults(suite, quick, args.tag, header.machine.date, json, md);
    progress(suite, `wrote ${files.json} and ${files.md}`);
  }
}
