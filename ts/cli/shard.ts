/**
 * Shared by the distributed steps (sketch, gram, pass, merge, finish): the shard flags, loading a
 * shard, the engine for a dtype, and the one-line / --json report.
 */
import path from 'node:path';
import { engine, type Engine } from '../engine.js';
import type { Mat } from '../mat.js';
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
}

/** Loads a dense shard (.npy, or a dense .mtx array). */
export async function loadShard(ctx: Context, arg: string): Promise<Shard> {
  const p = ctx.resolve(arg);
  const m = await loadMatrix(p);
  if (m.kind !== 'dense') throw new UsageError(`${arg} is a sparse .mtx file; the distributed steps read dense shards (.npy)`);
  const { rows, cols, data } = m;
  return { path: p, name: arg, rows, cols, data, dtype: data instanceof Float64Array ? 'f64' : 'f32' };
}

/**
 * The shard as a Mat on `eng`, taking over its array when the dtypes agree (no copy, a native check for
 * NaN / Infinity); a non-finite value is reported at its (row, column) in the file.
 */
export async function shardMat<D extends DType>(eng: Engine<D>, shard: Shard): Promise<Mat<D>> {
  const { rows, cols, data } = shard;
  const own = (eng.dtype === 'f64') === data instanceof Float64Array;
  try {
    return own ? await eng.adopt(data, rows, cols) : eng.matrix(data, rows, cols);
  } catch (e) {
    checkFiniteShard(shard);
    throw e;
  }
}

/** Throws, naming the (row, column) of the first NaN / Infinity in the shard; returns when all are finite. */
export function checkFiniteShard(shard: Shard): void {
  const { cols, data } = shard;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0)
      throw new Error(
        `${shard.name}: row ${Math.floor(i / cols) + 1}, column ${(i % cols) + 1} (1-based) is ${v}; the steps need finite values`,
      );
  }
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
