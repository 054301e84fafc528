/**
 * `npm run bench -- rsvd`: randomized SVD of one m x n matrix (default 4000 x 2000) of rank 50 plus
 * noise, target rank k = 50: lowrank (native f32 on 1 and all threads, native f64, webgpu; the defaults
 * p = 10, powerIters 'auto' = adaptive block Krylov; fixed subspace iteration and Krylov) against
 * sklearn's randomized_svd (p = 10, n_iter auto = 7; child process, Debian's python3-sklearn) and
 * ml-matrix's full SVD. The goal section (issue 14) times lowrank's defaults against sklearn's defaults on
 * (a) the gapless spectrum s_i = 1/sqrt(1+i) (rank 300) and (b) the same rank-50 + noise matrix, f32.
 *
 * Accuracy of every answer is the Frobenius ratio ||A - U S V^T||_F / tau_{k+1}, with tau_{k+1} the
 * optimal rank-k error from a dense f64 SVD of A (lowrank native), so "1.0000" is optimal.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { engine, rsvd, svdError, type Engine, type RsvdOptions } from '../ts/index.js';
import type { BenchArgs } from './lib/args.js';
import { selected } from './lib/args.js';
import { cores } from './lib/machine.js';
import { findPython, pythonMissingReason, PythonWorker } from './lib/python.js';
import { fmtErr, fmtMs, fmtRatio, headerPairs, markers, mdTable, textTable, writeResults } from './lib/report.js';
import { errMessage, progress, resetClock } from './lib/runner.js';
import { probePeak, startHeader, timingFor } from './lib/suite.js';
import { settle, timeCase, type Timing, type TimingOptions } from './lib/timing.js';

type DType = 'f32' | 'f64';

interface Row {
  id: string;
  label: string;
  dtype: DType;
  kind: 'cpu' | 'gpu';
  threads: number | 'GPU';
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  method?: string;
  timing?: Timing;
  froRatio?: number;
  orth?: number;
  sigmaErr?: number;
  matvecs?: number;
  /** Row id the speed-up is taken against (default: lowrank native, same dtype, default options). */
  vs?: string;
  /** Set for a figure measured on a smaller problem and extrapolated. */
  extrapolatedFrom?: string;
}

/** A = U diag(s) V^T + noise N(0, noise^2): s log-spaced 100 .. 10 over the first `rank` values. */
async function makeProblem(eng: Engine<'f64'>, m: number, n: number, rank: number, noise: number): Promise<Float64Array> {
  const s = Float64Array.from({ length: rank }, (_, i) => 10 ** (2 - i / Math.max(1, rank - 1)));
  const { Q: U, R: R1 } = await eng.qr(eng.randn(m, rank, { seed: 1001 }));
  const { Q: V, R: R2 } = await eng.qr(eng.randn(n, rank, { seed: 1002 }));
  const US = await eng.scaleColumns(U, s);
  const L = await eng.matmul(US, V, { transB: true });
  const N = eng.randn(m, n, { seed: 1003 });
  const A = await eng.axpby(1, L, noise, N);
  const out = Float64Array.from(await A.toArray());
  for (const x of [U, R1, V, R2, US, L, N, A]) x.dispose();
  return out;
}

export async function runRsvd(args: BenchArgs): Promise<void> {
  resetClock();
  const suite = 'rsvd';
  const [m, n] = args.shape ?? (args.quick ? [800, 400] : [4000, 2000]);
  const k = Math.min(50, n);
  const noise = 0.01;
  const timing: TimingOptions = timingFor(args);
  const maxRunMs = (args.maxRunS ?? (args.quick ? 5 : 30)) * 1000;
  const header = startHeader(suite, args);
  progress(suite, `A ${m} x ${n}, rank ${k} + N(0, ${noise}^2) noise; k = ${k}, p = 10, q = auto`);

  // ---- the problem and its optimal error (dense f64 SVD) ----
  const ref = await engine({ backend: 'native', dtype: 'f64' });
  const a64 = await makeProblem(ref, m, n, k, noise);
  const A64 = ref.matrix(a64, m, n);
  progress(suite, 'reference: dense f64 SVD of A');
  const t0 = performance.now();
  const full = await ref.svd(A64);
  const refMs = performance.now() - t0;
  full.U.dispose();
  full.V.dispose();
  const sigma = full.S;
  let tail = 0;
  for (let j = k; j < sigma.length; j++) tail += sigma[j] ** 2;
  const tau = Math.sqrt(tail);
  progress(
    suite,
    `sigma_1 = ${sigma[0].toPrecision(4)}, sigma_k = ${sigma[k - 1].toPrecision(4)}, sigma_k+1 = ${sigma[k].toPrecision(4)}, tau_k+1 = ${tau.toPrecision(5)} (${fmtMs(refMs)})`,
  );

  /** Accuracy of host factors, in f64 on the reference engine. */
  const accuracy = async (
    u: ArrayLike<number>,
    s: ArrayLike<number>,
    v: ArrayLike<number>,
  ): Promise<Pick<Row, 'froRatio' | 'orth' | 'sigmaErr'>> => {
    const U = ref.matrix(Float64Array.from(u), m, k),
      V = ref.matrix(Float64Array.from(v), n, k);
    const e = await svdError(A64, { U, S: Float64Array.from(s), V }, { iters: 1 });
    U.dispose();
    V.dispose();
    let se = 0;
    for (let i = 0; i < k; i++) se = Math.max(se, Math.abs(s[i] - sigma[i]) / sigma[i]);
    return { froRatio: e.residualFro / tau, orth: Math.max(e.orthU, e.orthV), sigmaErr: se };
  };

  const rows: Row[] = [];
  const N = cores();
  const sklearnQ = k < 0.1 * Math.min(m, n) ? 7 : 4; // sklearn's n_iter='auto' (and ours)
  await probePeak(suite, header.peak, args.quick, 'start');

  // ---- lowrank ----
  const lowrankConfigs: {
    id: string;
    backend: 'native' | 'webgpu';
    dtype: DType;
    threads?: number;
    opts: Partial<RsvdOptions>;
    what: string;
  }[] = [
    { id: 'lowrank-native-f32-1t', backend: 'native', dtype: 'f32', threads: 1, opts: {}, what: 'defaults' },
    { id: 'lowrank-native-f32', backend: 'native', dtype: 'f32', opts: {}, what: 'defaults' },
    { id: 'lowrank-native-f32-q7', backend: 'native', dtype: 'f32', opts: { powerIters: 7 }, what: 'subspace q = 7' },
    { id: 'lowrank-native-f32-krylov', backend: 'native', dtype: 'f32', opts: { method: 'krylov', powerIters: 4 }, what: 'krylov q = 4' },
    { id: 'lowrank-native-f32-sklearn', backend: 'native', dtype: 'f32', opts: { preset: 'sklearn' }, what: "preset 'sklearn' (LU)" },
    { id: 'lowrank-native-f32-q2', backend: 'native', dtype: 'f32', opts: { powerIters: 2 }, what: 'subspace q = 2' },
    {
      id: 'lowrank-native-f32-krylov-q2',
      backend: 'native',
      dtype: 'f32',
      opts: { method: 'krylov', powerIters: 2 },
      what: 'krylov q = 2',
    },
    { id: 'lowrank-native-f64', backend: 'native', dtype: 'f64', opts: {}, what: 'defaults' },
    { id: 'lowrank-webgpu-f32', backend: 'webgpu', dtype: 'f32', opts: {}, what: 'defaults' },
  ];
  for (const c of lowrankConfigs) {
    if (!selected(args, c.id)) continue;
    const threads = c.backend === 'webgpu' ? 'GPU' : (c.threads ?? N);
    const row: Row = {
      id: c.id,
      dtype: c.dtype,
      kind: c.backend === 'webgpu' ? 'gpu' : 'cpu',
      threads,
      label: `lowrank ${c.backend} ${c.what}${c.backend === 'native' ? ` (${threads} thread${threads === 1 ? '' : 's'})` : ''}`,
      status: 'ok',
    };
    rows.push(row);
    let eng: Engine | undefined;
    try {
      eng = await engine({ backend: c.backend, dtype: c.dtype, ...(c.threads ? { threads: c.threads } : {}) });
      if (c.backend === 'webgpu') row.label += ` (${eng.info().adapter?.description ?? 'adapter'})`;
      const A = eng.matrix(c.dtype === 'f64' ? a64 : Float32Array.from(a64), m, n);
      const opts: RsvdOptions = { rank: k, seed: 0, ...c.opts };
      progress(suite, `${row.label} ${c.dtype}`);
      // one warm-up on a small matrix compiles pipelines / starts threads outside the timing
      const W = eng.randn(200, 100, { seed: 5 });
      const w = await rsvd(W, { ...opts, rank: 5 });
      for (const x of [W, w.U, w.V]) x.dispose();
      const r = await timeCase(
        async () => {
          const res = await rsvd(A, opts);
          const u = await res.U.toArray(),
            v = await res.V.toArray(); // the answer on the host, as sklearn's
          res.U.dispose();
          res.V.dispose();
          return { u, v, S: res.S, info: res.info };
        },
        () => undefined,
        async (res) => ({
          ...(await accuracy(res.u, res.S, res.v)),
          matvecs: res.info.matvecs,
          method: `${res.info.method}, q = ${res.info.powerIters}${res.info.stop ? ` (auto: ${res.info.stop.reason})` : ''}, p = ${res.info.oversample}, normalizer ${res.info.normalizer}`,
        }),
        timing,
      );
      Object.assign(row, r.acc, { timing: r.timing });
      A.dispose();
    } catch (e) {
      row.status = 'failed';
      row.reason = errMessage(e);
    } finally {
      await eng?.dispose();
    }
    progress(
      suite,
      row.status === 'ok'
        ? `  best ${fmtMs(row.timing!.bestMs)}, Frobenius ratio ${row.froRatio!.toFixed(5)}`
        : `  ${row.status}: ${row.reason}`,
    );
  }

  // ---- sklearn ----
  const dir = mkdtempSync(path.join(tmpdir(), 'lowrank-bench-rsvd-'));
  try {
    const file = path.join(dir, 'A.f64');
    writeFileSync(file, Buffer.from(a64.buffer, a64.byteOffset, a64.byteLength));
    for (const [dtype, nIter] of [
      ['f32', 'auto'],
      ['f32', 2],
      ['f64', 'auto'],
    ] as const) {
      const id = `sklearn-${dtype}${nIter === 'auto' ? '' : `-q${nIter}`}`;
      if (!selected(args, id)) continue;
      const q = nIter === 'auto' ? sklearnQ : nIter;
      const row: Row = {
        id,
        dtype,
        kind: 'cpu',
        threads: N,
        status: 'ok',
        label: `sklearn randomized_svd${nIter === 'auto' ? '' : ` n_iter = ${nIter}`} (${blasLabel(args.openblasCore)}, ${N} threads)`,
        vs: nIter === 'auto' ? undefined : 'lowrank-native-f32-q2',
      };
      rows.push(row);
      const py = findPython();
      if (!py) {
        Object.assign(row, { status: 'skipped', reason: pythonMissingReason() });
        continue;
      }
      const worker = new PythonWorker(py.exe, blasEnv(N, args.openblasCore));
      try {
        progress(suite, `${row.label} ${dtype}`);
        const r = await worker.request<{ timing: Timing; acc: { residFro: number; orth: number; s: number[] }; method: string }>(
          { cmd: 'rsvd', file, m, n, k, dtype, oversample: 10, nIter, seed: 0, timing },
          timing.capMs * 2 + 120_000,
        );
        let se = 0;
        for (let i = 0; i < k; i++) se = Math.max(se, Math.abs(r.acc.s[i] - sigma[i]) / sigma[i]);
        Object.assign(row, {
          timing: r.timing,
          froRatio: r.acc.residFro / tau,
          orth: r.acc.orth,
          sigmaErr: se,
          method: r.method,
          matvecs: (2 * q + 2) * (k + 10),
        });
      } catch (e) {
        const msg = errMessage(e);
        Object.assign(
          row,
          /No module named 'sklearn'/.test(msg)
            ? { status: 'skipped', reason: 'python3-sklearn is not installed' }
            : { status: 'failed', reason: msg },
        );
      } finally {
        await worker.close();
      }
      progress(
        suite,
        row.status === 'ok'
          ? `  best ${fmtMs(row.timing!.bestMs)}, Frobenius ratio ${row.froRatio!.toFixed(5)}`
          : `  ${row.status}: ${row.reason}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // ---- issue 14 goal 2: defaults against defaults on (a) the gapless spectrum and (b) this matrix ----
  const goal: GoalRow[] = [];
  if (selected(args, 'goal')) {
    const sGap = Float64Array.from({ length: Math.min(300, n) }, (_, i) => 1 / Math.sqrt(1 + i));
    const aGap = await makeSpectrum(ref, m, n, sGap);
    let tailGap = 0;
    for (let j = k; j < sGap.length; j++) tailGap += sGap[j] ** 2;
    const problems: GoalProblem[] = [
      { id: 'a', what: `gapless s_i = 1/sqrt(1+i), rank ${sGap.length}`, a: aGap, sigma: sGap, tau: Math.sqrt(tailGap) },
      { id: 'b', what: `rank ${k} + N(0, ${noise}^2) noise (the matrix above)`, a: a64, sigma, tau },
    ];
    for (const pr of problems) goal.push(...(await goalCase(pr, { m, n, k, timing, N, core: args.openblasCore })));
  }

  // ---- ml-matrix: full SVD (pure JS, blocks the event loop): pilots decide the size ----
  if (selected(args, 'ml-matrix')) {
    const row: Row = {
      id: 'ml-matrix',
      dtype: 'f64',
      kind: 'cpu',
      threads: 1,
      label: 'ml-matrix full SVD (pure JS)',
      status: 'ok',
      method: 'new SingularValueDecomposition(A, { autoTranspose: true }), truncated to k',
    };
    rows.push(row);
    try {
      const lib = await import('ml-matrix');
      const svdOf = (rowsN: number, colsN: number, data: Float64Array) => {
        const M = new lib.Matrix(rowsN, colsN);
        for (let i = 0; i < rowsN; i++) for (let j = 0; j < colsN; j++) M.set(i, j, data[i * colsN + j]);
        const t = performance.now();
        const s = new lib.SingularValueDecomposition(M, { autoTranspose: true });
        return { ms: performance.now() - t, s };
      };
      // pilots on leading blocks of A, both dimensions divided by d; cost grows like m n^2
      let done = false;
      for (const d of [8, 4, 2, 1]) {
        const pm = Math.max(k + 1, Math.round(m / d)),
          pn = Math.max(k + 1, Math.round(n / d));
        const sub = new Float64Array(pm * pn);
        for (let i = 0; i < pm; i++) sub.set(a64.subarray(i * n, i * n + pn), i * pn);
        const next = d === 1 ? 0 : (m / (d / 2)) * (n / (d / 2)) ** 2;
        progress(suite, `ml-matrix pilot ${pm} x ${pn}`);
        const { ms, s } = svdOf(pm, pn, sub);
        if (d === 1) {
          const U = s.leftSingularVectors,
            V = s.rightSingularVectors,
            S = s.diagonal;
          const u = new Float64Array(m * k),
            v = new Float64Array(n * k);
          for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) u[i * k + j] = U.get(i, j);
          for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) v[i * k + j] = V.get(i, j);
          Object.assign(row, await accuracy(u, S, v), {
            timing: { bestMs: ms, medianMs: ms, meanMs: ms, n: 1, samplesMs: [ms], warmupMs: 0, cold: true },
          });
          done = true;
          break;
        }
        const predicted = (ms * next) / (pm * pn * pn);
        if (predicted > maxRunMs) {
          const full = (ms * m * n * n) / (pm * pn * pn);
          Object.assign(row, {
            status: 'ok',
            timing: { bestMs: full, medianMs: full, meanMs: full, n: 1, samplesMs: [ms], warmupMs: 0, cold: true },
            extrapolatedFrom: `${pm} x ${pn} measured ${fmtMs(ms)}, scaled by m n^2`,
          });
          done = true;
          break;
        }
      }
      if (!done) Object.assign(row, { status: 'skipped', reason: 'no pilot fitted' });
    } catch (e) {
      Object.assign(row, { status: 'failed', reason: errMessage(e) });
    }
    progress(
      suite,
      row.status === 'ok'
        ? `  ${fmtMs(row.timing!.bestMs)}${row.extrapolatedFrom ? ` (extrapolated from ${row.extrapolatedFrom})` : ''}`
        : `  ${row.status}: ${row.reason}`,
    );
  }
  A64.dispose();
  await ref.dispose();

  // ---- report ----
  const base = (dtype: DType) =>
    rows.find((r) => r.id === (dtype === 'f32' ? 'lowrank-native-f32' : 'lowrank-native-f64') && r.status === 'ok');
  const headers = [
    'configuration',
    'dtype',
    'threads',
    'best',
    'median',
    'runs',
    'Frobenius ratio',
    'max sigma rel err',
    'orth',
    'matvecs',
    'lowrank native speed-up',
  ];
  const trs = rows.map((r) => {
    if (r.status !== 'ok' || !r.timing)
      return [r.label, r.dtype, String(r.threads), `${r.status} (${(r.reason ?? '').slice(0, 80)})`, '', '', '', '', '', '', ''];
    const b = r.vs ? rows.find((x) => x.id === r.vs && x.status === 'ok') : base(r.dtype);
    const sp = b && b !== r && b.timing ? r.timing.bestMs / b.timing.bestMs : undefined;
    return [
      r.label + (r.extrapolatedFrom ? ' [extrapolated]' : ''),
      r.dtype,
      String(r.threads),
      fmtMs(r.timing.bestMs) + (r.timing.cold ? '*' : ''),
      fmtMs(r.timing.medianMs),
      String(r.timing.n),
      r.froRatio !== undefined ? r.froRatio.toFixed(5) : '—',
      fmtErr(r.sigmaErr),
      fmtErr(r.orth),
      r.matvecs !== undefined ? String(r.matvecs) : '—',
      sp !== undefined ? `${fmtRatio(sp)}${r.vs && b ? ` (vs ${b.label})` : ''}` : b === r ? '(baseline)' : '—',
    ];
  });
  // The shared header, with the adapter this suite used and without the per-peer thread line (the
  // table has a threads column).
  const adapter = rows.find((r) => r.kind === 'gpu' && r.status === 'ok')?.label.replace(/^.*\((.*)\)$/, '$1');
  const pairs = headerPairs(header)
    .filter(([key]) => key !== 'threads')
    .map(([key, v]): [string, string] => (key === 'adapter' ? [key, adapter ?? 'none used'] : [key, v]));
  const headerText = () => pairs.map(([key, v]) => `${key.padEnd(8)}: ${v}`);
  const headerMd = () => pairs.map(([key, v]) => `- **${key}**: ${v}`);
  const title = `lowrank benchmark: randomized SVD${args.quick ? ' — QUICK SMOKE RUN (small shape, few iterations; not for publication)' : ''}`;
  const what = [
    `A is ${m} x ${n}: U diag(s) V^T with s log-spaced 100 .. 10 over ${k} values (random orthonormal U, V) plus N(0, ${noise}^2) noise, the same f64 data for everyone (rounded once to f32 for f32 runs). Target rank k = ${k}, oversampling p = 10, seed 0; lowrank's default powerIters 'auto' is adaptive block Krylov (stops by the Ritz-value rule, at most ${sklearnQ} iterations), sklearn's n_iter 'auto' is ${sklearnQ} here.`,
    `Optimal rank-k error tau_{k+1} = ${tau.toPrecision(6)} from a dense f64 SVD (lowrank native, ${fmtMs(refMs)}); sigma_k = ${sigma[k - 1].toPrecision(4)}, sigma_{k+1} = ${sigma[k].toPrecision(4)}. Frobenius ratio = ||A - U S V^T||_F / tau_{k+1} (1 is optimal), in f64 from the returned factors; max sigma rel err over the top k against the dense SVD; orth = max(||U^T U - I||_F, ||V^T V - I||_F).`,
    `Times include bringing U and V to the host (sklearn returns host arrays). Best and median of the timed runs after one warm-up (* = a single cold run). Speed-up = t_row / t_lowrank-native (same dtype, all threads, default options; sklearn n_iter = 2 against lowrank subspace q = 2): > 1 means lowrank native is faster.`,
    `ml-matrix computes the full SVD (it has no truncated one); when its pilots predict more than ${maxRunMs / 1000} s per run, its time is extrapolated from the largest pilot by m n^2 and marked [extrapolated].`,
  ];
  const methods = rows.filter((r) => r.method).map((r) => `${r.label} ${r.dtype}: ${r.method}`);
  const goalHeaders = [
    'case',
    'configuration',
    'best',
    'median',
    'runs',
    'passes',
    'Frobenius ratio',
    'max sigma rel err',
    'sklearn / lowrank',
  ];
  const goalRows = goal.map((g) => {
    if (g.status !== 'ok' || !g.timing)
      return [g.problem, g.label, `${g.status} (${(g.reason ?? '').slice(0, 80)})`, '', '', '', '', '', ''];
    const sk = goal.find((x) => x.problem === g.problem && x.id === 'sklearn' && x.status === 'ok');
    const sp = sk && sk !== g && sk.timing ? sk.timing.bestMs / g.timing.bestMs : undefined;
    return [
      g.problem,
      g.label,
      fmtMs(g.timing.bestMs),
      fmtMs(g.timing.medianMs),
      String(g.timing.n),
      g.passes !== undefined ? String(g.passes) : '—',
      g.froRatio !== undefined ? g.froRatio.toFixed(6) : '—',
      fmtErr(g.sigmaErr),
      sp !== undefined ? `${fmtRatio(sp)} (${g.equalAccuracy ? 'equal accuracy' : 'NOT equal accuracy'})` : sk === g ? '(baseline)' : '—',
    ];
  });
  const goalWhat = goal.length
    ? [
        `Goal 2 of issue 14: lowrank.rsvd(A, { rank: ${k} }) with every default (powerIters 'auto': adaptive block Krylov with the Ritz-value stopping rule) against sklearn.utils.extmath.randomized_svd(A, ${k}) with every default (n_oversamples 10, n_iter 'auto' = ${sklearnQ}, LU normalizer), f32, ${N} threads, same data, timed in three interleaved rounds (lowrank, sklearn, lowrank, ...). (a) ${m} x ${n} with s_i = 1/sqrt(1+i) over 300 values (random orthonormal U, V), (b) the matrix above. "Equal accuracy" = Frobenius ratio within 1e-3 of sklearn's AND max sigma rel err no larger than sklearn's; sklearn / lowrank > 1 means lowrank is faster.`,
        ...goal.filter((g) => g.stop).map((g) => `- (${g.problem}) ${g.label}: ${g.stop}`),
      ]
    : [];
  const text = [
    title,
    ...headerText(),
    '',
    ...what,
    '',
    textTable(headers, trs),
    '',
    'methods:',
    ...methods.map((s) => `  - ${s}`),
    ...(goal.length ? ['', ...goalWhat, '', textTable(goalHeaders, goalRows)] : []),
  ].join('\n');
  const mk = markers(suite);
  const md = [
    mk.start,
    `### Randomized SVD of a ${m} x ${n} matrix, k = ${k}${args.quick ? ' — quick smoke run, not for publication' : ''}`,
    '',
    ...headerMd(),
    '',
    ...what.map((w) => w + '\n'),
    mdTable(headers, trs),
    '',
    ...methods.map((s) => `- ${s}`),
    ...(goal.length
      ? [
          '',
          '#### Defaults against defaults (issue 14, goal 2)',
          '',
          ...goalWhat.map((w) => w + (w.startsWith('- ') ? '' : '\n')),
          '',
          mdTable(goalHeaders, goalRows),
        ]
      : []),
    mk.end,
  ].join('\n');
  process.stdout.write(text + '\n\n' + md + '\n');
  if (args.write) {
    const json = {
      suite,
      schema: 1,
      quick: args.quick,
      options: { m, n, k, noise, p: 10, q: 'auto', timing, maxRunMs },
      reference: { tau, sigma: Array.from(sigma.subarray(0, k + 5)), ms: refMs },
      machine: header.machine,
      versions: header.versions,
      python: header.python ?? { missing: header.pythonMissing },
      addon: header.addon,
      results: rows,
      goal,
    };
    const files = writeResults(suite, args.quick, args.tag, header.machine.date, json, md);
    progress(suite, `wrote ${files.json} and ${files.md}`);
  }
}

interface GoalProblem {
  id: string;
  what: string;
  a: Float64Array;
  sigma: ArrayLike<number>;
  tau: number;
}

interface GoalRow {
  problem: string;
  id: 'lowrank' | 'sklearn';
  label: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  timing?: Timing;
  passes?: number;
  froRatio?: number;
  sigmaErr?: number;
  /** The auto rule's record (lowrank). */
  stop?: string;
  equalAccuracy?: boolean;
}

/** A = U diag(s) V^T (random orthonormal U, V; seeds as makeProblem's). */
async function makeSpectrum(eng: Engine<'f64'>, m: number, n: number, s: Float64Array): Promise<Float64Array> {
  const r = s.length;
  const { Q: U, R: R1 } = await eng.qr(eng.randn(m, r, { seed: 2001 }));
  const { Q: V, R: R2 } = await eng.qr(eng.randn(n, r, { seed: 2002 }));
  const US = await eng.scaleColumns(U, s);
  const L = await eng.matmul(US, V, { transB: true });
  const out = Float64Array.from(await L.toArray());
  for (const x of [U, R1, V, R2, US, L]) x.dispose();
  return out;
}

/** "OpenBLAS", or "OpenBLAS <core>" when a core type was asked for (--openblas-core). */
const blasLabel = (core?: string): string => (core ? `OpenBLAS ${core}` : 'OpenBLAS');

/** Environment of a sklearn worker: N OpenBLAS threads, and its core type when one was asked for (--openblas-core). */
function blasEnv(N: number, core?: string): Record<string, string> {
  return { OPENBLAS_NUM_THREADS: String(N), OMP_NUM_THREADS: String(N), ...(core ? { OPENBLAS_CORETYPE: core } : {}) };
}

/** Timings of several rounds merged: all samples, best / median / mean over them. */
function mergeTimings(ts: Timing[]): Timing {
  const samples = ts.flatMap((t) => t.samplesMs);
  const sorted = [...samples].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return {
    bestMs: sorted[0],
    medianMs: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
    meanMs: samples.reduce((x, y) => x + y, 0) / samples.length,
    n: samples.length,
    samplesMs: samples,
    warmupMs: ts[0]?.warmupMs ?? 0,
  };
}

/**
 * lowrank f32 defaults against sklearn f32 defaults on one problem, interleaved: `rounds` rounds of
 * (lowrank runs, sklearn runs), each a third of the timing budget, so that a change of the machine's load
 * during the suite hits both sides alike; best and median over all samples.
 */
async function goalCase(
  pr: GoalProblem,
  o: { m: number; n: number; k: number; timing: TimingOptions; N: number; core?: string },
): Promise<GoalRow[]> {
  const { m, n, k, timing, N } = o;
  const rounds = 3;
  const part: TimingOptions = {
    ...timing,
    targetMs: timing.targetMs / rounds,
    minIters: Math.max(2, Math.ceil(timing.minIters / rounds)),
    maxIters: Math.max(2, Math.ceil(timing.maxIters / rounds)),
  };
  const suite = 'rsvd';
  const sigmaErr = (s: ArrayLike<number>): number => {
    let e = 0;
    for (let i = 0; i < k; i++) e = Math.max(e, Math.abs(s[i] - pr.sigma[i]) / pr.sigma[i]);
    return e;
  };
  const lr: GoalRow = { problem: pr.id, id: 'lowrank', label: `lowrank native f32 defaults (${N} threads)`, status: 'ok' };
  const sk: GoalRow = {
    problem: pr.id,
    id: 'sklearn',
    label: `sklearn randomized_svd defaults (${blasLabel(o.core)}, ${N} threads)`,
    status: 'ok',
  };
  const lrT: Timing[] = [],
    skT: Timing[] = [];
  progress(suite, `goal (${pr.id}) ${pr.what}: ${lr.label} against ${sk.label}, ${rounds} interleaved rounds`);
  const ref = await engine({ backend: 'native', dtype: 'f64' });
  const A64 = ref.matrix(pr.a, m, n);
  const py = findPython();
  const dir = mkdtempSync(path.join(tmpdir(), 'lowrank-bench-rsvd-goal-'));
  const file = path.join(dir, 'A.f64');
  writeFileSync(file, Buffer.from(pr.a.buffer, pr.a.byteOffset, pr.a.byteLength));
  const worker = py ? new PythonWorker(py.exe, blasEnv(N, o.core)) : null;
  if (!py) Object.assign(sk, { status: 'skipped', reason: pythonMissingReason() });
  let eng: Engine | undefined;
  try {
    eng = await engine({ backend: 'native', dtype: 'f32' });
    const A = eng.matrix(Float32Array.from(pr.a), m, n);
    const W = eng.randn(200, 100, { seed: 5 });
    const w = await rsvd(W, { rank: 5 });
    for (const x of [W, w.U, w.V]) x.dispose();
    for (let round = 0; round < rounds; round++) {
      if (lr.status === 'ok') {
        await settle(); // sklearn's OpenBLAS threads spin ~0.1 s after its runs (see settle)
        try {
          const r = await timeCase(
            async () => {
              const res = await rsvd(A, { rank: k });
              const u = await res.U.toArray(),
                v = await res.V.toArray();
              res.U.dispose();
              res.V.dispose();
              return { u, v, S: res.S, info: res.info };
            },
            () => undefined,
            async (res) => {
              const U = ref.matrix(Float64Array.from(res.u), m, k),
                V = ref.matrix(Float64Array.from(res.v), n, k);
              const e = await svdError(A64, { U, S: Float64Array.from(res.S), V }, { iters: 1 });
              U.dispose();
              V.dispose();
              const st = res.info.stop;
              return {
                froRatio: e.residualFro / pr.tau,
                sigmaErr: sigmaErr(res.S),
                passes: res.info.passes,
                stop: st
                  ? `${res.info.method}, stop rule ${st.rule}: ${st.reason} after ${st.iters} of at most ${st.cap} iterations, ${st.passes} passes, estimate ${st.estimate.toExponential(2)} (tol ${st.tolerance}), changes ${st.changes.map((x) => x.toExponential(1)).join(', ')}`
                  : undefined,
              };
            },
            part,
          );
          Object.assign(lr, r.acc);
          lrT.push(r.timing);
        } catch (e) {
          Object.assign(lr, { status: 'failed', reason: errMessage(e) });
        }
      }
      if (worker && sk.status === 'ok') {
        await settle();
        try {
          const r = await worker.request<{ timing: Timing; acc: { residFro: number; s: number[] } }>(
            { cmd: 'rsvd', file, m, n, k, dtype: 'f32', oversample: 10, nIter: 'auto', seed: 0, timing: part },
            timing.capMs * 2 + 120_000,
          );
          const q = k < 0.1 * Math.min(m, n) ? 7 : 4;
          Object.assign(sk, { froRatio: r.acc.residFro / pr.tau, sigmaErr: sigmaErr(r.acc.s), passes: 2 * q + 2 });
          skT.push(r.timing);
        } catch (e) {
          const msg = errMessage(e);
          Object.assign(
            sk,
            /No module named 'sklearn'/.test(msg)
              ? { status: 'skipped', reason: 'python3-sklearn is not installed' }
              : { status: 'failed', reason: msg },
          );
        }
      }
    }
    A.dispose();
  } catch (e) {
    Object.assign(lr, { status: 'failed', reason: errMessage(e) });
  } finally {
    await eng?.dispose();
    await worker?.close();
    rmSync(dir, { recursive: true, force: true });
    A64.dispose();
    await ref.dispose();
  }
  if (lrT.length) lr.timing = mergeTimings(lrT);
  if (skT.length) sk.timing = mergeTimings(skT);
  if (lr.status === 'ok' && sk.status === 'ok')
    lr.equalAccuracy = Math.abs(lr.froRatio! - sk.froRatio!) <= 1e-3 && lr.sigmaErr! <= sk.sigmaErr!;
  for (const g of [lr, sk])
    progress(
      suite,
      g.status === 'ok' && g.timing
        ? `  ${g.label}: best ${fmtMs(g.timing.bestMs)}, ${g.passes} passes, Frobenius ratio ${g.froRatio!.toFixed(6)}, max sigma rel err ${fmtErr(g.sigmaErr)}`
        : `  ${g.label}: ${g.status}: ${g.reason}`,
    );
  return [lr, sk];
}
