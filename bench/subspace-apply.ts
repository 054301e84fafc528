/**
 * One-off measurement for randomSubspace (run: `npx vite-node bench/subspace-apply.ts [webgpu]`): Fastfood
 * apply and applyT at D = 2^20, d = 1000 (one column) against the GEMV with a materialised Gaussian P.
 * The dense P (D x d f32 = 4 GiB) is timed at D x 250 (WebGPU: D x 25) and scaled to d = 1000 (GEMV is
 * memory-bound, linear in d).
 * Seconds: one warm-up, median of 5.
 */
import { engine, randomSubspace, type Mat } from '../ts/index.js';

async function time(f: () => Promise<Mat>): Promise<number> {
  const ts: number[] = [];
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    const Y = await f();
    await Y.toArray(); // forces completion
    ts.push((performance.now() - t0) / 1000);
    Y.dispose();
  }
  ts.shift();
  ts.sort((a, b) => a - b);
  return ts[2];
}

const backend = process.argv[2] === 'webgpu' ? 'webgpu' : 'native';
const eng = await engine({ backend, dtype: 'f32' });
const D = 2 ** 20,
  d = 1000;
const x = eng.randn(d, 1, { seed: 1 });
const y = eng.randn(D, 1, { seed: 2 });
const P = await randomSubspace(eng, D, d, { kind: 'fastfood', seed: 0 });
const ffApply = await time(() => P.apply(x));
const ffAdj = await time(() => P.applyT(y));
const Hy = await time(() => eng.fwht(y));
P.dispose();
const part = backend === 'webgpu' ? 25 : 250; // WebGPU: one storage binding holds at most ~128 MiB on some adapters
const G = eng.randn(D, part, { seed: 3 });
const xp = eng.randn(part, 1, { seed: 4 });
const gemv = await time(() => eng.matmul(G, xp));
const gemvT = await time(() => eng.matmul(G, y, { transA: true }));
G.dispose();
const out = {
  backend,
  adapter: eng.info().adapter?.description ?? eng.info().adapter?.device ?? null,
  threads: eng.info().threads,
  D,
  d,
  fastfoodApply_s: ffApply,
  fastfoodApplyT_s: ffAdj,
  fwht_Dx1_s: Hy,
  gaussianColumnsTimed: part,
  gaussianGemv_part_s: gemv,
  gaussianGemvT_part_s: gemvT,
  gaussianGemv_Dx1000_est_s: (d / part) * gemv,
  gaussianGemvT_Dx1000_est_s: (d / part) * gemvT,
};
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
x.dispose();
y.dispose();
xp.dispose();
await eng.dispose();
