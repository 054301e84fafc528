/**
 * `npm run bench -- completion`: matrix completion by alternating minimisation. Seconds per sweep of
 * the 'exact' solver (segmented Gram + batched Cholesky), the 'sketch' solver with its CountSketch
 * preconditioner and with the Jacobi one, for k in {8, 16, 32, 64} at a fixed number of observed
 * entries (native: 20000 x 20000 with 100 entries per row = 2M; WebGPU on a software adapter: 4000 x
 * 4000, 400k, the same 100 per row), with log-log slopes of time against k; and one large native run
 * (100000 x 100000, rank 10, 10M entries): seconds per sweep and the process's peak memory.
 * A sweep = both half-sweeps (V then U), the QRs, the warm-start products and the train RMSE.
 */
import { completeMatrix, engine, type Engine, type SparseMat } from '../ts/index.js';
import { PhiloxRng } from '../ts/rng/philox.js';
import type { BenchArgs } from './lib/args.js';
import { selected } from './lib/args.js';
import { headerPairs, markers, mdTable, textTable, writeResults } from './lib/report.js';
import { errMessage, progress, resetClock } from './lib/runner.js';
import { startHeader } from './lib/suite.js';

type Solver = 'exact' | 'sketch' | 'jacobi';

interface Coo {
  rows: number;
  cols: number;
  row: Int32Array;
  col: Int32Array;
  val: Float64Array;
}

/** perRow distinct random columns per row; values of a rank-r Gaussian product (scaled to O(1) entries). */
function makeData(m: number, n: number, perRow: number, r: number, seed: number): Coo {
  const rng = new PhiloxRng(seed, 1);
  const U = Float64Array.from({ length: m * r }, () => rng.normal() / Math.sqrt(r));
  const V = Float64Array.from({ length: n * r }, () => rng.normal());
  const nnz = m * perRow;
  const row = new Int32Array(nnz),
    col = new Int32Array(nnz),
    val = new Float64Array(nnz);
  const seen = new Set<number>();
  let q = 0;
  for (let i = 0; i < m; i++) {
    seen.clear();
    while (seen.size < perRow) seen.add(rng.int(n));
    for (const j of seen) {
      let s = 0;
      for (let t = 0; t < r; t++) s += U[i * r + t] * V[j * r + t];
      row[q] = i;
      col[q] = j;
      val[q] = s;
      q++;
    }
  }
  return { rows: m, cols: n, row, col, val };
}

interface Case {
  config: string;
  backend: 'native' | 'webgpu';
  m: number;
  nnz: number;
  k: number;
  solver: Solver;
  status: 'ok' | 'failed';
  reason?: string;
  /** Median seconds per sweep (sweeps 2..). */
  sweepS?: number;
  initS?: number;
  sweeps?: number;
  /** Final train RMSE relative to the RMS of the observed values. */
  relTrain?: number;
}

async function timeSweeps(
  S: SparseMat,
  k: number,
  solver: Solver,
  sweeps: number,
  rms: number,
): Promise<Pick<Case, 'sweepS' | 'initS' | 'sweeps' | 'relTrain'>> {
  const t0 = performance.now();
  const r = await completeMatrix(S, {
    rank: k,
    iters: sweeps,
    solver: solver === 'exact' ? 'exact' : 'sketch',
    ...(solver === 'jacobi' ? { preconditioner: 'jacobi' as const } : {}),
    inner: 2,
    seed: 1,
  });
  const total = (performance.now() - t0) / 1000;
  const h = r.info.history;
  const d = h
    .slice(1)
    .map((x, i) => x.seconds - h[i].seconds)
    .sort((a, b) => a - b);
  const sweepS = d.length ? d[Math.floor(d.length / 2)] : h[0].seconds;
  r.U.dispose();
  r.V.dispose();
  return { sweepS, initS: Math.max(0, total - h.length * sweepS), sweeps: h.length, relTrain: h[h.length - 1].trainRmse / rms };
}

function slope(ks: number[], ts: number[]): number {
  const x = ks.map(Math.log),
    y = ts.map(Math.log);
  const mx = x.reduce((a, b) => a + b, 0) / x.length,
    my = y.reduce((a, b) => a + b, 0) / y.length;
  let sxy = 0,
    sxx = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  return sxy / sxx;
}

function rmsOf(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s / v.length);
}

export async function runCompletion(args: BenchArgs): Promise<void> {
  resetClock();
  const suite = 'completion';
  const quick = args.quick;
  const header = startHeader(suite, args);
  const perRow = 100;
  const nativeM = args.shape?.[0] ?? (quick ? 4000 : 20000);
  const gpuM = quick ? 1000 : 4000;
  const ks = quick ? [8, 16] : [8, 16, 32, 64];
  const sweeps = quick ? 3 : 4;
  const large = quick ? { m: 20000, perRow: 100 } : { m: 100000, perRow: 100 };
  const solvers: Solver[] = ['exact', 'sketch', 'jacobi'];

  // ---- the large native run first, so that the process's peak RSS belongs to it
  let largeRes: { m: number; nnz: number; k: number; rows: Case[]; rssPeakMiB: number; rssBeforeMiB: number; genS: number } | undefined;
  if (selected(args, 'large')) {
    const t0 = performance.now();
    const rssBeforeMiB = process.resourceUsage().maxRSS / 1024;
    progress(suite, `large: ${large.m} x ${large.m}, ${large.m * large.perRow} entries, rank 10 (native f32)`);
    const coo = makeData(large.m, large.m, large.perRow, 10, 7);
    const genS = (performance.now() - t0) / 1000;
    const eng = await engine({ backend: 'native', dtype: 'f32' });
    const rows: Case[] = [];
    try {
      const S = eng.sparse(coo);
      const rms = rmsOf(coo.val);
      for (const solver of ['exact', 'sketch'] as const) {
        const c: Case = { config: 'lowrank-native-f32', backend: 'native', m: large.m, nnz: S.nnz, k: 10, solver, status: 'ok' };
        rows.push(c);
        try {
          Object.assign(c, await timeSweeps(S, 10, solver, sweeps, rms));
          progress(
            suite,
            `  large ${solver}: ${c.sweepS!.toFixed(2)} s / sweep (init ${c.initS!.toFixed(2)} s), train RMSE / rms ${c.relTrain!.toExponential(2)}`,
          );
        } catch (e) {
          c.status = 'failed';
          c.reason = errMessage(e);
          progress(suite, `  failed: ${c.reason}`);
        }
      }
      S.dispose();
    } finally {
      await eng.dispose();
    }
    largeRes = {
      m: large.m,
      nnz: large.m * large.perRow,
      k: 10,
      rows,
      rssPeakMiB: process.resourceUsage().maxRSS / 1024,
      rssBeforeMiB,
      genS,
    };
    progress(suite, `  peak RSS ${largeRes.rssPeakMiB.toFixed(0)} MiB (before: ${rssBeforeMiB.toFixed(0)} MiB)`);
  }

  // ---- per-sweep time against k at fixed |Omega|
  const configs = [
    { id: 'lowrank-native-f32', backend: 'native' as const, dtype: 'f32' as const, m: nativeM },
    { id: 'lowrank-webgpu-f32', backend: 'webgpu' as const, dtype: 'f32' as const, m: gpuM },
  ];
  const cases: Case[] = [];
  const labels = new Map<string, string>();
  let adapter: string | undefined;
  for (const cfg of configs) {
    if (!selected(args, cfg.id)) continue;
    progress(suite, `${cfg.id}: ${cfg.m} x ${cfg.m}, ${cfg.m * perRow} entries`);
    const coo = makeData(cfg.m, cfg.m, perRow, 8, 3);
    const rms = rmsOf(coo.val);
    let eng: Engine | undefined;
    try {
      eng = await engine({ backend: cfg.backend, dtype: cfg.dtype });
      if (cfg.backend === 'webgpu') adapter = eng.info().adapter?.description ?? 'adapter';
      labels.set(cfg.id, cfg.backend === 'webgpu' ? 'lowrank webgpu f32' : `lowrank native f32 (${eng.info().threads} threads)`);
      const S = eng.sparse(coo);
      // warm-up: pipelines, pools, sketch orders
      const W = eng.sparse(makeData(300, 300, 30, 4, 9));
      for (const s of solvers) await timeSweeps(W, 4, s, 2, 1);
      W.dispose();
      for (const k of ks) {
        for (const solver of solvers) {
          const c: Case = { config: cfg.id, backend: cfg.backend, m: cfg.m, nnz: S.nnz, k, solver, status: 'ok' };
          cases.push(c);
          try {
            Object.assign(c, await timeSweeps(S, k, solver, sweeps, rms));
            progress(suite, `  k = ${k} ${solver}: ${c.sweepS!.toFixed(3)} s / sweep`);
          } catch (e) {
            c.status = 'failed';
            c.reason = errMessage(e);
            progress(suite, `  k = ${k} ${solver} failed: ${c.reason}`);
          }
        }
      }
      S.dispose();
    } catch (e) {
      progress(suite, `${cfg.id} failed: ${errMessage(e)}`);
    } finally {
      await eng?.dispose();
    }
  }

  // ---- report
  const solverName: Record<Solver, string> = {
    exact: 'exact (Cholesky)',
    sketch: 'sketch, CountSketch precond.',
    jacobi: 'sketch, Jacobi precond.',
  };
  const headers = ['configuration', 'shape, |Omega|', 'solver', ...ks.map((k) => `k = ${k}`), 'slope d log t / d log k'];
  const trs: string[][] = [];
  const slopes: { config: string; solver: Solver; slope: number }[] = [];
  for (const cfg of configs)
    for (const solver of solvers) {
      const cs = ks.map((k) => cases.find((c) => c.config === cfg.id && c.k === k && c.solver === solver));
      if (cs.every((c) => !c)) continue;
      const ok = cs.every((c) => c?.status === 'ok');
      const sl = ok
        ? slope(
            ks,
            cs.map((c) => c!.sweepS!),
          )
        : NaN;
      if (ok) slopes.push({ config: cfg.id, solver, slope: sl });
      trs.push([
        labels.get(cfg.id) ?? cfg.id,
        `${cfg.m} x ${cfg.m}, ${((cfg.m * perRow) / 1e6).toFixed(1)}M`,
        solverName[solver],
        ...cs.map((c) => (!c ? '—' : c.status === 'ok' ? `${c.sweepS!.toFixed(3)} s` : 'failed')),
        ok ? sl.toFixed(2) : '—',
      ]);
    }
  const lheaders = ['solver', 'seconds per sweep', 'init + finish s (rsvd; muHat)', `train RMSE / rms after ${sweeps} sweeps`];
  const ltrs = (largeRes?.rows ?? []).map((c) => [
    solverName[c.solver],
    c.status === 'ok' ? c.sweepS!.toFixed(2) : `failed: ${c.reason}`,
    c.status === 'ok' ? c.initS!.toFixed(2) : '',
    c.status === 'ok' ? c.relTrain!.toExponential(2) : '',
  ]);
  const pairs = headerPairs(header)
    .filter(([k]) => k !== 'FMA peak' && k !== 'python' && k !== 'threads')
    .map(([k, v]): [string, string] => (k === 'adapter' ? [k, adapter ?? 'none used'] : [k, v]));
  const what = [
    `Observed entries: ${perRow} distinct uniformly random columns per row of a rank-8 Gaussian product (rank 10 for the large run); f32. Seconds per sweep = the median over sweeps 2..${sweeps} of one completeMatrix run (a sweep: the V and U half-sweeps, two thin QRs, the warm-start products, and the train RMSE, one scalar read back); the rest of the run (the randomized-SVD init and the final muHat) is reported apart for the large run. inner = 2 CG steps for the sketch solver; the CountSketch has s = min(|I_j|, 4k) rows, so with ${perRow} entries per row/column it is smaller than A_j only for k < ${perRow / 4}.`,
    `Costs per sweep (|Omega| = N, m + n segments): exact ~ N k^2 (Gram) + (m + n) k^3 / 3 (Cholesky); sketch (CountSketch) ~ N k + (m + n)(s k^2 + k^3) (sketch Gram, Cholesky and inverse of the k x k factor) + 3 N k (CG with inner = 2); sketch (Jacobi) ~ 4 N k. The slope is the least-squares fit of log(seconds) on log(k) over k in {${ks.join(', ')}}.`,
    `The WebGPU rows use ${gpuM} x ${gpuM} (${((gpuM * perRow) / 1e3).toFixed(0)}k entries: the same ${perRow} per row): lavapipe runs the shaders on the CPU.`,
    `This machine's 2 cores were shared with other jobs during the run (see load average): treat the figures as rough.`,
  ];
  const largeLines = largeRes
    ? [
        `Large native run: ${largeRes.m} x ${largeRes.m}, ${(largeRes.nnz / 1e6).toFixed(0)}M observed entries, rank ${largeRes.k}, f32. Peak resident memory of the bench process: ${largeRes.rssPeakMiB.toFixed(0)} MiB (max RSS, including the host COO triplets and the CSR/CSC build; ${largeRes.rssBeforeMiB.toFixed(0)} MiB before generating the data; data generation ${largeRes.genS.toFixed(1)} s).`,
      ]
    : [];
  const title = `lowrank benchmark: matrix completion (alternating minimisation)${quick ? ' — QUICK SMOKE RUN' : ''}`;
  const text = [
    title,
    ...pairs.map(([k, v]) => `${k.padEnd(8)}: ${v}`),
    '',
    ...what,
    '',
    textTable(headers, trs),
    '',
    ...largeLines,
    largeRes ? textTable(lheaders, ltrs) : '',
  ].join('\n');
  const mk = markers(suite);
  const md = [
    mk.start,
    `### Matrix completion: seconds per sweep against k at fixed |Omega|${quick ? ' — quick smoke run' : ''}`,
    '',
    ...pairs.map(([k, v]) => `- **${k}**: ${v}`),
    '',
    ...what.map((w) => w + '\n'),
    mdTable(headers, trs),
    '',
    ...(largeRes ? [...largeLines.map((l) => l + '\n'), mdTable(lheaders, ltrs)] : []),
    mk.end,
  ].join('\n');
  process.stdout.write(text + '\n\n' + md + '\n');
  if (args.write) {
    const json = {
      suite,
      schema: 1,
      quick,
      options: { perRow, nativeM, gpuM, ks, sweeps, large },
      machine: header.machine,
      versions: header.versions,
      addon: header.addon,
      results: cases,
      slopes,
      large: largeRes,
    };
    const files = writeResults(suite, quick, args.tag, header.machine.date, json, md);
    progress(suite, `wrote ${files.json} and ${files.md}`);
  }
}
