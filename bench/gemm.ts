/**
 * `npm run bench -- gemm`: C = A B for square f32 matrices (n x n), GFLOP/s = 2 n^3 / t.
 *
 * Order: FMA peak probe, CPU configurations (lowrank native 1 / all threads, numpy x 4, ml-matrix,
 * tfjs-wasm, gpu.js-webasm), then GPU configurations on the one Dawn adapter (lowrank webgpu, gpu.js
 * webgpu, tfjs webgpu) — no Dawn device is alive while the CPU figures are taken — then the peak
 * probe again.
 */
import type { BenchArgs } from './lib/args.js';
import { selected } from './lib/args.js';
import { cores } from './lib/machine.js';
import type { GemmCaseResult, Peer } from './lib/peer.js';
import {
  fmtErr,
  fmtMs,
  fmtNum,
  fmtRatio,
  headerMd,
  headerText,
  markers,
  mdTable,
  peerNotes,
  textTable,
  writeResults,
} from './lib/report.js';
import { progress, resetClock, runSuite, type CaseRecord } from './lib/runner.js';
import { baselineFor, noteBlas, pctOfPeak, probePeak, startHeader, timingFor } from './lib/suite.js';
import type { Timing } from './lib/timing.js';
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
  progress(suite, `sizes ${sizes.join(', ')}; peers ${peers.map((p) => p.id).join(', ')}`);

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
  await probePeak(suite, header.peak, args.quick, 'end');
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
  const md = [
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

  process.stdout.write(text + '\n\n' + md + '\n');

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
    };
    const files = writeResults(suite, args.quick, args.tag, header.machine.date, json, md);
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
