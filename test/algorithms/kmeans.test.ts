/**
 * kmeans against a host f64 Lloyd run from the same initial centres (same rules: first centre on
 * ties, farthest-point relocation of empty clusters, sklearn's tolerance), plus exact recovery of
 * separated blobs, k = 1, k = n, duplicated points, and bad input.
 */
import { expect, it } from 'vitest';
import { kmeans, lowRankVQ, reduceCodebook } from '../../ts/index.js';
import { describeEngines, hostRandn, refMatmul } from '../helpers.js';

/** Host Lloyd in f64, the reference: returns labels, centres, inertia and iterations. */
function refLloyd(x: ArrayLike<number>, n: number, d: number, c0: ArrayLike<number>, k: number, iters: number, tol: number) {
  let C = Float64Array.from(c0);
  const dist2 = (i: number, C: Float64Array, j: number): number => {
    let s = 0;
    for (let t = 0; t < d; t++) s += (x[i * d + t] - C[j * d + t]) ** 2;
    return s;
  };
  const assign = (C: Float64Array) => {
    const labels = new Int32Array(n),
      dist = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let b = 0,
        bd = dist2(i, C, 0);
      for (let j = 1; j < k; j++) {
        const v = dist2(i, C, j);
        if (v < bd) [b, bd] = [j, v];
      }
      labels[i] = b;
      dist[i] = bd;
    }
    return { labels, dist };
  };
  const mean = Array.from({ length: d }, (_, t) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i * d + t];
    return s / n;
  });
  let v = 0;
  for (let t = 0; t < d; t++) for (let i = 0; i < n; i++) v += (x[i * d + t] - mean[t]) ** 2 / n;
  const tolAbs = (tol * v) / d;
  let labels: Int32Array | null = null,
    it = 0,
    strict = false;
  for (it = 1; it <= iters; it++) {
    const a = assign(C);
    const counts = new Int32Array(k);
    for (const l of a.labels) counts[l]++;
    const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => a.dist[q] - a.dist[p] || p - q);
    let at = 0;
    for (let j = 0; j < k; j++) {
      if (counts[j] > 0) continue;
      while (counts[a.labels[order[at]]] <= 1) at++;
      const i = order[at++];
      counts[a.labels[i]]--;
      a.labels[i] = j;
      counts[j] = 1;
    }
    const Cn = new Float64Array(k * d);
    for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) Cn[a.labels[i] * d + t] += x[i * d + t] / counts[a.labels[i]];
    let shift = 0;
    for (let e = 0; e < k * d; e++) shift += (Cn[e] - C[e]) ** 2;
    C = Cn;
    const same = labels?.every((l, i) => l === a.labels[i]) === true;
    labels = a.labels;
    if (same) {
      strict = true;
      break;
    }
    if (shift <= tolAbs) break;
  }
  it = Math.min(it, iters);
  if (!strict || !labels) labels = assign(C).labels;
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += dist2(i, C, labels[i]);
  return { labels, C, inertia, iters: it };
}

/** n points around `centres` (k x d) with noise `sigma`, in blocks of n / k; truth labels. */
function blobs(k: number, d: number, per: number, sigma: number, spread: number, seed: number) {
  const n = k * per;
  const c = hostRandn(k, d, seed);
  const e = hostRandn(n, d, seed + 1);
  const x = new Float64Array(n * d),
    truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = (i * 7) % k; // interleaved, so that the first rows are not one cluster
    truth[i] = j;
    for (let t = 0; t < d; t++) x[i * d + t] = spread * c[j * d + t] + sigma * e[i * d + t];
  }
  return { x, n, truth };
}

/** Same partition up to a relabelling. */
function samePartition(a: Int32Array, b: Int32Array): boolean {
  const ab = new Map<number, number>(),
    ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((ab.get(a[i]) ?? b[i]) !== b[i] || (ba.get(b[i]) ?? a[i]) !== a[i]) return false;
    ab.set(a[i], b[i]);
    ba.set(b[i], a[i]);
  }
  return true;
}

describeEngines('kmeans', (h) => {
  it('matches a host f64 Lloyd run from the same initial centres (inertia, labels, iterations)', async () => {
    for (const [k, d, per, sigma, seed] of [
      [5, 3, 40, 1.2, 3],
      [8, 17, 33, 2.5, 5],
      [3, 1, 70, 0.7, 9],
    ]) {
      const { x, n } = blobs(k, d, per, sigma, 2, seed);
      const X = h.eng.matrix(x, n, d);
      const xs = await X.toArray();
      const c0 = xs.slice(0, k * d); // the first k rows as initial centres
      const I = h.eng.matrix(Float64Array.from(c0), k, d);
      const r = await kmeans(X, { k, init: I, iters: 50, tol: 1e-6 });
      const ref = refLloyd(xs, n, d, c0, k, 50, 1e-6);
      const tag = `k=${k} d=${d}`;
      const mism = r.labels.reduce((s, l, i) => s + (l === ref.labels[i] ? 0 : 1), 0);
      if (h.dtype === 'f64') {
        expect(mism, tag).toBe(0);
        expect(r.iters, tag).toBe(ref.iters);
        expect(Math.abs(r.inertia - ref.inertia) / ref.inertia, tag).toBeLessThan(1e-10);
      } else {
        // f32 distances can flip a near-tie; the run must still land on the reference's optimum
        expect(mism, tag).toBeLessThanOrEqual(Math.ceil(0.01 * n));
        expect(Math.abs(r.inertia - ref.inertia) / ref.inertia, tag).toBeLessThan(1e-3);
      }
      const C = await r.centers.toArray();
      let err = 0;
      for (let e = 0; e < k * d; e++) err = Math.max(err, Math.abs(C[e] - ref.C[e]));
      expect(err, tag).toBeLessThan(h.dtype === 'f64' ? 1e-10 : 1e-2);
      for (const m of [X, I, r.centers]) m.dispose();
    }
  });

  it('recovers well-separated blobs exactly with k-means++ and random init', async () => {
    const k = 6,
      d = 4;
    const { x, n, truth } = blobs(k, d, 25, 0.05, 10, 11);
    const X = h.eng.matrix(x, n, d);
    const r = await kmeans(X, { k, seed: 2 });
    expect(samePartition(r.labels, truth)).toBe(true);
    expect(r.inertia).toBeLessThan(n * d * 0.05 ** 2 * 2);
    // random rows as seeds can merge blobs; restarts find the partition
    const b3 = blobs(3, d, 20, 0.05, 10, 12);
    const X3 = h.eng.matrix(b3.x, b3.n, d);
    const q = await kmeans(X3, { k: 3, init: 'random', seed: 2, nInit: 10 });
    expect(samePartition(q.labels, b3.truth)).toBe(true);
    for (const m of [X, X3, r.centers, q.centers]) m.dispose();
  });

  it('k = 1 gives the mean, k = n gives zero inertia, nInit keeps the best run', async () => {
    const n = 37,
      d = 5;
    const x = hostRandn(n, d, 21);
    const X = h.eng.matrix(x, n, d);
    const xs = await X.toArray();
    const r1 = await kmeans(X, { k: 1 });
    const c = await r1.centers.toArray();
    let ss = 0;
    for (let t = 0; t < d; t++) {
      let m = 0;
      for (let i = 0; i < n; i++) m += xs[i * d + t] / n;
      expect(Math.abs(c[t] - m)).toBeLessThan(100 * h.u * n);
      for (let i = 0; i < n; i++) ss += (xs[i * d + t] - m) ** 2;
    }
    expect(Array.from(r1.labels)).toEqual(new Array(n).fill(0));
    expect(Math.abs(r1.inertia - ss) / ss).toBeLessThan(100 * h.u * n);
    const rn = await kmeans(X, { k: n });
    expect(rn.inertia).toBeLessThan(1e-20 + 100 * h.u * ss);
    expect(new Set(rn.labels).size).toBe(n);
    const a = await kmeans(X, { k: 4, init: 'random', seed: 3 });
    const b = await kmeans(X, { k: 4, init: 'random', seed: 3, nInit: 4 });
    expect(b.inertia).toBeLessThanOrEqual(a.inertia * (1 + 1e-6));
    for (const m of [X, r1.centers, rn.centers, a.centers, b.centers]) m.dispose();
  });

  it('duplicated points: zero inertia, every cluster non-empty, labels in range', async () => {
    const pts = [
      [1, 2],
      [-3, 0.5],
      [4, 4],
    ];
    const rows = Array.from({ length: 30 }, (_, i) => pts[i % 3]);
    const X = h.eng.matrix(rows);
    for (const k of [3, 5]) {
      const r = await kmeans(X, { k, seed: 1 });
      expect(r.inertia, `k=${k}`).toBeLessThan(1e-9);
      expect(r.labels.every((l) => l >= 0 && l < k)).toBe(true);
      if (k === 3) expect(new Set(r.labels).size).toBe(3);
      r.centers.dispose();
    }
    // all rows identical
    const Z = h.eng.full(9, 3, 2.5);
    const z = await kmeans(Z, { k: 3 });
    expect(z.inertia).toBeLessThan(1e-9);
    for (const v of await z.centers.toArray()) expect(Math.abs(v - 2.5)).toBeLessThan(10 * h.u);
    for (const m of [X, Z, z.centers]) m.dispose();
  });

  it('bad input errors name kmeans and the argument', async () => {
    const X = h.eng.matrix(hostRandn(10, 3, 1), 10, 3);
    await expect(kmeans(X, { k: 11 })).rejects.toThrow(/^kmeans: 'k' \(11\) must not exceed/);
    await expect(kmeans(X, { k: 0 })).rejects.toThrow(RangeError);
    await expect(kmeans(X, { k: 1.5 })).rejects.toThrow(/kmeans: 'k'/);
    await expect(kmeans(X, {} as never)).rejects.toThrow(/kmeans: 'k' is required/);
    await expect(kmeans(X, { k: 2, iters: 0 })).rejects.toThrow(/kmeans: 'iters'/);
    await expect(kmeans(X, { k: 2, tol: -1 })).rejects.toThrow(/kmeans: 'tol'/);
    await expect(kmeans(X, { k: 2, init: 'kmeans' as never })).rejects.toThrow(/kmeans: 'init'/);
    await expect(kmeans(X, { k: 2, bogus: 1 } as never)).rejects.toThrow(/kmeans: unknown option 'bogus'/);
    await expect(kmeans([[1]] as never, { k: 1 })).rejects.toThrow(TypeError);
    const I = h.eng.zeros(3, 3);
    await expect(kmeans(X, { k: 2, init: I })).rejects.toThrow(/kmeans: 'init' must be 2 x 3/);
    await expect(kmeans(X, { k: 3, init: I, nInit: 2 })).rejects.toThrow(/kmeans: 'nInit'/);
    // NaN inside X (made on the device: engine.matrix refuses NaN at input)
    const big = h.dtype === 'f64' ? 1e300 : 1e30;
    const B = h.eng.full(10, 3, big);
    const Inf = await h.eng.scale(B, big);
    const N = await h.eng.sub(Inf, Inf);
    await expect(kmeans(N, { k: 2 })).rejects.toThrow(/^kmeans: 'X' must be finite/);
    for (const m of [X, I, B, Inf, N]) m.dispose();
  });
});

describeEngines('lowRankVQ and reduceCodebook', (h) => {
  const relErr = async (A: import('../../ts/index.js').Mat, B: import('../../ts/index.js').Mat): Promise<number> => {
    const E = await h.eng.sub(A, B);
    const r = (await h.eng.norm(E)) / (await h.eng.norm(A));
    E.dispose();
    return r;
  };

  it('reconstruction error decreases with k and reaches the projection error at k = #subvectors', async () => {
    const m = 48,
      n = 20,
      dim = 8,
      sv = 2;
    const W = h.eng.matrix(hostRandn(m, n, 31), m, n);
    const errs: number[] = [];
    for (const k of [2, 8, 32, (m * dim) / sv]) {
      const r = await lowRankVQ(W, { dim, subvector: sv, k, seed: 1 });
      expect(r.codes.length).toBe((m * dim) / sv);
      expect(r.basis.shape).toEqual([n, dim]);
      expect(r.codebook.shape).toEqual([k, sv]);
      const Wq = await r.reconstruct();
      errs.push(await relErr(W, Wq));
      if (k === (m * dim) / sv) {
        // every subvector its own codeword: W_q = W V V^T (the rank-dim projection)
        const P = await h.eng.matmul(W, r.basis);
        const PP = await h.eng.matmul(P, r.basis, { transB: true });
        expect(await relErr(PP, Wq)).toBeLessThan(1e3 * h.u);
        expect(r.inertia).toBeLessThan(1e3 * h.u * m * n);
        disposeMats(P, PP);
      }
      disposeMats(Wq, r.basis, r.codebook);
    }
    for (let i = 1; i < errs.length; i++) expect(errs[i], `errors ${errs}`).toBeLessThan(errs[i - 1]);
    W.dispose();
  });

  it('exact when k >= the number of distinct subvectors; codes follow the documented layout', async () => {
    // 3 distinct rows repeated: rank 3 <= dim, 3 distinct projected rows
    const base = hostRandn(3, 10, 41);
    const m = 30,
      n = 10,
      dim = 4;
    const w = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) w[i * n + j] = base[((i * 2) % 3) * n + j];
    const W = h.eng.matrix(w, m, n);
    const r = await lowRankVQ(W, { dim, k: 3 });
    const Wq = await r.reconstruct();
    expect(await relErr(W, Wq)).toBeLessThan(1e3 * h.u);
    disposeMats(Wq, r.basis, r.codebook);
    // layout: row i of W_q = [c(codes[2i]), c(codes[2i + 1])] basis^T, checked on the host
    const X = h.eng.matrix(hostRandn(9, 6, 43), 9, 6);
    const q = await lowRankVQ(X, { dim: 4, subvector: 2, k: 5, svd: 'randomized', seed: 3 });
    const [B, C, Xq] = [await q.basis.toArray(), await q.codebook.toArray(), await q.reconstruct()];
    const Zq = new Float64Array(9 * 4);
    for (let i = 0; i < 9; i++)
      for (let j = 0; j < 2; j++) for (let t = 0; t < 2; t++) Zq[i * 4 + j * 2 + t] = C[q.codes[i * 2 + j] * 2 + t];
    const ref = refMatmul(Zq, 9, 4, B, 6, 4, false, true);
    const got = await Xq.toArray();
    for (let e = 0; e < 54; e++) expect(Math.abs(got[e] - ref[e])).toBeLessThan(1e3 * h.u);
    disposeMats(X, Xq, q.basis, q.codebook, W);
  });

  it('reduceCodebook: k-means over codewords, mapping to the nearest new codeword', async () => {
    const K = 50,
      d = 4;
    const Cm = h.eng.matrix(hostRandn(K, d, 51), K, d);
    const c = await Cm.toArray();
    const r = await reduceCodebook(Cm, { k: 10, seed: 2 });
    expect(r.mapping.length).toBe(K);
    expect(new Set(r.mapping).size).toBe(10);
    const nc = await r.codebook.toArray();
    let inertia = 0;
    for (let i = 0; i < K; i++) {
      const dist = Array.from({ length: 10 }, (_, j) => {
        let s = 0;
        for (let t = 0; t < d; t++) s += (c[i * d + t] - nc[j * d + t]) ** 2;
        return s;
      });
      const best = Math.min(...dist);
      expect(dist[r.mapping[i]]).toBeLessThanOrEqual(best + 1e3 * h.u);
      inertia += dist[r.mapping[i]];
    }
    expect(Math.abs(r.inertia - inertia) / inertia).toBeLessThan(1e-4);
    // k = K keeps every codeword: a bijection, zero inertia
    const all = await reduceCodebook(Cm, { k: K });
    expect(new Set(all.mapping).size).toBe(K);
    expect(all.inertia).toBeLessThan(1e3 * h.u);
    disposeMats(Cm, r.codebook, all.codebook);
  });

  it('bad input errors name the function and the argument', async () => {
    const W = h.eng.matrix(hostRandn(6, 5, 1), 6, 5);
    await expect(lowRankVQ(W, { dim: 6, k: 2 })).rejects.toThrow(/^lowRankVQ: 'dim'/);
    await expect(lowRankVQ(W, { dim: 4, subvector: 3, k: 2 })).rejects.toThrow(/^lowRankVQ: 'subvector' \(3\) must divide 'dim' \(4\)/);
    await expect(lowRankVQ(W, { dim: 4, subvector: 2, k: 13 })).rejects.toThrow(/^lowRankVQ: 'k' \(13\) must not exceed/);
    await expect(lowRankVQ(W, { dim: 4 } as never)).rejects.toThrow(/lowRankVQ: 'k' is required/);
    await expect(lowRankVQ(W, { dim: 4, k: 2, svd: 'qr' as never })).rejects.toThrow(/lowRankVQ: 'svd'/);
    await expect(reduceCodebook(W, { k: 7 })).rejects.toThrow(/^reduceCodebook: 'k' \(7\) must not exceed the codebook size 6/);
    await expect(reduceCodebook(W, { k: 2, bad: 1 } as never)).rejects.toThrow(/reduceCodebook: unknown option 'bad'/);
    await expect(reduceCodebook(null as never, { k: 2 })).rejects.toThrow(TypeError);
    W.dispose();
  });
});

function disposeMats(...ms: { dispose(): void }[]): void {
  for (const m of ms) m.dispose();
}
