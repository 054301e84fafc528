/**
 * Host-side construction of the sparse index structure from COO triplets: CSR (rows sorted, columns
 * sorted within a row, duplicates summed) plus CSC (of the same entries) and the permutation that maps
 * a CSC position to its CSR position, so that values are stored once (in CSR order) and both
 * orientations can be used without atomics on the device. Linear time (two counting sorts).
 */
import { checkDim, firstNonFinite, rangeError, typeError } from '../errors.js';

export interface SparseStructure {
  rows: number;
  cols: number;
  nnz: number;
  /** CSR row pointers, length rows + 1. */
  rowPtr: Int32Array;
  /** CSR column indices, length nnz. */
  colIdx: Int32Array;
  /** CSC column pointers, length cols + 1. */
  colPtr: Int32Array;
  /** CSC row indices, length nnz. */
  rowIdx: Int32Array;
  /** perm[q] = CSR position of the entry at CSC position q. */
  perm: Int32Array;
}

function toIndexArray(fn: string, name: string, v: unknown): Int32Array | ArrayLike<number> {
  if (v instanceof Int32Array) return v;
  if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) return v as ArrayLike<number>;
  throw typeError(fn, `'${name}' must be an Int32Array or an array of integers`);
}

/**
 * Validates COO input and builds the structure. Returns the values summed per (row, col), in CSR
 * order, as float64 (the caller converts to the engine dtype).
 */
export function buildStructure(
  fn: string,
  rows: unknown,
  cols: unknown,
  rowIn: unknown,
  colIn: unknown,
  valIn: unknown,
): { structure: SparseStructure; values: Float64Array } {
  const m = checkDim(fn, 'rows', rows);
  const n = checkDim(fn, 'cols', cols);
  const row = toIndexArray(fn, 'row', rowIn);
  const col = toIndexArray(fn, 'col', colIn);
  if (!(valIn instanceof Float32Array || valIn instanceof Float64Array || Array.isArray(valIn)))
    throw typeError(fn, `'val' must be a Float32Array, Float64Array or an array of numbers`);
  const val = valIn as ArrayLike<number>;
  const len = row.length;
  if (col.length !== len) throw rangeError(fn, `'col' has length ${col.length} but 'row' has length ${len}`);
  if (val.length !== len) throw rangeError(fn, `'val' has length ${val.length} but 'row' has length ${len}`);
  if (len > 2 ** 31 - 1) throw rangeError(fn, `too many entries (${len})`);
  for (let i = 0; i < len; i++) {
    const r = row[i],
      c = col[i];
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r >= m)
      throw rangeError(fn, `row[${i}] = ${String(r)} is not an integer in [0, ${m})`);
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= n)
      throw rangeError(fn, `col[${i}] = ${String(c)} is not an integer in [0, ${n})`);
  }
  if (Array.isArray(val))
    for (let i = 0; i < len; i++) if (typeof val[i] !== 'number') throw typeError(fn, `val[${i}] must be a number, got ${typeof val[i]}`);
  const bad = firstNonFinite(val);
  if (bad >= 0) throw rangeError(fn, `val[${bad}] = ${String(val[bad])} is not finite (non-finite input is rejected)`);

  // Counting sort by column, then a stable counting sort by row: entries end up sorted by (row, col).
  const byCol = new Int32Array(len);
  {
    const cnt = new Int32Array(n + 1);
    for (let i = 0; i < len; i++) cnt[col[i] + 1]++;
    for (let j = 0; j < n; j++) cnt[j + 1] += cnt[j];
    for (let i = 0; i < len; i++) byCol[cnt[col[i]]++] = i;
  }
  const order = new Int32Array(len);
  {
    const cnt = new Int32Array(m + 1);
    for (let i = 0; i < len; i++) cnt[row[i] + 1]++;
    for (let r = 0; r < m; r++) cnt[r + 1] += cnt[r];
    for (let t = 0; t < len; t++) {
      const i = byCol[t];
      order[cnt[row[i]]++] = i;
    }
  }
  // Merge duplicates.
  const colIdxTmp = new Int32Array(len);
  const rowOf = new Int32Array(len);
  const values = new Float64Array(len);
  let nnz = 0;
  for (let t = 0; t < len; t++) {
    const i = order[t];
    const r = row[i],
      c = col[i];
    if (nnz > 0 && rowOf[nnz - 1] === r && colIdxTmp[nnz - 1] === c) {
      values[nnz - 1] += val[i];
    } else {
      rowOf[nnz] = r;
      colIdxTmp[nnz] = c;
      values[nnz] = val[i];
      nnz++;
    }
  }
  for (let q = 0; q < nnz; q++)
    if (!Number.isFinite(values[q]))
      throw rangeError(
        fn,
        `the values at (${rowOf[q]}, ${colIdxTmp[q]}) sum to ${values[q]} (duplicates are summed; the sum must be finite)`,
      );
  const rowPtr = new Int32Array(m + 1);
  for (let q = 0; q < nnz; q++) rowPtr[rowOf[q] + 1]++;
  for (let r = 0; r < m; r++) rowPtr[r + 1] += rowPtr[r];
  const colIdx = colIdxTmp.slice(0, nnz);

  // CSC by a stable counting sort of the CSR entries by column (rows stay sorted within a column).
  const colPtr = new Int32Array(n + 1);
  for (let q = 0; q < nnz; q++) colPtr[colIdx[q] + 1]++;
  for (let j = 0; j < n; j++) colPtr[j + 1] += colPtr[j];
  const next = colPtr.slice(0, n);
  const rowIdx = new Int32Array(nnz);
  const perm = new Int32Array(nnz);
  for (let q = 0; q < nnz; q++) {
    const p = next[colIdx[q]]++;
    rowIdx[p] = rowOf[q];
    perm[p] = q;
  }
  return {
    structure: { rows: m, cols: n, nnz, rowPtr, colIdx, colPtr, rowIdx, perm },
    values: values.slice(0, nnz),
  };
}

/** Row index of each CSR entry (expands rowPtr). */
export function csrRowOf(s: SparseStructure): Int32Array {
  const out = new Int32Array(s.nnz);
  for (let r = 0; r < s.rows; r++) out.fill(r, s.rowPtr[r], s.rowPtr[r + 1]);
  return out;
}
