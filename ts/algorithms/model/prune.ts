/**
 * Magnitude N:M pruning (2:4 for sparse tensor cores): in every row of W (out x in, PyTorch's Linear
 * layout), each group of m consecutive entries along the input dimension keeps its n largest |w|.
 */
import { checkInt, checkOptions, rangeError, typeError } from '../../errors.js';
import { Mat } from '../../mat.js';
import type { DType } from '../../types.js';

export interface PruneNMOptions {
  /** Entries kept per group (default 2), 1 <= n <= m. */
  n?: number;
  /** Group length along a row (default 4). */
  m?: number;
}

export interface PruneNMResult<D extends DType = DType> {
  /** The pruned matrix (owned by the caller). */
  W: Mat<D>;
  /** 1 where an entry is kept, row-major (rows x cols). */
  mask: Uint8Array;
}

const OPTIONS = ['n', 'm'] as const;

/**
 * Keeps, in every group of m consecutive entries of a row, the n of largest magnitude and zeroes the
 * others. Ties keep the earlier column. When cols is not a multiple of m, the row's last group of
 * r < m entries is treated as padded with zeros: it keeps its min(n, r) largest (hardware 2:4 formats
 * need cols % m == 0; pad or slice W yourself for those).
 *
 * Host vs device: W is downloaded once, the selection is one O(mn) host pass, the result uploaded.
 *
 * @throws TypeError/RangeError naming 'pruneNM' and the argument: W not a Mat or not finite, m < 1,
 *   n outside [1, m], unknown options.
 */
export async function pruneNM<D extends DType>(W: Mat<D>, options: PruneNMOptions = {}): Promise<PruneNMResult<D>> {
  const fn = 'pruneNM';
  if (!(W instanceof Mat)) throw typeError(fn, `'W' must be a Mat, got ${typeof W}`);
  if (W.disposed) throw typeError(fn, `'W' has been disposed`);
  const o = checkOptions<PruneNMOptions>(fn, options, OPTIONS);
  const m = o.m === undefined ? 4 : checkInt(fn, 'm', o.m, 1, 2 ** 31 - 1);
  const n = o.n === undefined ? Math.min(2, m) : checkInt(fn, 'n', o.n, 1, 2 ** 31 - 1);
  if (n > m) throw rangeError(fn, `'n' (${n}) must not exceed 'm' (${m})`);
  const w = await W.toArray();
  const rows = W.rows,
    cols = W.cols;
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    if (v - v !== 0) throw rangeError(fn, `'W' must be finite (entry ${i} is ${v})`);
  }
  const mask = new Uint8Array(rows * cols);
  const out = W.engine.dtype === 'f64' ? new Float64Array(rows * cols) : new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c0 = 0; c0 < cols; c0 += m) {
      const a = r * cols + c0,
        b = r * cols + Math.min(cols, c0 + m);
      const keep = Math.min(n, b - a);
      // keep passes of "largest |w| not yet kept", the earlier column on ties
      for (let t = 0; t < keep; t++) {
        let best = -1,
          bv = -1;
        for (let e = a; e < b; e++) {
          const v = Math.abs(w[e]);
          if (mask[e] === 0 && v > bv) {
            bv = v;
            best = e;
          }
        }
        mask[best] = 1;
        out[best] = w[best];
      }
    }
  }
  return { W: W.engine.matrix(out, rows, cols), mask };
}
