/**
 * WeLore (Jaiswal et al. 2024) rank selection: every matrix's singular values are normalized,
 * s^ = (s - min s) / (max s - min s), and the ones below one global threshold tau are pruned
 * (p = #{s^_i < tau}, kept k = min(m, n) - p). A matrix is a low-rank component (LRC) iff
 * p / min(m, n) > minRatio (strict, code default 0). The reduction the reference reports is a rank count:
 * sum of p over the LRCs / sum of min(m, n) over all matrices [VITA-Group/WeLore lib/rank_reduction.py].
 * Needs the full spectra (the normalization uses min s), not a randomized top-k.
 */
import { checkOneOf, checkOptions, describeValue, rangeError, typeError } from '../../errors.js';

/** One matrix's full spectrum (length min(m, n)), with its shape for the parameter count. */
export interface WeloreSpectrum {
  name?: string;
  s: Float64Array | Float32Array | number[];
  shape: [number, number];
}

export type WeloreSelection = { targetReduction: number } | { tau: number } | { preset: 'llama2-7b' | 'llama2-13b'; reduction: number };

export interface WeloreOptions {
  /** LRC iff pruned / min(m, n) > minRatio (default 0, strict as in the code). In [0, 1). */
  minRatio?: number;
}

export interface WeloreResult {
  tau: number;
  /** Kept rank per matrix (min(m, n) for non-LRCs, which stay dense). */
  ranks: number[];
  /** #{s^_i < tau} per matrix (also for non-LRCs). */
  pruned: number[];
  lrc: boolean[];
  names: Array<string | undefined>;
  /** The reference's reduction: sum of pruned over LRCs / sum of min(m, n) over all matrices. */
  reduction: number;
  /**
   * Parameter reduction beside it: 1 - (sum over LRCs of k (m + n) + sum over the others of m n) / sum m n
   * (negative when LRCs sit below break-even); null when some spectrum has no shape.
   */
  paramReduction: number | null;
  /** Indices of LRCs whose factors k (m + n) are not smaller than m n (below break-even). */
  belowBreakEven: number[];
}

/** tau per rank-reduction target, shipped by the reference [welore_rank_reduction.py:38-84]. */
export const WELORE_TAU: Readonly<Record<'llama2-7b' | 'llama2-13b', Readonly<Record<number, number>>>> = {
  'llama2-7b': { 10: 0.0225, 20: 0.0495, 30: 0.076, 40: 0.105, 50: 0.135, 60: 0.17, 70: 0.21 },
  'llama2-13b': { 10: 0.0225, 20: 0.084, 30: 0.115, 40: 0.145, 50: 0.175, 60: 0.215, 70: 0.26 },
};

interface Prepared {
  sn: Float64Array; // normalized, sorted ascending
  len: number;
  m: number | null;
  n: number | null;
}

function prepare(fn: string, spectra: unknown): { items: Prepared[]; names: Array<string | undefined> } {
  if (!Array.isArray(spectra) || spectra.length === 0)
    throw typeError(fn, `'spectra' must be a non-empty array of Float64Array or { name?, s, shape }, got ${describeValue(spectra)}`);
  const items: Prepared[] = [];
  const names: Array<string | undefined> = [];
  spectra.forEach((item: unknown, idx) => {
    let s: unknown,
      m: number | null = null,
      n: number | null = null,
      name: string | undefined;
    if (item instanceof Float64Array || item instanceof Float32Array || Array.isArray(item)) s = item;
    else if (item && typeof item === 'object') {
      const it = item as Partial<WeloreSpectrum>;
      s = it.s;
      name = it.name;
      if (it.shape !== undefined) {
        const sh = it.shape;
        if (!Array.isArray(sh) || sh.length !== 2 || !sh.every((d) => Number.isInteger(d) && d >= 1))
          throw rangeError(fn, `'spectra[${idx}].shape' must be [m, n] of positive integers, got ${describeValue(sh)}`);
        [m, n] = sh;
      }
    } else throw typeError(fn, `'spectra[${idx}]' must be a Float64Array or { name?, s, shape }, got ${describeValue(item)}`);
    if (!(s instanceof Float64Array || s instanceof Float32Array || Array.isArray(s)) || s.length === 0)
      throw typeError(fn, `'spectra[${idx}].s' must be a non-empty Float64Array, Float32Array or number[], got ${describeValue(s)}`);
    const arr = s as ArrayLike<number>;
    if (m !== null && n !== null && arr.length !== Math.min(m, n))
      throw rangeError(
        fn,
        `'spectra[${idx}].s' has ${arr.length} values but shape ${m} x ${n} needs all min(m, n) = ${Math.min(m, n)} (the full spectrum)`,
      );
    let lo = Infinity,
      hi = -Infinity;
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw rangeError(fn, `'spectra[${idx}].s[${i}]' = ${describeValue(v)} is not a finite non-negative number`);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    // max == min (constant or zero spectrum): the reference's 0/0 gives NaN, nothing compares < tau
    const sn = new Float64Array(arr.length);
    for (let i = 0; i < arr.length; i++) sn[i] = hi > lo ? (arr[i] - lo) / (hi - lo) : Number.POSITIVE_INFINITY;
    sn.sort();
    items.push({ sn, len: arr.length, m, n });
    names.push(name);
  });
  return { items, names };
}

/** #{x < tau} in an ascending array. */
function countBelow(a: Float64Array, tau: number): number {
  let lo = 0,
    hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < tau) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function evaluate(items: Prepared[], tau: number, minRatio: number): { pruned: number[]; lrc: boolean[]; reduction: number } {
  let num = 0,
    den = 0;
  const pruned: number[] = [],
    lrc: boolean[] = [];
  for (const it of items) {
    const p = countBelow(it.sn, tau);
    const isLrc = p / it.len > minRatio;
    pruned.push(p);
    lrc.push(isLrc);
    if (isLrc) num += p;
    den += it.len;
  }
  return { pruned, lrc, reduction: num / den };
}

/**
 * WeLore's per-matrix ranks for one global tau: given (`{ tau }`), from the reference's tables
 * (`{ preset: 'llama2-7b' | 'llama2-13b', reduction: 0.1 ... 0.7 }`), or found by bisection on tau in
 * [0, 1] for `{ targetReduction }` (the smallest tau, to 1e-12, whose rank reduction reaches the target).
 *
 * @throws TypeError/RangeError naming 'weloreRanks' and the argument: spectra not arrays of finite
 *   non-negative values, s shorter than min(m, n), tau outside [0, 1], targetReduction outside (0, 1) or
 *   above what tau = 1 reaches, a preset reduction not in 0.1, 0.2, ..., 0.7, minRatio outside [0, 1).
 */
export function weloreRanks(
  spectra: ReadonlyArray<Float64Array | Float32Array | number[] | WeloreSpectrum>,
  selection: WeloreSelection,
  options?: WeloreOptions,
): WeloreResult {
  const fn = 'weloreRanks';
  const { items, names } = prepare(fn, spectra);
  if (selection === null || typeof selection !== 'object')
    throw typeError(fn, `the selection must be { targetReduction }, { tau } or { preset, reduction }, got ${describeValue(selection)}`);
  const sel = checkOptions<{ targetReduction: number; tau: number; preset: string; reduction: number }>(fn, selection, [
    'targetReduction',
    'tau',
    'preset',
    'reduction',
  ]);
  const o = checkOptions<WeloreOptions>(fn, options, ['minRatio']);
  const minRatio = o.minRatio ?? 0;
  if (typeof minRatio !== 'number' || !(minRatio >= 0 && minRatio < 1))
    throw rangeError(fn, `'minRatio' must be in [0, 1), got ${describeValue(minRatio)}`);
  const given = ['targetReduction', 'tau', 'preset'].filter((k) => (sel as Record<string, unknown>)[k] !== undefined);
  if (given.length !== 1) throw typeError(fn, `give exactly one of 'targetReduction', 'tau' and 'preset' (with 'reduction')`);
  if (sel.reduction !== undefined && sel.preset === undefined) throw typeError(fn, `'reduction' goes with 'preset'`);

  let tau: number;
  if (sel.tau !== undefined) {
    if (typeof sel.tau !== 'number' || !(sel.tau >= 0 && sel.tau <= 1))
      throw rangeError(fn, `'tau' must be in [0, 1], got ${describeValue(sel.tau)}`);
    tau = sel.tau;
  } else if (sel.preset !== undefined) {
    const preset = checkOneOf(fn, 'preset', sel.preset, ['llama2-7b', 'llama2-13b'] as const);
    const r = sel.reduction;
    if (typeof r !== 'number') throw typeError(fn, `'reduction' (0.1, 0.2, ..., 0.7) is required with 'preset', got ${describeValue(r)}`);
    const pct = Math.round(r * 100);
    const t = WELORE_TAU[preset][pct];
    if (t === undefined || Math.abs(r * 100 - pct) > 1e-9)
      throw rangeError(fn, `'reduction' must be one of 0.1, 0.2, ..., 0.7 for preset '${preset}', got ${r}`);
    tau = t;
  } else {
    const target = sel.targetReduction;
    if (typeof target !== 'number' || !(target > 0 && target < 1))
      throw rangeError(fn, `'targetReduction' must be in (0, 1), got ${describeValue(target)}`);
    const top = evaluate(items, 1, minRatio).reduction;
    if (top < target) throw rangeError(fn, `'targetReduction' ${target} is above the largest reachable reduction ${top} (tau = 1)`);
    let lo = 0,
      hi = 1;
    while (hi - lo > 1e-12) {
      const mid = 0.5 * (lo + hi);
      if (evaluate(items, mid, minRatio).reduction >= target) hi = mid;
      else lo = mid;
    }
    tau = hi;
  }
  const { pruned, lrc, reduction } = evaluate(items, tau, minRatio);
  const ranks = items.map((it, i) => (lrc[i] ? it.len - pruned[i] : it.len));
  let paramReduction: number | null = null;
  const belowBreakEven: number[] = [];
  items.forEach((it, i) => {
    if (lrc[i] && it.m !== null && it.n !== null && ranks[i] * (it.m + it.n) >= it.m * it.n) belowBreakEven.push(i);
  });
  if (items.every((it) => it.m !== null)) {
    let before = 0,
      after = 0;
    items.forEach((it, i) => {
      const mn = (it.m as number) * (it.n as number);
      before += mn;
      after += lrc[i] ? ranks[i] * ((it.m as number) + (it.n as number)) : mn;
    });
    paramReduction = 1 - after / before;
  }
  return { tau, ranks, pruned, lrc, names, reduction, paramReduction, belowBreakEven };
}
