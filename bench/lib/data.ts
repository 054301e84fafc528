/** Benchmark inputs, generated once per process and shared by every in-process peer. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gram, randn } from './linalg.js';
import type { DecompInput } from './peer.js';

const gemmCache = new Map<number, { A: Float32Array; B: Float32Array; A64: Float64Array; B64: Float64Array }>();

/** A and B (n x n, standard normal, f32-representable), row-major. */
export function gemmInputs(n: number): { A: Float32Array; B: Float32Array; A64: Float64Array; B64: Float64Array } {
  let e = gemmCache.get(n);
  if (!e) {
    const A = Float32Array.from(randn(n * n, 1000 + n));
    const B = Float32Array.from(randn(n * n, 2000 + n));
    e = { A, B, A64: Float64Array.from(A), B64: Float64Array.from(B) };
    gemmCache.clear(); // one size at a time: 2048^2 inputs are 48 MiB
    gemmCache.set(n, e);
  }
  return e;
}

let tmpDir: string | undefined;

/**
 * A (m x n, standard normal), b (m x 1) and G = A^T A (n x n), all in f64, plus a binary file with the
 * same bytes (A, then b, then G; little-endian f64) for the Python worker.
 */
export function decompInputs(m: number, n: number): DecompInput {
  const A = randn(m * n, 31337);
  const b = randn(m, 4242);
  const G = gram(A, m, n);
  tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'lowrank-bench-'));
  const file = path.join(tmpDir, `decomp-${m}x${n}.f64`);
  const buf = Buffer.alloc(8 * (A.length + b.length + G.length));
  let off = 0;
  for (const x of [A, b, G]) {
    Buffer.from(x.buffer, x.byteOffset, x.byteLength).copy(buf, off);
    off += x.byteLength;
  }
  fs.writeFileSync(file, buf);
  return { m, n, A, b, G, file };
}

export function cleanupData(): void {
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = undefined;
}

/** Converts to the engine dtype's host array (f32 data are rounded once, as every f32 peer sees them). */
export function asDtype(x: Float64Array, dtype: 'f32' | 'f64'): Float32Array | Float64Array {
  return dtype === 'f32' ? Float32Array.from(x) : x;
}
