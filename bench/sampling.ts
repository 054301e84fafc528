/**
 * `npm run bench -- sampling`: l_p sensitivity sampling at scale. A is n x d (default 10^6 x 32) with
 * heavy-tailed rows (N(0, I) scaled by a Pareto(1.5) + 1 factor, the first 20 rows times 50) and
 * b = A x0 + Cauchy noise (spec C.7's generator, larger). For each lowrank configuration, one timed run
 * (after a warm-up on a small problem) of: leverage scores of A; Lewis weights (p = 1) of A; a 2000-row
 * coreset of [A, b] (Lewis scores included); the l_1 regression on that coreset; the full l_1 IRLS.
 * Reported: seconds, iterations, and the coreset answer's excess objective over the full IRLS answer.
 */
import { engine, leverageScores, lewisWeights, lpRegression, type Engine } from '../ts/index.js';
import type { BenchArgs } from './lib/args.js';
import { selected } from './lib/args.js';
import { headerPairs, markers, mdTable, textTable, writeResults } from './lib/report.js';
import { errMessage, progress, resetClock } from './lib/runner.js';
import { startHeader } from './lib/suite.js';

/** Iteration cap of the full-data IRLS (each step is a QR of the whole n x d matrix). */
const FULL_ITERS = 30;

interface Row {
  id: string;
  label: string;
  n: number;
  status: 'ok' | 'failed' | 'skipped';
  reason?: string;
  leverageS?: number;
  lewisS?: number;
  lewisIters?: number;
  lewisResidual?: number;
  sampleRows?: number;
  coresetRegS?: number;
  fullRegS?: number;
  fullIters?: number;
  excess?: number;
}

/** Heavy-tailed A (n x d) and b on a native f64 engine, returned as host arrays. */
async function makeData(n: number, d: number): Promise<{ A: Float64Array; b: Float64Array }> {
  const eng = await engine({ backend: 'native', dtype: 'f64' });
  try {
    const G = eng.randn(n, d, { seed: 41 });
    const u = await eng.rand(n, 2, { seed: 42 }).toArray();
    const s = Float64Array.from({ length: n }, (_, i) => (1 - u[2 * i]) ** (-1 / 1.5) * (i < 20 ? 50 : 1));
    const A = await eng.scaleRows(G, s);
    const x0 = eng.randn(d, 1, { seed: 43 });
    const Ax = await eng.matmul(A, x0);
    const ax = await Ax.toArray();
    const b = Float64Array.from(ax, (v, i) => v + Math.tan(Math.PI * (u[2 * i + 1] - 0.5)));
    const a = Float64Array.from(await A.toArray());
    for (const x of [G, A, x0, Ax]) x.dispose();
    return { A: a, b };
  } finally {
    await eng.dispose();
  }
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
}

export async function runSampling(args: BenchArgs): Promise<void> {
  resetClock();
  const suite = 'sampling';
  const [n, d] = args.shape ?? (args.quick ? [20000, 16] : [1_000_000, 32]);
  const size = Math.min(2000, Math.floor(n / 4));
  const header = startHeader(suite, args);
  progress(suite, `A ${n} x ${d} (heavy-tailed rows, 20 outliers), b = A x0 + Cauchy noise; coreset size ${size}; p = 1`);
  const { A, b } = await makeData(n, d);
  const gpuN = Math.min(n, 100_000); // lavapipe runs shaders on the CPU; a quarter of the rows
  const configs: { id: string; backend: 'native' | 'webgpu'; dtype: 'f32' | 'f64'; n: number }[] = [
    { id: 'lowrank-native-f64', backend: 'native', dtype: 'f64', n },
    { id: 'lowrank-native-f32', backend: 'native', dtype: 'f32', n },
    { id: 'lowrank-webgpu-f32', backend: 'webgpu', dtype: 'f32', n: gpuN },
  ];
  const rows: Row[] = [];
  for (const c of configs) {
    if (!selected(args, c.id)) continue;
    const row: Row = { id: c.id, label: `lowrank ${c.backend} ${c.dtype}`, n: c.n, status: 'ok' };
    rows.push(row);
    let eng: Engine | undefined;
    try {
      eng = await engine({ backend: c.backend, dtype: c.dtype });
      if (c.backend === 'webgpu') row.label += ` (${eng.info().adapter?.description ?? 'adapter'})`;
      const a = c.n === n ? A : A.subarray(0, c.n * d);
      const M = eng.matrix(c.dtype === 'f64' ? a : Float32Array.from(a), c.n, d);
      const bv = c.dtype === 'f64' ? b.subarray(0, c.n) : Float32Array.from(b.subarray(0, c.n));
      // warm-up: pipelines, threads, pools
      const W = eng.randn(2000, d, { seed: 1 });
      await lewisWeights(W, { p: 1, iters: 3 });
      await lpRegression(W, new Float64Array(2000).fill(1), { p: 1, iters: 3 });
      W.dispose();
      progress(suite, `${row.label}: leverage scores`);
      [, row.leverageS] = await timed(() => leverageScores(M));
      progress(suite, `${row.label}: Lewis weights (p = 1)`);
      const [lw, lt] = await timed(() => lewisWeights(M, { p: 1, details: true }));
      Object.assign(row, { lewisS: lt, lewisIters: lw.iterations, lewisResidual: lw.residual });
      progress(suite, `${row.label}: coreset regression`);
      const [cr, ct] = await timed(() => lpRegression(M, bv, { p: 1, coreset: { size }, seed: 1 }));
      row.coresetRegS = ct;
      row.sampleRows = cr.coreset!.indices.length;
      progress(suite, `${row.label}: full IRLS`);
      const [fr, ft] = await timed(() => lpRegression(M, bv, { p: 1, iters: FULL_ITERS }));
      Object.assign(row, { fullRegS: ft, fullIters: fr.iterations, excess: cr.objective / fr.objective - 1 });
      M.dispose();
      progress(
        suite,
        `  leverage ${row.leverageS!.toFixed(2)} s, Lewis ${lt.toFixed(2)} s (${lw.iterations} it), coreset regression ${ct.toFixed(2)} s, full IRLS ${ft.toFixed(2)} s (${fr.iterations} it), excess ${row.excess!.toExponential(2)}`,
      );
    } catch (e) {
      row.status = 'failed';
      row.reason = errMessage(e);
      progress(suite, `  failed: ${row.reason}`);
    } finally {
      await eng?.dispose();
    }
  }

  const f = (x: number | undefined, digits = 2) => (x === undefined ? '—' : x.toFixed(digits));
  const headers = [
    'configuration',
    'n',
    'leverage scores',
    'Lewis weights p=1 (iters, residual)',
    `coreset l1 regression (${size} target; rows kept)`,
    `full l1 IRLS (iters, cap ${FULL_ITERS})`,
    'full / coreset time',
    'coreset excess',
  ];
  const trs = rows.map((r) =>
    r.status !== 'ok'
      ? [r.label, String(r.n), `${r.status}: ${(r.reason ?? '').slice(0, 80)}`, '', '', '', '', '']
      : [
          r.label,
          String(r.n),
          `${f(r.leverageS)} s`,
          `${f(r.lewisS)} s (${r.lewisIters}, ${r.lewisResidual!.toExponential(1)})`,
          `${f(r.coresetRegS)} s (${r.sampleRows})`,
          `${f(r.fullRegS)} s (${r.fullIters})`,
          `${(r.fullRegS! / r.coresetRegS!).toFixed(1)}x`,
          r.excess!.toExponential(2),
        ],
  );
  const adapter = rows.find((r) => r.id.includes('webgpu') && r.status === 'ok')?.label.replace(/^.*\((.*)\)$/, '$1');
  const pairs = headerPairs(header)
    .filter(([k]) => k !== 'threads' && k !== 'FMA peak' && k !== 'python')
    .map(([k, v]): [string, string] => (k === 'adapter' ? [k, adapter ?? 'none used'] : [k, v]));
  const what = [
    `A is n x ${d}: rows N(0, I) scaled by (Pareto(1.5) + 1), the first 20 rows times 50; b = A x0 + Cauchy noise (seeded; the same f64 data everywhere, rounded once for f32). p = 1. One timed run per step after a warm-up on a 2000-row problem; seconds of wall time, results on the host.`,
    `coreset l1 regression = Lewis scores of [A, b] + sampling + gathering the rows on the device (sparse selection) + IRLS and the exact l_1 polish on the ${size}-row problem + the full-data objective; excess = objective(coreset answer) / objective(full IRLS answer) - 1 on the full data. The full IRLS is capped at ${FULL_ITERS} steps (each one a QR of the whole weighted matrix; delta is then ~2^-${FULL_ITERS} median |r|) and at this n it gets no exact polish, so its objective is close to, not exactly, the optimum.`,
    `The WebGPU row uses the first ${gpuN} rows (lavapipe runs the shaders on the CPU).`,
  ];
  const text = [
    `lowrank benchmark: l_p sensitivity sampling${args.quick ? ' — QUICK SMOKE RUN' : ''}`,
    ...pairs.map(([k, v]) => `${k.padEnd(8)}: ${v}`),
    '',
    ...what,
    '',
    textTable(headers, trs),
  ].join('\n');
  const mk = markers(suite);
  const md = [
    mk.start,
    `### l_p sensitivity sampling, A ${n} x ${d}, p = 1${args.quick ? ' — quick smoke run' : ''}`,
    '',
    ...pairs.map(([k, v]) => `- **${k}**: ${v}`),
    '',
    ...what.map((w) => w + '\n'),
    mdTable(headers, trs),
    mk.end,
  ].join('\n');
  process.stdout.write(text + '\n\n' + md + '\n');
  if (args.write) {
    const json = {
      suite,
      schema: 1,
      quick: args.quick,
      options: { n, d, size, p: 1, gpuN },
      machine: header.machine,
      versions: header.versions,
      addon: header.addon,
      results: rows,
    };
    const files = writeResults(suite, args.quick, args.tag, header.machine.date, json, md);
    progress(suite, `wrote ${files.json} and ${files.md}`);
  }
}
