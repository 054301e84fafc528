/** Fixtures shared by the model-toolkit tests (model.test.ts, eora.test.ts). */
import type { Engine, Mat } from '../../ts/index.js';

/** An m x n matrix of NaN (engine.matrix rejects NaN, so it is made by overflow: inf - inf). */
export async function nanMat(eng: Engine, m: number, n: number): Promise<Mat> {
  const big = eng.full(m, n, eng.dtype === 'f32' ? 3e38 : 1e308);
  const inf = await eng.scale(big, 10);
  const nan = await eng.sub(inf, inf);
  big.dispose();
  inf.dispose();
  return nan;
}
