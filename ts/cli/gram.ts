/**
 * `lowrank gram shard.npy --out part/`: one shard's mergeable second moments: the row count, the column
 * means and the centered scatter (A_i - 1 mu_i^T)^T (A_i - 1 mu_i^T), in f64. Parts combine with
 * `lowrank merge` by the pairwise update of Chan, Golub and LeVeque (no cancellation from subtracting
 * N mu mu^T at the end), and `lowrank finish` writes the covariance, the means and X^T X.
 */
import { UsageError } from './args.js';
import { fmtMs, type Command, type Context } from './context.js';
import { PartWriter } from './parts.js';
import { checkFiniteShard, loadShard, closeEngine, openEngineFor, report, shardFlags } from './shard.js';

export const command: Command = {
  name: 'gram',
  summary: "one shard's part of X^T X / the covariance (for sharded / Dask runs; combine with merge, finish)",
  description: [
    "Computes a shard's row count, column means and centered scatter matrix (f64). Parts of disjoint rows",
    "combine with 'lowrank merge' (Chan-Golub-LeVeque pairwise update: exact, associative to roundoff)",
    "and 'lowrank finish' writes covariance.npy, mean.npy and gram.npy (X^T X). The scatter is formed on",
    "the chosen backend in the shard's dtype after centering (so an f32 shard of large means loses",
    'nothing to cancellation) and summed in f64.',
  ].join('\n'),
  positionals: [{ name: 'shard', description: '.npy file with some rows of the data (rows = samples)' }],
  flags: [...shardFlags(true), { name: 'out', short: 'o', type: 'string', value: 'DIR', description: 'output part folder (required)' }],
  examples: ['lowrank gram acts-07.npy --out parts/gram-07'],
  async run(ctx: Context): Promise<number> {
    const t0 = performance.now();
    const outFlag = ctx.flag<string | undefined>('out');
    if (outFlag === undefined) throw new UsageError('--out DIR is required');
    const out = await PartWriter.open(ctx, ['mean.npy', 'scatter.npy']);
    const shard = await loadShard(ctx, ctx.positionals[0]);
    const { rows: m, cols: n, data } = shard;
    const mean = new Float64Array(n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) mean[j] += data[i * n + j];
    for (let j = 0; j < n; j++) mean[j] /= m;
    if (!mean.every(Number.isFinite)) checkFiniteShard(shard); // names the first NaN / Infinity
    const eng = await openEngineFor(ctx, shard.dtype);
    try {
      const centered = eng.dtype === 'f64' ? new Float64Array(m * n) : new Float32Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) centered[i * n + j] = data[i * n + j] - mean[j];
      const Xc = eng.matrix(centered, m, n);
      const G = await eng.matmul(Xc, Xc, { transA: true });
      Xc.dispose();
      const g = await G.toArray();
      G.dispose();
      // symmetrize (the product is symmetric up to roundoff)
      const s = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s[i * n + j] = 0.5 * (g[i * n + j] + g[j * n + i]);
      await out.npy('mean.npy', mean, [n], 'f64');
      await out.npy('scatter.npy', s, [n, n], 'f64');
      const r0 = ctx.flag<number | undefined>('row-offset');
      await out.meta('gram', {
        count: m,
        cols: n,
        dtype: eng.dtype,
        ranges: r0 === undefined ? [] : [[r0, r0 + m]],
        sources: [shard.path],
      });
      report(ctx, `${shard.name}: ${m} x ${n} gram part in ${fmtMs(performance.now() - t0)} -> ${out.dir}`, {
        kind: 'gram',
        out: out.dir,
        count: m,
        cols: n,
      });
    } finally {
      await closeEngine(ctx, eng);
    }
    return 0;
  },
};
