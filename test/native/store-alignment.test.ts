/**
 * Line-aligned host stores of the native backend: addon.lineOffset reports where an array starts relative
 * to a 64-byte line, every store the backend makes from 64 KiB up (matrix(), fromArray(), zeros(), randn(),
 * primitive outputs) starts on a line, and GEMM gives the same bits whether its operands are aligned
 * (read in place) or not (packed first).
 */
import { describe, expect, it } from 'vitest';
import { engine } from '../../ts/index.js';
import { loadAddon } from '../../ts/backends/native/addon.js';
import type { DType } from '../../ts/types.js';
import { mulberryFill } from '../host-linalg.js';

const addon = loadAddon();
const DTYPES: DType[] = ['f32', 'f64'];

function ctor(dtype: DType) {
  return dtype === 'f64' ? Float64Array : Float32Array;
}

/** A view of n entries starting `off` bytes past a 64-byte line (off a multiple of the element size). */
function viewAt(dtype: DType, n: number, off: number): Float32Array | Float64Array {
  const C = ctor(dtype);
  const big = new C(n + 64);
  const skip = (((64 - addon.lineOffset(big)) % 64) + off) / C.BYTES_PER_ELEMENT;
  return big.subarray(skip, skip + n);
}

function storeOf(m: unknown): Float32Array | Float64Array {
  return (m as { _store: Float32Array | Float64Array })._store;
}

describe('native store alignment', () => {
  it('lineOffset moves with the byte offset of a view, modulo 64', () => {
    const buf = new ArrayBuffer(1 << 16);
    const base = addon.lineOffset(new Float32Array(buf));
    expect(Number.isInteger(base) && base >= 0 && base < 64).toBe(true);
    for (let off = 0; off < 256; off += 4) expect(addon.lineOffset(new Float32Array(buf, off, 16))).toBe((base + off) % 64);
    for (let off = 0; off < 256; off += 8) expect(addon.lineOffset(new Float64Array(buf, off, 8))).toBe((base + off) % 64);
    expect(() => addon.lineOffset(new Int32Array(4) as never)).toThrow(/lineOffset/);
  });

  for (const dtype of DTYPES) {
    it(`${dtype}: stores from 64 KiB up start on a 64-byte line and hold exactly their entries`, async () => {
      const eng = await engine({ backend: 'native', dtype });
      try {
        const n = dtype === 'f64' ? 96 : 128; // 72 / 64 KiB
        const data = mulberryFill(new (ctor(dtype))(n * n + 1).subarray(1), 7);
        const mats = [
          eng.matrix(data, n, n),
          await eng.fromArray(data, n, n),
          eng.zeros(n, n),
          eng.full(n, n, 2),
          eng.randn(n, n, { seed: 3 }),
        ];
        mats.push(await eng.matmul(mats[0], mats[1]));
        for (const M of mats) {
          const s = storeOf(M);
          expect(s.length).toBe(n * n);
          expect(addon.lineOffset(s)).toBe(0);
        }
        const back = await mats[0].toArray();
        expect(back.length).toBe(n * n);
        expect(Array.from(back)).toEqual(Array.from(data));
        // a disposed store is recycled as it is: still aligned, still exactly n * n entries
        mats[5].dispose();
        const again = await eng.matmul(mats[0], mats[1]);
        expect(storeOf(again).length).toBe(n * n);
        expect(addon.lineOffset(storeOf(again))).toBe(0);
      } finally {
        await eng.dispose();
      }
    });

    it(`${dtype}: gemm gives the same bits on line-aligned and misaligned operands`, async () => {
      // n = 256 f32: the aligned operand is read in place, the misaligned one packed (gemm_driver.cc)
      for (const n of [96, 256]) {
        const a0 = viewAt(dtype, n * n, 0),
          b0 = viewAt(dtype, n * n, 0),
          c0 = viewAt(dtype, n * n, 0);
        const a1 = viewAt(dtype, n * n, 16),
          b1 = viewAt(dtype, n * n, 16),
          c1 = viewAt(dtype, n * n, 16);
        mulberryFill(a0, 11);
        mulberryFill(b0, 12);
        a1.set(a0);
        b1.set(b0);
        for (const threads of [1, 2]) {
          await addon.gemm(a0, b0, c0, n, n, n, false, false, 1, 0, threads);
          await addon.gemm(a1, b1, c1, n, n, n, false, false, 1, 0, threads);
          expect(c0.some((v) => v !== 0)).toBe(true);
          expect(
            Buffer.compare(Buffer.from(c0.buffer, c0.byteOffset, c0.byteLength), Buffer.from(c1.buffer, c1.byteOffset, c1.byteLength)),
          ).toBe(0);
        }
      }
    });
  }
});
