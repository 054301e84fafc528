/**
 * Ownership you can test: eng.scope() frees every intermediate created inside it that it does not return
 * (nested, concurrent, throwing, with keep()), and info().memory counts the live stores.
 */
import { expect, it } from 'vitest';
import { CovarianceAccumulator, RsvdSketch, rsvd } from '../../ts/index.js';
import { describeEngines } from '../helpers.js';

describeEngines('scope', (h) => {
  const stores = (): number => h.eng.info().memory.stores;

  it('disposes intermediates, keeps what is returned (also inside objects and arrays)', async () => {
    const { eng } = h;
    const A = eng.randn(30, 7, { seed: 1 });
    const before = stores();
    let G: ReturnType<typeof eng.zeros> | undefined;
    const out = await eng.scope(async () => {
      G = await eng.matmul(A, A, { transA: true });
      const H = await eng.scale(G, 2);
      const { Q } = await eng.qr(A); // R: created inside, disposed by the scope
      return { H, list: [Q], n: 3 };
    });
    expect(G!.disposed).toBe(true);
    expect(out.H.disposed).toBe(false);
    expect(out.list[0].disposed).toBe(false);
    expect(A.disposed).toBe(false); // created before the scope
    expect(stores()).toBe(before + 2);
    const h2 = await out.H.toArray();
    expect(h2.length).toBe(49);
    out.H.dispose();
    out.list[0].dispose();
    A.dispose();
  });

  it('nested scopes hand a returned matrix to the enclosing scope; keep() exempts one', async () => {
    const { eng } = h;
    const before = stores();
    let inner: ReturnType<typeof eng.zeros> | undefined;
    let kept: ReturnType<typeof eng.zeros> | undefined;
    const outer = await eng.scope(async () => {
      inner = await eng.scope(async () => {
        const t = eng.ones(4, 4);
        kept = eng.keep(eng.eye(3));
        return eng.scale(t, 3);
      });
      expect(inner.disposed).toBe(false);
      return eng.add(inner, inner);
    });
    expect(inner!.disposed).toBe(true); // owned by the outer scope, not returned by it
    expect(kept!.disposed).toBe(false);
    expect(Array.from(await outer.toArray())).toEqual(new Array(16).fill(6));
    expect(stores()).toBe(before + 2);
    outer.dispose();
    kept!.dispose();
  });

  it('a throwing scope disposes everything it created and rethrows', async () => {
    const { eng } = h;
    const before = stores();
    let made: ReturnType<typeof eng.zeros> | undefined;
    await expect(
      eng.scope(async () => {
        made = eng.randn(5, 5, { seed: 2 });
        await eng.matmul(made, eng.ones(4, 4)); // shape mismatch
      }),
    ).rejects.toThrow(/matmul/);
    expect(made!.disposed).toBe(true);
    expect(stores()).toBe(before);
    await expect(eng.scope(1 as never)).rejects.toThrow(TypeError);
    expect(() => eng.keep({} as never)).toThrow(/keep/);
  });

  it('concurrent scopes stay apart; an algorithm inside a scope leaves only its result', async () => {
    const { eng } = h;
    const A = eng.randn(60, 20, { seed: 3 });
    const before = stores();
    const [x, y] = await Promise.all([
      eng.scope(async () => {
        const t = await eng.scale(A, 2);
        await new Promise((r) => setTimeout(r, 5));
        return eng.add(t, A);
      }),
      eng.scope(async () => {
        const r = await rsvd(A, { rank: 3, powerIters: 1 });
        return { U: r.U, S: r.S }; // V is not returned: disposed
      }),
    ]);
    expect(x.disposed).toBe(false);
    expect(y.U.disposed).toBe(false);
    expect(y.S.length).toBe(3);
    expect(stores()).toBe(before + 2);
    const xa = await x.toArray(),
      aa = await A.toArray();
    for (let i = 0; i < aa.length; i++) expect(Math.abs(xa[i] - 3 * aa[i])).toBeLessThanOrEqual(8 * h.u * Math.abs(aa[i]));
    x.dispose();
    y.U.dispose();
    A.dispose();
  });

  it('stateful objects own their state: RsvdSketch and CovarianceAccumulator updated inside scopes keep working', async () => {
    const { eng } = h;
    const A = eng.randn(40, 12, { seed: 5 });
    const before = stores();
    const sk = RsvdSketch.create(eng, { cols: 12, rank: 3, seed: 1 });
    const acc = new CovarianceAccumulator(eng, 12);
    await eng.scope(async () => {
      const top = await eng.slice(A, { rows: [0, 20] });
      await sk.add(top, 0);
      await acc.add(top);
    });
    await eng.scope(async () => {
      const bottom = await eng.slice(A, { rows: [20, 40] });
      await sk.add(bottom, 20);
      await acc.add(bottom);
    });
    const loaded = await eng.scope(async () => CovarianceAccumulator.load(eng, await acc.export()));
    const r = await sk.finalize();
    const C = await acc.covariance();
    const C2 = await loaded.covariance();
    expect(r.S.length).toBe(3);
    const G = await eng.matmul(A, A, { transA: true });
    const [c, c2, g] = [await C.toArray(), await C2.toArray(), await G.toArray()];
    for (let i = 0; i < g.length; i++) {
      expect(Math.abs(c[i] - g[i] / 40)).toBeLessThanOrEqual(50 * h.u * (1 + Math.abs(g[i])));
      expect(c2[i]).toBeCloseTo(c[i], 5);
    }
    for (const m of [r.U, r.V, C, C2, G]) m.dispose();
    sk.dispose();
    acc.dispose();
    loaded.dispose();
    expect(stores()).toBe(before);
    A.dispose();
  });
});
