/**
 * File helpers shared by CLI commands: loading an input matrix (a file or `-` for stdin, the format
 * told by `--format`, the extension or the first bytes), checking outputs before any work, and
 * translating file-system errors into one line in the user's terms.
 *
 * Commands use these through {@link Context} (ctx.readMatrix, ctx.outputs); see context.ts.
 */
import { access, mkdir, open, stat, unlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { parseMtx, readMtx } from '../io/mtx.js';
import { parseNpy, parseNpyHeader, readNpy, readNpyHeader, type NpyHeader } from '../io/npy.js';
import { UsageError } from './args.js';

/** A matrix loaded from a file: dense (row-major) or sparse (0-based COO). */
export type LoadedMatrix = (
  | { kind: 'dense'; rows: number; cols: number; data: Float32Array | Float64Array; format: 'npy' | 'mtx' }
  | { kind: 'sparse'; rows: number; cols: number; row: Int32Array; col: Int32Array; val: Float64Array; format: 'mtx' }
) & {
  /**
   * What the file stores: 'f32' / 'f64' floats, or 'int' (integers, booleans, Matrix Market
   * 'integer' and 'pattern' fields), read exactly as f64.
   */
  stored: 'f32' | 'f64' | 'int';
  /** The file's element type in words, e.g. 'int64', 'bool', 'float32', 'Matrix Market integer'. */
  storedName: string;
  /** 1-D .npy (read as an n x 1 column). */
  oneD?: boolean;
};

export const MATRIX_EXTENSIONS = ['.npy', '.mtx'] as const;
export type MatrixFormat = 'npy' | 'mtx';

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** The format told by the first bytes: `\x93NUMPY` -> npy, `%%MatrixMarket` -> mtx. */
export function sniffFormat(head: Uint8Array): MatrixFormat | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 6 && b.subarray(0, 6).equals(NPY_MAGIC)) return 'npy';
  if (/^\s*%%MatrixMarket/i.test(b.subarray(0, 64).toString('latin1'))) return 'mtx';
  return undefined;
}

async function readHead(file: string, n = 64): Promise<Uint8Array> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * The format of a matrix file: `forced` (--format), else the extension (.npy / .mtx), else the first
 * bytes. A missing file or a folder is reported in the user's terms; an unknown format is a usage
 * error.
 */
export async function fileFormat(file: string, forced?: MatrixFormat, shown = file): Promise<MatrixFormat> {
  await checkReadable(file, shown);
  if (forced) return forced;
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') return 'npy';
  if (ext === '.mtx') return 'mtx';
  const f = sniffFormat(await readHead(file));
  if (f) return f;
  throw new UsageError(`cannot tell the format of ${shown}: not a .npy or .mtx file by its name or first bytes (use --format npy|mtx)`);
}

/** Throws "no such file: X" / "X is a folder" before anything else touches the file. */
export async function checkReadable(file: string, shown = file): Promise<void> {
  let st;
  try {
    st = await stat(file);
  } catch (e) {
    throw new Error(fsMessage(e, shown) ?? `cannot read ${shown}`);
  }
  if (st.isDirectory()) throw new Error(`${shown} is a folder, not a matrix file`);
}

function storedOfNpy(h: Pick<NpyHeader, 'kind' | 'dtype' | 'descr' | 'itemSize'>): { stored: 'f32' | 'f64' | 'int'; storedName: string } {
  if (h.kind === 'float') return { stored: h.dtype, storedName: h.dtype === 'f64' ? 'float64' : 'float32' };
  if (h.kind === 'bool') return { stored: 'int', storedName: 'bool' };
  return { stored: 'int', storedName: `${h.kind === 'uint' ? 'uint' : 'int'}${8 * h.itemSize}` };
}

/**
 * Reads a dense or sparse matrix from a file (`format` known, see {@link fileFormat}) or from bytes
 * (stdin). Matrix Market values must be finite (the error names the line).
 */
export async function loadMatrixFrom(
  src: { file: string } | { bytes: Uint8Array; name: string },
  format: MatrixFormat,
): Promise<LoadedMatrix> {
  if (format === 'npy') {
    const a = 'file' in src ? await readNpy(src.file) : parseNpy(src.bytes, src.name);
    const s = storedOfNpy('file' in src ? await readNpyHeader(src.file) : parseNpyHeader(src.bytes, src.name));
    return { kind: 'dense', rows: a.shape[0], cols: a.shape[1], data: a.data, format: 'npy', ...s, oneD: a.ndim === 1 };
  }
  const m =
    'file' in src
      ? await readMtx(src.file, { finite: true })
      : parseMtx(Buffer.from(src.bytes).toString('utf8'), src.name, { finite: true });
  const stored = m.field === 'real' ? ('f64' as const) : ('int' as const);
  const storedName = `Matrix Market ${m.field}`;
  if (m.kind === 'array') return { kind: 'dense', rows: m.rows, cols: m.cols, data: m.data, format: 'mtx', stored, storedName };
  return { kind: 'sparse', rows: m.rows, cols: m.cols, row: m.row, col: m.col, val: m.val, format: 'mtx', stored, storedName };
}

/**
 * Reads `.npy` (dense) or `.mtx` (Matrix Market: coordinate -> sparse, array -> dense); the format by
 * extension or first bytes. Kept for callers outside the CLI conventions; commands use ctx.readMatrix.
 */
export async function loadMatrix(file: string): Promise<LoadedMatrix> {
  return loadMatrixFrom({ file }, await fileFormat(file));
}

/** Creates `dir` (and parents) if needed; rejects when it exists and is not a folder. Returns it. */
export async function prepareOutDir(dir: string, shown = dir): Promise<string> {
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new Error(`the output folder ${shown} exists and is a file`);
  if (!st)
    await mkdir(dir, { recursive: true }).catch((e: unknown) => {
      throw new Error(fsMessage(e, shown) ?? `cannot create the folder ${shown}`);
    });
  return dir;
}

/**
 * Checks that `file` can be written: its folder exists (or `createDir`) and is writable, and the file
 * is not a folder and, when it exists, writable. Creates nothing but the folder.
 */
export async function checkWritable(file: string, shown: string): Promise<void> {
  const dir = path.dirname(file);
  const st = await stat(file).catch(() => undefined);
  if (st?.isDirectory()) throw new Error(`cannot write ${shown}: it is a folder`);
  try {
    await access(st ? file : dir, constants.W_OK);
  } catch (e) {
    throw new Error(`cannot write ${shown}: ${fsMessage(e, st ? shown : path.dirname(shown) || '.') ?? 'permission denied'}`);
  }
  // access() says yes to root even on read-only mounts; creating (or opening for append) is the test.
  if (!st) {
    const probe = path.join(dir, `.lowrank-write-test-${process.pid}`);
    const fh = await open(probe, 'wx').catch((e: unknown) => {
      throw new Error(`cannot write ${shown}: ${fsMessage(e, path.dirname(shown) || '.') ?? 'permission denied'}`);
    });
    await fh.close();
    await unlink(probe).catch(() => undefined);
  }
  if (st) {
    const fh = await open(file, 'a').catch((e: unknown) => {
      throw new Error(`cannot write ${shown}: ${fsMessage(e, shown) ?? 'permission denied'}`);
    });
    await fh.close();
  }
}

/** File-system errors (ENOENT, EISDIR, EACCES, ...) as a phrase in the user's terms, else undefined. */
export function fsMessage(e: unknown, shown?: string): string | undefined {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err.code !== 'string') return undefined;
  const p = shown ?? err.path ?? 'the file';
  switch (err.code) {
    case 'ENOENT':
      return `no such file or folder: ${p}`;
    case 'EISDIR':
      return `${p} is a folder`;
    case 'ENOTDIR':
      return `${p}: a part of the path is a file, not a folder`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied: ${p}`;
    case 'EROFS':
      return `read-only file system: ${p}`;
    case 'ENOSPC':
      return `no space left on the device (writing ${p})`;
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    case 'EEXIST':
      return `${p} already exists`;
    default:
      return undefined;
  }
}
