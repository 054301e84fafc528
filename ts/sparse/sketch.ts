/**
 * Balanced CountSketch of every segment (row or column) of a sparse pattern, for the sketched Gram of
 * `Engine.segmentGram`. For a segment with entries at positions [b, e) of its orientation (CSR for
 * rows, CSC for columns), `order[b + t]` is the t-th position of a uniformly random permutation of the
 * segment, stored as the position for sign +1 and as -(position + 1) for sign -1 (independent signs). With s buckets, bucket r sums the permuted
 * entries r, r + s, r + 2s, ...: a CountSketch whose buckets have equal sizes (ceil or floor of len/s),
 * so no bucket is empty. The arrays are built once per (structure, orientation, seed) on the host in
 * linear time and cached with the structure.
 */
import { PhiloxRng } from '../rng/philox.js';
import type { SparseStructure } from './csr.js';

const cache = new WeakMap<SparseStructure, Map<string, Int32Array>>();

export function segmentSketchOrder(st: SparseStructure, transS: boolean, seed: number): { order: Int32Array; key: string } {
  const key = `sketch:${transS ? 'csc' : 'csr'}:${seed}`;
  let m = cache.get(st);
  if (!m) cache.set(st, (m = new Map()));
  let order = m.get(key);
  if (!order) {
    const ptr = transS ? st.colPtr : st.rowPtr;
    const segs = transS ? st.cols : st.rows;
    order = new Int32Array(st.nnz);
    const rng = new PhiloxRng(seed, transS ? 0x5c01 : 0x5c00);
    for (let j = 0; j < segs; j++) {
      const b = ptr[j],
        e = ptr[j + 1];
      for (let t = b; t < e; t++) order[t] = t;
      for (let t = e - 1; t > b; t--) {
        const u = b + rng.int(t - b + 1);
        const x = order[t];
        order[t] = order[u];
        order[u] = x;
      }
      for (let t = b; t < e; t++) if (rng.next() < 0.5) order[t] = -order[t] - 1;
    }
    m.set(key, order);
  }
  return { order, key };
}
