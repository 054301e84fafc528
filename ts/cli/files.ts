/**
 * File helpers shared by CLI commands: loading an input matrix by its extension and preparing an
 * output folder.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { readMtx } from '../io/mtx.js';
import { readNpy } from '../io/npy.js';
import { UsageError } from './args.js';

/** A matrix loaded from a file: dense (row-major) or sparse (0-based COO). */
export type LoadedMatrix =
  | { kind: 'dense'; rows: number; cols: number; data: Float32Array | Float64Array; format: 'npy' | 'mtx' }
  | { kind: 'sparse'; rows: number; cols: number; row: Int32Array; col: Int32Array; val: Float64Array; format: 'mtx' };

export const MATRIX_EXTENSIONS = ['.npy', '.mtx'] as const;

/**
 * Reads `.npy` (dense) or `.mtx` (Matrix Market: coordinate -> sparse, array -> dense) by extension.
 * An unknown extension is a usage error; a missing file or a malformed one is a runtime error.
 */
export async function loadMatrix(file: string): Promise<LoadedMatrix> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') {
    const a = await readNpy(file);
    return { kind: 'dense', rows: a.shape[0], cols: a.shape[1], data: a.data, format: 'npy' };
  }
  if (ext === '.mtx') {
    const m = await readMtx(file);
    if (m.kind === 'array') return { kind: 'dense', rows: m.rows, cols: m.cols, data: m.data, format: 'mtx' };
    return { kind: 'sparse', rows: m.rows, cols: m.cols, row: m.row, col: m.col, val: m.val, format: 'mtx' };
  }
  throw new UsageError(`cannot tell the format of ${JSON.stringify(file)} (expected a ${MATRIX_EXTENSIONS.join(' or ')} file)`);
}

/** Creates `dir` (and parents) if needed; rejects when it exists and is not a folder. Returns it. */
export async function prepareOutDir(dir: string): Promise<string> {
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new Error(`output path ${dir} exists and is not a directory`);
  if (!st) await mkdir(dir, { recursive: true });
  return dir;
}
