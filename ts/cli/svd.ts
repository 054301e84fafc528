/**
 * `lowrank svd <input> --rank K --out DIR`: randomized SVD of a .npy (dense) or .mtx (sparse or dense)
 * matrix. Writes U.npy (m x k), S.npy (k), V.npy (n x k), spectrum.svg and with --center mean.npy
 * (n); a progress bar on stderr follows the passes over the data (or the rows read, with --stream).
 */
import path from 'node:path';
import { rsvd, type RsvdOptions } from '../algorithms/rsvd/rsvd.js';
import { rsvdStream, type SketchErrorEstimate } from '../algorithms/rsvd/sketch.js';
import { svdError } from '../algorithms/rsvd/error.js';
import type { Engine } from '../engine.js';
import { readNpyHeader } from '../io/npy.js';
import type { Mat, SparseMat } from '../mat.js';
import { UsageError } from './args.js';
import { fmtMs, fmtNum, type Command, type Context, type InputRef, type OutputDir } from './context.js';
import type { LoadedMatrix } from './files.js';
import { inputBytes } from './memory.js';
import { writePlotSvg } from './svg.js';

function parseIters(raw: string): number | 'auto' {
  if (raw === 'auto') return 'auto';
  const q = Number(raw);
  if (!Number.isInteger(q) || q < 0 || q > 1000) throw new Error(`expected 'auto' or an integer in [0, 1000], got ${JSON.stringify(raw)}`);
  return q;
}

export const command: Command = {
  name: 'svd',
  summary: 'randomized truncated SVD of a .npy or .mtx matrix; writes U.npy, S.npy, V.npy, spectrum.svg',
  description: [
    'Computes the rank-K truncated SVD A ~ U diag(S) V^T with the randomized range finder (subspace',
    'iteration, or block Krylov with --method krylov) on the chosen backend. A .mtx coordinate file is',
    'used as a sparse matrix (CSR products, never densified); .npy and .mtx array files are dense.',
    'With --stream a .npy file is read once, in row blocks, into a single-pass sketch (Tropp et al.),',
    'so it may be larger than memory; the answer is less accurate than the multi-pass default, and poor',
    "when the spectrum's tail carries most of ||A||_F: an a-posteriori error estimate (10 extra Gaussian",
    'test vectors) is printed with --error, and a warning when it is poor.',
    "Signs follow sklearn's svd_flip (the largest-|.| entry of each column of U is positive).",
    '',
    'With --center (PCA) mean.npy holds the column means mu, so new rows x project as (x - mu) V.',
    'The arrays are written in the input dtype (float64 in, float64 out) unless --dtype.',
  ].join('\n'),
  positionals: [{ name: 'input', description: "matrix file: .npy (2-D; float, integer or bool) or .mtx (Matrix Market); '-' reads stdin" }],
  flags: [
    { name: 'rank', short: 'k', type: 'int', min: 1, value: 'K', description: 'target rank (required), 1 <= K <= min(m, n)' },
    { name: 'out', short: 'o', type: 'string', value: 'DIR', description: 'output folder (created if needed; required)' },
    {
      name: 'method',
      type: 'choice',
      choices: ['subspace', 'krylov'],
      description:
        "range finder: block Krylov (the default) or subspace (power) iteration; with --power-iters 'auto' both stop by the a-posteriori rule",
    },
    { name: 'oversample', short: 'p', type: 'int', min: 0, value: 'P', description: 'oversampling (default 10)' },
    {
      name: 'power-iters',
      short: 'q',
      type: 'string',
      value: 'Q',
      parse: parseIters,
      description: "power or Krylov iterations, or 'auto' (default: adaptive, stops when the Ritz values settle; at most sklearn's count)",
    },
    {
      name: 'normalizer',
      type: 'choice',
      choices: ['auto', 'qr', 'cholqr2', 'lu', 'none'],
      default: 'auto',
      description: 'normalizer between products',
    },
    {
      name: 'center',
      type: 'boolean',
      default: false,
      description: 'PCA: subtract the column means implicitly (never formed); writes them to mean.npy',
    },
    { name: 'stream', type: 'boolean', default: false, description: 'single pass over a .npy file in row blocks (bounded memory)' },
    { name: 'block-rows', type: 'int', min: 1, value: 'N', description: 'rows per block with --stream (default: about 32 MiB per block)' },
    { name: 'seed', type: 'int', min: 0, default: 0, value: 'S', description: 'seed of the random test matrices' },
    {
      name: 'error',
      type: 'boolean',
      default: false,
      description:
        'also estimate ||A - U S V^T|| (spectral by 20 power iterations, and Frobenius; with --stream the a-posteriori Frobenius estimate)',
    },
  ],
  examples: [
    'lowrank svd A.npy --rank 50 --out result',
    'lowrank svd ratings.mtx --rank 20 --method krylov --out result',
    'lowrank svd huge.npy --rank 10 --stream --out result --backend native',
  ],
  async run(ctx: Context): Promise<number> {
    const k = ctx.flag<number | undefined>('rank');
    if (k === undefined) throw new UsageError('--rank is required');
    if (ctx.flag<string | undefined>('out') === undefined) throw new UsageError('--out DIR is required');
    const stream = ctx.flag<boolean>('stream');
    if (stream && ctx.positionals[0] === '-')
      throw new UsageError('--stream reads a .npy file in row blocks; it cannot read stdin (drop --stream)');
    if (!stream && ctx.args.given.has('block-rows')) throw new UsageError('--block-rows needs --stream');
    if (stream) {
      for (const f of ['method', 'oversample', 'power-iters', 'normalizer', 'center'])
        if (ctx.args.given.has(f)) throw new UsageError(`--${f} does not apply to --stream (single-pass sketch)`);
    }
    const inp = await ctx.input(ctx.positionals[0]);
    if (stream && inp.format !== 'npy') throw new UsageError('--stream reads .npy files (a .mtx file is loaded whole; drop --stream)');
    await checkSvdMemory(ctx, inp, k, stream);
    const files = ['U.npy', 'S.npy', 'V.npy', 'spectrum.svg', ...(ctx.flag<boolean>('center') ? ['mean.npy'] : [])];
    const out = await ctx.outputs('out', files);
    let loaded: LoadedMatrix | undefined;
    if (!stream) {
      loaded = await ctx.readMatrix(inp);
      if (k > Math.min(loaded.rows, loaded.cols))
        throw new UsageError(
          `--rank ${k} exceeds min(m, n) = ${Math.min(loaded.rows, loaded.cols)} for a ${loaded.rows} x ${loaded.cols} matrix`,
        );
    }
    const eng = await ctx.openEngine();
    try {
      return await runSvd(ctx, eng, inp, loaded, out, k, stream);
    } finally {
      await eng.dispose();
    }
  },
};

/** Refuses before loading anything when the declared sizes need more than --max-memory. */
async function checkSvdMemory(ctx: Context, inp: InputRef, k: number, stream: boolean): Promise<void> {
  const d = inp.declared;
  if (!d) return; // stdin, or the loader reports the unreadable header
  const { rows: m, cols: n } = d;
  const e = ctx.elemBytes;
  const kk = Math.min(k, m, n);
  const what = `svd of the ${m} x ${n} matrix in ${inp.shown} at rank ${k}`;
  if (stream) {
    const rk = 2 * kk + 1,
      l = 2 * rk + 1,
      s = 10;
    const blockRows = ctx.flag<number | undefined>('block-rows') ?? Math.max(1, Math.floor((32 << 20) / (n * d.fileBytes)));
    ctx.checkMemory(what, {
      'row block': 2 * Math.min(m, blockRows) * n * (d.fileBytes + e),
      'range and test sketches (m x k, m x s)': e * m * (3 * rk + 2 * s),
      'co-range sketch (l x n)': 2 * e * l * n,
      'factors U, V': 2 * e * (m + n) * kk,
    });
    return;
  }
  const p = ctx.args.given.has('oversample') ? ctx.flag<number>('oversample') : 10;
  const q = ctx.flag<number | 'auto' | undefined>('power-iters');
  const l = Math.min(kk + p, m, n);
  // 'auto' may run to its cap (sklearn's count: 7, or 4 when k >= 0.1 min(m, n)); Krylov keeps every block
  const qMax = typeof q === 'number' ? q : kk < 0.1 * Math.min(m, n) ? 7 : 4;
  const width = (ctx.flag<string | undefined>('method') ?? 'krylov') === 'krylov' ? Math.min(l * (qMax + 1), m, n) : l;
  ctx.checkMemory(what, {
    input: inputBytes(d, e),
    'dense blocks (m x l, n x l)': 3 * e * (m + n) * width,
    'Gram and small factors (l x l)': 2 * e * width * width,
    'factors U, V': 2 * e * (m + n) * kk,
  });
}

async function runSvd(
  ctx: Context,
  eng: Engine,
  inp: InputRef,
  loaded: LoadedMatrix | undefined,
  out: OutputDir,
  k: number,
  stream: boolean,
): Promise<number> {
  const input = inp.file ?? '-';
  const name = inp.file ? path.basename(inp.file) : 'stdin';
  let mean: Float64Array | undefined;
  const seed = ctx.flag<number>('seed');
  const t0 = performance.now();
  let U: Mat, S: Float64Array, V: Mat;
  let A: Mat | SparseMat | null = null;
  let m: number, n: number;
  let what: string;
  let streamError: SketchErrorEstimate | undefined;
  if (stream || !loaded) {
    const h = await readNpyHeader(input);
    if (h.ndim !== 2) throw new Error(`${inp.shown}: expected a 2-D array, got a 1-D one of length ${h.shape[0]}`);
    [m, n] = h.shape;
    if (k > Math.min(m, n)) throw new UsageError(`--rank ${k} exceeds min(m, n) = ${Math.min(m, n)} for a ${m} x ${n} matrix`);
    const bar = ctx.progress({ total: m, label: 'stream', unit: 'rows' });
    const blockRows = ctx.flag<number | undefined>('block-rows');
    const r = await rsvdStream(input, {
      engine: eng,
      rank: k,
      seed,
      ...(blockRows ? { blockRows } : {}),
      onProgress: (p) => bar.update(p.rows),
    });
    bar.finish();
    ({ U, S, V } = r);
    what = `single-pass sketch, range ${r.info.rangeSize}, co-range ${r.info.corangeSize}, ${r.info.blocks} blocks, 1 pass`;
    streamError = r.info.errorEstimate;
  } else {
    ({ rows: m, cols: n } = loaded);
    if (ctx.flag<boolean>('center')) mean = columnMeans(loaded);
    A =
      loaded.kind === 'dense'
        ? eng.matrix(loaded.data, loaded.rows, loaded.cols)
        : eng.sparse({ rows: loaded.rows, cols: loaded.cols, row: loaded.row, col: loaded.col, val: loaded.val });
    const opts: RsvdOptions = { rank: k, seed, normalizer: ctx.flag('normalizer'), center: ctx.flag('center') };
    if (ctx.args.given.has('method')) opts.method = ctx.flag('method');
    if (ctx.args.given.has('oversample')) opts.oversample = ctx.flag<number>('oversample');
    if (ctx.args.given.has('power-iters')) opts.powerIters = ctx.flag<number | 'auto'>('power-iters');
    const bar = ctx.progress({ label: 'passes', unit: 'passes' });
    opts.onPass = (p) => bar.update(p.pass, p.passes, `${p.stage}`);
    const r = await rsvd(A, opts);
    bar.finish();
    ({ U, S, V } = r);
    const i = r.info;
    const st = i.stop;
    const stopped = st
      ? `, stopped (${st.reason}) after ${st.iters} of at most ${st.cap} iterations, estimated change left ${fmtNum(st.estimate)} (tol ${fmtNum(st.tolerance)})`
      : '';
    what = `${i.method}, q = ${i.powerIters}, p = ${i.oversample}, normalizer ${i.normalizer}, ${i.passes} passes, ${i.matvecs} matvecs${A && 'nnz' in A ? `, sparse (nnz ${A.nnz})` : ''}${stopped}`;
    if (st) ctx.report({ stop: { ...st, estimate: Number.isFinite(st.estimate) ? st.estimate : null } });
  }
  const ms = performance.now() - t0;
  const [u, v] = [await U.toArray(), await V.toArray()];
  await ctx.writeNpy(out.path('U.npy'), u, [m, S.length]);
  await ctx.writeNpy(out.path('S.npy'), S, [S.length]);
  await ctx.writeNpy(out.path('V.npy'), v, [n, S.length]);
  if (mean) await ctx.writeNpy(out.path('mean.npy'), mean, [n]);
  await writePlotSvg(out.path('spectrum.svg'), [{ name: 'sigma_i', y: S, style: 'line+markers' }], {
    title: `Leading singular values of ${name} (${m} x ${n}, rank ${S.length})`,
    xLabel: 'i',
    yLabel: 'sigma_i',
    logY: S.every((s) => s > 0),
  });
  ctx.wrote(out.path('spectrum.svg'));
  ctx.report({ rows: m, cols: n, rank: S.length, seconds: ms / 1000, method: what, singularValues: Array.from(S) });
  ctx.out(`${name}: ${m} x ${n}, rank ${S.length} on ${eng.backend}/${eng.dtype} in ${fmtMs(ms)}`);
  ctx.out(`  ${what}`);
  const show = Array.from(S.subarray(0, Math.min(10, S.length)), (s) => fmtNum(s, 5)).join(', ');
  ctx.out(`  sigma: ${show}${S.length > 10 ? ', ...' : ''}`);
  if (streamError?.warning) ctx.warn(streamError.warning);
  if (ctx.flag<boolean>('error')) {
    if (!A) {
      const e = streamError!;
      ctx.report({ error: { relFroEstimate: e.relFro, normFro: e.normFro, testVectors: e.testSize } });
      ctx.out(
        `  ||A - U S V^T||_F / ||A||_F ~ ${fmtNum(e.relFro)} (a-posteriori estimate from ${e.testSize} Gaussian test vectors${e.testSize === 10 ? ', within 0.57 .. 1.43 times the truth with 95 % probability' : ''}), ||A||_F = ${fmtNum(e.normFro)}`,
      );
    } else {
      const act = ctx.activity('estimating the error');
      try {
        const e = await svdError(A, { U, S, V });
        ctx.report({ error: { relFro: e.relResidualFro, spectral: e.residualSpectral, orthU: e.orthU } });
        ctx.out(
          `  ||A - U S V^T||_F / ||A||_F = ${fmtNum(e.relResidualFro)}, ||A - U S V^T||_2 ~ ${fmtNum(e.residualSpectral)} (power iteration), ||U^T U - I||_F = ${fmtNum(e.orthU)}`,
        );
      } finally {
        act.stop();
      }
    }
  }
  ctx.out(`  wrote ${ctx.written.join(', ')}`);
  for (const x of [U, V, A]) x?.dispose();
  return 0;
}

/** Column means of a loaded matrix (sums in f64), for mean.npy. */
function columnMeans(a: LoadedMatrix): Float64Array {
  const mu = new Float64Array(a.cols);
  if (a.kind === 'dense') {
    for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) mu[j] += a.data[i * a.cols + j];
  } else for (let q = 0; q < a.val.length; q++) mu[a.col[q]] += a.val[q];
  for (let j = 0; j < a.cols; j++) mu[j] /= a.rows;
  return mu;
}
