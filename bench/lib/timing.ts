/**
 * Timing policy shared by every peer (the Python worker implements the same rules in
 * bench/peers/numpy_worker.py):
 *
 * 1. One untimed warm-up call (page faults, JIT, pipeline compilation, frequency ramp). Its duration
 *    is the estimate for the timed loop. When the warm-up alone exceeds the case cap, the case reports
 *    that single cold run, flagged `cold`.
 * 2. A timed loop (tinybench) of `iterations = clamp(targetMs / estimate, minIters, maxIters)` runs,
 *    shortened so the whole case stays inside `capMs`.
 * 3. We report best (minimum) and median of the samples; GFLOP/s figures use the best time.
 */
import { Bench } from 'tinybench';

export interface TimingOptions {
  /** Aim for this much timed work per case (ms). */
  targetMs: number;
  minIters: number;
  maxIters: number;
  /** Hard cap on the whole case, warm-up included (ms). */
  capMs: number;
  /** Only the warm-up call (pilot runs): its duration is reported as a single cold sample. */
  warmupOnly?: boolean;
}

export interface Timing {
  bestMs: number;
  medianMs: number;
  meanMs: number;
  /** Number of timed samples. */
  n: number;
  samplesMs: number[];
  /** Duration of the warm-up call (ms). */
  warmupMs: number;
  /** True when only the (cold) warm-up run could be afforded within the cap. */
  cold?: boolean;
}

export const QUICK_TIMING: TimingOptions = { targetMs: 300, minIters: 2, maxIters: 5, capMs: 15_000 };
export const FULL_TIMING: TimingOptions = { targetMs: 3_000, minIters: 5, maxIters: 30, capMs: 90_000 };

/**
 * Pause before timing one side of an interleaved head-to-head. OpenBLAS's worker threads keep spinning
 * (with sched_yield) for 2^28 TSC cycles after a call (~0.1 s; OPENBLAS_THREAD_TIMEOUT), so the first
 * ~0.1 s of whatever runs next on a 2-core machine shares its cores with them: multi-threaded lowrank runs
 * right after numpy's measured at 0.6-0.7x their speed (Zen 5, C++ harness: f32 512^3 on 2 threads 205
 * against 310-335 GFLOP/s after a 0.5 s pause). lowrank's own pool spins at most 5 ms.
 */
export const SETTLE_MS = 300;
export function settle(ms = SETTLE_MS): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${(ms / 1000).toFixed(0)} s`);
    this.name = 'TimeoutError';
  }
}

/** Rejects with a TimeoutError when `p` takes longer than `ms` (the work itself is not cancelled). */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
        timer.unref?.();
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * One watchdog for a series of timed runs: race(p) rejects with a TimeoutError once `ms` have passed since
 * the watchdog was made. Unlike withTimeout per run it arms no timer inside the timed window (a setTimeout +
 * clearTimeout per call cost 2-4 us, 2 % of a 256^3 f32 GEMM on one Zen 5 core, while the Python peers time
 * only their call). clear() disarms it.
 */
export function watchdog(ms: number, what: string): { race<T>(p: Promise<T>): Promise<T>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const fired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
    timer.unref?.();
  });
  fired.catch(() => undefined); // observed only through race()
  return { race: <T>(p: Promise<T>) => Promise.race([p, fired]), clear: () => clearTimeout(timer) };
}

function median(sorted: number[]): number {
  const k = sorted.length;
  return k % 2 ? sorted[(k - 1) / 2] : 0.5 * (sorted[k / 2 - 1] + sorted[k / 2]);
}

export function summarize(samplesMs: number[], warmupMs: number, cold = false): Timing {
  const s = [...samplesMs].sort((a, b) => a - b);
  return {
    bestMs: s[0],
    medianMs: median(s),
    meanMs: s.reduce((a, b) => a + b, 0) / s.length,
    n: s.length,
    samplesMs: samplesMs.map((x) => +x.toFixed(4)),
    warmupMs: +warmupMs.toFixed(4),
    ...(cold ? { cold: true } : {}),
  };
}

/**
 * Times `fn` (which must include completion of the work: device sync, readback...). `warmupMs` is the
 * duration of a warm-up call the caller already made; when absent, one warm-up call is made here.
 */
export async function measure(fn: () => Promise<unknown>, o: TimingOptions, warmupMs?: number): Promise<Timing> {
  const start = performance.now();
  if (warmupMs === undefined) {
    const t = performance.now();
    await withTimeout(Promise.resolve().then(fn), o.capMs, 'warm-up');
    warmupMs = performance.now() - t;
  }
  // Time left in the cap (the warm-up counts against it once more: one run of headroom).
  const left = o.capMs - (performance.now() - start) - warmupMs;
  if (warmupMs >= o.capMs || left <= 0) return summarize([warmupMs], warmupMs, true);
  const est = Math.max(warmupMs, 1e-3);
  let iters = Math.round(o.targetMs / est);
  iters = Math.max(o.minIters, Math.min(o.maxIters, iters));
  iters = Math.max(1, Math.min(iters, Math.floor(left / est)));

  const ac = new AbortController();
  const guard = setTimeout(() => ac.abort(), Math.max(left, est));
  guard.unref?.();
  const bench = new Bench({ iterations: iters, time: 0, warmup: false, throws: true, signal: ac.signal });
  // An `async` function: tinybench would otherwise call it once just to detect whether it is async.
  // one watchdog for the whole series: a single run may still take up to capMs after the last start
  const dog = watchdog(Math.max(left, est) + o.capMs, 'timed runs');
  bench.add('case', async () => {
    await dog.race(Promise.resolve().then(fn));
  });
  try {
    await bench.run();
  } finally {
    clearTimeout(guard);
    dog.clear();
  }
  const task = bench.tasks[0];
  const r = task.result as unknown as { error?: Error; latency?: { samples: number[] } } | undefined;
  if (r?.error) throw r.error;
  const samples = r?.latency?.samples ?? [];
  if (samples.length === 0) return summarize([warmupMs], warmupMs, true);
  return summarize(samples, warmupMs);
}

/**
 * The usual shape of a case: one warm-up call whose result is checked for accuracy, then the timed
 * loop. `run` must return only once the work is complete; `release` frees a result.
 */
export async function timeCase<R, A>(
  run: () => Promise<R>,
  release: (r: R) => unknown,
  check: (r: R) => Promise<A> | A,
  o: TimingOptions,
): Promise<{ timing: Timing; acc: A }> {
  const t = performance.now();
  const first = await withTimeout(run(), o.capMs, 'warm-up run');
  const warm = performance.now() - t;
  let acc: A;
  try {
    acc = await check(first);
  } finally {
    await release(first);
  }
  if (o.warmupOnly) return { timing: summarize([warm], warm, true), acc };
  const timing = await measure(
    async () => {
      const r = await run();
      await release(r);
    },
    o,
    warm,
  );
  return { timing, acc };
}
