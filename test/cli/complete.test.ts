/** `lowrank complete`: a low-rank .mtx with a hold-out split, outputs, duplicates, usage errors. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy, writeMtx, writeNpy } from '../../ts/index.js';
import { PhiloxRng } from '../../ts/rng/philox.js';
import { withSpectrum } from '../helpers.js';
import { run, suiteTempDir } from './harness.js';

describe('lowrank complete', () => {
  const dir = suiteTempDir('lowrank-cli-complete-');
  const m = 150,
    n = 120,
    k = 3;
  const { A } = withSpectrum(m, n, [3, 2, 1], 4);
  const rng = new PhiloxRng(8, 1);
  const row: number[] = [],
    col: number[] = [],
    val: number[] = [];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++)
      if (rng.next() < 0.3) {
        row.push(i);
        col.push(j);
        val.push(A[i * n + j]);
      }
  const file = path.join(dir, 'ratings.mtx');

  it('exact solver with --holdout: per-sweep train and held-out RMSE, U.npy, V.npy, convergence.svg; U V^T recovers M', async () => {
    await writeMtx(file, { kind: 'coordinate', rows: m, cols: n, row, col, val });
    const out = path.join(dir, 'out-exact');
    const r = await run([
      'complete',
      file,
      '--rank',
      '3',
      '--holdout',
      '0.1',
      '--solver',
      'exact',
      '--iters',
      '25',
      '--out',
      out,
      '--backend',
      'native',
      '--dtype',
      'f64',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/150 x 120, \d+ observed entries/);
    expect(r.out).toMatch(/rank 3, solver exact on native\/f64/);
    const sweeps = r.out.split('\n').filter((l) => /^\s+\d+\s+\S+\s+\S+\s+\d+\.\d\d$/.test(l));
    expect(sweeps.length).toBe(25);
    const last = sweeps[24].trim().split(/\s+/).map(Number);
    expect(last[0]).toBe(25);
    expect(last[1]).toBeLessThan(1e-8); // train RMSE (entries of M are ~0.03)
    expect(last[2]).toBeLessThan(1e-8); // held-out RMSE
    const U = await readNpy(path.join(out, 'U.npy')),
      V = await readNpy(path.join(out, 'V.npy'));
    expect(U.shape).toEqual([m, k]);
    expect(V.shape).toEqual([n, k]);
    let num = 0,
      den = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += U.data[i * k + t] * V.data[j * k + t];
        num += (s - A[i * n + j]) ** 2;
        den += A[i * n + j] ** 2;
      }
    expect(Math.sqrt(num / den)).toBeLessThan(1e-7);
    const svg = readFileSync(path.join(out, 'convergence.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toMatch(/held-out RMSE/);
  });

  it('sketch solver (default) on f32 with duplicates averaged', async () => {
    const dup = path.join(dir, 'dup.mtx');
    await writeMtx(dup, {
      kind: 'coordinate',
      rows: m,
      cols: n,
      row: [...row, row[0], row[1]],
      col: [...col, col[0], col[1]],
      val: [...val, val[0], val[1]],
    });
    // a Matrix Market 'real' file computes in f64 by default (as numpy reads text); --dtype f32 asks for f32
    const r = await run([
      'complete',
      dup,
      '-k',
      '3',
      '-o',
      path.join(dir, 'out-sketch'),
      '--backend',
      'native',
      '--iters',
      '20',
      '--dtype',
      'f32',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/2 duplicates averaged/);
    expect(r.out).toMatch(/solver sketch \(sketch preconditioner, 2 CG steps\) on native\/f32/);
    const sweeps = r.out.split('\n').filter((l) => /^\s+\d+\s+\S+\s+-\s+\d+\.\d\d$/.test(l));
    expect(sweeps.length).toBe(20);
    expect(Number(sweeps[19].trim().split(/\s+/)[1])).toBeLessThan(1e-5);
  });

  it('refuses a declared 10^8 x 10^8 file before allocating', async () => {
    const huge = path.join(dir, 'huge.mtx');
    writeFileSync(huge, '%%MatrixMarket matrix coordinate real general\n100000000 100000000 1\n1 1 1.0\n');
    const r = await run([
      'complete',
      huge,
      '--rank',
      '10',
      '--out',
      path.join(dir, 'out-huge'),
      '--backend',
      'native',
      '--max-memory',
      '16G',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /completion of the 100000000 x 100000000 matrix in \S*huge\.mtx at rank 10 would need about [\d.]+ [GT]iB .*more than the limit 16 GiB/,
    );
    const small = await run([
      'complete',
      file,
      '--rank',
      '3',
      '--out',
      path.join(dir, 'out-small'),
      '--backend',
      'native',
      '--max-memory',
      '64K',
    ]);
    expect(small.code).toBe(1);
    expect(small.err).toMatch(/150 x 120 matrix .*more than the limit 64 KiB/);
  });

  it('--tol stopping early: the progress summary counts the sweeps run, like the report', async () => {
    const r = await run([
      'complete',
      file,
      '--rank',
      '3',
      '--iters',
      '30',
      '--tol',
      '1e-2',
      '--out',
      path.join(dir, 'out-tol'),
      '--backend',
      'native',
      '--dtype',
      'f64',
    ]);
    expect(r.code, r.err).toBe(0);
    const ran = Number(/(\d+) sweeps in .*stopped: change below/.exec(r.out)?.[1]);
    expect(ran).toBeGreaterThan(0);
    expect(ran).toBeLessThan(30);
    const done = /done (\d+)\/(\d+) sweeps in/.exec(r.err);
    expect(done, r.err).not.toBeNull();
    expect([Number(done![1]), Number(done![2])]).toEqual([ran, ran]);
  });

  it('usage and input errors', async () => {
    expect((await run(['complete', file, '--out', path.join(dir, 'x')])).err).toMatch(/--rank is required/);
    expect((await run(['complete', file, '--rank', '3'])).err).toMatch(/--out DIR is required/);
    expect((await run(['complete', file, '--rank', '120', '--out', path.join(dir, 'x'), '--backend', 'native'])).err).toMatch(
      /below min\(m, n\)/,
    );
    expect((await run(['complete', file, '--rank', '3', '--holdout', '1', '--out', path.join(dir, 'x')])).err).toMatch(
      /fraction in \[0, 1\)/,
    );
    expect((await run(['complete', file, '--rank', '3', '--solver', 'exact', '--inner', '3', '--out', path.join(dir, 'x')])).err).toMatch(
      /--inner applies/,
    );
    const npy = path.join(dir, 'A.npy');
    await writeNpy(npy, A, [m, n]);
    const r = await run(['complete', npy, '--rank', '3', '--out', path.join(dir, 'x')]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/\.mtx coordinate file/);
  });
});
