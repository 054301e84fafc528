/**
 * Group-wise asymmetric min-max quantization (Q-GaLore's scheme for projectors and weights), with the
 * reference's two problems fixed: the zero point is not clamped to [0, 2^b - 1] (which clips every
 * single-sign group: INT4 turned [1, 2] into [1, 1]) and a last partial group is padded instead of
 * asserting numel % groupSize == 0.
 *
 * Codes are integers, so this is host work: W is downloaded once and quantized in one O(mn) pass
 * (bandwidth bound); dequantization builds the matrix on the host and uploads it.
 */
import type { Engine } from '../../engine.js';
import { checkInt, checkOneOf, checkOptions, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import { uniformStream } from '../../rng/philox.js';
import type { DType } from '../../types.js';

export interface QuantizeOptions {
  /** Bits per code, an integer in [2, 8] (required). */
  bits: number;
  /** Entries per group (consecutive in row-major order), default 256 (Q-GaLore's group size). */
  groupSize?: number;
  /** 'nearest' (default; ties to even, as torch.round) or 'stochastic' (unbiased, Q-GaLore's). */
  rounding?: 'nearest' | 'stochastic';
  /** Seed of the stochastic rounding (default 0). */
  seed?: number;
}

/** A group-wise quantized matrix (host data). */
export interface QuantizedGroupwise {
  /** One code per entry in [0, 2^bits - 1], one byte each (not bit-packed), row-major, padded to groups * groupSize. */
  codes: Uint8Array;
  /** Per group: the step (max - min) / (2^bits - 1). */
  scale: Float32Array;
  /** Per group: the zero point -min / scale (not rounded, not clamped), so that w ~ scale (q - zero). */
  zero: Float32Array;
  bits: number;
  groupSize: number;
  /** [rows, cols] of the quantized matrix. */
  shape: [number, number];
  /** Padding entries at the end of the last group (their codes are 0 and ignored). */
  padded: number;
}

const OPTIONS = ['bits', 'groupSize', 'rounding', 'seed'] as const;

/**
 * Quantizes W group by group: every `groupSize` consecutive row-major entries share
 * scale = (max - min) / (2^b - 1) and zero = -min / scale (a group of equal values c gets
 * scale = |c| / (2^b - 1), or 1 / (2^b - 1) when c = 0, and dequantizes exactly), and
 * q = clamp(round(w / scale + zero), 0, 2^b - 1); dequantization is scale (q - zero). Both ends of every
 * group are on the grid, so nearest rounding errs by at most scale / 2 and stochastic rounding
 * (q = floor(w / scale + zero) + Bernoulli(frac)) is unbiased for every entry.
 *
 * Differences from the Q-GaLore reference: its zero point round(-min / scale) is clamped to
 * [0, 2^b - 1], which clips single-sign groups ([1, 2] became [1, 1] at INT4); here the zero point is
 * the exact -min / scale. Its floor max(max - min, 1e-5) on the range is replaced by the equal-values
 * rule above. A last partial group is padded (`padded` entries, codes 0) instead of an assert.
 *
 * Host vs device: W is downloaded once; the O(mn) pass and the codes are on the host.
 *
 * @throws TypeError/RangeError naming 'quantizeGroupwise' and the argument: W not a Mat or not finite,
 *   bits outside [2, 8], groupSize < 1, unknown rounding or options.
 */
export async function quantizeGroupwise<D extends DType>(W: Mat<D>, options: QuantizeOptions): Promise<QuantizedGroupwise> {
  const fn = 'quantizeGroupwise';
  if (!(W instanceof Mat)) throw typeError(fn, `'W' must be a Mat, got ${typeof W}`);
  if (W.disposed) throw typeError(fn, `'W' has been disposed`);
  if (options === null || typeof options !== 'object') throw typeError(fn, `options must be an object with 'bits'`);
  const o = checkOptions<QuantizeOptions>(fn, options, OPTIONS);
  if (o.bits === undefined) throw typeError(fn, `'bits' is required`);
  const bits = checkInt(fn, 'bits', o.bits, 2, 8);
  const groupSize = o.groupSize === undefined ? 256 : checkInt(fn, 'groupSize', o.groupSize, 1, 2 ** 31 - 1);
  const rounding = checkOneOf(fn, 'rounding', o.rounding, ['nearest', 'stochastic'] as const, 'nearest');
  const seed = o.seed === undefined ? 0 : checkInt(fn, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  const w = await W.toArray();
  const total = w.length;
  for (let i = 0; i < total; i++) {
    const v = w[i];
    if (v - v !== 0) throw rangeError(fn, `'W' must be finite (entry ${i} is ${v})`);
  }
  const qmax = 2 ** bits - 1;
  const groups = Math.ceil(total / groupSize);
  const codes = new Uint8Array(groups * groupSize);
  const scale = new Float32Array(groups),
    zero = new Float32Array(groups);
  const stochastic = rounding === 'stochastic';
  for (let g = 0; g < groups; g++) {
    const a = g * groupSize,
      b = Math.min(total, a + groupSize);
    let lo = Infinity,
      hi = -Infinity;
    for (let i = a; i < b; i++) {
      const v = w[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    // f32 scale and zero, and the codes computed from exactly those
    const s = Math.fround(hi > lo ? (hi - lo) / qmax : (lo !== 0 ? Math.abs(lo) : 1) / qmax);
    const z = Math.fround(-lo / s);
    scale[g] = s;
    zero[g] = z;
    if (!stochastic) {
      for (let i = a; i < b; i++) {
        const x = w[i] / s + z;
        let q = Math.round(x);
        if (q - x === 0.5 && (q & 1) !== 0) q -= 1; // ties to even
        codes[i] = Math.min(qmax, Math.max(0, q));
      }
    } else {
      // entry i uses element i of the Philox uniform stream (seed, stream 0x7167): independent of groupSize
      const u = uniformStream(b - a, seed, 'f64', 0x7167, a);
      for (let i = a; i < b; i++) {
        const x = w[i] / s + z;
        const f = Math.floor(x);
        const q = f + (u[i - a] < x - f ? 1 : 0);
        codes[i] = Math.min(qmax, Math.max(0, q));
      }
    }
  }
  return { codes, scale, zero, bits, groupSize, shape: [W.rows, W.cols], padded: groups * groupSize - total };
}

/**
 * The matrix scale (q - zero) of a quantizeGroupwise result, on `eng` (built on the host, one upload).
 *
 * @throws TypeError/RangeError naming 'dequantizeGroupwise': a malformed `q` (lengths that do not match
 *   shape, groupSize and padding; codes above 2^bits - 1).
 */
export function dequantizeGroupwise<D extends DType>(q: QuantizedGroupwise, eng: Engine<D>): Mat<D> {
  const fn = 'dequantizeGroupwise';
  if (q === null || typeof q !== 'object') throw typeError(fn, `'q' must be a quantizeGroupwise result`);
  if (!(q.codes instanceof Uint8Array) || !(q.scale instanceof Float32Array) || !(q.zero instanceof Float32Array))
    throw typeError(fn, `'q' must have codes: Uint8Array, scale and zero: Float32Array`);
  if (!Array.isArray(q.shape) || q.shape.length !== 2) throw typeError(fn, `'q.shape' must be [rows, cols]`);
  const [m, n] = q.shape;
  checkInt(fn, 'q.shape[0]', m, 1, 2 ** 31 - 1);
  checkInt(fn, 'q.shape[1]', n, 1, 2 ** 31 - 1);
  const bits = checkInt(fn, 'q.bits', q.bits, 2, 8);
  const gs = checkInt(fn, 'q.groupSize', q.groupSize, 1, 2 ** 31 - 1);
  const total = m * n;
  const groups = Math.ceil(total / gs);
  if (q.scale.length !== groups || q.zero.length !== groups)
    throw rangeError(fn, `'q' has ${q.scale.length} scales and ${q.zero.length} zeros, expected ${groups}`);
  if (q.codes.length !== groups * gs || q.padded !== groups * gs - total)
    throw rangeError(
      fn,
      `'q.codes' has length ${q.codes.length} (padded ${q.padded}), expected ${groups * gs} (padded ${groups * gs - total})`,
    );
  const qmax = 2 ** bits - 1;
  const out = eng.dtype === 'f64' ? new Float64Array(total) : new Float32Array(total);
  const codes = q.codes;
  for (let g = 0; g < groups; g++) {
    const s = q.scale[g],
      z = q.zero[g];
    const b = Math.min(total, (g + 1) * gs);
    for (let i = g * gs; i < b; i++) {
      const c = codes[i];
      if (c > qmax) throw rangeError(fn, `'q.codes[${i}]' = ${c} exceeds 2^${bits} - 1`);
      out[i] = s * (c - z);
    }
  }
  return eng.matrix(out, m, n);
}
