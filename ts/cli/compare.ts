/**
 * `lowrank compare a.npy b.npy`: how similar are two representations of the same N inputs (N x a and
 * N x b, e.g. two networks' activations)? Principal angles between their column spaces, SVCCA, PWCCA
 * and linear CKA, as a table or one JSON object.
 */
import path from 'node:path';
import { principalAngles } from '../algorithms/geometry/angles.js';
import { linearCKA, pwcca, svcca } from '../algorithms/geometry/similarity.js';
import type { Engine } from '../engine.js';
import type { Mat } from '../mat.js';
import { UsageError } from './args.js';
import { fmtMs, fmtNum, type Command, type Context } from './context.js';

function parseKeep(raw: string): number | 'all' {
  if (raw === 'all') return 'all';
  const x = Number(raw);
  if (!Number.isFinite(x) || x <= 0 || (x >= 1 && !Number.isInteger(x)))
    throw new Error(`expected a fraction in (0, 1), an integer number of directions, or 'all', got ${JSON.stringify(raw)}`);
  return x;
}

export const command: Command = {
  name: 'compare',
  summary: 'principal angles, SVCCA, PWCCA and CKA between two representations (N x a, N x b .npy)',
  description: [
    'Compares two representation matrices of the same N inputs, one row per input (e.g. the activations',
    'of two networks, or of two layers): do they span the same subspaces? Prints the principal angles',
    'between their (centered) column spaces in R^N (ascending, in degrees), SVCCA (SVD to --keep of the',
    "variance, then CCA; the mean correlation, and the reference's mean over the leading correlations",
    'holding 0.98 of their sum), PWCCA (projection-weighted CCA) and linear CKA (biased and debiased).',
    'Widths may differ. --json prints one JSON object with every value.',
  ].join('\n'),
  positionals: [
    { name: 'a', description: 'first representation (.npy, N x a)' },
    { name: 'b', description: 'second representation (.npy, N x b)' },
  ],
  flags: [
    {
      name: 'keep',
      type: 'string',
      value: 'K',
      parse: parseKeep,
      default: 0.99,
      description: "SVCCA: variance fraction kept, a number of directions, or 'all'",
    },
    {
      name: 'center',
      type: 'boolean',
      default: true,
      description: 'subtract column means before the principal angles (--no-center keeps them)',
    },
  ],
  examples: ['lowrank compare net1-layer3.npy net2-layer3.npy', 'lowrank compare a.npy b.npy --keep 20 --json'],
  async run(ctx: Context): Promise<number> {
    const [ia, ib] = [await ctx.input(ctx.positionals[0]), await ctx.input(ctx.positionals[1])];
    if (ia.arg === '-' && ib.arg === '-') throw new UsageError("only one of the two inputs can be '-' (stdin)");
    const load = async (inp: typeof ia): Promise<Loaded> => {
      const m = await ctx.readMatrix(inp);
      if (m.kind !== 'dense') throw new UsageError(`${inp.shown} is a sparse (coordinate) file; compare needs dense representations`);
      return { file: inp.shown, data: m.data, shape: [m.rows, m.cols] };
    };
    const a = await load(ia);
    const b = await load(ib);
    const [fa, fb] = [ia.shown, ib.shown];
    if (a.shape[0] !== b.shape[0])
      throw new UsageError(
        `the two representations must have one row per input, the same number of rows: ${fa} is ${a.shape[0]} x ${a.shape[1]}, ${fb} is ${b.shape[0]} x ${b.shape[1]}`,
      );
    const eng = await ctx.openEngine();
    try {
      return await compare(ctx, eng, a, b);
    } finally {
      await eng.dispose();
    }
  },
};

interface Loaded {
  file: string;
  data: Float32Array | Float64Array;
  shape: [number, number];
}

/** Column means removed (host, f64). */
function centered(x: Loaded): Float64Array {
  const [n, p] = x.shape;
  const out = Float64Array.from(x.data);
  for (let j = 0; j < p; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += out[i * p + j];
    m /= n;
    for (let i = 0; i < n; i++) out[i * p + j] -= m;
  }
  return out;
}

async function compare(ctx: Context, eng: Engine, a: Loaded, b: Loaded): Promise<number> {
  const t0 = performance.now();
  const keep = ctx.flag<number | 'all'>('keep');
  const center = ctx.flag<boolean>('center');
  const r = await eng.scope(async () => {
    const A: Mat = eng.matrix(a.data, a.shape[0], a.shape[1]);
    const B: Mat = eng.matrix(b.data, b.shape[0], b.shape[1]);
    const Ac = center ? eng.matrix(centered(a), a.shape[0], a.shape[1]) : A;
    const Bc = center ? eng.matrix(centered(b), b.shape[0], b.shape[1]) : B;
    const angles = await principalAngles(Ac, Bc);
    const sv = await svcca(A, B, { keep });
    const pw = await pwcca(A, B);
    const cka = await linearCKA(A, B);
    const ckaDebiased = a.shape[0] >= 4 ? await linearCKA(A, B, { debiased: true }) : null;
    return { angles, sv, pw, cka, ckaDebiased };
  });
  const deg = Array.from(r.angles, (x) => (x * 180) / Math.PI);
  const ms = performance.now() - t0;
  if (ctx.json) {
    ctx.report({
      a: { file: a.file, shape: a.shape },
      b: { file: b.file, shape: b.shape },
      anglesDegrees: deg,
      svcca: {
        keep,
        mean: r.sv.mean,
        meanThreshold: r.sv.meanThreshold,
        rho: Array.from(r.sv.rho),
        keptA: r.sv.keptA,
        keptB: r.sv.keptB,
      },
      pwcca: { mean: r.pw.mean, side: r.pw.side },
      cka: r.cka,
      ckaDebiased: r.ckaDebiased,
      seconds: ms / 1000,
    });
    return 0;
  }
  const n = deg.length;
  const at = (q: number) => deg[Math.min(n - 1, Math.floor(q * (n - 1)))];
  ctx.out(`${path.basename(a.file)} (${a.shape[0]} x ${a.shape[1]}) vs ${path.basename(b.file)} (${b.shape[0]} x ${b.shape[1]})`);
  ctx.out(
    `principal angles (${n}, degrees${center ? ', centered' : ''}): min ${fmtNum(deg[0], 3)}, median ${fmtNum(at(0.5), 3)}, max ${fmtNum(deg[n - 1], 3)}; ` +
      `${deg.filter((x) => x < 10).length} below 10, ${deg.filter((x) => x < 1).length} below 1`,
  );
  ctx.out(
    `  first: ${deg
      .slice(0, 10)
      .map((x) => fmtNum(x, 3))
      .join(', ')}${n > 10 ? ', ...' : ''}`,
  );
  ctx.out(
    `SVCCA (keep ${keep}; ${r.sv.keptA} and ${r.sv.keptB} directions): mean rho ${fmtNum(r.sv.mean, 4)}, mean over 0.98 of the sum ${fmtNum(r.sv.meanThreshold, 4)}`,
  );
  ctx.out(`PWCCA: ${fmtNum(r.pw.mean, 4)}`);
  ctx.out(`linear CKA: ${fmtNum(r.cka, 4)}${r.ckaDebiased === null ? '' : ` (debiased ${fmtNum(r.ckaDebiased, 4)})`}`);
  ctx.out(`in ${fmtMs(ms)}`);
  return 0;
}
