/** Pieces shared by the suites: header facts, peak probes, baseline matching for ratios. */
import { loadAddon } from '../../ts/backends/native/addon.js';
import { addonPath } from '../../ts/paths.js';
import type { BenchArgs } from './args.js';
import { isSoftwareAdapter } from './gpu.js';
import { cores, jsVersions, machineInfo } from './machine.js';
import { emptyPeak, measurePeak, peakFor, type PeakTable } from './peak.js';
import type { DType } from './peer.js';
import { findPython, pythonMissingReason } from './python.js';
import { busy, type Header } from './report.js';
import type { PeerRecord } from './runner.js';
import { progress } from './runner.js';
import { FULL_TIMING, QUICK_TIMING, type TimingOptions } from './timing.js';

export function timingFor(args: BenchArgs): TimingOptions {
  const t = { ...(args.quick ? QUICK_TIMING : FULL_TIMING) };
  if (args.capS) t.capMs = args.capS * 1000;
  return t;
}

export function startHeader(suite: string, args: BenchArgs): Header {
  const machine = machineInfo(args.tag);
  if (busy(machine))
    progress(
      suite,
      `warning: load average ${machine.loadAvgAtStart[0]} on ${machine.logicalCores} cores — other work is running; figures will be noisy`,
    );
  let addon: Header['addon'] = { path: addonPath() };
  try {
    addon.info = { ...loadAddon().info() };
  } catch (e) {
    addon = { path: addonPath(), error: (e as Error).message };
  }
  const py = findPython();
  return {
    suite,
    quick: args.quick,
    machine,
    versions: jsVersions(),
    python: py ? { exe: py.exe, numpy: py.numpy, scipy: py.scipy, why: py.why } : null,
    pythonMissing: py ? undefined : pythonMissingReason(),
    addon,
    peak: emptyPeak(),
    peers: [],
  };
}

export async function probePeak(suite: string, peak: PeakTable, quick: boolean, when: string): Promise<void> {
  const threads = [...new Set([1, cores()])];
  progress(suite, `FMA peak probe (${when})`);
  await measurePeak(peak, threads, quick ? 150 : 500, when);
  if (peak.error) progress(suite, `FMA peak: ${peak.error}`);
}

/** Fills header.python.blas from a numpy peer's reported library. */
export function noteBlas(h: Header, peers: PeerRecord[]): void {
  const np = peers.find((p) => p.id.startsWith('numpy-') && p.status === 'ok');
  if (h.python && np?.meta?.version)
    h.python.blas = np.meta.version
      .split(';')
      .slice(1)
      .join(';')
      .trim()
      .replace(/\s*\([^)]*\)/g, '');
}

/**
 * The lowrank configuration a peer is compared with: GPU peers with lowrank webgpu (same adapter);
 * CPU peers with lowrank native on the same thread count when measured, else all threads.
 */
export function baselineFor(peer: PeerRecord, all: PeerRecord[]): PeerRecord | undefined {
  const lr = all.filter((p) => p.lowrank && p.status === 'ok');
  if (peer.kind === 'gpu') return lr.find((p) => p.kind === 'gpu');
  const cpu = lr.filter((p) => p.kind === 'cpu');
  return cpu.find((p) => p.threads === peer.threads) ?? cpu.sort((a, b) => b.threads - a.threads)[0];
}

/**
 * % of the FMA peak for a figure: CPU peers against the peak of their dtype and thread count; GPU
 * peers only on a software adapter (shaders run on the CPU), against the all-threads peak.
 */
export function pctOfPeak(peak: PeakTable, peer: PeerRecord, dtype: DType, gflops: number): number | undefined {
  let p: number | undefined;
  if (peer.kind === 'cpu') p = peakFor(peak, dtype, peer.threads);
  else if (isSoftwareAdapter(peer.meta?.adapter)) p = peakFor(peak, dtype, cores());
  return p ? (100 * gflops) / p : undefined;
}
