/**
 * `lowrank coreset <data.npy> --p P --size M --out DIR`: an l_p sensitivity-sampling coreset of the rows
 * of a dense matrix. Writes indices.npy (int64 row indices) and weights.npy, and prints the measured
 * distortion of the embedding (spec C.6 protocol).
 */
import { embeddingDistortion } from '../algorithms/sampling/distortion.js';
import { sensitivitySample, type SampleScores } from '../algorithms/sampling/sample.js';
import { UsageError } from './args.js';
import { fmtMs, fmtNum, type Command, type Context } from './context.js';
import { inputBytes } from './memory.js';

export const command: Command = {
  name: 'coreset',
  summary: 'l_p sensitivity-sampling coreset of the rows of a matrix; writes indices.npy, weights.npy',
  description: [
    'Samples about --size rows of the n x d matrix A for an l_p subspace embedding: row i is kept with',
    'probability q_i = min(1, m sigma_i / sum sigma) and weighted by q_i^(-1/p), so E ||S A x||_p^p =',
    '||A x||_p^p. The scores sigma are Lewis weights by default. The distortion max(hi, 1/lo) - 1 of',
    '||S A x||_p / ||A x||_p is then measured over random, singular and axis directions with local',
    'refinement (a lower bound on the worst case); --trials 0 --no-refine skips most of it.',
    '',
    'indices.npy holds the kept row indices (0-based, int64: numpy indexes with it), weights.npy their',
    'weights (in the input dtype). A sample smaller than the number of columns cannot embed the column',
    'space: a warning says so.',
  ].join('\n'),
  positionals: [{ name: 'input', description: "matrix file: .npy (2-D; float, integer or bool) or .mtx (array format); '-' reads stdin" }],
  flags: [
    { name: 'p', type: 'number', min: 1e-12, value: 'P', default: 1, description: 'the exponent p (> 0; sampling guarantees need p >= 1)' },
    { name: 'size', short: 'm', type: 'int', min: 1, value: 'M', description: 'target number of rows (required)' },
    { name: 'out', short: 'o', type: 'string', value: 'DIR', description: 'output folder (created if needed; required)' },
    {
      name: 'scores',
      type: 'choice',
      choices: ['lewis', 'sensitivity', 'root-leverage', 'leverage', 'uniform'],
      default: 'lewis',
      description: 'sampling scores',
    },
    { name: 'seed', type: 'int', min: 0, default: 0, value: 'S', description: 'seed of the sample and of the distortion directions' },
    { name: 'trials', type: 'int', min: 0, default: 1000, value: 'T', description: 'random directions of the distortion measurement' },
    { name: 'refine', type: 'boolean', default: true, description: 'local refinement of the distortion (20 starts x 300 steps)' },
  ],
  examples: [
    'lowrank coreset data.npy --p 1 --size 2000 --out coreset',
    'lowrank coreset data.npy --p 1.5 --size 500 --scores root-leverage --out c --dtype f64',
  ],
  async run(ctx: Context): Promise<number> {
    const size = ctx.flag<number | undefined>('size');
    if (size === undefined) throw new UsageError('--size is required');
    if (ctx.flag<string | undefined>('out') === undefined) throw new UsageError('--out DIR is required');
    const p = ctx.flag<number>('p');
    if (!Number.isFinite(p)) throw new UsageError('--p must be finite');
    const inp = await ctx.input(ctx.positionals[0]);
    const declared = inp.declared;
    if (declared?.kind === 'dense') {
      const { rows: m, cols: n } = declared;
      const e = ctx.elemBytes;
      ctx.checkMemory(`coreset of the ${m} x ${n} matrix in ${inp.shown}`, {
        input: inputBytes(declared, e),
        'scores (QR / Lewis weights of A, m x n)': 3 * e * m * n,
        'sample and directions': e * Math.min(size, m) * n + 16 * m,
      });
    }
    if (declared?.kind === 'sparse') throw new UsageError(`${inp.shown} is a sparse (coordinate) file; coreset needs a dense matrix`);
    const out = await ctx.outputs('out', ['indices.npy', 'weights.npy']);
    const loaded = await ctx.readMatrix(inp);
    if (loaded.kind !== 'dense') throw new UsageError(`${inp.shown} is a sparse (coordinate) file; coreset needs a dense matrix`);
    if (size < loaded.cols)
      ctx.warn(
        `--size ${size} is below the ${loaded.cols} columns: a sample of fewer rows than columns cannot preserve ||A x||_p for every x (the distortion will be large); use --size of a few times ${loaded.cols} or more`,
      );
    const eng = await ctx.openEngine();
    try {
      const A = eng.matrix(loaded.data, loaded.rows, loaded.cols);
      const t0 = performance.now();
      const scoring = ctx.activity(`computing ${ctx.flag<string>('scores')} scores`);
      let s;
      try {
        s = await sensitivitySample(A, { p, size, scores: ctx.flag<SampleScores>('scores'), seed: ctx.flag<number>('seed') });
      } finally {
        scoring.stop();
      }
      const ms = performance.now() - t0;
      await ctx.writeNpy(out.path('indices.npy'), s.indices, [s.indices.length], { dtype: 'i64' });
      await ctx.writeNpy(out.path('weights.npy'), s.weights, [s.weights.length]);
      ctx.report({
        rows: loaded.rows,
        cols: loaded.cols,
        kept: s.indices.length,
        expected: s.expectedSize,
        scores: s.scores,
        p,
        seconds: ms / 1000,
      });
      ctx.out(
        `${inp.shown}: ${loaded.rows} x ${loaded.cols}; ${s.indices.length} rows kept (expected ${fmtNum(s.expectedSize, 5)}) with ${s.scores} scores, p = ${p}, on ${eng.backend}/${eng.dtype} in ${fmtMs(ms)}`,
      );
      for (const w of s.warnings) ctx.note(w);
      const bar = ctx.progress({ label: 'measuring the distortion', unit: 'directions' });
      try {
        const d = await embeddingDistortion(A, s, {
          p,
          trials: ctx.flag<number>('trials'),
          refine: ctx.flag<boolean>('refine'),
          seed: ctx.flag<number>('seed'),
          onProgress: ({ done, total }) => bar.update(done, total),
        });
        bar.finish();
        ctx.report({ distortion: d.distortion, lo: d.lo, hi: d.hi, directions: d.evaluated });
        ctx.out(
          `  distortion ${fmtNum(d.distortion, 4)}: ||S A x||_p / ||A x||_p in [${fmtNum(d.lo, 5)}, ${fmtNum(d.hi, 5)}] over ${d.evaluated} directions`,
        );
      } finally {
        bar.clear();
      }
      ctx.out(`  wrote ${ctx.written.join(', ')}`);
      A.dispose();
    } finally {
      await eng.dispose();
    }
    return 0;
  },
};
