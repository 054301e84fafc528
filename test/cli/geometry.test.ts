/** `lowrank compare` (and `lowrank cluster`): representations and subspace clustering from .npy files. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '../../ts/index.js';
import { run, suiteTempDir } from './harness.js';

const data = (f: string) => path.join(__dirname, '..', 'algorithms', 'data', f);

describe('lowrank compare', () => {
  const dir = suiteTempDir('lowrank-cli-compare-');

  it('prints principal angles, SVCCA, PWCCA and CKA (the spec example: SVCCA 0.914886 with every direction kept)', async () => {
    const r = await run([
      'compare',
      data('svcca-example-X.npy'),
      data('svcca-example-Y.npy'),
      '--keep',
      'all',
      '--json',
      '--backend',
      'native',
      '--dtype',
      'f64',
    ]);
    expect(r.code, r.err).toBe(0);
    const o = JSON.parse(r.out);
    expect(o.svcca.mean).toBeCloseTo(0.914886, 5);
    expect(o.pwcca.mean).toBeCloseTo(0.971611, 5);
    expect(o.cka).toBeCloseTo(0.648335, 5);
    expect(o.anglesDegrees).toHaveLength(8);
    for (let i = 1; i < 8; i++) expect(o.anglesDegrees[i]).toBeGreaterThanOrEqual(o.anglesDegrees[i - 1]);
    const t = await run(['compare', data('svcca-example-X.npy'), data('svcca-example-Y.npy'), '--backend', 'native']);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/principal angles \(8, degrees, centered\)/);
    expect(t.out).toMatch(/SVCCA \(keep 0\.99; 10 and 7 directions\): mean rho 0\.9587/);
  });

  it('the same representation up to an invertible map: angles 0, CCA and CKA 1 (CKA only for orthogonal maps)', async () => {
    const n = 200,
      p = 6;
    const A = new Float64Array(n * p).map((_, i) => Math.sin(i * 0.7) + Math.cos(i * i * 0.013));
    const Q = [0.6, -0.8, 0.8, 0.6]; // rotation of the first two columns
    const B = Float64Array.from(A);
    for (let i = 0; i < n; i++) {
      const [x, y] = [A[i * p], A[i * p + 1]];
      B[i * p] = Q[0] * x + Q[1] * y;
      B[i * p + 1] = Q[2] * x + Q[3] * y;
    }
    await writeNpy(path.join(dir, 'a.npy'), A, [n, p]);
    await writeNpy(path.join(dir, 'b.npy'), B, [n, p]);
    const r = await run(['compare', path.join(dir, 'a.npy'), path.join(dir, 'b.npy'), '--json', '--backend', 'native', '--dtype', 'f64']);
    expect(r.code, r.err).toBe(0);
    const o = JSON.parse(r.out);
    expect(Math.max(...o.anglesDegrees)).toBeLessThan(1e-5);
    expect(o.svcca.mean).toBeCloseTo(1, 10);
    expect(o.cka).toBeCloseTo(1, 10);
  });

  it('refuses representations of different numbers of inputs, naming both shapes', async () => {
    await writeNpy(
      path.join(dir, 'c.npy'),
      new Float64Array(30).map((_, i) => i % 7),
      [10, 3],
    );
    await writeNpy(
      path.join(dir, 'd.npy'),
      new Float64Array(33).map((_, i) => i % 5),
      [11, 3],
    );
    const r = await run(['compare', path.join(dir, 'c.npy'), path.join(dir, 'd.npy')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/c\.npy is 10 x 3, \S*d\.npy is 11 x 3/);
  });
});

describe('lowrank cluster', () => {
  const dir = suiteTempDir('lowrank-cli-cluster-');

  it('recovers a union of subspaces: labels.npy (int64), bases.npy, angles.svg, accuracy and NMI against --labels', async () => {
    // 3 orthogonal 2-D subspaces of R^8 (coordinate blocks, rotated), 40 points each
    const D = 8,
      per = 40,
      K = 3;
    const X = new Float64Array(K * per * D);
    const truth = new Float64Array(K * per);
    let s = 7;
    const rnd = () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 2147483648 - 0.5;
    };
    for (let k = 0; k < K; k++)
      for (let i = 0; i < per; i++) {
        const row = k * per + i;
        truth[row] = k;
        X[row * D + 2 * k] = rnd();
        X[row * D + 2 * k + 1] = rnd();
      }
    await writeNpy(path.join(dir, 'x.npy'), X, [K * per, D]);
    await writeNpy(path.join(dir, 'y.npy'), Int32Array.from(truth), [K * per]);
    const out = path.join(dir, 'out');
    const r = await run(
      [
        'cluster',
        path.join(dir, 'x.npy'),
        '--K',
        '3',
        '--d',
        '2',
        '--labels',
        path.join(dir, 'y.npy'),
        '--out',
        out,
        '--json',
        '--backend',
        'native',
        '--dtype',
        'f64',
      ],
      { LOWRANK_PROGRESS: '0' },
    );
    expect(r.code, r.err).toBe(0);
    const o = JSON.parse(r.out);
    expect(o.accuracy).toBe(1);
    expect(o.nmi).toBeCloseTo(1, 12);
    expect(o.energyFraction).toBeCloseTo(1, 10);
    // orthogonal subspaces: every off-diagonal mean angle is 90 degrees
    for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) if (i !== j) expect(o.meanAngleDegrees[i * K + j]).toBeCloseTo(90, 6);
    const labels = readFileSync(path.join(out, 'labels.npy'));
    expect(labels.toString('latin1', 0, 80)).toContain("'descr': '<i8'");
    expect(readFileSync(path.join(out, 'angles.svg'), 'utf8')).toContain('Mean principal angle');
    const t = await run([
      'cluster',
      path.join(dir, 'x.npy'),
      '--K',
      '3',
      '--d',
      '2',
      '--labels',
      path.join(dir, 'y.npy'),
      '--out',
      out,
      '--backend',
      'native',
    ]);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/accuracy 1, NMI 1/);
  });

  it('refuses K d > D and labels of the wrong length, in the user terms', async () => {
    await writeNpy(
      path.join(dir, 'small.npy'),
      new Float64Array(20).map((_, i) => Math.sin(i)),
      [5, 4],
    );
    const big = await run(['cluster', path.join(dir, 'small.npy'), '--K', '3', '--d', '2', '--out', path.join(dir, 'o')]);
    expect(big.code).toBe(2);
    expect(big.err).toMatch(/--K 3 times --d 2 = 6 exceeds the 4 columns of \S*small\.npy/);
    await writeNpy(path.join(dir, 'lab.npy'), new Float64Array(4), [4]);
    const bad = await run([
      'cluster',
      path.join(dir, 'small.npy'),
      '--K',
      '2',
      '--d',
      '2',
      '--labels',
      path.join(dir, 'lab.npy'),
      '--out',
      path.join(dir, 'o'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/lab\.npy holds 4 values, but small\.npy has 5 rows/);
  });
});
