/**
 * `lowrank recover --n 50 --rank 3 --overparam 10 --outliers 0.3`: generates a robust matrix-sensing
 * problem (sensingProblem) and recovers it with SubGM (robustRecover), printing the error curve
 * ||U U^T - X*||_F / ||X*||_F; with --out DIR also writes recovery.svg.
 */
import { robustRecover } from '../algorithms/subgm/recover.js';
import { sensingProblem, type OutlierKind } from '../algorithms/subgm/problem.js';
import { UsageError } from './args.js';
import { fmtMs, fmtNum, type Command, type Context } from './context.js';
import { writePlotSvg } from './svg.js';

function parseWarmup(raw: string): number | 'auto' {
  if (raw === 'auto') return 'auto';
  const q = Number(raw);
  if (!Number.isInteger(q) || q < 0) throw new Error(`expected 'auto' or a non-negative integer, got ${JSON.stringify(raw)}`);
  return q;
}

export const command: Command = {
  name: 'recover',
  summary: 'robust low-rank recovery (SubGM, l1 loss) of a generated sensing problem; prints the error curve',
  description: [
    'Generates X* (n x n, PSD, rank --rank, ||X*||_F = 1) and m measurements y_i = <A_i, X*> + s_i, a ' +
      'fraction --outliers of them grossly corrupted, then runs the sub-gradient method on ' +
      "(1/m) sum |<A_i, U U^T> - y_i| from a small random U (n x r', r' = --overparam) with a constant step " +
      'during a warm-up and a geometric decay after it. Prints ||U U^T - X*||_F / ||X*||_F and the loss every ' +
      '--every iterations; with --out DIR writes recovery.svg (error and loss vs iteration).',
    'Gaussian A_i are kept as a dense m x n^2 matrix up to 2^24 entries and regenerated on the fly ' +
      '(matrix-free) above, unless --storage says otherwise. Before starting, the work is estimated ' +
      '(iterations x m x n^2): a long run is announced with a warning, and a default m that would take ' +
      'more than about a minute is refused (give --m explicitly to run it anyway). A progress bar follows ' +
      'the iterations on stderr.',
  ].join('\n\n'),
  flags: [
    { name: 'n', type: 'int', min: 1, value: 'N', description: 'X* is n x n (required)' },
    { name: 'rank', short: 'k', type: 'int', min: 1, value: 'R', description: 'true rank r (required)' },
    { name: 'overparam', type: 'int', min: 1, value: "R'", description: "rank r' of the factor U (default: --rank; may exceed it)" },
    { name: 'outliers', type: 'number', min: 0, max: 1, default: 0, value: 'P', description: 'fraction of corrupted measurements' },
    {
      name: 'kind',
      type: 'choice',
      choices: ['uniform', 'one-sided', 'cauchy'],
      default: 'uniform',
      description: 'outlier distribution (uniform: +-10 max|y0|)',
    },
    { name: 'noise', type: 'number', min: 0, default: 0, value: 'NU', description: 'std of dense Gaussian noise on every measurement' },
    { name: 'm', type: 'int', min: 1, value: 'M', description: 'measurements (default ceil(10 n r / (1 - P)^2))' },
    {
      name: 'measurements',
      type: 'choice',
      choices: ['gaussian', 'entries'],
      default: 'gaussian',
      description: 'Gaussian A_i or sampled entries',
    },
    {
      name: 'storage',
      type: 'choice',
      choices: ['auto', 'dense', 'matrix-free'],
      default: 'auto',
      description: 'Gaussian operator storage',
    },
    { name: 'iters', type: 'int', min: 1, default: 1500, value: 'T', description: 'iterations' },
    {
      name: 'init-scale',
      type: 'number',
      min: 1e-300,
      default: 1e-6,
      value: 'A',
      description: 'initial scale alpha relative to sqrt(||X*||_F)',
    },
    { name: 'step', type: 'number', min: 1e-300, max: 1, default: 0.2, value: 'ETA0', description: 'initial step eta0 in (0, 1]' },
    { name: 'decay', type: 'number', min: 1e-300, max: 0.999999999, default: 0.98, value: 'RHO', description: 'step decay rho in (0, 1)' },
    { name: 'warmup', type: 'string', value: 'T1', parse: parseWarmup, description: "constant-step iterations, or 'auto' (default)" },
    { name: 'every', type: 'int', min: 1, value: 'K', description: 'print the curve every K iterations (default T / 30, rounded to 10)' },
    { name: 'seed', type: 'int', min: 0, default: 0, value: 'S', description: 'seed of the problem and of the initialization' },
    { name: 'out', short: 'o', type: 'string', value: 'DIR', description: 'output folder for recovery.svg (optional)' },
  ],
  examples: [
    'lowrank recover --n 50 --rank 3 --overparam 10 --outliers 0.3',
    'lowrank recover --n 20 --rank 2 --overparam 5 --m 600 --outliers 0.2 --kind cauchy --out run --backend native --dtype f64',
  ],
  async run(ctx: Context): Promise<number> {
    const n = ctx.flag<number | undefined>('n');
    if (n === undefined) throw new UsageError('--n is required');
    const r = ctx.flag<number | undefined>('rank');
    if (r === undefined) throw new UsageError('--rank is required');
    if (r > n) throw new UsageError(`--rank ${r} exceeds --n ${n}`);
    const rp = ctx.flag<number | undefined>('overparam') ?? r;
    if (rp > n) throw new UsageError(`--overparam ${rp} exceeds --n ${n}`);
    const p = ctx.flag<number>('outliers');
    if (p >= 1) throw new UsageError('--outliers must be below 1 (nothing can be recovered when every measurement is corrupted)');
    const kind = ctx.flag<string>('measurements') as 'gaussian' | 'entries';
    const mGiven = ctx.flag<number | undefined>('m') !== undefined;
    const m = ctx.flag<number | undefined>('m') ?? Math.min(Math.ceil((10 * n * r) / (1 - p) ** 2), kind === 'entries' ? n * n : Infinity);
    if (kind === 'entries' && m > n * n) throw new UsageError(`--m ${m} exceeds the n^2 = ${n * n} entries`);
    const iters = ctx.flag<number>('iters');
    const every = ctx.flag<number | undefined>('every') ?? Math.max(10, Math.round(iters / 300) * 10);
    const seed = ctx.flag<number>('seed');
    {
      const e = ctx.elemBytes;
      const storage = ctx.flag<'auto' | 'dense' | 'matrix-free'>('storage');
      const stored = kind === 'gaussian' && (storage === 'dense' || (storage === 'auto' && m * n * n <= 2 ** 24));
      ctx.checkMemory(`recovery with n = ${n}, rank ${r}, ${m} measurements`, {
        'X* and the residual matrices (n x n)': 4 * e * n * n,
        'stored measurement matrix (m x n^2)': stored ? e * m * n * n : 0,
        'measurements and residuals (m)': 4 * 8 * m,
        "factors (n x r')": 6 * e * n * rp,
      });
    }
    if (kind === 'gaussian') {
      // Work per iteration: two passes over the m x n^2 operator (apply and adjoint); matrix-free
      // regenerates its Gaussian entries each time. Rates measured on a 2-core x86 machine (native).
      const storage = ctx.flag<'auto' | 'dense' | 'matrix-free'>('storage');
      const free = storage === 'matrix-free' || (storage === 'auto' && m * n * n > 2 ** 24);
      const units = iters * m * n * n;
      const seconds = units / (free ? 1.4e8 : 8e8);
      const why = `${m} Gaussian measurements of a ${n} x ${n} matrix${mGiven ? '' : ` (the default m = ceil(10 n r / (1 - P)^2) for --outliers ${p})`}, ${iters} iterations: about ${fmtNum(units, 2)} multiply-adds${free ? ' with the measurement matrices regenerated (matrix-free)' : ''}, roughly ${fmtMs(seconds * 1000)} on 2 CPU cores`;
      if (!mGiven && seconds > 60)
        throw new UsageError(`${why}; refused: give --m M explicitly to run it anyway, or lower --outliers, --iters or --n`);
      if (seconds > 30) ctx.warn(`long run: ${why}`);
    }
    const out = ctx.flag<string | undefined>('out') === undefined ? undefined : await ctx.outputs('out', ['recovery.svg']);
    if (p >= 0.5)
      ctx.note(
        `with ${Math.round(p * 100)} % outliers recovery needs many measurements (spec B.5: m = 600 for n = 20 gives errors up to 1e-2 at p = 0.5)`,
      );

    const eng = await ctx.openEngine();
    try {
      const t0 = performance.now();
      const gen = ctx.activity(`generating ${m} measurements`);
      const { problem, truth } = await sensingProblem(eng, {
        n,
        rank: r,
        m,
        outlierFraction: p,
        outlierKind: ctx.flag<OutlierKind>('kind'),
        noiseStd: ctx.flag<number>('noise'),
        measurements: kind,
        storage: ctx.flag<'auto' | 'dense' | 'matrix-free'>('storage'),
        seed,
      }).finally(() => gen.stop());
      const op = problem.measurements;
      const corrupted = truth.outliers.reduce((s, v) => s + v, 0);
      ctx.out(
        `X*: ${n} x ${n}, rank ${r}; ${m} ${kind === 'entries' ? 'sampled entries' : `Gaussian measurements (${op.kind})`}, ${corrupted} corrupted (${ctx.flag<string>('kind')}); U: ${n} x ${rp}; ${eng.backend}/${eng.dtype}`,
      );
      ctx.out(`${'iter'.padStart(6)}  ${'error'.padStart(10)}  ${'loss'.padStart(10)}  ${'step'.padStart(9)}`);
      const curve: { iter: number; err: number; loss: number }[] = [];
      let evalMs = 0;
      const bar = ctx.progress({ total: iters, label: 'iterations', unit: 'it' });
      const { U, info } = await robustRecover(problem, {
        rank: rp,
        iters,
        seed,
        logEvery: every,
        initScale: ctx.flag<number>('init-scale'),
        step: {
          initial: ctx.flag<number>('step'),
          decay: ctx.flag<number>('decay'),
          warmup: ctx.flag<number | 'auto' | undefined>('warmup') ?? 'auto',
        },
        onIter: async ({ iter, loss, eta, U }) => {
          const te = performance.now();
          const X = await eng.matmul(U, U, { transB: true });
          const D = await eng.sub(X, truth.X);
          const err = await eng.norm(D);
          X.dispose();
          D.dispose();
          curve.push({ iter, err, loss });
          bar.update(iter, iters, `error ${fmtNum(err, 3)}`);
          ctx.out(
            `${String(iter).padStart(6)}  ${fmtNum(err, 3).padStart(10)}  ${fmtNum(loss, 4).padStart(10)}  ${fmtNum(eta, 3).padStart(9)}`,
          );
          evalMs += performance.now() - te;
        },
      });
      bar.finish();
      const ms = performance.now() - t0 - evalMs;
      const final = curve[curve.length - 1];
      ctx.report({
        n,
        rank: r,
        overparam: rp,
        m,
        corrupted,
        iters,
        finalError: final.err,
        seconds: ms / 1000,
        curve: curve.map((c) => ({ iter: c.iter, error: c.err, loss: c.loss })),
      });
      ctx.out(
        `final relative error ${fmtNum(final.err, 3)} after ${iters} iterations (warm-up ${info.warmup}, alpha ${fmtNum(info.alpha, 3)}) in ${fmtMs(ms)}`,
      );
      if (out) {
        const file = out.path('recovery.svg');
        const xs = curve.map((c) => Math.max(c.iter, 1));
        await writePlotSvg(
          file,
          [
            { name: '||UU^T - X*||_F / ||X*||_F', x: xs, y: curve.map((c) => Math.max(c.err, 1e-300)), style: 'line' },
            { name: 'loss (1/m) sum |r_i|', x: xs, y: curve.map((c) => Math.max(c.loss, 1e-300)), style: 'line', dashed: true },
          ],
          {
            title: `SubGM: n = ${n}, r = ${r}, r' = ${rp}, m = ${m}, ${Math.round(p * 100)} % outliers (${eng.backend}/${eng.dtype})`,
            xLabel: 'iteration',
            yLabel: 'relative error / loss',
            logY: true,
          },
        );
        ctx.wrote(file);
        ctx.out(`  wrote ${file}`);
      }
      U.dispose();
      truth.X.dispose();
      op.dispose();
    } finally {
      await eng.dispose();
    }
    return 0;
  },
};
