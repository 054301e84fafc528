/**
 * `lowrank finish part/ --out result/`: the answer from a merged part — a sketch (U, S, V and the
 * a-posteriori error estimate), a corange sum of the multi-pass route (S, V and the coefficients C of
 * U = Q C, for `lowrank pass u`), or a gram part (covariance, means, X^T X).
 */
import path from 'node:path';
import { shardFinish } from '../algorithms/rsvd/sharded.js';
import { RsvdSketch, type SketchState } from '../algorithms/rsvd/sketch.js';
import type { DType } from '../types.js';
import { UsageError } from './args.js';
import { fmtMs, fmtNum, type Command, type Context } from './context.js';
import { PartError, PartWriter, readPart, readPartMatrix, type Part, type SketchBlock } from './parts.js';
import { closeEngine, openEngineFor, report, shardFlags, shown } from './shard.js';

export const command: Command = {
  name: 'finish',
  summary: 'the result of a merged part: U, S, V (sketch), S, V, C (multi-pass) or the covariance (gram)',
  description: [
    'From a merged sketch part: U.npy (m x K), S.npy, V.npy (n x K) and result.json with the a-posteriori',
    'error estimate (sklearn svd_flip signs). From the merged corange part of the last multi-pass',
    "iteration: S.npy, V.npy and C.npy (U = Q C, written per shard by 'lowrank pass u'), the exact error",
    '||A - U S V^T||_F = sqrt(||A||_F^2 - sum S_i^2) and signs chosen on V (the largest entry of each',
    'column of V is positive: sklearn svd_flip with u_based_decision=False, as V is in one place). From a',
    'gram part: mean.npy, covariance.npy ((X - 1 mean^T)^T (X - 1 mean^T) / (N - ddof)) and gram.npy (X^T X).',
  ].join('\n'),
  positionals: [{ name: 'part', description: 'a merged sketch, corange or gram part folder' }],
  flags: [
    ...shardFlags(false),
    {
      name: 'rank',
      short: 'k',
      type: 'int',
      min: 1,
      value: 'K',
      description: "rank of the result (sketch: default the sketch's; corange: required)",
    },
    { name: 'ddof', type: 'int', min: 0, default: 1, value: 'D', description: 'gram: delta degrees of freedom of the covariance' },
    { name: 'out', short: 'o', type: 'string', value: 'DIR', description: 'output folder (required)' },
  ],
  examples: ['lowrank finish merged --out result', 'lowrank finish it2/sum --rank 50 --out it2/finish'],
  async run(ctx: Context): Promise<number> {
    const t0 = performance.now();
    const outFlag = ctx.flag<string | undefined>('out');
    if (outFlag === undefined) throw new UsageError('--out DIR is required');
    const p = await readPart(ctx.resolve(ctx.positionals[0]), shown(ctx.positionals[0]), ['sketch', 'corange', 'gram']);
    for (const f of ['rank', 'ddof'])
      if (ctx.args.given.has(f) && !(f === 'rank' ? p.meta.kind !== 'gram' : p.meta.kind === 'gram'))
        throw new UsageError(`--${f} does not apply to a '${p.meta.kind}' part`);
    const files = {
      sketch: ['U.npy', 'S.npy', 'V.npy'],
      corange: ['S.npy', 'V.npy', 'C.npy'],
      gram: ['mean.npy', 'covariance.npy', 'gram.npy'],
    };
    const out = await PartWriter.open(ctx, files[p.meta.kind as keyof typeof files]);
    const s = await FINISH[p.meta.kind as 'sketch' | 'corange' | 'gram'](ctx, p, out);
    report(ctx, `finish ${p.meta.kind}: ${s.line} in ${fmtMs(performance.now() - t0)} -> ${out.dir}`, {
      kind: p.meta.kind,
      out: out.dir,
      ...s.json,
    });
    if (typeof s.json.warning === 'string') ctx.warn(s.json.warning);
    return 0;
  },
};

interface Summary {
  line: string;
  json: Record<string, unknown>;
}

const FINISH: Record<'sketch' | 'corange' | 'gram', (ctx: Context, p: Part, out: PartWriter) => Promise<Summary>> = {
  async sketch(ctx, p, out) {
    const m = p.meta;
    const blocks = [...(m.blocks as SketchBlock[])].sort((a, b) => a.row - b.row);
    let next = 0;
    for (const b of blocks) {
      if (b.row > next) throw new PartError(`${p.name} lacks rows ${next}..${b.row - 1} (0-based): sketch and merge the missing shards`);
      next = b.row + b.rows;
    }
    if (next < (m.rows as number))
      throw new PartError(`${p.name} lacks rows ${next}..${(m.rows as number) - 1} (0-based) of ${String(m.rows)}`);
    const rangeSize = m.rangeSize as number;
    const rank = ctx.flag<number | undefined>('rank') ?? (m.rank as number);
    if (rank >= rangeSize) throw new UsageError(`--rank ${rank} must be below the sketch's range size ${rangeSize}`);
    const testSize = m.testSize as number;
    const Y = [];
    const Z = [];
    for (const b of blocks) {
      const y = await readPartMatrix(p, b.Y);
      if (y.rows !== b.rows || y.cols !== rangeSize)
        throw new PartError(`${p.name}: ${path.basename(b.Y)} is ${y.rows} x ${y.cols}, expected ${b.rows} x ${rangeSize}`);
      Y.push({ row: b.row, rows: b.rows, data: y.data });
      if (testSize > 0) {
        if (!b.Z) throw new PartError(`${p.name}: the block at row ${b.row} has no test sketch`);
        Z.push({ row: b.row, rows: b.rows, data: (await readPartMatrix(p, b.Z)).data });
      }
    }
    const eng = await openEngineFor(ctx, m.dtype as DType);
    try {
      const state: SketchState = {
        cols: m.cols as number,
        rows: m.rows as number,
        rank,
        rangeSize,
        corangeSize: m.corangeSize as number,
        seed: m.seed as number,
        dtype: eng.dtype,
        W: (await readPartMatrix(p, 'W.npy')).data,
        Y,
        testSize,
        Z,
        sumSquares: m.sumSquares as number,
      };
      const sk = await RsvdSketch.load(eng, state);
      try {
        const { U, S, V, info } = await sk.finalize();
        await out.npy('U.npy', await U.toArray(), [U.rows, U.cols]);
        await out.npy('S.npy', S, [S.length], eng.dtype);
        await out.npy('V.npy', await V.toArray(), [V.rows, V.cols]);
        U.dispose();
        V.dispose();
        const est = info.errorEstimate;
        const json = {
          rows: info.rows,
          cols: info.cols,
          rank: S.length,
          S: Array.from(S),
          ...(est ? { errorFro: est.fro, normFro: est.normFro, relFro: est.relFro, ...(est.warning ? { warning: est.warning } : {}) } : {}),
        };
        await out.meta('finish', { route: 'sketch', ...json });
        return {
          line: `${info.rows} x ${info.cols}, rank ${S.length}${est ? `, estimated ||A - U S V^T||_F / ||A||_F = ${fmtNum(est.relFro)}` : ''}`,
          json,
        };
      } finally {
        sk.dispose();
      }
    } finally {
      await closeEngine(ctx, eng);
    }
  },

  async corange(ctx, p, out) {
    const k = ctx.flag<number | undefined>('rank');
    if (k === undefined) throw new UsageError('--rank K is required for a corange part');
    const l = p.meta.size as number;
    if (k > l) throw new UsageError(`--rank ${k} exceeds the ${l} columns of the sketch`);
    const eng = await openEngineFor(ctx, p.meta.dtype as DType);
    try {
      const a = await readPartMatrix(p, 'P.npy');
      const P = eng.matrix(a.data, a.rows, a.cols);
      const { S, V, C } = await shardFinish(eng, P, k).finally(() => P.dispose());
      const v = await V.toArray();
      const c = await C.toArray();
      const n = V.rows;
      V.dispose();
      C.dispose();
      await out.npy('S.npy', S, [S.length], eng.dtype);
      await out.npy('V.npy', v, [n, S.length]);
      await out.npy('C.npy', c, [l, S.length]);
      const sumSquares = p.meta.sumSquares as number;
      let captured = 0;
      for (const s of S) captured += s * s;
      const normFro = Math.sqrt(sumSquares);
      const errorFro = Math.sqrt(Math.max(0, sumSquares - captured));
      const json = {
        rows: p.meta.count,
        cols: n,
        rank: S.length,
        S: Array.from(S),
        errorFro,
        normFro,
        relFro: normFro > 0 ? errorFro / normFro : 0,
      };
      await out.meta('finish', { route: 'multi-pass', size: l, dtype: eng.dtype, ...json });
      return { line: `${String(p.meta.count)} x ${n}, rank ${S.length}, ||A - U S V^T||_F / ||A||_F = ${fmtNum(json.relFro)}`, json };
    } finally {
      await closeEngine(ctx, eng);
    }
  },

  async gram(ctx, p, out) {
    const n = p.meta.cols as number;
    const N = p.meta.count as number;
    const ddof = ctx.flag<number>('ddof');
    if (N - ddof <= 0) throw new UsageError(`--ddof ${ddof} needs more than ${ddof} rows; the part has ${N}`);
    const mean = (await readPartMatrix(p, 'mean.npy')).data;
    const scatter = (await readPartMatrix(p, 'scatter.npy')).data;
    const cov = new Float64Array(n * n);
    const gram = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        cov[i * n + j] = scatter[i * n + j] / (N - ddof);
        gram[i * n + j] = scatter[i * n + j] + N * mean[i] * mean[j];
      }
    await out.npy('mean.npy', mean, [n], 'f64');
    await out.npy('covariance.npy', cov, [n, n], 'f64');
    await out.npy('gram.npy', gram, [n, n], 'f64');
    const json = { count: N, cols: n, ddof };
    await out.meta('finish', { route: 'gram', ...json });
    return { line: `${N} rows x ${n} columns: mean.npy, covariance.npy, gram.npy`, json };
  },
};
