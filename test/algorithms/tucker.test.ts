/**
 * HOSVD / Tucker (issue 16, T2): exact for a tensor of exact multilinear rank (built as core x factors),
 * the quasi-optimality bound ||T - T_hat||^2 <= sum_k tail_k (and >= max_k tail_k), orthonormal factors,
 * the mode singular values against svdvals of independently built unfoldings, ||core|| = ||T_hat||,
 * a conv kernel given as a Mat, shapes with 1s, and bad input.
 */
import { expect, it } from 'vitest';
import { hosvd, tuckerReconstruct, type Mat } from '../../ts/index.js';
import { describeEngines, diffFrob, disposeAll, frob, hostRandn, orthDefect, type Host } from '../helpers.js';

const host = async (M: Mat): Promise<Host> => Float64Array.from(await M.toArray());
const prod = (a: number[]): number => a.reduce((p, v) => p * v, 1);

/** Multi-indices of a C-order tensor. */
function multi(idx: number, shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    out[k] = idx % shape[k];
    idx = Math.floor(idx / shape[k]);
  }
  return out;
}

/** Reference Tucker product G x_k F_k (F_k row-major shape[k] x cs[k]) by the defining sum. */
function refTucker(core: Host, cs: number[], F: Host[], shape: number[]): Host {
  const n = prod(shape),
    nc = prod(cs);
  const out = new Float64Array(n);
  const cidx = Array.from({ length: nc }, (_, j) => multi(j, cs));
  for (let i = 0; i < n; i++) {
    const ii = multi(i, shape);
    let s = 0;
    for (let j = 0; j < nc; j++) {
      let t = core[j];
      const jj = cidx[j];
      for (let k = 0; k < shape.length && t !== 0; k++) t *= F[k][ii[k] * cs[k] + jj[k]];
      s += t;
    }
    out[i] = s;
  }
  return out;
}

/** Mode-k unfolding by multi-indices (independent of the library's index arithmetic). */
function refUnfold(T: Host, shape: number[], k: number): Host {
  const n = T.length,
    rest = n / shape[k];
  const others = shape.filter((_, j) => j !== k);
  const X = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ii = multi(i, shape);
    const oi = ii.filter((_, j) => j !== k);
    let c = 0;
    for (let j = 0; j < others.length; j++) c = c * others[j] + oi[j];
    X[ii[k] * rest + c] = T[i];
  }
  return X;
}

describeEngines('hosvd / tuckerReconstruct', (h) => {
  const tol = (n: number): number => (h.dtype === 'f64' ? 1e-12 : 2e-4) * Math.max(1, Math.sqrt(n) / 8);

  for (const [shape, ranks] of [
    [
      [6, 5, 4, 3],
      [3, 2, 2, 3],
    ],
    [
      [8, 3, 3, 3],
      [4, 3, 2, 2],
    ],
    [
      [7, 9],
      [3, 3],
    ],
    [
      [3, 1, 4],
      [2, 1, 2],
    ],
    [[7], [1]],
  ] as Array<[number[], number[]]>) {
    it(`exact multilinear rank ${ranks.join('x')} in ${shape.join('x')}: reconstruction exact, factors orthonormal, bound ~ 0`, async () => {
      const { eng } = h;
      const core = hostRandn(1, prod(ranks), 1);
      const F = shape.map((d, k) => hostRandn(d, ranks[k], 10 + k));
      const T = refTucker(core, ranks, F, shape);
      const res = await hosvd(h.dtype === 'f64' ? T : Float32Array.from(T), shape, ranks, { engine: eng });
      try {
        expect(res.coreShape).toEqual(ranks);
        expect(res.core.length).toBe(prod(ranks));
        expect(res.factors.map((f) => [f.rows, f.cols])).toEqual(shape.map((d, k) => [d, ranks[k]]));
        for (let k = 0; k < shape.length; k++)
          expect(orthDefect(await host(res.factors[k]), shape[k], ranks[k])).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-13 : 1e-5);
        const That = await tuckerReconstruct(res.core, res.factors, shape);
        expect(diffFrob(That, T)).toBeLessThanOrEqual(tol(T.length) * frob(T));
        expect(res.errorBound).toBeLessThanOrEqual(tol(T.length) * frob(T) * 10);
        // orthonormal factors: ||core|| = ||T_hat||
        expect(Math.abs(frob(res.core) - frob(That))).toBeLessThanOrEqual(tol(T.length) * frob(T));
      } finally {
        disposeAll(...res.factors);
      }
    });
  }

  for (const [shape, ranks] of [
    [
      [5, 4, 6],
      [2, 3, 2],
    ],
    [
      [4, 3, 3, 2],
      [2, 2, 1, 1],
    ],
    [
      [2, 9, 3],
      [2, 1, 3],
    ],
    [
      [6, 2],
      [3, 1],
    ],
  ] as Array<[number[], number[]]>) {
    it(`quasi-optimality on a random ${shape.join('x')} at ranks ${ranks.join('x')}: max_k tail_k <= err^2 <= sum_k tail_k`, async () => {
      const { eng } = h;
      const T = hostRandn(1, prod(shape), 5);
      const res = await hosvd(h.dtype === 'f64' ? T : Float32Array.from(T), shape, ranks, { engine: eng });
      try {
        const tails: number[] = [];
        for (let k = 0; k < shape.length; k++) {
          const X = eng.matrix(refUnfold(T, shape, k), shape[k], T.length / shape[k]);
          const sv = await eng.svdvals(X);
          X.dispose();
          const mine = res.modeSingularValues[k];
          for (let i = 0; i < sv.length; i++)
            expect(Math.abs(mine[i] - sv[i])).toBeLessThanOrEqual((h.dtype === 'f64' ? 1e-12 : 1e-3) * sv[0]);
          tails.push(sv.slice(ranks[k]).reduce((a, v) => a + v * v, 0));
        }
        const bound = tails.reduce((a, v) => a + v, 0);
        expect(res.errorBound ** 2).toBeCloseTo(bound, h.dtype === 'f64' ? 8 : 2);
        const That = await tuckerReconstruct(res.core, res.factors, shape);
        const err2 = diffFrob(That, T) ** 2;
        const slack = (h.dtype === 'f64' ? 1e-10 : 1e-4) * frob(T) ** 2;
        expect(err2).toBeLessThanOrEqual(bound + slack);
        expect(err2).toBeGreaterThanOrEqual(Math.max(...tails) - slack);
        // full ranks reproduce T
        const full = await hosvd(h.dtype === 'f64' ? T : Float32Array.from(T), shape, shape, { engine: eng });
        const Tf = await tuckerReconstruct(full.core, full.factors, shape);
        disposeAll(...full.factors);
        expect(diffFrob(Tf, T)).toBeLessThanOrEqual(tol(T.length) * frob(T));
      } finally {
        disposeAll(...res.factors);
      }
    });
  }

  it("method 'gram': the same subspaces as 'svd' and the bound to ~sqrt(u)", async () => {
    const { eng } = h;
    const shape = [5, 6, 7];
    const ranks = [2, 3, 3];
    const T = hostRandn(1, 210, 12);
    const t = h.dtype === 'f64' ? T : Float32Array.from(T);
    const a = await hosvd(t, shape, ranks, { engine: eng });
    const g = await hosvd(t, shape, ranks, { engine: eng, method: 'gram' });
    try {
      for (let k = 0; k < 3; k++) {
        const Ua = await host(a.factors[k]),
          Ug = await host(g.factors[k]);
        // ||Ua Ua^T - Ug Ug^T||_F via ||Ua^T Ug||_F^2 = r - ||sin theta||^2
        let c = 0;
        for (let i = 0; i < ranks[k]; i++)
          for (let j = 0; j < ranks[k]; j++) {
            let d = 0;
            for (let p = 0; p < shape[k]; p++) d += Ua[p * ranks[k] + i] * Ug[p * ranks[k] + j];
            c += d * d;
          }
        expect(ranks[k] - c).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-10 : 1e-3);
      }
      expect(Math.abs(g.errorBound - a.errorBound)).toBeLessThanOrEqual((h.dtype === 'f64' ? 1e-7 : 3e-3) * frob(T));
      const x = await tuckerReconstruct(g.core, g.factors, shape);
      expect(diffFrob(x, T)).toBeLessThanOrEqual(a.errorBound * (1 + 1e-3));
      await expect(hosvd(t, shape, ranks, { engine: eng, method: 'eig' as 'svd' })).rejects.toThrow(/hosvd.*'method'/);
    } finally {
      disposeAll(...a.factors, ...g.factors);
    }
  });

  it('a conv kernel as a Mat (out x in kh kw) equals the typed-array route; a Mat core reconstructs the same', async () => {
    const { eng } = h;
    const shape = [6, 4, 3, 3];
    const T = hostRandn(6, 36, 8);
    const K = eng.matrix(T, 6, 36);
    const a = await hosvd(K, shape, [3, 2, 2, 2]);
    const b = await hosvd(h.dtype === 'f64' ? T : Float32Array.from(T), shape, [3, 2, 2, 2], { engine: eng });
    const C = eng.matrix(a.core, 3, 8);
    try {
      expect(diffFrob(a.core, b.core)).toBeLessThanOrEqual(h.dtype === 'f64' ? 1e-12 * frob(T) : 1e-6 * frob(T));
      const x = await tuckerReconstruct(a.core, a.factors, shape);
      const y = await tuckerReconstruct(C, a.factors, shape);
      expect(diffFrob(x, y)).toBeLessThanOrEqual(tol(T.length) * frob(T));
      expect(diffFrob(x, T) ** 2).toBeLessThanOrEqual(a.errorBound ** 2 * (1 + 1e-4) + 1e-8);
    } finally {
      disposeAll(K, C, ...a.factors, ...b.factors);
    }
  });

  it('shapes of ones and a zero tensor', async () => {
    const { eng } = h;
    const one = await hosvd(Float64Array.from([3]), [1, 1, 1], [1, 1, 1], { engine: eng });
    const z = await hosvd(new Float64Array(12), [3, 4], [2, 2], { engine: eng });
    try {
      expect(Math.abs(one.core[0])).toBeCloseTo(3, 5);
      expect(await tuckerReconstruct(one.core, one.factors, [1, 1, 1])).toEqual(Float64Array.from([3]));
      expect(frob(z.core)).toBe(0);
      expect(z.errorBound).toBe(0);
      expect(frob(await tuckerReconstruct(z.core, z.factors, [3, 4]))).toBe(0);
    } finally {
      disposeAll(...one.factors, ...z.factors);
    }
  });

  it('bad input names the function and the argument', async () => {
    const { eng } = h;
    const t = new Float64Array(12);
    const M = eng.zeros(3, 5);
    const opt = { engine: eng };
    try {
      await expect(hosvd(t, [], [], opt)).rejects.toThrow(/hosvd.*'shape'/);
      await expect(hosvd(t, [3, 4.5], [1, 1], opt)).rejects.toThrow(/hosvd.*'shape\[1\]'/);
      await expect(hosvd(t, [3, 4], [1], opt)).rejects.toThrow(/hosvd.*'ranks'/);
      await expect(hosvd(t, [3, 4], [4, 1], opt)).rejects.toThrow(/hosvd.*'ranks\[0\]'/);
      await expect(hosvd(t, [3, 4], [0, 1], opt)).rejects.toThrow(/hosvd.*'ranks\[0\]'/);
      await expect(hosvd(t, [3, 5], [1, 1], opt)).rejects.toThrow(/hosvd.*'tensor'/);
      await expect(hosvd(t, [3, 4], [1, 1])).rejects.toThrow(/hosvd.*options\.engine/);
      await expect(hosvd([1, 2] as unknown as Float64Array, [2], [1], opt)).rejects.toThrow(/hosvd.*'tensor'/);
      await expect(hosvd(Float64Array.from([1, Number.NaN]), [2], [1], opt)).rejects.toThrow(/hosvd.*'tensor\[1\]'/);
      await expect(hosvd(M, [3, 4], [1, 1])).rejects.toThrow(/hosvd.*'tensor' has 15 entries/);
      await expect(hosvd(t, [3, 4], [1, 1], { engine: eng, x: 1 } as unknown as typeof opt)).rejects.toThrow(/unknown option 'x'/);
      await expect(tuckerReconstruct(t, [], [3])).rejects.toThrow(/tuckerReconstruct.*'factors'/);
      await expect(tuckerReconstruct(t, [M], [4])).rejects.toThrow(/tuckerReconstruct.*'factors\[0\]'/);
      await expect(tuckerReconstruct(t, [M], [3, 1])).rejects.toThrow(/tuckerReconstruct.*'shape'/);
      await expect(tuckerReconstruct(t, [M], [3])).rejects.toThrow(/tuckerReconstruct.*'core'/);
      await expect(tuckerReconstruct(new Float64Array(5), [M, 'x' as unknown as Mat], [3, 1])).rejects.toThrow(
        /tuckerReconstruct.*'factors\[1\]'/,
      );
    } finally {
      M.dispose();
    }
  });
});
