/**
 * Fuzzes the native addon boundary: every export (info, peak and syrk included) is called with random
 * argument counts, types, dimensions and array lengths (mostly consistent ones, so the computations
 * really run, including on NaN/Inf data and aliased outputs), and with hostile buffers: views at an
 * offset (results must equal the plain call bit for bit), SharedArrayBuffer and resizable buffers
 * (refused with a TypeError), detached arrays, arrays detached or overwritten while a call runs, and
 * huge dimensions against a zero one. Each call must resolve or fail with a TypeError/RangeError naming
 * the function (test/fuzz/addon-child.mjs lists the checks).
 *
 * The fuzzing runs in a child process: a segfault or abort in the addon would otherwise kill vitest's
 * worker. The child's exit status is asserted (0, no signal).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../ts/backends/native/addon.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'addon-child.mjs');

/** Every export of the addon, with the number of calls each gets. */
const EXPORTS: Record<string, number> = {
  info: 50,
  own: 100,
  lineOffset: 100,
  peak: 40,
  gemm: 300,
  syrk: 300,
  gram: 300,
  axpby: 300,
  hadamard: 300,
  transpose: 300,
  norm: 300,
  colNorms: 300,
  rowNorms: 300,
  random: 300,
  full: 300,
  copy2d: 400,
  scaleAxis: 300,
  colAbsMax: 300,
  rowArgmin: 300,
  fwht: 300,
  adamStep: 300,
  fakeQuantize: 300,
  lu: 300,
  qr: 300,
  cholesky: 300,
  solveTriangular: 300,
  lstsq: 300,
  eigh: 300,
  svd: 300,
  svdvals: 300,
  spmm: 500,
  sddmm: 400,
  eigGeneral: 200,
  eigGeneralComplex: 200,
  ssmVandermonde: 300,
  ssmConv: 300,
  ssmScan: 300,
  gaussianApply: 400,
  gaussianAdjoint: 400,
  sign: 300,
  segmentGram: 250,
  choleskyBatch: 200,
  choleskySolveBatch: 300,
  segmentCG: 400,
};

interface Report {
  ran: number;
  checked: number;
  violations: string[];
}

/** Runs the child asynchronously (a blocking spawnSync would starve vitest's worker RPC). */
async function fuzz(
  name: string,
  calls: number,
  seed: number,
): Promise<{ status: number | null; signal: string | null; report: Report | null; stderr: string }> {
  const r = await new Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, ['--expose-gc', CHILD, JSON.stringify([name]), String(seed), String(calls)], {
      env: process.env,
      timeout: 60_000,
    });
    let stdout = '',
      stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let report: Report | null = null;
  try {
    report = JSON.parse(last) as Report;
  } catch {
    report = null;
  }
  return { status: r.status, signal: r.signal, report, stderr: r.stderr.slice(-2000) };
}

describe('addon fuzz (child process)', () => {
  it('covers every export of the addon', () => {
    const exported = Object.keys(loadAddon() as unknown as Record<string, unknown>).sort();
    expect(exported).toEqual(Object.keys(EXPORTS).sort());
  });

  for (const [name, calls] of Object.entries(EXPORTS)) {
    it(`${name}: no crash, every call resolves or fails with a TypeError/RangeError naming it`, async () => {
      const r = await fuzz(name, calls, 20261207);
      expect({ status: r.status, signal: r.signal, stderr: r.status === 0 ? '' : r.stderr }).toEqual({
        status: 0,
        signal: null,
        stderr: '',
      });
      expect(r.report, 'child report').not.toBeNull();
      expect(r.report!.violations).toEqual([]);
      // the generator must exercise real computations, not only argument errors
      if (name !== 'info' && name !== 'peak' && name !== 'own') expect(r.report!.checked).toBeGreaterThan(10);
    });
  }
});
