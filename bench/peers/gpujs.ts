/**
 * gpu.js: a kernel per output element (the library's own matrix-multiply idiom, a loop over k) in
 * 'webgpu' mode (WGSL compute shaders on the same Dawn adapter) and 'webasm' mode (WebAssembly + SIMD,
 * split over a worker pool under asyncMode).
 *
 * webgpu: A and B are made GPU-resident once (pipeline handles); the timed run dispatches the kernel
 * (pipeline: true, the result stays on the GPU) and waits on gpu.js's device queue
 * (onSubmittedWorkDone); a second timing reads C back (handle.toArray()).
 * webasm: inputs are host arrays (the backend copies them into wasm memory on every call), the result
 * is host memory (an array of Float32Array rows).
 */
import { createRequire } from 'node:module';
import { gemmInputs } from '../lib/data.js';
import { adapterOf, ensureNavigatorGpu } from '../lib/gpu.js';
import { gemmSpotCheck } from '../lib/linalg.js';
import { cores, pkgVersion } from '../lib/machine.js';
import type { Availability, CaseContext, GemmCaseResult, Peer, PeerMeta } from '../lib/peer.js';
import { measure, timeCase } from '../lib/timing.js';

type GpuJs = typeof import('gpu.js');
type GPUInstance = InstanceType<GpuJs['GPU']>;

interface BufferHandle {
  toArray(): Promise<Float32Array[]>;
  delete(): void;
}

interface WebGPUContextModule {
  WebGPUContext: { acquire(): Promise<{ adapter: GPUAdapter; device: GPUDevice }>; destroy(): Promise<void> };
}

const require = createRequire(import.meta.url);

export class GpuJsPeer implements Peer {
  readonly id: string;
  readonly label: string;
  readonly kind: 'cpu' | 'gpu';
  readonly threads: number;
  private lib: GpuJs | null = null;
  private gpu: GPUInstance | null = null;
  private device: GPUDevice | null = null;

  constructor(private readonly mode: 'webgpu' | 'webasm') {
    this.id = `gpujs-${mode}`;
    this.label = `gpu.js ${mode}`;
    this.kind = mode === 'webgpu' ? 'gpu' : 'cpu';
    this.threads = cores();
  }

  async available(): Promise<Availability> {
    try {
      if (this.mode === 'webgpu') await ensureNavigatorGpu();
      const lib = (await import('gpu.js')) as GpuJs;
      if (this.mode === 'webgpu' && !(await lib.GPU.isWebGPUAvailable()))
        return { ok: false, reason: 'gpu.js: no WebGPU adapter answered' };
      if (this.mode === 'webasm' && !lib.GPU.isWebAssemblySupported) return { ok: false, reason: 'gpu.js: WebAssembly not supported here' };
      this.lib = lib;
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: `gpu.js does not load: ${(e as Error).message}` };
    }
  }

  async setup(): Promise<PeerMeta> {
    const lib = this.lib!;
    this.gpu = new lib.GPU({ mode: this.mode } as ConstructorParameters<GpuJs['GPU']>[0]);
    const meta: PeerMeta = { version: `gpu.js ${pkgVersion('gpu.js') ?? '?'}`, notes: [] };
    if (this.mode === 'webgpu') {
      const { WebGPUContext } = require('gpu.js/src/backend/web-gpu/context.js') as WebGPUContextModule;
      const { adapter, device } = await WebGPUContext.acquire();
      this.device = device;
      meta.adapter = adapterOf(adapter.info);
      meta.threads = 'GPU';
      meta.notes!.push(
        'naive kernel (one invocation per C entry, loop over k); inputs GPU-resident; timed to onSubmittedWorkDone, "readback" adds toArray()',
      );
    } else {
      meta.threads = `${this.threads} (worker pool)`;
      meta.notes!.push('naive kernel compiled to wasm SIMD; asyncMode splits rows over a worker pool; host arrays in and out');
    }
    return meta;
  }

  private kernel(n: number, pipeline: boolean) {
    return this.gpu!.createKernel(
      function (this: { thread: { x: number; y: number }; constants: { n: number } }, A: number[][], B: number[][]) {
        let s = 0;
        for (let k = 0; k < this.constants.n; k++) s += A[this.thread.y][k] * B[k][this.thread.x];
        return s;
      },
      { constants: { n }, output: [n, n], pipeline, asyncMode: true, tactic: 'precision' } as never,
    );
  }

  async gemm(n: number, ctx: CaseContext): Promise<GemmCaseResult> {
    const input = (this.lib as unknown as { input(a: Float32Array, dims: number[]): unknown }).input;
    const { A, B } = gemmInputs(n);
    const spot = (C: ArrayLike<number>[]) => gemmSpotCheck(A, B, n, (i, j) => C[i][j]);
    if (this.mode === 'webasm') {
      const k = this.kernel(n, false) as unknown as (a: unknown, b: unknown) => Promise<Float32Array[]>;
      const Ai = input(A, [n, n]),
        Bi = input(B, [n, n]);
      const { timing, acc } = await timeCase(
        () => k(Ai, Bi),
        () => undefined,
        spot,
        ctx.timing,
      );
      return { completion: 'host', timing, relErr: acc, dtype: 'f32' };
    }
    // webgpu: make the inputs resident with an identity kernel, then chain handles
    const copy = this.gpu!.createKernel(
      function (this: { thread: { x: number; y: number } }, X: number[][]) {
        return X[this.thread.y][this.thread.x];
      },
      { output: [n, n], pipeline: true, immutable: true, asyncMode: true } as never, // immutable: a buffer per result (A and B must not share one)
    ) as unknown as (x: unknown) => Promise<BufferHandle>;
    const Ah = await copy(input(A, [n, n]));
    const Bh = await copy(input(B, [n, n]));
    const k = this.kernel(n, true) as unknown as (a: unknown, b: unknown) => Promise<BufferHandle>;
    const queue = this.device!.queue;
    try {
      const { timing, acc } = await timeCase(
        async () => {
          const h = await k(Ah, Bh);
          await queue.onSubmittedWorkDone();
          return h;
        },
        (h) => h.delete(),
        async (h) => spot(await h.toArray()),
        ctx.timing,
      );
      let readback;
      if (!timing.cold)
        readback = await measure(async () => {
          const h = await k(Ah, Bh);
          await h.toArray();
          h.delete();
        }, ctx.timing);
      return { completion: 'sync', timing, readback, relErr: acc, dtype: 'f32' };
    } finally {
      Ah.delete();
      Bh.delete();
    }
  }

  async dispose(): Promise<void> {
    try {
      await this.gpu?.destroy();
    } catch {
      // ignore
    }
    this.gpu = null;
    if (this.mode === 'webgpu') {
      const { WebGPUContext } = require('gpu.js/src/backend/web-gpu/context.js') as WebGPUContextModule;
      await WebGPUContext.destroy(); // the shared device; a live Dawn device keeps a CPU core busy
      this.device = null;
    }
  }
}
