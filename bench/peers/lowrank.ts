/**
 * lowrank itself, through its public API: the native addon (1 thread or all threads) and WebGPU.
 *
 * Completion: native calls resolve when the result is in host memory. WebGPU calls resolve once the
 * work is encoded, so every timed WebGPU run ends with the engine's device synchronisation
 * (GpuContext.sync(): submit + queue.onSubmittedWorkDone()) — the GPU time includes completion, not
 * just encoding. A second GEMM timing includes reading C back to the host (toArray), for comparison
 * with peers whose results only exist once read back.
 */
import { engine, type Engine, type Mat } from '../../ts/index.js';
import { loadAddon } from '../../ts/backends/native/addon.js';
import { asDtype, gemmInputs } from '../lib/data.js';
import { adapterOf } from '../lib/gpu.js';
import { eighAccuracy, gemmSpotCheck, lstsqAccuracy, luAccuracy, qrAccuracy, svdAccuracy } from '../lib/linalg.js';
import { cores, pkgVersion } from '../lib/machine.js';
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

type AnyEngine = Engine<'f32'> | Engine<'f64'>;
type AnyMat = Mat<'f32'> | Mat<'f64'>;

export class LowrankPeer implements Peer {
  readonly id: string;
  readonly label: string;
  readonly kind: 'cpu' | 'gpu';
  threads: number;
  readonly lowrank = true;
  private readonly engines = new Map<DType, AnyEngine>();
  private syncFn: (() => Promise<void>) | null = null;

  constructor(
    private readonly backend: 'native' | 'webgpu',
    private readonly threadOpt?: number,
  ) {
    this.kind = backend === 'webgpu' ? 'gpu' : 'cpu';
    this.threads = threadOpt ?? cores();
    this.id = backend === 'webgpu' ? 'lowrank-webgpu' : threadOpt === 1 ? 'lowrank-native-1t' : 'lowrank-native';
    this.label =
      backend === 'webgpu' ? 'lowrank webgpu' : threadOpt === 1 ? 'lowrank native (1 thread)' : `lowrank native (${this.threads} threads)`;
  }

  async available(): Promise<Availability> {
    try {
      loadAddon(); // both backends need it (WebGPU keeps a native host backend for small factorizations)
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
    if (this.backend === 'webgpu') {
      try {
        await import('webgpu');
      } catch (e) {
        return { ok: false, reason: `the 'webgpu' package does not load: ${(e as Error).message}` };
      }
    }
    return { ok: true };
  }

  private async engineFor(dtype: DType): Promise<AnyEngine> {
    let e = this.engines.get(dtype);
    if (!e) {
      if (this.backend === 'webgpu' && dtype === 'f64') throw new Unsupported('WebGPU has no f64 (WGSL)');
      e = (await engine({ backend: this.backend, dtype, ...(this.threadOpt ? { threads: this.threadOpt } : {}) })) as AnyEngine;
      this.engines.set(dtype, e);
      if (this.backend === 'webgpu') {
        const ctx = (e as unknown as { _backend?: { env?: { ctx?: { sync?: () => Promise<void> } } } })._backend?.env?.ctx;
        this.syncFn = typeof ctx?.sync === 'function' ? () => ctx.sync!() : null;
      }
    }
    return e;
  }

  async setup(): Promise<PeerMeta> {
    const e = await this.engineFor('f32');
    const info = e.info();
    this.threads = this.backend === 'native' ? info.threads : this.threads;
    const notes: string[] = [];
    if (this.backend === 'webgpu') {
      notes.push(
        this.syncFn
          ? 'timed to completion with the engine device sync (submit + onSubmittedWorkDone); "readback" adds toArray() of the result'
          : 'engine internals changed: no ctx.sync(); timed with readback (toArray) only',
      );
      notes.push(`host-side factorization threads: ${info.threads}`);
    }
    return {
      version: `lowrank ${pkgVersion('lowrank') ?? '?'}`,
      threads: this.backend === 'native' ? info.threads : `GPU (+${info.threads} host threads)`,
      adapter: this.backend === 'webgpu' ? adapterOf(info.adapter) : undefined,
      notes,
      extra: { ...info },
    };
  }

  /** Waits for the device (WebGPU) — a no-op on native, whose promises resolve on completion. */
  private async complete(result: AnyMat | AnyMat[]): Promise<void> {
    if (this.backend !== 'webgpu') return;
    if (this.syncFn) await this.syncFn();
    else {
      const m = Array.isArray(result) ? result[0] : result;
      await m.toArray();
    }
  }

  async gemm(n: number, ctx: CaseContext): Promise<GemmCaseResult> {
    const eng = (await this.engineFor('f32')) as Engine<'f32'>;
    const { A, B } = gemmInputs(n);
    const Am = eng.matrix(A, n, n),
      Bm = eng.matrix(B, n, n);
    try {
      const run = async (): Promise<Mat<'f32'>> => {
        const C = await eng.matmul(Am, Bm);
        await this.complete(C);
        return C;
      };
      const { timing, acc } = await timeCase(
        run,
        (C) => C.dispose(),
        async (C) => {
          const c = await C.toArray();
          return gemmSpotCheck(A, B, n, (i, j) => c[i * n + j]);
        },
        ctx.timing,
      );
      let readback;
      if (this.backend === 'webgpu' && this.syncFn && !timing.cold) {
        readback = await measure(async () => {
          const C = await eng.matmul(Am, Bm);
          await C.toArray();
          C.dispose();
        }, ctx.timing);
      }
      return {
        completion: this.backend === 'webgpu' ? (this.syncFn ? 'sync' : 'readback') : 'host',
        timing,
        readback,
        relErr: acc,
        dtype: 'f32',
      };
    } finally {
      Am.dispose();
      Bm.dispose();
    }
  }

  async decomp(op: DecompOp, dtype: DType, input: DecompInput, ctx: CaseContext): Promise<DecompCaseResult> {
    const eng = await this.engineFor(dtype);
    const { m, n } = input;
    const A0 = asDtype(input.A, dtype),
      b0 = asDtype(input.b, dtype),
      G0 = asDtype(input.G, dtype);
    const e = eng as Engine<'f64'>; // the dtype parameter only shapes the host array types
    const A = e.matrix(A0, m, n),
      b = e.matrix(b0, m, 1),
      G = e.matrix(G0, n, n);
    const completion = this.backend === 'webgpu' ? (this.syncFn ? 'sync' : 'readback') : 'host';
    try {
      switch (op) {
        case 'qr': {
          const r = await timeCase(
            async () => {
              const f = await e.qr(A);
              await this.complete([f.Q, f.R]);
              return f;
            },
            (f) => (f.Q.dispose(), f.R.dispose()),
            async (f) => qrAccuracy(A0, m, n, await f.Q.toArray(), await f.R.toArray()),
            ctx.timing,
          );
          return { completion, ...r, method: 'engine.qr(A): thin Q (m x n), R (n x n)' };
        }
        case 'svd': {
          const r = await timeCase(
            async () => {
              const f = await e.svd(A);
              await this.complete([f.U, f.V]);
              return f;
            },
            (f) => (f.U.dispose(), f.V.dispose()),
            async (f) => svdAccuracy(A0, m, n, await f.U.toArray(), f.S, await f.V.toArray(), n),
            ctx.timing,
          );
          return { completion, ...r, method: 'engine.svd(A): thin U (m x n), S, V (n x n)' };
        }
        case 'eigh': {
          const r = await timeCase(
            async () => {
              const f = await e.eigh(G);
              await this.complete(f.vectors);
              return f;
            },
            (f) => f.vectors.dispose(),
            async (f) => eighAccuracy(G0, n, f.values, await f.vectors.toArray()),
            ctx.timing,
          );
          return { completion, ...r, method: 'engine.eigh(G), G = A^T A' };
        }
        case 'lstsq': {
          const r = await timeCase(
            async () => {
              const X = await e.lstsq(A, b);
              await this.complete(X);
              return X;
            },
            (X) => X.dispose(),
            async (X) => lstsqAccuracy(A0, m, n, b0, await X.toArray()),
            ctx.timing,
          );
          return { completion, ...r, method: 'engine.lstsq(A, b), b m x 1' };
        }
        case 'lu': {
          const r = await timeCase(
            async () => {
              const f = await e.lu(A);
              await this.complete([f.PL, f.U]);
              return f;
            },
            (f) => (f.PL.dispose(), f.U.dispose()),
            async (f) => luAccuracy(A0, m, n, await f.PL.toArray(), await f.U.toArray()),
            ctx.timing,
          );
          return { completion, ...r, method: 'engine.lu(A): PL (m x n, permuted unit lower), U (n x n)' };
        }
      }
    } finally {
      A.dispose();
      b.dispose();
      G.dispose();
    }
  }

  async dispose(): Promise<void> {
    for (const e of this.engines.values()) await e.dispose();
    this.engines.clear();
    this.syncFn = null;
  }
}
