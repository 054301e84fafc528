/**
 * The common interface of everything the suites time: lowrank's own configurations and the peers.
 * A peer that cannot run here says why in `available()`; the runner prints the reason and moves on.
 * Any error thrown by setup / a case / dispose is recorded as "n/a (message)" for that case only.
 */
import type { Timing, TimingOptions } from './timing.js';

export type DType = 'f32' | 'f64';
export type DecompOp = 'qr' | 'svd' | 'eigh' | 'lstsq' | 'lu';

export type Availability = { ok: true } | { ok: false; reason: string };

/** What a peer reports about itself once set up (goes into the JSON and the table headers). */
export interface PeerMeta {
  /** Library version(s), e.g. "numpy 1.24.2, scipy 1.10.1, OpenBLAS 0.3.21 (SkylakeX)". */
  version?: string;
  /** Worker threads used for compute; a number, or a description. */
  threads?: number | string;
  /** For GPU peers: the adapter the device was created on. */
  adapter?: { vendor: string; architecture: string; device: string; description: string };
  /** Anything a reader needs to interpret the numbers (e.g. "computes in f64"). */
  notes?: string[];
  /** Free-form extra facts for the JSON (BLAS config, flags). */
  extra?: Record<string, unknown>;
}

/** How a GPU figure was completed: device sync (queue drained) or result read back to the host. */
export type Completion = 'host' | 'sync' | 'readback';

export interface CaseContext {
  timing: TimingOptions;
  quick: boolean;
  /** Print a progress note on stderr. */
  log(msg: string): void;
}

export interface GemmCaseResult {
  /** Completion semantics of `timing`. CPU peers: 'host' (result in host memory when timed). */
  completion: Completion;
  timing: Timing;
  /** GPU peers: a second timing that includes reading C back to the host. */
  readback?: Timing;
  /** Max over spot-checked entries of |c - c_ref| / sum_k |a_ik b_kj| (f64 reference). */
  relErr?: number;
  /** Element type the peer actually computed in. */
  dtype: DType;
  note?: string;
}

/** Accuracy relations of a decomposition; every one is computed in f64 from the returned factors. */
export interface DecompAccuracy {
  /** qr: ||QR - A||/||A||; svd: ||U S V^T - A||/||A||; eigh: ||G V - V L||/||G||; lstsq: ||A^T r||/(||A|| ||r||); lu: ||PL U - A||/||A||. */
  resid: number;
  /** ||Q^T Q - I||_F (qr), max of U and V (svd), ||V^T V - I||_F (eigh); absent for lstsq and lu. */
  orth?: number;
}

export interface DecompCaseResult {
  completion: Completion;
  timing: Timing;
  acc: DecompAccuracy;
  /** What exactly was called (driver, options). */
  method?: string;
  note?: string;
}

/** A case the peer cannot run (missing op / dtype): recorded as skipped with the reason, not an error. */
export class Unsupported extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Unsupported';
  }
}

export interface DecompInput {
  m: number;
  n: number;
  /** A (m x n), b (m x 1) and G = A^T A (n x n), row-major f64; every peer factors these same data. */
  A: Float64Array;
  b: Float64Array;
  G: Float64Array;
  /** The same data as one binary file (A, b, G in f64 little-endian) for the Python worker. */
  file: string;
}

export interface Peer {
  /** Stable key, used in JSON and for --only / --skip (e.g. 'numpy-skylakex-1t'). */
  id: string;
  /** Human label for tables. */
  label: string;
  /** 'cpu' peers are compared with lowrank native, 'gpu' peers with lowrank webgpu. */
  kind: 'cpu' | 'gpu';
  /** Compute threads (for matching against lowrank native and for % of peak); 'all' = every core. */
  threads: number;
  /** Is this lowrank itself (the baseline of ratios)? */
  lowrank?: boolean;
  /**
   * Slow, uninterruptible (synchronous JS) peers: the decomp suite first runs each case at 1/4 scale
   * and skips it when the predicted full-size time exceeds --max-run.
   */
  pilot?: boolean;
  available(): Promise<Availability>;
  setup(ctx: CaseContext): Promise<PeerMeta>;
  gemm?(n: number, ctx: CaseContext): Promise<GemmCaseResult>;
  decomp?(op: DecompOp, dtype: DType, input: DecompInput, ctx: CaseContext): Promise<DecompCaseResult>;
  dispose(): Promise<void>;
}
