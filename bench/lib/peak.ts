/**
 * The machine's measured FMA peak, from the native addon's `peak(dtype, threads, millis)` probe (an
 * FMA-throughput loop in the widest ISA of the CPU). Measured at the start and at the end of a suite;
 * the higher of the two is the reference for "% of peak" (so the percentage is conservative).
 */
import { loadAddon } from '../../ts/backends/native/addon.js';
import { addonPath } from '../../ts/paths.js';

export interface PeakTable {
  /** GFLOP/s by dtype, then by thread count. */
  gflops: { f32: Record<number, number>; f64: Record<number, number> };
  runs: { when: string; dtype: 'f32' | 'f64'; threads: number; gflops: number }[];
  error?: string;
  addon: string;
}

export function emptyPeak(): PeakTable {
  return { gflops: { f32: {}, f64: {} }, runs: [], addon: addonPath() };
}

export async function measurePeak(table: PeakTable, threadCounts: number[], millis: number, when: string): Promise<void> {
  let addon;
  try {
    addon = loadAddon();
  } catch (e) {
    table.error = (e as Error).message;
    return;
  }
  const peak = (addon as { peak?: (d: 'f32' | 'f64', t: number, ms: number) => Promise<number> }).peak;
  if (typeof peak !== 'function') {
    table.error = `the addon at ${addonPath()} has no peak() probe (older build); rebuild it (npm run build:native) or point LOWRANK_NATIVE_ADDON at a fresh build`;
    return;
  }
  for (const dtype of ['f32', 'f64'] as const) {
    for (const t of threadCounts) {
      try {
        const g = await peak.call(addon, dtype, t, millis);
        table.runs.push({ when, dtype, threads: t, gflops: +g.toFixed(2) });
        table.gflops[dtype][t] = Math.max(table.gflops[dtype][t] ?? 0, +g.toFixed(2));
      } catch (e) {
        table.error = `peak(${dtype}, ${t}) failed: ${(e as Error).message}`;
      }
    }
  }
}

/** Peak for a dtype and thread count (undefined when not measured). */
export function peakFor(table: PeakTable, dtype: 'f32' | 'f64', threads: number): number | undefined {
  return table.gflops[dtype][threads];
}
