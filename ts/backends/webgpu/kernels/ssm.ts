/**
 * State-space model kernels (wgsl/ssm_vandermonde.wgsl, wgsl/fft.wgsl, wgsl/ssm_scan.wgsl): the Vandermonde
 * kernel with an exact modular phase, the batched FFT convolution (pair packing, radix-2 DIF / DIT FFTs
 * whose short spans run in workgroup memory, channel-wise product in bit-reversed order, unpacking with
 * D u), and the associative-scan recurrence.
 */
import type { DenseRef } from '../../../backend.js';
import type { GpuStore } from '../context.js';
import { ceilDiv, store, type GpuEnv } from '../env.js';
import { grid } from '../program.js';
import { PROGRAMS as P } from '../programs.js';

const {
  ssm_vandermonde: VANDERMONDE,
  fft_pack_pairs: PACK_PAIRS,
  fft_pack_real: PACK_REAL,
  fft_dif_global: DIF_GLOBAL,
  fft_dif_local: DIF_LOCAL,
  fft_dit_global: DIT_GLOBAL,
  fft_dit_local: DIT_LOCAL,
  fft_mul_channel: MUL_CHANNEL,
  fft_unpack_pairs: UNPACK_PAIRS,
  ssm_scan: SCAN,
} = P;

/** Points per workgroup-memory block of the local FFT stages (2048 x 8 bytes = 16 KiB, the WebGPU minimum limit). */
const BLOCK = 2048;

/** K[h, l] = Re sum_n w exp(l z) from the f64 table (wRe, wIm, zRe, zIm) per (h, n). */
export function vandermonde(env: GpuEnv, table: Float64Array, H: number, N: number, L: number): GpuStore {
  const words = new Uint32Array(H * N * 5);
  const f = new Float32Array(words.buffer);
  const TWO32 = 2 ** 32;
  for (let i = 0; i < H * N; i++) {
    f[5 * i] = table[4 * i];
    f[5 * i + 1] = table[4 * i + 1];
    f[5 * i + 2] = table[4 * i + 2];
    // per-step rotation in turns modulo 1 as a 64-bit fixed-point fraction (hi, lo)
    const turns = table[4 * i + 3] / (2 * Math.PI);
    const t = turns - Math.floor(turns);
    const hiF = t * TWO32;
    const hi = Math.min(Math.floor(hiF), TWO32 - 1);
    const lo = Math.min(Math.floor((hiF - hi) * TWO32), TWO32 - 1);
    words[5 * i + 3] = hi >>> 0;
    words[5 * i + 4] = lo >>> 0;
  }
  const out = env.ctx.alloc(H * L * 4);
  const tab = env.ctx.upload(words);
  const tilesL = ceilDiv(L, 256);
  try {
    env.ctx.dispatch(VANDERMONDE, { bindings: [tab, out], uniforms: { H, N, L, tiles_l: tilesL }, workgroups: H * tilesL });
  } finally {
    env.ctx.release(tab);
  }
  return out;
}

/**
 * In-place FFT of `rows` complex rows of length n (a power of two) in `z`. Forward: decimation in
 * frequency, the output in bit-reversed order; inverse (unscaled): decimation in time from bit-reversed
 * input to natural order. Spans above BLOCK take one global dispatch each, the rest one workgroup-memory
 * dispatch.
 */
function fftInPlace(env: GpuEnv, z: GpuStore, tw: GpuStore, rows: number, n: number, inverse: boolean): void {
  const blk = Math.min(n, BLOCK);
  const uni = (ns: number) => ({ rows, n, L: 0, H: 1, ns, p0: 0, batch: 0, has_d: 0, blk });
  const globalSpans: number[] = [];
  for (let s = n; s > blk; s /= 2) globalSpans.push(s);
  const local = () =>
    env.ctx.dispatch(inverse ? DIT_LOCAL : DIF_LOCAL, { bindings: [z, tw], uniforms: uni(blk), workgroups: rows * (n / blk) });
  const global = (s: number) =>
    env.ctx.dispatch(inverse ? DIT_GLOBAL : DIF_GLOBAL, {
      bindings: [z, tw],
      uniforms: uni(s),
      workgroups: grid(inverse ? DIT_GLOBAL : DIF_GLOBAL, (rows * n) / 2),
    });
  if (!inverse) {
    for (const s of globalSpans) global(s);
    local();
  } else {
    local();
    for (const s of globalSpans.reverse()) global(s);
  }
}

/** Causal convolution of u ((batch H) x L) with K (H x L) (+ D u), by FFT with n = 2^k >= 2L. */
export function conv(env: GpuEnv, u: DenseRef, k: DenseRef, d: Float64Array | null): GpuStore {
  const H = k.rows,
    L = u.cols,
    batch = u.rows / H;
  let n = 1;
  while (n < 2 * L) n *= 2;
  const limit = Math.min(env.ctx.limits.maxStorageBufferBindingSize, 256 * 2 ** 20);
  const rowBytes = n * 8;
  if (H * rowBytes > limit)
    throw new RangeError(
      `ssmConv: ${H} channels of ${n}-point complex spectra need ${H * rowBytes} bytes, above this WebGPU device's buffer limit (${limit}); use fewer channels per call or the native backend`,
    );
  const pairs = Math.ceil(batch / 2);
  const chunkPairs = Math.max(1, Math.min(pairs, Math.floor(limit / (H * rowBytes))));
  const ctx = env.ctx;
  const twHost = new Float32Array(n); // tw[t] = exp(-2 pi i t / n), t < n / 2
  for (let t = 0; t < n / 2; t++) {
    const ang = (-2 * Math.PI * t) / n;
    twHost[2 * t] = Math.cos(ang);
    twHost[2 * t + 1] = Math.sin(ang);
  }
  const tw = ctx.upload(twHost);
  const y = ctx.alloc(u.rows * L * 4);
  const dBuf = ctx.upload(d ? Float32Array.from(d) : new Float32Array(1));
  const kz = ctx.alloc(H * rowBytes);
  const z = ctx.alloc(chunkPairs * H * rowBytes);
  const base = { n, L, H, ns: 1, p0: 0, batch, has_d: d ? 1 : 0, blk: Math.min(n, BLOCK) };
  try {
    ctx.dispatch(PACK_REAL, { bindings: [store(k), kz], uniforms: { ...base, rows: H }, workgroups: grid(PACK_REAL, H * n) });
    fftInPlace(env, kz, tw, H, n, false);
    for (let p0 = 0; p0 < pairs; p0 += chunkPairs) {
      const rows = Math.min(chunkPairs, pairs - p0) * H;
      const uni = { ...base, rows, p0 };
      ctx.dispatch(PACK_PAIRS, { bindings: [store(u), z], uniforms: uni, workgroups: grid(PACK_PAIRS, rows * n) });
      fftInPlace(env, z, tw, rows, n, false);
      // both spectra are in the same bit-reversed order: the product needs no reordering
      ctx.dispatch(MUL_CHANNEL, { bindings: [z, kz], uniforms: uni, workgroups: grid(MUL_CHANNEL, rows * n) });
      fftInPlace(env, z, tw, rows, n, true);
      ctx.dispatch(UNPACK_PAIRS, { bindings: [z, store(u), dBuf, y], uniforms: uni, workgroups: grid(UNPACK_PAIRS, rows * L) });
    }
  } finally {
    for (const s of [tw, dBuf, kz, z]) ctx.release(s);
  }
  return y;
}

/** The diagonal recurrence from the f64 table (aRe, aIm, bRe, bIm, cRe, cIm) per (h, n). */
export function scan(env: GpuEnv, u: DenseRef, table: Float64Array, H: number, N: number): GpuStore {
  const R = u.rows,
    L = u.cols;
  const y = env.ctx.alloc(R * L * 4);
  const tab = env.ctx.upload(Float32Array.from(table));
  try {
    env.ctx.dispatch(SCAN, { bindings: [store(u), tab, y], uniforms: { R, H, N, L, chunk: ceilDiv(L, 256) }, workgroups: R });
  } finally {
    env.ctx.release(tab);
  }
  return y;
}
