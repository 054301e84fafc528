/**
 * Half-precision conversions (IEEE binary16 "F16" and bfloat16 "BF16") between bit patterns and
 * numbers. Widening is exact; narrowing rounds to nearest, ties to even, overflows to +-Infinity and
 * maps NaN to a quiet NaN (the sign of a NaN is kept when narrowing a Float32Array to bf16; elsewhere
 * it is not observable from a JS number and comes out positive). Conversions read the number itself (an f64), so
 * narrowing an f64 rounds once (no double rounding through f32).
 */
import { endianness } from 'node:os';

const HOST_LITTLE = endianness() === 'LE';

let f16Table: Float32Array | null = null;

/** The 65536 f16 values as f32 (exact: every f16 is an f32), built on first use. */
function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  const bits = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    let mant = h & 0x3ff;
    let out: number;
    if (exp === 0x1f)
      out = sign | 0x7f800000 | (mant << 13); // inf, or NaN with its payload
    else if (exp !== 0) out = sign | ((exp + 112) << 23) | (mant << 13);
    else if (mant === 0)
      out = sign; // +-0
    else {
      // subnormal: m * 2^-24; normalize into an f32 normal
      let e = 113; // f32 biased exponent of 2^-14
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        e--;
      }
      out = sign | (e << 23) | ((mant & 0x3ff) << 13);
    }
    bits[h] = out >>> 0;
  }
  f16Table = t;
  return t;
}

/** The number an f16 bit pattern encodes (exact). */
export function f16BitsToNumber(h: number): number {
  return f16ToF32Table()[h & 0xffff];
}

/** The number a bf16 bit pattern encodes (exact). */
export function bf16BitsToNumber(h: number): number {
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0];
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);
const scratchF64 = new Float64Array(1);
const scratchHi = new Uint32Array(scratchF64.buffer);
const HI = HOST_LITTLE ? 1 : 0;
/** 2^k for k in [-200, 200]. */
const POW2 = Float64Array.from({ length: 401 }, (_, i) => 2 ** (i - 200));

/**
 * Rounds a number to a binary format with `mant` stored mantissa bits and exponent bias `bias`
 * (normal exponents emin = 1 - bias .. emax = bias), returning the 16-bit pattern.
 */
function toHalfBits(v: number, mant: number, bias: number): number {
  const inf = ((2 * bias + 1) << mant) >>> 0;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  if (Number.isNaN(v)) return sign | inf | (1 << (mant - 1)); // quiet NaN
  const a = Math.abs(v);
  if (a === Infinity) return sign | inf;
  if (a === 0) return sign;
  scratchF64[0] = a;
  let e = ((scratchHi[HI] >>> 20) & 0x7ff) - 1023;
  if (e > bias) return sign | inf;
  if (e < 1 - bias) e = 1 - bias; // subnormal range: fixed ulp
  const q = a / POW2[200 + e - mant]; // exact: division by a power of two without underflow
  let r = Math.floor(q);
  const d = q - r;
  if (d > 0.5 || (d === 0.5 && r % 2 === 1)) r++;
  const h = ((e + bias) << mant) + r - (1 << mant); // r reaching 2^(mant+1) carries into the exponent
  return sign | Math.min(h, inf);
}

/** f16 bit pattern of a number (round to nearest even, overflow to Infinity, NaN kept quiet). */
export function numberToF16Bits(v: number): number {
  return toHalfBits(v, 10, 15);
}

/** bf16 bit pattern of a number (round to nearest even, overflow to Infinity, NaN kept quiet). */
export function numberToBf16Bits(v: number): number {
  return toHalfBits(v, 7, 127);
}

/** Widens f16 bit patterns into `out` (same length). */
export function widenF16(src: Uint16Array, out: Float32Array | Float64Array): void {
  const t = f16ToF32Table();
  if (out instanceof Float32Array) {
    // copy the bit patterns as integers (faster, and NaN payloads kept)
    const t32 = new Uint32Array(t.buffer);
    const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
    for (let i = 0; i < src.length; i++) o[i] = t32[src[i]];
  } else for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
}

/** Widens bf16 bit patterns into `out` (same length). */
export function widenBf16(src: Uint16Array, out: Float32Array | Float64Array): void {
  if (out instanceof Float32Array) {
    const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
    for (let i = 0; i < src.length; i++) o[i] = src[i] << 16;
  } else for (let i = 0; i < src.length; i++) out[i] = bf16BitsToNumber(src[i]);
}

/** Narrows `src[from .. from + out.length)` to f16 bit patterns. */
export function narrowF16(src: ArrayLike<number>, from: number, out: Uint16Array): void {
  if (!(src instanceof Float32Array)) {
    for (let i = 0; i < out.length; i++) out[i] = toHalfBits(src[from + i], 10, 15);
    return;
  }
  // f32 source: integer rounding on the bit patterns (same results, several times faster)
  const s = new Uint32Array(src.buffer, src.byteOffset + from * 4, out.length);
  for (let i = 0; i < out.length; i++) {
    const x = s[i];
    const sign = (x >>> 16) & 0x8000;
    const a = x & 0x7fffffff;
    if (a >= 0x477ff000) {
      // 65520 and up round to infinity; NaN stays a quiet NaN (sign and top payload bits kept)
      out[i] = a > 0x7f800000 ? sign | 0x7e00 | ((a >>> 13) & 0x3ff) : sign | 0x7c00;
    } else if (a >= 0x38800000) {
      // normal: rebias the exponent (127 -> 15), round the 13 dropped bits to nearest even
      out[i] = sign | ((a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13);
    } else if (a > 0x33000000) {
      // subnormal: the value in units of 2^-24, rounded to nearest even
      const shift = 126 - (a >>> 23);
      const m = (a & 0x7fffff) | 0x800000;
      let r = m >>> shift;
      const rem = m & ((1 << shift) - 1),
        half = 1 << (shift - 1);
      if (rem > half || (rem === half && (r & 1) === 1)) r++;
      out[i] = sign | r;
    } else out[i] = sign; // |x| <= 2^-25 (the tie with 2^-24 goes to zero)
  }
}

/** Narrows `src[from .. from + out.length)` to bf16 bit patterns. */
export function narrowBf16(src: ArrayLike<number>, from: number, out: Uint16Array): void {
  if (src instanceof Float32Array) {
    // f32 source: the classic bit trick is exact round-to-nearest-even
    const s = new Uint32Array(src.buffer, src.byteOffset + from * 4, out.length);
    for (let i = 0; i < out.length; i++) {
      const x = s[i];
      if ((x & 0x7fffffff) > 0x7f800000) out[i] = (x >>> 16) | 0x40;
      else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  } else for (let i = 0; i < out.length; i++) out[i] = toHalfBits(src[from + i], 7, 127);
}
