/**
 * Coding rate (MCR², Yu et al. 2020) and rate reduction with closed-form gradients.
 *
 * Layout: Z is n x d with ONE SAMPLE PER ROW (the library's convention). The papers write the feature
 * matrix as d x n (features as columns), so Z_paper = Z^T and every formula below is the paper's with
 * Z Z^T (paper) = Z^T Z (here):
 *
 *   R(Z)  = c logdet(I_d + a Z^T Z),                      a = gam1 d / (n eps2)
 *   Rc(Z) = c sum_j (t_j / n) logdet(I_d + a_j Z^T Pi_j Z), a_j = d / (t_j eps2), t_j = tr Pi_j + 1e-8
 *   value = gam2 R - Rc                                    (mcr2's training loss is -value)
 *
 * with c = 1/2 (`half: true`, MCR²) or c = 1 (`half: false`, the MLC paper's convention, which drops the
 * 1/2 in both terms). gam1 multiplies a inside the logdet of R only and +1e-8 is added to tr Pi_j, as in
 * ryanchankh/mcr2 (loss.py). Log-determinants come from Cholesky factors (logdet = 2 sum log L_ii; the
 * matrix is I + PSD, so it is positive definite for any finite Z, rank-deficient or normalized: no NaN),
 * of the smaller Gram: when a block has fewer rows m than columns d, the Sylvester identity
 * det(I_d + a B^T B) = det(I_m + a B B^T) is used (`gram: 'auto'`).
 *
 * Gradients: dR/dZ = 2 c a Z (I + a Z^T Z)^-1 = 2 c a (I + a Z Z^T)^-1 Z (push-through identity for the
 * samples branch); dRc/dZ = 2 c (d / (n eps2)) sum_j Pi_j Z M_j^-1; for soft memberships
 * dRc/dpi_ij = (c / n) [logdet M_j + (d / eps2) z_i^T M_j^-1 z_i - d + tr M_j^-1].
 *
 * Device / host: the Grams, Cholesky factors, inverses and gradients are engine Mats (d x d or m x m and
 * n x d); only the diagonals of the factors (and, for soft memberships, the n x K membership itself and
 * n numbers per class) come to the host.
 */
import type { Engine } from '../../engine.js';
import { checkBool, checkOneOf, checkOptions, describeValue, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { checkFiniteMat, checkMat, gatherRows } from '../common.js';

/** Which Gram a log-determinant is taken of: 'features' d x d (B^T B), 'samples' m x m (B B^T), or the smaller. */
export type GramSide = 'auto' | 'features' | 'samples';

export interface CodingRateOptions {
  /** eps^2 (the mcr2 code's `eps` argument IS eps^2), > 0. Required. */
  eps2: number;
  /** Multiplies a = d / (n eps2) inside the logdet (mcr2's gam1; default 1). */
  gam1?: number;
  /** true (default): MCR²'s 1/2 logdet; false: the MLC convention without the 1/2 (values and gradients doubled). */
  half?: boolean;
  /** Gram used for the log-determinant (default 'auto': the samples Gram when n < d, Sylvester identity). */
  gram?: GramSide;
  /** Compute the gradient (default true). */
  grad?: boolean;
}

export interface CodingRateResult<D extends DType = DType> {
  value: number;
  /** dR/dZ, n x d (owned by the caller); null with `grad: false`. */
  grad: Mat<D> | null;
}

export interface RateReductionOptions extends CodingRateOptions {
  /** Multiplies R in the value: value = gam2 R - Rc (mcr2's gam2; default 1). */
  gam2?: number;
}

export interface RateReductionResult<D extends DType = DType> {
  /** gam2 R - Rc (Delta R with the default gam1 = gam2 = 1). */
  value: number;
  /** R(Z) (with gam1). */
  R: number;
  /** Rc(Z | Pi). */
  Rc: number;
  /** d value / dZ, n x d; null with `grad: false`. */
  grad: Mat<D> | null;
  /** d value / d membership, n x K (= -dRc/dPi), only for a soft (Mat) membership with `grad` on. */
  gradMembership?: Mat<D>;
}

const CR_OPTIONS = ['eps2', 'gam1', 'half', 'gram', 'grad'] as const;
const RR_OPTIONS = [...CR_OPTIONS, 'gam2'] as const;
/** Added to tr Pi_j, as in mcr2 (loss.py). */
const TRACE_EPS = 1e-8;

/** @internal A finite number > 0 (or the default when undefined and a default exists). */
export function checkPositive(fn: string, name: string, v: unknown, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number') throw typeError(fn, `'${name}' must be a number, got ${describeValue(v)}`);
  if (!Number.isFinite(v) || v <= 0) throw rangeError(fn, `'${name}' must be a finite number > 0, got ${v}`);
  return v;
}

interface Parsed {
  eps2: number;
  gam1: number;
  c: number;
  gram: GramSide;
  grad: boolean;
}

function parseCommon(fn: string, o: Partial<RateReductionOptions>): Parsed {
  if (o.eps2 === undefined) throw typeError(fn, `option 'eps2' (eps^2 > 0) is required`);
  return {
    eps2: checkPositive(fn, 'eps2', o.eps2),
    gam1: checkPositive(fn, 'gam1', o.gam1, 1),
    c: checkBool(fn, 'half', o.half, true) ? 0.5 : 1,
    gram: checkOneOf(fn, 'gram', o.gram, ['auto', 'features', 'samples'] as const, 'auto'),
    grad: checkBool(fn, 'grad', o.grad, true),
  };
}

/**
 * (I + a G)^-1 and logdet(I + a G) with G = B^T B ('features', d x d) or B B^T ('samples', m x m), by
 * Cholesky. Also tr (I + a G)^-1 = ||L^-1||_F^2. Intermediates are left to the caller's scope.
 */
async function regularizedGram<D extends DType>(
  fn: string,
  eng: Engine<D>,
  B: Mat<D>,
  a: number,
  side: 'features' | 'samples',
  needInv: boolean,
): Promise<{ logdet: number; inv: Mat<D> | null; trInv: number }> {
  const G = side === 'features' ? await eng.matmul(B, B, { transA: true }) : await eng.matmul(B, B, { transB: true });
  const I = eng.eye(G.rows);
  const M = await eng.axpby(a, G, 1, I);
  let L: Mat<D>;
  try {
    L = await eng.cholesky(M);
  } catch (e) {
    if (e instanceof RangeError)
      throw rangeError(
        fn,
        `I + a Gram (a = ${a.toPrecision(4)}) lost positive definiteness in ${eng.dtype} rounding: scale Z down or use f64`,
      );
    throw e;
  }
  const diag = await eng.rowNorms(await eng.hadamard(L, I));
  let logdet = 0;
  for (let i = 0; i < diag.length; i++) logdet += 2 * Math.log(diag[i]);
  if (!needInv) return { logdet, inv: null, trInv: NaN };
  const Linv = await eng.solveTriangular(L, I, { lower: true });
  const inv = await eng.matmul(Linv, Linv, { transA: true });
  const nf = await eng.norm(Linv);
  return { logdet, inv, trInv: nf * nf };
}

function pickSide(gram: GramSide, m: number, d: number): 'features' | 'samples' {
  return gram === 'auto' ? (m < d ? 'samples' : 'features') : gram;
}

/**
 * The coding rate R(Z) = c logdet(I + gam1 d / (n eps2) Z^T Z) of n samples (rows) in R^d and its gradient
 * dR/dZ (n x d). See the module comment for the layout and conventions.
 *
 * @example
 * ```ts
 * const { value, grad } = await codingRate(Z, { eps2: 0.5 });   // Z: n x d, one sample per row
 * grad?.dispose();
 * ```
 */
export async function codingRate<D extends DType>(Z: Mat<D>, options: CodingRateOptions): Promise<CodingRateResult<D>> {
  const fn = 'codingRate';
  checkMat(fn, 'Z', Z);
  const p = parseCommon(fn, checkOptions<CodingRateOptions>(fn, options, CR_OPTIONS));
  const eng = Z.engine;
  await checkFiniteMat(fn, 'Z', Z);
  return eng.scope(async () => {
    const { value, grad } = await rateTerm(fn, eng, Z, p);
    if (!Number.isFinite(value)) throw rangeError(fn, `the coding rate overflowed (${value}): scale Z down`);
    return { value, grad };
  });
}

async function rateTerm<D extends DType>(fn: string, eng: Engine<D>, Z: Mat<D>, p: Parsed): Promise<CodingRateResult<D>> {
  const n = Z.rows,
    d = Z.cols;
  const a = (p.gam1 * d) / (n * p.eps2);
  const side = pickSide(p.gram, n, d);
  const { logdet, inv } = await regularizedGram(fn, eng, Z, a, side, p.grad);
  const value = p.c * logdet;
  if (!inv) return { value, grad: null };
  const alpha = 2 * p.c * a;
  const grad = side === 'features' ? await eng.matmul(Z, inv, { alpha }) : await eng.matmul(inv, Z, { alpha });
  return { value, grad };
}

/** Validated hard labels: Int32Array (or integer array) of length n with entries >= 0. */
function parseLabels(fn: string, v: ArrayLike<number>, n: number): Int32Array {
  if (v.length !== n) throw rangeError(fn, `'membership' has ${v.length} labels but Z has ${n} rows`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = v[i];
    if (typeof l !== 'number' || !Number.isInteger(l) || l < 0 || l > 2 ** 31 - 1)
      throw rangeError(fn, `'membership' labels must be integers >= 0, got ${describeValue(l)} at index ${i}`);
    out[i] = l;
  }
  return out;
}

/**
 * Rate reduction value = gam2 R(Z) - Rc(Z | Pi) with its gradient in Z and, for a soft membership, in the
 * membership. `membership`: hard labels (Int32Array or integer array of length n; class j = the rows
 * labelled j, classes 0..max; an empty class contributes 0) or an n x K Mat of soft memberships (entries
 * >= 0; column j = diag(Pi_j); MLC passes its n x n doubly-stochastic Gamma here, with `half: false`).
 *
 * For MLC's fixed-scale Rc (a_j = d / eps2, weight 1/n, which this function equals when every column of
 * the membership sums to 1) the membership gradient differs from this one by a per-column constant
 * (c/n)(logdet M_j - d + tr M_j^-1), which projects out on the doubly-stochastic constraint set.
 */
export async function rateReduction<D extends DType>(
  Z: Mat<D>,
  membership: Int32Array | ArrayLike<number> | Mat<D>,
  options: RateReductionOptions,
): Promise<RateReductionResult<D>> {
  const fn = 'rateReduction';
  checkMat(fn, 'Z', Z);
  const o = checkOptions<RateReductionOptions>(fn, options, RR_OPTIONS);
  const p = parseCommon(fn, o);
  const gam2 = checkPositive(fn, 'gam2', o.gam2, 1);
  const eng = Z.engine;
  const n = Z.rows,
    d = Z.cols;
  let labels: Int32Array | null = null;
  let soft: Float64Array | null = null;
  let K: number;
  if (membership instanceof Mat) {
    checkMat(fn, 'membership', membership);
    if (membership.engine !== (eng as unknown)) throw rangeError(fn, `'membership' belongs to another engine than 'Z'`);
    if (membership.rows !== n) throw rangeError(fn, `'membership' has ${membership.rows} rows but Z has ${n}`);
    K = membership.cols;
    soft = Float64Array.from(await membership.toArray());
    for (let i = 0; i < soft.length; i++)
      if (!(soft[i] >= 0) || !Number.isFinite(soft[i]))
        throw rangeError(fn, `'membership' entries must be finite and >= 0, got ${soft[i]} at row ${Math.floor(i / K)}, column ${i % K}`);
  } else if (membership instanceof Int32Array || Array.isArray(membership)) {
    labels = parseLabels(fn, membership, n);
    K = labels.reduce((m, l) => Math.max(m, l + 1), 0);
  } else {
    throw typeError(fn, `'membership' must be an Int32Array of labels or an n x K Mat, got ${describeValue(membership)}`);
  }
  await checkFiniteMat(fn, 'Z', Z);

  return eng.scope(async () => {
    const r = await rateTerm(fn, eng, Z, p);
    const R = r.value;
    let Rc = 0;
    // dRc/dZ pieces and dRc/dPi (host, n x K)
    let gradC: Mat<D> | null = null;
    let gradPi: Float64Array | null = null;
    const gscale = (2 * p.c * d) / (n * p.eps2); // 2 c (t_j / n) a_j
    if (labels) {
      const members: number[][] = Array.from({ length: K }, () => []);
      for (let i = 0; i < n; i++) members[labels[i]].push(i);
      const order: number[] = [];
      const blocks: Mat<D>[] = [];
      for (let j = 0; j < K; j++) {
        const m = members[j].length;
        if (m === 0) continue;
        const t = m + TRACE_EPS;
        const aj = d / (t * p.eps2);
        const Zj = await gatherRows(eng, Z, Int32Array.from(members[j]));
        const side = pickSide(p.gram, m, d);
        const { logdet, inv } = await regularizedGram(fn, eng, Zj, aj, side, p.grad);
        Rc += ((p.c * t) / n) * logdet;
        if (inv) {
          blocks.push(side === 'features' ? await eng.matmul(Zj, inv, { alpha: gscale }) : await eng.matmul(inv, Zj, { alpha: gscale }));
          order.push(...members[j]);
        }
      }
      if (p.grad) {
        // scatter the stacked class blocks back to their rows: P[order[r], r] = 1
        const stacked = blocks.length === 1 ? blocks[0] : await eng.vstack(blocks);
        const P = eng.sparse({
          rows: n,
          cols: n,
          row: Int32Array.from(order),
          col: Int32Array.from({ length: n }, (_, i) => i),
          val: new Float64Array(n).fill(1),
        });
        gradC = await eng.spmm(P, stacked);
      }
    } else {
      const pi = soft as Float64Array;
      gradPi = p.grad ? new Float64Array(n * K) : null;
      const ones = p.grad ? eng.ones(d, 1) : null;
      const zn2 = p.grad ? Float64Array.from(await eng.rowNorms(Z), (v) => v * v) : null;
      for (let j = 0; j < K; j++) {
        const pj = new Float64Array(n);
        let tr = 0;
        for (let i = 0; i < n; i++) tr += pj[i] = pi[i * K + j];
        const t = tr + TRACE_EPS;
        const aj = d / (t * p.eps2);
        const sj = Float64Array.from(pj, Math.sqrt);
        const B = await eng.scaleRows(Z, sj);
        const side = pickSide(p.gram, n, d);
        const { logdet, inv, trInv } = await regularizedGram(fn, eng, B, aj, side, p.grad);
        Rc += ((p.c * t) / n) * logdet;
        if (!inv) continue;
        let gj: Mat<D>;
        let q: Float64Array; // z_i^T M_j^-1 z_i
        let trM: number; // tr M_j^-1 (d x d)
        if (side === 'features') {
          const Y = await eng.matmul(Z, inv); // Z M^-1
          gj = await eng.scaleRows(Y, pj);
          q = Float64Array.from(await (await eng.matmul(await eng.hadamard(Y, Z), ones as Mat<D>)).toArray());
          trM = trInv;
        } else {
          // M^-1 = I - a B^T W^-1 B, B M^-1 = W^-1 B (W = I + a B B^T, n x n)
          gj = await eng.scaleRows(await eng.matmul(inv, B), sj);
          const Pm = await eng.matmul(Z, B, { transB: true }); // Z B^T, n x n
          const PW = await eng.matmul(Pm, inv);
          const s = await (await eng.matmul(await eng.hadamard(PW, Pm), eng.ones(n, 1))).toArray();
          q = Float64Array.from(zn2 as Float64Array, (v, i) => v - aj * s[i]);
          trM = d - n + trInv;
        }
        gradC = gradC ? await eng.axpby(1, gradC, gscale, gj) : await eng.scale(gj, gscale);
        const g = gradPi as Float64Array;
        const base = logdet - d + trM;
        for (let i = 0; i < n; i++) g[i * K + j] = -(p.c / n) * (base + (d / p.eps2) * q[i]);
      }
    }
    const value = gam2 * R - Rc;
    if (!Number.isFinite(value)) throw rangeError(fn, `the rate reduction overflowed (${value}): scale Z down`);
    if (!p.grad) return { value, R, Rc, grad: null };
    const grad = await eng.axpby(gam2, r.grad as Mat<D>, -1, gradC as Mat<D>);
    const out: RateReductionResult<D> = { value, R, Rc, grad };
    if (gradPi) out.gradMembership = eng.matrix(gradPi, n, K);
    return out;
  });
}
