/**
 * `lowrank compress model.safetensors --method lord|welore|svfit|trp ... --out out.safetensors`:
 * factorizes every selected weight of a checkpoint and writes a new safetensors file, one tensor at a
 * time (the input is never loaded whole, the output is streamed).
 *
 * Phases: (1) when the ranks depend on spectra (--energy, --method welore, trp), the singular values of
 * every selected tensor (svdvals, exact); the ranks follow (WeLore: one global tau by bisection);
 * (2) the output is written in the input's order, each selected tensor factorized when its turn comes,
 * the others copied byte for byte.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { energyKept, energyRank } from '../algorithms/model/spectrum.js';
import { lordFactorize } from '../algorithms/model/lord.js';
import { svfitInit } from '../algorithms/model/svfit.js';
import { weloreRanks } from '../algorithms/model/welore.js';
import type { Engine } from '../engine.js';
import {
  openSafetensors,
  writeSafetensors,
  type SafetensorsDType,
  type SafetensorsFile,
  type SafetensorsTensor,
} from '../io/safetensors.js';
import type { Mat } from '../mat.js';
import { UsageError } from './args.js';
import { fmtBytes, fmtMs, fmtNum, type Command, type Context } from './context.js';

const FLOAT_DTYPES: readonly SafetensorsDType[] = ['F32', 'F16', 'BF16', 'F64'];
type Method = 'lord' | 'welore' | 'svfit' | 'trp';

function parseRegex(raw: string): RegExp {
  try {
    return new RegExp(raw);
  } catch (e) {
    throw new Error(`not a regular expression: ${(e as Error).message}`);
  }
}

function parseFraction(raw: string): number {
  const x = Number(raw);
  if (!Number.isFinite(x) || x <= 0 || x > 1) throw new Error(`expected a number in (0, 1], got ${JSON.stringify(raw)}`);
  return x;
}

export const command: Command = {
  name: 'compress',
  summary: 'low-rank compression of a safetensors checkpoint (LORD, WeLore, SVFit, TRP)',
  description: [
    'Factorizes every selected weight W (2-D, or a conv kernel out x in x kh x kw read as',
    'out x in*kh*kw) of a .safetensors checkpoint as W ~ L R (L = U_r S_r^1/2, R = S_r^1/2 V_r^T, the',
    'optimal rank-r truncation) and writes a new file. Factorized tensors become NAME.L (out x r; a',
    'conv kernel: out x r x 1 x 1) and NAME.R (r x in; a conv kernel: r x in x kh x kw); --merge writes',
    'the dense truncation L R under NAME instead. A tensor whose factors would not be smaller than it',
    '(r (m + n) >= m n) stays dense. Other tensors are copied byte for byte; dtypes are kept.',
    'Methods: lord (--rank R or --energy E), trp (--energy, default 0.9: the smallest rank keeping',
    'that fraction of ||W||_F^2), welore (one global threshold tau on normalized spectra, by --target',
    'rank reduction or --tau; LLaMA-2 tables in the API), svfit (--energy, default 0.99, or --rank:',
    'writes NAME.U, NAME.sigma, NAME.V and NAME.residual with U diag(sigma) V^T + residual = W).',
    'Energy and WeLore ranks use full spectra (exact singular values). --svd randomized computes the',
    'factors by randomized SVD at the chosen rank (faster, not the optimal truncation).',
    'A table per tensor (kept rank, energy kept, relative error ||W - L R||_F / ||W||_F, parameters)',
    'and totals go to stdout (--json: one JSON object); progress to stderr. The input is read one',
    'tensor at a time; the output is written through a temporary file renamed at the end.',
  ].join('\n'),
  positionals: [{ name: 'model', description: 'checkpoint (.safetensors)' }],
  flags: [
    {
      name: 'method',
      short: 'm',
      type: 'choice',
      choices: ['lord', 'welore', 'svfit', 'trp'],
      default: 'lord',
      description: 'compression method',
    },
    { name: 'rank', short: 'r', type: 'int', min: 1, value: 'R', description: 'kept rank (lord, svfit), the same for every tensor' },
    {
      name: 'energy',
      short: 'e',
      type: 'string',
      value: 'E',
      parse: parseFraction,
      description: 'keep the smallest rank with this fraction of ||W||_F^2 (lord, trp 0.9, svfit 0.99)',
    },
    {
      name: 'target',
      type: 'string',
      value: 'T',
      parse: parseFraction,
      description: 'welore: overall rank reduction to reach (default 0.5)',
    },
    {
      name: 'tau',
      type: 'string',
      value: 'TAU',
      parse: parseFraction,
      description: 'welore: the threshold on normalized singular values (instead of --target)',
    },
    {
      name: 'min-ratio',
      type: 'number',
      min: 0,
      max: 0.999,
      default: 0,
      value: 'X',
      description: 'welore: a tensor is a low-rank component iff pruned / min(m, n) > X',
    },
    {
      name: 'include',
      type: 'string',
      value: 'REGEX',
      parse: parseRegex,
      description: 'only tensors whose name matches (default: every 2-D or conv weight)',
    },
    { name: 'exclude', type: 'string', value: 'REGEX', parse: parseRegex, description: 'skip tensors whose name matches' },
    { name: 'merge', type: 'boolean', default: false, description: 'write the dense truncation L R under the original name' },
    { name: 'svd', type: 'choice', choices: ['exact', 'randomized'], default: 'exact', description: 'how the factors are computed' },
    { name: 'seed', type: 'int', min: 0, default: 0, value: 'S', description: 'seed of --svd randomized' },
    { name: 'out', short: 'o', type: 'string', value: 'FILE', description: 'output .safetensors file (required)' },
  ],
  examples: [
    'lowrank compress model.safetensors --method lord --energy 0.95 --out model-lord.safetensors',
    'lowrank compress model.safetensors --method welore --target 0.3 --include "attn|mlp" --out welore.safetensors',
    'lowrank compress model.safetensors --method trp --merge --out trp.safetensors --json',
  ],
  async run(ctx: Context): Promise<number> {
    const input = ctx.resolve(ctx.positionals[0]);
    const outFlag = ctx.flag<string | undefined>('out');
    if (outFlag === undefined) throw new UsageError('--out FILE is required');
    const toStdout = outFlag === '-';
    const tmp = toStdout ? await mkdtemp(path.join(tmpdir(), 'lowrank-compress-')) : undefined;
    try {
      return await runCompress(ctx, input, outFlag, tmp ? path.join(tmp, 'out.safetensors') : ctx.resolve(outFlag), toStdout);
    } finally {
      if (tmp) await rm(tmp, { recursive: true, force: true });
    }
  },
};

async function runCompress(ctx: Context, input: string, outFlag: string, out: string, toStdout: boolean): Promise<number> {
  {
    const method = ctx.flag<Method>('method');
    const given = (f: string) => ctx.args.given.has(f);
    const rank = ctx.flag<number | undefined>('rank');
    let energy = ctx.flag<number | undefined>('energy');
    if (rank !== undefined && energy !== undefined) throw new UsageError('give --rank or --energy, not both');
    if (method === 'lord' && rank === undefined && energy === undefined) throw new UsageError('--method lord needs --rank R or --energy E');
    if (method === 'trp' && rank !== undefined)
      throw new UsageError('--method trp chooses ranks by --energy (default 0.9); use --method lord for a fixed rank');
    if (method === 'welore' && (rank !== undefined || energy !== undefined))
      throw new UsageError('--method welore chooses ranks by --target or --tau, not --rank / --energy');
    if (method !== 'welore')
      for (const f of ['target', 'tau', 'min-ratio']) if (given(f)) throw new UsageError(`--${f} applies to --method welore only`);
    if (given('target') && given('tau')) throw new UsageError('give --target or --tau, not both');
    if (method === 'svfit' && ctx.flag<boolean>('merge'))
      throw new UsageError('--merge does not apply to svfit (its parts add up to W exactly)');
    if (method === 'trp' && energy === undefined) energy = 0.9;
    if (method === 'svfit' && rank === undefined && energy === undefined) energy = 0.99;
    if (path.resolve(out) === path.resolve(input)) throw new UsageError('--out must differ from the input file');
    const outStat = await stat(out).catch(() => undefined);
    if (outStat?.isDirectory())
      throw new UsageError(`--out ${outFlag} is a folder; give a file name (e.g. ${path.join(outFlag, 'model.safetensors')})`);
    const dirStat = await stat(path.dirname(out)).catch(() => undefined);
    if (!dirStat?.isDirectory()) throw new UsageError(`--out ${outFlag}: the folder ${path.dirname(outFlag) || '.'} does not exist`);
    await ctx.outputFile('out', { stdout: true }); // writable? ('-': a temporary file, copied to stdout at the end)

    const file = await openSafetensors(input);
    try {
      const eng = await ctx.openEngine();
      try {
        const code = await compress(ctx, eng, file, out, { method, rank, energy });
        if (toStdout) await ctx.pipeToStdout(out);
        return code;
      } finally {
        await eng.dispose();
      }
    } finally {
      await file.close();
    }
  }
}

interface Selected {
  name: string;
  shape: number[];
  dtype: SafetensorsDType;
  m: number;
  n: number;
  /** Kept rank decided before phase 2 (fixed rank, energy rank, WeLore rank). */
  rank: number;
  /** 'factor' (L, R), 'merge', 'svfit', or 'dense' (kept as is: no gain or not a low-rank component). */
  action: 'factor' | 'merge' | 'svfit' | 'dense';
  why?: string;
  energy?: number;
  relError?: number;
}

async function compress(
  ctx: Context,
  eng: Engine,
  file: SafetensorsFile,
  out: string,
  o: { method: Method; rank?: number; energy?: number },
): Promise<number> {
  const t0 = performance.now();
  const include = ctx.flag<RegExp | undefined>('include');
  const exclude = ctx.flag<RegExp | undefined>('exclude');
  const merge = ctx.flag<boolean>('merge');
  const svd = ctx.flag<'exact' | 'randomized'>('svd');
  const seed = ctx.flag<number>('seed');
  const json = ctx.json;
  const names = file.names();
  const selected: Selected[] = [];
  for (const name of names) {
    const info = file.info(name);
    if (!FLOAT_DTYPES.includes(info.dtype) || info.shape.length < 2) continue;
    if (include && !include.test(name)) continue;
    if (exclude?.test(name)) continue;
    const m = info.shape[0];
    const n = info.shape.slice(1).reduce((a, b) => a * b, 1);
    if (m === 0 || n === 0) continue;
    selected.push({ name, shape: info.shape, dtype: info.dtype, m, n, rank: Math.min(m, n), action: 'dense' });
  }
  if (selected.length === 0)
    throw new UsageError(
      `no tensor of ${path.basename(file.path)} was selected (2-D or conv float weights${include ? ` matching /${include.source}/` : ''}${exclude ? ` and not /${exclude.source}/` : ''}; ${names.length} tensors in the file)`,
    );

  // ---- phase 1: spectra, when the ranks depend on them
  const needSpectra = o.method === 'welore' || o.energy !== undefined;
  const spectra = new Map<string, Float64Array>();
  if (needSpectra) {
    const bar = ctx.progress({ total: selected.length, label: 'spectra', unit: 'tensors' });
    for (const t of selected) {
      const W = await file.read(t.name, { engine: eng });
      try {
        spectra.set(t.name, await eng.svdvals(W));
      } finally {
        W.dispose();
      }
      bar.tick();
    }
    bar.finish();
  }

  // ---- ranks and actions
  let welore: { tau: number; reduction: number } | undefined;
  if (o.method === 'welore') {
    const target = ctx.flag<number | undefined>('target');
    const tau = ctx.flag<number | undefined>('tau');
    const sel = tau !== undefined ? { tau } : { targetReduction: target ?? 0.5 };
    const r = weloreRanks(
      selected.map((t) => ({ name: t.name, s: spectra.get(t.name)!, shape: [t.m, t.n] as [number, number] })),
      sel,
      { minRatio: ctx.flag<number>('min-ratio') },
    );
    welore = { tau: r.tau, reduction: r.reduction };
    selected.forEach((t, i) => {
      t.rank = r.ranks[i];
      if (!r.lrc[i]) t.why = 'not a low-rank component';
    });
  } else {
    for (const t of selected) {
      t.rank = o.rank !== undefined ? Math.min(o.rank, t.m, t.n) : energyRank(spectra.get(t.name)!, o.energy!);
    }
  }
  for (const t of selected) {
    if (o.method === 'svfit') t.action = 'svfit';
    else if (t.why) t.action = 'dense';
    else if (merge) t.action = 'merge';
    else if (t.rank * (t.m + t.n) < t.m * t.n) t.action = 'factor';
    else {
      t.action = 'dense';
      t.why = `rank ${t.rank} >= break-even ${fmtNum((t.m * t.n) / (t.m + t.n))}`;
    }
  }

  // ---- phase 2: the output, streamed in the input's order
  const work = selected.filter((t) => t.action !== 'dense');
  const bar = ctx.progress({ total: work.length, label: o.method, unit: 'tensors' });
  const byName = new Map(selected.map((t) => [t.name, t]));
  /** Results of the tensor being written: its output parts, taken one by one by the writer. */
  const pending = new Map<string, Float32Array | Float64Array>();
  const take = (key: string): Float32Array | Float64Array => {
    const v = pending.get(key);
    if (!v) throw new Error(`compress: internal: ${key} requested out of order`);
    pending.delete(key);
    return v;
  };
  const host = async (M: Mat): Promise<Float32Array | Float64Array> => {
    try {
      return await M.toArray();
    } finally {
      M.dispose();
    }
  };
  const computeOnce = async (t: Selected): Promise<void> => {
    const W = await file.read(t.name, { engine: eng });
    try {
      if (t.action === 'svfit') {
        const r = await svfitInit(W, { rank: t.rank }, { svd, seed });
        t.energy = r.energy;
        t.relError = 0;
        pending.set(`${t.name}.U`, await host(r.U));
        pending.set(`${t.name}.sigma`, Float64Array.from(r.sigma));
        pending.set(`${t.name}.V`, await host(r.V));
        pending.set(`${t.name}.residual`, await host(r.residual));
      } else {
        const r = await lordFactorize(W, { rank: t.rank }, { svd, seed });
        t.energy = spectra.has(t.name) ? energyKept(spectra.get(t.name)!, t.rank) : r.energy;
        t.relError = r.relError;
        if (t.action === 'merge') {
          pending.set(t.name, await host(await eng.matmul(r.L, r.R)));
          r.L.dispose();
          r.R.dispose();
        } else {
          pending.set(`${t.name}.L`, await host(r.L));
          pending.set(`${t.name}.R`, await host(r.R));
        }
      }
    } finally {
      W.dispose();
    }
    bar.tick();
  };
  const tensors: SafetensorsTensor[] = [];
  const layout: Record<string, unknown> = {};
  for (const name of names) {
    const t = byName.get(name);
    const info = file.info(name);
    if (!t || t.action === 'dense') {
      tensors.push({ name, dtype: info.dtype, shape: info.shape, raw: () => file.readBytes(name) });
      continue;
    }
    const dt = t.dtype as 'F32' | 'F16' | 'BF16' | 'F64';
    const r = t.rank;
    const conv = t.shape.length > 2;
    const first = async (key: string) => {
      await computeOnce(t);
      return take(key);
    };
    if (t.action === 'merge') {
      tensors.push({ name, dtype: dt, shape: t.shape, data: () => first(name) });
      layout[name] = { method: ctx.flag('method'), rank: r, form: 'merged' };
    } else if (t.action === 'factor') {
      const lShape = conv ? [t.m, r, ...t.shape.slice(2).map(() => 1)] : [t.m, r];
      const rShape = [r, ...t.shape.slice(1)];
      tensors.push({ name: `${name}.L`, dtype: dt, shape: lShape, data: () => first(`${name}.L`) });
      tensors.push({ name: `${name}.R`, dtype: dt, shape: rShape, data: async () => take(`${name}.R`) });
      layout[name] = { method: ctx.flag('method'), rank: r, form: 'L R', shape: t.shape, L: lShape, R: rShape };
    } else {
      tensors.push({ name: `${name}.U`, dtype: dt, shape: [t.m, r], data: () => first(`${name}.U`) });
      tensors.push({ name: `${name}.sigma`, dtype: dt, shape: [r], data: async () => take(`${name}.sigma`) });
      tensors.push({ name: `${name}.V`, dtype: dt, shape: [t.n, r], data: async () => take(`${name}.V`) });
      tensors.push({ name: `${name}.residual`, dtype: dt, shape: t.shape, data: async () => take(`${name}.residual`) });
      layout[name] = { method: 'svfit', rank: r, form: 'U diag(sigma) V^T + residual', shape: t.shape };
    }
  }
  const metadata = { ...file.metadata, 'lowrank.compress': JSON.stringify({ method: o.method, svd, tensors: layout }) };
  await writeSafetensors(out, tensors, { metadata });
  bar.finish();
  const ms = performance.now() - t0;

  // ---- report
  const paramsBefore = selected.reduce((a, t) => a + t.m * t.n, 0);
  const paramsAfter = selected.reduce((a, t) => a + paramsOf(t), 0);
  const inBytes = (await stat(file.path)).size;
  const outBytes = (await stat(out)).size;
  const rows = selected.map((t) => ({
    name: t.name,
    shape: t.shape,
    rank: t.action === 'dense' && !t.why?.startsWith('rank') ? Math.min(t.m, t.n) : t.rank,
    action: t.action,
    ...(t.why ? { note: t.why } : {}),
    energy: t.energy ?? null,
    relError: t.relError ?? null,
    params: { before: t.m * t.n, after: paramsOf(t) },
  }));
  ctx.wrote(out);
  if (json) {
    ctx.report({
      input: file.path,
      output: out,
      method: o.method,
      svd,
      ...(o.rank !== undefined ? { rank: o.rank } : {}),
      ...(o.energy !== undefined ? { energy: o.energy } : {}),
      ...(welore ? { welore } : {}),
      tensors: rows,
      totals: {
        selected: selected.length,
        factorized: selected.filter((t) => t.action !== 'dense').length,
        paramsBefore,
        paramsAfter,
        bytesIn: inBytes,
        bytesOut: outBytes,
        seconds: ms / 1000,
      },
    });
    return 0;
  }
  const header = ['tensor', 'shape', 'rank', 'energy', 'rel. error', 'params', ''];
  const body = rows.map((r) => [
    r.name,
    r.shape.join('x'),
    String(r.rank),
    r.energy === null ? '-' : fmtNum(r.energy, 4),
    r.relError === null ? '-' : fmtNum(r.relError, 3),
    `${r.params.before} -> ${r.params.after}`,
    r.action === 'dense' ? `dense (${r.note})` : r.action === 'factor' ? 'L R' : r.action,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  ctx.out(line(header));
  for (const b of body) ctx.out(line(b));
  ctx.out('');
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;
  ctx.out(
    `${selected.filter((t) => t.action !== 'dense').length} of ${selected.length} selected tensors ${o.method === 'svfit' ? 'split' : merge ? 'truncated' : 'factorized'}; ` +
      `parameters ${paramsBefore} -> ${paramsAfter} (${pct(paramsAfter, paramsBefore)}); file ${fmtBytes(inBytes)} -> ${fmtBytes(outBytes)}`,
  );
  if (welore)
    ctx.out(
      `WeLore: tau ${fmtNum(welore.tau, 4)}, rank reduction ${pct(welore.reduction, 1)} (the reference's count: ranks pruned in low-rank components / all ranks; ` +
        'components below break-even stay dense here)',
    );
  ctx.out(`wrote ${ctx.stdoutIsData ? 'the file to stdout' : out} in ${fmtMs(ms)}`);
  return 0;
}

/** Parameters a selected tensor has in the output. */
function paramsOf(t: Selected): number {
  if (t.action === 'factor') return t.rank * (t.m + t.n);
  if (t.action === 'svfit') return t.rank * (t.m + t.n + 1) + t.m * t.n;
  return t.m * t.n;
}
