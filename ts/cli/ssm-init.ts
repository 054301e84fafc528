/**
 * `lowrank ssm-init --N 64 --delta 1e-2 --method optimize --out DIR`: a PTD initialization of a diagonal
 * state-space model from HiPPO-LegS. Writes Lambda.npy, VinvB.npy (V^-1 B) and CV.npy (C V with the
 * LegS read-out C = B^T) as N x 2 (re, im) float64 arrays, and prints cond(V) and the transfer-function
 * error against HiPPO on the imaginary axis (next to the S4D normal-part diagonalization's).
 */
import path from 'node:path';
import { hippo, hippoNormal, MAX_N, MAX_NORMAL_N } from '../algorithms/ssm/hippo.js';
import { ptd, type PtdOptions } from '../algorithms/ssm/ptd.js';
import { cmatmul, type Complex } from '../algorithms/ssm/complex.js';
import { frequencyGrid, maxGap, transfer, transferDense } from '../algorithms/ssm/transfer.js';
import { UsageError } from './args.js';
import { fmtMs, fmtNum, type Command, type Context } from './context.js';
import { writePlotSvg } from './svg.js';

function interleave(c: Complex): Float64Array {
  const n = c.re.length,
    out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = c.re[i];
    out[2 * i + 1] = c.im[i];
  }
  return out;
}

export const command: Command = {
  name: 'ssm-init',
  summary: 'PTD initialization of a diagonal SSM from HiPPO-LegS; writes Lambda.npy, VinvB.npy, CV.npy',
  description: [
    'Perturb-then-diagonalize: A + E = V diag(Lambda) V^-1 for HiPPO-LegS A (N x N) and a small E with a',
    'well-conditioned V: the deterministic E of the spec (M_jk = cos(jk + j + 2k + 1)), a seeded Gaussian E,',
    'or E optimized for cond(V)^2 + gamma ||E||_F (Adam, analytic gradient). Right-half-plane eigenvalues are',
    'reflected. Outputs are N x 2 float64 arrays (re, im): Lambda, V^-1 B and C V with C = B^T. The transfer',
    'error is max |G_HiPPO(i w) - G_PTD(i w)| over 16001 log-spaced w in [1e-3, 1e5].',
  ].join('\n'),
  positionals: [],
  flags: [
    { name: 'N', type: 'int', min: 1, max: MAX_N, default: 64, value: 'N', description: 'state size' },
    {
      name: 'method',
      type: 'choice',
      choices: ['optimize', 'deterministic', 'random'],
      default: 'optimize',
      description: 'how E is chosen',
    },
    {
      name: 'delta',
      type: 'number',
      min: 0,
      value: 'D',
      description: '||E||_2 / ||A||_2 (optimize: the starting size); default 1e-2, optimize 0.07',
    },
    { name: 'gamma', type: 'number', min: 0, value: 'G', description: "weight of ||E||_F in the 'optimize' objective (default 10)" },
    { name: 'iters', type: 'int', min: 0, value: 'K', description: "Adam steps of 'optimize' (default 600)" },
    { name: 'seed', type: 'int', min: 0, value: 'S', description: "seed of the Gaussian E ('random'; 'optimize': Gaussian start)" },
    {
      name: 'complex',
      type: 'boolean',
      default: false,
      description: 'complex E (modes no longer in conjugate pairs; optimize then starts at delta 0.02)',
    },
    { name: 'out', short: 'o', type: 'string', value: 'DIR', description: 'output folder (created if needed; required)' },
    { name: 'plot', type: 'boolean', default: false, description: 'write transfer.svg: |G| of HiPPO, S4D and PTD over frequency' },
  ],
  examples: [
    'lowrank ssm-init --N 64 --delta 1e-2 --method optimize --out init',
    'lowrank ssm-init --N 64 --method deterministic --delta 1e-4 --out det --plot',
  ],
  async run(ctx: Context): Promise<number> {
    const outFlag = ctx.flag<string | undefined>('out');
    if (outFlag === undefined) throw new UsageError('--out DIR is required');
    const N = ctx.flag<number>('N');
    const method = ctx.flag<PtdOptions['method']>('method');
    const opts: PtdOptions = { method, complex: ctx.flag<boolean>('complex') };
    for (const k of ['delta', 'gamma', 'iters', 'seed'] as const) if (ctx.args.given.has(k)) opts[k] = ctx.flag<number>(k);
    if (method === 'random' && opts.seed === undefined) opts.seed = 0;
    // Complex N x N matrices on the host (A, E, V, V^-1, workspaces) and N transfer values per frequency.
    ctx.checkMemory(`ssm-init with N = ${N}`, {
      'N x N complex matrices': 40 * 16 * N * N,
      'transfer functions over the frequency grid': 4 * 16 * 16001 * N,
    });
    const outDir = (await ctx.outputs('out', ['Lambda.npy', 'VinvB.npy', 'CV.npy', ...(ctx.flag<boolean>('plot') ? ['transfer.svg'] : [])]))
      .dir;
    // computed on the host in float64; written as float64 unless --dtype f32
    const dtype = ctx.dtypeGiven ? ctx.dtype : 'f64';
    const { A, B } = hippo('legs', N);
    const C = B.slice();
    const t0 = performance.now();
    const act = ctx.activity(method === 'optimize' ? `optimizing E (${opts.iters ?? 600} steps)` : 'diagonalizing A + E');
    let r;
    try {
      r = await ptd(A, N, opts);
    } finally {
      act.stop();
    }
    const ms = performance.now() - t0;
    const Bt = cmatmul(r.Vinv, { re: B, im: new Float64Array(N) }, N, N, 1);
    const Ct = cmatmul({ re: C, im: new Float64Array(N) }, r.V, 1, N, N);
    await ctx.writeNpy(path.join(outDir, 'Lambda.npy'), interleave(r.Lambda), [N, 2], { dtype });
    await ctx.writeNpy(path.join(outDir, 'VinvB.npy'), interleave(Bt), [N, 2], { dtype });
    await ctx.writeNpy(path.join(outDir, 'CV.npy'), interleave(Ct), [N, 2], { dtype });
    const s = frequencyGrid();
    const GH = transferDense(A, N, B, C, s);
    const GP = transfer({ Lambda: r.Lambda, B: Bt, C: Ct }, s);
    const gap = maxGap(GH, GP, s);
    ctx.out(`HiPPO-LegS N = ${N}, PTD (${method}${opts.complex ? ', complex E' : ''}) in ${fmtMs(ms)}`);
    ctx.out(
      `  cond(V) = ${fmtNum(r.condV, 6)}, ||E||_2 / ||A||_2 = ${fmtNum(r.relPerturbation, 4)}, reflected eigenvalues: ${r.reflected}`,
    );
    ctx.out(
      `  transfer error max |G_HiPPO - G_PTD| on i[1e-3, 1e5] = ${fmtNum(gap.value, 5)} (at w = ${fmtNum(gap.omega, 5)}; C = B^T, ||B||^2 = ${N * N})`,
    );
    let GD: Complex | undefined;
    if (N <= MAX_NORMAL_N) {
      const nrm = hippoNormal(N);
      const CD = cmatmul({ re: C, im: new Float64Array(N) }, nrm.V, 1, N, N);
      GD = transfer({ Lambda: nrm.Lambda, B: nrm.B, C: CD }, s);
      const g = maxGap(GH, GD, s);
      ctx.out(`  for comparison, S4D (normal part): ${fmtNum(g.value, 5)} at w = ${fmtNum(g.omega, 5)}`);
    }
    const files = ['Lambda.npy', 'VinvB.npy', 'CV.npy'];
    if (ctx.flag<boolean>('plot')) {
      const idx = Array.from({ length: 2001 }, (_, i) => 8 * i);
      const abs = (G: Complex) => idx.map((k) => Math.hypot(G.re[k], G.im[k]));
      const x = idx.map((k) => s.im[k]);
      const series = [
        { name: 'HiPPO-LegS', x, y: abs(GH) },
        { name: `PTD (${method}, cond ${fmtNum(r.condV, 3)})`, x, y: abs(GP), dashed: true },
      ];
      if (GD) series.splice(1, 0, { name: 'S4D (normal part)', x, y: abs(GD) });
      await writePlotSvg(path.join(outDir, 'transfer.svg'), series, {
        title: `|G(i w)| of HiPPO-LegS N = ${N}, its normal part and PTD (C = B^T)`,
        xLabel: 'w',
        yLabel: '|G(i w)|',
        logX: true,
        logY: true,
      });
      files.push('transfer.svg');
      ctx.wrote(path.join(outDir, 'transfer.svg'));
    }
    ctx.report({
      N,
      method,
      condV: r.condV,
      relPerturbation: r.relPerturbation,
      reflected: r.reflected,
      transferError: gap.value,
      seconds: ms / 1000,
    });
    ctx.out(`  wrote ${files.map((f) => path.join(outDir, f)).join(', ')}`);
    return 0;
  },
};
