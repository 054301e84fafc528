/**
 * rowArgmin: per row the column of the smallest entry (first on ties) and that entry, against a host
 * scan of the stored (rounded) matrix. Awkward shapes, ties, negative values, -0 = +0, +-Inf as
 * ordinary values; a NaN anywhere is a RangeError naming rowArgmin and 'A'.
 */
import { expect, it } from 'vitest';
import type { Engine, Mat } from '../../ts/index.js';
import { describeEngines, hostRandn } from '../helpers.js';

/**
 * A matrix with +-Infinity and NaN entries (engine.matrix rejects them at input): finite part + a
 * marker matrix scaled past overflow (+-Inf), minus +Inf at the NaN positions (Inf - Inf = NaN).
 */
async function special(eng: Engine, x: number[][]): Promise<Mat> {
  const big = eng.dtype === 'f64' ? 1e300 : 1e30;
  const fin = x.map((r) => r.map((v) => (Number.isFinite(v) ? v : 0)));
  const mark = x.map((r) => r.map((v) => (v === -Infinity ? -big : Number.isFinite(v) ? 0 : big)));
  const nan = x.map((r) => r.map((v) => (Number.isNaN(v) ? big : 0)));
  const [F, P, N] = [eng.matrix(fin), eng.matrix(mark), eng.matrix(nan)];
  const [Pi, Ni] = [await eng.scale(P, big), await eng.scale(N, big)];
  const S = await eng.add(F, Pi);
  const R = await eng.sub(S, Ni);
  for (const m of [F, P, N, Pi, Ni, S]) m.dispose();
  return R;
}

/** Host reference: first column of the smallest entry. */
function refArgmin(x: ArrayLike<number>, m: number, n: number): { index: number[]; value: number[] } {
  const index: number[] = [],
    value: number[] = [];
  for (let i = 0; i < m; i++) {
    let b = 0;
    for (let j = 1; j < n; j++) if (x[i * n + j] < x[i * n + b]) b = j;
    index.push(b);
    value.push(x[i * n + b]);
  }
  return { index, value };
}

describeEngines('rowArgmin', (h) => {
  it('finds the smallest entry of every row on awkward shapes', async () => {
    const shapes: [number, number][] = [
      [1, 1],
      [1, 300],
      [300, 1],
      [2, 2],
      [127, 65],
      [257, 129],
      [3, 5000],
      [70000, 2], // more rows than one grid dimension holds: the folded 2-D dispatch
    ];
    for (const [m, n] of shapes) {
      const X = h.eng.matrix(hostRandn(m, n, 61 + m), m, n);
      const xs = await X.toArray();
      const { index, value } = await h.eng.rowArgmin(X);
      const ref = refArgmin(xs, m, n);
      expect(Array.from(index), `${m}x${n}`).toEqual(ref.index);
      expect(Array.from(value), `${m}x${n}`).toEqual(ref.value);
      X.dispose();
    }
  });

  it('ties go to the first column; negative values, -0 = +0 and +-Inf are ordinary values', async () => {
    const X = h.eng.matrix([
      [3, -2, 5, -2, -2],
      [0, -0, 0, 1, 2],
      [-0, 0, 1, 2, 3],
      [-1e30, -1e-30, -1e30, 7, 7],
      [4, 4, 4, 4, 4],
    ]);
    const { index, value } = await h.eng.rowArgmin(X);
    expect(Array.from(index)).toEqual([1, 0, 0, 0, 0]);
    const big = h.dtype === 'f64' ? -1e30 : Math.fround(-1e30);
    expect(Array.from(value)).toEqual([-2, 0, -0, big, 4]);
    X.dispose();
    const I = await special(h.eng, [
      [1, Infinity, -Infinity, -Infinity, 0],
      [Infinity, Infinity, Infinity, Infinity, Infinity],
      [Infinity, 5, -3, Infinity, -3],
    ]);
    const r0 = await h.eng.rowArgmin(I);
    expect(Array.from(r0.index)).toEqual([2, 0, 2]);
    expect(Array.from(r0.value)).toEqual([-Infinity, Infinity, -3]);
    I.dispose();
    // a long row with many equal minima spread over the lanes / threads
    const n = 1000,
      row = new Float64Array(2 * n).fill(1);
    for (const j of [777, 778, 900]) row[j] = -3;
    for (const j of [n + 64, n + 1, n + 999]) row[j] = -3;
    const L = h.eng.matrix(row, 2, n);
    const r = await h.eng.rowArgmin(L);
    expect(Array.from(r.index)).toEqual([777, 1]);
    expect(Array.from(r.value)).toEqual([-3, -3]);
    L.dispose();
  });

  it('a NaN entry is a RangeError naming rowArgmin and A', async () => {
    for (const at of [0, 7, 299]) {
      const x = Array.from({ length: 3 }, () => new Array<number>(100).fill(1));
      x[Math.floor(at / 100)][at % 100] = NaN;
      x[0][50] = -Infinity;
      const X = await special(h.eng, x);
      await expect(h.eng.rowArgmin(X)).rejects.toThrow(RangeError);
      await expect(h.eng.rowArgmin(X)).rejects.toThrow(/^rowArgmin: 'A' has a NaN entry in row \d/);
      X.dispose();
    }
    await expect(h.eng.rowArgmin({} as never)).rejects.toThrow(/rowArgmin/);
  });
});
