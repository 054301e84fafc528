/**
 * Shared by the distributed steps (sketch, gram, pass, merge, finish): the shard flags, loading a
 * shard, the engine for a dtype, and the one-line / --json report.
 */
import path from 'node:path';
import { engine, type Engine } from '../engine.js';
import type { DType } from '../types.js';
import type { FlagSpec } from './args.js';
import { UsageError } from './args.js';
import type { Context } from './context.js';
import { loadMatrix } from './files.js';

export function shardFlags(withOffset: boolean): FlagSpec[] {
  const flags: FlagSpec[] = [{ name: 'json', type: 'boolean', default: false, description: 'print a JSON summary on stdout' }];
  if (withOffset)
    flags.unshift({
      name: 'row-offset',
      type: 'int',
      min: 0,
      value: 'R0',
      description: "index (0-based) of the shard's first row in the whole matrix",
    });
  return flags;
}

export interface Shard {
  path: string;
  /** The name as the user gave it. */
  name: string;
  rows: number;
  cols: number;
  data: Float32Array | Float64Array;
  dtype: DType;
  /** ||shard||_F^2, summed in f64 while checking the values. */
  sumSquares: number;
}

/** Loads a dense shard (.npy, or a dense .mtx array). */
export async function loadShard(ctx: Context, arg: string): Promise<Shard> {
  const p = ctx.resolve(arg);
  const m = await loadMatrix(p);
  if (m.kind !== 'dense') throw new UsageError(`${arg} is a sparse .mtx file; the distributed steps read dense shards (.npy)`);
  const { rows, cols, data } = m;
  let sumSquares = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0)
      throw new Error(`${arg}: row ${Math.floor(i / cols) + 1}, column ${(i % cols) + 1} (1-based) is ${v}; the steps need finite values`);
    sumSquares += v * v;
  }
  return { path: p, name: arg, rows, cols, data, dtype: data instanceof Float64Array ? 'f64' : 'f32', sumSquares };
}

/**
 * The engine for data of dtype `dtype`: --dtype when given, else the data's own dtype (an f64 shard
 * computes in f64 on the native backend).
 */
export async function openEngineFor(ctx: Context, dtype: DType): Promise<Engine> {
  const d: DType = ctx.args.given.has('dtype') ? ctx.dtype : dtype;
  if (ctx.backend === 'webgpu' && d === 'f64')
    throw new UsageError('--backend webgpu cannot compute in f64 (the data is f64: pass --dtype f32 to compute in f32)');
  return engine({ backend: ctx.backend, dtype: d, threads: ctx.threads });
}

/** Prints the step's one-line summary, or with --json the summary object. */
export function report(ctx: Context, line: string, summary: Record<string, unknown>): void {
  if (ctx.flag<boolean>('json')) ctx.out(JSON.stringify({ command: ctx.command, ...summary }));
  else ctx.out(line);
}

/** The name to show for a folder argument. */
export function shown(arg: string): string {
  return arg.replace(/\/+$/, '') || arg;
}

export function baseName(p: string): string {
  return path.basename(p);
}
