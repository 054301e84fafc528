/**
 * `lowrank cluster data.npy --K 10 --d 12 --out DIR`: subspace clustering (K-subspaces) of the rows of
 * a matrix. Writes labels.npy (int64), bases.npy (D x K d) and angles.svg (principal angles between the
 * found subspaces); --labels truth.npy adds clustering accuracy and NMI.
 */
import path from 'node:path';
import { principalAngles } from '../algorithms/geometry/angles.js';
import { kSubspaces } from '../algorithms/geometry/ksubspaces.js';
import { clusteringAccuracy, nmi } from '../algorithms/geometry/metrics.js';
import type { Engine } from '../engine.js';
import { readNpy } from '../io/npy.js';
import { UsageError } from './args.js';
import { fmtMs, fmtNum, type Command, type Context } from './context.js';
import { heatmapSvg } from './svg.js';
import { writeFile } from 'node:fs/promises';

export const command: Command = {
  name: 'cluster',
  summary: 'subspace clustering (K-subspaces) of the rows of a .npy matrix; labels, bases, angle map',
  description: [
    'Fits K subspaces of dimension d to the rows of an N x D matrix (one sample per row) by',
    'K-subspaces: assign every row to the subspace that keeps most of its energy (largest ||U_k^T x||),',
    'refit every subspace as the top-d right singular vectors of its rows, until no label changes.',
    'Initialization: spectral (default: spectral clustering of |<x_i, x_j>| on up to --spectral-samples rows)',
    'or random (best of --restarts runs). Writes DIR/labels.npy (N, int64), DIR/bases.npy (D x K d: basis k',
    'is columns k d .. (k + 1) d - 1) and DIR/angles.svg (heat map of the mean principal angle between',
    'every pair of found subspaces, degrees). With --labels truth.npy (N integers) it reports the',
    'clustering accuracy (best one-to-one matching of clusters to classes, Hungarian) and NMI.',
  ].join('\n'),
  positionals: [{ name: 'data', description: 'data matrix (.npy, N x D, one sample per row)' }],
  flags: [
    { name: 'K', type: 'int', min: 1, value: 'K', description: 'number of subspaces (required)' },
    { name: 'd', type: 'int', min: 1, value: 'd', description: 'dimension of every subspace (required; K d <= D)' },
    { name: 'init', type: 'choice', choices: ['spectral', 'random'], default: 'spectral', description: 'initialization' },
    {
      name: 'restarts',
      type: 'int',
      min: 1,
      value: 'R',
      description: 'initializations; the best objective is kept (default 1 spectral, 10 random)',
    },
    { name: 'max-iter', type: 'int', min: 1, default: 100, value: 'N', description: 'most refits per run' },
    { name: 'spectral-samples', type: 'int', min: 2, default: 2000, value: 'N', description: 'rows in the spectral initialization' },
    { name: 'seed', type: 'int', min: 0, default: 0, value: 'S', description: 'seed' },
    { name: 'labels', type: 'string', value: 'FILE', description: 'true labels (.npy, N integers) for accuracy and NMI' },
    { name: 'out', short: 'o', type: 'string', value: 'DIR', description: 'output folder (created if needed; required)' },
  ],
  examples: ['lowrank cluster digits.npy --K 10 --d 12 --labels digits-labels.npy --out clusters'],
  async run(ctx: Context): Promise<number> {
    const K = ctx.flag<number | undefined>('K');
    const d = ctx.flag<number | undefined>('d');
    if (K === undefined || d === undefined) throw new UsageError('--K and --d are required');
    if (ctx.flag<string | undefined>('out') === undefined) throw new UsageError('--out DIR is required');
    const inp = await ctx.input(ctx.positionals[0]);
    const out = await ctx.outputs('out', ['labels.npy', 'bases.npy', 'angles.svg']);
    const X = await ctx.readMatrix(inp);
    if (X.kind !== 'dense') throw new UsageError(`${inp.shown} is a sparse (coordinate) file; cluster needs a dense matrix`);
    const [N, D] = [X.rows, X.cols];
    const input = inp.shown;
    if (K * d > D) throw new UsageError(`--K ${K} times --d ${d} = ${K * d} exceeds the ${D} columns of ${input}`);
    if (K > N) throw new UsageError(`--K ${K} exceeds the ${N} rows of ${input}`);
    let truth: Float64Array | Float32Array | undefined;
    const labelsFlag = ctx.flag<string | undefined>('labels');
    if (labelsFlag !== undefined) {
      const t = await readNpy(ctx.resolve(labelsFlag));
      if (t.data.length !== N)
        throw new UsageError(
          `--labels ${path.basename(labelsFlag)} holds ${t.data.length} values, but ${path.basename(input)} has ${N} rows`,
        );
      const bad = t.data.findIndex((v) => !Number.isInteger(v));
      if (bad >= 0) throw new UsageError(`--labels ${path.basename(labelsFlag)}: entry ${bad} is ${t.data[bad]}, not an integer label`);
      truth = t.data;
    }
    const eng = await ctx.openEngine();
    try {
      return await cluster(ctx, eng, { file: input, data: X.data, N, D, K, d, truth, outDir: out.dir });
    } finally {
      await eng.dispose();
    }
  },
};

async function cluster(
  ctx: Context,
  eng: Engine,
  o: {
    file: string;
    data: Float32Array | Float64Array;
    N: number;
    D: number;
    K: number;
    d: number;
    truth?: ArrayLike<number>;
    outDir: string;
  },
): Promise<number> {
  const t0 = performance.now();
  const act = ctx.activity(`K-subspaces (K ${o.K}, d ${o.d}) on ${o.N} x ${o.D}`);
  const given = (f: string) => ctx.args.given.has(f);
  let res;
  try {
    res = await eng.scope(async () => {
      const X = eng.matrix(o.data, o.N, o.D);
      const r = await kSubspaces(X, {
        K: o.K,
        d: o.d,
        init: ctx.flag<'spectral' | 'random'>('init'),
        ...(given('restarts') ? { restarts: ctx.flag<number>('restarts') } : {}),
        maxIter: ctx.flag<number>('max-iter'),
        seed: ctx.flag<number>('seed'),
        spectralSamples: ctx.flag<number>('spectral-samples'),
      });
      // mean principal angle between every pair of found subspaces
      const angles = new Float64Array(o.K * o.K);
      for (let i = 0; i < o.K; i++)
        for (let j = i + 1; j < o.K; j++) {
          const th = await principalAngles(r.bases[i], r.bases[j]);
          const mean = (th.reduce((a, b) => a + b, 0) / th.length) * (180 / Math.PI);
          angles[i * o.K + j] = angles[j * o.K + i] = mean;
        }
      const B = await eng.hstack(r.bases);
      return { labels: r.labels, objective: r.objective, iters: r.iters, angles, bases: await B.toArray() };
    });
  } finally {
    act.stop();
  }
  const ms = performance.now() - t0;
  await ctx.writeNpy(path.join(o.outDir, 'labels.npy'), res.labels, [o.N], { dtype: 'i64' });
  await ctx.writeNpy(path.join(o.outDir, 'bases.npy'), res.bases, [o.D, o.K * o.d]);
  ctx.wrote(path.join(o.outDir, 'angles.svg'));
  const names = Array.from({ length: o.K }, (_, i) => String(i));
  await writeFile(
    path.join(o.outDir, 'angles.svg'),
    heatmapSvg(res.angles, o.K, o.K, {
      title: `Mean principal angle between the ${o.K} subspaces found in ${path.basename(o.file)} (degrees)`,
      rowLabels: names,
      colLabels: names,
      min: 0,
      max: 90,
      unit: 'degrees',
    }),
  );
  const sizes = new Array<number>(o.K).fill(0);
  for (const l of res.labels) sizes[l]++;
  const acc = o.truth ? clusteringAccuracy(res.labels, o.truth) : undefined;
  const score = o.truth ? nmi(res.labels, o.truth) : undefined;
  if (ctx.json) {
    ctx.report({
      input: o.file,
      shape: [o.N, o.D],
      K: o.K,
      d: o.d,
      objective: res.objective,
      energyFraction: res.objective / sumSquares(o.data),
      iters: res.iters,
      clusterSizes: sizes,
      ...(acc !== undefined ? { accuracy: acc, nmi: score } : {}),
      meanAngleDegrees: Array.from(res.angles),
      out: o.outDir,
      seconds: ms / 1000,
    });
    return 0;
  }
  ctx.out(`${path.basename(o.file)}: ${o.N} x ${o.D}, K ${o.K} subspaces of dimension ${o.d} on ${eng.backend}/${eng.dtype}`);
  ctx.out(
    `energy kept ${fmtNum(res.objective / sumSquares(o.data), 4)} of ||X||_F^2 after ${res.iters} refits; cluster sizes ${sizes.join(', ')}`,
  );
  if (acc !== undefined) ctx.out(`accuracy ${fmtNum(acc, 4)}, NMI ${fmtNum(score!, 4)}`);
  const off = Array.from(res.angles).filter((_, i) => Math.floor(i / o.K) !== i % o.K);
  if (off.length)
    ctx.out(`mean principal angle between subspaces: min ${fmtNum(Math.min(...off), 3)}, max ${fmtNum(Math.max(...off), 3)} degrees`);
  ctx.out(`wrote labels.npy, bases.npy and angles.svg to ${o.outDir} in ${fmtMs(ms)}`);
  return 0;
}

function sumSquares(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}
