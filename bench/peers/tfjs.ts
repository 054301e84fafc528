/**
 * TensorFlow.js (@tensorflow/tfjs) with the wasm backend (XNNPACK; CPU) and the webgpu backend (on the
 * same Dawn adapter as lowrank). Inputs are tensors created once; `tf.matMul` is timed.
 *
 * Completion: wasm ops run synchronously, so the result exists when matMul returns. On webgpu the
 * timed run flushes tfjs's command queue (backend.submitQueue()) and waits on
 * device.queue.onSubmittedWorkDone(); a second timing adds `await C.data()` (readback).
 * Factorizations: tfjs has tf.linalg.qr (f32) only; there is no SVD, eigh or least squares.
 */
import path from 'node:path';
import { asDtype, gemmInputs } from '../lib/data.js';
import { adapterOf, ensureNavigatorGpu } from '../lib/gpu.js';
import { gemmSpotCheck, qrAccuracy } from '../lib/linalg.js';
import { cores, pkgVersion, repoRoot } from '../lib/machine.js';
import {
  Unsupported,
  type Availability,
  type CaseContext,
  type DType,
  type DecompCaseResult,
  type DecompInput,
  type DecompOp,
  type GemmCaseResult,
  type Peer,
  type PeerMeta,
} from '../lib/peer.js';
import { measure, timeCase } from '../lib/timing.js';

type TF = typeof import('@tensorflow/tfjs');
type Tensor = import('@tensorflow/tfjs').Tensor;

interface WebGPUBackendLike {
  device: GPUDevice;
  queue: GPUQueue;
  adapterInfo?: { vendor?: string; architecture?: string };
  commandEncoder?: GPUCommandEncoder | null;
  endComputePassEncoder?(): void;
  submitQueue(): void;
}

let tfPromise: Promise<TF> | undefined;
let wasmThreads: (() => number) | undefined;
let webgpuImported = false;

async function loadTf(): Promise<TF> {
  tfPromise ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    // tfjs tries to fetch() its wasm binaries; in Node they are read from the package's dist/ folder
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.join(repoRoot, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep);
    wasmThreads = wasm.getThreadsCount;
    return tf;
  })();
  return tfPromise;
}

export class TfjsPeer implements Peer {
  readonly id: string;
  readonly label: string;
  readonly kind: 'cpu' | 'gpu';
  threads: number;
  readonly pilot: boolean;
  private tf: TF | null = null;
  private gpuBackend: WebGPUBackendLike | null = null;

  constructor(private readonly backend: 'wasm' | 'webgpu') {
    this.id = `tfjs-${backend}`;
    this.label = `tfjs ${backend}`;
    this.kind = backend === 'webgpu' ? 'gpu' : 'cpu';
    this.threads = backend === 'webgpu' ? cores() : 1;
    this.pilot = backend === 'wasm';
  }

  async available(): Promise<Availability> {
    try {
      const tf = await loadTf();
      if (this.backend === 'webgpu' && !webgpuImported) {
        // the backend registers itself at import time only when navigator.gpu exists
        await ensureNavigatorGpu();
        await import('@tensorflow/tfjs-backend-webgpu');
        webgpuImported = true;
      }
      if (!tf.findBackendFactory(this.backend)) return { ok: false, reason: `tfjs backend '${this.backend}' is not registered` };
      this.tf = tf;
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: `tfjs ${this.backend} does not load: ${(e as Error).message}` };
    }
  }

  async setup(): Promise<PeerMeta> {
    const tf = this.tf!;
    const ok = await tf.setBackend(this.backend);
    await tf.ready();
    if (!ok || tf.getBackend() !== this.backend) throw new Error(`tf.setBackend('${this.backend}') failed (active: ${tf.getBackend()})`);
    const notes: string[] = [];
    const meta: PeerMeta = {
      version: `tfjs ${pkgVersion('@tensorflow/tfjs') ?? '?'}, tfjs-backend-${this.backend} ${pkgVersion(`@tensorflow/tfjs-backend-${this.backend}`) ?? '?'}`,
      notes,
    };
    if (this.backend === 'wasm') {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      this.threads = mt && wasmThreads ? Math.max(1, wasmThreads()) : 1;
      meta.threads = this.threads;
      notes.push(`wasm SIMD: ${simd ? 'yes' : 'no'}, threads: ${mt ? this.threads : '1 (no multithread support in this runtime)'}`);
      meta.extra = { simd, multithread: mt };
    } else {
      const be = tf.backend() as unknown as WebGPUBackendLike;
      this.gpuBackend = be;
      const ai = (be.device as unknown as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
      meta.adapter = adapterOf(ai ?? { vendor: be.adapterInfo?.vendor, architecture: be.adapterInfo?.architecture });
      meta.threads = 'GPU';
      notes.push('timed to completion: end pass + submitQueue() + onSubmittedWorkDone(); "readback" adds await C.data()');
    }
    return meta;
  }

  /** tfjs-webgpu batches dispatches in an open compute pass: end it, submit, wait for the queue. */
  private async complete(): Promise<void> {
    const be = this.gpuBackend;
    if (!be) return;
    be.endComputePassEncoder?.();
    if (be.commandEncoder) be.submitQueue();
    await be.device.queue.onSubmittedWorkDone();
  }

  async gemm(n: number, ctx: CaseContext): Promise<GemmCaseResult> {
    const tf = this.tf!;
    const { A, B } = gemmInputs(n);
    const At = tf.tensor2d(A, [n, n], 'float32'),
      Bt = tf.tensor2d(B, [n, n], 'float32');
    try {
      const { timing, acc } = await timeCase(
        async () => {
          const C = tf.matMul(At, Bt);
          await this.complete();
          return C;
        },
        (C: Tensor) => C.dispose(),
        async (C: Tensor) => {
          const c = (await C.data()) as Float32Array;
          return gemmSpotCheck(A, B, n, (i, j) => c[i * n + j]);
        },
        ctx.timing,
      );
      let readback;
      if (this.backend === 'webgpu' && !timing.cold)
        readback = await measure(async () => {
          const C = tf.matMul(At, Bt);
          await C.data();
          C.dispose();
        }, ctx.timing);
      return { completion: this.backend === 'webgpu' ? 'sync' : 'host', timing, readback, relErr: acc, dtype: 'f32' };
    } finally {
      At.dispose();
      Bt.dispose();
    }
  }

  async decomp(op: DecompOp, dtype: DType, input: DecompInput, ctx: CaseContext): Promise<DecompCaseResult> {
    if (op !== 'qr')
      throw new Unsupported(`tfjs has no tf.linalg.${op === 'eigh' ? 'eigh' : op === 'svd' ? 'svd' : op === 'lu' ? 'lu' : 'lstsq'}`);
    if (dtype !== 'f32') throw new Unsupported('tfjs has no float64');
    const tf = this.tf!;
    const { m, n } = input;
    const A0 = asDtype(input.A, 'f32') as Float32Array;
    const At = tf.tensor2d(A0, [m, n], 'float32');
    try {
      const r = await timeCase(
        async () => {
          const [Q, R] = tf.linalg.qr(At, false);
          await this.complete();
          return [Q, R];
        },
        (f) => tf.dispose(f),
        async ([Q, R]) => qrAccuracy(A0, m, n, (await Q.data()) as Float32Array, (await R.data()) as Float32Array),
        ctx.timing,
      );
      return { completion: this.gpuBackend ? 'sync' : 'host', ...r, method: 'tf.linalg.qr(A, fullMatrices=false) (Householder in tf ops)' };
    } finally {
      At.dispose();
    }
  }

  async dispose(): Promise<void> {
    const tf = this.tf;
    if (!tf) return;
    const dev = this.gpuBackend?.device;
    // removeBackend disposes tfjs's buffers and the backend instance but also drops the factory;
    // register it again so a later suite in this process can set the backend up afresh.
    const factory = tf.findBackendFactory(this.backend);
    try {
      tf.removeBackend(this.backend);
    } catch {
      // ignore
    }
    if (factory) tf.registerBackend(this.backend, factory, this.backend === 'webgpu' ? 3 : 2);
    // tfjs never destroys the device; a live Dawn device keeps a CPU core busy
    dev?.destroy();
    this.gpuBackend = null;
  }
}
