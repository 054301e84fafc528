/**
 * `lowrank coreset <data.npy> --p P --size M --out DIR`: an l_p sensitivity-sampling coreset of the rows
 * of a dense matrix. Writes indices.npy (int rows as f64) and weights.npy, and prints the measured
 * distortion of the embedding (spec C.6 protocol).
 */
import path from 'node:path';
import { embeddingDistortion } from '../algorithms/sampling/distortion.js';
import { sensitivitySample, type SampleScores } from '../algorithms/sampling/sample.js';
import { writeNpy } from '../io/npy.js';
import { UsageError } from './args.js';
import { fmtMs, fmtNum, type Command, type Context } from './context.js';
import { loadMatrix, prepareOutDir } from './files.js';
import { declaredShape, inputBytes } from './memory.js';

export const command: Command = {
  name: 'coreset',
  summary: 'l_p sensitivity-sampling coreset of the rows of a matrix; writes indices.npy, weights.npy',
  description: [
    'Samples about --size rows of the n x d matrix A for an l_p subspace embedding: row i is kept with',
    'probability q_i = min(1, m sigma_i / sum sigma) and weighted by q_i^(-1/p), so E ||S A x||_p^p =',
    '||A x||_p^p. The scores sigma are Lewis weights by default. The distortion max(hi, 1/lo) - 1 of',
    '||S A x||_p / ||A x||_p is then measured over random, singular and axis directions with local',
    'refinement (a lower bound on the worst case); --trials 0 --no-refine skips most of it.',
    'indices.npy holds the kept row indices (0-based, as float64), weights.npy their weights.',
  ].join('\n'),
  positionals: [{ name: 'input', description: 'matrix file: .npy (2-D, f32/f64) or .mtx (array format)' }],
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
    const input = ctx.resolve(ctx.positionals[0]);
    const size = ctx.flag<number | undefined>('size');
    if (size === undefined) throw new UsageError('--size is required');
    const outFlag = ctx.flag<string | undefined>('out');
    if (outFlag === undefined) throw new UsageError('--out DIR is required');
    const p = ctx.flag<number>('p');
    if (!Number.isFinite(p)) throw new UsageError('--p must be finite');
    const declared = await declaredShape(input);
    if (declared?.kind === 'dense') {
      const { rows: m, cols: n } = declared;
      const e = ctx.elemBytes;
      ctx.checkMemory(`coreset of the ${m} x ${n} matrix in ${path.basename(input)}`, {
        input: inputBytes(declared, e),
        'scores (QR / Lewis weights of A, m x n)': 3 * e * m * n,
        'sample and directions': e * Math.min(size, m) * n + 16 * m,
      });
    }
    const act = ctx.activity(`reading ${path.basename(input)}`);
    let loaded;
    try {
      loaded = await loadMatrix(input);
    } finally {
      act.stop();
    }
    if (loaded.kind !== 'dense')
      throw new UsageError(`${path.basename(input)} is a sparse (coordinate) file; coreset needs a dense matrix`);
    const outDir = await prepareOutDir(ctx.resolve(outFlag));
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
      await writeNpy(path.join(outDir, 'indices.npy'), Float64Array.from(s.indices), [s.indices.length]);
      await writeNpy(path.join(outDir, 'weights.npy'), s.weights, [s.weights.length]);
      ctx.out(
        `${path.basename(input)}: ${loaded.rows} x ${loaded.cols}; ${s.indices.length} rows kept (expected ${fmtNum(s.expectedSize, 5)}) with ${s.scores} scores, p = ${p}, on ${eng.backend}/${eng.dtype} in ${fmtMs(ms)}`,
      );
      for (const w of s.warnings) ctx.err(`  note: ${w}`);
      const measuring = ctx.activity('measuring the distortion');
      try {
        const d = await embeddingDistortion(A, s, {
          p,
          trials: ctx.flag<number>('trials'),
          refine: ctx.flag<boolean>('refine'),
          seed: ctx.flag<number>('seed'),
        });
        ctx.out(
          `  distortion ${fmtNum(d.distortion, 4)}: ||S A x||_p / ||A x||_p in [${fmtNum(d.lo, 5)}, ${fmtNum(d.hi, 5)}] over ${d.evaluated} directions`,
        );
      } finally {
        measuring.stop();
      }
      ctx.out(`  wrote ${path.join(outDir, 'indices.npy')}, ${path.join(outDir, 'weights.npy')}`);
      A.dispose();
    } finally {
      await eng.dispose();
    }
    return 0;
  },
};
