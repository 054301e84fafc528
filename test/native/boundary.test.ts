/**
 * Regression tests for the addon boundary (issue 12):
 *  - a caller's buffer detached (transferred) or refused kinds of buffers (resizable, shared) during a
 *    background call: no crash; the call works on copies, an output detached under it is reported;
 *  - an allocation failing inside a pool worker thread (ulimit -v) rejects with a RangeError "out of
 *    memory" giving the size asked, instead of aborting the process;
 *  - a huge dimension against a zero one (ssmScan with L = 0) runs off the JS thread;
 *  - error messages name the function: shared buffers, engine disposed under a pending WebGPU call.
 * Anything that could crash runs in a child process, whose exit status is asserted.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../ts/backends/native/addon.js';
import { engine } from '../../ts/index.js';
import { REQUIRE_WEBGPU, webgpuMissing } from '../helpers.js';
import { ADDON_PRELUDE as PRELUDE, child } from './child.js';

const addon = loadAddon();

describe('caller buffers changing during a call (defect 2)', () => {
  it('transferring an input or an output while a background gemm runs does not crash', async () => {
    // 600^3 f64 products: far above the background threshold, long enough to be running when the
    // buffers are transferred and collected.
    const r = await child(`${PRELUDE}
      const n = 600, A = randf(n * n, 1), B = randf(n * n, 2);
      const ref = new Float64Array(n * n);
      await addon.gemm(A.slice(), B.slice(), ref, n, n, n, false, false, 1, 0, 2);
      // output transferred away and collected under the call
      const C1 = new Float64Array(n * n);
      const p1 = settle(addon.gemm(A.slice(), B.slice(), C1, n, n, n, false, false, 1, 0, 2));
      detach(C1); globalThis.gc();
      const r1 = await p1;
      // inputs transferred and overwritten under the call: the result is still A B
      const A2 = A.slice(), B2 = B.slice(), C2 = new Float64Array(n * n);
      const p2 = settle(addon.gemm(A2, B2, C2, n, n, n, false, false, 1, 0, 2));
      detach(A2); B2.fill(NaN); globalThis.gc();
      const r2 = await p2;
      let same = r2.ok;
      for (let i = 0; same && i < n * n; i++) same = C2[i] === ref[i];
      console.log(JSON.stringify({ r1, r2ok: r2.ok, same }));
    `);
    expect({ status: r.status, signal: r.signal }, r.stderr).toEqual({ status: 0, signal: null });
    const out = r.out as { r1: { ok: boolean; name: string; message: string }; r2ok: boolean; same: boolean };
    expect(out.r1.ok).toBe(false);
    expect(out.r1.name).toBe('TypeError');
    expect(out.r1.message).toMatch(/gemm: argument 'C' was detached/);
    expect(out.r2ok).toBe(true);
    expect(out.same).toBe(true);
  });

  it('a resizable buffer is refused with a TypeError naming the function and argument', () => {
    const n = 4;
    const buf = new ArrayBuffer(n * 4 * 8, { maxByteLength: 1 << 16 });
    const table = new Float64Array(buf);
    const out = new Float64Array(n);
    expect(() => addon.ssmVandermonde(table, 1, n, n, out, 1)).toThrow(TypeError);
    expect(() => addon.ssmVandermonde(table, 1, n, n, out, 1)).toThrow(
      /ssmVandermonde: argument 'table' is backed by a resizable ArrayBuffer/,
    );
  });

  it('the engine copies a caller table: ssmVandermonde/ssmScan accept resizable and shared tables', async () => {
    const eng = await engine({ backend: 'native', dtype: 'f64' });
    try {
      const H = 2,
        N = 3,
        L = 5;
      const plain = new Float64Array(H * N * 4).map((_, i) => (i % 4 === 2 ? -0.3 : 0.1 * ((i % 7) - 3)));
      const rab = new Float64Array(new ArrayBuffer(plain.byteLength, { maxByteLength: plain.byteLength * 2 }));
      rab.set(plain);
      const sab = new Float64Array(new SharedArrayBuffer(plain.byteLength));
      sab.set(plain);
      const K0 = await eng.ssmVandermonde(plain, H, N, L),
        K1 = await eng.ssmVandermonde(rab, H, N, L),
        K2 = await eng.ssmVandermonde(sab, H, N, L);
      const [k0, k1, k2] = await Promise.all([K0.toArray(), K1.toArray(), K2.toArray()]);
      expect(Array.from(k1)).toEqual(Array.from(k0));
      expect(Array.from(k2)).toEqual(Array.from(k0));
      for (const K of [K0, K1, K2]) K.dispose();
    } finally {
      await eng.dispose();
    }
  });
});

describe('allocation failure in a pool worker thread (defect 3)', () => {
  it('rejects with RangeError "out of memory" and the size asked under ulimit -v, without aborting', async () => {
    // ssmConv with 8 channels of L = 2^22 under ulimit -v ~2 GB: the arrays (3 x 128 MiB, and the
    // private copies of a background call) fit, but each task (channel) allocates two FFT buffers of
    // 2^23 complex doubles (2 x 128 MiB) on its own thread, two tasks at a time: some of those fail,
    // on the pool's worker thread too (before the fix: std::terminate, exit 134).
    const r = await child(
      `${PRELUDE}
      const H = 8, L = 2 ** 22;
      const u = new Float32Array(H * L).fill(1), K = new Float32Array(H * L).fill(0.5), y = new Float32Array(H * L);
      const r = await settle(addon.ssmConv(u, K, H, H, L, new Float64Array(0), y, 2));
      console.log(JSON.stringify(r));
    `,
      2_000_000,
    );
    expect({ status: r.status, signal: r.signal }, r.stderr).toEqual({ status: 0, signal: null });
    const out = r.out as { ok: boolean; name: string; message: string };
    expect(out.ok, JSON.stringify(out)).toBe(false);
    expect(out.name).toBe('RangeError');
    expect(out.message).toMatch(/ssmConv: out of memory \(an allocation of \d+ bytes failed\)/);
  });
});

describe('work on the JS thread (defect 5)', () => {
  it('ssmScan with a huge row count and L = 0 runs off the JS thread (a timer fires before it settles)', async () => {
    const R = 2 ** 22,
      H = 1,
      N = 16;
    const table = new Float64Array(H * N * 6).fill(0.5);
    let fired = false;
    setImmediate(() => (fired = true));
    const p = addon.ssmScan(new Float32Array(0), table, R, H, N, 0, new Float32Array(0), 2);
    await p;
    expect(fired).toBe(true);
  });
});

describe('error messages name the function (defect 6)', () => {
  it('a Float64Array on a SharedArrayBuffer gets a TypeError naming the function and argument', () => {
    const A = new Float64Array(new SharedArrayBuffer(4 * 8));
    const B = new Float64Array(4),
      C = new Float64Array(4);
    expect(() => addon.gemm(A, B, C, 2, 2, 2, false, false, 1, 0, 1)).toThrow(TypeError);
    expect(() => addon.gemm(A, B, C, 2, 2, 2, false, false, 1, 0, 1)).toThrow(/gemm: argument 'A' is backed by a SharedArrayBuffer/);
    expect(() =>
      addon.ssmScan(new Float32Array(2), new Float64Array(new SharedArrayBuffer(48)), 1, 1, 1, 2, new Float32Array(2), 1),
    ).toThrow(/ssmScan: argument 'table'/);
  });

  it.skipIf(webgpuMissing !== null && !REQUIRE_WEBGPU)(
    'a call pending when a WebGPU engine is disposed rejects naming the function',
    async () => {
      const eng = await engine({ backend: 'webgpu', dtype: 'f32' });
      const A = eng.randn(256, 256, { seed: 1 });
      const pending = [A.toArray(), eng.norm(A, 'fro')].map((p) =>
        p.then(
          () => null,
          (e: Error) => e,
        ),
      );
      await eng.dispose();
      const errors = await Promise.all(pending);
      // a call may have finished before dispose(); those that did not must say what happened
      const names = ['toArray', 'norm'];
      errors.forEach((e, i) => {
        if (e === null) return;
        expect(e.message).toMatch(new RegExp(`^${names[i]}: the engine was disposed while this call was pending`));
      });
      expect(
        errors.some((e) => e !== null),
        'no call was pending at dispose()',
      ).toBe(true);
    },
  );
});
