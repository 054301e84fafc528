/**
 * `npm run bench -- gemm`: C = A B for square f32 matrices (n x n), GFLOP/s = 2 n^3 / t.
 *
 * Order: FMA peak probe, CPU configurations (lowrank native 1 / all threads, numpy x 4, ml-matrix,
 * tfjs-wasm, gpu.js-webasm), then GPU configurations on the one Dawn adapter (lowrank webgpu, gpu.js
 * webgpu, tfjs webgpu) — no Dawn device is alive while the CPU figures are taken — then the peak
 * probe again.
 *
 * Section `goal` (issue 14, goal 1; `--only goal` runs it alone): lowrank native against numpy/OpenBLAS
 * in interleaved rounds, f32 and f64, 1 and all threads, square n = 256..4096 and randomized SVD's skinny
 * products. It has its own marker block in gemm-latest.md; a run that measures only one of the two parts
 * keeps the other block from the previous file.
 */
import os from 'node:os';
import { engine, type Engine } from '../ts/index.js';
import type { BenchArgs } from './lib/args.js';
import { selected } from './lib/args.js';
import { asDtype } from './lib/data.js';
import { randn } from './lib/linalg.js';
import { cores } from './lib/machine.js';
import { peakFor, type PeakTable } from './lib/peak.js';
import type { DType, GemmCaseResult, Peer } from './lib/peer.js';
import { findPython, pythonMissingReason, PythonWorker } from './lib/python.js';
import {
  fmtErr,
  fmtMs,
  fmtNum,
  fmtRatio,
  headerMd,
  headerPairs,
  headerText,
  markers,
  mdTable,
  peerNotes,
  previousBlock,
  textTable,
  writeResults,
  type Header,
} from './lib/report.js';
import { errMessage, progress, resetClock, runSuite, type CaseRecord } from './lib/runner.js';
import { baselineFor, noteBlas, pctOfPeak, probePeak, startHeader, timingFor } from './lib/suite.js';
import { SETTLE_MS, settle, summarize, type Timing, type TimingOptions, watchdog, withTimeout } from './lib/timing.js';
import { GpuJsPeer } from './peers/gpujs.js';
import { LowrankPeer } from './peers/lowrank.js';
import { MlMatrixPeer } from './peers/mlmatrix.js';
import { NumpyPeer } from './peers/numpy.js';
import { TfjsPeer } from './peers/tfjs.js';

export function gemmPeers(): Peer[] {
  const N = cores();
  return [
    new LowrankPeer('native', 1),
    new LowrankPeer('native'),
    new NumpyPeer('Haswell', 1, false),
    new NumpyPeer('Haswell', N, true),
    new NumpyPeer('SkylakeX', 1, false),
    new NumpyPeer('SkylakeX', N, true),
    new MlMatrixPeer(),
    new TfjsPeer('wasm'),
    new GpuJsPeer('webasm'),
    new LowrankPeer('webgpu'),
    new GpuJsPeer('webgpu'),
    new TfjsPeer('webgpu'),
  ];
}

const gf = (n: number, ms: number) => (2 * n ** 3) / (ms * 1e6);

interface Row {
  peer: string;
  n: number;
  status: string;
  reason?: string;
  completion?: string;
  dtype?: string;
  bestMs?: number;
  medianMs?: number;
  runs?: number;
  cold?: boolean;
  gflopsBest?: number;
  gflopsMedian?: number;
  pctPeak?: number;
  readback?: { bestMs: number; medianMs: number; runs: number; gflopsBest: number; gflopsMedian: number; pctPeak?: number };
  relErr?: number;
  samplesMs?: number[];
}

export async function runGemm(args: BenchArgs): Promise<void> {
  resetClock();
  const suite = 'gemm';
  const sizes = [...(args.sizes ?? (args.quick ? [128, 256] : [256, 512, 1024, 2048]))].sort((a, b) => a - b);
  const timing = timingFor(args);
  const maxRunMs = (args.maxRunS ?? (args.quick ? 5 : 30)) * 1000;
  const header = startHeader(suite, args);
  const peers = gemmPeers().filter((p) => selected(args, p.id));
  const goalOn = selected(args, 'goal');
  const goalSquares = [...(args.sizes ?? (args.quick ? [128, 256] : [256, 512, 1024, 2048, 4096]))].sort((a, b) => a - b);
  progress(
    suite,
    `sizes ${sizes.join(', ')}; peers ${peers.map((p) => p.id).join(', ') || 'none'}${goalOn ? `; goal section, squares ${goalSquares.join(', ')}` : ''}`,
  );

  await probePeak(suite, header.peak, args.quick, 'start');
  const { peers: peerRecs, cases } = await runSuite<number, GemmCaseResult>({
    suite,
    peers,
    cases: sizes,
    key: (n) => `n=${n}`,
    timing,
    quick: args.quick,
    exec: (peer, n, ctx) => peer.gemm!(n, ctx),
    summary: (r) =>
      `best ${fmtMs(r.timing.bestMs)}, median ${fmtMs(r.timing.medianMs)} (${r.timing.n} runs${r.timing.cold ? ', cold' : ''})${r.readback ? `; +readback best ${fmtMs(r.readback.bestMs)}` : ''}; err ${fmtErr(r.relErr)}`,
    preSkip: (peer, n, done) => {
      const prev = done.filter((d) => d.status === 'ok' && d.result).map((d) => ({ n: +d.key.slice(2), ms: d.result!.timing.bestMs }));
      const last = prev[prev.length - 1];
      if (!last || last.n >= n) return undefined;
      const predicted = last.ms * (n / last.n) ** 3;
      if (predicted > maxRunMs)
        return `predicted ${(predicted / 1000).toFixed(0)} s per run (from n=${last.n}) > --max-run ${(maxRunMs / 1000).toFixed(0)} s`;
      return undefined;
    },
  });
  const goal = goalOn ? await runGoal({ squares: goalSquares, timing, maxRunMs, peak: header.peak, core: args.openblasCore }) : undefined;
  await probePeak(suite, header.peak, args.quick, 'end');
  // % of peak against the higher of the two probes, as the per-peer tables
  for (const r of goal?.rows ?? [])
    for (const side of [r.lowrank, r.numpy]) {
      const p = peakFor(header.peak, r.dtype, r.threads);
      if (p && side.gflopsBest !== undefined) side.pctPeak = (100 * side.gflopsBest) / p;
    }
  header.peers = peerRecs;
  noteBlas(header, peerRecs);

  // ---- derived numbers -------------------------------------------------------------------------
  const rows: Row[] = cases.map((c: CaseRecord<GemmCaseResult>) => {
    const n = +c.key.slice(2);
    const row: Row = { peer: c.peer, n, status: c.status, reason: c.reason };
    const r = c.result;
    if (!r) return row;
    const pr = peerRecs.find((p) => p.id === c.peer)!;
    const fill = (t: Timing) => ({
      bestMs: t.bestMs,
      medianMs: t.medianMs,
      runs: t.n,
      gflopsBest: gf(n, t.bestMs),
      gflopsMedian: gf(n, t.medianMs),
    });
    Object.assign(row, fill(r.timing), {
      completion: r.completion,
      dtype: r.dtype,
      relErr: r.relErr,
      cold: r.timing.cold,
      samplesMs: r.timing.samplesMs,
    });
    row.pctPeak = pctOfPeak(header.peak, pr, r.dtype, row.gflopsBest!);
    if (r.readback) {
      const rb = fill(r.readback);
      row.readback = { ...rb, pctPeak: pctOfPeak(header.peak, pr, r.dtype, rb.gflopsBest) };
    }
    return row;
  });
  const get = (peer: string, n: number) => rows.find((r) => r.peer === peer && r.n === n);

  const ratios: { peer: string; vs: string; n: number; completion: string; speedup: number; speedupMedian: number }[] = [];
  for (const p of peerRecs) {
    if (p.lowrank || p.status !== 'ok') continue;
    const base = baselineFor(p, peerRecs);
    if (!base) continue;
    for (const n of sizes) {
      const a = get(p.id, n),
        b = get(base.id, n);
      if (a?.bestMs && b?.bestMs && a.completion === b.completion)
        ratios.push({
          peer: p.id,
          vs: base.id,
          n,
          completion: a.completion!,
          speedup: a.bestMs / b.bestMs,
          speedupMedian: a.medianMs! / b.medianMs!,
        });
      if (a?.readback && b?.readback)
        ratios.push({
          peer: p.id,
          vs: base.id,
          n,
          completion: 'readback',
          speedup: a.readback.bestMs / b.readback.bestMs,
          speedupMedian: a.readback.medianMs / b.readback.medianMs,
        });
    }
  }

  // ---- tables ----------------------------------------------------------------------------------
  const cell = (r: Row | undefined, rb = false): string => {
    if (!r) return '—';
    if (r.status !== 'ok') return r.status;
    const g = rb ? r.readback : r;
    if (!g) return '—';
    const pct = g.pctPeak === undefined ? '' : g.pctPeak < 1 ? ' <1%' : ` ${g.pctPeak.toFixed(0)}%`;
    return `${fmtNum(g.gflopsBest)} (${fmtNum(g.gflopsMedian)})${pct}${r.cold ? '*' : ''}`;
  };
  const headers = ['configuration', 'threads', 'dtype', 'timed to', ...sizes.map((n) => `n=${n}`), 'max err'];
  const perfRows: string[][] = [];
  for (const p of peerRecs) {
    const any = rows.find((r) => r.peer === p.id && r.status === 'ok');
    const errs = rows.filter((r) => r.peer === p.id && r.relErr !== undefined).map((r) => r.relErr!);
    const thr = p.kind === 'gpu' ? 'GPU' : String(p.threads);
    perfRows.push([
      p.label,
      thr,
      any?.dtype ?? '—',
      any?.completion ?? (p.status === 'ok' ? '—' : p.status),
      ...sizes.map((n) => cell(get(p.id, n))),
      errs.length ? fmtErr(Math.max(...errs)) : '—',
    ]);
    if (rows.some((r) => r.peer === p.id && r.readback))
      perfRows.push([`${p.label} + readback`, thr, any?.dtype ?? '—', 'readback', ...sizes.map((n) => cell(get(p.id, n), true)), '']);
  }
  const ratioRows: string[][] = [];
  for (const p of peerRecs) {
    if (p.lowrank || p.status !== 'ok') continue;
    for (const completion of ['host', 'sync', 'readback']) {
      const rs = ratios.filter((r) => r.peer === p.id && r.completion === completion);
      if (!rs.length) continue;
      const vs = peerRecs.find((x) => x.id === rs[0].vs)!;
      ratioRows.push([
        p.label + (completion === 'readback' ? ' + readback' : ''),
        vs.label,
        ...sizes.map((n) => fmtRatio(rs.find((r) => r.n === n)?.speedup)),
      ]);
    }
  }
  const reasons: string[] = [];
  const okPeer = (id: string) => peerRecs.find((p) => p.id === id)?.status === 'ok'; // failed peers are noted once
  for (const r of rows)
    if (r.status !== 'ok' && r.reason && okPeer(r.peer))
      reasons.push(`${peerRecs.find((p) => p.id === r.peer)?.label} n=${r.n}: ${r.status} — ${r.reason}`);
  const uniqReasons = collapse(reasons);
  const over = rows.filter((r) => (r.pctPeak ?? 0) > 105 || (r.readback?.pctPeak ?? 0) > 105);
  if (over.length)
    uniqReasons.push(
      `${over.length} figure(s) exceed the measured FMA peak: the peak probe was disturbed (load, frequency); treat % of peak as unreliable in this run`,
    );

  const title = `lowrank benchmark: GEMM${args.quick ? ' — QUICK SMOKE RUN (few iterations, small sizes; not for publication)' : ''}`;
  const what = [
    `C = A B, A and B n x n standard normal, row-major; GFLOP/s = 2 n^3 / t. Cells: best (median) GFLOP/s over the timed runs after one warm-up, then % of the FMA peak of the same dtype and thread count (GPU rows: % of the all-threads CPU peak, only on a software adapter). * = a single cold run (over the time cap).`,
    `timed to: host = result in host memory when the call returns; sync = GPU queue drained (onSubmittedWorkDone), result left on the GPU; readback = result copied back to the host. max err = max over 20 entries of |c - c_ref| / sum_k |a_ik b_kj| (f64 reference).`,
    `timing: warm-up 1, then ${timing.minIters}-${timing.maxIters} runs aiming at ${timing.targetMs / 1000} s per case, cap ${timing.capMs / 1000} s per case; a size predicted to run longer than ${maxRunMs / 1000} s once is skipped.`,
  ];
  const ratioWhat =
    'Speed-up of lowrank = t_peer / t_lowrank (best times, same completion); > 1 means lowrank is faster. CPU peers are compared with lowrank native on the same thread count, GPU peers with lowrank webgpu on the same adapter.';

  const text = [
    title,
    ...headerText(header),
    '',
    ...what,
    textTable(headers, perfRows),
    '',
    ratioWhat,
    textTable(['peer', 'vs', ...sizes.map((n) => `n=${n}`)], ratioRows),
    '',
    'notes:',
    ...peerNotes(peerRecs).map((s) => `  - ${s}`),
    ...uniqReasons.map((s) => `  - ${s}`),
  ].join('\n');

  const mk = markers(suite);
  const mainMd = [
    mk.start,
    `### GEMM (f32)${args.quick ? ' — quick smoke run, not for publication' : ''}`,
    '',
    ...headerMd(header),
    '',
    ...what.map((w) => w + '\n'),
    mdTable(headers, perfRows),
    '',
    ratioWhat,
    '',
    mdTable(['peer', 'vs', ...sizes.map((n) => `n=${n}`)], ratioRows),
    '',
    ...peerNotes(peerRecs).map((s) => `- ${s}`),
    ...uniqReasons.map((s) => `- ${s}`),
    mk.end,
  ].join('\n');
  const goalRep = goal ? goalReport(goal, header, timing, maxRunMs, args.quick) : undefined;
  // a partial run (no peers, or no goal section) keeps the other block of the previous file
  const md = [
    peers.length ? mainMd : (previousBlock(suite, args.quick, suite) ?? mainMd),
    goalRep?.md ?? previousBlock(suite, args.quick, 'gemm-goal'),
  ]
    .filter(Boolean)
    .join('\n\n');

  process.stdout.write(
    (peers.length ? text + '\n\n' + mainMd + '\n' : '') + (goalRep ? '\n' + goalRep.text + '\n\n' + goalRep.md + '\n' : ''),
  );

  if (args.write) {
    const json = {
      suite,
      schema: 1,
      quick: args.quick,
      options: { sizes, timing, maxRunMs },
      machine: header.machine,
      versions: header.versions,
      python: header.python ?? { missing: header.pythonMissing },
      addon: header.addon,
      peak: header.peak,
      peers: peerRecs,
      results: rows,
      ratios,
      goal,
    };
    // a goal-only run must not overwrite the day's full JSON
    const files = writeResults(suite, args.quick, args.tag, header.machine.date, json, md, peers.length ? suite : 'gemm-goal');
    progress(suite, `wrote ${files.json} and ${files.md}`);
  }
}

/** Collapses "peer n=..: reason" lines that repeat the same reason into one line per peer. */
function collapse(lines: string[]): string[] {
  const by = new Map<string, number[]>();
  for (const l of lines) {
    const m = /^(.*) n=(\d+): (.*)$/.exec(l);
    if (!m) continue;
    const k = `${m[1]}\u0000${m[3]}`;
    by.set(k, [...(by.get(k) ?? []), +m[2]]);
  }
  return [...by.entries()].map(([k, ns]) => {
    const [who, why] = k.split('\u0000');
    return `${who} n=${ns.join(',')}: ${why}`;
  });
}

// ---- issue 14 goal 1: lowrank native against numpy/OpenBLAS, head to head ---------------------------

/** C = op(A) B with op(A) m x k and B k x n; transA: A is stored k x m (rsvd's A^T Q). */
interface GoalShape {
  id: string;
  label: string;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  /** The order of a square product (for the --max-run prediction). */
  square?: number;
}

interface GoalSide {
  timing?: Timing;
  gflopsBest?: number;
  gflopsMedian?: number;
  pctPeak?: number;
  relErr?: number;
  method?: string;
  /** Median process CPU time per timed run (user + system, all threads). */
  cpuMedianMs?: number;
}

interface GoalRow {
  shape: string;
  label: string;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  dtype: DType;
  threads: number;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  lowrank: GoalSide;
  numpy: GoalSide;
  /** numpy best / lowrank best (> 1: lowrank faster), and the same for medians. */
  ratio?: number;
  ratioMedian?: number;
  /** numpy / lowrank on median CPU time per run (shown for one thread). */
  ratioCpu?: number;
  met?: boolean;
  /** 1-minute load average when the case started (other work on the shared cores). */
  loadAvg?: number;
}

interface GoalResult {
  rounds: number;
  /** OPENBLAS_CORETYPE of the numpy workers. */
  core: string;
  shapes: GoalShape[];
  rows: GoalRow[];
  /** The OpenBLAS each worker reported (per thread count). */
  workers: { threads: number; blas?: string; env?: Record<string, string | null>; error?: string }[];
  loadAvgAtEnd: number[];
  notes: string[];
}

const GOAL_ROUNDS = 3;
/**
 * Timing of one side's runs in one round: a third of the budget, and up to 10x the suite's run cap (so a
 * 0.2 ms product gets ~100 runs per round, not 10: its best-of figure then reflects the code, not one
 * scheduling hiccup); the same options go to the numpy worker.
 */
function goalPart(t: TimingOptions): TimingOptions {
  return {
    ...t,
    targetMs: t.targetMs / GOAL_ROUNDS,
    minIters: Math.max(2, Math.ceil(t.minIters / GOAL_ROUNDS)),
    maxIters: Math.max(2, Math.ceil((10 * t.maxIters) / GOAL_ROUNDS)),
  };
}
const GOAL_CORE = 'Haswell';

export function goalShapes(squares: number[]): GoalShape[] {
  return [
    ...squares.map((s) => ({ id: `n=${s}`, label: `${s} x ${s} x ${s}`, m: s, k: s, n: s, transA: false, square: s })),
    { id: 'A B', label: 'A B: A 4000 x 2000, B 2000 x 60', m: 4000, k: 2000, n: 60, transA: false },
    { id: 'A^T Q', label: 'A^T Q: A 4000 x 2000, Q 4000 x 60', m: 2000, k: 4000, n: 60, transA: true },
  ];
}

/** max over 20 entries of |c_ij - sum_p op(A)_ip B_pj| / sum_p |op(A)_ip B_pj| (f64 reference). */
function spotCheck(A: ArrayLike<number>, B: ArrayLike<number>, s: GoalShape, C: ArrayLike<number>): number {
  let seed = 7,
    worst = 0;
  const next = (mod: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % mod;
  };
  for (let t = 0; t < 20; t++) {
    const i = next(s.m),
      j = next(s.n);
    let ref = 0,
      abs = 0;
    for (let p = 0; p < s.k; p++) {
      const x = (s.transA ? A[p * s.m + i] : A[i * s.k + p]) * B[p * s.n + j];
      ref += x;
      abs += Math.abs(x);
    }
    const v = C[i * s.n + j];
    const e = Number.isFinite(v) ? Math.abs(v - ref) / (abs || 1) : Infinity;
    if (e > worst) worst = e;
  }
  return worst;
}

/**
 * timeCase's policy (warm-up checked, then clamp(target / warm-up) runs inside the cap) with the process
 * CPU time (user + system, all threads) of every timed run next to its wall time.
 */
async function cpuTimedCase<R>(
  run: () => Promise<R>,
  release: (r: R) => unknown,
  check: (r: R) => Promise<number | undefined>,
  o: TimingOptions,
): Promise<{ timing: Timing; cpuMs: number[]; acc?: number }> {
  const t = performance.now();
  const first = await withTimeout(run(), o.capMs, 'warm-up run');
  const warm = performance.now() - t;
  let acc: number | undefined;
  try {
    acc = await check(first);
  } finally {
    await release(first);
  }
  const left = o.capMs - warm;
  if (left <= warm) return { timing: summarize([warm], warm, true), cpuMs: [], acc };
  const est = Math.max(warm, 1e-3);
  const iters = Math.max(1, Math.min(Math.max(o.minIters, Math.min(o.maxIters, Math.round(o.targetMs / est))), Math.floor(left / est)));
  const wall: number[] = [],
    cpu: number[] = [];
  const start = performance.now();
  // one watchdog for the series, not a timer per timed run (see watchdog)
  const dog = watchdog(left + o.capMs, 'timed runs');
  try {
    for (let i = 0; i < iters; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await dog.race(run());
      await release(r);
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      if (performance.now() - start > left) break;
    }
  } finally {
    dog.clear();
  }
  return { timing: summarize(wall, warm), cpuMs: cpu, acc };
}

function mergeTimings(ts: Timing[]): Timing {
  const samples = ts.flatMap((t) => t.samplesMs);
  const out = summarize(samples, ts[0]?.warmupMs ?? 0);
  return ts.some((t) => t.cold) ? { ...out, cold: true } : out;
}

/**
 * lowrank native against numpy/OpenBLAS (Haswell kernels by default, as NumpyPeer('Haswell') selects them;
 * `core` overrides) on the same dtype, thread count and shape, in GOAL_ROUNDS interleaved rounds (lowrank
 * runs, then numpy runs, each with a third of the timing budget and after a settle() pause, so that neither
 * side starts while the other's threads still spin), so that a load spike on the shared machine hits both sides;
 * best and median over all rounds' samples. One persistent numpy worker per thread count.
 */
async function runGoal(o: {
  squares: number[];
  timing: TimingOptions;
  maxRunMs: number;
  peak: PeakTable;
  core?: string;
}): Promise<GoalResult> {
  const core = o.core ?? GOAL_CORE;
  const suite = 'gemm';
  const N = cores();
  const threadList = [...new Set([1, N])];
  const shapes = goalShapes(o.squares);
  const part = goalPart(o.timing);
  const res: GoalResult = { rounds: GOAL_ROUNDS, core, shapes, rows: [], workers: [], loadAvgAtEnd: [], notes: [] };
  const py = findPython();
  if (!py) res.notes.push(`numpy: ${pythonMissingReason()}`);
  progress(
    suite,
    `goal: lowrank native vs numpy OpenBLAS (${core}), ${GOAL_ROUNDS} interleaved rounds per case, threads ${threadList.join(', ')}`,
  );
  for (const threads of threadList) {
    const t = String(threads);
    const worker = py
      ? new PythonWorker(py.exe, { OPENBLAS_CORETYPE: core, OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t })
      : null;
    const winfo: GoalResult['workers'][number] = { threads };
    res.workers.push(winfo);
    let npBroken: string | null = py ? null : pythonMissingReason();
    if (worker) {
      try {
        const info = await worker.request<{
          blas: { api?: string; version?: string; corename?: string; threads?: number }[];
          numpy: string;
          env: Record<string, string | null>;
        }>({ cmd: 'info' }, 60_000);
        winfo.env = info.env;
        winfo.blas = `numpy ${info.numpy}; ${info.blas
          .map(
            (b) =>
              `${b.api ?? 'blas'} ${b.version?.match(/OpenBLAS\s+([\d.]+)/)?.[1] ?? b.version ?? '?'}${b.corename ? ` (${b.corename})` : ''}${b.threads !== undefined ? `, ${b.threads} thread${b.threads === 1 ? '' : 's'}` : ''}`,
          )
          .join(', ')}`;
        const coresSeen = info.blas.map((b) => b.corename).filter(Boolean);
        if (coresSeen.length && !coresSeen.every((c) => c!.toLowerCase() === core.toLowerCase()))
          res.notes.push(`numpy ${threads}t: requested OPENBLAS_CORETYPE=${core} but the library reports ${coresSeen.join(', ')}`);
      } catch (e) {
        npBroken = winfo.error = errMessage(e);
      }
    }
    try {
      for (const dtype of ['f32', 'f64'] as const) {
        const eng = await engine({ backend: 'native', dtype, threads });
        try {
          for (const s of shapes) {
            const row: GoalRow = {
              shape: s.id,
              label: s.label,
              m: s.m,
              k: s.k,
              n: s.n,
              transA: s.transA,
              dtype,
              threads,
              status: 'ok',
              lowrank: {},
              numpy: {},
              loadAvg: +os.loadavg()[0].toFixed(2),
            };
            res.rows.push(row);
            const tag = `goal ${dtype} ${threads}t ${s.id}`;
            if (s.square) {
              const prev = res.rows.filter(
                (r) => r.dtype === dtype && r.threads === threads && r.status === 'ok' && r.m === r.n && r.m < s.square!,
              );
              const last = prev[prev.length - 1];
              if (last) {
                const ms = Math.max(last.lowrank.timing?.bestMs ?? 0, last.numpy.timing?.bestMs ?? 0);
                const predicted = ms * (s.square / last.m) ** 3;
                if (predicted > o.maxRunMs) {
                  Object.assign(row, {
                    status: 'skipped',
                    reason: `predicted ${(predicted / 1000).toFixed(1)} s per run (from n=${last.m}) > --max-run ${(o.maxRunMs / 1000).toFixed(0)} s`,
                  });
                  progress(suite, `${tag}: skipped — ${row.reason}`);
                  continue;
                }
              }
            }
            const aRows = s.transA ? s.k : s.m,
              aCols = s.transA ? s.m : s.k;
            const A = asDtype(randn(aRows * aCols, 3000 + s.m + s.k), dtype);
            const B = asDtype(randn(s.k * s.n, 4000 + s.n), dtype);
            const Am = (eng as Engine<'f64'>).matrix(A as Float64Array, aRows, aCols),
              Bm = (eng as Engine<'f64'>).matrix(B as Float64Array, s.k, s.n);
            const lrT: Timing[] = [],
              npT: Timing[] = [],
              lrCpu: number[] = [],
              npCpu: number[] = [];
            try {
              for (let round = 0; round < GOAL_ROUNDS; round++) {
                if (row.status !== 'ok') break;
                await settle();
                try {
                  const r = await cpuTimedCase(
                    () => (eng as Engine<'f64'>).matmul(Am, Bm, { transA: s.transA }),
                    (C) => C.dispose(),
                    async (C) => (round === 0 ? spotCheck(A, B, s, await C.toArray()) : undefined),
                    part,
                  );
                  if (r.acc !== undefined) row.lowrank.relErr = r.acc;
                  lrT.push(r.timing);
                  lrCpu.push(...r.cpuMs);
                } catch (e) {
                  Object.assign(row, { status: 'failed', reason: `lowrank: ${errMessage(e)}` });
                  break;
                }
                if (npBroken || !worker) {
                  Object.assign(row, { status: 'failed', reason: `numpy: ${npBroken ?? 'no worker'}` });
                  break;
                }
                await settle();
                try {
                  const r = await worker.request<{ timing: Timing & { cpuMs?: number[] }; relErr: number; method: string }>(
                    { cmd: 'gemm', n: s.n, m: s.m, k: s.k, transA: s.transA, dtype, timing: { ...part, cpu: true } },
                    part.capMs * 2 + 60_000,
                  );
                  Object.assign(row.numpy, { relErr: r.relErr, method: r.method });
                  const { cpuMs, ...wall } = r.timing;
                  npT.push(wall);
                  npCpu.push(...(cpuMs ?? []));
                } catch (e) {
                  npBroken = errMessage(e);
                  Object.assign(row, { status: 'failed', reason: `numpy: ${npBroken}` });
                  break;
                }
              }
            } finally {
              Am.dispose();
              Bm.dispose();
            }
            const flops = 2 * s.m * s.k * s.n;
            const peak = peakFor(o.peak, dtype, threads);
            for (const [side, ts] of [
              [row.lowrank, lrT],
              [row.numpy, npT],
            ] as const) {
              if (!ts.length) continue;
              side.timing = mergeTimings(ts);
              side.gflopsBest = flops / (side.timing.bestMs * 1e6);
              side.gflopsMedian = flops / (side.timing.medianMs * 1e6);
              if (peak) side.pctPeak = (100 * side.gflopsBest) / peak;
            }
            const med = (x: number[]): number | undefined => (x.length ? summarize(x, 0).medianMs : undefined);
            row.lowrank.cpuMedianMs = med(lrCpu);
            row.numpy.cpuMedianMs = med(npCpu);
            if (row.status === 'ok' && row.lowrank.timing && row.numpy.timing) {
              if (row.lowrank.cpuMedianMs && row.numpy.cpuMedianMs) row.ratioCpu = row.numpy.cpuMedianMs / row.lowrank.cpuMedianMs;
              row.ratio = row.numpy.timing.bestMs / row.lowrank.timing.bestMs;
              row.ratioMedian = row.numpy.timing.medianMs / row.lowrank.timing.medianMs;
              row.met = row.ratio >= 1;
            }
            progress(
              suite,
              row.status === 'ok'
                ? `${tag}: lowrank ${fmtNum(row.lowrank.gflopsBest)} (${fmtNum(row.lowrank.gflopsMedian)}), numpy ${fmtNum(row.numpy.gflopsBest)} (${fmtNum(row.numpy.gflopsMedian)}) GFLOP/s; numpy/lowrank ${fmtRatio(row.ratio)} (${fmtRatio(row.ratioMedian)}); err ${fmtErr(row.lowrank.relErr)} / ${fmtErr(row.numpy.relErr)}`
                : `${tag}: ${row.status} — ${row.reason}`,
            );
          }
        } finally {
          await eng.dispose();
        }
      }
    } finally {
      await worker?.close();
    }
  }
  res.loadAvgAtEnd = os.loadavg().map((x) => +x.toFixed(2));
  return res;
}

function goalReport(g: GoalResult, header: Header, timing: TimingOptions, maxRunMs: number, quick: boolean): { text: string; md: string } {
  const cell = (s: GoalSide): string =>
    s.gflopsBest === undefined
      ? '—'
      : `${fmtNum(s.gflopsBest)} (${fmtNum(s.gflopsMedian)})${s.pctPeak === undefined ? '' : ` ${s.pctPeak.toFixed(0)}%`}${s.timing?.cold ? '*' : ''}`;
  const headers = [
    'product C = op(A) B',
    'dtype',
    'threads',
    'lowrank native',
    'numpy OpenBLAS',
    'numpy / lowrank',
    'verdict',
    'CPU-time ratio (1 thread)',
    'max err lowrank / numpy',
    'load',
  ];
  const rows = g.rows.map((r) => [
    r.label,
    r.dtype,
    String(r.threads),
    cell(r.lowrank),
    cell(r.numpy),
    r.ratio === undefined ? '—' : `${fmtRatio(r.ratio)} (${fmtRatio(r.ratioMedian)})`,
    r.status !== 'ok'
      ? `${r.status}: ${r.reason}`
      : r.met
        ? `>= 1.0x: met${r.ratioMedian! < 1 ? ' (not on medians)' : ''}`
        : `< 1.0x: not met${r.ratioMedian! >= 1 ? ' (met on medians)' : ''}`,
    r.threads === 1 && r.ratioCpu !== undefined ? fmtRatio(r.ratioCpu) : '—',
    r.lowrank.relErr === undefined && r.numpy.relErr === undefined ? '—' : `${fmtErr(r.lowrank.relErr)} / ${fmtErr(r.numpy.relErr)}`,
    r.loadAvg === undefined ? '—' : r.loadAvg.toFixed(2),
  ]);
  const { minIters: lo, maxIters: hi } = goalPart(timing);
  const iters = lo === hi ? String(lo) : `${lo}-${hi}`;
  const ok = g.rows.filter((r) => r.status === 'ok' && r.ratio !== undefined);
  const summary = ok.length
    ? `${ok.filter((r) => r.met).length} of ${ok.length} cases at >= 1.0x on best times (${ok.filter((r) => r.ratioMedian! >= 1).length} on medians); worst ${fmtRatio(Math.min(...ok.map((r) => r.ratio!)))} (${ok.reduce((a, b) => (b.ratio! < a.ratio! ? b : a)).label}, ${ok.reduce((a, b) => (b.ratio! < a.ratio! ? b : a)).dtype}, ${ok.reduce((a, b) => (b.ratio! < a.ratio! ? b : a)).threads}t).`
    : 'no case completed on both sides.';
  const what = [
    `Issue 14, goal 1 (GEMM >= 1.0x OpenBLAS): lowrank native (engine({ backend: 'native', dtype, threads }), eng.matmul, result in host memory) against numpy.matmul(out=c) with OpenBLAS (OPENBLAS_CORETYPE=${g.core}, OPENBLAS_NUM_THREADS = threads) in a persistent worker per thread count, on the same dtype, threads and shape, in ${g.rounds} interleaved rounds (lowrank runs, then numpy runs, each side after a ${SETTLE_MS / 1000} s pause so that it never starts while OpenBLAS's threads still spin; each round warm-up 1 + ${iters} runs aiming at ${(timing.targetMs / g.rounds / 1000).toFixed(1)} s), so that a load spike on the shared machine hits both sides; a square size predicted to run longer than ${maxRunMs / 1000} s once is skipped. The skinny shapes are the products randomized SVD makes of a 4000 x 2000 matrix at k + p = 60 (A^T Q: A stored 4000 x 2000, transA).`,
    `Cells: GFLOP/s = 2 m k n / t, best (median) over all rounds' samples, then % of the measured FMA peak of the same dtype and thread count; * = a cold run only (over the time cap). max err = max over 20 entries of |c - c_ref| / sum_p |a_ip b_pj| (f64 reference; each side checks its own inputs). load = 1-minute load average when the case started (${header.machine.logicalCores} cores: above ~1 another job shares them). numpy / lowrank = t_numpy / t_lowrank on best times (medians in parentheses); > 1 means lowrank is faster; the verdict uses best times. CPU-time ratio = numpy / lowrank on the median process CPU time (user + system) per run, one thread only: time slices lost to other jobs on the shared cores do not count in it (cache sharing still does); with 2 threads both libraries' waiting threads would blur it.`,
  ];
  const facts = headerPairs(header).filter(([k]) => ['machine', 'load', 'python', 'addon', 'FMA peak'].includes(k));
  facts.splice(2, 0, ['load at end', `${g.loadAvgAtEnd.join(' / ')} (1/5/15-min load average after the head-to-head section)`]);
  for (const w of g.workers) facts.push([`numpy ${w.threads}t`, w.blas ?? `failed: ${w.error ?? '?'}`]);
  const notes = [...g.notes, ...new Set(g.rows.map((r) => r.numpy.method).filter(Boolean))];
  const over = g.rows.filter((r) => (r.lowrank.pctPeak ?? 0) > 105 || (r.numpy.pctPeak ?? 0) > 105);
  if (over.length)
    notes.push(
      `${over.length} figure(s) exceed the measured FMA peak: the peak probe was disturbed (load, frequency); treat % of peak as unreliable in this run`,
    );
  const title = `GEMM head to head: lowrank native vs numpy/OpenBLAS (issue 14, goal 1)${quick ? ' — quick smoke run, not for publication' : ''}`;
  const text = [
    title,
    ...facts.map(([k, v]) => `${k.padEnd(12)}: ${v}`),
    '',
    ...what,
    textTable(headers, rows),
    '',
    summary,
    ...notes.map((s) => `  - ${s}`),
  ].join('\n');
  const mk = markers('gemm-goal');
  const md = [
    mk.start,
    `### ${title}`,
    '',
    ...facts.map(([k, v]) => `- **${k}**: ${v}`),
    '',
    ...what.map((w) => w + '\n'),
    mdTable(headers, rows),
    '',
    summary,
    '',
    ...notes.map((s) => `- ${s}`),
    mk.end,
  ].join('\n');
  return { text, md };
}
