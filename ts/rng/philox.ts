/**
 * Philox4x32-10 in JavaScript, the host twin of native/philox.h and wgsl/philox.wgsl (same stream,
 * see README "Random numbers"). Used for host-side randomness (sampling, tests) so that every random
 * choice in lowrank is reproducible from a seed.
 */

/** 32 x 32 -> 64-bit product as [hi, lo] (unsigned). */
function mulhilo(a: number, b: number): [number, number] {
  const aL = a & 0xffff,
    aH = a >>> 16,
    bL = b & 0xffff,
    bH = b >>> 16;
  const ll = aL * bL,
    lh = aL * bH,
    hl = aH * bL,
    hh = aH * bH;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const hi = (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
  const lo = Math.imul(a, b) >>> 0;
  return [hi, lo];
}

/** One Philox4x32-10 block: counter (c0..c3), key (k0, k1) -> four uint32 words. */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): [number, number, number, number] {
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(0xd2511f53, c0);
    const [hi1, lo1] = mulhilo(0xcd9e8d57, c2);
    const n0 = (hi1 ^ c1 ^ k0) >>> 0,
      n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** Key words of a seed in [0, 2^53). */
export function seedKey(seed: number): [number, number] {
  return [(seed % 2 ** 32) >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

/** f32 uniform in (0, 1) from one word (exact in binary32). */
export function unitF32(w: number): number {
  return Math.fround(((w >>> 9) + 0.5) * 2 ** -23);
}

/** f64 uniform in (0, 1) from two words (52 bits). */
export function unitF64(a: number, b: number): number {
  return ((a >>> 6) * 67108864 + (b >>> 6) + 0.5) * 2 ** -52;
}

/**
 * The `rand` stream: n uniforms in the layout of the given dtype (identical to every backend). Entry i
 * is stream element `offset + i` (offset an integer in [0, 2^53)), as `rand(..., { offset })`.
 */
export function uniformStream(n: number, seed: number, dtype: 'f32' | 'f64', stream = 0, offset = 0): Float64Array {
  const [k0, k1] = seedKey(seed);
  const out = new Float64Array(n);
  const w = dtype === 'f32' ? 4 : 2;
  const b0 = Math.floor(offset / w),
    r = offset - b0 * w;
  for (let t = 0; w * t - r < n; t++) {
    const b = b0 + t;
    const x = philox4x32(b >>> 0, Math.floor(b / 2 ** 32), stream, 0, k0, k1);
    for (let j = 0; j < w; j++) {
      const e = w * t + j - r;
      if (e < 0 || e >= n) continue;
      out[e] = w === 4 ? unitF32(x[j]) : unitF64(x[2 * j], x[2 * j + 1]);
    }
  }
  return out;
}

/**
 * The f64 `randn` stream (Box-Muller on pairs of 52-bit uniforms), computed in double precision.
 * Entry i is stream element `offset + i`.
 */
export function normalStreamF64(n: number, seed: number, stream = 0, offset = 0): Float64Array {
  const [k0, k1] = seedKey(seed);
  const out = new Float64Array(n);
  const b0 = Math.floor(offset / 2),
    r = offset - 2 * b0;
  for (let t = 0; 2 * t - r < n; t++) {
    const b = b0 + t;
    const x = philox4x32(b >>> 0, Math.floor(b / 2 ** 32), stream, 0, k0, k1);
    const u0 = unitF64(x[0], x[1]),
      u1 = unitF64(x[2], x[3]);
    const rad = Math.sqrt(-2 * Math.log(u0)),
      th = 2 * Math.PI * u1;
    const e = 2 * t - r;
    if (e >= 0) out[e] = rad * Math.cos(th);
    if (e + 1 < n) out[e + 1] = rad * Math.sin(th);
  }
  return out;
}

/**
 * A small sequential generator on top of Philox for host-side algorithms: `next()` returns f64
 * uniforms in (0, 1), `normal()` standard normals, `int(n)` an integer in [0, n).
 */
export class PhiloxRng {
  private readonly k0: number;
  private readonly k1: number;
  private readonly stream: number;
  private block = 0;
  private buf: number[] = [];
  private spare: number | null = null;

  constructor(seed: number, stream = 0) {
    [this.k0, this.k1] = seedKey(seed);
    this.stream = stream >>> 0;
  }

  next(): number {
    if (this.buf.length === 0) {
      const r = philox4x32(this.block >>> 0, Math.floor(this.block / 2 ** 32), this.stream, 0, this.k0, this.k1);
      this.block++;
      this.buf = [unitF64(r[2], r[3]), unitF64(r[0], r[1])];
    }
    return this.buf.pop() as number;
  }

  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u0 = this.next(),
      u1 = this.next();
    const rad = Math.sqrt(-2 * Math.log(u0)),
      t = 2 * Math.PI * u1;
    this.spare = rad * Math.sin(t);
    return rad * Math.cos(t);
  }

  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }
}
