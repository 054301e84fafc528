/**
 * Bad input gets a clear TypeError / RangeError that names the argument, and loses nothing: the
 * engine and the other matrices stay usable afterwards.
 */
import { describe, expect, it } from 'vitest';
import { engine, type Mat } from '../../ts/index.js';
import { softwareAdapterReason } from '../../ts/backends/webgpu/device.js';
import { describeEngines, REQUIRE_WEBGPU, webgpuMissing } from '../helpers.js';

describe('engine()', () => {
  it('rejects unknown backends, dtypes and options', async () => {
    await expect(engine({ backend: 'cuda' as never })).rejects.toThrow(RangeError);
    await expect(engine({ backend: 'cuda' as never })).rejects.toThrow(/'backend' must be one of/);
    await expect(engine({ dtype: 'f16' as never })).rejects.toThrow(/'dtype'/);
    await expect(engine({ threads: 0 })).rejects.toThrow(/'threads'/);
    await expect(engine({ backned: 'native' } as never)).rejects.toThrow(/unknown option 'backned'/);
  });

  it('refuses f64 on WebGPU with an explanation', async () => {
    await expect(engine({ backend: 'webgpu', dtype: 'f64' })).rejects.toThrow(/WGSL has no 64-bit floats/);
  });

  it("'auto' picks native for f64, WebGPU for f32 on a hardware adapter, native (with the reason) on a software one", async () => {
    const e64 = await engine({ dtype: 'f64' });
    expect(e64.backend).toBe('native');
    expect(e64.info().autoReason).toMatch(/f64/);
    await e64.dispose();
    if (webgpuMissing && !REQUIRE_WEBGPU) return;
    // What adapter is there? backend 'webgpu' takes any adapter, software ones included.
    const gpu = await engine({ backend: 'webgpu' });
    const software = softwareAdapterReason({ info: gpu.info().adapter });
    expect(gpu.info().autoReason).toBeUndefined();
    await gpu.dispose();
    const e32 = await engine();
    expect(e32.dtype).toBe('f32');
    if (software) {
      // e.g. Mesa lavapipe (llvmpipe) on a machine without a GPU: WebGPU would run on the CPU rasterizer
      expect(e32.backend).toBe('native');
      expect(e32.info().autoReason).toMatch(/software|fallback|CPU/);
    } else {
      expect(e32.backend).toBe('webgpu');
      expect(e32.info().autoReason).toMatch(/hardware WebGPU adapter/);
    }
    await e32.dispose();
  });

  it('softwareAdapterReason recognizes software adapters by every hint, and not hardware ones', () => {
    const hw = { vendor: 'nvidia', architecture: 'hopper', device: 'H100', description: 'NVIDIA H100 80GB HBM3' };
    expect(softwareAdapterReason({ info: hw })).toBeUndefined();
    expect(
      softwareAdapterReason({ info: { vendor: 'amd', architecture: 'rdna-3', device: '', description: 'AMD Radeon RX 7900 XTX' } }),
    ).toBeUndefined();
    expect(softwareAdapterReason({ info: { ...hw, isFallbackAdapter: true } })).toMatch(/fallback/);
    expect(softwareAdapterReason({ info: hw, isFallbackAdapter: true })).toMatch(/fallback/);
    expect(softwareAdapterReason({ info: { ...hw, type: 'CPU' } })).toMatch(/CPU device/);
    expect(softwareAdapterReason({ info: { ...hw, adapterType: 'cpu' } })).toMatch(/CPU device/);
    expect(
      softwareAdapterReason({ info: { vendor: 'mesa', architecture: '', device: 'llvmpipe (LLVM 15.0.6, 256 bits)', description: '' } }),
    ).toMatch(/software rasterizer/);
    expect(softwareAdapterReason({ info: { vendor: 'mesa', architecture: '', device: '', description: 'lavapipe' } })).toMatch(
      /software rasterizer/,
    );
    expect(
      softwareAdapterReason({ info: { vendor: 'google', architecture: '', device: 'SwiftShader Device (Subzero)', description: '' } }),
    ).toMatch(/software rasterizer/);
    expect(softwareAdapterReason({ info: { vendor: 'mesa', architecture: 'software', device: '', description: '' } })).toMatch(
      /software rasterizer/,
    );
    expect(softwareAdapterReason({})).toBeUndefined();
  });
});

describeEngines('bad input', (h) => {
  it('fromArray(): copies a typed array of the engine dtype, rejects NaN/Inf (natively found), wrong types and lengths', async () => {
    const { eng } = h;
    const T = h.dtype === 'f64' ? Float64Array : Float32Array;
    const Other = h.dtype === 'f64' ? Float32Array : Float64Array;
    const a = T.from({ length: 12 }, (_, i) => i - 5);
    const A = await eng.fromArray(a, 3, 4);
    a[0] = 99; // the caller keeps its array: the Mat has its own copy
    expect(Array.from(await A.toArray())).toEqual([-5, ...Array.from(a.subarray(1))]);
    A.dispose();
    const bad = T.from({ length: 12 }, () => 1);
    bad[7] = Number.NaN;
    await expect(eng.fromArray(bad, 3, 4)).rejects.toThrow(/fromArray: data\[7\] = NaN is not finite/);
    bad[7] = -Infinity;
    await expect(eng.fromArray(bad, 4, 3)).rejects.toThrow(/data\[7\] = -Infinity/);
    await expect(eng.fromArray(new Other(12), 3, 4)).rejects.toThrow(TypeError);
    await expect(eng.fromArray(new T(12), 5, 3)).rejects.toThrow(/length 12, expected rows \* cols = 5 \* 3 = 15/);
    await expect(eng.fromArray([1, 2] as never, 1, 2)).rejects.toThrow(TypeError);
    if (typeof SharedArrayBuffer !== 'undefined')
      await expect(eng.fromArray(new T(new SharedArrayBuffer(12 * T.BYTES_PER_ELEMENT)), 3, 4)).rejects.toThrow(/SharedArrayBuffer/);
    expect(eng.info().memory.stores).toBeGreaterThanOrEqual(0);
  });

  it('matrix(): lengths, shapes, non-finite values, wrong types', () => {
    const { eng } = h;
    expect(() => eng.matrix(new Float32Array(5), 2, 3)).toThrow(RangeError);
    expect(() => eng.matrix(new Float32Array(5), 2, 3)).toThrow(/'data' has length 5, expected rows \* cols = 2 \* 3 = 6/);
    expect(() => eng.matrix(new Float64Array(5), 2)).toThrow(/not a multiple of rows = 2/);
    expect(() => eng.matrix([1, 2, NaN, 4], 2, 2)).toThrow(/data\[2\] = NaN is not finite/);
    expect(() => eng.matrix(new Float64Array([1, Infinity]), 1, 2)).toThrow(/data\[1\] = Infinity/);
    expect(() => eng.matrix([[1, 2], [3]])).toThrow(/data\[1\] has length 1, expected 2/);
    expect(() =>
      eng.matrix([
        [1, 2],
        ['x' as unknown as number, 4],
      ]),
    ).toThrow(TypeError);
    expect(() => eng.matrix('abc' as never)).toThrow(TypeError);
    expect(() => eng.matrix(new Int32Array(4) as never, 2, 2)).toThrow(TypeError);
    expect(() => eng.matrix([], 0, 0)).toThrow(RangeError);
    expect(() => eng.matrix(new Float32Array(4), -2, -2)).toThrow(/'rows' must be an integer in \[1/);
    expect(() => eng.matrix(new Float32Array(4), 1.5, 2)).toThrow(RangeError);
    expect(() => eng.matrix(new Float32Array(4), 2, 3)).toThrow(RangeError);
  });

  it('zeros/eye/randn/rand: dims and seeds', () => {
    const { eng } = h;
    expect(() => eng.zeros(-1, 2)).toThrow(RangeError);
    expect(() => eng.zeros(2, 0.5)).toThrow(/'cols'/);
    expect(() => eng.zeros('3' as never, 2)).toThrow(TypeError);
    expect(() => eng.eye(0)).toThrow(RangeError);
    expect(() => eng.randn(2, 2, { seed: -1 })).toThrow(/'seed'/);
    expect(() => eng.randn(2, 2, { seed: 1.5 })).toThrow(/'seed'/);
    expect(() => eng.rand(2, 2, { sed: 1 } as never)).toThrow(/unknown option 'sed'/);
  });

  it('shape mismatches name both shapes', async () => {
    const { eng } = h;
    const A = eng.zeros(2, 3),
      B = eng.zeros(3, 2),
      S = eng.zeros(3, 3);
    await expect(eng.add(A, B)).rejects.toThrow(/A is 2 x 3, B is 3 x 2/);
    await expect(eng.sub(A, B)).rejects.toThrow(RangeError);
    await expect(eng.hadamard(A, B)).rejects.toThrow(RangeError);
    await expect(eng.axpby(1, A, 1, B)).rejects.toThrow(RangeError);
    await expect(eng.qr(B.rows < B.cols ? B : A)).rejects.toThrow(/rows >= cols/);
    await expect(eng.cholesky(A)).rejects.toThrow(/must be square/);
    await expect(eng.eigh(A)).rejects.toThrow(/must be square/);
    await expect(eng.solveTriangular(S, A)).rejects.toThrow(/B has 2 rows/);
    await expect(eng.lstsq(A, S)).rejects.toThrow(RangeError);
    await expect(eng.scale(A, NaN)).rejects.toThrow(/'s' must be finite/);
    await expect(eng.matmul(A, B, { alpha: Infinity })).rejects.toThrow(/'alpha' must be finite/);
    await expect(eng.matmul(A, B, { transa: true } as never)).rejects.toThrow(/unknown option 'transa'/);
    await expect(eng.norm(A, 'nuc' as never)).rejects.toThrow(/'kind'/);
    // nothing was lost: the engine and the matrices still work
    const C = await eng.matmul(A, B);
    expect((await C.toArray()).length).toBe(4);
    for (const x of [A, B, S, C]) x.dispose();
  });

  it('non-matrices, disposed matrices and foreign engines', async () => {
    const { eng } = h;
    const A = eng.zeros(2, 2);
    await expect(
      eng.add(A, [
        [1, 2],
        [3, 4],
      ] as never),
    ).rejects.toThrow(/'B' must be a Mat/);
    await expect(eng.transpose({ rows: 2, cols: 2 } as never)).rejects.toThrow(TypeError);
    const D = eng.zeros(2, 2);
    D.dispose();
    D.dispose(); // idempotent
    expect(D.disposed).toBe(true);
    await expect(eng.add(A, D)).rejects.toThrow(/'B' has been disposed/);
    await expect(D.toArray()).rejects.toThrow(/has been disposed/);
    const other = await engine({ backend: 'native', dtype: h.dtype === 'f64' ? 'f32' : 'f64' });
    try {
      const F = other.zeros(2, 2) as unknown as Mat<typeof h.dtype>;
      await expect(eng.add(A, F as never)).rejects.toThrow(/belongs to a different engine/);
      const same = await engine({ backend: 'native', dtype: h.dtype });
      const G = same.zeros(2, 2);
      await expect(eng.matmul(A, G as never)).rejects.toThrow(/different engine/);
      await same.dispose();
    } finally {
      await other.dispose();
    }
    expect(Array.from(await A.toArray())).toEqual([0, 0, 0, 0]);
    A.dispose();
  });

  it('sparse(): indices, lengths and values', () => {
    const { eng } = h;
    const ok = { rows: 2, cols: 2, row: [0, 1], col: [1, 0], val: [1, 2] };
    expect(() => eng.sparse({ ...ok, row: [0, 2] })).toThrow(/row\[1\] = 2 is not an integer in \[0, 2\)/);
    expect(() => eng.sparse({ ...ok, col: [0.5, 1] })).toThrow(/col\[0\]/);
    expect(() => eng.sparse({ ...ok, val: [1] })).toThrow(/'val' has length 1/);
    expect(() => eng.sparse({ ...ok, val: [1, NaN] })).toThrow(/val\[1\] = NaN is not finite/);
    expect(() => eng.sparse({ ...ok, rows: 0 })).toThrow(/'rows'/);
    expect(() => eng.sparse({ ...ok, extra: 1 } as never)).toThrow(/unknown option 'extra'/);
    expect(() => eng.sparse(null as never)).toThrow(TypeError);
  });
});

describe('disposed engine', () => {
  it('throws on every use and dispose is idempotent', async () => {
    const eng = await engine({ backend: 'native' });
    const A = eng.zeros(2, 2);
    await eng.dispose();
    await eng.dispose();
    expect(eng.disposed).toBe(true);
    expect(() => eng.zeros(1, 1)).toThrow(/engine has been disposed/);
    await expect(eng.add(A, A)).rejects.toThrow(/engine has been disposed/);
    await expect(A.toArray()).rejects.toThrow(/engine has been disposed/);
    A.dispose(); // harmless
  });
});

describeEngines(
  'device limits',
  (h) => {
    it('refuses matrices beyond maxStorageBufferBindingSize with a RangeError', () => {
      const lim = h.eng.info().limits!.maxStorageBufferBindingSize;
      const n = Math.ceil(Math.sqrt(lim / 4)) + 16;
      expect(() => h.eng.zeros(n, n)).toThrow(RangeError);
      expect(() => h.eng.zeros(n, n)).toThrow(/maxStorageBufferBindingSize/);
      // and keeps working
      const Z = h.eng.zeros(2, 2);
      expect(Z.rows).toBe(2);
      Z.dispose();
    });
  },
  { configs: [{ backend: 'webgpu', dtype: 'f32' }] },
);
