/**
 * `lowrank demo`: builds a seeded test problem of known rank plus small noise, runs GEMM, QR and SVD
 * on the chosen backend and prints wall times and accuracy relations, each checked against a loose
 * tolerance (the exit code is 1 when a step fails or a check does not hold).
 */
import { orthonormalizeHost } from '../gen/spectrum.js';
import { PhiloxRng } from '../rng/philox.js';
import type { Engine } from '../engine.js';
import type { Mat } from '../mat.js';
import { UsageError } from './args.js';
import { fmtMs, fmtNum, type Command, type Context } from './context.js';

const STEPS = ['gemm', 'qr', 'svd'] as const;
type Step = (typeof STEPS)[number];

interface Check {
  name: string;
  value: number;
  /** The relation holds when value <= tol. */
  tol: number;
  ok: boolean;
}

interface StepResult {
  step: Step;
  what: string;
  ms?: number;
  gflops?: number;
  checks: Check[];
  error?: string;
  /** SVD only: leading singular values against the known ones. */
  spectrum?: { i: number; known: number; computed: number }[];
  note?: string;
}

function parseSize(raw: string): [number, number] {
  const m = /^\s*(\d+)\s*[,xX]\s*(\d+)\s*$/.exec(raw);
  if (!m) throw new Error(`expected M,N (two positive integers, e.g. 2000,500), got ${JSON.stringify(raw)}`);
  const r = Number(m[1]),
    c = Number(m[2]);
  if (r < 1 || c < 1 || r > 2 ** 31 - 1 || c > 2 ** 31 - 1) throw new Error(`dimensions must be positive integers, got ${raw}`);
  return [r, c];
}

function parseSteps(raw: string): Step[] {
  const list = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (list.length === 0) throw new Error('expected a comma-separated list of gemm, qr, svd');
  for (const s of list) if (!(STEPS as readonly string[]).includes(s)) throw new Error(`unknown step '${s}' (expected gemm, qr, svd)`);
  return STEPS.filter((s) => list.includes(s));
}

/** The known singular values: `rank` values log-spaced from 100 down to 1. */
export function knownSpectrum(rank: number): Float64Array {
  const s = new Float64Array(rank);
  for (let i = 0; i < rank; i++) s[i] = 100 * 10 ** (-2 * (rank > 1 ? i / (rank - 1) : 0));
  return s;
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
}

/**
 * Runs `f` once on a small random matrix so that one-time costs (shader compilation, pipeline
 * creation, thread start-up) stay out of the timing. Errors are ignored: the timed call reports its own.
 */
async function warmUp(eng: Engine, f: (w: Mat) => Promise<Mat[]>, rows: number, cols: number): Promise<void> {
  const w = eng.randn(rows, cols, { seed: 7 });
  try {
    for (const x of await f(w)) x.dispose();
  } catch {
    // ignored
  } finally {
    w.dispose();
  }
}

/** ||G - I||_F for a square Mat. */
async function defectFromIdentity(eng: Engine, G: Mat): Promise<number> {
  const I = eng.eye(G.rows);
  const D = await eng.sub(G, I);
  const v = await eng.norm(D);
  I.dispose();
  D.dispose();
  return v;
}

/** ||P - A||_F / ||A||_F. */
async function relDiff(eng: Engine, P: Mat, A: Mat, normA: number): Promise<number> {
  const D = await eng.sub(P, A);
  const v = await eng.norm(D);
  D.dispose();
  return v / normA;
}

export const command: Command = {
  name: 'demo',
  summary: 'run GEMM, QR and SVD on a seeded test problem and report time and accuracy',
  description:
    'Builds A = U diag(s) V^T + noise * N(0,1) with known singular values s (log-spaced from 100 to 1, ' +
    "U and V random orthonormal; all from the engine's seeded Philox randn), then times\n" +
    '  gemm  C = A^T A        (checked against f64 dot products of sampled entries)\n' +
    '  qr    A = Q R          (||QR - A|| / ||A||, ||Q^T Q - I||)\n' +
    '  svd   A = U S V^T      (||U S V^T - A|| / ||A||, orthogonality, leading S vs the known s)\n' +
    'Times include one small readback to make sure the device has finished. Each relation is checked ' +
    "against a loose tolerance (a multiple of the unit roundoff; for singular values Weyl's bound " +
    '||E||_2 ~ noise (sqrt(m) + sqrt(n))); the exit code is 1 when a step fails or a check does not hold.',
  flags: [
    {
      name: 'size',
      type: 'string',
      value: 'M,N',
      default: '2000,500',
      description: 'rows and columns of the test matrix',
      parse: parseSize,
    },
    { name: 'rank', type: 'int', min: 1, value: 'R', default: 10, description: 'rank of the noiseless part' },
    { name: 'noise', type: 'number', min: 0, value: 'X', default: 1e-3, description: 'standard deviation of the added Gaussian noise' },
    { name: 'seed', type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, value: 'N', default: 1, description: 'random seed' },
    { name: 'steps', type: 'string', value: 'LIST', default: 'gemm,qr,svd', description: 'which steps to run', parse: parseSteps },
  ],
  examples: ['lowrank demo', 'lowrank demo --backend native --dtype f64 --size 4000,300', 'lowrank demo --steps gemm,qr --json'],
  async run(ctx: Context) {
    const sizeFlag = ctx.flag<[number, number] | string>('size');
    const [m, n] = typeof sizeFlag === 'string' ? parseSize(sizeFlag) : sizeFlag;
    const stepsFlag = ctx.flag<Step[] | string>('steps');
    const steps = typeof stepsFlag === 'string' ? parseSteps(stepsFlag) : stepsFlag;
    const rank = ctx.flag<number>('rank');
    const noise = ctx.flag<number>('noise');
    const seed = ctx.flag<number>('seed');
    const json = ctx.json;
    if (rank > Math.min(m, n)) throw new UsageError(`--rank ${rank} exceeds min(M, N) = ${Math.min(m, n)}`);

    // A, QR's Q, the SVD's factors and the products compared against A are all m x n.
    ctx.checkMemory(`demo on a ${m} x ${n} matrix`, {
      'dense m x n matrices (A, Q, products)': 6 * ctx.elemBytes * m * n,
      'host copies': 3 * 8 * m * n,
    });
    const eng = await ctx.openEngine();
    const say = (line = '') => {
      if (!json) ctx.out(line);
    };
    try {
      const info = eng.info();
      const u = eng.dtype === 'f64' ? 2 ** -53 : 2 ** -24;
      const where =
        info.backend === 'webgpu'
          ? `adapter ${info.adapter?.description || info.adapter?.device || '?'}`
          : `${info.threads} threads, ISA ${info.isa ?? '?'}, GEMM ${info.gemmKernel ?? '?'}`;
      say(`lowrank demo on ${eng.backend}/${eng.dtype} (${where})`);
      if (info.autoReason) say(`  backend 'auto': ${dropLongParens(info.autoReason)}`);

      // ---- the test problem ----------------------------------------------------------------------
      const [A, build] = await timed(async () => {
        const s = knownSpectrum(rank);
        const gu = Float64Array.from(await eng.randn(m, rank, { seed }).toArray());
        const gv = Float64Array.from(await eng.randn(n, rank, { seed: seed + 1 }).toArray());
        orthonormalizeHost(gu, m, rank);
        orthonormalizeHost(gv, n, rank);
        for (let i = 0; i < m; i++) for (let j = 0; j < rank; j++) gu[i * rank + j] *= s[j];
        const US = eng.matrix(gu, m, rank),
          V = eng.matrix(gv, n, rank);
        const L = await eng.matmul(US, V, { transB: true });
        US.dispose();
        V.dispose();
        if (noise === 0) return L;
        const E = eng.randn(m, n, { seed: seed + 2 });
        const out = await eng.axpby(1, L, noise, E);
        L.dispose();
        E.dispose();
        return out;
      });
      const known = knownSpectrum(rank);
      const normA = await eng.norm(A);
      const noise2 = noise * (Math.sqrt(m) + Math.sqrt(n));
      say(
        `problem: A = U diag(s) V^T + ${fmtNum(noise)} N(0,1), ${m} x ${n}, rank ${rank}, s = ${fmtNum(known[0])} .. ${fmtNum(known[rank - 1])} ` +
          `(log-spaced), seed ${seed}`,
      );
      say(`         ||A||_F = ${fmtNum(normA, 4)}, noise ||E||_2 ~ ${fmtNum(noise2)}, built in ${fmtMs(build)}`);
      say();

      const tolRel = 10 * Math.sqrt(m * n) * u;
      const check = (name: string, value: number, tol: number): Check => ({ name, value, tol, ok: value <= tol });
      const results: StepResult[] = [];
      const printStep = (r: StepResult) => {
        if (json) return;
        const head = `${r.step.padEnd(5)} ${r.what}`;
        const time = r.ms === undefined ? '' : `${fmtMs(r.ms)}${r.gflops !== undefined ? `  ${fmtNum(r.gflops)} GFLOP/s` : ''}`;
        ctx.out(time ? `${head.padEnd(52)} ${time}` : head);
        if (r.note) ctx.out(`      (${r.note})`);
        if (r.error) ctx.out(`      FAILED: ${r.error}`);
        for (const c of r.checks)
          ctx.out(`      ${c.name.padEnd(46)} ${fmtNum(c.value).padStart(9)}  (tol ${fmtNum(c.tol)})  ${c.ok ? 'ok' : 'FAILED'}`);
        if (r.spectrum) {
          ctx.out(`        ${'i'.padStart(4)}  ${'known s_i'.padStart(12)}  ${'computed S_i'.padStart(14)}  ${'|diff|'.padStart(9)}`);
          for (const e of r.spectrum)
            ctx.out(
              `        ${String(e.i).padStart(4)}  ${(Number.isNaN(e.known) ? '0 + noise' : fmtNum(e.known, 6)).padStart(12)}  ${fmtNum(e.computed, 8).padStart(14)}  ` +
                `${(Number.isNaN(e.known) ? '' : fmtNum(Math.abs(e.computed - e.known))).padStart(9)}`,
            );
        }
      };

      /** Runs one step's body under an activity line, records a thrown error in r, and prints r. */
      const runStep = async (r: StepResult, body: () => Promise<void>): Promise<void> => {
        const busy = ctx.activity(`${r.step}: running`);
        try {
          await body();
        } catch (e) {
          r.error = (e as Error).message;
        } finally {
          busy.stop();
        }
        results.push(r);
        printStep(r);
      };

      // ---- GEMM ----------------------------------------------------------------------------------
      if (steps.includes('gemm')) {
        const r: StepResult = { step: 'gemm', what: `C = A^T A (${n} x ${n}, ${fmtNum((2 * m * n * n) / 1e9)} GFLOP)`, checks: [] };
        await runStep(r, async () => {
          const warm = await eng.matmul(A, A, { transA: true });
          await eng.norm(warm, 'max');
          warm.dispose();
          const [C, ms] = await timed(async () => {
            const C = await eng.matmul(A, A, { transA: true });
            await eng.norm(C, 'max');
            return C;
          });
          r.ms = ms;
          r.gflops = (2 * m * n * n) / (ms * 1e6);
          const hA = await A.toArray();
          const hC = await C.toArray();
          C.dispose();
          const colNorm = new Float64Array(n);
          for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) colNorm[j] += hA[i * n + j] ** 2;
          for (let j = 0; j < n; j++) colNorm[j] = Math.sqrt(colNorm[j]);
          const rng = new PhiloxRng(seed, 3);
          const pick = (k: number): number => rng.int(k);
          const samples = Math.min(256, n * n);
          let worst = 0;
          for (let t = 0; t < samples; t++) {
            const diag = t < Math.min(16, n); // a few diagonal entries, then random ones
            const i = diag ? t : pick(n),
              j = diag ? t : pick(n);
            let ref = 0;
            for (let p = 0; p < m; p++) ref += hA[p * n + i] * hA[p * n + j];
            const scale = colNorm[i] * colNorm[j];
            if (scale > 0) worst = Math.max(worst, Math.abs(hC[i * n + j] - ref) / scale);
          }
          r.checks.push(check(`max |C_ij - ref| / (|a_i||a_j|), ${samples} entries`, worst, 2 * m * u));
        });
      }

      // ---- QR ------------------------------------------------------------------------------------
      if (steps.includes('qr')) {
        const tall = m >= n;
        const r: StepResult = { step: 'qr', what: `${tall ? 'A' : 'A^T'} = Q R (${Math.max(m, n)} x ${Math.min(m, n)})`, checks: [] };
        if (!tall) r.note = 'A is wide: thin QR needs rows >= cols, so A^T is factored';
        await runStep(r, async () => {
          const X = tall ? A : await eng.transpose(A);
          await warmUp(
            eng,
            async (w) => {
              const f = await eng.qr(w);
              await eng.norm(f.R, 'max');
              return [f.Q, f.R];
            },
            Math.min(64, X.rows),
            Math.min(16, X.cols),
          );
          const [{ Q, R }, ms] = await timed(async () => {
            const f = await eng.qr(X);
            await eng.norm(f.R, 'max');
            return f;
          });
          r.ms = ms;
          const QR = await eng.matmul(Q, R);
          r.checks.push(check('||Q R - A||_F / ||A||_F', await relDiff(eng, QR, X, normA), tolRel));
          QR.dispose();
          const G = await eng.matmul(Q, Q, { transA: true });
          r.checks.push(check('||Q^T Q - I||_F', await defectFromIdentity(eng, G), tolRel));
          G.dispose();
          Q.dispose();
          R.dispose();
          if (!tall) X.dispose();
        });
      }

      // ---- SVD -----------------------------------------------------------------------------------
      if (steps.includes('svd')) {
        const k = Math.min(m, n);
        const r: StepResult = { step: 'svd', what: `A = U diag(S) V^T (k = ${k})`, checks: [] };
        await runStep(r, async () => {
          await warmUp(
            eng,
            async (w) => {
              const f = await eng.svd(w);
              await eng.norm(f.V, 'max');
              return [f.U, f.V];
            },
            Math.min(64, m),
            Math.min(16, n),
          );
          const [{ U, S, V }, ms] = await timed(async () => {
            const f = await eng.svd(A);
            await eng.norm(f.V, 'max');
            return f;
          });
          r.ms = ms;
          const D = new Float64Array(k * k);
          for (let i = 0; i < k; i++) D[i * k + i] = S[i];
          const Dm = eng.matrix(D, k, k);
          const US = await eng.matmul(U, Dm);
          const P = await eng.matmul(US, V, { transB: true });
          Dm.dispose();
          US.dispose();
          r.checks.push(check('||U S V^T - A||_F / ||A||_F', await relDiff(eng, P, A, normA), tolRel));
          P.dispose();
          const GU = await eng.matmul(U, U, { transA: true });
          r.checks.push(check('||U^T U - I||_F', await defectFromIdentity(eng, GU), tolRel));
          const GV = await eng.matmul(V, V, { transA: true });
          r.checks.push(check('||V^T V - I||_F', await defectFromIdentity(eng, GV), tolRel));
          GU.dispose();
          GV.dispose();
          U.dispose();
          V.dispose();
          let order = 0;
          for (let i = 0; i < k; i++) if (S[i] < 0 || (i > 0 && S[i] > S[i - 1])) order++;
          r.checks.push(check('entries of S negative or out of order', order, 0));
          // Weyl: |S_i - s_i| <= ||E||_2 (+ roundoff); 1.2 covers the fluctuation of ||E||_2.
          const bound = 1.2 * noise2 + tolRel * known[0];
          let worst = 0;
          for (let i = 0; i < rank; i++) worst = Math.max(worst, Math.abs(S[i] - known[i]));
          r.checks.push(check(`max_{i<=${rank}} |S_i - s_i| (Weyl: <= ||E||_2)`, worst, bound));
          if (rank < k) r.checks.push(check(`S_${rank + 1} (noise floor, <= ||E||_2)`, S[rank], bound));
          const show = Math.min(rank, 5);
          r.spectrum = [];
          for (let i = 0; i < show; i++) r.spectrum.push({ i: i + 1, known: known[i], computed: S[i] });
          if (rank < k) r.spectrum.push({ i: rank + 1, known: NaN, computed: S[rank] });
        });
      }

      const failed = results.filter((r) => r.error !== undefined || r.checks.some((c) => !c.ok));
      if (json) {
        ctx.report({
          backend: eng.backend,
          dtype: eng.dtype,
          info,
          problem: { rows: m, cols: n, rank, noise, seed, known: Array.from(known), normA, noiseNorm2: noise2, buildMs: build },
          steps: results.map((r) => ({
            ...r,
            spectrum: r.spectrum?.map((e) => ({ ...e, known: Number.isNaN(e.known) ? null : e.known })),
          })),
          ok: failed.length === 0,
        });
      } else {
        if (failed.length === 0) {
          say();
          say(`all checks passed (${results.map((r) => r.step).join(', ')})`);
        }
      }
      if (failed.length > 0) {
        const what = failed.map((r) =>
          r.error !== undefined
            ? `${r.step} (${r.error})`
            : `${r.step} (${r.checks
                .filter((c) => !c.ok)
                .map((c) => c.name)
                .join('; ')})`,
        );
        throw new Error(`${failed.length} of ${results.length} steps failed: ${what.join(', ')}`);
      }
      return 0;
    } finally {
      await eng.dispose();
    }
  },
};

/** Drops parenthesized asides longer than 40 characters (an adapter's full description) from a one-line note. */
function dropLongParens(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') {
      let depth = 0,
        j = i;
      for (; j < s.length; j++) {
        if (s[j] === '(') depth++;
        else if (s[j] === ')' && --depth === 0) break;
      }
      if (j - i > 40) {
        out = out.trimEnd();
        i = j;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}
