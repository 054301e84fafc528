/**
 * `lowrank pass <step>`: the steps of the multi-pass sharded randomized SVD (see
 * ts/algorithms/rsvd/sharded.ts): `range` and `corange` map over the shards, `tsqr` and `basis` are
 * small reductions, `u` writes a shard's rows of U. `lowrank merge` sums corange parts and
 * `lowrank finish` turns the last sum into S, V and the coefficients of U.
 */
import path from 'node:path';
import { shardBasisRows, shardCorange, shardNextBasis, shardRange, shardTestMatrix, tsqrReduce } from '../algorithms/rsvd/sharded.js';
import { disposeAll } from '../algorithms/common.js';
import type { Engine } from '../engine.js';
import type { Mat } from '../mat.js';
import type { DType } from '../types.js';
import { UsageError } from './args.js';
import { fmtMs, type Command, type Context } from './context.js';
import { checkSame, PartError, PartWriter, readPart, readPartMatrix, RNG_ID, type Part } from './parts.js';
import { closeEngine, openEngineFor, report, shardFlags, shardInfo, shardOnEngine, shown } from './shard.js';

const STEPS = ['range', 'tsqr', 'corange', 'basis', 'u'] as const;
type Step = (typeof STEPS)[number];

export const command: Command = {
  name: 'pass',
  summary: 'one step of the multi-pass sharded randomized SVD (range, tsqr, corange, basis, u)',
  description: [
    'The power-iteration randomized SVD of a matrix held as row shards, one step per invocation, so that',
    'a scheduler (Dask: integrations/dask/lowrank_dask.py) can run each anywhere; only part folders move:',
    '  range SHARD (--seed S --size L | --basis DIR)   Y_i = A_i X and its QR (X: Omega or a basis)',
    '  tsqr RANGE...                                    QR of the stacked R_i: the blocks Qhat_i',
    '  corange SHARD --range DIR --tsqr DIR             P_i = A_i^T Q_i Qhat_i (sum them with merge)',
    "  basis SUM                                        X = orth(sum P_i), the next iteration's basis",
    "  u --range DIR --tsqr DIR --finish DIR            the shard's rows of U (after finish)",
    'q power iterations: (range, tsqr, corange, merge, basis) q times from the seed, then range, tsqr,',
    'corange, merge, finish and u: 2q + 2 passes over the data, the same result as the in-memory rsvd',
    'with the same q, oversampling and seed (the test matrix is randn(n, L, seed) in both).',
  ].join('\n'),
  positionals: [
    { name: 'step', description: `one of ${STEPS.join(', ')}` },
    { name: 'inputs', description: 'shard file (range, corange) or part folders (tsqr, basis)', variadic: true },
  ],
  flags: [
    ...shardFlags(true),
    { name: 'seed', type: 'int', min: 0, value: 'S', description: 'range: seed of the Gaussian start (first iteration)' },
    { name: 'size', type: 'int', min: 1, value: 'L', description: 'range: columns of the start, rank + oversampling' },
    { name: 'basis', type: 'string', value: 'DIR', description: "range: a 'basis' part (later iterations)" },
    { name: 'range', type: 'string', value: 'DIR', description: "corange, u: the shard's 'range' part" },
    { name: 'tsqr', type: 'string', value: 'DIR', description: "corange, u: the 'tsqr' part of that iteration" },
    { name: 'finish', type: 'string', value: 'DIR', description: "u: the 'finish' part" },
    { name: 'out', short: 'o', type: 'string', value: 'DIR', description: 'output part folder (required)' },
  ],
  examples: [
    'lowrank pass range shard-0.npy --seed 0 --size 60 --row-offset 0 --out it0/range-0',
    'lowrank pass tsqr it0/range-0 it0/range-1 --out it0/tsqr',
    'lowrank pass corange shard-0.npy --range it0/range-0 --tsqr it0/tsqr --out it0/co-0',
    'lowrank merge it0/co-0 it0/co-1 --out it0/sum && lowrank pass basis it0/sum --out it0/basis',
  ],
  async run(ctx: Context): Promise<number> {
    const [stepArg, ...inputs] = ctx.positionals;
    if (!(STEPS as readonly string[]).includes(stepArg)) throw new UsageError(`unknown step '${stepArg}'; steps: ${STEPS.join(', ')}`);
    const step = stepArg as Step;
    const outFlag = ctx.flag<string | undefined>('out');
    if (outFlag === undefined) throw new UsageError('--out DIR is required');
    const allowed: Record<Step, string[]> = {
      range: ['seed', 'size', 'basis', 'row-offset'],
      tsqr: [],
      corange: ['range', 'tsqr', 'row-offset'],
      basis: [],
      u: ['range', 'tsqr', 'finish'],
    };
    for (const f of ['seed', 'size', 'basis', 'range', 'tsqr', 'finish', 'row-offset'])
      if (ctx.args.given.has(f) && !allowed[step].includes(f)) throw new UsageError(`--${f} does not apply to 'pass ${step}'`);
    const want = step === 'range' || step === 'corange' || step === 'basis' ? 1 : step === 'u' ? 0 : -1;
    if (want >= 0 && inputs.length !== want)
      throw new UsageError(`'pass ${step}' takes ${want === 0 ? 'no positional input' : 'one input'}, got ${inputs.length}`);
    if (step === 'tsqr' && inputs.length === 0) throw new UsageError(`'pass tsqr' needs the range parts of every shard, in row order`);
    const files: Record<Step, string[]> = {
      range: ['Q.npy', 'R.npy'],
      tsqr: inputs.map((_, i) => `Qhat-${i}.npy`),
      corange: ['P.npy'],
      basis: ['X.npy'],
      u: ['U.npy'],
    };
    const out = await PartWriter.open(ctx, files[step]);
    const t0 = performance.now();
    const summary = await STEP_RUN[step](ctx, inputs, out);
    report(ctx, `pass ${step}: ${summary.line} in ${fmtMs(performance.now() - t0)} -> ${out.dir}`, { step, out: out.dir, ...summary.json });
    return 0;
  },
};

interface StepSummary {
  line: string;
  json: Record<string, unknown>;
}

function required(ctx: Context, flag: string, step: Step): string {
  const v = ctx.flag<string | undefined>(flag);
  if (v === undefined) throw new UsageError(`'pass ${step}' needs --${flag} DIR`);
  return v;
}

async function part(ctx: Context, arg: string, kinds: Parameters<typeof readPart>[2]): Promise<Part> {
  return readPart(ctx.resolve(arg), shown(arg), kinds);
}

async function partMat<D extends DType>(eng: Engine<D>, p: Part, file: string): Promise<Mat<D>> {
  const a = await readPartMatrix(p, file);
  return eng.matrix(a.data, a.rows, a.cols);
}

/** The Qhat block of a range part in a tsqr part. */
function tsqrFile(t: Part, r: Part): string {
  const blocks = t.meta.parts as { range: string; file: string }[];
  const b = blocks.find((x) => x.range === r.dir);
  if (!b) throw new PartError(`${t.name} was not computed from ${r.name} (run 'pass tsqr' over this iteration's range parts)`);
  return b.file;
}

const STEP_RUN: Record<Step, (ctx: Context, inputs: string[], out: PartWriter) => Promise<StepSummary>> = {
  async range(ctx, inputs, out) {
    const basisArg = ctx.flag<string | undefined>('basis');
    const seed = ctx.flag<number | undefined>('seed');
    const size = ctx.flag<number | undefined>('size');
    if (basisArg === undefined && (seed === undefined || size === undefined))
      throw new UsageError(`'pass range' needs --seed S --size L (first iteration) or --basis DIR (later ones)`);
    if (basisArg !== undefined && (seed !== undefined || size !== undefined))
      throw new UsageError(`'pass range' takes either --basis or --seed/--size, not both`);
    const basis = basisArg === undefined ? undefined : await part(ctx, basisArg, ['basis']);
    const shard = await shardInfo(ctx, inputs[0]);
    const eng = await openEngineFor(ctx, shard.dtype);
    try {
      let X: Mat;
      if (basis) {
        X = await partMat(eng, basis, 'X.npy');
        if (X.rows !== shard.cols) {
          X.dispose();
          throw new PartError(`${basis.name} is a basis for ${X.rows} columns; ${shard.name} has ${shard.cols}`);
        }
      } else {
        if ((size as number) > shard.cols) throw new UsageError(`--size ${size} exceeds the ${shard.cols} columns of ${shard.name}`);
        X = shardTestMatrix(eng, shard.cols, size as number, seed as number);
      }
      const l = X.cols;
      let r: Awaited<ReturnType<typeof shardRange>>;
      let A: Awaited<ReturnType<typeof shardOnEngine>> | undefined;
      try {
        A = await shardOnEngine(ctx, eng, shard);
        r = await shardRange(eng, A.A, X, await A.sumSquares());
      } finally {
        A?.release();
        X.dispose();
      }
      try {
        if (r.Q) await out.npy('Q.npy', await r.Q.toArray(), [r.Q.rows, r.Q.cols]);
        await out.npy('R.npy', await r.R.toArray(), [r.R.rows, r.R.cols]);
      } finally {
        disposeAll(r.Q, r.R);
      }
      const r0 = ctx.flag<number | undefined>('row-offset');
      await out.meta('range', {
        rng: RNG_ID,
        ...(basis ? { basis: basis.dir } : { seed }),
        rows: shard.rows,
        cols: shard.cols,
        size: l,
        dtype: eng.dtype,
        hasQ: r.Q !== null,
        sumSquares: r.sumSquares,
        ranges: r0 === undefined ? [] : [[r0, r0 + shard.rows]],
        sources: [shard.path],
      });
      return { line: `${shard.name} (${shard.rows} x ${shard.cols}), ${l} columns`, json: { rows: shard.rows, cols: shard.cols, size: l } };
    } finally {
      await closeEngine(ctx, eng);
    }
  },

  async tsqr(ctx, inputs, out) {
    const parts = [];
    for (const a of inputs) parts.push(await part(ctx, a, ['range']));
    checkSame(parts, ['cols', 'size', 'dtype']);
    const dirs = new Set<string>();
    for (const p of parts) {
      if (dirs.has(p.dir)) throw new PartError(`${p.name} is given twice`);
      dirs.add(p.dir);
    }
    const eng = await openEngineFor(ctx, parts[0].meta.dtype as DType);
    try {
      const Rs: Mat[] = [];
      try {
        for (const p of parts) Rs.push(await partMat(eng, p, 'R.npy'));
        const { blocks, R } = await tsqrReduce(eng, Rs);
        R.dispose();
        const files = [];
        try {
          for (const [i, b] of blocks.entries())
            files.push({ range: parts[i].dir, file: await out.npy(`Qhat-${i}.npy`, await b.toArray(), [b.rows, b.cols]) });
        } finally {
          disposeAll(...blocks);
        }
        await out.meta('tsqr', { cols: parts[0].meta.cols, size: parts[0].meta.size, dtype: eng.dtype, parts: files });
      } finally {
        disposeAll(...Rs);
      }
      return { line: `${parts.length} range parts`, json: { parts: parts.length } };
    } finally {
      await closeEngine(ctx, eng);
    }
  },

  async corange(ctx, inputs, out) {
    const r = await part(ctx, required(ctx, 'range', 'corange'), ['range']);
    const t = await part(ctx, required(ctx, 'tsqr', 'corange'), ['tsqr']);
    const qhatFile = tsqrFile(t, r);
    const shard = await shardInfo(ctx, inputs[0]);
    if (shard.rows !== r.meta.rows || shard.cols !== r.meta.cols)
      throw new PartError(
        `${r.name} was computed from a ${String(r.meta.rows)} x ${String(r.meta.cols)} shard; ${shard.name} is ${shard.rows} x ${shard.cols}`,
      );
    const eng = await openEngineFor(ctx, r.meta.dtype as DType);
    try {
      const Q = r.meta.hasQ ? await partMat(eng, r, 'Q.npy') : null;
      const Qhat = await partMat(eng, t, qhatFile);
      let P: Mat;
      let A: Awaited<ReturnType<typeof shardOnEngine>> | undefined;
      try {
        A = await shardOnEngine(ctx, eng, shard);
        P = await shardCorange(eng, A.A, Q, Qhat);
      } finally {
        A?.release();
        disposeAll(Q, Qhat);
      }
      const p = await P.toArray();
      P.dispose();
      await out.npy('P.npy', p, [shard.cols, r.meta.size as number], 'f64');
      const r0 = ctx.flag<number | undefined>('row-offset');
      await out.meta('corange', {
        cols: shard.cols,
        size: r.meta.size,
        dtype: eng.dtype,
        count: shard.rows,
        sumSquares: r.meta.sumSquares,
        ranges: r0 === undefined ? r.meta.ranges : [[r0, r0 + shard.rows]],
        sources: [shard.path],
      });
      return { line: `${shard.name}`, json: { rows: shard.rows, cols: shard.cols } };
    } finally {
      await closeEngine(ctx, eng);
    }
  },

  async basis(ctx, inputs, out) {
    const s = await part(ctx, inputs[0], ['corange']);
    const eng = await openEngineFor(ctx, s.meta.dtype as DType);
    try {
      const P = await partMat(eng, s, 'P.npy');
      const X = await shardNextBasis(eng, P).finally(() => P.dispose());
      await out.npy('X.npy', await X.toArray(), [X.rows, X.cols]);
      X.dispose();
      await out.meta('basis', { cols: s.meta.cols, size: s.meta.size, dtype: eng.dtype, from: s.dir });
      return { line: `${String(s.meta.cols)} x ${String(s.meta.size)} basis`, json: { cols: s.meta.cols, size: s.meta.size } };
    } finally {
      await closeEngine(ctx, eng);
    }
  },

  async u(ctx, _inputs, out) {
    const r = await part(ctx, required(ctx, 'range', 'u'), ['range']);
    const t = await part(ctx, required(ctx, 'tsqr', 'u'), ['tsqr']);
    const f = await part(ctx, required(ctx, 'finish', 'u'), ['finish']);
    const qhatFile = tsqrFile(t, r);
    const eng = await openEngineFor(ctx, r.meta.dtype as DType);
    try {
      const Q = r.meta.hasQ ? await partMat(eng, r, 'Q.npy') : null;
      const Qhat = await partMat(eng, t, qhatFile);
      const C = await partMat(eng, f, 'C.npy');
      let U: Mat;
      try {
        const Qi = await shardBasisRows(eng, Q, Qhat);
        U = await eng.matmul(Qi, C).finally(() => Qi.dispose());
      } finally {
        disposeAll(Q, Qhat, C);
      }
      await out.npy('U.npy', await U.toArray(), [U.rows, U.cols]);
      const rows = U.rows;
      const k = U.cols;
      U.dispose();
      await out.meta('u', { rows, rank: k, dtype: eng.dtype, ranges: r.meta.ranges, sources: r.meta.sources });
      return {
        line: `${path.basename(String((r.meta.sources as string[])[0] ?? r.name))}: ${rows} x ${k} rows of U`,
        json: { rows, rank: k },
      };
    } finally {
      await closeEngine(ctx, eng);
    }
  },
};
