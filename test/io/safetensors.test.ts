/** safetensors: reading files built by hand (an independent writer), round trips, half precision, errors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  SafetensorsFormatError,
  f16BitsToNumber,
  numberToBf16Bits,
  numberToF16Bits,
  openSafetensors,
  writeSafetensors,
} from '../../ts/index.js';
import type { Mat } from '../../ts/index.js';
import { describeEngines, disposeAll } from '../helpers.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lowrank-st-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const tmp = (name: string) => path.join(dir, name);

// ---- an independent writer: header JSON and bytes assembled by hand ----------------------------

/** A safetensors file: u64 LE header length, the header text (as given), the data bytes. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0), lenOverride?: bigint): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + h.length + data.length);
  out.writeBigUInt64LE(lenOverride ?? BigInt(h.length), 0);
  h.copy(out, 8);
  out.set(data, 8 + h.length);
  return new Uint8Array(out);
}

type Spec = { dtype: string; shape: number[]; bytes: Uint8Array };
/** Tensors laid out one after the other, header from JSON.stringify. */
function buildFile(tensors: Record<string, Spec>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.length] };
    off += t.bytes.length;
    parts.push(t.bytes);
  }
  return rawFile(JSON.stringify(header), Buffer.concat(parts));
}

/** Little-endian bytes of values through a DataView setter. */
function le(values: readonly number[], size: number, set: (dv: DataView, at: number, v: number) => void): Uint8Array {
  const b = new Uint8Array(values.length * size);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < values.length; i++) set(dv, i * size, values[i]);
  return b;
}
const f32le = (v: readonly number[]) => le(v, 4, (d, a, x) => d.setFloat32(a, x, true));
const f64le = (v: readonly number[]) => le(v, 8, (d, a, x) => d.setFloat64(a, x, true));
const u16le = (v: readonly number[]) => le(v, 2, (d, a, x) => d.setUint16(a, x, true));
const i32le = (v: readonly number[]) => le(v, 4, (d, a, x) => d.setInt32(a, x, true));

/** Reference f16 value of a bit pattern, from the definition. */
function refF16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31,
    m = h & 1023;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  if (e === 0) return s * (m / 1024) * 2 ** -14;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Reference round-to-nearest-even to a float format with p significand bits and exponent range [emin, emax]. */
function refRound(x: number, p: number, emin: number, emax: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, emin) - (p - 1));
  const q = a / ulp;
  let r = Math.floor(q);
  if (q - r > 0.5 || (q - r === 0.5 && r % 2 === 1)) r++;
  const y = r * ulp;
  const max = (2 - 2 ** (1 - p)) * 2 ** emax;
  return Math.sign(x) * (y > max ? Infinity : y);
}
const refF16Round = (x: number) => refRound(x, 11, -14, 15);
const refBf16Round = (x: number) => refRound(x, 8, -126, 127);

async function expectFormatError(bytes: Uint8Array, name: string, pattern: RegExp, tensor?: string): Promise<void> {
  const p = tmp(name);
  await writeFile(p, bytes);
  let err: unknown;
  try {
    const f = await openSafetensors(p);
    await f.close();
  } catch (e) {
    err = e;
  }
  expect(err, `${name} should fail`).toBeInstanceOf(SafetensorsFormatError);
  expect(err).toBeInstanceOf(RangeError);
  const e = err as SafetensorsFormatError;
  expect(e.message).toMatch(/^openSafetensors: /);
  expect(e.message).toContain(p);
  expect(e.message).toMatch(pattern);
  expect(e.file).toBe(p);
  expect(e.tensor).toBe(tensor);
  if (tensor !== undefined) expect(e.message).toContain(`tensor ${JSON.stringify(tensor)}`);
}

// ---- reading ------------------------------------------------------------------------------------

describe('safetensors: files built by hand', () => {
  it('reads every dtype with its natural type, shapes, metadata and offsets', async () => {
    const vals = [1.5, -2, 0.1, 65504, -0, 3e-6];
    const bytes = buildFile(
      {
        w32: { dtype: 'F32', shape: [2, 3], bytes: f32le(vals) },
        w64: { dtype: 'F64', shape: [3, 2], bytes: f64le(vals) },
        w16: { dtype: 'F16', shape: [6], bytes: u16le([0x3e00, 0xc000, 0x2e66, 0x7bff, 0x8000, 0x0032]) },
        wbf: { dtype: 'BF16', shape: [1, 2, 3], bytes: u16le([0x3fc0, 0xc000, 0x3dcd, 0x7f80, 0xff80, 0x0001]) },
        i8: { dtype: 'I8', shape: [4], bytes: new Uint8Array([0x80, 0xff, 0, 127]) },
        u8: { dtype: 'U8', shape: [2, 2], bytes: new Uint8Array([0, 1, 128, 255]) },
        i32: { dtype: 'I32', shape: [3], bytes: i32le([-(2 ** 31), -1, 2 ** 31 - 1]) },
        i16: { dtype: 'I16', shape: [2], bytes: u16le([0x8000, 0x0007]) },
        u16: { dtype: 'U16', shape: [2], bytes: u16le([0xffff, 3]) },
        b: { dtype: 'BOOL', shape: [3], bytes: new Uint8Array([1, 0, 1]) },
        i64: { dtype: 'I64', shape: [1], bytes: le([0], 8, (d, a) => d.setBigInt64(a, -5n, true)) },
        e5m2: { dtype: 'F8_E5M2', shape: [3], bytes: new Uint8Array([0x3c, 0x7c, 0x01]) },
        e4m3: { dtype: 'F8_E4M3', shape: [4], bytes: new Uint8Array([0x38, 0x7e, 0x7f, 0x01]) },
        scalar: { dtype: 'F32', shape: [], bytes: f32le([7]) },
        empty: { dtype: 'F32', shape: [0, 4], bytes: new Uint8Array(0) },
      },
      { format: 'pt', note: 'héllo' },
    );
    const p = tmp('all.safetensors');
    await writeFile(p, bytes);
    const f = await openSafetensors(p);
    try {
      expect(f.path).toBe(p);
      expect(f.metadata).toEqual({ format: 'pt', note: 'héllo' });
      expect(f.names()).toContain('w32');
      expect(f.names().length).toBe(15);
      const hlen = Number(Buffer.from(bytes).readBigUInt64LE(0));
      expect(f.info('w32')).toEqual({ dtype: 'F32', shape: [2, 3], bytes: 24, offset: 8 + hlen });
      expect(f.info('w64')).toEqual({ dtype: 'F64', shape: [3, 2], bytes: 48, offset: 8 + hlen + 24 });
      const w32 = await f.read('w32');
      expect(w32).toBeInstanceOf(Float32Array);
      expect(Array.from(w32)).toEqual(Array.from(Float32Array.from(vals)));
      const w64 = await f.read('w64');
      expect(w64).toBeInstanceOf(Float64Array);
      expect(Array.from(w64)).toEqual(vals);
      const w16 = await f.read('w16');
      expect(w16).toBeInstanceOf(Float32Array);
      expect(Array.from(w16)).toEqual([1.5, -2, refF16(0x2e66), 65504, -0, 50 * 2 ** -24]);
      expect(Object.is(w16[4], -0)).toBe(true);
      const wbf = await f.read('wbf');
      expect(Array.from(wbf)).toEqual([1.5, -2, Math.fround(0.1000976562), Infinity, -Infinity, 2 ** -133]);
      expect(await f.read('i8')).toEqual(new Int8Array([-128, -1, 0, 127]));
      expect(await f.read('u8')).toEqual(new Uint8Array([0, 1, 128, 255]));
      expect(await f.read('i32')).toEqual(new Int32Array([-(2 ** 31), -1, 2 ** 31 - 1]));
      expect(await f.read('i16')).toEqual(new Int16Array([-32768, 7]));
      expect(await f.read('u16')).toEqual(new Uint16Array([65535, 3]));
      expect(await f.read('b')).toEqual(new Uint8Array([1, 0, 1]));
      expect(await f.read('i64')).toEqual(new BigInt64Array([-5n]));
      expect(Array.from(await f.read('i64', { dtype: 'f64' }))).toEqual([-5]);
      expect(Array.from(await f.read('e5m2'))).toEqual([1, Infinity, 2 ** -16]);
      const e4 = Array.from(await f.read('e4m3'));
      expect(e4.slice(0, 2)).toEqual([1, 448]);
      expect(e4[2]).toBeNaN();
      expect(e4[3]).toBe(2 ** -9);
      expect(Array.from(await f.read('scalar'))).toEqual([7]);
      expect((await f.read('empty')).length).toBe(0);
      // dtype option: converted typed arrays
      const as64 = await f.read('w16', { dtype: 'f64' });
      expect(as64).toBeInstanceOf(Float64Array);
      expect(Array.from(as64)).toEqual(Array.from(w16));
      const as32 = await f.read('w64', { dtype: 'f32' });
      expect(as32).toEqual(Float32Array.from(vals));
      expect(Array.from(await f.read('i32', { dtype: 'f64' }))).toEqual([-(2 ** 31), -1, 2 ** 31 - 1]);
    } finally {
      await f.close();
    }
  });

  it('reads non-finite values as they are (without an engine)', async () => {
    const p = tmp('nonfinite.safetensors');
    await writeFile(p, buildFile({ x: { dtype: 'F32', shape: [3], bytes: f32le([NaN, Infinity, -Infinity]) } }));
    const f = await openSafetensors(p);
    const x = await f.read('x');
    await f.close();
    expect(x[0]).toBeNaN();
    expect([x[1], x[2]]).toEqual([Infinity, -Infinity]);
  });

  it('widens all 65536 f16 bit patterns exactly', async () => {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    const p = tmp('f16all.safetensors');
    await writeFile(p, buildFile({ h: { dtype: 'F16', shape: [256, 256], bytes: u16le(all) } }));
    const f = await openSafetensors(p, { chunkBytes: 1000 }); // several chunks
    const got = await f.read('h');
    const got64 = await f.read('h', { dtype: 'f64' });
    await f.close();
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const want = refF16(h);
      const ok = Number.isNaN(want) ? Number.isNaN(got[h]) && Number.isNaN(got64[h]) : Object.is(got[h], want) && Object.is(got64[h], want);
      if (!ok) bad++;
      // and back: narrowing an f16 value gives its pattern (NaN: a quiet NaN)
      const back = numberToF16Bits(f16BitsToNumber(h));
      if (Number.isNaN(want) ? (back & 0x7e00) !== 0x7e00 : back !== h) bad++;
    }
    expect(bad).toBe(0);
  });

  it('bf16 widening is the bits shifted left by 16', async () => {
    const pats = Array.from({ length: 4096 }, (_, i) => (i * 16 + (i % 16)) & 0xffff);
    const p = tmp('bf16.safetensors');
    await writeFile(p, buildFile({ h: { dtype: 'BF16', shape: [pats.length], bytes: u16le(pats) } }));
    const f = await openSafetensors(p, { chunkBytes: 64 });
    const got = await f.read('h');
    await f.close();
    const dv = new DataView(new ArrayBuffer(4));
    pats.forEach((h, i) => {
      dv.setUint32(0, h << 16);
      const want = dv.getFloat32(0);
      if (Number.isNaN(want)) expect(got[i]).toBeNaN();
      else expect(got[i]).toBe(want);
    });
  });

  it('reads tensors larger than a read chunk (odd sizes, every dtype path)', async () => {
    const n = 1001;
    const v = Array.from({ length: n }, (_, i) => Math.sin(i) * 100);
    const p = tmp('chunks.safetensors');
    await writeFile(
      p,
      buildFile({
        pad: { dtype: 'U8', shape: [3], bytes: new Uint8Array([1, 2, 3]) }, // misaligns what follows
        a: { dtype: 'F32', shape: [7, 143], bytes: f32le(v) },
        b: { dtype: 'F64', shape: [n], bytes: f64le(v) },
        c: { dtype: 'F16', shape: [n], bytes: u16le(v.map(numberToF16Bits)) },
      }),
    );
    for (const chunkBytes of [8, 24, 1000, 4096]) {
      const f = await openSafetensors(p, { chunkBytes });
      expect(await f.read('a')).toEqual(Float32Array.from(v));
      expect(await f.read('b')).toEqual(Float64Array.from(v));
      expect(await f.read('a', { dtype: 'f64' })).toEqual(Float64Array.from(Float32Array.from(v)));
      expect(Array.from(await f.read('c'))).toEqual(v.map(refF16Round));
      await f.close();
    }
  });

  it('accepts holes between tensors but not overlaps', async () => {
    const header = JSON.stringify({
      a: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
      b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    });
    const p = tmp('holes.safetensors');
    await writeFile(p, rawFile(header, f32le([1, 0, 2, 0])));
    const f = await openSafetensors(p);
    expect(f.names()).toEqual(['b', 'a']); // data order
    expect(Array.from(await f.read('a'))).toEqual([2]);
    expect(Array.from(await f.read('b'))).toEqual([1]);
    await f.close();
  });

  it('names an absent tensor with the closest names; close is idempotent; read after close fails', async () => {
    const p = tmp('names.safetensors');
    const t = (v: number): Spec => ({ dtype: 'F32', shape: [1], bytes: f32le([v]) });
    await writeFile(
      p,
      buildFile({ 'layers.0.q.weight': t(1), 'layers.0.k.weight': t(2), 'layers.1.q.weight': t(3), 'lm_head.weight': t(4) }),
    );
    const f = await openSafetensors(p);
    await expect(f.read('layers.0.v.weight')).rejects.toThrow(RangeError);
    await expect(f.read('layers.0.v.weight')).rejects.toThrow(
      /read: .*names\.safetensors: no tensor named "layers\.0\.v\.weight" \(closest: "layers\.0\.k\.weight", "layers\.0\.q\.weight"/,
    );
    expect(() => f.info('nope')).toThrow(/info: .*no tensor named "nope"/);
    await expect(f.read(3 as unknown as string)).rejects.toThrow(TypeError);
    await expect(f.read('lm_head.weight', { dtype: 'f16' as 'f32' })).rejects.toThrow(RangeError);
    await expect(f.read('lm_head.weight', { foo: 1 } as object)).rejects.toThrow(/unknown option 'foo'/);
    await f.close();
    await f.close();
    await expect(f.read('lm_head.weight')).rejects.toThrow(/read: .*names\.safetensors has been closed/);
  });

  it('rejects bad arguments with TypeError/RangeError', async () => {
    await expect(openSafetensors(1 as unknown as string)).rejects.toThrow(TypeError);
    await expect(openSafetensors(tmp('x'), { chunkBytes: 3 })).rejects.toThrow(RangeError);
    await expect(openSafetensors(tmp('x'), { chunk: 3 } as object)).rejects.toThrow(/unknown option 'chunk'/);
  });
});

describe('safetensors: malformed files (each error names the file and the tensor)', () => {
  const ok = (extra: Record<string, unknown> = {}) => ({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, ...extra });
  const data8 = f32le([1, 2]);

  it('file shorter than the length field', async () => {
    await expectFormatError(new Uint8Array(5), 'short.safetensors', /only 5 bytes/);
  });
  it('header length past the end of the file', async () => {
    await expectFormatError(
      rawFile(JSON.stringify(ok()), data8, 5000n),
      'len.safetensors',
      /header length 5000 is past the end of the file/,
    );
  });
  it('absurd header length', async () => {
    await expectFormatError(
      rawFile('{}', new Uint8Array(0), 2n ** 60n),
      'huge.safetensors',
      /header length 1152921504606846976 is over the limit/,
    );
  });
  it('bad JSON, bad UTF-8, not an object', async () => {
    await expectFormatError(rawFile('{"w": {', data8), 'json.safetensors', /not valid JSON/);
    const bad = rawFile('{"\u00e9": 1}');
    bad[10] = 0xff;
    await expectFormatError(bad, 'utf8.safetensors', /not valid UTF-8/);
    await expectFormatError(rawFile('[1, 2]'), 'array.safetensors', /must be a JSON object, got an array/);
  });
  it('non-object entries and bad metadata', async () => {
    await expectFormatError(rawFile(JSON.stringify(ok({ x: [1] })), data8), 'entry.safetensors', /header entry must be an object/, 'x');
    await expectFormatError(
      rawFile(JSON.stringify(ok({ __metadata__: { a: 1 } })), data8),
      'meta.safetensors',
      /"__metadata__" value of "a" must be a string/,
    );
  });
  it('unknown dtype lists the accepted names', async () => {
    const h = ok({ 'layers.0.q.weight': { dtype: 'F4', shape: [1], data_offsets: [0, 1] } });
    await expectFormatError(
      rawFile(JSON.stringify(h), data8),
      'dtype.safetensors',
      /unknown dtype "F4" \(known: BOOL, U8, I8.*F16, BF16.*F64/,
      'layers.0.q.weight',
    );
  });
  it('shape entries that are not non-negative integers', async () => {
    for (const [i, shape] of [[-1], [1.5], ['2'], 3, [2 ** 60]].entries())
      await expectFormatError(
        rawFile(JSON.stringify({ w: { dtype: 'F32', shape, data_offsets: [0, 8] } }), data8),
        `shape${i}.safetensors`,
        /shape must be an array of non-negative integers/,
        'w',
      );
  });
  it('bytes != prod(shape) * itemsize', async () => {
    await expectFormatError(
      rawFile(JSON.stringify({ w: { dtype: 'F16', shape: [3, 2], data_offsets: [0, 8] } }), data8),
      'bytes.safetensors',
      /shape \[3, 2\] of F16 needs 12 bytes, but data_offsets \[0, 8\] hold 8/,
      'w',
    );
  });
  it('offsets out of range, reversed or malformed', async () => {
    await expectFormatError(
      rawFile(JSON.stringify({ 'layers.0.q.weight': { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }), data8),
      'past.safetensors',
      /tensor "layers\.0\.q\.weight": data_offsets \[4, 12\] past the end of the data \(8 bytes\)/,
      'layers.0.q.weight',
    );
    await expectFormatError(
      rawFile(JSON.stringify({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }), data8),
      'rev.safetensors',
      /data_offsets \[8, 0\] end before they begin/,
      'w',
    );
    await expectFormatError(
      rawFile(JSON.stringify({ w: { dtype: 'F32', shape: [2], data_offsets: [0] } }), data8),
      'off1.safetensors',
      /data_offsets must be/,
      'w',
    );
    await expectFormatError(
      rawFile(JSON.stringify({ w: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }), data8),
      'off2.safetensors',
      /data_offsets must be/,
      'w',
    );
  });
  it('overlapping tensors', async () => {
    const h = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
    await expectFormatError(
      rawFile(JSON.stringify(h), data8),
      'overlap.safetensors',
      /data_offsets \[4, 8\] overlap those of tensor "a" \[0, 8\]/,
      'b',
    );
    const same = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    await expectFormatError(rawFile(JSON.stringify(same), data8), 'overlap2.safetensors', /overlap those of tensor/, 'b');
    // an empty tensor between two overlapping ones must not hide the overlap
    const hidden = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
      b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
    };
    await expectFormatError(
      rawFile(JSON.stringify(hidden), data8),
      'overlap3.safetensors',
      /\[4, 8\] overlap those of tensor "a" \[0, 8\]/,
      'b',
    );
    // a long tensor covering two later ones
    const cover = {
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      c: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    };
    await expectFormatError(
      rawFile(JSON.stringify(cover), f32le([1, 2, 3, 4])),
      'overlap4.safetensors',
      /overlap those of tensor "a"/,
      'b',
    );
  });
});

// ---- writing ------------------------------------------------------------------------------------

describe('safetensors: writer', () => {
  const v = Array.from({ length: 60 }, (_, i) => (i % 7 === 0 ? 0 : Math.sin(i * 1.3) * 10 ** ((i % 9) - 4)));

  it('round trips F32 / F64 / F16 / BF16 with the reference rounding', async () => {
    const a32 = Float32Array.from(v),
      a64 = Float64Array.from(v);
    for (const chunkBytes of [undefined, 16, 40]) {
      const p = tmp(`rt-${chunkBytes}.safetensors`);
      await writeSafetensors(
        p,
        [
          { name: 'f32', data: a32, shape: [6, 10] },
          { name: 'f64', data: a64, shape: [60] },
          { name: 'f16', data: a64, dtype: 'F16', shape: [3, 4, 5] },
          { name: 'bf16', data: a32, dtype: 'BF16', shape: [60, 1] },
          { name: 'f16of32', data: a32, dtype: 'F16' },
          { name: 'f32of64', data: a64, dtype: 'F32' },
          { name: 'f64of32', data: a32, dtype: 'F64' },
          { name: 'empty', data: new Float32Array(0), dtype: 'BF16', shape: [0, 3] },
        ],
        { metadata: { format: 'pt', who: 'lowrank' }, chunkBytes },
      );
      const raw = await readFile(p);
      const hlen = Number(raw.readBigUInt64LE(0));
      expect(hlen % 8).toBe(0); // padded with spaces
      const headerText = raw.subarray(8, 8 + hlen).toString('utf8');
      expect(headerText).toMatch(
        /^\{"__metadata__":\{"format":"pt","who":"lowrank"\},"f32":\{"dtype":"F32","shape":\[6,10\],"data_offsets":\[0,240\]\}/,
      );
      expect(headerText.trimEnd().length).toBeGreaterThan(hlen - 8);
      const f = await openSafetensors(p);
      expect(f.metadata).toEqual({ format: 'pt', who: 'lowrank' });
      expect(f.names()).toEqual(['f32', 'f64', 'f16', 'bf16', 'f16of32', 'f32of64', 'f64of32', 'empty']);
      expect(f.info('f16')).toMatchObject({ dtype: 'F16', shape: [3, 4, 5], bytes: 120 });
      expect(f.info('empty')).toMatchObject({ dtype: 'BF16', shape: [0, 3], bytes: 0 });
      expect(await f.read('f32')).toEqual(a32);
      expect(await f.read('f64')).toEqual(a64);
      expect(Array.from(await f.read('f16'))).toEqual(v.map(refF16Round));
      expect(Array.from(await f.read('f16of32'))).toEqual(Array.from(a32).map(refF16Round));
      expect(Array.from(await f.read('bf16'))).toEqual(Array.from(a32).map(refBf16Round));
      expect(await f.read('f32of64')).toEqual(a32);
      expect(await f.read('f64of32')).toEqual(Float64Array.from(a32));
      await f.close();
      // the data block is exactly the tensors, contiguous
      expect(raw.length).toBe(8 + hlen + 240 + 480 + 120 + 120 + 120 + 240 + 480);
    }
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('rounds to nearest even (ties), overflows to infinity, keeps NaN and -0', () => {
    // bf16: 8 significant bits; 1 + 2^-8 is halfway between 1 and 1 + 2^-7
    const cases: [number, number][] = [
      [1 + 2 ** -8, 0x3f80], // tie -> even (down)
      [1 + 3 * 2 ** -8, 0x3f82], // tie -> even (up)
      [1 + 2 ** -8 + 2 ** -20, 0x3f81], // just above the tie
      [1 + 2 ** -8 + 2 ** -40, 0x3f81], // f64 input: no double rounding through f32
      [-(1 + 2 ** -8), 0xbf80],
      [3.3895313892515355e38, 0x7f7f], // bf16 max
      [(2 - 2 ** -8) * 2 ** 127, 0x7f80], // halfway to 2^128: ties to even = infinity
      [(2 - 2 ** -8 - 2 ** -30) * 2 ** 127, 0x7f7f],
      [1e39, 0x7f80],
      [-Infinity, 0xff80],
      [-0, 0x8000],
      [2 ** -133, 0x0001], // smallest subnormal
      [2 ** -134, 0x0000], // tie with zero -> even
      [3 * 2 ** -135, 0x0001],
    ];
    for (const [x, bits] of cases) expect([x, numberToBf16Bits(x)]).toEqual([x, bits]);
    const f16: [number, number][] = [
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [1 + 2 ** -11 + 2 ** -40, 0x3c01],
      [65504, 0x7bff],
      [65519.99, 0x7bff],
      [65520, 0x7c00],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000],
      [2 ** -25 + 2 ** -40, 0x0001],
      [2 ** -14 - 2 ** -25, 0x0400], // rounds up into the normals
      [-0, 0x8000],
    ];
    for (const [x, bits] of f16) expect([x, numberToF16Bits(x)]).toEqual([x, bits]);
    expect(numberToF16Bits(NaN) & 0x7e00).toBe(0x7e00);
    expect(numberToBf16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
  });

  it('f32 -> f16 / bf16 matches the reference on many random values (both source types)', async () => {
    let s = 12345;
    const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const x = Float32Array.from({ length: 100000 }, () => (rnd() - 0.5) * 2 ** Math.floor(rnd() * 80 - 40));
    x[0] = NaN;
    x[1] = -Infinity;
    // every f16 tie (the midpoint of two neighbours, exact in f32), both signs, from 2^-25 to 65520
    for (let h = 0; h < 0x7c00; h++) {
      const mid = (refF16(h) + (h === 0x7bff ? 65536 : refF16(h + 1))) / 2;
      x[2 + 2 * h] = mid;
      x[3 + 2 * h] = -mid;
    }
    const p = tmp('rnd.safetensors');
    await writeSafetensors(p, {
      h: { data: x, dtype: 'F16' },
      h64: { data: Float64Array.from(x), dtype: 'F16' },
      b: { data: x, dtype: 'BF16' },
      b64: { data: Float64Array.from(x), dtype: 'BF16' },
    });
    const f = await openSafetensors(p);
    const h = await f.read('h'),
      h64 = await f.read('h64'),
      b = await f.read('b'),
      b64 = await f.read('b64');
    await f.close();
    expect(h[0]).toBeNaN();
    expect(b[0]).toBeNaN();
    expect(b64[0]).toBeNaN();
    let bad = 0;
    for (let i = 1; i < x.length; i++) {
      if (h[i] !== refF16Round(x[i]) || h64[i] !== h[i]) bad++;
      if (b[i] !== refBf16Round(x[i]) || b64[i] !== b[i]) bad++;
    }
    expect(bad).toBe(0);
  });

  it('validates names, metadata, shapes and dtypes', async () => {
    const d = new Float32Array(4);
    const w = (t: unknown, o?: unknown) => writeSafetensors(tmp('bad.safetensors'), t as never, o as never);
    await expect(
      w([
        { name: 'a', data: d },
        { name: 'a', data: d },
      ]),
    ).rejects.toThrow(/writeSafetensors: tensor name "a" appears twice/);
    await expect(w([{ name: '', data: d }])).rejects.toThrow(RangeError);
    await expect(w([{ name: '__metadata__', data: d }])).rejects.toThrow(/reserved/);
    await expect(w([{ data: d }])).rejects.toThrow(TypeError);
    await expect(w([{ name: 'a', data: [1, 2] }])).rejects.toThrow(TypeError);
    await expect(w([{ name: 'a', data: d, shape: [3] }])).rejects.toThrow(/tensor "a": 'shape' \[3\] holds 3 values, but 'data' has 4/);
    await expect(w([{ name: 'a', data: d, shape: [-4] }])).rejects.toThrow(RangeError);
    await expect(w([{ name: 'a', data: d, dtype: 'I8' }])).rejects.toThrow(/'dtype' must be one of F32, F16, BF16, F64/);
    await expect(w([{ name: 'a', data: d }], { metadata: { a: 1 } })).rejects.toThrow(/metadata' value of "a" must be a string/);
    await expect(w([], { meta: {} })).rejects.toThrow(/unknown option 'meta'/);
    await expect(w(null)).rejects.toThrow(TypeError);
    expect((await readdir(dir)).filter((n) => n.includes('bad.safetensors'))).toEqual([]);
  });

  it('a failure mid-write leaves no file (and no temp file); an existing file stays intact', async () => {
    const p = tmp('atomic.safetensors');
    const failing = { rows: 2, cols: 2, dtype: 'f32', disposed: false, toArray: () => Promise.reject(new Error('device lost')) };
    await expect(
      writeSafetensors(p, [
        { name: 'a', data: new Float32Array(3) },
        { name: 'b', data: failing as unknown as Mat },
      ]),
    ).rejects.toThrow('device lost');
    expect((await readdir(dir)).filter((n) => n.includes('atomic'))).toEqual([]);
    await writeSafetensors(p, [{ name: 'a', data: new Float32Array([1, 2, 3]) }]);
    const before = await readFile(p);
    await expect(writeSafetensors(p, [{ name: 'b', data: failing as unknown as Mat }])).rejects.toThrow('device lost');
    expect(await readFile(p)).toEqual(before);
    expect((await readdir(dir)).filter((n) => n.includes('atomic'))).toEqual(['atomic.safetensors']);
  });

  it('copies raw bytes of any dtype (readBytes) and calls lazy data / raw providers in order, one at a time', async () => {
    const src = tmp('raw-src.safetensors');
    const i64 = new BigInt64Array([-3n, 2n ** 40n, 7n]);
    await writeFile(
      src,
      buildFile({
        ints: { dtype: 'I64', shape: [3], bytes: new Uint8Array(i64.buffer) },
        half: { dtype: 'F16', shape: [2], bytes: new Uint8Array(new Uint16Array([0x3c00, 0xfbff]).buffer) },
      }),
    );
    const f = await openSafetensors(src);
    const calls: string[] = [];
    const p = tmp('raw-out.safetensors');
    await writeSafetensors(p, [
      { name: 'ints', dtype: 'I64', shape: [3], raw: () => (calls.push('ints'), f.readBytes('ints')) },
      { name: 'half', dtype: 'F16', shape: [2], raw: await f.readBytes('half') },
      { name: 'lazy', dtype: 'BF16', shape: [1, 2], data: async () => (calls.push('lazy'), new Float32Array([1.5, -2])) },
    ]);
    await f.close();
    expect(calls).toEqual(['ints', 'lazy']);
    const g = await openSafetensors(p);
    expect(Array.from((await g.read('ints')) as BigInt64Array)).toEqual([-3n, 2n ** 40n, 7n]);
    expect(Array.from((await g.read('half')) as Float32Array)).toEqual([1, -65504]);
    expect(g.info('lazy')).toMatchObject({ dtype: 'BF16', shape: [1, 2] });
    expect(Array.from((await g.read('lazy')) as Float32Array)).toEqual([1.5, -2]);
    await g.close();
    // a provider giving the wrong length, raw without dtype, both data and raw, lazy without shape
    await expect(
      writeSafetensors(tmp('bad.safetensors'), [{ name: 'x', shape: [3], data: async () => new Float32Array(2) }]),
    ).rejects.toThrow(/tensor "x": 'data' gave Float32Array\(2\), expected 3 values/);
    await expect(writeSafetensors(tmp('bad.safetensors'), [{ name: 'x', shape: [1], raw: new Uint8Array(4) }])).rejects.toThrow(TypeError);
    await expect(
      writeSafetensors(tmp('bad.safetensors'), [{ name: 'x', dtype: 'I32', shape: [2], raw: new Uint8Array(4) }]),
    ).rejects.toThrow(/'raw' has 4 bytes, but I32 \[2\] needs 8/);
    await expect(
      writeSafetensors(tmp('bad.safetensors'), [{ name: 'x', data: new Float32Array(1), raw: new Uint8Array(4), dtype: 'F32' }]),
    ).rejects.toThrow(/exactly one of 'data' and 'raw'/);
    await expect(writeSafetensors(tmp('bad.safetensors'), [{ name: 'x', data: async () => new Float32Array(1) }])).rejects.toThrow(
      /'shape' is required/,
    );
    expect((await readdir(dir)).filter((n) => n.startsWith('bad') || n.endsWith('.tmp'))).toEqual([]);
  });
});

// ---- engines --------------------------------------------------------------------------------------

describeEngines('safetensors: read into an engine, write a Mat', (h) => {
  it('2-D as rows x cols, 1-D as 1 x n, conv kernels as out x in*kh*kw, half types widened', async () => {
    const v = Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => (i - 11) / 8);
    const p = tmp(`eng-${h.backend}-${h.dtype}.safetensors`);
    await writeFile(
      p,
      buildFile({
        w: { dtype: 'F32', shape: [4, 6], bytes: f32le(v) },
        bias: { dtype: 'F64', shape: [24], bytes: f64le(v) },
        conv: { dtype: 'F16', shape: [2, 3, 2, 2], bytes: u16le(v.map(numberToF16Bits)) },
        bf: { dtype: 'BF16', shape: [3, 8], bytes: u16le(v.map(numberToBf16Bits)) },
        i: { dtype: 'I32', shape: [2, 12], bytes: i32le(v.map((x) => Math.round(x * 8))) },
        s: { dtype: 'F32', shape: [], bytes: f32le([2]) },
        bad: { dtype: 'F32', shape: [2, 2], bytes: f32le([1, 2, NaN, 4]) },
        big: { dtype: 'F64', shape: [2], bytes: f64le([1, 1e300]) },
        none: { dtype: 'F32', shape: [0, 3], bytes: new Uint8Array(0) },
      }),
    );
    const f = await openSafetensors(p, { chunkBytes: 16 });
    const mats: Mat[] = [];
    try {
      const cases: [string, number, number][] = [
        ['w', 4, 6],
        ['bias', 1, 24],
        ['conv', 2, 12],
        ['bf', 3, 8],
        ['i', 2, 12],
      ];
      for (const [name, r, c] of cases) {
        const m = await f.read(name, { engine: h.eng });
        mats.push(m);
        expect([name, m.rows, m.cols, m.dtype]).toEqual([name, r, c, h.dtype]);
        expect(Array.from(await m.toArray())).toEqual(name === 'i' ? v.map((x) => x * 8) : v); // all exactly representable
      }
      const s = await f.read('s', { engine: h.eng });
      mats.push(s);
      expect([s.rows, s.cols]).toEqual([1, 1]);
      await expect(f.read('bad', { engine: h.eng })).rejects.toThrow(/read: .*tensor "bad": entry 2 \(row 1, col 0\) is NaN/);
      if (h.dtype === 'f32') await expect(f.read('big', { engine: h.eng })).rejects.toThrow(/tensor "big": entry 1 .* overflows f32/);
      else mats.push(await f.read('big', { engine: h.eng }));
      await expect(f.read('none', { engine: h.eng })).rejects.toThrow(/tensor "none" of shape \[0, 3\] is empty/);
      await expect(f.read('w', { engine: {} as never })).rejects.toThrow(TypeError);
      // write Mats back (downloaded one at a time) and read them again
      const q = tmp(`eng-out-${h.backend}-${h.dtype}.safetensors`);
      await writeSafetensors(q, [
        { name: 'w', data: mats[0] },
        { name: 'conv', data: mats[2], shape: [2, 3, 2, 2], dtype: 'BF16' },
      ]);
      const g = await openSafetensors(q);
      expect(g.info('w')).toMatchObject({ dtype: h.dtype === 'f32' ? 'F32' : 'F64', shape: [4, 6] });
      expect(Array.from(await g.read('w'))).toEqual(v);
      expect(g.info('conv')).toMatchObject({ dtype: 'BF16', shape: [2, 3, 2, 2] });
      expect(Array.from(await g.read('conv'))).toEqual(v);
      await g.close();
    } finally {
      disposeAll(...mats);
      await f.close();
    }
  });
});

// ---- torch (Debian python3-torch), when present ----------------------------------------------------

/** Debian's python3-torch lives under /usr/bin/python3 (a pyenv `python3` on PATH may lack it). */
const TORCH_PYTHON = ['/usr/bin/python3', 'python3'].find((exe) => {
  try {
    execFileSync(exe, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
});

function hasTorch(): boolean {
  return TORCH_PYTHON !== undefined;
}

/** CI sets LOWRANK_REQUIRE_TORCH=1 (.ci/run installs python3-torch): a missing torch is then a failure. */
const REQUIRE_TORCH = process.env.LOWRANK_REQUIRE_TORCH === '1';

describe('safetensors: a file written from torch tensors', () => {
  it.runIf(REQUIRE_TORCH)('torch is importable (LOWRANK_REQUIRE_TORCH=1)', () => {
    expect(hasTorch(), 'no python3 with torch: apt-get install python3-torch').toBe(true);
  });

  it.skipIf(!hasTorch())('reads torch float16 / bfloat16 / float32 / float64 / int8 bytes, and narrows as torch does', async () => {
    const p = tmp('torch.safetensors');
    const script = `
import json, struct, sys, torch
g = torch.Generator().manual_seed(0)
x = (torch.randn(64, 33, generator=g, dtype=torch.float64) * torch.logspace(-9, 5, 33, dtype=torch.float64)).to(torch.float32)
x[0, 0] = float('nan'); x[0, 1] = float('inf'); x[0, 2] = 70000.0; x[0, 3] = -0.0; x[0, 4] = 2.0 ** -25; x[0, 5] = 1 + 2.0 ** -11
ts = {"x32": x, "x16": x.to(torch.float16), "xbf": x.to(torch.bfloat16), "x64": x.to(torch.float64) / 3,
      "i8": torch.arange(-128, 128, dtype=torch.int8).reshape(16, 16), "conv": torch.randn(4, 3, 3, 3, generator=g)}
names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int8: "I8"}
header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
for k, t in ts.items():
    b = t.contiguous().view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.contiguous().numpy().tobytes()
    header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
    off += len(b); blobs.append(b)
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h); [f.write(b) for b in blobs]
`;
    execFileSync(TORCH_PYTHON!, ['-c', script, p], { timeout: 120_000 });
    const f = await openSafetensors(p);
    expect(f.metadata).toEqual({ format: 'pt' });
    const x32 = (await f.read('x32')) as Float32Array;
    const x16 = await f.read('x16'),
      xbf = await f.read('xbf'),
      x64 = await f.read('x64');
    expect(f.info('i8').shape).toEqual([16, 16]);
    expect(Array.from(await f.read('i8'))).toEqual(Array.from({ length: 256 }, (_, i) => i - 128));
    expect(f.info('conv').shape).toEqual([4, 3, 3, 3]);
    await f.close();
    // our reading of torch's f16 / bf16 = our rounding of torch's f32 (torch rounds f32 -> half to nearest even)
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let bad = 0;
      for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) bad++;
      return bad;
    };
    const q = tmp('torch-ours.safetensors');
    await writeSafetensors(q, [
      { name: 'x16', data: x32, dtype: 'F16' },
      { name: 'xbf', data: x32, dtype: 'BF16' },
    ]);
    const g = await openSafetensors(q);
    expect(same(await g.read('x16'), x16)).toBe(0);
    expect(same(await g.read('xbf'), xbf)).toBe(0);
    await g.close();
    expect(x16[2]).toBe(Infinity);
    expect(Object.is(x16[3], -0)).toBe(true);
    expect(x16[4]).toBe(0);
    expect(x16[5]).toBe(1);
    expect(x64.length).toBe(64 * 33);
    for (let i = 6; i < 20; i++) expect(x64[i]).toBe(x32[i] / 3);
  });
});
