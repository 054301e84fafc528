/**
 * numpy (GEMM) and scipy.linalg (factorizations) in a Python child process, one process per
 * configuration because OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_NUM_THREADS at load time.
 *
 * Core types: this VM's OpenBLAS detects "Haswell" by itself (AVX2 kernels, half the FMA width on an
 * AVX-512 CPU); "SkylakeX" forces the AVX-512 kernels. Both are reported, on 1 thread and on all cores.
 */
import type { Timing } from '../lib/timing.js';
import { findPython, pythonMissingReason, PythonWorker, type PythonChoice } from '../lib/python.js';
import type {
  Availability,
  CaseContext,
  DType,
  DecompAccuracy,
  DecompCaseResult,
  DecompInput,
  DecompOp,
  GemmCaseResult,
  Peer,
  PeerMeta,
} from '../lib/peer.js';

interface BlasLib {
  lib?: string;
  api?: string;
  version?: string;
  corename?: string;
  threads?: number;
}

export class NumpyPeer implements Peer {
  readonly id: string;
  readonly label: string;
  readonly kind = 'cpu' as const;
  private worker: PythonWorker | null = null;
  private py: PythonChoice | null = null;

  constructor(
    private readonly coretype: 'Haswell' | 'SkylakeX',
    readonly threads: number,
    allThreads: boolean,
  ) {
    this.id = `numpy-${coretype.toLowerCase()}-${allThreads ? 'all' : `${threads}t`}`;
    this.label = `numpy OpenBLAS ${coretype} (${threads} thread${threads > 1 ? 's' : ''})`;
  }

  async available(): Promise<Availability> {
    this.py = findPython();
    return this.py ? { ok: true } : { ok: false, reason: pythonMissingReason() };
  }

  async setup(): Promise<PeerMeta> {
    const py = this.py ?? findPython();
    if (!py) throw new Error(pythonMissingReason());
    const t = String(this.threads);
    this.worker = new PythonWorker(py.exe, {
      OPENBLAS_CORETYPE: this.coretype,
      OPENBLAS_NUM_THREADS: t,
      OMP_NUM_THREADS: t,
      MKL_NUM_THREADS: t,
    });
    const info = await this.worker.request<{ blas: BlasLib[]; numpy: string; scipy: string | null; python: string; numpyPath: string }>(
      { cmd: 'info' },
      60_000,
    );
    const blas = info.blas.map((b) => {
      const v = b.version?.match(/OpenBLAS\s+([\d.]+)/)?.[1] ?? b.version ?? '?';
      return `${b.api ?? 'blas'} ${v}${b.corename ? ` (${b.corename})` : ''}`;
    });
    const notes: string[] = [];
    const cores = info.blas.map((b) => b.corename).filter(Boolean);
    if (cores.length && !cores.every((c) => c!.toLowerCase() === this.coretype.toLowerCase()))
      notes.push(`requested OPENBLAS_CORETYPE=${this.coretype} but the library reports ${cores.join(', ')}`);
    if (!info.scipy) notes.push('scipy missing: factorizations use numpy.linalg');
    return {
      version: `numpy ${info.numpy}${info.scipy ? `, scipy ${info.scipy}` : ''}; ${[...new Set(blas)].join(', ') || 'BLAS unknown'}`,
      threads: this.threads,
      notes,
      extra: { python: py.exe, pythonVersion: info.python, pythonChoice: py.why, numpyPath: info.numpyPath, blas: info.blas },
    };
  }

  private hardTimeout(ctx: CaseContext): number {
    return ctx.timing.capMs * 2 + 60_000;
  }

  async gemm(n: number, ctx: CaseContext): Promise<GemmCaseResult> {
    if (!this.worker) throw new Error('not set up');
    const r = await this.worker.request<{ timing: Timing; relErr: number; method: string }>(
      { cmd: 'gemm', n, dtype: 'f32', timing: ctx.timing },
      this.hardTimeout(ctx),
    );
    return { completion: 'host', timing: r.timing, relErr: r.relErr, dtype: 'f32', note: r.method };
  }

  async decomp(op: DecompOp, dtype: DType, input: DecompInput, ctx: CaseContext): Promise<DecompCaseResult> {
    if (!this.worker) throw new Error('not set up');
    const r = await this.worker.request<{ timing: Timing; acc: DecompAccuracy; method: string }>(
      { cmd: 'decomp', op, dtype, m: input.m, n: input.n, file: input.file, timing: ctx.timing },
      this.hardTimeout(ctx),
    );
    return { completion: 'host', timing: r.timing, acc: r.acc, method: r.method };
  }

  async dispose(): Promise<void> {
    await this.worker?.close();
    this.worker = null;
  }
}
