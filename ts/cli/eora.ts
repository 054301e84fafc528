/**
 * `lowrank eora --weights W.safetensors --compressed Wc.safetensors --acts X.npy|--cov C.safetensors
 * --rank R --out adapter/`: EoRA compensation of a compressed checkpoint, written as a PEFT LoRA
 * adapter (adapter_model.safetensors + adapter_config.json).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CovarianceAccumulator } from '../algorithms/model/covariance.js';
import { eoraInit } from '../algorithms/model/eora.js';
import type { Engine } from '../engine.js';
import { openNpy } from '../io/npy.js';
import { openSafetensors, writeSafetensors, type SafetensorsFile, type SafetensorsTensor } from '../io/safetensors.js';
import type { Mat } from '../mat.js';
import { UsageError } from './args.js';
import { fmtMs, fmtNum, type Command, type Context } from './context.js';

function parseRegex(raw: string): RegExp {
  try {
    return new RegExp(raw);
  } catch (e) {
    throw new Error(`not a regular expression: ${(e as Error).message}`);
  }
}

function parseFloor(raw: string): 'auto' | 'reference' | number {
  if (raw === 'auto' || raw === 'reference') return raw;
  const x = Number(raw);
  if (!Number.isFinite(x) || x < 0 || x >= 1)
    throw new Error(`expected 'auto', 'reference' or a number in [0, 1), got ${JSON.stringify(raw)}`);
  return x;
}

/** Rows of activations per covariance update (bounded host memory for large calibration files). */
const ACT_BLOCK_BYTES = 32 << 20;

export const command: Command = {
  name: 'eora',
  summary: 'EoRA compensation of a compressed checkpoint, written as a PEFT LoRA adapter',
  description: [
    'For every weight W (out x in) present in both checkpoints with the same shape, computes the',
    'rank-R EoRA compensation B A of dW = W - Wc, optimal in the activation-weighted norm',
    '||(dW - B A) X^T||_F (eigh of the input covariance C = X^T X / N, SVD of dW Q Lambda^1/2),',
    'so that Wc + B A is the deployed layer. Writes DIR/adapter_model.safetensors in PEFT layout',
    '(base_model.model.<module>.lora_A.weight r x in, lora_B.weight out x r, <module> = the weight',
    'name without ".weight") and DIR/adapter_config.json (r, lora_alpha = r so the scale is 1,',
    'target_modules). Input statistics: --acts X.npy (N x in calibration activations, one matrix used',
    'for every layer with that input width; read in row blocks) or --acts X.safetensors (one N x in',
    'tensor per layer, named like the module or the weight), or --cov C.safetensors (one in x in',
    'covariance per layer, named like the module or the weight, or a single one shared by all).',
    'Layers narrower than R get rank min(out, in). The report gives the activation-weighted relative',
    'error of each layer before (1) and after compensation.',
  ].join('\n'),
  positionals: [],
  flags: [
    { name: 'weights', short: 'w', type: 'string', value: 'FILE', description: 'original checkpoint (.safetensors; required)' },
    { name: 'compressed', short: 'c', type: 'string', value: 'FILE', description: 'compressed checkpoint, same tensor names (required)' },
    { name: 'acts', type: 'string', value: 'FILE', description: 'calibration activations: .npy (N x in) or .safetensors (per layer)' },
    { name: 'cov', type: 'string', value: 'FILE', description: 'input covariances (.safetensors), instead of --acts' },
    { name: 'rank', short: 'r', type: 'int', min: 1, value: 'R', description: 'adapter rank (required; EoRA uses 128 in its experiments)' },
    { name: 'include', type: 'string', value: 'REGEX', parse: parseRegex, description: 'only weights whose name matches' },
    { name: 'exclude', type: 'string', value: 'REGEX', parse: parseRegex, description: 'skip weights whose name matches' },
    {
      name: 'eig-floor',
      type: 'string',
      value: 'F',
      parse: parseFloor,
      default: 'auto',
      description: "eigenvalue floor of C: auto (1e-6 lambda_max in f32), reference (EoRA's rule) or a fraction",
    },
    { name: 'svd', type: 'choice', choices: ['exact', 'randomized'], default: 'exact', description: 'SVD of dW Q Lambda^1/2' },
    {
      name: 'adapter-dtype',
      type: 'choice',
      choices: ['F32', 'F16', 'BF16'],
      default: 'F32',
      description: 'element type of the adapter tensors',
    },
    { name: 'out', short: 'o', type: 'string', value: 'DIR', description: 'adapter folder (created if needed; required)' },
  ],
  examples: [
    'lowrank eora --weights model.safetensors --compressed model-q3.safetensors --acts calib.npy --rank 128 --out adapter',
    'lowrank eora -w model.safetensors -c pruned.safetensors --cov cov.safetensors --rank 64 --include mlp --out adapter',
  ],
  async run(ctx: Context): Promise<number> {
    const need = (f: string) => {
      const v = ctx.flag<string | undefined>(f);
      if (v === undefined) throw new UsageError(`--${f} is required`);
      return v;
    };
    const weights = ctx.resolve(need('weights'));
    const compressed = ctx.resolve(need('compressed'));
    const rank = ctx.flag<number | undefined>('rank');
    if (rank === undefined) throw new UsageError('--rank R is required');
    need('out'); // checked here; ctx.outputs resolves it
    const acts = ctx.flag<string | undefined>('acts');
    const cov = ctx.flag<string | undefined>('cov');
    if ((acts === undefined) === (cov === undefined)) throw new UsageError('give --acts FILE or --cov FILE (one of them)');
    const stats = ctx.resolve((acts ?? cov)!);
    const ext = path.extname(stats).toLowerCase();
    if (cov !== undefined && ext !== '.safetensors') throw new UsageError(`--cov reads a .safetensors file, got ${cov}`);
    if (acts !== undefined && ext !== '.npy' && ext !== '.safetensors')
      throw new UsageError(`--acts reads a .npy or .safetensors file, got ${acts}`);
    const dir = (await ctx.outputs('out', ['adapter_model.safetensors', 'adapter_config.json'])).dir;
    const W = await openSafetensors(weights);
    const files: SafetensorsFile[] = [W];
    try {
      const Wc = await openSafetensors(compressed);
      files.push(Wc);
      const S = ext === '.safetensors' ? await openSafetensors(stats) : null;
      if (S) files.push(S);
      const eng = await ctx.openEngine();
      try {
        return await runEora(ctx, eng, { W, Wc, S, npy: S ? null : stats, kind: cov !== undefined ? 'cov' : 'acts', rank, dir });
      } finally {
        await eng.dispose();
      }
    } finally {
      for (const f of files) await f.close();
    }
  },
};

interface Job {
  name: string;
  module: string;
  out: number;
  inp: number;
}

async function runEora(
  ctx: Context,
  eng: Engine,
  o: {
    W: SafetensorsFile;
    Wc: SafetensorsFile;
    S: SafetensorsFile | null;
    npy: string | null;
    kind: 'cov' | 'acts';
    rank: number;
    dir: string;
  },
): Promise<number> {
  const t0 = performance.now();
  const include = ctx.flag<RegExp | undefined>('include');
  const exclude = ctx.flag<RegExp | undefined>('exclude');
  const floor = ctx.flag<'auto' | 'reference' | number>('eig-floor');
  const svd = ctx.flag<'exact' | 'randomized'>('svd');
  const dtype = ctx.flag<'F32' | 'F16' | 'BF16'>('adapter-dtype');
  const inC = new Set(o.Wc.names());
  const jobs: Job[] = [];
  const skipped: string[] = [];
  for (const name of o.W.names()) {
    const a = o.W.info(name);
    if (a.shape.length !== 2 || !['F32', 'F16', 'BF16', 'F64'].includes(a.dtype)) continue;
    if (include && !include.test(name)) continue;
    if (exclude?.test(name)) continue;
    if (!inC.has(name)) {
      skipped.push(`${name} (absent from ${path.basename(o.Wc.path)})`);
      continue;
    }
    const b = o.Wc.info(name);
    if (b.shape.join('x') !== a.shape.join('x'))
      throw new Error(
        `eora: tensor ${name} is ${a.shape.join(' x ')} in ${path.basename(o.W.path)} but ${b.shape.join(' x ')} in ${path.basename(o.Wc.path)}`,
      );
    jobs.push({ name, module: name.replace(/\.weight$/, ''), out: a.shape[0], inp: a.shape[1] });
  }
  if (jobs.length === 0)
    throw new UsageError(`no 2-D weight is in both checkpoints${include || exclude ? ' and selected by --include / --exclude' : ''}`);

  // covariances: per input width (--acts .npy) or per layer (safetensors), computed once each
  const cache = new Map<string, Mat | CovarianceAccumulator>();
  const covFor = async (j: Job): Promise<Mat | CovarianceAccumulator> => {
    if (o.npy) {
      const key = `npy:${j.inp}`;
      const hit = cache.get(key);
      if (hit) return hit;
      const f = await openNpy(o.npy);
      try {
        const [N, d] = f.shape;
        if (d !== j.inp)
          throw new Error(
            `eora: --acts ${path.basename(o.npy)} has ${d} columns but ${j.name} takes ${j.inp} inputs (use --include, or per-layer activations in a .safetensors file)`,
          );
        const acc = new CovarianceAccumulator(eng, d);
        const rows = Math.max(1, Math.floor(ACT_BLOCK_BYTES / (8 * d)));
        for (let r = 0; r < N; r += rows) {
          const block = await f.readRows(r, Math.min(rows, N - r));
          const X = eng.matrix(block, Math.min(rows, N - r), d);
          try {
            await acc.add(X);
          } finally {
            X.dispose();
          }
        }
        cache.set(key, acc);
        return acc;
      } finally {
        await f.close();
      }
    }
    const S = o.S!;
    const names = S.names();
    const key = [j.module, j.name, `${j.module}.cov`].find((k) => names.includes(k)) ?? (names.length === 1 ? names[0] : undefined);
    if (key === undefined)
      throw new Error(
        `eora: ${path.basename(S.path)} has no tensor named ${j.module} or ${j.name} (and more than one tensor, so none is shared)`,
      );
    const hit = cache.get(key);
    if (hit) return hit;
    const M = await S.read(key, { engine: eng });
    let value: Mat | CovarianceAccumulator = M;
    if (o.kind === 'cov') {
      if (M.rows !== j.inp || M.cols !== j.inp) {
        M.dispose();
        throw new Error(`eora: covariance ${key} is ${M.rows} x ${M.cols}, but ${j.name} takes ${j.inp} inputs`);
      }
    } else {
      if (M.cols !== j.inp) {
        M.dispose();
        throw new Error(`eora: activations ${key} have ${M.cols} columns, but ${j.name} takes ${j.inp} inputs`);
      }
      const acc = new CovarianceAccumulator(eng, j.inp);
      try {
        await acc.add(M);
      } finally {
        M.dispose();
      }
      value = acc;
    }
    cache.set(key, value);
    return value;
  };

  const bar = ctx.progress({ total: jobs.length, label: 'eora', unit: 'layers' });
  const tensors: SafetensorsTensor[] = [];
  const rows: Array<{
    name: string;
    module: string;
    shape: [number, number];
    rank: number;
    weightedError: number;
    relError: number;
    floorApplied: number;
  }> = [];
  try {
    for (const j of jobs) {
      const r = Math.min(o.rank, j.out, j.inp);
      const C = await covFor(j);
      const Wm = await o.W.read(j.name, { engine: eng });
      let dW: Mat | undefined;
      try {
        const Wcm = await o.Wc.read(j.name, { engine: eng });
        try {
          dW = await eng.sub(Wm, Wcm);
        } finally {
          Wcm.dispose();
        }
      } finally {
        Wm.dispose();
      }
      try {
        const res = await eoraInit(dW, C, { rank: r, eigFloor: floor, svd });
        rows.push({
          name: j.name,
          module: j.module,
          shape: [j.out, j.inp],
          rank: r,
          weightedError: res.weightedError,
          relError: res.relError,
          floorApplied: res.floorApplied,
        });
        const [A, B] = [await res.A.toArray(), await res.B.toArray()];
        res.A.dispose();
        res.B.dispose();
        tensors.push({ name: `base_model.model.${j.module}.lora_A.weight`, dtype, shape: [r, j.inp], data: A });
        tensors.push({ name: `base_model.model.${j.module}.lora_B.weight`, dtype, shape: [j.out, r], data: B });
      } finally {
        dW.dispose();
      }
      bar.tick();
    }
  } finally {
    for (const v of cache.values()) v.dispose();
  }
  bar.finish();
  const ranks = new Set(rows.map((r) => r.rank));
  const rankPattern: Record<string, number> = {};
  if (ranks.size > 1) for (const r of rows) if (r.rank !== o.rank) rankPattern[r.module] = r.rank;
  const config = {
    peft_type: 'LORA',
    task_type: null,
    base_model_name_or_path: null,
    r: o.rank,
    lora_alpha: o.rank,
    lora_dropout: 0,
    bias: 'none',
    fan_in_fan_out: false,
    init_lora_weights: true,
    inference_mode: true,
    target_modules: [...new Set(rows.map((r) => r.module))],
    rank_pattern: rankPattern,
    alpha_pattern: { ...rankPattern }, // lora_alpha = r per module: scale 1 everywhere
  };
  const adapter = path.join(o.dir, 'adapter_model.safetensors');
  await writeSafetensors(adapter, tensors, {
    metadata: { format: 'pt', 'lowrank.eora': JSON.stringify({ rank: o.rank, svd, eigFloor: floor }) },
  });
  await writeFile(path.join(o.dir, 'adapter_config.json'), JSON.stringify(config, null, 2) + '\n');
  ctx.wrote(adapter);
  ctx.wrote(path.join(o.dir, 'adapter_config.json'));
  const ms = performance.now() - t0;
  if (ctx.json) {
    ctx.report({ weights: o.W.path, compressed: o.Wc.path, out: o.dir, rank: o.rank, layers: rows, skipped, seconds: ms / 1000 });
    return 0;
  }
  const header = ['weight', 'shape', 'rank', 'weighted error', 'plain error', 'floored'];
  const body = rows.map((r) => [
    r.name,
    r.shape.join('x'),
    String(r.rank),
    fmtNum(r.weightedError, 4),
    fmtNum(r.relError, 4),
    String(r.floorApplied),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  ctx.out(line(header));
  for (const b of body) ctx.out(line(b));
  ctx.out('');
  ctx.out(
    'weighted error = ||(dW - B A) X^T||_F / ||dW X^T||_F (1 = uncompensated); plain error = ||dW - B A||_F / ||dW||_F; floored = eigenvalues raised by --eig-floor',
  );
  for (const s of skipped) ctx.note(`skipped ${s}`);
  ctx.out(`wrote ${adapter} and adapter_config.json (${rows.length} layers, rank ${o.rank}) in ${fmtMs(ms)}`);
  return 0;
}
