/** `lowrank compare` (and `lowrank cluster`): representations and subspace clustering from .npy files. */
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
    expect(r.err).toMatch(/c\.npy is 10 x 3, d\.npy is 11 x 3/);
  });
});
