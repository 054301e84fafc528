/**
 * EoRA (Liu et al. 2024, NVIDIA; NVlabs/EoRA eora.py): a rank-r compensation B A of a compression error
 * dW = W - W_c (out x in) that is optimal in the activation-weighted norm ||(dW - B A) X^T||_F:
 *   C = Q diag(lambda) Q^T (eigh, lambdas floored), Q' = Q diag(lambda)^{1/2},
 *   dW Q' = U S V^T (top r), B = U_r S_r^{1/2}, A = S_r^{1/2} V_r^T Q'^{-1}, Q'^{-1} = diag(lambda)^{-1/2} Q^T,
 * and ||(dW - B A) X^T||_F^2 / N = sum_{i>r} s_i(dW Q')^2 when C = X^T X / N and no floor was applied.
 */
import { checkOneOf, checkOptions, describeValue, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { disposeAll, finiteMat } from '../common.js';
import { CovarianceAccumulator } from './covariance.js';
import { checkRank, tailNorm, topTriplets } from './spectrum.js';

export interface EoraOptions {
  /** Compensation rank r, required: 1 <= r <= min(out, in). */
  rank: number;
  /**
   * Eigenvalue floor of C: 'auto' (default) lambda >= 1e-6 lambda_max on f32 engines (the spec's) and
   * 1e-12 lambda_max on f64; a number f in [0, 1): lambda >= f lambda_max (0 then refuses lambda <= 0);
   * 'reference': the reference's rule, lambda <= 0 replaced by the smallest positive lambda (the
   * reference replaces only lambda < 0, so an exact 0 gives it an infinite Q'^{-1}).
   */
  eigFloor?: 'auto' | 'reference' | number;
  /** 'exact' (default; the reference's full SVD) or 'randomized' (rsvd at rank r). */
  svd?: 'exact' | 'randomized';
  /** Seed of the randomized SVD (default 0). */
  seed?: number;
}

export interface EoraResult<D extends DType = DType> {
  /** out x r (PEFT's lora_B). Owned by the caller. */
  B: Mat<D>;
  /** r x in (PEFT's lora_A). Owned by the caller. */
  A: Mat<D>;
  rank: number;
  /**
   * sqrt(tr((dW - B A) C (dW - B A)^T) / tr(dW C dW^T)) with the unfloored C (= ||(dW - BA) X^T||_F /
   * ||dW X^T||_F for C = X^T X / N), measured in C's eigenbasis.
   */
  weightedError: number;
  /** ||dW - B A||_F / ||dW||_F (EoRA is expected to be worse than plain SVD here). */
  relError: number;
  /** sum_{i>r} s_i(dW Q')^2 (full spectrum with svd 'exact'; NaN with 'randomized'). */
  tailEnergy: number;
  /** The top r singular values of dW Q'. */
  singularValues: Float64Array;
  /** The floor used (absolute, in C's units) and how many eigenvalues it raised. */
  eigFloor: number;
  floorApplied: number;
  /** C's eigenvalues, descending, before the floor. */
  eigenvalues: Float64Array;
}

const OPTS = ['rank', 'eigFloor', 'svd', 'seed'] as const;

/**
 * EoRA's compensation of dW (out x in) for the input covariance `cov` (in x in Mat, symmetric PSD, lower
 * triangle read; or a CovarianceAccumulator, whose covariance() is used). Runs on the device: eigh of C,
 * dW Q Lambda^{1/2}, its SVD, and the products; only eigenvalues, singular values and norms come back.
 *
 * @throws TypeError/RangeError naming 'eoraInit' and the argument: deltaW or cov not a Mat (or
 *   accumulator) of one engine or non-finite, cov not in x in, rank outside [1, min(out, in)], eigFloor
 *   outside [0, 1), a zero covariance, or a non-positive eigenvalue left by eigFloor 0.
 */
export async function eoraInit<D extends DType>(
  deltaW: Mat<D>,
  cov: Mat<D> | CovarianceAccumulator<D>,
  options: EoraOptions,
): Promise<EoraResult<D>> {
  const fn = 'eoraInit';
  await finiteMat<D>(fn, 'deltaW', deltaW);
  const eng = deltaW.engine;
  const [out, inp] = [deltaW.rows, deltaW.cols];
  if (options === null || typeof options !== 'object') throw typeError(fn, `options { rank, ... } are required`);
  const o = checkOptions<EoraOptions>(fn, options, OPTS);
  if (o.rank === undefined) throw typeError(fn, `'rank' is required`);
  const r = checkRank(fn, 'rank', o.rank, Math.min(out, inp));
  const method = checkOneOf(fn, 'svd', o.svd, ['exact', 'randomized'] as const, 'exact');
  const floorOpt = o.eigFloor ?? 'auto';
  if (typeof floorOpt === 'number') {
    if (!(floorOpt >= 0 && floorOpt < 1))
      throw rangeError(fn, `'eigFloor' must be 'auto', 'reference' or a number in [0, 1), got ${floorOpt}`);
  } else checkOneOf(fn, 'eigFloor', floorOpt, ['auto', 'reference'] as const);
  const seed = o.seed ?? 0;

  let C: Mat<D>;
  let ownC = false;
  if (cov instanceof CovarianceAccumulator) {
    if (cov.dim !== inp) throw rangeError(fn, `'cov' has dim ${cov.dim} but deltaW is ${out} x ${inp} (needs in = ${inp})`);
    C = await cov.covariance();
    ownC = true;
  } else {
    if (!(cov instanceof Mat)) throw typeError(fn, `'cov' must be a Mat or a CovarianceAccumulator, got ${describeValue(cov)}`);
    eng._mats(fn, { cov });
    if (cov.rows !== inp || cov.cols !== inp)
      throw rangeError(fn, `'cov' must be in x in = ${inp} x ${inp} (deltaW is ${out} x ${inp}), got ${cov.rows} x ${cov.cols}`);
    C = cov;
  }
  const held: Array<Mat<D> | undefined> = [];
  try {
    if (!Number.isFinite(await eng.norm(C, 'max'))) throw rangeError(fn, `'cov' contains NaN or Infinity`);
    const { values, vectors: Q } = await eng.eigh(C);
    held.push(Q);
    const lmax = values[0];
    if (!(lmax > 0)) throw rangeError(fn, `'cov' has no positive eigenvalue (a zero covariance: no activations?)`);
    let floor: number;
    if (floorOpt === 'reference') {
      let minPos = Infinity;
      for (const v of values) if (v > 0 && v < minPos) minPos = v;
      floor = minPos;
    } else floor = (floorOpt === 'auto' ? (eng.dtype === 'f32' ? 1e-6 : 1e-12) : floorOpt) * lmax;
    let floorApplied = 0;
    const lam = Float64Array.from(values, (v) => {
      if (v < floor || (floorOpt === 'reference' && v <= 0)) {
        floorApplied++;
        return floor;
      }
      return v;
    });
    if (lam.some((v) => !(v > 0)))
      throw rangeError(fn, `'cov' has eigenvalues <= 0 and 'eigFloor' is 0: Q'^-1 would be infinite (use 'auto')`);
    const sqrtLam = Float64Array.from(lam, Math.sqrt);
    const sqrtTrue = Float64Array.from(values, (v) => Math.sqrt(Math.max(v, 0)));

    const dWQ = await eng.matmul(deltaW, Q);
    held.push(dWQ);
    const M = await eng.scaleColumns(dWQ, sqrtLam); // dW Q'
    held.push(M);
    const t = await topTriplets(eng, M, { rank: r }, method, seed);
    held.push(t.U, t.V);
    const rootS = Float64Array.from(t.S, Math.sqrt);
    const B = await eng.scaleColumns(t.U, rootS);
    held.push(B);
    // A Q = S^{1/2} V_r^T Lambda^{-1/2}  (r x in);  A = (A Q) Q^T
    const Vl = await eng.scaleRows(
      t.V,
      Float64Array.from(sqrtLam, (s) => 1 / s),
    );
    held.push(Vl);
    const Vls = await eng.scaleColumns(Vl, rootS); // in x r = (A Q)^T
    held.push(Vls);
    const A = await eng.matmul(Vls, Q, { transA: true, transB: true });
    held.push(A);

    // weighted error in C's eigenbasis with the true (unfloored, clamped at 0) eigenvalues
    const BAQ = await eng.matmul(B, Vls, { transB: true });
    held.push(BAQ);
    const DQ = await eng.sub(dWQ, BAQ);
    held.push(DQ);
    const num = await eng.scaleColumns(DQ, sqrtTrue);
    held.push(num);
    const den = await eng.scaleColumns(dWQ, sqrtTrue);
    held.push(den);
    const nNum = await eng.norm(num, 'fro');
    const nDen = await eng.norm(den, 'fro');
    const weightedError = nDen === 0 ? 0 : nNum / nDen;

    const BA = await eng.matmul(B, A);
    held.push(BA);
    const D = await eng.sub(deltaW, BA);
    held.push(D);
    const nD = await eng.norm(D, 'fro');
    const nW = await eng.norm(deltaW, 'fro');
    const relError = nW === 0 ? 0 : nD / nW;

    const tailEnergy = t.full ? tailNorm(t.full, r) ** 2 : Number.NaN;
    const keep = new Set<Mat<D> | undefined>([B, A]);
    disposeAll(...held.filter((m) => !keep.has(m)));
    held.length = 0;
    return {
      B,
      A,
      rank: r,
      weightedError,
      relError,
      tailEnergy,
      singularValues: t.S,
      eigFloor: floor,
      floorApplied,
      eigenvalues: values,
    };
  } finally {
    disposeAll(...held);
    if (ownC) C.dispose();
  }
}

/**
 * The activation-weighted relative error of any compensation B A of dW for covariance C:
 * sqrt(tr((dW - B A) C (dW - B A)^T) / tr(dW C dW^T)), computed directly (no eigh), for comparing
 * baselines (plain SVD, EoRA, none) on the same C.
 *
 * @throws TypeError/RangeError naming 'activationWeightedError': shapes disagree (dW out x in, C in x in, B out x r,
 *   A r x in), matrices of different engines.
 */
export async function activationWeightedError<D extends DType>(deltaW: Mat<D>, C: Mat<D>, B: Mat<D>, A: Mat<D>): Promise<number> {
  const fn = 'activationWeightedError';
  if (!(deltaW instanceof Mat)) throw typeError(fn, `'deltaW' must be a Mat, got ${describeValue(deltaW)}`);
  const eng = deltaW.engine;
  eng._mats(fn, { deltaW, C, B, A });
  const [out, inp] = [deltaW.rows, deltaW.cols];
  if (C.rows !== inp || C.cols !== inp) throw rangeError(fn, `'C' must be ${inp} x ${inp}, got ${C.rows} x ${C.cols}`);
  if (B.rows !== out || A.cols !== inp || B.cols !== A.rows)
    throw rangeError(fn, `'B' (${B.rows} x ${B.cols}) and 'A' (${A.rows} x ${A.cols}) must be ${out} x r and r x ${inp}`);
  const quad = async (D: Mat<D>): Promise<number> => {
    const DC = await eng.matmul(D, C);
    const H = await eng.hadamard(D, DC);
    const one = eng.ones(H.cols, 1);
    const h = await eng.matmul(H, one);
    const v = await h.toArray();
    disposeAll(DC, H, one, h);
    let s = 0;
    for (const x of v) s += x;
    return s;
  };
  const BA = await eng.matmul(B, A);
  const D = await eng.sub(deltaW, BA);
  BA.dispose();
  try {
    const den = await quad(deltaW);
    return den === 0 ? 0 : Math.sqrt(Math.max(0, (await quad(D)) / den));
  } finally {
    D.dispose();
  }
}
