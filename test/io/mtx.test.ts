/** Matrix Market reading and writing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  MtxFormatError,
  formatMtx,
  parseMtx,
  readMtx,
  readMtxStream,
  writeMtx,
  type MtxArray,
  type MtxCoordinate,
} from '../../ts/io/index.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lowrank-mtx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const tmp = (name: string) => path.join(dir, name);

const coo = (text: string) => parseMtx(text) as MtxCoordinate;
const dense = (text: string) => parseMtx(text) as MtxArray;

/** Sorted "i,j=v" strings of the entries, for order-independent comparison. */
function entries(m: MtxCoordinate): string[] {
  return Array.from(m.row, (r, k) => `${r},${m.col[k]}=${m.val[k]}`).sort();
}

function expectMtxError(f: () => unknown, line: number, pattern: RegExp, file = '<string>'): MtxFormatError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MtxFormatError);
    const err = e as MtxFormatError;
    expect(err.message).toMatch(pattern);
    expect(err.message).toContain(`${file}: line ${line}:`);
    expect(err.line).toBe(line);
    return err;
  }
  throw new Error('expected an MtxFormatError');
}

describe('mtx: coordinate', () => {
  it('real general: 0-based indices, comments, blank lines, CRLF, case-insensitive banner', () => {
    const m = coo(
      '%%MatrixMarket Matrix Coordinate Real General\r\n% a comment\r\n%\r\n\r\n  3 4 3\r\n1 1 1.5\r\n3 4 -2e-3\r\n\r\n2   3\t7\r\n',
    );
    expect(m.kind).toBe('coordinate');
    expect([m.rows, m.cols, m.nnz]).toEqual([3, 4, 3]);
    expect(Array.from(m.row)).toEqual([0, 2, 1]);
    expect(Array.from(m.col)).toEqual([0, 3, 2]);
    expect(Array.from(m.val)).toEqual([1.5, -2e-3, 7]);
    expect(m.row).toBeInstanceOf(Int32Array);
    expect(m.val).toBeInstanceOf(Float64Array);
    expect([m.field, m.symmetry]).toEqual(['real', 'general']);
  });

  it('integer field; values must be integers', () => {
    const m = coo('%%MatrixMarket matrix coordinate integer general\n2 2 2\n1 2 5\n2 1 -3\n');
    expect(Array.from(m.val)).toEqual([5, -3]);
    expect(m.field).toBe('integer');
    expectMtxError(() => parseMtx('%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 2 2.5\n'), 3, /not an integer/);
  });

  it('pattern field: values are 1; a value token is an error', () => {
    const m = coo('%%MatrixMarket matrix coordinate pattern general\n3 3 2\n1 3\n2 2\n');
    expect(Array.from(m.val)).toEqual([1, 1]);
    expect(m.field).toBe('pattern');
    expectMtxError(() => parseMtx('%%MatrixMarket matrix coordinate pattern general\n3 3 1\n1 3 1.0\n'), 3, /expected 2 tokens/);
  });

  it('symmetric: off-diagonal entries are mirrored, diagonal ones are not', () => {
    const m = coo('%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n1 1 4\n2 1 -1\n3 2 0.5\n');
    expect(m.nnz).toBe(5);
    expect(entries(m)).toEqual(['0,0=4', '0,1=-1', '1,0=-1', '1,2=0.5', '2,1=0.5']);
    expect(m.symmetry).toBe('symmetric');
  });

  it('symmetric pattern and skew-symmetric (mirror negated, no diagonal)', () => {
    const p = coo('%%MatrixMarket matrix coordinate pattern symmetric\n2 2 2\n1 1\n2 1\n');
    expect(entries(p)).toEqual(['0,0=1', '0,1=1', '1,0=1']);
    const s = coo('%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 2\n2 1 3\n3 1 -1.5\n');
    expect(entries(s)).toEqual(['0,1=-3', '0,2=1.5', '1,0=3', '2,0=-1.5']);
    expectMtxError(() => parseMtx('%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 1\n2 2 3\n'), 3, /diagonal entry/);
  });

  it('nan, inf and Fortran exponents', () => {
    const m = coo('%%MatrixMarket matrix coordinate real general\n1 5 5\n1 1 NaN\n1 2 inf\n1 3 -Infinity\n1 4 1.5D+03\n1 5 -2d-1\n');
    expect(Array.from(m.val)).toEqual([NaN, Infinity, -Infinity, 1500, -0.2]);
  });

  it('empty matrices', () => {
    const m = coo('%%MatrixMarket matrix coordinate real general\n5 7 0\n');
    expect([m.rows, m.cols, m.nnz]).toEqual([5, 7, 0]);
  });
});

describe('mtx: array', () => {
  it('general: column-major in the file, row-major out', () => {
    const m = dense('%%MatrixMarket matrix array real general\n% comment\n2 3\n1\n4\n2\n5\n3\n6\n');
    expect(m.kind).toBe('array');
    expect([m.rows, m.cols]).toEqual([2, 3]);
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('symmetric (lower triangle by columns) and skew-symmetric, integer field', () => {
    const s = dense('%%MatrixMarket matrix array integer symmetric\n3 3\n1\n2\n3\n4\n5\n6\n');
    expect(Array.from(s.data)).toEqual([1, 2, 3, 2, 4, 5, 3, 5, 6]);
    const k = dense('%%MatrixMarket matrix array real skew-symmetric\n3 3\n1\n2\n3\n');
    expect(Array.from(k.data)).toEqual([0, -1, -2, 1, 0, -3, 2, 3, 0]);
  });

  it('wrong number of values', () => {
    expectMtxError(() => parseMtx('%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n'), 5, /ends after 3 of the 4 values/);
    expectMtxError(() => parseMtx('%%MatrixMarket matrix array real general\n1 2\n1\n2\n3\n'), 5, /more values than the 2/);
    expectMtxError(() => parseMtx('%%MatrixMarket matrix array real general\n1 2\n1 2\n'), 3, /1 value per line/);
    expectMtxError(() => parseMtx('%%MatrixMarket matrix array pattern general\n1 2\n'), 1, /pattern/);
  });
});

describe('mtx: malformed input names the line', () => {
  const H = '%%MatrixMarket matrix coordinate real general\n';
  it('banner', () => {
    expectMtxError(() => parseMtx('3 3 1\n1 1 1\n'), 1, /bad banner/);
    expectMtxError(() => parseMtx('%%MatrixMarket matrix coordinate real\n'), 1, /bad banner/);
    expectMtxError(() => parseMtx('%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n'), 1, /unsupported field 'complex'/);
    expectMtxError(() => parseMtx('%%MatrixMarket matrix coordinate real hermitian\n'), 1, /hermitian/);
    expectMtxError(() => parseMtx('%%MatrixMarket vector coordinate real general\n'), 1, /unsupported object/);
    expectMtxError(() => parseMtx('%%MatrixMarket matrix sparse real general\n'), 1, /unsupported format/);
    expectMtxError(() => parseMtx(''), 1, /empty file/);
  });

  it('size line', () => {
    expectMtxError(() => parseMtx(H + '% c\n3 3\n'), 3, /bad size line.*found 2 tokens/);
    expectMtxError(() => parseMtx(H + '3 x 1\n'), 2, /cols must be a non-negative integer, found "x"/);
    expectMtxError(() => parseMtx(H + '2 2 5\n'), 2, /5 entries declared, more than/);
    expectMtxError(() => parseMtx('%%MatrixMarket matrix coordinate real symmetric\n2 3 1\n'), 2, /must be square/);
    expectMtxError(() => parseMtx(H + '% only comments\n'), 2, /before the size line/);
  });

  it('entries', () => {
    expectMtxError(() => parseMtx(H + '3 3 2\n1 1 1\n4 1 2\n'), 4, /row index 4 is out of range \[1, 3\]/);
    expectMtxError(() => parseMtx(H + '3 3 2\n1 1 1\n1 0 2\n'), 4, /column index 0 is out of range/);
    expectMtxError(() => parseMtx(H + '3 3 2\n1 1 1\n1 2 abc\n'), 4, /value "abc" is not a number/);
    expectMtxError(() => parseMtx(H + '3 3 2\n1 1 1\n1 2.0 1\n'), 4, /column index must be a non-negative integer/);
    expectMtxError(() => parseMtx(H + '3 3 2\n1 1 1\n1 2\n'), 4, /expected 3 tokens/);
    expectMtxError(() => parseMtx(H + '3 3 2\n1 1 1\n1 2 3 4\n'), 4, /found 4/);
    expectMtxError(() => parseMtx(H + '3 3 2\n1 1 1\n1 2 0x10\n'), 4, /not a number/);
  });

  it('fewer or more entries than declared', () => {
    expectMtxError(() => parseMtx(H + '3 3 3\n1 1 1\n2 2 2\n'), 4, /ends after 2 of the 3 entries declared on the size line \(line 2\)/);
    expectMtxError(() => parseMtx(H + '3 3 3\n1 1 1\n2 2 2\n\n% trailing comment\n'), 6, /ends after 2 of the 3/);
    expectMtxError(() => parseMtx(H + '3 3 1\n1 1 1\n\n2 2 2\n'), 5, /more entries than the 1 declared/);
  });

  it('errors from readMtx name the file', async () => {
    await writeFile(tmp('bad.mtx'), H + '2 2 1\n3 1 1\n');
    const err = await readMtx(tmp('bad.mtx')).catch((e: unknown) => e as MtxFormatError);
    expect(err).toBeInstanceOf(MtxFormatError);
    expect(err.message).toBe(`${tmp('bad.mtx')}: line 3: row index 3 is out of range [1, 2]`);
  });
});

describe('mtx: writing and round trips', () => {
  it('coordinate real: full precision, 0-based in, 1-based in the file', async () => {
    const m = { kind: 'coordinate' as const, rows: 4, cols: 3, row: [0, 3, 2], col: [2, 0, 1], val: [Math.PI, -1e-300, 1 / 3] };
    const text = formatMtx(m, { comment: ['written by lowrank', 'second line'] });
    expect(text).toBe(
      '%%MatrixMarket matrix coordinate real general\n%written by lowrank\n%second line\n4 3 3\n' +
        `1 3 ${Math.PI}\n4 1 -1e-300\n3 2 ${1 / 3}\n`,
    );
    await writeMtx(tmp('rt.mtx'), m);
    const r = (await readMtx(tmp('rt.mtx'))) as MtxCoordinate;
    expect(Array.from(r.row)).toEqual(m.row);
    expect(Array.from(r.col)).toEqual(m.col);
    expect(Array.from(r.val)).toEqual(m.val);
  });

  it('integer and pattern fields', () => {
    const m = {
      kind: 'coordinate' as const,
      rows: 2,
      cols: 2,
      row: new Int32Array([0, 1]),
      col: new Int32Array([1, 1]),
      val: new Float64Array([3, -4]),
    };
    expect(formatMtx(m, { field: 'integer' })).toBe('%%MatrixMarket matrix coordinate integer general\n2 2 2\n1 2 3\n2 2 -4\n');
    expect(() => formatMtx({ ...m, val: [1.5, 2] }, { field: 'integer' })).toThrow(/val\[0\] = 1.5 is not an integer/);
    const p = formatMtx({ kind: 'coordinate', rows: 2, cols: 2, row: [0, 1], col: [1, 1] }, { field: 'pattern' });
    expect(p).toBe('%%MatrixMarket matrix coordinate pattern general\n2 2 2\n1 2\n2 2\n');
    expect(Array.from((parseMtx(p) as MtxCoordinate).val)).toEqual([1, 1]);
  });

  it('symmetric writing keeps the lower triangle, so a read symmetric file round-trips', async () => {
    const src = '%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n1 1 4\n2 1 -1\n3 2 0.5\n';
    const m = coo(src);
    await writeMtx(tmp('sym.mtx'), m, { symmetry: 'symmetric' });
    expect(await readFile(tmp('sym.mtx'), 'utf8')).toBe(src);
    const skew = coo('%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 1\n3 1 2\n');
    expect(formatMtx(skew, { symmetry: 'skew-symmetric' })).toBe('%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 1\n3 1 2\n');
  });

  it('array general and symmetric', () => {
    const g = { kind: 'array' as const, rows: 2, cols: 3, data: [1, 2, 3, 4, 5, 6] };
    const t = formatMtx(g);
    expect(t).toBe('%%MatrixMarket matrix array real general\n2 3\n1\n4\n2\n5\n3\n6\n');
    expect(Array.from(dense(t).data)).toEqual(g.data);
    const s = { kind: 'array' as const, rows: 3, cols: 3, data: [1, 2, 3, 2, 4, 5, 3, 5, 6] };
    const ts = formatMtx(s, { symmetry: 'symmetric', field: 'integer' });
    expect(ts).toBe('%%MatrixMarket matrix array integer symmetric\n3 3\n1\n2\n3\n4\n5\n6\n');
    expect(Array.from(dense(ts).data)).toEqual(s.data);
  });

  it('rejects bad input before creating the file', async () => {
    await expect(writeMtx(tmp('no.mtx'), { kind: 'coordinate', rows: 2, cols: 2, row: [2], col: [0], val: [1] })).rejects.toThrow(
      /row\[0\] = 2 is out of range/,
    );
    await expect(stat(tmp('no.mtx'))).rejects.toThrow(/ENOENT/);
    expect(() => formatMtx({ kind: 'array', rows: 2, cols: 2, data: [1, 2, 3] })).toThrow(/length 3/);
    expect(() => formatMtx({ kind: 'array', rows: 2, cols: 3, data: [1, 2, 3, 4, 5, 6] }, { symmetry: 'symmetric' })).toThrow(/square/);
    expect(() => formatMtx({ kind: 'array', rows: 1, cols: 1, data: [1] }, { field: 'pattern' })).toThrow(/pattern/);
    expect(() => formatMtx({ kind: 'coordinate', rows: 1, cols: 1, row: [0], col: [0], val: [1] }, { fild: 'real' } as never)).toThrow(
      /unknown option 'fild'/,
    );
  });
});

describe('mtx: streaming', () => {
  it('lines split across chunks, multi-byte UTF-8 split across byte chunks, no final newline', async () => {
    const text = '%%MatrixMarket matrix coordinate real general\n% naïve ünïcödé ✓ comment\n3 3 3\n1 1 1.25\n2 2 -2\n3 3 3e2';
    const bytes = Buffer.from(text, 'utf8');
    for (const size of [1, 2, 3, 7, 64]) {
      async function* chunks() {
        for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
      }
      const m = (await readMtxStream(chunks(), 'chunks')) as MtxCoordinate;
      expect(Array.from(m.val)).toEqual([1.25, -2, 300]);
    }
    async function* strings() {
      for (let i = 0; i < text.length; i += 5) yield text.slice(i, i + 5);
    }
    expect(((await readMtxStream(strings())) as MtxCoordinate).nnz).toBe(3);
    async function* broken() {
      yield '%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1\n';
      yield '4 4 4\n';
    }
    await expect(readMtxStream(broken(), 'gen')).rejects.toThrow('gen: line 4: row index 4 is out of range [1, 3]');
  });

  it('a file of several MB streams through readMtx and matches', async () => {
    const rows = 5000,
      cols = 300,
      nnz = 250_000;
    const ws = createWriteStream(tmp('big.mtx'));
    ws.write(`%%MatrixMarket matrix coordinate real general\n${rows} ${cols} ${nnz}\n`);
    let chunk = '';
    for (let k = 0; k < nnz; k++) {
      chunk += `${(k % rows) + 1} ${((k * 7) % cols) + 1} ${k * 0.25 - 1}\n`;
      if (chunk.length > 1 << 16) {
        ws.write(chunk);
        chunk = '';
      }
    }
    ws.write(chunk);
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
    expect((await stat(tmp('big.mtx'))).size).toBeGreaterThan(3 << 20);
    const m = (await readMtx(tmp('big.mtx'))) as MtxCoordinate;
    expect(m.nnz).toBe(nnz);
    for (const k of [0, 1, 12345, nnz - 1]) {
      expect(m.row[k]).toBe(k % rows);
      expect(m.col[k]).toBe((k * 7) % cols);
      expect(m.val[k]).toBe(k * 0.25 - 1);
    }
    // and back out again
    await writeMtx(tmp('big2.mtx'), m);
    const again = (await readMtx(tmp('big2.mtx'))) as MtxCoordinate;
    expect(again.val).toEqual(m.val);
    expect(again.row).toEqual(m.row);
  });
});

describe('mtx: { finite: true } rejects NaN and infinities by line', () => {
  const text = '%%MatrixMarket matrix coordinate real general\n% comment\n3 3 3\n1 1 1\n2 2 -inf\n3 3 nan\n';
  it('names the line of the first non-finite value; the default reads them as such', () => {
    expect(() => parseMtx(text, 'x.mtx', { finite: true })).toThrow(MtxFormatError);
    expect(() => parseMtx(text, 'x.mtx', { finite: true })).toThrow(/^x\.mtx: line 5: value "-inf" is not finite/);
    const m = parseMtx(text, 'x.mtx') as MtxCoordinate;
    expect(Array.from(m.val)).toEqual([1, -Infinity, NaN]);
  });
});
