/**
 * Memory estimates for CLI commands: a command works out, from the sizes declared in its input's
 * header (or its flags), how much memory the run will need before allocating any of it, and refuses
 * with a clear error when that exceeds `--max-memory` (default: half the physical memory). A 3-line
 * Matrix Market file can declare a 10^8 x 10^8 matrix; without this check the run would be killed
 * by the OOM killer instead of stopping with a message.
 */
import { open } from 'node:fs/promises';
import { totalmem } from 'node:os';
import path from 'node:path';
import { readNpyHeader } from '../io/npy.js';
import { fmtBytes } from './context.js';
import { fileFormat } from './files.js';

/** The default limit: this fraction of the physical memory. */
export const DEFAULT_MEMORY_FRACTION = 0.5;

/** Parses '512M', '2G', '1.5GiB', '100000' (bytes) into bytes. */
export function parseBytes(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(raw);
  if (!m) throw new Error(`expected a size such as 512M, 4G or a number of bytes, got ${JSON.stringify(raw)}`);
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const v = Number(m[1]) * mult;
  if (!(v > 0)) throw new Error(`the size must be positive, got ${JSON.stringify(raw)}`);
  return Math.floor(v);
}

export function defaultMaxMemory(): number {
  return Math.floor(DEFAULT_MEMORY_FRACTION * totalmem());
}

/** What a matrix file's header declares, read without loading the data. */
export interface DeclaredShape {
  rows: number;
  cols: number;
  /** Stored entries for a coordinate .mtx (as declared; symmetric files may expand up to twice). */
  nnz?: number;
  kind: 'dense' | 'sparse';
  /** Bytes per value of the file's dense data (.npy: its dtype; .mtx array: 8). */
  fileBytes: number;
  /** What the file stores: f32 / f64 floats or integers and booleans ('int'; .mtx integer and pattern). */
  stored: 'f32' | 'f64' | 'int';
}

/**
 * The declared shape of a .npy or .mtx file, from its header only. Undefined when the header cannot
 * be read (the loader then reports the problem in its own words).
 */
export async function declaredShape(file: string, format?: 'npy' | 'mtx'): Promise<DeclaredShape | undefined> {
  try {
    const ext = format ? `.${format}` : path.extname(file).toLowerCase();
    const f = ext === '.npy' || ext === '.mtx' ? ext : '.' + ((await fileFormat(file).catch(() => undefined)) ?? '');
    if (f === '.npy') {
      const h = await readNpyHeader(file);
      return {
        rows: h.shape[0],
        cols: h.shape[1],
        kind: 'dense',
        fileBytes: h.kind === 'float' ? h.itemSize : 8,
        stored: h.kind === 'float' ? h.dtype : 'int',
      };
    }
    if (f === '.mtx') return await mtxHeader(file);
  } catch {
    return undefined;
  }
  return undefined;
}

async function mtxHeader(file: string): Promise<DeclaredShape | undefined> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const lines = buf.subarray(0, bytesRead).toString('latin1').split(/\r?\n/);
    const banner = /^%%MatrixMarket\s+matrix\s+(coordinate|array)\s+(\w+)\s+(\w+)/i.exec(lines[0] ?? '');
    if (!banner) return undefined;
    const coordinate = banner[1].toLowerCase() === 'coordinate';
    const stored = banner[2].toLowerCase() === 'real' ? ('f64' as const) : ('int' as const);
    const symmetric = banner[3].toLowerCase() !== 'general';
    for (const line of lines.slice(1)) {
      const t = line.trim();
      if (t === '' || t.startsWith('%')) continue;
      const nums = t.split(/\s+/).map(Number);
      if (nums.some((x) => !Number.isSafeInteger(x) || x < 0)) return undefined;
      if (coordinate) {
        if (nums.length < 3) return undefined;
        return { rows: nums[0], cols: nums[1], nnz: symmetric ? 2 * nums[2] : nums[2], kind: 'sparse', fileBytes: 8, stored };
      }
      if (nums.length < 2) return undefined;
      return { rows: nums[0], cols: nums[1], kind: 'dense', fileBytes: 8, stored };
    }
    return undefined;
  } finally {
    await fh.close();
  }
}

/** Bytes of the loaded input on the host plus its copy on the engine (dense or CSR). */
export function inputBytes(s: DeclaredShape, elem: number): number {
  if (s.kind === 'dense') return s.rows * s.cols * (s.fileBytes + elem);
  const nnz = s.nnz ?? 0;
  // host COO (int32, int32, f64) + CSR and its transpose on the engine (col index + value) + row pointers
  return nnz * 16 + 2 * nnz * (4 + elem) + (s.rows + s.cols + 2) * 4;
}

/**
 * Throws when `parts` (label -> bytes) add up to more than `limit`, naming the total, the largest
 * parts and the limit.
 */
export function checkMemory(what: string, parts: Record<string, number>, limit: number): void {
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  if (total <= limit) return;
  const big = Object.entries(parts)
    .filter(([, b]) => b > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([k, b]) => `${k} ${fmtBytes(b)}`)
    .join(', ');
  throw new Error(
    `${what} would need about ${fmtBytes(total)} of memory (${big}), more than the limit ${fmtBytes(limit)}; ` +
      `raise it with --max-memory SIZE (default: ${DEFAULT_MEMORY_FRACTION * 100} % of the physical memory) or reduce the problem`,
  );
}
