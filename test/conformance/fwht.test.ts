/**
 * engine.fwht: the unnormalised Walsh-Hadamard transform of every column against the O(L^2) host
 * reference H[i, k] = (-1)^popcount(i & k) (per-entry tolerance c log2(L) u sum|x| of the column), the
 * identity H H = L I up to 2^16, shapes that exercise the workgroup-memory blocks (L > 2048, several
 * columns, many columns) and the power-of-two check.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../ts/backends/native/addon.js';
import { engine } from '../../ts/index.js';
import { describeEngines, hostRandn } from '../helpers.js';

function popParity(v: number): number {
  let p = 0;
  while (v) {
    p ^= 1;
    v &= v - 1;
  }
  return p;
}

/** y = H x per column of x (L x b, row-major), f64. */
function refFwht(x: ArrayLike<number>, L: number, b: number): Float64Array {
  const y = new Float64Array(L * b);
  for (let i = 0; i < L; i++)
    for (let k = 0; k < L; k++) {
      const s = popParity(i & k) ? -1 : 1;
      for (let j = 0; j < b; j++) y[i * b + j] += s * x[k * b + j];
    }
  return y;
}

describeEngines('fwht', (h) => {
  it('equals the O(L^2) Hadamard product for L = 1, 2, 4, 64, 1024, 4096 and b = 1, 3 (and L = 2, b = 5000)', async () => {
    const { eng, u } = h;
    const cases: Array<[number, number]> = [
      [1, 1],
      [1, 3],
      [2, 1],
      [2, 3],
      [4, 3],
      [64, 1],
      [64, 3],
      [1024, 1],
      [1024, 3],
      [4096, 3],
      [2, 5000],
    ];
    for (const [L, b] of cases) {
      const X = eng.matrix(hostRandn(L, b, L + b), L, b);
      const x = await X.toArray();
      const Y = await eng.fwht(X);
      expect([Y.rows, Y.cols]).toEqual([L, b]);
      const y = await Y.toArray();
      X.dispose();
      Y.dispose();
      const ref = refFwht(x, L, b);
      const colAbs = new Float64Array(b);
      for (let i = 0; i < L * b; i++) colAbs[i % b] += Math.abs(x[i]);
      const stages = Math.max(1, Math.log2(L));
      let worst = 0;
      for (let i = 0; i < L * b; i++) worst = Math.max(worst, Math.abs(y[i] - ref[i]) / (stages * u * colAbs[i % b]));
      expect(worst, `L = ${L}, b = ${b}`).toBeLessThan(4);
    }
  });

  it('H H = L I: twice transformed is L times the input (L = 2^16, and 2^13 with 2 columns)', async () => {
    const { eng, u } = h;
    for (const [L, b] of [
      [2 ** 16, 1],
      [2 ** 13, 2],
    ] as const) {
      const X = eng.matrix(hostRandn(L, b, 5), L, b);
      const Y = await eng.fwht(X);
      const Z = await eng.fwht(Y);
      const R = await eng.axpby(1, Z, -L, X);
      const err = await eng.norm(R, 'fro');
      const nx = await eng.norm(X, 'fro');
      X.dispose();
      Y.dispose();
      Z.dispose();
      R.dispose();
      // each stage adds at most ~u relative (in the 2-norm, per column); two transforms of log2 L stages
      expect(err / (L * nx)).toBeLessThan(4 * Math.log2(L) * u);
    }
  });

  it('the transform of the identity is H itself (symmetric, +-1 entries)', async () => {
    const { eng } = h;
    const I = eng.eye(8);
    const H = await eng.fwht(I);
    const hh = await H.toArray();
    I.dispose();
    H.dispose();
    for (let i = 0; i < 8; i++) for (let k = 0; k < 8; k++) expect(hh[i * 8 + k]).toBe(popParity(i & k) ? -1 : 1);
  });

  it('rejects a non-power-of-two number of rows with a RangeError naming fwht', async () => {
    const { eng } = h;
    for (const [m, n] of [
      [3, 1],
      [6, 2],
      [1000, 1],
      [2049, 1],
    ]) {
      const X = eng.zeros(m, n);
      await expect(eng.fwht(X)).rejects.toThrow(RangeError);
      await expect(eng.fwht(X)).rejects.toThrow(/fwht/);
      X.dispose();
    }
    await expect(eng.fwht('x' as never)).rejects.toThrow(TypeError);
  });
});

describe('fwht (native threads)', () => {
  it('gives bit-identical results on 1 and 4 threads', async () => {
    const outs: Float32Array[] = [];
    for (const threads of [1, 4]) {
      const eng = await engine({ backend: 'native', dtype: 'f32', threads });
      const X = eng.matrix(hostRandn(2 ** 15, 3, 9), 2 ** 15, 3);
      const Y = await eng.fwht(X);
      outs.push((await Y.toArray()) as Float32Array);
      X.dispose();
      Y.dispose();
      await eng.dispose();
    }
    expect(outs[1]).toEqual(outs[0]);
  });
});

describe('fwht (addon binding)', () => {
  it('rejects a length that is not a power of two and mismatched arrays', () => {
    const addon = loadAddon();
    expect(() => addon.fwht(new Float32Array(3), new Float32Array(3), 3, 1, 1)).toThrow(/fwht: argument 'L' must be a power of two/);
    expect(() => addon.fwht(new Float32Array(4), new Float32Array(3), 4, 1, 1)).toThrow(RangeError);
    expect(() => addon.fwht(new Float32Array(4), new Float64Array(4), 4, 1, 1)).toThrow(/fwht/);
  });
});
