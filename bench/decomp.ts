/**
 * `npm run bench -- decomp`: factorizations of one m x n matrix A (default 2000 x 500, N(0,1) entries,
 * the same data for every peer): thin QR of A, thin SVD of A, eigh of the Gram matrix G = A^T A
 * (n x n, symmetric positive definite), least squares min ||A x - b|| with b m x 1, and LU with partial
 * pivoting (scipy's permute_l form) of a separate tall panel (4000 x 60; quick 800 x 20). Each in f32
 * and f64 where the library supports it. Every time is shown with accuracy relations of the returned
 * factors, computed in f64 on the host (bench/lib/linalg.ts, bench/peers/numpy_worker.py).
 */
import type { BenchArgs } from './lib/args.js';
import { selected } from './lib/args.js';
import { decompInputs } from './lib/data.js';
import { cores } from './lib/machine.js';
import { Unsupported, type CaseContext, type DType, type DecompCaseResult, type DecompOp, type Peer } from './lib/peer.js';
import { fmtErr, fmtMs, fmtRatio, headerMd, headerText, markers, mdTable, peerNotes, textTable, writeResults } from './lib/report.js';
import { progress, resetClock, runSuite } from './lib/runner.js';
import { baselineFor, noteBlas, probePeak, startHeader, timingFor } from './lib/suite.js';
import { LowrankPeer } from './peers/lowrank.js';
import { MlMatrixPeer } from './peers/mlmatrix.js';
import { NumpyPeer } from './peers/numpy.js';
import { TfjsPeer } from './peers/tfjs.js';

export function decompPeers(): Peer[] {
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
    new LowrankPeer('webgpu'),
  ];
}

interface Case {
  op: DecompOp;
  dtype: DType;
}

const OP_TITLE: Record<DecompOp, string> = {
  qr: 'thin QR of A',
  svd: 'thin SVD of A',
  eigh: 'eigh of G = A^T A',
  lstsq: 'least squares A x = b',
  lu: 'LU with partial pivoting (permute_l form) of a tall panel',
};

interface Row {
  peer: string;
  op: DecompOp;
  dtype: DType;
  status: string;
  reason?: string;
  completion?: string;
  bestMs?: number;
  medianMs?: number;
  runs?: number;
  cold?: boolean;
  resid?: number;
  orth?: number;
  method?: string;
  samplesMs?: number[];
}

export async function runDecomp(args: BenchArgs): Promise<void> {
  resetClock();
  const suite = 'decomp';
  const [m, n] = args.shape ?? (args.quick ? [300, 80] : [2000, 500]);
  const dtypes = args.dtypes ?? ['f32', 'f64'];
  const ops = (args.ops ?? ['qr', 'svd', 'eigh', 'lstsq', 'lu']) as DecompOp[];
  const [luM, luN] = args.quick ? [800, 20] : [4000, 60];
  const timing = timingFor(args);
  const maxRunMs = (args.maxRunS ?? (args.quick ? 5 : 30)) * 1000;
  const header = startHeader(suite, args);
  const peers = decompPeers().filter((p) => selected(args, p.id));
  const cases: Case[] = [];
  for (const dtype of dtypes) for (const op of ops) cases.push({ op, dtype });
  progress(suite, `A ${m} x ${n}; ${ops.join(', ')} in ${dtypes.join(', ')}; peers ${peers.map((p) => p.id).join(', ')}`);
  const input = decompInputs(m, n);
  const luInput = ops.includes('lu') ? decompInputs(luM, luN) : input;

  // Pure-JS peers (ml-matrix, tfjs-wasm) block the event loop, so the per-case cap cannot stop them.
  // Before each of their cases, single pilot runs at 1/8, 1/4, then 1/2 of the size (both dimensions)
  // decide: run the case when the cubic extrapolation of the last pilot fits in --max-run (flops grow
  // as size^3 and fixed overheads slower, so this is usually an upper bound; memory effects can still
  // exceed it), skip it when even a linear extrapolation does not fit or when the next pilot would not;
  // otherwise try the next, larger pilot.
  const pilotShapes = [8, 4, 2].map((d) => ({ d, pm: Math.max(8, Math.round(m / d)), pn: Math.max(2, Math.round(n / d)) }));
  const smalls = new Map<number, ReturnType<typeof decompInputs>>();
  const pilot = async (peer: Peer, c: Case, ctx: CaseContext): Promise<void> => {
    const seen: string[] = [];
    const skip = (why: string) => new Unsupported(`${why} (pilots ${seen.join(', ')}; --max-run ${(maxRunMs / 1000).toFixed(0)} s)`);
    for (const { d, pm, pn } of pilotShapes) {
      if (!smalls.has(d)) smalls.set(d, decompInputs(pm, pn));
      const r = await peer.decomp!(c.op, c.dtype, smalls.get(d)!, {
        ...ctx,
        timing: { targetMs: 0, minIters: 1, maxIters: 1, capMs: maxRunMs, warmupOnly: true },
      });
      const t = r.timing.bestMs;
      seen.push(`${pm} x ${pn}: ${fmtMs(t)}`);
      const s = c.op === 'eigh' ? n / pn : Math.cbrt((m / pm) * (n / pn) ** 2); // linear factor to full size
      if (t * s ** 3 <= maxRunMs) return;
      if (t * s > maxRunMs) throw skip(`predicted over ${(maxRunMs / 1000).toFixed(0)} s per run even with linear growth`);
      if (d === 2 || t * 8 > maxRunMs) throw skip(`predicted up to ${((t * s ** 3) / 1000).toFixed(0)} s per run`);
    }
  };

  await probePeak(suite, header.peak, args.quick, 'start');
  const { peers: peerRecs, cases: recs } = await runSuite<Case, DecompCaseResult>({
    suite,
    peers,
    cases,
    key: (c) => `${c.op}/${c.dtype}`,
    timing,
    quick: args.quick,
    exec: async (peer, c, ctx) => {
      if (!peer.decomp) throw new Error('no decompositions');
      if (peer.pilot) await pilot(peer, c, ctx);
      return peer.decomp(c.op, c.dtype, c.op === 'lu' ? luInput : input, ctx);
    },
    summary: (r) =>
      `best ${fmtMs(r.timing.bestMs)}, median ${fmtMs(r.timing.medianMs)} (${r.timing.n} runs${r.timing.cold ? ', cold' : ''}); resid ${fmtErr(r.acc.resid)}${r.acc.orth !== undefined ? `, orth ${fmtErr(r.acc.orth)}` : ''}`,
  });
  await probePeak(suite, header.peak, args.quick, 'end');
  header.peers = peerRecs;
  noteBlas(header, peerRecs);

  const rows: Row[] = recs.map((c) => {
    const [op, dtype] = c.key.split('/') as [DecompOp, DType];
    const row: Row = { peer: c.peer, op, dtype, status: c.status, reason: c.reason };
    const r = c.result;
    if (r)
      Object.assign(row, {
        completion: r.completion,
        bestMs: r.timing.bestMs,
        medianMs: r.timing.medianMs,
        runs: r.timing.n,
        cold: r.timing.cold,
        resid: r.acc.resid,
        orth: r.acc.orth,
        method: r.method,
        samplesMs: r.timing.samplesMs,
      });
    return row;
  });
  const get = (peer: string, op: DecompOp, dtype: DType) => rows.find((r) => r.peer === peer && r.op === op && r.dtype === dtype);

  const ratios: { peer: string; vs: string; op: DecompOp; dtype: DType; speedup: number; speedupMedian: number }[] = [];
  for (const p of peerRecs) {
    if (p.lowrank || p.status !== 'ok') continue;
    const base = baselineFor(p, peerRecs);
    if (!base) continue;
    for (const c of cases) {
      const a = get(p.id, c.op, c.dtype),
        b = get(base.id, c.op, c.dtype);
      if (a?.bestMs && b?.bestMs)
        ratios.push({
          peer: p.id,
          vs: base.id,
          op: c.op,
          dtype: c.dtype,
          speedup: a.bestMs / b.bestMs,
          speedupMedian: a.medianMs! / b.medianMs!,
        });
    }
  }

  // ---- tables: one block per operation ---------------------------------------------------------
  const headers = ['configuration', 'dtype', 'threads', 'best', 'median', 'runs', 'resid', 'orth', 'lowrank speed-up (vs)'];
  const blocks: { title: string; rows: string[][] }[] = [];
  for (const op of ops) {
    const trs: string[][] = [];
    for (const dtype of dtypes)
      for (const p of peerRecs) {
        const r = get(p.id, op, dtype);
        if (!r) continue;
        if (r.status === 'skipped' && p.status === 'ok') continue; // unsupported op / dtype: listed in the notes
        const thr = p.kind === 'gpu' ? 'GPU' : String(p.threads);
        if (r.status !== 'ok') {
          trs.push([p.label, dtype, thr, `${r.status} (${(r.reason ?? '').slice(0, 80)})`, '', '', '', '', '']);
          continue;
        }
        const ra = ratios.find((x) => x.peer === p.id && x.op === op && x.dtype === dtype);
        trs.push([
          p.label,
          dtype,
          thr,
          fmtMs(r.bestMs) + (r.cold ? '*' : ''),
          fmtMs(r.medianMs),
          String(r.runs ?? ''),
          fmtErr(r.resid),
          fmtErr(r.orth),
          ra ? `${fmtRatio(ra.speedup)} (${peerRecs.find((x) => x.id === ra.vs)?.label})` : p.lowrank ? '(baseline)' : '—',
        ]);
      }
    const shape = op === 'eigh' ? `${n} x ${n}` : op === 'lu' ? `${luM} x ${luN}` : `${m} x ${n}`;
    blocks.push({ title: `${OP_TITLE[op]} (${shape})`, rows: trs });
  }

  const methods = new Map<string, string[]>();
  for (const r of rows)
    if (r.method) {
      const label = peerRecs.find((p) => p.id === r.peer)?.label ?? r.peer;
      const k = `${r.op}: ${r.method}`;
      methods.set(k, [...new Set([...(methods.get(k) ?? []), label.replace(/ \(.*\)$/, '')])]);
    }
  const skips: string[] = [];
  for (const p of peerRecs) {
    if (p.status !== 'ok') continue;
    const by = new Map<string, string[]>();
    for (const r of rows.filter((x) => x.peer === p.id && x.status === 'skipped'))
      by.set(r.reason ?? '', [...(by.get(r.reason ?? '') ?? []), `${r.op}/${r.dtype}`]);
    for (const [why, what] of by) skips.push(`${p.label}: ${what.join(', ')} not run — ${why}`);
  }

  const title = `lowrank benchmark: decompositions${args.quick ? ' — QUICK SMOKE RUN (small shape, few iterations; not for publication)' : ''}`;
  const what = [
    `A is ${m} x ${n} with N(0,1) entries (the same data for every library, rounded once to f32 for f32 runs); b is ${m} x 1; G = A^T A (${n} x ${n}, symmetric positive definite)${ops.includes('lu') ? `; LU factors its own ${luM} x ${luN} N(0,1) panel (the tall-skinny shape randomized SVD normalizes)` : ''}. Times: best and median of the timed runs after one warm-up (* = a single cold run, over the cap); GPU rows are timed to completion (device sync).`,
    `Accuracy, in f64 from the returned factors: resid = ||QR - A||/||A|| (qr), ||U S V^T - A||/||A|| (svd), ||G V - V diag(w)||/||G|| (eigh), ||A^T r||/(||A|| ||r||) with r = b - A x (lstsq), ||PL U - A||/||A|| (lu, on its own panel); orth = ||Q^T Q - I||_F (qr), max over U, V (svd), ||V^T V - I||_F (eigh).`,
    `Speed-up of lowrank = t_peer / t_lowrank (best times; > 1 means lowrank is faster), against lowrank native on the same thread count (else all threads) and the same dtype.`,
    `timing: ${timing.minIters}-${timing.maxIters} runs aiming at ${timing.targetMs / 1000} s per case, cap ${timing.capMs / 1000} s per case; pure-JS peers first run pilots at 1/8, 1/4 (and 1/2) of the size and skip a case that may run longer than ${maxRunMs / 1000} s once.`,
  ];
  const notes = [...peerNotes(peerRecs), ...skips, ...[...methods.entries()].map(([k, who]) => `${k} — ${who.join(', ')}`)];

  const text = [
    title,
    ...headerText(header),
    '',
    ...what,
    ...blocks.flatMap((b) => ['', b.title, textTable(headers, b.rows)]),
    '',
    'notes:',
    ...notes.map((s) => `  - ${s}`),
  ].join('\n');
  const mk = markers(suite);
  const md = [
    mk.start,
    `### Decompositions of a ${m} x ${n} matrix${args.quick ? ' — quick smoke run, not for publication' : ''}`,
    '',
    ...headerMd(header),
    '',
    ...what.map((w) => w + '\n'),
    ...blocks.flatMap((b) => [`#### ${b.title}`, '', mdTable(headers, b.rows), '']),
    ...notes.map((s) => `- ${s}`),
    mk.end,
  ].join('\n');
  process.stdout.write(text + '\n\n' + md + '\n');

  if (args.write) {
    const json = {
      suite,
      schema: 1,
      quick: args.quick,
      options: {
        m,
        n,
        dtypes,
        ops,
        timing,
        maxRunMs,
        pilotShapes,
        nrhs: 1,
        data: 'A, b ~ N(0,1) (mulberry32/Box-Muller, seeds 31337 / 4242); G = A^T A in f64',
      },
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
