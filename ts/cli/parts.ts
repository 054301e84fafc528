/**
 * Part folders: what the distributed steps (`lowrank sketch`, `gram`, `pass`, `merge`, `finish`) write
 * and read. A part is a folder with `meta.json` and a few .npy files; meta.json is written last, so a
 * folder without it is an unfinished (or failed) step. Steps overwrite their output folder, so a
 * scheduler may re-run a task (after a lost worker) without cleaning up.
 *
 * meta.json: { format: 'lowrank-part', version: 1, kind, ... } with kind
 *   'sketch'  single-pass sketch: W.npy (l x n, added), row blocks of Y (m_i x k) and Z (m_i x s)
 *   'gram'    count, mean.npy (f64, n), scatter.npy (f64, n x n centered X^T X)
 *   'range'   Q.npy (m_i x l) and R.npy of one shard's Y_i = A_i X
 *   'tsqr'    one Qhat-<i>.npy block per range part
 *   'corange' P.npy (n x l) = sum over shards of A_i^T Q_i
 *   'basis'   X.npy (n x l), orthonormal
 *   'finish'  S.npy, V.npy, C.npy (multi-pass Rayleigh-Ritz)
 *   'u'       U.npy: one shard's rows of U, and the column maxima for the sign convention
 */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readNpy, writeNpy } from '../io/npy.js';
import type { DType } from '../types.js';
import { packageVersion, type Context } from './context.js';

export const PART_FORMAT = 'lowrank-part';
export const PART_VERSION = 1;
/** The generator behind every Gaussian test matrix (README, "Random numbers"). */
export const RNG_ID = 'philox4x32-10/normal';

export type PartKind = 'sketch' | 'gram' | 'range' | 'tsqr' | 'corange' | 'basis' | 'finish' | 'u';

export interface PartMeta {
  format: typeof PART_FORMAT;
  version: number;
  kind: PartKind;
  /** The lowrank version that wrote the part. */
  lowrank: string;
  [key: string]: unknown;
}

/** A part folder read back: its resolved path, the name to show the user, and meta.json. */
export interface Part {
  dir: string;
  name: string;
  meta: PartMeta;
}

/** A user-facing runtime error (exit code 1) about a part folder. */
export class PartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartError';
  }
}

/** Reads `dir/meta.json`; `kinds` lists what the step accepts (in the message when it is something else). */
export async function readPart(dir: string, shown: string, kinds: readonly PartKind[]): Promise<Part> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new PartError(`no such file or folder: ${shown}`);
  if (!st.isDirectory()) throw new PartError(`${shown} is not a folder (expected a part folder written by a lowrank step)`);
  let text: string;
  try {
    text = await readFile(path.join(dir, 'meta.json'), 'utf8');
  } catch {
    throw new PartError(`${shown} has no meta.json: not a finished lowrank part (did the step that writes it fail?)`);
  }
  let meta: PartMeta;
  try {
    meta = JSON.parse(text) as PartMeta;
  } catch (e) {
    throw new PartError(`${shown}/meta.json is not valid JSON (${(e as Error).message})`);
  }
  if (meta === null || typeof meta !== 'object' || meta.format !== PART_FORMAT)
    throw new PartError(`${shown}/meta.json is not a lowrank part (format is not '${PART_FORMAT}')`);
  if (meta.version !== PART_VERSION)
    throw new PartError(
      `${shown} was written by a newer part format (version ${String(meta.version)}; this lowrank reads ${PART_VERSION})`,
    );
  if (!kinds.includes(meta.kind))
    throw new PartError(`${shown} is a '${String(meta.kind)}' part; this step needs ${kinds.map((k) => `'${k}'`).join(' or ')}`);
  return { dir, name: shown, meta };
}

/** A .npy file of a part, as a matrix (rows, cols, data). */
export async function readPartMatrix(part: Part, file: string): Promise<{ rows: number; cols: number; data: Float32Array | Float64Array }> {
  const p = path.isAbsolute(file) ? file : path.join(part.dir, file);
  try {
    const a = await readNpy(p);
    return { rows: a.shape[0], cols: a.shape[1], data: a.data };
  } catch (e) {
    throw new PartError(`${part.name}: cannot read ${path.basename(p)}: ${(e as Error).message}`);
  }
}

/** Writes a part: the arrays first (each through a temporary name), meta.json last. */
export class PartWriter {
  readonly dir: string;
  private readonly ctx: Context;
  private constructor(ctx: Context, dir: string) {
    this.ctx = ctx;
    this.dir = dir;
  }

  /**
   * The --out folder, checked before any work: created if needed, and each of `files` (meta.json is
   * added) writable and not a folder.
   */
  static async open(ctx: Context, files: readonly string[]): Promise<PartWriter> {
    const out = await ctx.outputs('out', [...files, 'meta.json']);
    return new PartWriter(ctx, out.dir);
  }

  async npy(file: string, data: ArrayLike<number>, shape: readonly number[], dtype?: DType): Promise<string> {
    const final = path.join(this.dir, file);
    const tmp = `${final}.tmp-${process.pid}`;
    await writeNpy(tmp, data, shape, dtype ? { dtype } : undefined);
    await rename(tmp, final);
    this.ctx.wrote(final);
    return final;
  }

  async meta(kind: PartKind, fields: Record<string, unknown>): Promise<PartMeta> {
    const meta: PartMeta = { format: PART_FORMAT, version: PART_VERSION, kind, lowrank: packageVersion(), ...fields };
    const final = path.join(this.dir, 'meta.json');
    const tmp = `${final}.tmp-${process.pid}`;
    await writeFile(tmp, `${JSON.stringify(meta, null, 1)}\n`);
    await rename(tmp, final);
    this.ctx.wrote(final);
    return meta;
  }
}

/** One row block of a sketch part: its first row, row count, the Y (and test-sketch Z) files and the shard. */
export interface SketchBlock {
  row: number;
  rows: number;
  Y: string;
  Z?: string;
  source: string;
}

/** Row range [r0, r1) of a shard part, when it was given one (--row-offset). */
export type RowRange = [number, number];

/**
 * Refuses parts that overlap: the same source file twice, or row ranges that intersect. Names both
 * parts and the rows.
 */
export function checkDisjoint(parts: readonly { name: string; ranges: readonly RowRange[]; sources: readonly string[] }[]): void {
  for (let a = 0; a < parts.length; a++)
    for (let b = a + 1; b < parts.length; b++) {
      for (const [r0, r1] of parts[a].ranges)
        for (const [s0, s1] of parts[b].ranges)
          if (r0 < s1 && s0 < r1)
            throw new PartError(
              `parts ${parts[a].name} and ${parts[b].name} overlap: both hold rows ${Math.max(r0, s0)}..${Math.min(r1, s1) - 1} (0-based); merge needs row-disjoint parts`,
            );
      for (const s of parts[a].sources)
        if (parts[b].sources.includes(s)) throw new PartError(`parts ${parts[a].name} and ${parts[b].name} both include the shard ${s}`);
    }
}

/** The fields all parts of a merge must agree on; names the first pair that differs. */
export function checkSame(parts: readonly Part[], fields: readonly string[]): void {
  const first = parts[0];
  for (const p of parts.slice(1))
    for (const f of fields) {
      const a = JSON.stringify(first.meta[f]);
      const b = JSON.stringify(p.meta[f]);
      if (a !== b)
        throw new PartError(`parts ${first.name} (${f} ${a}) and ${p.name} (${f} ${b}) differ in ${f}: they come from different runs`);
    }
}

/** Element-wise f64 sum of equally long arrays. */
export function sumF64(arrays: readonly ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(arrays[0].length);
  for (const a of arrays) for (let i = 0; i < out.length; i++) out[i] += a[i];
  return out;
}
