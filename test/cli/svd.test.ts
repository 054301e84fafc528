/** `lowrank svd`: dense .npy, sparse .mtx and --stream inputs; outputs; usage errors. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy, writeMtx, writeNpy } from '../../ts/index.js';
import { withSpectrum } from '../helpers.js';
import { run, suiteTempDir } from './harness.js';

describe('lowrank svd', () => {
  const dir = suiteTempDir('lowrank-cli-svd-');
  const m = 300,
    n = 120;
  const s = Float64Array.from([50, 20, 10, 5, 2]);
  const { A: a } = withSpectrum(m, n, s, 3);

  /** max over entries of |U S V^T - A| / max |A| from the written files. */
  function reconstructionError(out: string, k: number): number {
    const U = readNpySync(path.join(out, 'U.npy')),
      S = readNpySync(path.join(out, 'S.npy')),
      V = readNpySync(path.join(out, 'V.npy'));
    expect(U.shape).toEqual([m, k]);
    expect(V.shape).toEqual([n, k]);
    expect(S.shape[0]).toBe(k);
    let worst = 0,
      amax = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let x = 0;
        for (let c = 0; c < k; c++) x += U.data[i * k + c] * S.data[c] * V.data[j * k + c];
        worst = Math.max(worst, Math.abs(x - a[i * n + j]));
        amax = Math.max(amax, Math.abs(a[i * n + j]));
      }
    return worst / amax;
  }

  it('dense .npy: writes U, S, V and the spectrum plot; exact for an exactly low-rank input', async () => {
    const file = path.join(dir, 'A.npy');
    await writeNpy(file, a, [m, n]);
    const out = path.join(dir, 'out-dense');
    const r = await run(['svd', file, '--rank', '5', '--out', out, '--backend', 'native', '--dtype', 'f64', '--error']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/300 x 120, rank 5 on native\/f64/);
    // the default powerIters 'auto' stops by the a-posteriori rule (README, Randomized SVD)
    expect(r.out).toMatch(/krylov, q = \d, p = 10, .*, stopped \((converged|cap|basis)\) after \d of at most \d iterations/);
    expect(r.out).toMatch(/\|\|A - U S V\^T\|\|_F \/ \|\|A\|\|_F = /);
    expect(reconstructionError(out, 5)).toBeLessThan(1e-12);
    const S = (await readNpy(path.join(out, 'S.npy'))).data;
    for (let i = 0; i < 5; i++) expect(Math.abs(S[i] - s[i]) / s[i]).toBeLessThan(1e-12);
    const svg = readFileSync(path.join(out, 'spectrum.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toMatch(/Leading singular values/);
  });

  it('krylov on f32, and --stream in row blocks with a progress line per block', async () => {
    const file = path.join(dir, 'A32.npy');
    await writeNpy(file, Float32Array.from(a), [m, n]);
    const r = await run(['svd', file, '-k', '3', '-o', path.join(dir, 'out-kr'), '--method', 'krylov', '--backend', 'native']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/krylov/);
    const Sk = readNpySync(path.join(dir, 'out-kr', 'S.npy')).data;
    for (let i = 0; i < 3; i++) expect(Math.abs(Sk[i] - s[i]) / s[i]).toBeLessThan(1e-5);
    const st = await run([
      'svd',
      file,
      '--rank',
      '5',
      '--stream',
      '--block-rows',
      '64',
      '--out',
      path.join(dir, 'out-st'),
      '--backend',
      'native',
    ]);
    expect(st.code, st.err).toBe(0);
    expect(st.out).toMatch(/single-pass sketch, range 11, co-range 23, 5 blocks/);
    expect(reconstructionError(path.join(dir, 'out-st'), 5)).toBeLessThan(1e-4);
  });

  it('sparse .mtx input uses the sparse path', async () => {
    const row: number[] = [],
      col: number[] = [],
      val: number[] = [];
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++)
        if ((i * 7 + j * 3) % 11 === 0) {
          row.push(i);
          col.push(j);
          val.push(a[i * n + j]);
        }
    const file = path.join(dir, 'S.mtx');
    await writeMtx(file, { kind: 'coordinate', rows: m, cols: n, row, col, val });
    const r = await run(['svd', file, '--rank', '4', '--out', path.join(dir, 'out-sp'), '--backend', 'native', '--dtype', 'f64']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`sparse \\(nnz ${row.length}\\)`));
  });

  it('refuses, before allocating, runs whose declared sizes exceed --max-memory', async () => {
    // a 3-line Matrix Market file declaring 10^8 x 10^8 with one entry (used to end in an OOM kill)
    const huge = path.join(dir, 'huge.mtx');
    writeFileSync(huge, '%%MatrixMarket matrix coordinate real general\n100000000 100000000 1\n1 1 1.0\n');
    // (an explicit limit so that the test does not depend on this machine's memory; the default is half of it)
    const r = await run(['svd', huge, '--rank', '5', '--out', path.join(dir, 'out-huge'), '--backend', 'native', '--max-memory', '16G']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/more than the limit 16 GiB/);
    expect(r.err).toMatch(
      /svd of the 100000000 x 100000000 matrix in \S*huge\.mtx at rank 5 would need about [\d.]+ [GT]iB of memory \(.*dense blocks.*\), more than the limit [\d.]+ [MGT]iB/,
    );
    expect(r.err).toMatch(/--max-memory/);
    // a real small file under a small limit: refused, naming the size and the limit; fine with a larger one
    const file = path.join(dir, 'A.npy');
    await writeNpy(file, a, [m, n]);
    const small = await run([
      'svd',
      file,
      '--rank',
      '5',
      '--out',
      path.join(dir, 'out-small'),
      '--backend',
      'native',
      '--max-memory',
      '100K',
    ]);
    expect(small.code).toBe(1);
    expect(small.err).toMatch(/300 x 120 matrix .* would need about [\d.]+ [KM]iB .*more than the limit 100 KiB/);
    const st = await run([
      'svd',
      file,
      '--rank',
      '5',
      '--stream',
      '--out',
      path.join(dir, 'out-small'),
      '--backend',
      'native',
      '--max-memory',
      '100K',
    ]);
    expect(st.code).toBe(1);
    expect(st.err).toMatch(/range and test sketches/);
    const ok = await run(['svd', file, '--rank', '5', '--out', path.join(dir, 'out-small'), '--backend', 'native', '--max-memory', '64M']);
    expect(ok.code, ok.err).toBe(0);
    const bad = await run(['svd', file, '--rank', '5', '--out', path.join(dir, 'out-small'), '--max-memory', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--max-memory/);
  });

  it('--stream --error prints the a-posteriori error estimate; a poor single-pass answer gets a warning', async () => {
    // exactly low rank: tiny estimated error, no warning
    const file = path.join(dir, 'A.npy');
    await writeNpy(file, a, [m, n]);
    const good = await run([
      'svd',
      file,
      '--rank',
      '5',
      '--stream',
      '--error',
      '--out',
      path.join(dir, 'out-est'),
      '--backend',
      'native',
      '--dtype',
      'f64',
    ]);
    expect(good.code, good.err).toBe(0);
    const g = /\|\|A - U S V\^T\|\|_F \/ \|\|A\|\|_F ~ (\S+) \(a-posteriori estimate from 10 Gaussian test vectors/.exec(good.out);
    expect(g, good.out).not.toBeNull();
    expect(Number(g![1])).toBeLessThan(1e-10);
    expect(good.err).not.toMatch(/warning/);
    // a flat spectrum (noise): the single-pass sigma_1 is inflated; the estimate says so, with a warning
    const mm = 400,
      nn = 200;
    const { A: noise } = withSpectrum(
      mm,
      nn,
      Float64Array.from({ length: nn }, () => 1),
      7,
    );
    const nfile = path.join(dir, 'noise.npy');
    await writeNpy(nfile, Float32Array.from(noise), [mm, nn]);
    const out = path.join(dir, 'out-noise');
    const bad = await run(['svd', nfile, '--rank', '10', '--stream', '--error', '--out', out, '--backend', 'native']);
    expect(bad.code, bad.err).toBe(0);
    expect(bad.err).toMatch(/warning: .*(inflated|missed)/);
    const e = /\|\|A - U S V\^T\|\|_F \/ \|\|A\|\|_F ~ (\S+)/.exec(bad.out);
    // the true relative error of the written factors, which the estimate must track (within a factor 2)
    const U = readNpySync(path.join(out, 'U.npy')),
      S = readNpySync(path.join(out, 'S.npy')),
      V = readNpySync(path.join(out, 'V.npy'));
    let num = 0,
      den = 0;
    for (let i = 0; i < mm; i++)
      for (let j = 0; j < nn; j++) {
        let x = 0;
        for (let c = 0; c < 10; c++) x += U.data[i * 10 + c] * S.data[c] * V.data[j * 10 + c];
        num += (x - noise[i * nn + j]) ** 2;
        den += noise[i * nn + j] ** 2;
      }
    const rel = Math.sqrt(num / den);
    expect(rel).toBeGreaterThan(1); // worse than the zero matrix
    expect(Number(e![1]) / rel).toBeGreaterThan(0.5);
    expect(Number(e![1]) / rel).toBeLessThan(2);
  });

  it('--stream reports a NaN at its (row, col) in the file, not in the block', async () => {
    const bad = Float32Array.from(a);
    bad[200 * n + 7] = NaN; // row 200: in the 4th block of 64 rows
    const file = path.join(dir, 'nan.npy');
    await writeNpy(file, bad, [m, n]);
    const r = await run([
      'svd',
      file,
      '--rank',
      '3',
      '--stream',
      '--block-rows',
      '64',
      '--out',
      path.join(dir, 'out-nan'),
      '--backend',
      'native',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/entry \(row 200, col 7\) \(0-based\) = NaN is not finite/);
  });

  it('usage errors exit with code 2 and say what is wrong', async () => {
    const file = path.join(dir, 'A.npy');
    await writeNpy(file, a, [m, n]);
    writeFileSync(path.join(dir, 'A.txt'), '1 2\n3 4\n'); // neither .npy nor .mtx by name or first bytes
    const cases: [string[], RegExp][] = [
      [['svd', file, '--out', dir], /--rank is required/],
      [['svd', file, '--rank', '3'], /--out DIR is required/],
      [['svd', file, '--rank', '121', '--out', path.join(dir, 'x'), '--backend', 'native'], /--rank 121 exceeds min\(m, n\) = 120/],
      [['svd', path.join(dir, 'S.mtx'), '--rank', '2', '--stream', '--out', dir], /--stream reads \.npy files/],
      [['svd', file, '--rank', '2', '--block-rows', '4', '--out', dir], /--block-rows needs --stream/],
      [['svd', file, '--rank', '2', '--stream', '--method', 'krylov', '--out', dir], /--method does not apply to --stream/],
      [['svd', file, '--rank', '2', '-q', 'x', '--out', dir], /-q: expected 'auto'/], // the option as typed
      [['svd', path.join(dir, 'A.txt'), '--rank', '2', '--out', dir, '--backend', 'native'], /cannot tell the format/],
    ];
    for (const [argv, re] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(re);
    }
    const missing = await run(['svd', path.join(dir, 'nope.npy'), '--rank', '2', '--out', path.join(dir, 'y'), '--backend', 'native']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^lowrank svd: no such file or folder: \S*nope\.npy\n$/);
  });
});

/** Synchronous .npy reader for the tests' small outputs (little-endian f4/f8, C order). */
function readNpySync(file: string): { shape: number[]; data: Float64Array } {
  const b = readFileSync(file);
  const hlen = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + hlen).toString('latin1');
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)![1]
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map(Number);
  const f8 = /<f8/.test(header);
  const body = b.subarray(10 + hlen);
  const count = shape.reduce((x, y) => x * y, 1);
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = f8 ? body.readDoubleLE(8 * i) : body.readFloatLE(4 * i);
  return { shape, data };
}
