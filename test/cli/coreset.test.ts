/** `lowrank coreset`: outputs, the printed distortion, usage errors. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../ts/index.js';
import { PhiloxRng } from '../../ts/rng/philox.js';
import { run, suiteTempDir } from './harness.js';

describe('lowrank coreset', () => {
  const dir = suiteTempDir('lowrank-cli-coreset-');
  const n = 1500,
    d = 4;
  const rng = new PhiloxRng(3, 0);
  const a = Float64Array.from({ length: n * d }, (_, e) => rng.normal() * (Math.floor(e / d) < 10 ? 30 : 1));

  it('refuses a run estimated above --max-memory, naming the size and the limit', async () => {
    const file = path.join(dir, 'M.npy');
    await writeNpy(file, a, [n, d]);
    const r = await run([
      'coreset',
      file,
      '--p',
      '1',
      '--size',
      '300',
      '--out',
      path.join(dir, 'mm'),
      '--backend',
      'native',
      '--max-memory',
      '64K',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/coreset of the 1500 x 4 matrix in \S*M\.npy would need about [\d.]+ KiB .*more than the limit 64 KiB/);
  });

  it('writes indices.npy and weights.npy and prints the distortion', async () => {
    const file = path.join(dir, 'A.npy');
    await writeNpy(file, a, [n, d]);
    const out = path.join(dir, 'c');
    const r = await run([
      'coreset',
      file,
      '--p',
      '1',
      '--size',
      '300',
      '--out',
      out,
      '--backend',
      'native',
      '--dtype',
      'f64',
      '--trials',
      '200',
      '--seed',
      '2',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/1500 x 4; \d+ rows kept \(expected 300\) with lewis scores, p = 1/);
    const m = /distortion ([\d.e-]+)/.exec(r.out);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![1])).toBeLessThan(0.5);
    const idx = (await readNpy(path.join(out, 'indices.npy'))).data,
      w = (await readNpy(path.join(out, 'weights.npy'))).data;
    expect(idx.length).toBe(w.length);
    for (let k = 0; k < idx.length; k++) {
      expect(Number.isInteger(idx[k]) && idx[k] >= 0 && idx[k] < n).toBe(true);
      expect(w[k]).toBeGreaterThanOrEqual(1);
      if (k > 0) expect(idx[k]).toBeGreaterThan(idx[k - 1]);
    }
    for (let i = 0; i < 10; i++) expect(Array.from(idx)).toContain(i); // the heavy rows are always kept
  });

  it('usage errors exit with code 2', async () => {
    const file = path.join(dir, 'A.npy');
    await writeNpy(file, a, [n, d]);
    for (const [argv, re] of [
      [['coreset', file, '--out', dir], /--size is required/],
      [['coreset', file, '--size', '10'], /--out DIR is required/],
      [['coreset', file, '--size', '10', '--out', dir, '--scores', 'best'], /--scores/],
      [['coreset', file, '--size', '0', '--out', dir], /--size/],
    ] as [string[], RegExp][]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(re);
    }
  });
});
