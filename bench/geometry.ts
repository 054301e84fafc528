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
 * WebGPU runs where the adapter's storage-buffer limit allows (lavapipe: 128 MiB per binding), else at
 * the largest size that fits, labelled.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { codingRate, engine, flagAggregate, kSubspaces, writeNpy, type Engine } from '../ts/index.js';
import type { BenchArgs } from './lib/args.js';
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

export async function runGeometry(args: BenchArgs): Promise<void> {
  resetClock();
  const suite = 'geometry';
  const quick = args.quick;
  const header = startHeader(suite, args);
  const py = findPython()?.exe;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lowrank-bench-geometry-'));
  const rows: Row[] = [];
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
            const [t, r] = await sec(() =>
              eng!.scope(async () => {
                const Xm = eng!.matrix(rowsN === n ? X : X.subarray(0, rowsN * D), rowsN, D);
                return kSubspaces(Xm, { K, d, init: 'random', restarts: 1, maxIter: 20, seed: 0 });
              }),
            );
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
              const [t, res] = await sec(() =>
                eng!.scope(async () => {
                  const Gm = eng!.matrix(Dn === sizes.flag.D ? G : G.subarray(0, Dn * sizes.flag.p), Dn, sizes.flag.p);
                  const out = await flagAggregate(Gm, { rank: r, iters: 10 });
                  return { iters: out.iters, obj: out.objective };
                }),
              );
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
    "codingRate: R(Z) and dR/dZ for unit-norm Gaussian rows, eps^2 0.5 (median of 3 warm runs; WebGPU one warm run). flagAggregate: 56 honest gradients g* + 0.8 noise / sqrt(D), 4 identical 5 v, 4 huge random; at most 10 IRLS iterations, stopping at the first non-decrease. numpy's 'reference formula' row evaluates the iteration as the official code does (a weighted D x p SVD per iteration), its 'Gram route' row the way lowrank does (p x p work after one Gram).",
  ];
  const text = [
    `lowrank benchmark: subspace geometry${quick ? ' — QUICK SMOKE RUN' : ''}`,
    ...pairs.map(([k, v]) => `${k.padEnd(8)}: ${v}`),
    '',
    ...what,
    '',
    textTable(h, t),
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
    mk.end,
  ].join('\n');
  process.stdout.write(text + '\n\n' + md + '\n');
  if (args.write) {
    const json = { suite, schema: 1, quick, sizes, machine: header.machine, versions: header.versions, addon: header.addon, results: rows };
    const files = writeResults(suite, quick, args.tag, header.machine.date, json, md);
    progress(suite, `wrote ${files.json} and ${files.md}`);
  }
}
