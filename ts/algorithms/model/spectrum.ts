/**
 * Spectrum and energy helpers shared by the model-weights compressors (LORD, SVFit, WeLore, TRP, EoRA).
 * "Energy" everywhere in this toolkit is the fraction of the squared Frobenius norm kept,
 * sum_{i<=k} s_i^2 / sum_i s_i^2, and the kept rank is the smallest k reaching it (TRP's rule).
 */
import type { Engine } from '../../engine.js';
import { checkOptions, describeValue, rangeError, typeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { rsvd } from '../rsvd/rsvd.js';

/** Checks an energy fraction in (0, 1]. */
export function checkEnergy(fn: string, name: string, e: unknown): number {
  if (typeof e !== 'number') throw typeError(fn, `'${name}' must be a number in (0, 1], got ${describeValue(e)}`);
  if (!(e > 0 && e <= 1)) throw rangeError(fn, `'${name}' must be in (0, 1], got ${e}`);
  return e;
}

function checkSpectrumArg(fn: string, s: unknown): ArrayLike<number> {
  if (!(s instanceof Float64Array || s instanceof Float32Array || Array.isArray(s)))
    throw typeError(fn, `'s' must be a Float64Array, Float32Array or number[], got ${describeValue(s)}`);
  if (s.length === 0) throw rangeError(fn, `'s' is empty`);
  for (let i = 0; i < s.length; i++) {
    const v = s[i];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw rangeError(fn, `'s[${i}]' = ${describeValue(v)} is not a finite non-negative number`);
  }
  return s;
}

/**
 * The smallest k with sum_{i<=k} s_i^2 / sum_i s_i^2 >= energy (s descending, as returned by svd or
 * svdvals; energy in (0, 1]). An all-zero spectrum gives 1 (every k keeps "all" of nothing).
 *
 * @throws TypeError/RangeError naming 'energyRank': s not an array of finite non-negative numbers,
 *   energy outside (0, 1].
 */
export function energyRank(s: ArrayLike<number>, energy: number): number {
  const fn = 'energyRank';
  checkSpectrumArg(fn, s);
  checkEnergy(fn, 'energy', energy);
  return energyRankUnchecked(s, energy);
}

/** energyRank without the argument checks (s finite, non-negative, non-empty). */
export function energyRankUnchecked(s: ArrayLike<number>, energy: number): number {
  const n = s.length;
  const cum = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) cum[i] = acc += s[i] * s[i];
  const total = cum[n - 1];
  if (total === 0) return 1;
  for (let k = 0; k < n; k++) if (cum[k] / total >= energy) return k + 1;
  return n;
}

/** sum_{i<=k} s_i^2 / sum_i s_i^2 (1 for an all-zero spectrum). */
export function energyKept(s: ArrayLike<number>, k: number): number {
  let kept = 0,
    total = 0;
  for (let i = 0; i < s.length; i++) {
    const v = s[i] * s[i];
    total += v;
    if (i < k) kept += v;
  }
  return total === 0 ? 1 : kept / total;
}

/** sqrt(sum_{i>k} s_i^2): the Eckart-Young error of the best rank-k approximation. */
export function tailNorm(s: ArrayLike<number>, k: number): number {
  let t = 0;
  for (let i = k; i < s.length; i++) t += s[i] * s[i];
  return Math.sqrt(t);
}

// ---- argument checks shared by the compressors --------------------------------------------------

/** `{ rank }` or `{ energy }` (exactly one), checked against min(m, n). */
export type RankSelection = { rank: number; energy?: undefined } | { energy: number; rank?: undefined };

export function checkSelection(
  fn: string,
  sel: unknown,
  kmax: number,
  dflt?: RankSelection,
  extra: readonly string[] = [],
): { rank?: number; energy?: number } {
  if (sel === undefined && dflt) return dflt;
  if (sel === null || typeof sel !== 'object')
    throw typeError(fn, `the selection must be { rank } or { energy }, got ${describeValue(sel)}`);
  const o = checkOptions<{ rank: number; energy: number }>(fn, sel, ['rank', 'energy', ...extra]);
  if ((o.rank === undefined) === (o.energy === undefined)) throw typeError(fn, `give exactly one of 'rank' and 'energy'`);
  if (o.rank !== undefined) return { rank: checkRank(fn, 'rank', o.rank, kmax) };
  return { energy: checkEnergy(fn, 'energy', o.energy) };
}

export function checkRank(fn: string, name: string, r: unknown, kmax: number): number {
  if (typeof r !== 'number') throw typeError(fn, `'${name}' must be a number, got ${describeValue(r)}`);
  if (!Number.isInteger(r) || r < 1 || r > kmax) throw rangeError(fn, `'${name}' must be an integer in [1, min(m, n) = ${kmax}], got ${r}`);
  return r;
}

/**
 * The top-k singular triplets of W: the exact SVD cut to k ('exact'), or rsvd at rank k
 * ('randomized'). With `energy`, the rank comes from the full spectrum (exact: the SVD's own; randomized:
 * `spectrum` first, then rsvd at that rank). Returns the full spectrum when one was computed.
 */
export async function topTriplets<D extends DType>(
  eng: Engine<D>,
  W: Mat<D>,
  sel: { rank?: number; energy?: number },
  method: 'exact' | 'randomized',
  seed = 0,
): Promise<{ U: Mat<D>; S: Float64Array; V: Mat<D>; k: number; full: Float64Array | null }> {
  const kmax = Math.min(W.rows, W.cols);
  if (method === 'exact') {
    const { U, S, V } = await eng.svd(W);
    const k = sel.rank ?? energyRankUnchecked(S, sel.energy as number);
    if (k === kmax) return { U, S, V, k, full: S };
    try {
      const Uk = await eng.slice(U, { cols: [0, k] });
      try {
        return { U: Uk, S: S.slice(0, k), V: await eng.slice(V, { cols: [0, k] }), k, full: S };
      } catch (e) {
        Uk.dispose();
        throw e;
      }
    } finally {
      U.dispose();
      V.dispose();
    }
  }
  let full: Float64Array | null = null;
  let k = sel.rank;
  if (k === undefined) {
    full = await eng.svdvals(W);
    k = energyRankUnchecked(full, sel.energy as number);
  }
  const r = await rsvd(W, { rank: k, seed });
  return { U: r.U, S: r.S, V: r.V, k, full };
}
