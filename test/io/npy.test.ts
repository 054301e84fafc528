/** NumPy .npy reading, writing and streaming. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NpyFormatError, createNpyWriter, encodeNpy, openNpy, parseNpy, readNpy, readNpyHeader, writeNpy } from '../../ts/io/index.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lowrank-npy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const tmp = (name: string) => path.join(dir, name);

// Produced by NumPy 2.4 (np.save), 2 x 3 array [[1.5, -2, 3], [4, 5, 6.25]].
const NUMPY = {
  c8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAD4PwAAAAAAAADAAAAAAAAACEAAAAAAAAAQQAAAAAAAABRAAAAAAAAAGUA=',
  fortran8:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAD4PwAAAAAAABBAAAAAAAAAAMAAAAAAAAAUQAAAAAAAAAhAAAAAAAAAGUA=',
  be4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/wAAAwAAAAEBAAABAgAAAQKAAAEDIAAA=',
};
const WANT = [1.5, -2, 3, 4, 5, 6.25];
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/** A hand-made .npy file: magic, version, length field, dict (padded to 64 with spaces and '\n'), data. */
function makeNpy(
  major: number,
  dict: string,
  data: Uint8Array = new Uint8Array(0),
  opts: { pad?: boolean; minor?: number } = {},
): Uint8Array {
  const lenBytes = major === 1 ? 2 : 4;
  const enc = new TextEncoder().encode(dict);
  let hlen = enc.length + 1;
  if (opts.pad !== false) hlen = Math.ceil((8 + lenBytes + hlen) / 64) * 64 - 8 - lenBytes;
  const out = new Uint8Array(8 + lenBytes + hlen + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, opts.minor ?? 0], 0);
  const dv = new DataView(out.buffer);
  if (lenBytes === 2) dv.setUint16(8, hlen, true);
  else dv.setUint32(8, hlen, true);
  out.fill(0x20, 8 + lenBytes, 8 + lenBytes + hlen);
  out.set(enc, 8 + lenBytes);
  out[8 + lenBytes + hlen - 1] = 0x0a;
  out.set(data, 8 + lenBytes + hlen);
  return out;
}

function f64le(values: number[]): Uint8Array {
  return new Uint8Array(new Float64Array(values).buffer);
}

function be(values: number[], size: 4 | 8): Uint8Array {
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (size === 4) dv.setFloat32(i * size, v, false);
    else dv.setFloat64(i * size, v, false);
  });
  return out;
}

function expectNpyError(f: () => unknown, offset: number, pattern: RegExp, file = '<buffer>'): NpyFormatError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NpyFormatError);
    const err = e as NpyFormatError;
    expect(err.message).toMatch(pattern);
    expect(err.message).toContain(file);
    expect(err.message).toContain(`byte offset ${offset}`);
    expect(err.offset).toBe(offset);
    return err;
  }
  throw new Error('expected an NpyFormatError');
}

describe('npy: files written by NumPy', () => {
  it('reads C order float64', () => {
    const r = parseNpy(b64(NUMPY.c8));
    expect(r.shape).toEqual([2, 3]);
    expect(r.dtype).toBe('f64');
    expect(r.data).toBeInstanceOf(Float64Array);
    expect(Array.from(r.data)).toEqual(WANT);
    expect(r.fortranOrder).toBe(false);
    expect(r.version).toEqual([1, 0]);
  });

  it('reads Fortran order as row-major', () => {
    const r = parseNpy(b64(NUMPY.fortran8));
    expect(r.fortranOrder).toBe(true);
    expect(r.shape).toEqual([2, 3]);
    expect(Array.from(r.data)).toEqual(WANT);
  });

  it('reads big-endian float32 with byte swapping', () => {
    const r = parseNpy(b64(NUMPY.be4));
    expect(r.dtype).toBe('f32');
    expect(r.littleEndian).toBe(false);
    expect(r.data).toBeInstanceOf(Float32Array);
    expect(Array.from(r.data)).toEqual(WANT);
  });

  it('writes byte-for-byte what NumPy writes', () => {
    expect(Buffer.from(encodeNpy(new Float64Array(WANT), [2, 3])).toString('base64')).toBe(NUMPY.c8);
  });
});

describe('npy: round trips', () => {
  it('f32 and f64, 2-D and 1-D, files and memory', async () => {
    const a64 = Float64Array.from({ length: 35 }, (_, i) => Math.sin(i) * 1e3);
    const a32 = Float32Array.from(a64);
    for (const [data, dtype] of [
      [a64, 'f64'],
      [a32, 'f32'],
    ] as const) {
      await writeNpy(tmp(`rt-${dtype}.npy`), data, [5, 7]);
      const r = await readNpy(tmp(`rt-${dtype}.npy`));
      expect(r.dtype).toBe(dtype);
      expect(r.shape).toEqual([5, 7]);
      expect(r.ndim).toBe(2);
      expect(r.data).toEqual(data);
      const m = parseNpy(encodeNpy(data, [35]));
      expect(m.shape).toEqual([35, 1]); // 1-D = column vector
      expect(m.ndim).toBe(1);
      expect(m.data).toEqual(data);
    }
  });

  it('header is 64-byte aligned, version 1.0, newline-terminated', () => {
    for (const shape of [[0], [0, 4], [0, 123456789], [2 ** 31 - 1, 0], [0, 1e15]]) {
      const bytes = encodeNpy(new Float64Array(0), shape);
      const h = bytes[8] | (bytes[9] << 8);
      expect((10 + h) % 64).toBe(0);
      expect(bytes.length).toBe(10 + h);
      expect(bytes[9 + h]).toBe(0x0a);
      expect(bytes[6]).toBe(1);
      expect(parseNpy(bytes).shape).toEqual(shape.length === 1 ? [shape[0], 1] : shape);
    }
  });

  it('converts on writing: number[] -> f64 by default, dtype option, empty shapes', async () => {
    const r1 = parseNpy(encodeNpy([1, 2, 3, 4], [2, 2]));
    expect(r1.dtype).toBe('f64');
    const r2 = parseNpy(encodeNpy(new Float64Array([0.1, 0.2]), [1, 2], { dtype: 'f32' }));
    expect(r2.dtype).toBe('f32');
    expect(r2.data[0]).toBe(Math.fround(0.1));
    const r3 = parseNpy(encodeNpy(new Float32Array(0), [0, 4]));
    expect(r3.shape).toEqual([0, 4]);
    expect(r3.data.length).toBe(0);
    expect(() => encodeNpy([1, 2, 3], [2, 2])).toThrow(/length 3.*needs 4/);
    expect(() => encodeNpy([1], [1, 1, 1])).toThrow(/shape/);
    expect(() => encodeNpy([1], [1], { dtype: 'f16' as never })).toThrow(/dtype/);
  });

  it('writes integer arrays (<i4, <i8) that numpy can index with; non-integers refused', () => {
    const labels = Int32Array.from([3, -1, 0, 2 ** 31 - 1]);
    const a = encodeNpy(labels, [4]);
    expect(new TextDecoder().decode(a.subarray(10, 40))).toContain("'descr': '<i4'");
    expect(Array.from(new Int32Array(a.buffer.slice(a.length - 16)))).toEqual(Array.from(labels));
    const b = encodeNpy([5, 2 ** 40, -7], [3], { dtype: 'i64' });
    expect(new TextDecoder().decode(b.subarray(10, 40))).toContain("'descr': '<i8'");
    expect(Array.from(new BigInt64Array(b.buffer.slice(b.length - 24)))).toEqual([5n, 2n ** 40n, -7n]);
    expect(() => encodeNpy([1.5], [1], { dtype: 'i64' })).toThrow(/entry 0 is 1.5, not an integer/);
    expect(() => encodeNpy([2 ** 31], [1], { dtype: 'i32' })).toThrow(RangeError);
  });

  it('writes versions 2.0 and 3.0 on request', () => {
    for (const version of [2, 3] as const) {
      const bytes = encodeNpy([1, 2], [2], { version });
      expect(bytes[6]).toBe(version);
      expect((new DataView(bytes.buffer).getUint32(8, true) + 12) % 64).toBe(0);
      const r = parseNpy(bytes);
      expect(r.version).toEqual([version, 0]);
      expect(Array.from(r.data)).toEqual([1, 2]);
    }
  });
});

describe('npy: hand-made headers', () => {
  it('version 2.0 (4-byte length)', () => {
    const r = parseNpy(makeNpy(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f64le([1, 2, 3, 4])));
    expect(r.version).toEqual([2, 0]);
    expect(r.shape).toEqual([2, 2]);
    expect(Array.from(r.data)).toEqual([1, 2, 3, 4]);
  });

  it('version 3.0 (UTF-8 header)', () => {
    const r = parseNpy(makeNpy(3, '{"descr": "<f8", "fortran_order": False, "shape": (3,)}', f64le([7, 8, 9])));
    expect(r.version).toEqual([3, 0]);
    expect(r.shape).toEqual([3, 1]);
    expect(Array.from(r.data)).toEqual([7, 8, 9]);
  });

  it('tolerates spacing, key order, missing trailing comma, Python 2 long suffix, unpadded headers', () => {
    const r = parseNpy(
      makeNpy(1, "{ 'shape':(2L,3L),'fortran_order':True ,'descr':'<f8'}", f64le([1.5, 4, -2, 5, 3, 6.25]), { pad: false }),
    );
    expect(r.shape).toEqual([2, 3]);
    expect(Array.from(r.data)).toEqual(WANT);
  });

  it('big-endian f8, C and Fortran order; Fortran 1-D is plain', () => {
    const c = parseNpy(makeNpy(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }", be(WANT, 8)));
    expect(Array.from(c.data)).toEqual(WANT);
    const f = parseNpy(makeNpy(1, "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }", be([1.5, 4, -2, 5, 3, 6.25], 8)));
    expect(Array.from(f.data)).toEqual(WANT);
    const f4 = parseNpy(makeNpy(1, "{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }", be([1.5, 4, -2, 5, 3, 6.25], 4)));
    expect(Array.from(f4.data)).toEqual(WANT);
    const v = parseNpy(makeNpy(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (3,), }", f64le([1, 2, 3])));
    expect(v.shape).toEqual([3, 1]);
    expect(Array.from(v.data)).toEqual([1, 2, 3]);
  });

  it('transposes large Fortran arrays correctly (blocked path)', () => {
    const m = 130,
      n = 70;
    const colMajor = Float64Array.from({ length: m * n }, (_, k) => k);
    const r = parseNpy(makeNpy(1, `{'descr': '<f8', 'fortran_order': True, 'shape': (${m}, ${n}), }`, new Uint8Array(colMajor.buffer)));
    for (const [i, j] of [
      [0, 0],
      [129, 69],
      [64, 3],
      [5, 64],
    ])
      expect(r.data[i * n + j]).toBe(j * m + i);
  });
});

describe('npy: malformed and unsupported files', () => {
  const ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";

  it('bad magic', () => {
    const b = makeNpy(1, ok, f64le([1, 2, 3, 4]));
    b[3] = 0x41;
    expectNpyError(() => parseNpy(b), 3, /bad magic/);
    expectNpyError(() => parseNpy(new TextEncoder().encode('hello world, not numpy')), 0, /not a \.npy file/);
  });

  it('truncated header', () => {
    const b = makeNpy(1, ok, f64le([1, 2, 3, 4]));
    expectNpyError(() => parseNpy(b.subarray(0, 7)), 7, /truncated header/);
    expectNpyError(() => parseNpy(b.subarray(0, 40)), 40, /truncated header.*length field/);
  });

  it('unsupported version', () => {
    const b = makeNpy(1, ok, f64le([1, 2, 3, 4]));
    b[6] = 4;
    expectNpyError(() => parseNpy(b), 6, /version 4\.0/);
    b[6] = 1;
    b[7] = 1;
    expectNpyError(() => parseNpy(b), 6, /version 1\.1/);
  });

  it('bad header dict: offsets point into the dict', () => {
    const at = (dict: string, needle: string) => 10 + dict.indexOf(needle);
    const d1 = "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2, 2), }";
    const e1 = expectNpyError(() => parseNpy(makeNpy(1, d1)), at(d1, 'Maybe'), /unexpected "M"/);
    expect(e1.name).toBe('NpyFormatError');
    expectNpyError(() => parseNpy(makeNpy(1, "['descr', '<f8']")), 10, /expected '\{'/);
    expectNpyError(() => parseNpy(makeNpy(1, "{'descr': '<f8', 'fortran_order': False}")), 10, /missing key 'shape'/);
    expectNpyError(
      () => parseNpy(makeNpy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), 'extra': 1}")),
      10,
      /unexpected key 'extra'/,
    );
    const d2 = "{'descr': '<f8', 'fortran_order': False, 'shape': (2; 2)}";
    expectNpyError(() => parseNpy(makeNpy(1, d2)), at(d2, ';'), /expected ',' or '\)'/);
    const d3 = "{'descr': '<f8, 'fortran_order': False, 'shape': (2, 2)}";
    expectNpyError(() => parseNpy(makeNpy(1, d3)), at(d3, 'fortran'), /expected ',' or '\}'/);
    const d4 = "{'descr': '<f8', 'fortran_order': 'no', 'shape': (2, 2)}";
    expectNpyError(() => parseNpy(makeNpy(1, d4)), at(d4, "'no'"), /'fortran_order' must be True or False/);
    const d5 = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2)} trailing";
    expectNpyError(() => parseNpy(makeNpy(1, d5)), at(d5, 'trailing'), /after the closing brace/);
  });

  it('unsupported dtypes name the dtype and what is supported', () => {
    for (const d of ['<f2', '<c16', '<U3', '<i3', '|b2']) {
      const err = expectNpyError(
        () => parseNpy(makeNpy(1, `{'descr': '${d}', 'fortran_order': False, 'shape': (2,), }`)),
        20,
        /unsupported dtype/,
      );
      expect(err.message).toContain(`'${d}'`);
      expect(err.message).toContain("'<f4'");
      expect(err.message).toContain("'<f8'");
    }
    expectNpyError(
      () => parseNpy(makeNpy(1, "{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,), }")),
      20,
      /structured/,
    );
  });

  it('integer and boolean files read as f64, exactly; beyond 2^53 is an error naming (row, col)', () => {
    const body = (bytes: number[]) => new Uint8Array(bytes);
    const npy = (descr: string, shape: string, data: Uint8Array, fortran = false) => {
      const h = makeNpy(1, `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`);
      const out = new Uint8Array(h.length + data.length);
      out.set(h);
      out.set(data, h.length);
      return out;
    };
    const i8 = new Uint8Array(new BigInt64Array([-3n, 2n ** 40n, 7n, 0n]).buffer);
    const a = parseNpy(npy('<i8', '(2, 2)', i8));
    expect(a.dtype).toBe('f64');
    expect(Array.from(a.data)).toEqual([-3, 2 ** 40, 7, 0]);
    const f = parseNpy(npy('<i8', '(2, 2)', i8, true)); // Fortran order: transposed to row-major
    expect(Array.from(f.data)).toEqual([-3, 7, 2 ** 40, 0]);
    expect(Array.from(parseNpy(npy('|u1', '(3,)', body([0, 200, 255]))).data)).toEqual([0, 200, 255]);
    expect(Array.from(parseNpy(npy('|i1', '(2,)', body([0xff, 5]))).data)).toEqual([-1, 5]);
    expect(Array.from(parseNpy(npy('>i2', '(2,)', body([0xff, 0xfe, 0, 3]))).data)).toEqual([-2, 3]);
    expect(Array.from(parseNpy(npy('<u4', '(1,)', body([0xff, 0xff, 0xff, 0xff]))).data)).toEqual([2 ** 32 - 1]);
    expect(Array.from(parseNpy(npy('|b1', '(3,)', body([1, 0, 1]))).data)).toEqual([1, 0, 1]);
    const big = new Uint8Array(new BigInt64Array([1n, 2n ** 53n + 1n]).buffer);
    expect(() => parseNpy(npy('<i8', '(1, 2)', big))).toThrow(/entry \(row 0, col 1\) = 9007199254740993/);
  });

  it('unsupported shapes', () => {
    for (const shape of ['(2, 2, 2)', '()']) {
      const d = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shape}, }`;
      expectNpyError(() => parseNpy(makeNpy(1, d)), 10 + d.indexOf('('), /1-D and 2-D/);
    }
  });

  it('data shorter than the shape needs', async () => {
    const full = makeNpy(1, ok, f64le([1, 2, 3, 4]));
    const cut = full.subarray(0, full.length - 3);
    const err = expectNpyError(() => parseNpy(cut), cut.length, /data is truncated.*needs 32 bytes from offset 128.*only 29/);
    expect(err.file).toBe('<buffer>');
    await writeFile(tmp('cut.npy'), cut);
    await expect(readNpy(tmp('cut.npy'))).rejects.toThrow(
      new RegExp(`${tmp('cut.npy').replace(/[.\\/]/g, '\\$&')}: data is truncated.*byte offset ${cut.length}`),
    );
    await expect(openNpy(tmp('cut.npy'))).rejects.toBeInstanceOf(NpyFormatError);
  });

  it('names the file in errors from readNpy', async () => {
    await writeFile(tmp('junk.npy'), 'PK\u0003\u0004 this is a zip');
    await expect(readNpy(tmp('junk.npy'))).rejects.toThrow(/junk\.npy: not a \.npy file.*byte offset 0/);
    await writeFile(tmp('empty.npy'), '');
    await expect(readNpy(tmp('empty.npy'))).rejects.toThrow(/empty\.npy: truncated header/);
    await expect(readNpy(tmp('missing.npy'))).rejects.toThrow(/ENOENT/);
  });
});

describe('npy: streaming', () => {
  it('readRows over a file written in chunks', async () => {
    const rows = 1000,
      cols = 13;
    const full = Float64Array.from({ length: rows * cols }, (_, k) => k * 0.5 - 7);
    const w = await createNpyWriter(tmp('stream.npy'), [rows, cols], { dtype: 'f64' });
    for (let r = 0; r < rows; ) {
      const k = Math.min(rows - r, 1 + ((r * 37) % 97)); // uneven blocks
      await w.writeRows(full.subarray(r * cols, (r + k) * cols));
      r += k;
    }
    expect(w.rowsWritten).toBe(rows);
    await w.close();

    const whole = await readNpy(tmp('stream.npy'));
    expect(whole.data).toEqual(full);

    const f = await openNpy(tmp('stream.npy'));
    try {
      expect(f.shape).toEqual([rows, cols]);
      expect(f.dtype).toBe('f64');
      expect(f.headerBytes % 64).toBe(0);
      const blocks = await Promise.all([0, 250, 500, 750].map((s) => f.readRows(s, 250))); // concurrent positioned reads
      blocks.forEach((b, k) => {
        expect(b).toEqual(full.subarray(k * 250 * cols, (k + 1) * 250 * cols));
      });
      expect(Array.from(await f.readRows(999, 1))).toEqual(Array.from(full.subarray(999 * cols)));
      expect((await f.readRows(10, 0)).length).toBe(0);
      await expect(f.readRows(990, 11)).rejects.toThrow(RangeError);
      await expect(f.readRows(-1, 1)).rejects.toThrow(RangeError);
    } finally {
      await f.close();
    }
    await f.close(); // idempotent
    await expect(f.readRows(0, 1)).rejects.toThrow(/closed/);
  });

  it('f32 writer converts; big-endian streams are swapped', async () => {
    const w = await createNpyWriter(tmp('s32.npy'), [4, 2], { dtype: 'f32' });
    await w.writeRows([0.1, 0.2, 0.3, 0.4]);
    await w.writeRows(new Float64Array([1, 2, 3, 4]));
    await expect(w.writeRows([1, 2, 3])).rejects.toThrow(/whole number of rows/);
    await expect(w.writeRows([1, 2, 3, 4, 5, 6])).rejects.toThrow(/exceed/);
    await w.close();
    const r = await readNpy(tmp('s32.npy'));
    expect(r.dtype).toBe('f32');
    expect(Array.from(r.data)).toEqual([0.1, 0.2, 0.3, 0.4, 1, 2, 3, 4].map(Math.fround));

    await writeFile(tmp('be.npy'), makeNpy(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (3, 2), }", be([1, 2, 3, 4, 5, 6], 8)));
    const f = await openNpy(tmp('be.npy'));
    expect(f.littleEndian).toBe(false);
    expect(Array.from(await f.readRows(1, 2))).toEqual([3, 4, 5, 6]);
    await f.close();
  });

  it('an incomplete writer reports it on close', async () => {
    const w = await createNpyWriter(tmp('short.npy'), [3, 2]);
    await w.writeRows([1, 2]);
    await expect(w.close()).rejects.toThrow(/1 of 3 rows/);
    await expect(readNpy(tmp('short.npy'))).rejects.toThrow(/data is truncated/);
  });

  it('Fortran-order files cannot be read by rows (clear error), 1-D ones can', async () => {
    await writeFile(tmp('fortran.npy'), b64(NUMPY.fortran8));
    const f = await openNpy(tmp('fortran.npy'));
    expect(f.fortranOrder).toBe(true);
    await expect(f.readRows(0, 1)).rejects.toThrow(/Fortran.*ascontiguousarray/);
    await f.close();
    await writeFile(tmp('f1d.npy'), makeNpy(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (3,), }", f64le([1, 2, 3])));
    const g = await openNpy(tmp('f1d.npy'));
    expect(Array.from(await g.readRows(1, 2))).toEqual([2, 3]);
    await g.close();
  });

  it('readNpyHeader reads only the header', async () => {
    await writeFile(tmp('h.npy'), b64(NUMPY.be4));
    const h = await readNpyHeader(tmp('h.npy'));
    expect(h).toMatchObject({ dtype: 'f32', descr: '>f4', shape: [2, 3], ndim: 2, headerBytes: 128, dataBytes: 24, littleEndian: false });
    expect((await readFile(tmp('h.npy'))).length).toBe(128 + 24);
  });
});
