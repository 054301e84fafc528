/**
 * Shared by the distributed steps (sketch, gram, pass, merge, finish): the shard flags, loading a
 * shard, the engine for a dtype, and the one-line / --json report.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { engine, type Engine } from '../engine.js';
import { readNpyHeader } from '../io/npy.js';
import type { Mat } from '../mat.js';
import type { DType } from '../types.js';
import type { FlagSpec } from './args.js';
import { UsageError } from './args.js';
import type { Context } from './context.js';
import { loadMatrix } from './files.js';

export function shardFlags(withOffset: boolean): FlagSpec[] {
  return withOffset
    ? [
        {
          name: 'row-offset',
          type: 'int',
          min: 0,
          value: 'R0',
          description: "index (0-based) of the shard's first row in the whole matrix",
        },
      ]
    : [];
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

/** Throws, naming the (row, column) of the first NaN / Infinity in the shard; returns when all are finite. */
export function checkFiniteShard(shard: { name: string; cols: number; data: Float32Array | Float64Array }): void {
  const { cols, data } = shard;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0)
      throw new Error(
        `${shard.name}: row ${Math.floor(i / cols) + 1}, column ${(i % cols) + 1} (1-based) is ${v}; the steps need finite values`,
      );
  }
}

/** What a step knows of its shard before loading it: the file's header (and identity, for the cache). */
export interface ShardInfo {
  path: string;
  name: string;
  rows: number;
  cols: number;
  dtype: DType;
  /** The file's identity: size and modification time (a changed file is never served from the cache). */
  stamp: string;
}

/** The shard's header (.npy) or, for other formats, the loaded shard's shape. */
export async function shardInfo(ctx: Context, arg: string): Promise<ShardInfo & { loaded?: Shard }> {
  const p = ctx.resolve(arg);
  const st = await stat(p).catch(() => undefined);
  const stamp = st ? `${st.size}:${st.mtimeMs}` : '';
  if (st?.isFile() && path.extname(p).toLowerCase() === '.npy') {
    const h = await readNpyHeader(p);
    if (h.kind !== 'float') {
      ctx.note(`${arg}: ${h.descr} values converted to ${ctx.dtypeGiven ? (ctx.dtype === 'f64' ? 'float64' : 'float32') : 'float32'}`);
      return { path: p, name: arg, rows: h.shape[0], cols: h.shape[1], dtype: 'f32', stamp };
    }
    return { path: p, name: arg, rows: h.shape[0], cols: h.shape[1], dtype: h.dtype, stamp };
  }
  const loaded = await loadShard(ctx, arg);
  return { path: p, name: arg, rows: loaded.rows, cols: loaded.cols, dtype: loaded.dtype, stamp, loaded };
}

/** A shard on an engine: the Mat (do not dispose it: call release()), and ||A||_F^2 on demand. */
export interface ShardOnEngine<D extends DType> {
  A: Mat<D>;
  sumSquares(): Promise<number>;
  release(): void;
}

/**
 * The shard as a Mat on `eng`, with one memcpy when the dtypes agree (a native check for
 * NaN / Infinity; a non-finite value is reported at its (row, column) in the file). Under `lowrank
 * serve` the Mat is kept in the session's cache (keyed by file, size, modification time and engine),
 * so later steps on the same shard in the same process neither read nor check it again.
 */
export async function shardOnEngine<D extends DType>(
  ctx: Context,
  eng: Engine<D>,
  info: ShardInfo & { loaded?: Shard },
): Promise<ShardOnEngine<D>> {
  const cache = ctx.io.session;
  const key = `${info.path}|${info.stamp}|${eng.backend}/${eng.dtype}`;
  const hit = cache?.shards.get(key);
  if (hit && hit.eng === eng) {
    cache?.shards.delete(key); // re-insert: most recently used last
    cache?.shards.set(key, hit);
    return { A: hit.A as Mat<D>, sumSquares: async () => hit.sumSquares, release: () => {} };
  }
  const shard = info.loaded ?? (await loadShard(ctx, info.name));
  const own = (eng.dtype === 'f64') === shard.data instanceof Float64Array;
  let A: Mat<D>;
  try {
    A = own ? await eng.fromArray(shard.data, shard.rows, shard.cols) : eng.matrix(shard.data, shard.rows, shard.cols);
  } catch (e) {
    checkFiniteShard(shard);
    throw e;
  }
  if (!cache || !info.stamp) {
    let ss: number | undefined;
    return { A, sumSquares: async () => (ss ??= (await eng.norm(A, 'fro')) ** 2), release: () => A.dispose() };
  }
  const entry = {
    eng: eng as Engine,
    A: eng.keep(A) as Mat,
    sumSquares: (await eng.norm(A, 'fro')) ** 2,
    bytes: A.rows * A.cols * (eng.dtype === 'f64' ? 8 : 4),
  };
  cache.shards.set(key, entry);
  let total = 0;
  for (const e of cache.shards.values()) total += e.bytes;
  for (const [k, e] of cache.shards) {
    if (total <= cache.budget || e === entry) break;
    e.A.dispose();
    cache.shards.delete(k);
    total -= e.bytes;
  }
  return { A, sumSquares: async () => entry.sumSquares, release: () => {} };
}

/** State kept by `lowrank serve` across requests: engines by configuration and shards on them (LRU). */
export interface ServeSession {
  engines: Map<string, Engine>;
  shards: Map<string, { eng: Engine; A: Mat; sumSquares: number; bytes: number }>;
  /** Bytes of shards kept at most. */
  budget: number;
}

/**
 * The engine for data of dtype `dtype`: --dtype when given, else the data's own dtype (an f64 shard
 * computes in f64 on the native backend). Under `lowrank serve` engines are kept across requests.
 */
export async function openEngineFor(ctx: Context, dtype: DType): Promise<Engine> {
  const d: DType = ctx.dtypeGiven ? ctx.dtype : dtype;
  if (ctx.backend === 'webgpu' && d === 'f64')
    throw new UsageError('--backend webgpu cannot compute in f64 (the data is f64: pass --dtype f32 to compute in f32)');
  const session = ctx.io.session;
  const key = `${ctx.backend}/${d}/${ctx.threads ?? ''}`;
  const kept = session?.engines.get(key);
  if (kept) return kept;
  const eng = await engine({ backend: ctx.backend, dtype: d, threads: ctx.threads });
  session?.engines.set(key, eng);
  return eng;
}

/** Disposes an engine from openEngineFor, unless `lowrank serve` keeps it. */
export async function closeEngine(ctx: Context, eng: Engine): Promise<void> {
  if (ctx.io.session && [...ctx.io.session.engines.values()].includes(eng)) return;
  await eng.dispose();
}

/** The step's one-line summary on stdout, and its fields in the --json summary. */
export function report(ctx: Context, line: string, summary: Record<string, unknown>): void {
  ctx.out(line);
  ctx.report(summary);
}

/** The name to show for a folder argument. */
export function shown(arg: string): string {
  return arg.replace(/\/+$/, '') || arg;
}
