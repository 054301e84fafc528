/** Command-line options of `npm run bench -- <suite> [options]`. */
import os from 'node:os';

export interface BenchArgs {
  suite: string;
  quick: boolean;
  /** gemm: matrix orders. */
  sizes?: number[];
  /** decomp: the m x n shape of A. */
  shape?: [number, number];
  /** decomp: element types. */
  dtypes?: ('f32' | 'f64')[];
  /** decomp: operations. */
  ops?: string[];
  /** Peer id substrings to run (all when empty). */
  only: string[];
  /** Peer id substrings to skip. */
  skip: string[];
  /** compress: layers in the synthetic checkpoint. */
  layers?: number;
  /** compress: layers timed one by one (the rest only go through the svdvals pass). */
  timed?: number;
  /** Per-case cap in seconds (warm-up + timed loop). */
  capS?: number;
  /** Skip a case whose predicted single run exceeds this many seconds. */
  maxRunS?: number;
  /** Machine tag for result file names. */
  tag: string;
  /** OPENBLAS_CORETYPE of the numpy/sklearn workers of the goal sections (gemm: default Haswell; rsvd: OpenBLAS's own choice). */
  openblasCore?: string;
  /** Write JSON / Markdown files to bench/results/. */
  write: boolean;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- <suite> [options]

suites:
  gemm      f32 GEMM GFLOP/s: lowrank native (1 / all threads) and webgpu vs numpy, ml-matrix, tfjs, gpu.js;
            section 'goal' (--only goal): lowrank native vs numpy/OpenBLAS interleaved, f32 + f64, 1 / all
            threads, n = 256..4096 and rsvd's 4000 x 2000 x 60 products
  decomp    QR, thin SVD, eigh, least squares (f32, f64) with accuracy, vs numpy/scipy, ml-matrix, tfjs-wasm
  rsvd      randomized SVD (4000 x 2000, k = 50): lowrank native/webgpu vs sklearn randomized_svd, ml-matrix
  sampling  l_p sensitivity sampling at n = 10^6, d = 32: leverage, Lewis weights, coreset vs full l1 regression
  ssm       PTD trade-off (cond(V), transfer gap vs delta), S4D spike; SSM kernel + FFT convolution H = 256, L = 16384
  subgm     robust matrix sensing by SubGM (n = 100, r' = 20, m = 20000, 20 % outliers): dense vs matrix-free Gaussian
  geometry  kSubspaces 100000 x 256, codingRate + grad d 512, flagAggregate D 10^6 p 64 vs numpy; MNIST nearest subspace / clustering vs sklearn
  compress  model-weights toolkit on a synthetic safetensors checkpoint (24 x 4096^2 f32): svdvals pass, LORD r 512, EoRA r 128 vs torch
  completion  matrix completion: seconds per sweep of exact vs sketch solvers for k = 8..64 at 2M entries; 10M-entry run
  train     MLP 784-200-200-10 on MNIST: GaLore / Q-GaLore vs AdamW, LoRA-SB vs LoRA vs full fine-tuning, intrinsic dimension
  dask      lowrank on Dask (integrations/dask) vs dask.array svd_compressed on 200,000 x 2,000 in 20 shards; one-process rsvd
  all       gemm then decomp

options:
  --quick               smoke run: small sizes, few iterations, short caps (results marked QUICK)
  --sizes 256,512       gemm: matrix orders (default 256,512,1024,2048, goal section ..4096; quick 128,256)
  --shape 2000x500      decomp / rsvd: shape of A (decomp 2000x500, quick 300x80; rsvd 4000x2000, quick 800x400; sampling 1000000x32, quick 20000x16; subgm MxN = m x n, 20000x100, quick 3000x30)
  --layers N            compress: layers of the synthetic checkpoint (default 24; quick 3)
  --timed N             compress: layers timed one by one for LORD / EoRA / peers (default 3; quick 2)
  --dtypes f32,f64      decomp: element types (default both)
  --ops qr,svd,eigh,lstsq,lu decomp: operations (default all)
  --only a,b            run only peers whose id contains one of these strings (e.g. lowrank,numpy)
  --skip a,b            skip peers whose id contains one of these strings (e.g. ml-matrix,gpujs)
  --cap SECONDS         per-case cap, warm-up included (default 90; quick 15)
  --max-run SECONDS     skip a case whose predicted single run exceeds this (default 30; quick 5)
  --openblas-core NAME  goal sections: OPENBLAS_CORETYPE of the numpy / sklearn workers (gemm default Haswell,
                        rsvd default OpenBLAS's own choice; SkylakeX: its AVX-512 kernels)
  --tag NAME            machine tag used in result file names (default: BENCH_TAG or the hostname)
  --no-write            do not write bench/results/ files
  --list                list the peers of each suite and exit

environment:
  LOWRANK_NATIVE_ADDON  path of the addon to load (default build/Release/lowrank.node)
  LOWRANK_DAWN_FLAGS    Dawn toggles for every WebGPU user in the process (lowrank and peers)
  BENCH_PYTHON          python executable with numpy (default: /usr/bin/python3, then python3)
`;

function list(v: string | undefined, flag: string): string[] {
  if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function posNumber(v: string | undefined, flag: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new Error(`${flag} needs a positive number, got ${v}`);
  return x;
}

export function parseArgs(argv: string[]): BenchArgs & { list: boolean } {
  const a: BenchArgs & { list: boolean } = {
    suite: '',
    quick: false,
    only: [],
    skip: [],
    tag: process.env.BENCH_TAG || os.hostname(),
    write: true,
    help: false,
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] =
      arg.includes('=') && arg.startsWith('--') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const next = (): string | undefined => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--':
        break;
      case '--quick':
        a.quick = true;
        break;
      case '--sizes':
        a.sizes = list(next(), flag).map((s) => {
          const n = Number(s);
          if (!Number.isInteger(n) || n < 1) throw new Error(`--sizes: '${s}' is not a positive integer`);
          return n;
        });
        break;
      case '--shape': {
        const v = next() ?? '';
        const m = /^(\d+)x(\d+)$/.exec(v);
        if (!m || +m[1] < +m[2] || +m[2] < 1) throw new Error(`--shape needs MxN with M >= N >= 1, got '${v}'`);
        a.shape = [+m[1], +m[2]];
        break;
      }
      case '--dtypes':
        a.dtypes = list(next(), flag).map((d) => {
          if (d !== 'f32' && d !== 'f64') throw new Error(`--dtypes: '${d}' is not f32 or f64`);
          return d;
        });
        break;
      case '--ops':
        a.ops = list(next(), flag);
        for (const op of a.ops) if (!['qr', 'svd', 'eigh', 'lstsq', 'lu'].includes(op)) throw new Error(`--ops: unknown operation '${op}'`);
        break;
      case '--layers':
      case '--timed': {
        const v = Number(next());
        if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} needs a positive integer`);
        if (flag === '--layers') a.layers = v;
        else a.timed = v;
        break;
      }
      case '--only':
        a.only = list(next(), flag);
        break;
      case '--skip':
        a.skip = list(next(), flag);
        break;
      case '--cap':
        a.capS = posNumber(next(), flag);
        break;
      case '--max-run':
        a.maxRunS = posNumber(next(), flag);
        break;
      case '--tag':
        a.tag = list(next(), flag)[0] ?? a.tag;
        break;
      case '--openblas-core': {
        const v = list(next(), flag)[0] ?? '';
        if (!/^[A-Za-z0-9]+$/.test(v))
          throw new Error(`--openblas-core: '${v}' is not an OpenBLAS core name (e.g. Haswell, SkylakeX, Zen)`);
        a.openblasCore = v;
        break;
      }
      case '--no-write':
        a.write = false;
        break;
      case '--list':
        a.list = true;
        break;
      case '-h':
      case '--help':
        a.help = true;
        break;
      default:
        if (flag.startsWith('-')) throw new Error(`unknown option '${flag}'`);
        if (a.suite) throw new Error(`only one suite at a time (got '${a.suite}' and '${flag}')`);
        a.suite = flag;
    }
  }
  a.tag = a.tag.replace(/[^A-Za-z0-9._-]+/g, '_');
  return a;
}

/** Applies --only / --skip to a peer id. */
export function selected(args: Pick<BenchArgs, 'only' | 'skip'>, id: string): boolean {
  if (args.only.length && !args.only.some((s) => id.includes(s))) return false;
  return !args.skip.some((s) => id.includes(s));
}
