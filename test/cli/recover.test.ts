/** `lowrank recover`: the printed error curve, recovery.svg, usage errors. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, suiteTempDir } from './harness.js';

describe('lowrank recover', () => {
  const dir = suiteTempDir('lowrank-cli-recover-');

  it('refuses a run estimated above --max-memory, naming the size and the limit', async () => {
    const r = await run([
      'recover',
      '--n',
      '2000',
      '--rank',
      '2',
      '--m',
      '100000',
      '--measurements',
      'gaussian',
      '--storage',
      'dense',
      '--backend',
      'native',
      '--max-memory',
      '1G',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /recovery with n = 2000, rank 2, 100000 measurements would need about [\d.]+ TiB of memory \(stored measurement matrix/,
    );
    expect(r.err).toMatch(/more than the limit 1 GiB/);
  });

  it('prints a decreasing error curve and writes recovery.svg', { timeout: 120_000 }, async () => {
    const out = path.join(dir, 'run');
    const r = await run([
      'recover',
      '--n',
      '12',
      '--rank',
      '2',
      '--overparam',
      '4',
      '--outliers',
      '0.2',
      '--m',
      '400',
      '--iters',
      '800',
      '--every',
      '100',
      '--seed',
      '3',
      '--backend',
      'native',
      '--dtype',
      'f64',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/X\*: 12 x 12, rank 2; 400 Gaussian measurements \(dense\), \d+ corrupted \(uniform\); U: 12 x 4; native\/f64/);
    const rows = [...r.out.matchAll(/^\s+(\d+)\s+([\d.e+-]+)\s+([\d.e+-]+)\s+([\d.e+-]+)$/gm)].map((m) => ({
      iter: Number(m[1]),
      err: Number(m[2]),
    }));
    expect(rows.map((x) => x.iter)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800]);
    expect(rows[0].err).toBeCloseTo(1, 2);
    expect(rows[4].err).toBeLessThan(rows[0].err);
    expect(rows[8].err).toBeLessThan(rows[4].err);
    const fin = /final relative error ([\d.e+-]+) after 800 iterations/.exec(r.out);
    expect(fin).not.toBeNull();
    expect(Number(fin![1])).toBeLessThan(1e-3);
    expect(Number(fin![1])).toBe(rows[rows.length - 1].err);
    const svg = path.join(out, 'recovery.svg');
    expect(existsSync(svg)).toBe(true);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  });

  it('usage errors exit with code 2', async () => {
    for (const [argv, re] of [
      [['recover', '--rank', '2'], /--n is required/],
      [['recover', '--n', '5'], /--rank is required/],
      [['recover', '--n', '5', '--rank', '6'], /exceeds --n/],
      [['recover', '--n', '5', '--rank', '2', '--overparam', '9'], /--overparam 9 exceeds/],
      [['recover', '--n', '5', '--rank', '2', '--outliers', '1'], /--outliers/],
      [['recover', '--n', '5', '--rank', '2', '--step', '2'], /--step/],
      [['recover', '--n', '5', '--rank', '2', '--warmup', 'soon'], /--warmup/],
      [['recover', '--n', '5', '--rank', '2', '--measurements', 'entries', '--m', '26'], /n\^2/],
    ] as [string[], RegExp][]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(re);
    }
  });

  it('recovery.svg: the legend covers neither curve', async () => {
    const out = path.join(dir, 'legend');
    const r = await run(
      [
        'recover',
        '--n',
        '20',
        '--rank',
        '2',
        '--overparam',
        '5',
        '--m',
        '600',
        '--outliers',
        '0.2',
        '--kind',
        'cauchy',
        '--iters',
        '300',
      ].concat(['--out', out, '--backend', 'native', '--quiet']),
    );
    expect(r.code, r.err).toBe(0);
    const svg = readFileSync(path.join(out, 'recovery.svg'), 'utf8');
    const box = /<g class="legend"><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(svg)!.slice(1).map(Number);
    const curves = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1].split(' ').map((q) => q.split(',').map(Number)));
    expect(curves).toHaveLength(2);
    for (const c of curves) {
      const inside = c.filter(([x, y]) => x >= box[0] && x <= box[0] + box[2] && y >= box[1] && y <= box[1] + box[3]);
      expect(inside).toEqual([]);
    }
  });
});
