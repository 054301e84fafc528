/**
 * `lowrank complete <ratings.mtx> --rank K --out DIR`: matrix completion of the observed entries of a
 * Matrix Market coordinate file by alternating minimisation (completeMatrix). Optionally holds out a
 * random fraction of the observations and reports the RMSE on them after every sweep. Writes U.npy
 * (m x k) and V.npy (n x k) with M_hat = U V^T, and convergence.svg (RMSE per sweep).
 */
import path from 'node:path';
import { averageDuplicates, completeMatrix, maskedRmse } from '../algorithms/completion/complete.js';
import { inputBytes } from './memory.js';
import { PhiloxRng } from '../rng/philox.js';
import { UsageError } from './args.js';
import { fmtMs, fmtNum, type Command, type Context } from './context.js';
import { writePlotSvg } from './svg.js';

function parseFraction(raw: string): number {
  const x = Number(raw);
  if (!Number.isFinite(x) || x < 0 || x >= 1) throw new Error(`expected a fraction in [0, 1), got ${JSON.stringify(raw)}`);
  return x;
}

function parseTol(raw: string): number {
  const x = Number(raw);
  if (!Number.isFinite(x) || x < 0) throw new Error(`expected a number >= 0, got ${JSON.stringify(raw)}`);
  return x;
}

export const command: Command = {
  name: 'complete',
  summary: 'matrix completion of a .mtx coordinate file (alternating minimisation); writes U.npy, V.npy, convergence.svg',
  description: [
    'Fits a rank-K matrix M_hat = U V^T to the observed entries of a Matrix Market coordinate file',
    '(e.g. user x item ratings) by alternating least squares on the observed pattern: the exact solver',
    'solves every row / column problem by a batched k x k Cholesky; the sketch solver takes a few',
    'warm-started preconditioned CG steps instead (CountSketch or Jacobi preconditioner). Repeated',
    '(i, j) entries are averaged. --holdout F keeps a random fraction F of the observations out of the',
    'fit and reports the RMSE on them after every sweep.',
  ].join('\n'),
  positionals: [{ name: 'input', description: 'observed entries: a .mtx coordinate file (1-based i j value lines)' }],
  flags: [
    { name: 'rank', short: 'k', type: 'int', min: 1, value: 'K', description: 'target rank (required), K < min(m, n)' },
    { name: 'out', short: 'o', type: 'string', value: 'DIR', description: 'output folder (created if needed; required)' },
    {
      name: 'holdout',
      type: 'string',
      value: 'F',
      parse: parseFraction,
      description: 'fraction of the observations held out for testing (default 0)',
    },
    {
      name: 'solver',
      type: 'choice',
      choices: ['sketch', 'exact'],
      default: 'sketch',
      description: 'per-row / per-column solves: sketch-preconditioned CG or exact Cholesky',
    },
    {
      name: 'preconditioner',
      type: 'choice',
      choices: ['sketch', 'jacobi'],
      default: 'sketch',
      description: 'CG preconditioner of the sketch solver',
    },
    { name: 'iters', type: 'int', min: 1, default: 30, value: 'T', description: 'alternating sweeps' },
    { name: 'inner', type: 'int', min: 1, default: 2, value: 'S', description: 'CG steps per solve (sketch solver)' },
    {
      name: 'tol',
      type: 'string',
      value: 'X',
      parse: parseTol,
      description: 'stop when the relative change of U V^T on the observed entries is below X',
    },
    { name: 'clip', type: 'boolean', default: true, description: 'incoherence clipping of the initial factor (--no-clip to skip)' },
    {
      name: 'seed',
      type: 'int',
      min: 0,
      default: 0,
      value: 'S',
      description: 'seed of the hold-out split, the initialisation and the sketches',
    },
  ],
  examples: [
    'lowrank complete ratings.mtx --rank 10 --out result',
    'lowrank complete ratings.mtx --rank 10 --holdout 0.1 --solver exact --out result',
  ],
  async run(ctx: Context): Promise<number> {
    const k = ctx.flag<number | undefined>('rank');
    if (k === undefined) throw new UsageError('--rank is required');
    if (ctx.flag<string | undefined>('out') === undefined) throw new UsageError('--out DIR is required');
    const inp = await ctx.input(ctx.positionals[0]);
    const input = inp.shown;
    if (inp.format !== 'mtx')
      throw new UsageError(`expected a .mtx coordinate file of observed entries, got ${JSON.stringify(ctx.positionals[0])}`);
    const solver = ctx.flag<'sketch' | 'exact'>('solver');
    if (solver === 'exact')
      for (const f of ['inner', 'preconditioner'])
        if (ctx.args.given.has(f)) throw new UsageError(`--${f} applies to --solver sketch only`);
    const declared = inp.declared;
    if (declared) {
      const { rows: m, cols: n } = declared;
      const e = ctx.elemBytes,
        kk = Math.min(k, m, n);
      ctx.checkMemory(`completion of the ${m} x ${n} matrix in ${input} at rank ${k}`, {
        'observations (host and engine)': inputBytes(declared, e) + (declared.nnz ?? 0) * 48,
        'factors U, V and their updates (m x k, n x k)': 6 * e * (m + n) * kk,
        'per-row and per-column Gram matrices (k x k each)': 2 * e * (m + n) * kk * kk,
      });
    }
    const outDir = (await ctx.outputs('out', ['U.npy', 'V.npy', 'convergence.svg'])).dir;
    const mtx = await ctx.readMatrix(inp);
    if (mtx.kind !== 'sparse')
      throw new Error(`${input}: a dense (array) Matrix Market file has no missing entries; completion needs a coordinate file`);
    const { rows: m, cols: n } = mtx;
    if (k >= Math.min(m, n)) throw new UsageError(`--rank ${k} must be below min(m, n) = ${Math.min(m, n)} for a ${m} x ${n} matrix`);
    const { coo, duplicates } = averageDuplicates({ rows: m, cols: n, row: mtx.row, col: mtx.col, val: mtx.val });
    const seed = ctx.flag<number>('seed');
    const holdout = ctx.flag<number | undefined>('holdout') ?? 0;
    // Hold-out split: each observation independently with probability `holdout` (Philox stream 0x40).
    const rng = new PhiloxRng(seed, 0x40);
    const tr = { row: [] as number[], col: [] as number[], val: [] as number[] };
    const te = { row: [] as number[], col: [] as number[], val: [] as number[] };
    for (let q = 0; q < coo.row.length; q++) {
      const d = holdout > 0 && rng.next() < holdout ? te : tr;
      d.row.push(coo.row[q]);
      d.col.push(coo.col[q]);
      d.val.push(coo.val[q]);
    }
    if (tr.row.length === 0) throw new Error(`${input}: no observations left to fit`);
    const eng = await ctx.openEngine();
    try {
      const train = eng.sparse({ rows: m, cols: n, ...tr });
      const test = te.row.length > 0 ? eng.sparse({ rows: m, cols: n, ...te }) : null;
      const iters = ctx.flag<number>('iters');
      const tol = ctx.flag<number | undefined>('tol');
      ctx.out(
        `${input}: ${m} x ${n}, ${coo.row.length} observed entries (${fmtNum((100 * coo.row.length) / (m * n), 3)} %)` +
          `${duplicates > 0 ? `, ${duplicates} duplicates averaged` : ''}; fitting ${train.nnz}, holding out ${test ? test.nnz : 0}`,
      );
      ctx.out(
        `  rank ${k}, solver ${solver}${solver === 'sketch' ? ` (${ctx.flag<string>('preconditioner')} preconditioner, ${ctx.flag<number>('inner')} CG steps)` : ''} on ${eng.backend}/${eng.dtype}`,
      );
      ctx.out(`  sweep   train RMSE   held-out RMSE   seconds`);
      const bar = ctx.progress({ total: iters, label: 'sweeps', unit: 'sweeps' });
      const trainCurve: number[] = [],
        testCurve: number[] = [];
      const t0 = performance.now();
      const r = await completeMatrix(train, {
        rank: k,
        iters,
        solver,
        ...(solver === 'sketch'
          ? { inner: ctx.flag<number>('inner'), preconditioner: ctx.flag<'sketch' | 'jacobi'>('preconditioner') }
          : {}),
        clip: ctx.flag<boolean>('clip'),
        ...(tol !== undefined ? { tol } : {}),
        seed,
        onIter: async (it, f) => {
          const held = test ? await maskedRmse(f.U, f.V, test) : NaN;
          trainCurve.push(it.trainRmse);
          testCurve.push(held);
          bar.update(it.iter, iters, `train ${fmtNum(it.trainRmse)}${test ? ` held-out ${fmtNum(held)}` : ''}`);
          ctx.out(
            `  ${String(it.iter).padStart(5)}   ${fmtNum(it.trainRmse).padStart(10)}   ${(test ? fmtNum(held) : '-').padStart(13)}   ${it.seconds.toFixed(2).padStart(7)}`,
          );
        },
      });
      // Stopped early by --tol: the bar's total becomes the sweeps run, so that it agrees with the report.
      if (r.info.iters < iters) bar.update(r.info.iters, r.info.iters);
      bar.finish();
      const ms = performance.now() - t0;
      const info = r.info;
      const u = await r.U.toArray(),
        v = await r.V.toArray();
      await ctx.writeNpy(path.join(outDir, 'U.npy'), u, [m, k]);
      await ctx.writeNpy(path.join(outDir, 'V.npy'), v, [n, k]);
      ctx.wrote(path.join(outDir, 'convergence.svg'));
      const series = [{ name: 'train RMSE', y: trainCurve, style: 'line+markers' as const }];
      if (test) series.push({ name: 'held-out RMSE', y: testCurve, style: 'line+markers' as const });
      const positive = trainCurve.every((x) => x > 0) && (!test || testCurve.every((x) => x > 0));
      await writePlotSvg(path.join(outDir, 'convergence.svg'), series, {
        title: `Matrix completion of ${input} (${m} x ${n}, rank ${k}, ${solver})`,
        xLabel: 'sweep',
        yLabel: 'RMSE',
        logY: positive,
      });
      ctx.out(
        `  ${info.iters} sweeps in ${fmtMs(ms)} (${info.stopped === 'tol' ? `stopped: change below ${tol}` : 'all sweeps'}); muHat ${fmtNum(info.muHat, 3)}` +
          `${info.underdeterminedRows.length + info.underdeterminedCols.length > 0 ? `; ${info.underdeterminedRows.length} rows and ${info.underdeterminedCols.length} columns have fewer than ${k} observations (not determined by the data)` : ''}`,
      );
      ctx.report({
        rows: m,
        cols: n,
        observed: coo.row.length,
        duplicates,
        rank: k,
        solver,
        sweeps: info.iters,
        muHat: info.muHat,
        trainRmse: trainCurve,
        ...(test ? { heldOutRmse: testCurve } : {}),
        seconds: ms / 1000,
      });
      if (info.muHat > 0.5 * Math.sqrt(Math.max(m, n) / k))
        ctx.note(
          `muHat ${fmtNum(info.muHat, 3)} is high: the matrix looks coherent (spiky), which uniform samples cannot complete reliably`,
        );
      ctx.out(`  wrote ${['U.npy', 'V.npy', 'convergence.svg'].map((f) => path.join(outDir, f)).join(', ')}`);
      for (const x of [r.U, r.V, train, test]) x?.dispose();
      return 0;
    } finally {
      await eng.dispose();
    }
  },
};
