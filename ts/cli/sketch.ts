/**
 * `lowrank sketch shard.npy --row-offset R0 --rows-total M --rank K --out part/`: one shard's share of
 * the single-pass sketch (RsvdSketch): its rows of Y = A Omega and of the test sketch Z = A Theta, and
 * its term Psi[:, R0:R1] A_i of W. Omega, Theta and Psi come from the counter-based generator keyed by
 * global row / column index, so a shard needs nothing but its rows and the shared parameters.
 */
import { RsvdSketch } from '../algorithms/rsvd/sketch.js';
import { UsageError } from './args.js';
import { fmtMs, type Command, type Context } from './context.js';
import { closeEngine, openEngineFor, report, shardFlags, shardInfo, shardOnEngine } from './shard.js';
import { PartWriter, RNG_ID } from './parts.js';

export const command: Command = {
  name: 'sketch',
  summary: "one shard's part of the single-pass sketch (for sharded / Dask runs; combine with merge, finish)",
  description: [
    'Sketches the rows R0 .. R0+m-1 of a matrix of M rows (the shard file holds exactly those rows): the',
    "shard's rows of Y = A Omega (range sketch, k columns) and of the test sketch A Theta, and its term of",
    'W = Psi A (co-range sketch, l rows). The random matrices come from the counter-based generator keyed',
    'by the global row / column index and --seed, so every shard can be sketched anywhere, in any order.',
    "Parts of disjoint rows combine with 'lowrank merge' (W adds, Y's row blocks join) and 'lowrank",
    "finish' gives U, S, V and the a-posteriori error estimate. Defaults k = 2K + 1, l = 2k + 1 (Tropp et",
    'al. 2017); every part of one run must use the same --seed, --rank, sizes and --rows-total.',
  ].join('\n'),
  positionals: [{ name: 'shard', description: '.npy file with rows R0 .. R0+m-1 of the matrix' }],
  flags: [
    ...shardFlags(true),
    { name: 'rows-total', type: 'int', min: 1, value: 'M', description: 'rows of the whole matrix (required)' },
    { name: 'cols', type: 'int', min: 1, value: 'N', description: 'columns of the matrix (checked against the shard)' },
    { name: 'rank', short: 'k', type: 'int', min: 1, value: 'K', description: 'target rank (required)' },
    { name: 'range-size', type: 'int', min: 2, value: 'k', description: 'range sketch columns (default 2K + 1)' },
    { name: 'corange-size', type: 'int', min: 2, value: 'l', description: 'co-range sketch rows (default 2k + 1)' },
    { name: 'test-size', type: 'int', min: 0, value: 's', description: 'test sketch columns for the error estimate (default 10; 0: none)' },
    { name: 'seed', type: 'int', min: 0, default: 0, value: 'S', description: 'seed shared by all parts of the run' },
    { name: 'out', short: 'o', type: 'string', value: 'DIR', description: 'output part folder (required)' },
  ],
  examples: ['lowrank sketch shard-03.npy --row-offset 15000 --rows-total 30000 --rank 10 --seed 7 --out parts/03'],
  async run(ctx: Context): Promise<number> {
    const t0 = performance.now();
    const rank = ctx.flag<number | undefined>('rank');
    const total = ctx.flag<number | undefined>('rows-total');
    const r0 = ctx.flag<number | undefined>('row-offset');
    const outFlag = ctx.flag<string | undefined>('out');
    if (rank === undefined) throw new UsageError('--rank is required');
    if (total === undefined) throw new UsageError('--rows-total is required (rows of the whole matrix)');
    if (r0 === undefined) throw new UsageError("--row-offset is required (index of the shard's first row in the whole matrix)");
    if (outFlag === undefined) throw new UsageError('--out DIR is required');
    const out = await PartWriter.open(ctx, ['W.npy', 'Y.npy', 'Z.npy']);
    const shard = await shardInfo(ctx, ctx.positionals[0]);
    const cols = ctx.flag<number | undefined>('cols');
    if (cols !== undefined && cols !== shard.cols) throw new UsageError(`--cols is ${cols} but ${shard.name} has ${shard.cols} columns`);
    if (r0 + shard.rows > total) throw new UsageError(`--row-offset ${r0} + the shard's ${shard.rows} rows exceeds --rows-total ${total}`);
    const eng = await openEngineFor(ctx, shard.dtype);
    try {
      const sk = RsvdSketch.create(eng, {
        cols: shard.cols,
        rows: total,
        rank,
        rangeSize: ctx.flag<number | undefined>('range-size'),
        corangeSize: ctx.flag<number | undefined>('corange-size'),
        seed: ctx.flag<number>('seed'),
        testSize: ctx.flag<number | undefined>('test-size'),
      });
      try {
        const A = await shardOnEngine(ctx, eng, shard);
        try {
          await sk.add(A.A, r0);
        } finally {
          A.release();
        }
        const st = await sk.export();
        const y = st.Y[0];
        const z = st.Z?.[0];
        await out.npy('W.npy', st.W, [st.corangeSize, st.cols]);
        const yFile = await out.npy('Y.npy', y.data, [y.rows, st.rangeSize]);
        const zFile = z && st.testSize ? await out.npy('Z.npy', z.data, [z.rows, st.testSize]) : undefined;
        await out.meta('sketch', {
          rng: RNG_ID,
          seed: st.seed,
          rank: st.rank,
          rangeSize: st.rangeSize,
          corangeSize: st.corangeSize,
          testSize: st.testSize ?? 0,
          rows: total,
          cols: st.cols,
          dtype: st.dtype,
          sumSquares: st.sumSquares ?? 0,
          blocks: [{ row: r0, rows: y.rows, Y: yFile, ...(zFile ? { Z: zFile } : {}), source: shard.path }],
        });
        report(
          ctx,
          `${shard.name}: rows ${r0}..${r0 + shard.rows - 1} of ${total}, sketch k ${st.rangeSize}, l ${st.corangeSize} in ${fmtMs(performance.now() - t0)} -> ${out.dir}`,
          { kind: 'sketch', out: out.dir, rows: [r0, r0 + shard.rows], rangeSize: st.rangeSize, corangeSize: st.corangeSize },
        );
      } finally {
        sk.dispose();
      }
    } finally {
      await closeEngine(ctx, eng);
    }
    return 0;
  },
};
