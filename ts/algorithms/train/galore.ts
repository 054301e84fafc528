/**
 * GaLore (Zhao et al. 2024) and Q-GaLore (Zhang et al. 2024): gradient low-rank projection for
 * memory-efficient training (spec rsvd-and-higher-level.md §2 with the corrections of
 * higher-level-verified.md §2).
 *
 * GaLoreProjector keeps an orthonormal basis of the top-r singular vectors of a gradient, refreshed
 * every T steps, and maps a full gradient G (m x n) to the low-rank space and a low-rank update back.
 * Basis sides ('std': right when m >= n, else left; 'reverse_std' the other; 'left', 'right', 'full'):
 *   left  (U, m x r): R = U^T G (r x n), back = scale U N
 *   right (V, n x r): R = G V (m x r),   back = scale N V^T
 *   full  (both):     R = U^T G V (r x r), back = scale U N V^T
 * The side is stored with the basis and projectBack uses it, never the low-rank matrix's shape (the
 * reference decides from the shape and breaks when the projection is square, e.g. reverse_std with
 * r >= rows).
 *
 * GaLoreAdamW is AdamW whose moments live in the projected space of each 2-D parameter (not reset on a
 * refresh), with the reference's bias correction (eps added to sqrt(v) before it) and decoupled weight
 * decay in either order.
 *
 * Host vs device: per step everything stays on the device (two GEMMs, one fused engine.adamStep, one
 * axpby per parameter). At a refresh (every T steps) the basis is computed on the device (randomized
 * or exact SVD) and copied to the host once: that copy makes toJSON synchronous and is where Q-GaLore's
 * INT4 quantization runs (quantizeGroupwise is host code); the lazy rule's cosine reads one vector.
 * Q-GaLore's INT8 weights (`quantizeWeights`) are re-quantized on the device after every update
 * (engine.fakeQuantize, one pass per parameter): the weights never leave the device either.
 */
import type { Engine } from '../../engine.js';
import { checkBool, checkFinite, checkInt, checkOneOf, checkOptions, describeValue, rangeError, typeError } from '../../errors.js';
import type { Mat } from '../../mat.js';
import type { DType } from '../../types.js';
import { checkMat, disposeAll } from '../common.js';
import { dequantizeGroupwise, quantizeGroupwise } from '../model/quantize.js';
import { rsvd } from '../rsvd/rsvd.js';

export type GaLoreProjectionType = 'std' | 'reverse_std' | 'left' | 'right' | 'full';

/** Q-GaLore's layer-adaptive lazy refresh (all fields optional; defaults from its code). */
export interface GaLoreLazyOptions {
  /** Mean cosine at or above which T grows (default 0.4). */
  cosThreshold?: number;
  /** FIFO length of cosines (default 5). */
  queue?: number;
  /** Factor T grows by (default 2). */
  gamma?: number;
  /** Compare |cos| (default true, recommended: singular vectors have arbitrary sign); false = the reference's signed cosine. */
  absCos?: boolean;
}

export interface GaLoreProjectorOptions {
  /** Target rank r (default 128); clamped to min(m, n) at the first projection (`rankUsed`). */
  rank?: number;
  /** Refresh period T (default 200, what every shipped script runs; the argparse default is 50). */
  updateEvery?: number;
  /** alpha, applied by projectBack (default 0.25 with T = 200, as the scripts; the argparse default is 1.0). */
  scale?: number;
  /** Projection side rule (default 'std'). */
  type?: GaLoreProjectionType;
  /** 'randomized' (default: rsvd with k = r, p = 10, q = 2) or 'exact' (engine.svd, as the reference). */
  svd?: 'randomized' | 'exact';
  /** Store the basis quantized (Q-GaLore: { bits: 4, groupSize: 256 }); the dequantized basis is used. */
  quantize?: { bits: number; groupSize?: number } | null;
  /** Q-GaLore's lazy refresh rule (off when absent). */
  lazy?: GaLoreLazyOptions | null;
  /** Seed of the randomized SVD's test matrices (default 0; refresh i uses seed + i). */
  seed?: number;
}

export interface GaLoreRefreshInfo {
  /** The step of the refresh. */
  step: number;
  /** Why it was skipped (the old basis was kept), absent when the basis was recomputed. */
  skipped?: 'non-finite gradient';
  /** Cosine of the old and new first singular vectors (lazy mode, from the second refresh on). */
  cos?: number;
  /** The period after this refresh. */
  updateEvery: number;
}

interface ResolvedOptions {
  rank: number;
  updateEvery: number;
  scale: number;
  type: GaLoreProjectionType;
  svd: 'randomized' | 'exact';
  quantize: { bits: number; groupSize: number } | null;
  lazy: { cosThreshold: number; queue: number; gamma: number; absCos: boolean } | null;
  seed: number;
}

/**
 * A basis on the host, rows x cols: the values (row-major) or, for a quantized projector, the
 * quantizeGroupwise codes (one byte value each), per-group scale and zero; the basis used is their
 * dequantization, so a restored projector uses the same values bit for bit.
 */
export interface GaLoreHostBasis {
  rows: number;
  cols: number;
  data?: number[];
  quantized?: { bits: number; groupSize: number; padded: number; codes: number[]; scale: number[]; zero: number[] };
}
type HostBasis = GaLoreHostBasis;

const cloneBasis = (b: HostBasis | null): HostBasis | null => (b ? (JSON.parse(JSON.stringify(b)) as HostBasis) : null);

/** The serialised projector (plain JSON). */
export interface GaLoreProjectorJSON {
  kind: 'GaLoreProjector';
  version: 1;
  options: ResolvedOptions;
  /** Shape of the gradients (null before the first projection). */
  shape: [number, number] | null;
  rankUsed: number;
  updateEvery: number;
  svdCount: number;
  cosQueue: number[];
  firstVector: number[] | null;
  lastRefresh: GaLoreRefreshInfo | null;
  left: HostBasis | null;
  right: HostBasis | null;
}

const PROJ_OPTIONS = ['rank', 'updateEvery', 'scale', 'type', 'svd', 'quantize', 'lazy', 'seed'] as const;
const TYPES = ['std', 'reverse_std', 'left', 'right', 'full'] as const;

function resolveOptions(fn: string, options: unknown): ResolvedOptions {
  const o = checkOptions<GaLoreProjectorOptions>(fn, options, PROJ_OPTIONS);
  const rank = o.rank === undefined ? 128 : checkInt(fn, 'rank', o.rank, 1, 2 ** 31 - 1);
  const updateEvery = o.updateEvery === undefined ? 200 : checkInt(fn, 'updateEvery', o.updateEvery, 1, Number.MAX_SAFE_INTEGER);
  const scale = o.scale === undefined ? 0.25 : checkFinite(fn, 'scale', o.scale);
  const type = checkOneOf(fn, 'type', o.type, TYPES, 'std');
  const svd = checkOneOf(fn, 'svd', o.svd, ['randomized', 'exact'] as const, 'randomized');
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, 2 ** 52);
  let quantize: ResolvedOptions['quantize'] = null;
  if (o.quantize !== undefined && o.quantize !== null) {
    const q = checkOptions<{ bits: number; groupSize: number }>(fn, o.quantize, ['bits', 'groupSize']);
    if (q.bits === undefined) throw typeError(fn, `'quantize.bits' is required`);
    quantize = {
      bits: checkInt(fn, 'quantize.bits', q.bits, 2, 8),
      groupSize: q.groupSize === undefined ? 256 : checkInt(fn, 'quantize.groupSize', q.groupSize, 1, 2 ** 31 - 1),
    };
  }
  let lazy: ResolvedOptions['lazy'] = null;
  if (o.lazy !== undefined && o.lazy !== null) {
    const l = checkOptions<GaLoreLazyOptions>(fn, o.lazy, ['cosThreshold', 'queue', 'gamma', 'absCos']);
    const gamma = l.gamma === undefined ? 2 : checkFinite(fn, 'lazy.gamma', l.gamma);
    if (!(gamma >= 1)) throw rangeError(fn, `'lazy.gamma' must be >= 1, got ${gamma}`);
    lazy = {
      cosThreshold: l.cosThreshold === undefined ? 0.4 : checkFinite(fn, 'lazy.cosThreshold', l.cosThreshold),
      queue: l.queue === undefined ? 5 : checkInt(fn, 'lazy.queue', l.queue, 1, 1e6),
      gamma,
      absCos: checkBool(fn, 'lazy.absCos', l.absCos, true),
    };
  }
  return { rank, updateEvery, scale, type, svd, quantize, lazy, seed };
}

/**
 * The GaLore / Q-GaLore gradient projector of one weight matrix.
 *
 * Refresh rule: the basis is recomputed when `step % T == 0` (step counted before the increment, so
 * step 0 computes it) or when there is none yet. With `lazy`, each refresh after the first pushes the
 * cosine of the old and new first singular vectors into a FIFO of `queue` entries (oldest dropped);
 * when the FIFO is full and its mean is >= cosThreshold, T <- floor(gamma T). The FIFO is not cleared,
 * and the next refresh is the next step that is a multiple of the new T (with T0 = 200 and cos 0.9:
 * 0, 200, ..., 1000, 1200, 1600, 3200, 6400).
 *
 * A refresh whose gradient holds NaN/Inf is skipped (the old basis stays; `lastRefresh.skipped`
 * says so); with no basis yet it is a RangeError.
 */
export class GaLoreProjector<D extends DType = DType> {
  readonly eng: Engine<D>;
  readonly options: Readonly<ResolvedOptions>;
  /** Number of SVDs computed so far. */
  svdCount = 0;
  /** The current refresh period (grows in lazy mode). */
  updateEvery: number;
  /** The last scheduled refresh: computed or skipped. */
  lastRefresh: GaLoreRefreshInfo | null = null;
  /** min(rank, m, n), set at the first projection (0 before). */
  rankUsed = 0;
  private shape: [number, number] | null = null;
  private left: Mat<D> | null = null;
  private right: Mat<D> | null = null;
  private hostLeft: HostBasis | null = null;
  private hostRight: HostBasis | null = null;
  private cosQueue: number[] = [];
  private firstVector: Float64Array | null = null;
  private disposed = false;

  constructor(eng: Engine<D>, options: GaLoreProjectorOptions = {}) {
    const fn = 'GaLoreProjector';
    if (eng === null || typeof eng !== 'object' || typeof (eng as { matmul?: unknown }).matmul !== 'function')
      throw typeError(fn, `'eng' must be an Engine, got ${describeValue(eng)}`);
    this.eng = eng;
    this.options = resolveOptions(fn, options);
    this.updateEvery = this.options.updateEvery;
  }

  /** Which bases the type uses for a gradient of m x n. */
  private sides(m: number, n: number): { left: boolean; right: boolean } {
    switch (this.options.type) {
      case 'std':
        return m >= n ? { left: false, right: true } : { left: true, right: false };
      case 'reverse_std':
        return m >= n ? { left: true, right: false } : { left: false, right: true };
      case 'left':
        return { left: true, right: false };
      case 'right':
        return { left: false, right: true };
      case 'full':
        return { left: true, right: true };
    }
  }

  private live(fn: string): void {
    if (this.disposed) throw typeError(fn, 'the projector has been disposed');
  }

  /**
   * The low-rank gradient R of G (m x n, the same shape at every call) at training step `step` (an
   * integer >= 0), refreshing the basis first when the schedule says so. Returns a new matrix (the
   * caller owns it): m x r (right basis), r x n (left) or r x r (full).
   */
  async project(G: Mat<D>, step: number): Promise<Mat<D>> {
    const fn = 'GaLoreProjector.project';
    this.live(fn);
    checkMat(fn, 'G', G, this.eng);
    checkInt(fn, 'step', step, 0, Number.MAX_SAFE_INTEGER);
    if (this.shape && (G.rows !== this.shape[0] || G.cols !== this.shape[1]))
      throw rangeError(fn, `'G' is ${G.rows} x ${G.cols} but this projector was built for ${this.shape[0]} x ${this.shape[1]} gradients`);
    const has = this.left !== null || this.right !== null;
    if (!has || step % this.updateEvery === 0) await this.refresh(fn, G, step, has);
    const eng = this.eng;
    if (this.left && this.right) {
      const T = await eng.matmul(this.left, G, { transA: true });
      try {
        return await eng.matmul(T, this.right);
      } finally {
        T.dispose();
      }
    }
    if (this.left) return eng.matmul(this.left, G, { transA: true });
    return eng.matmul(G, this.right as Mat<D>);
  }

  /** scale times the full-size update of a low-rank N (the shape project returns); a new matrix. */
  async projectBack(N: Mat<D>): Promise<Mat<D>> {
    const fn = 'GaLoreProjector.projectBack';
    this.live(fn);
    checkMat(fn, 'N', N, this.eng);
    if (!this.shape) throw rangeError(fn, 'no basis yet: call project() first');
    const [m, n] = this.shape,
      k = this.rankUsed;
    const want: [number, number] = this.left && this.right ? [k, k] : this.left ? [k, n] : [m, k];
    if (N.rows !== want[0] || N.cols !== want[1])
      throw rangeError(fn, `'N' is ${N.rows} x ${N.cols}, expected ${want[0]} x ${want[1]} (the shape project() returns)`);
    const eng = this.eng,
      alpha = this.options.scale;
    if (this.left && this.right) {
      const T = await eng.matmul(this.left, N, { alpha });
      try {
        return await eng.matmul(T, this.right, { transB: true });
      } finally {
        T.dispose();
      }
    }
    if (this.left) return eng.matmul(this.left, N, { alpha });
    return eng.matmul(N, this.right as Mat<D>, { transB: true, alpha });
  }

  private async refresh(fn: string, G: Mat<D>, step: number, has: boolean): Promise<void> {
    const eng = this.eng;
    if (!Number.isFinite(await eng.norm(G, 'max'))) {
      if (!has) throw rangeError(fn, `'G' contains NaN or Infinity at step ${step} and there is no basis yet to keep`);
      this.lastRefresh = { step, skipped: 'non-finite gradient', updateEvery: this.updateEvery };
      return;
    }
    const [m, n] = [G.rows, G.cols];
    if (!this.shape) {
      this.shape = [m, n];
      this.rankUsed = Math.min(this.options.rank, m, n);
    }
    const k = this.rankUsed;
    const want = this.sides(m, n);
    let U: Mat<D> | null = null,
      V: Mat<D> | null = null;
    try {
      if (this.options.svd === 'exact' || k === Math.min(m, n)) {
        const r = await eng.svd(G);
        U = want.left ? (k === r.U.cols ? r.U : await eng.slice(r.U, { cols: [0, k] })) : null;
        V = want.right ? (k === r.V.cols ? r.V : await eng.slice(r.V, { cols: [0, k] })) : null;
        if (r.U !== U) r.U.dispose();
        if (r.V !== V) r.V.dispose();
      } else {
        const r = await rsvd(G, { rank: k, oversample: 10, powerIters: 2, seed: this.options.seed + this.svdCount });
        U = want.left ? r.U : (r.U.dispose(), null);
        V = want.right ? r.V : (r.V.dispose(), null);
      }
      this.svdCount++;
      // the lazy rule's cosine, from the unquantized first vector (the reference's float_ortho_matrix)
      const firstOf = want.right ? (V as Mat<D>) : (U as Mat<D>);
      const first = Float64Array.from(
        await eng.slice(firstOf, { cols: [0, 1] }).then(async (c) => {
          try {
            return await c.toArray();
          } finally {
            c.dispose();
          }
        }),
      );
      let cos: number | undefined;
      const lazy = this.options.lazy;
      if (lazy && this.firstVector && this.firstVector.length === first.length) {
        let dot = 0,
          a = 0,
          b = 0;
        for (let i = 0; i < first.length; i++) {
          dot += first[i] * this.firstVector[i];
          a += first[i] * first[i];
          b += this.firstVector[i] * this.firstVector[i];
        }
        cos = a > 0 && b > 0 ? dot / Math.sqrt(a * b) : 0;
        this.pushCos(lazy.absCos ? Math.abs(cos) : cos);
      }
      this.firstVector = first;
      const L = U ? await this.store(U) : null,
        R = V ? await this.store(V) : null;
      U = V = null;
      disposeAll(this.left, this.right);
      this.left = L?.mat ?? null;
      this.right = R?.mat ?? null;
      this.hostLeft = L?.host ?? null;
      this.hostRight = R?.host ?? null;
      this.lastRefresh = { step, updateEvery: this.updateEvery, ...(cos === undefined ? {} : { cos }) };
    } finally {
      disposeAll(U, V);
    }
  }

  /** Pushes a cosine into the FIFO and applies the lazy rule. */
  private pushCos(c: number): void {
    const lazy = this.options.lazy;
    if (!lazy) return;
    this.cosQueue.push(c);
    if (this.cosQueue.length > lazy.queue) this.cosQueue.shift();
    if (this.cosQueue.length === lazy.queue) {
      const mean = this.cosQueue.reduce((s, x) => s + x, 0) / lazy.queue;
      if (mean >= lazy.cosThreshold) this.updateEvery = Math.max(1, Math.floor(this.updateEvery * lazy.gamma));
    }
  }

  /** The basis to use (quantized and dequantized when asked) and its host copy; consumes B. */
  private async store(B: Mat<D>): Promise<{ mat: Mat<D>; host: HostBasis }> {
    const q = this.options.quantize;
    if (!q) return { mat: B, host: { rows: B.rows, cols: B.cols, data: Array.from(await B.toArray()) } };
    try {
      const c = await quantizeGroupwise(B, { bits: q.bits, groupSize: q.groupSize });
      const mat = dequantizeGroupwise(c, this.eng);
      const quantized = {
        bits: c.bits,
        groupSize: c.groupSize,
        padded: c.padded,
        codes: Array.from(c.codes),
        scale: Array.from(c.scale),
        zero: Array.from(c.zero),
      };
      return { mat, host: { rows: mat.rows, cols: mat.cols, quantized } };
    } finally {
      B.dispose();
    }
  }

  /** The current bases (owned by the projector: do not dispose): left m x r, right n x r, or null. */
  get basis(): { left: Mat<D> | null; right: Mat<D> | null } {
    return { left: this.left, right: this.right };
  }

  /** Plain-JSON state (bases as number arrays): JSON.stringify(projector) works; restore with fromJSON. */
  toJSON(): GaLoreProjectorJSON {
    this.live('GaLoreProjector.toJSON');
    return {
      kind: 'GaLoreProjector',
      version: 1,
      options: JSON.parse(JSON.stringify(this.options)) as ResolvedOptions,
      shape: this.shape ? [this.shape[0], this.shape[1]] : null,
      rankUsed: this.rankUsed,
      updateEvery: this.updateEvery,
      svdCount: this.svdCount,
      cosQueue: [...this.cosQueue],
      firstVector: this.firstVector ? Array.from(this.firstVector) : null,
      lastRefresh: this.lastRefresh ? { ...this.lastRefresh } : null,
      left: cloneBasis(this.hostLeft),
      right: cloneBasis(this.hostRight),
    };
  }

  /** A projector restored from toJSON() output (or its JSON.parse), on `eng`. */
  static fromJSON<D extends DType>(eng: Engine<D>, json: GaLoreProjectorJSON | string): GaLoreProjector<D> {
    const fn = 'GaLoreProjector.fromJSON';
    const j = (typeof json === 'string' ? JSON.parse(json) : json) as GaLoreProjectorJSON;
    if (j === null || typeof j !== 'object' || j.kind !== 'GaLoreProjector')
      throw typeError(fn, `'json' must be GaLoreProjector.toJSON() output, got ${describeValue(j)}`);
    if (j.version !== 1) throw rangeError(fn, `unsupported version ${describeValue(j.version)}`);
    const p = new GaLoreProjector(eng, j.options);
    const basis = (b: HostBasis | null, name: string, rows: number): Mat<D> | null => {
      if (!b) return null;
      const bad = (): RangeError => rangeError(fn, `'${name}' basis is malformed (expected ${rows} x ${j.rankUsed})`);
      if (b.rows !== rows || b.cols !== j.rankUsed) throw bad();
      const q = b.quantized;
      if (q) {
        if (!Array.isArray(q.codes) || !Array.isArray(q.scale) || !Array.isArray(q.zero)) throw bad();
        return dequantizeGroupwise(
          {
            codes: Uint8Array.from(q.codes),
            scale: Float32Array.from(q.scale),
            zero: Float32Array.from(q.zero),
            bits: q.bits,
            groupSize: q.groupSize,
            padded: q.padded,
            shape: [b.rows, b.cols],
          },
          eng,
        );
      }
      if (!Array.isArray(b.data) || b.data.length !== b.rows * b.cols) throw bad();
      return eng.matrix(Float64Array.from(b.data), b.rows, b.cols);
    };
    if (j.shape) {
      if (!Array.isArray(j.shape) || j.shape.length !== 2) throw rangeError(fn, `'shape' must be [rows, cols]`);
      p.shape = [checkInt(fn, 'shape[0]', j.shape[0], 1, 2 ** 31), checkInt(fn, 'shape[1]', j.shape[1], 1, 2 ** 31)];
      p.rankUsed = checkInt(fn, 'rankUsed', j.rankUsed, 1, Math.min(p.shape[0], p.shape[1]));
      const want = p.sides(p.shape[0], p.shape[1]);
      if (want.left !== (j.left !== null) || want.right !== (j.right !== null))
        throw rangeError(fn, `the stored bases do not match type '${p.options.type}'`);
      p.left = basis(j.left, 'left', p.shape[0]);
      try {
        p.right = basis(j.right, 'right', p.shape[1]);
      } catch (e) {
        p.left?.dispose();
        throw e;
      }
      p.hostLeft = cloneBasis(j.left);
      p.hostRight = cloneBasis(j.right);
    }
    p.updateEvery = checkInt(fn, 'updateEvery', j.updateEvery, 1, Number.MAX_SAFE_INTEGER);
    p.svdCount = checkInt(fn, 'svdCount', j.svdCount, 0, Number.MAX_SAFE_INTEGER);
    p.cosQueue = Array.isArray(j.cosQueue) ? j.cosQueue.map(Number) : [];
    p.firstVector = j.firstVector ? Float64Array.from(j.firstVector) : null;
    p.lastRefresh = j.lastRefresh ? { ...j.lastRefresh } : null;
    return p;
  }

  /** Frees the bases. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeAll(this.left, this.right);
    this.left = this.right = null;
  }
}

// ---- GaLoreAdamW ---------------------------------------------------------------------------------

export interface GaLoreAdamWOptions<D extends DType = DType> {
  /** Learning rate (default 1e-3, the reference's). */
  lr?: number;
  /** (beta1, beta2); default (0.9, 0.999), or (0.9, 0.95) when a projector quantizes (Q-GaLore's scripts). */
  betas?: [number, number];
  /** Default 1e-6 (GaLoreAdamW's; the 8-bit variants use 1e-8). */
  eps?: number;
  /** Decoupled weight decay (default 0). */
  weightDecay?: number;
  /** 'reference' (default): decay after the update, reading the updated weight; 'torch': before. */
  decayOrder?: 'reference' | 'torch';
  /**
   * Projector options for the matrix parameters (both sides > 1): one object for all, an array (one
   * entry per parameter, null = plain AdamW), or a function of (param, index). null / absent: plain
   * AdamW everywhere. Vectors (a side of 1) always use plain AdamW.
   */
  galore?:
    | GaLoreProjectorOptions
    | null
    | ReadonlyArray<GaLoreProjectorOptions | null>
    | ((p: Mat<D>, index: number) => GaLoreProjectorOptions | null);
  /** Check every gradient for NaN/Inf before the step (one scalar read each; default true). */
  checkFinite?: boolean;
  /**
   * Q-GaLore's low-precision weights for the parameters with a projector: after every update (and the
   * weight decay) each such W is replaced by engine.fakeQuantize(W, { bits, groupSize, rounding:
   * 'stochastic' }) on the device, so it stays on its group's INT-b grid (scales and zero points
   * recomputed from the new min / max). Step t (1-based) of parameter i uses seed `seed + t` and
   * offset i 2^32. null / absent: float weights. bits in [2, 8] (Q-GaLore: 8), groupSize in [1, 4096]
   * (default 256), seed default 0.
   */
  quantizeWeights?: { bits: number; groupSize?: number; seed?: number } | null;
}

/** GaLoreAdamW.state() output (plain JSON). */
export interface GaLoreAdamWState {
  kind: 'GaLoreAdamW';
  version: 1;
  t: number;
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  decayOrder: 'reference' | 'torch';
  checkFinite: boolean;
  projectors: Array<GaLoreProjectorJSON | null>;
  /** Q-GaLore weight quantization (absent: float weights). */
  quantizeWeights?: { bits: number; groupSize: number; seed: number };
  moments: Array<{ M: { rows: number; cols: number; data: number[] } | null; V: { rows: number; cols: number; data: number[] } | null }>;
}

const ADAM_OPTIONS = ['lr', 'betas', 'eps', 'weightDecay', 'decayOrder', 'galore', 'checkFinite', 'quantizeWeights'] as const;

/**
 * AdamW with GaLore projections (Zhao et al.): for a parameter W with a projector, R = project(G),
 * (M, V, N) = adamStep(M, V, R) in the low-rank space, W <- W - lr projectBack(N); other parameters get
 * plain AdamW. Bias correction as the reference: N = sqrt(1 - b2^t) / (1 - b1^t) M / (sqrt(V) + eps).
 * Decoupled decay: 'reference' W <- (W - lr U)(1 - lr wd); 'torch' W <- W (1 - lr wd) - lr U.
 * With `quantizeWeights` (Q-GaLore), each parameter with a projector is then re-quantized group-wise
 * with stochastic rounding on the device (engine.fakeQuantize), so it holds INT-b values.
 *
 * Ownership: the optimizer owns `params` from construction on. Each step replaces them with new
 * matrices and disposes the previous ones (read the current ones from `params`); gradients are not
 * consumed. dispose() frees the parameters, moments and projectors.
 */
export class GaLoreAdamW<D extends DType = DType> {
  readonly eng: Engine<D>;
  /** The current parameters (owned by the optimizer). */
  params: Mat<D>[];
  /** One projector per parameter (null: plain AdamW). */
  projectors: ReadonlyArray<GaLoreProjector<D> | null>;
  /** Steps taken so far (the projector's step is this count before the increment). */
  t = 0;
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly decayOrder: 'reference' | 'torch';
  readonly checkGrads: boolean;
  /** Q-GaLore weight quantization of the parameters with a projector (null: float weights). */
  readonly quantizeWeights: { bits: number; groupSize: number; seed: number } | null;
  private M: Array<Mat<D> | null>;
  private V: Array<Mat<D> | null>;
  private disposed = false;

  constructor(eng: Engine<D>, params: Mat<D>[], options: GaLoreAdamWOptions<D> = {}) {
    const fn = 'GaLoreAdamW';
    if (eng === null || typeof eng !== 'object' || typeof (eng as { matmul?: unknown }).matmul !== 'function')
      throw typeError(fn, `'eng' must be an Engine, got ${describeValue(eng)}`);
    if (!Array.isArray(params) || params.length === 0) throw typeError(fn, `'params' must be a non-empty array of Mat`);
    for (const [i, p] of params.entries()) checkMat(fn, `params[${i}]`, p, eng);
    if (new Set(params).size !== params.length) throw rangeError(fn, `'params' holds the same Mat twice`);
    const o = checkOptions<GaLoreAdamWOptions<D>>(fn, options, ADAM_OPTIONS);
    this.eng = eng;
    this.lr = o.lr === undefined ? 1e-3 : checkFinite(fn, 'lr', o.lr);
    if (!(this.lr >= 0)) throw rangeError(fn, `'lr' must be >= 0, got ${this.lr}`);
    this.eps = o.eps === undefined ? 1e-6 : checkFinite(fn, 'eps', o.eps);
    if (!(this.eps > 0)) throw rangeError(fn, `'eps' must be > 0, got ${this.eps}`);
    this.weightDecay = o.weightDecay === undefined ? 0 : checkFinite(fn, 'weightDecay', o.weightDecay);
    if (!(this.weightDecay >= 0)) throw rangeError(fn, `'weightDecay' must be >= 0, got ${this.weightDecay}`);
    this.decayOrder = checkOneOf(fn, 'decayOrder', o.decayOrder, ['reference', 'torch'] as const, 'reference');
    this.checkGrads = checkBool(fn, 'checkFinite', o.checkFinite, true);
    this.quantizeWeights = null;
    if (o.quantizeWeights !== undefined && o.quantizeWeights !== null) {
      const q = o.quantizeWeights;
      if (typeof q !== 'object' || Array.isArray(q)) throw typeError(fn, `'quantizeWeights' must be { bits, groupSize?, seed? } or null`);
      const qo = checkOptions<{ bits: number; groupSize?: number; seed?: number }>(fn, q, ['bits', 'groupSize', 'seed']);
      if (qo.bits === undefined) throw typeError(fn, `'quantizeWeights.bits' is required`);
      this.quantizeWeights = {
        bits: checkInt(fn, 'quantizeWeights.bits', qo.bits, 2, 8),
        groupSize: qo.groupSize === undefined ? 256 : checkInt(fn, 'quantizeWeights.groupSize', qo.groupSize, 1, 4096),
        seed: qo.seed === undefined ? 0 : checkInt(fn, 'quantizeWeights.seed', qo.seed, 0, 2 ** 52),
      };
    }
    const g = o.galore;
    if (Array.isArray(g) && g.length !== params.length)
      throw rangeError(fn, `'galore' has ${g.length} entries but there are ${params.length} params`);
    const configs = params.map((p, i): GaLoreProjectorOptions | null => {
      if (p.rows === 1 || p.cols === 1) return null;
      const c =
        typeof g === 'function'
          ? g(p, i)
          : Array.isArray(g)
            ? (g as ReadonlyArray<GaLoreProjectorOptions | null>)[i]
            : (g as GaLoreProjectorOptions | null | undefined);
      if (c !== undefined && c !== null && (typeof c !== 'object' || Array.isArray(c)))
        throw typeError(fn, `'galore' for params[${i}] must be an options object or null, got ${describeValue(c)}`);
      return c ?? null;
    });
    const quantized = configs.some((c) => c?.quantize);
    let betas: [number, number] = quantized ? [0.9, 0.95] : [0.9, 0.999];
    if (o.betas !== undefined) {
      if (!Array.isArray(o.betas) || o.betas.length !== 2) throw typeError(fn, `'betas' must be [beta1, beta2]`);
      betas = [checkFinite(fn, 'betas[0]', o.betas[0]), checkFinite(fn, 'betas[1]', o.betas[1])];
      for (const [i, b] of betas.entries()) if (!(b >= 0 && b < 1)) throw rangeError(fn, `'betas[${i}]' must be in [0, 1), got ${b}`);
    }
    this.betas = betas;
    const projectors: Array<GaLoreProjector<D> | null> = [];
    for (const c of configs) projectors.push(c ? new GaLoreProjector(eng, c) : null);
    this.projectors = projectors;
    this.params = [...params];
    this.M = params.map(() => null);
    this.V = params.map(() => null);
  }

  /**
   * One optimizer step with gradients `grads` (one per parameter, same shapes; not consumed). Returns
   * the new parameters (also in `params`); the previous ones are disposed. A non-finite gradient is a
   * RangeError before any state changes (skip that batch and call again).
   */
  async step(grads: Mat<D>[]): Promise<Mat<D>[]> {
    const fn = 'GaLoreAdamW.step';
    if (this.disposed) throw typeError(fn, 'the optimizer has been disposed');
    if (!Array.isArray(grads) || grads.length !== this.params.length)
      throw typeError(fn, `'grads' must be an array of ${this.params.length} Mat (one per parameter)`);
    for (const [i, G] of grads.entries()) {
      checkMat(fn, `grads[${i}]`, G, this.eng);
      const P = this.params[i];
      if (G.rows !== P.rows || G.cols !== P.cols)
        throw rangeError(fn, `'grads[${i}]' is ${G.rows} x ${G.cols} but params[${i}] is ${P.rows} x ${P.cols}`);
    }
    const eng = this.eng;
    if (this.checkGrads)
      for (const [i, G] of grads.entries())
        if (!Number.isFinite(await eng.norm(G, 'max'))) throw rangeError(fn, `'grads[${i}]' contains NaN or Infinity (state unchanged)`);
    const s = this.t; // the step counted before the increment
    const t = s + 1;
    const [beta1, beta2] = this.betas;
    const lr = this.lr,
      wd = this.weightDecay;
    const next: Mat<D>[] = [];
    // new moments are kept aside until every parameter succeeded (a failure leaves the moments as they were)
    const newM: Array<Mat<D> | null> = this.M.map(() => null),
      newV: Array<Mat<D> | null> = this.V.map(() => null);
    try {
      for (const [i, G] of grads.entries()) {
        const proj = this.projectors[i];
        const R = proj ? await proj.project(G, s) : G;
        let out: { M: Mat<D>; V: Mat<D>; N: Mat<D> };
        const M0 = this.M[i] ?? eng.zeros(R.rows, R.cols),
          V0 = this.V[i] ?? eng.zeros(R.rows, R.cols);
        try {
          out = await eng.adamStep(M0, V0, R, { beta1, beta2, eps: this.eps, step: t });
        } finally {
          if (R !== G) R.dispose();
          if (M0 !== this.M[i]) M0.dispose();
          if (V0 !== this.V[i]) V0.dispose();
        }
        newM[i] = out.M;
        newV[i] = out.V;
        let U = out.N;
        if (proj) {
          try {
            U = await proj.projectBack(out.N);
          } finally {
            out.N.dispose();
          }
        }
        const W = this.params[i],
          keep = 1 - lr * wd;
        let Wn: Mat<D>;
        try {
          // reference: (W - lr U)(1 - lr wd); torch: W (1 - lr wd) - lr U
          Wn = await eng.axpby(keep, W, this.decayOrder === 'reference' ? -lr * keep : -lr, U);
        } finally {
          U.dispose();
        }
        const q = this.quantizeWeights;
        if (q && proj) {
          try {
            const opts = { bits: q.bits, groupSize: q.groupSize, rounding: 'stochastic', seed: q.seed + t, offset: i * 2 ** 32 } as const;
            next.push(await eng.fakeQuantize(Wn, opts));
          } finally {
            Wn.dispose();
          }
        } else next.push(Wn);
      }
    } catch (e) {
      disposeAll(...next, ...newM, ...newV);
      throw e;
    }
    disposeAll(...this.M, ...this.V);
    this.M = newM;
    this.V = newV;
    this.t = t;
    disposeAll(...this.params);
    this.params = next;
    return [...next];
  }

  /**
   * The optimizer state as plain JSON (step count, hyper-parameters, moments and projectors; not the
   * parameters, which the caller checkpoints): one download of every moment. Restore with
   * {@link GaLoreAdamW.fromState}.
   */
  async state(): Promise<GaLoreAdamWState> {
    if (this.disposed) throw typeError('GaLoreAdamW.state', 'the optimizer has been disposed');
    const moment = async (X: Mat<D> | null): Promise<{ rows: number; cols: number; data: number[] } | null> =>
      X ? { rows: X.rows, cols: X.cols, data: Array.from(await X.toArray()) } : null;
    const moments: GaLoreAdamWState['moments'] = [];
    for (let i = 0; i < this.params.length; i++) moments.push({ M: await moment(this.M[i]), V: await moment(this.V[i]) });
    return {
      kind: 'GaLoreAdamW',
      version: 1,
      t: this.t,
      lr: this.lr,
      betas: [this.betas[0], this.betas[1]],
      eps: this.eps,
      weightDecay: this.weightDecay,
      decayOrder: this.decayOrder,
      checkFinite: this.checkGrads,
      projectors: this.projectors.map((p) => (p ? p.toJSON() : null)),
      ...(this.quantizeWeights ? { quantizeWeights: { ...this.quantizeWeights } } : {}),
      moments,
    };
  }

  /**
   * An optimizer resumed from {@link GaLoreAdamW.state} output (or its JSON text) with `params` (the
   * checkpointed parameters, same count and shapes; owned by the optimizer from here on): the next steps
   * equal those the saved optimizer would have taken.
   */
  static fromState<D extends DType>(eng: Engine<D>, params: Mat<D>[], state: GaLoreAdamWState | string): GaLoreAdamW<D> {
    const fn = 'GaLoreAdamW.fromState';
    const s = (typeof state === 'string' ? JSON.parse(state) : state) as GaLoreAdamWState;
    if (s === null || typeof s !== 'object' || s.kind !== 'GaLoreAdamW')
      throw typeError(fn, `'state' must be GaLoreAdamW.state() output, got ${describeValue(s)}`);
    if (s.version !== 1) throw rangeError(fn, `unsupported version ${describeValue(s.version)}`);
    if (!Array.isArray(params) || !Array.isArray(s.projectors) || !Array.isArray(s.moments) || params.length !== s.moments.length)
      throw rangeError(fn, `'params' must hold ${Array.isArray(s.moments) ? s.moments.length : '?'} matrices (as saved)`);
    const opt = new GaLoreAdamW(eng, params, {
      lr: s.lr,
      betas: s.betas,
      eps: s.eps,
      weightDecay: s.weightDecay,
      decayOrder: s.decayOrder,
      checkFinite: s.checkFinite,
      galore: null,
      quantizeWeights: s.quantizeWeights ?? null,
    });
    try {
      opt.t = checkInt(fn, 't', s.t, 0, Number.MAX_SAFE_INTEGER);
      opt.projectors = s.projectors.map((j) => (j ? GaLoreProjector.fromJSON(eng, j) : null));
      for (const [i, m] of s.moments.entries()) {
        for (const key of ['M', 'V'] as const) {
          const x = m?.[key];
          if (!x) continue;
          if (!Array.isArray(x.data) || x.data.length !== x.rows * x.cols) throw rangeError(fn, `moments[${i}].${key} is malformed`);
          (key === 'M' ? opt.M : opt.V)[i] = eng.matrix(Float64Array.from(x.data), x.rows, x.cols);
        }
      }
    } catch (e) {
      // the caller keeps its parameters on failure
      disposeAll(...opt.M, ...opt.V);
      for (const p of opt.projectors) p?.dispose();
      opt.disposed = true;
      throw e;
    }
    return opt;
  }

  /**
   * Bytes of optimizer state (moments and projector bases) at the engine's dtype; the parameters are
   * not included (see {@link GaLoreAdamW.weightBytes}).
   */
  stateBytes(): number {
    const b = this.eng.dtype === 'f64' ? 8 : 4;
    let n = 0;
    for (const m of [...this.M, ...this.V]) if (m) n += m.rows * m.cols * b;
    for (const p of this.projectors) {
      const { left, right } = p?.basis ?? { left: null, right: null };
      for (const x of [left, right]) if (x) n += x.rows * x.cols * b;
    }
    return n;
  }

  /**
   * Bytes the parameters need in their stored format: with `quantizeWeights`, a parameter with a
   * projector counts one byte per entry (INT-b codes, not bit-packed, as quantizeGroupwise) plus an f32
   * scale and zero point per group; every other parameter counts its entries at the engine's dtype.
   * (On the device the quantized weights are kept as the values they stand for, at the engine's dtype:
   * this is the INT8 storage Q-GaLore's format needs, not what this engine allocates.)
   */
  weightBytes(): number {
    const b = this.eng.dtype === 'f64' ? 8 : 4;
    const q = this.quantizeWeights;
    let n = 0;
    for (const [i, p] of this.params.entries()) {
      const numel = p.rows * p.cols;
      n += q && this.projectors[i] ? numel + 8 * Math.ceil(numel / q.groupSize) : numel * b;
    }
    return n;
  }

  /** Frees the parameters, moments and projectors. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeAll(...this.params, ...this.M, ...this.V);
    for (const p of this.projectors) p?.dispose();
  }
}
