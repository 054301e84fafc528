/**
 * `lowrank merge part... --out merged/`: combines parts of disjoint rows of one run — sketch parts
 * (W adds, Y's row blocks join), gram parts (pairwise mean / scatter update) or corange parts (sums).
 * Associative and commutative up to roundoff, so a scheduler may reduce in any tree.
 */
import { UsageError } from './args.js';
import { fmtMs, type Command, type Context } from './context.js';
import {
  checkDisjoint,
  checkSame,
  PartError,
  PartWriter,
  readPart,
  readPartMatrix,
  sumF64,
  type Part,
  type RowRange,
  type SketchBlock,
} from './parts.js';
import { report, shardFlags, shown } from './shard.js';

export const command: Command = {
  name: 'merge',
  summary: 'combine sketch, gram or corange parts of disjoint rows (any tree of merges gives the same result)',
  description: [
    'Merges part folders of one run: sketch parts (from lowrank sketch: W adds, the row blocks of Y and',
    "of the test sketch join; the merged part refers to the inputs' Y files, so keep them until finish),",
    'gram parts (lowrank gram: counts add, means and centered scatters combine by the pairwise update of',
    'Chan, Golub and LeVeque) or corange parts (lowrank pass corange: the sums A^T Q add). Parts with',
    'different seeds or sizes, or holding the same rows, are refused with both names.',
  ].join('\n'),
  positionals: [{ name: 'parts', description: 'part folders (at least one)', variadic: true }],
  flags: [...shardFlags(false), { name: 'out', short: 'o', type: 'string', value: 'DIR', description: 'output part folder (required)' }],
  examples: ['lowrank merge parts/0 parts/1 parts/2 --out merged', 'lowrank merge merged-a merged-b --out merged'],
  async run(ctx: Context): Promise<number> {
    const t0 = performance.now();
    if (ctx.positionals.length === 0) throw new UsageError('give the part folders to merge');
    const outFlag = ctx.flag<string | undefined>('out');
    if (outFlag === undefined) throw new UsageError('--out DIR is required');
    const parts: Part[] = [];
    for (const a of ctx.positionals) parts.push(await readPart(ctx.resolve(a), shown(a), ['sketch', 'gram', 'corange']));
    const kind = parts[0].meta.kind;
    for (const p of parts)
      if (p.meta.kind !== kind)
        throw new PartError(`${parts[0].name} is a '${kind}' part and ${p.name} a '${p.meta.kind}' part: merge parts of one kind`);
    const files = { sketch: ['W.npy'], gram: ['mean.npy', 'scatter.npy'], corange: ['P.npy'] };
    const out = await PartWriter.open(ctx, files[kind as keyof typeof files]);
    for (const p of parts) if (p.dir === out.dir) throw new UsageError(`--out ${outFlag} is one of the inputs; write the merge elsewhere`);
    const rows = await MERGE[kind as 'sketch' | 'gram' | 'corange'](parts, out);
    report(ctx, `merged ${parts.length} ${kind} parts (${rows} rows) in ${fmtMs(performance.now() - t0)} -> ${out.dir}`, {
      kind,
      out: out.dir,
      parts: parts.length,
      rows,
    });
    return 0;
  },
};

function rangesOf(p: Part): RowRange[] {
  return (p.meta.ranges as RowRange[] | undefined) ?? [];
}
function sourcesOf(p: Part): string[] {
  return (p.meta.sources as string[] | undefined) ?? [];
}

const MERGE: Record<'sketch' | 'gram' | 'corange', (parts: Part[], out: PartWriter) => Promise<number>> = {
  async sketch(parts, out) {
    checkSame(parts, ['rng', 'seed', 'rank', 'rangeSize', 'corangeSize', 'testSize', 'rows', 'cols', 'dtype']);
    const blocksOf = (p: Part): SketchBlock[] => p.meta.blocks as SketchBlock[];
    checkDisjoint(
      parts.map((p) => ({
        name: p.name,
        ranges: blocksOf(p).map((b): RowRange => [b.row, b.row + b.rows]),
        sources: blocksOf(p).map((b) => b.source),
      })),
    );
    const Ws = [];
    for (const p of parts) Ws.push((await readPartMatrix(p, 'W.npy')).data);
    const m = parts[0].meta;
    const W = sumF64(Ws);
    await out.npy('W.npy', W, [m.corangeSize as number, m.cols as number], m.dtype as 'f32' | 'f64');
    const blocks = parts.flatMap(blocksOf).sort((a, b) => a.row - b.row);
    const sumSquares = parts.reduce((s, p) => s + (p.meta.sumSquares as number), 0);
    const { format: _f, version: _v, kind: _k, lowrank: _l, ...rest } = m;
    await out.meta('sketch', { ...rest, sumSquares, blocks });
    return blocks.reduce((s, b) => s + b.rows, 0);
  },

  async gram(parts, out) {
    checkSame(parts, ['cols']);
    checkDisjoint(parts.map((p) => ({ name: p.name, ranges: rangesOf(p), sources: sourcesOf(p) })));
    const n = parts[0].meta.cols as number;
    let count = 0;
    let mean = new Float64Array(n);
    let scatter = new Float64Array(n * n);
    for (const p of parts) {
      const nb = p.meta.count as number;
      const mb = (await readPartMatrix(p, 'mean.npy')).data;
      const sb = (await readPartMatrix(p, 'scatter.npy')).data;
      if (mb.length !== n || sb.length !== n * n) throw new PartError(`${p.name}: mean.npy / scatter.npy do not match its ${n} columns`);
      if (count === 0) {
        mean = Float64Array.from(mb);
        scatter = Float64Array.from(sb);
        count = nb;
        continue;
      }
      // Chan, Golub, LeVeque: M2 = M2a + M2b + d d^T na nb / (na + nb), d = mean_b - mean_a
      const tot = count + nb;
      const d = new Float64Array(n);
      for (let j = 0; j < n; j++) d[j] = mb[j] - mean[j];
      const f = (count * nb) / tot;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) scatter[i * n + j] += sb[i * n + j] + f * d[i] * d[j];
      for (let j = 0; j < n; j++) mean[j] += (d[j] * nb) / tot;
      count = tot;
    }
    await out.npy('mean.npy', mean, [n], 'f64');
    await out.npy('scatter.npy', scatter, [n, n], 'f64');
    await out.meta('gram', {
      count,
      cols: n,
      dtype: parts[0].meta.dtype,
      ranges: parts.flatMap(rangesOf),
      sources: parts.flatMap(sourcesOf),
    });
    return count;
  },

  async corange(parts, out) {
    checkSame(parts, ['cols', 'size', 'dtype']);
    checkDisjoint(parts.map((p) => ({ name: p.name, ranges: rangesOf(p), sources: sourcesOf(p) })));
    const Ps = [];
    for (const p of parts) Ps.push((await readPartMatrix(p, 'P.npy')).data);
    const m = parts[0].meta;
    await out.npy('P.npy', sumF64(Ps), [m.cols as number, m.size as number], 'f64');
    const count = parts.reduce((s, p) => s + (p.meta.count as number), 0);
    await out.meta('corange', {
      cols: m.cols,
      size: m.size,
      dtype: m.dtype,
      count,
      sumSquares: parts.reduce((s, p) => s + (p.meta.sumSquares as number), 0),
      ranges: parts.flatMap(rangesOf),
      sources: parts.flatMap(sourcesOf),
    });
    return count;
  },
};
