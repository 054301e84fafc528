/**
 * safetensors checkpoints: open, validate, read tensors on demand, write (streaming).
 *
 * Format: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON (the header), then the data block.
 * The header maps each tensor name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative
 * to the data block) and may hold `__metadata__`, a string -> string map.
 *
 * Reading: the header is parsed and validated by {@link openSafetensors}; tensors are read one at a
 * time with positioned reads (the file is never read whole), in chunks of `chunkBytes`, so the peak
 * memory of a read is about one tensor. Validation accepts holes between tensors (bytes no tensor
 * covers, which the reference implementation refuses) but rejects overlapping tensors.
 *
 * Malformed files raise a {@link SafetensorsFormatError} (a RangeError) whose message names the
 * file and, where one is involved, the tensor. Wrong argument types raise a TypeError.
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import path from 'node:path';
import type { Engine } from '../engine.js';
import type { Mat } from '../mat.js';
import type { DType } from '../types.js';
import { checkOptions, describeValue, firstNonFinite } from '../errors.js';
import { f16BitsToNumber, narrowBf16, narrowF16, widenBf16, widenF16 } from './half.js';

const HOST_LITTLE = endianness() === 'LE';
/** Largest header accepted (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;
/** Default size of one positioned read or write. */
const DEFAULT_CHUNK = 64 << 20;
/** Largest staging buffer of a converting read (small enough to stay in cache). */
const STAGING = 4 << 20;

/** Element types of safetensors files, with their sizes in bytes. */
const ITEM_SIZE = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

/** A safetensors element type. */
export type SafetensorsDType = keyof typeof ITEM_SIZE;
const DTYPES = Object.keys(ITEM_SIZE) as SafetensorsDType[];

/** Element types {@link writeSafetensors} writes. */
export type SafetensorsWriteDType = 'F32' | 'F16' | 'BF16' | 'F64';

/** What `read()` returns without an engine: the natural widened typed array of the dtype. */
export type SafetensorsArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A tensor's entry in the header. */
export interface SafetensorsInfo {
  dtype: SafetensorsDType;
  shape: number[];
  /** Size of the tensor's data in bytes (= prod(shape) * item size). */
  bytes: number;
  /** Absolute byte offset of the tensor's data in the file. */
  offset: number;
}

export interface SafetensorsReadOptions<D extends DType = DType> {
  /** Upload to this engine and return a Mat (see {@link SafetensorsFile.read} for the 2-D view). */
  engine?: Engine<D>;
  /** Without an engine: the element type of the returned array for float (and integer) tensors. */
  dtype?: 'f32' | 'f64';
}

/** An open safetensors file (see {@link openSafetensors}). */
export interface SafetensorsFile {
  readonly path: string;
  /** The header's `__metadata__` ({} when absent). */
  readonly metadata: Record<string, string>;
  /** Tensor names, in the order of their data in the file. */
  names(): string[];
  /** The header entry of a tensor; RangeError when absent. */
  info(name: string): SafetensorsInfo;
  /**
   * Reads a tensor. Without an engine: a typed array in the natural widened type (Float32Array for
   * F16 / BF16 / F32 / F8_*, Float64Array for F64, Int8Array / Uint8Array / Int16Array / Uint16Array /
   * Int32Array / Uint32Array / BigInt64Array / BigUint64Array for the integer types, Uint8Array of 0/1
   * for BOOL), or Float32Array / Float64Array with `{ dtype }`. With `{ engine }`: a Mat of the
   * engine's dtype, owned by the caller: a 2-D tensor as rows x cols, a 1-D tensor of n as 1 x n, a
   * scalar as 1 x 1, and an N-D tensor (a conv kernel out x in x kh x kw) flattened row-major to
   * shape[0] x prod(rest).
   */
  read(name: string, options?: { dtype?: undefined; engine?: undefined }): Promise<SafetensorsArray>;
  read(name: string, options: { dtype: 'f32'; engine?: undefined }): Promise<Float32Array>;
  read(name: string, options: { dtype: 'f64'; engine?: undefined }): Promise<Float64Array>;
  read<D extends DType>(name: string, options: { engine: Engine<D>; dtype?: undefined }): Promise<Mat<D>>;
  read(name: string, options?: SafetensorsReadOptions): Promise<SafetensorsArray | Mat>;
  /**
   * The tensor's bytes exactly as stored (little-endian, any dtype): what a tool that copies a tensor
   * through unchanged passes to {@link writeSafetensors} as `raw`.
   */
  readBytes(name: string): Promise<Uint8Array>;
  /** Closes the file. Idempotent; reading afterwards throws. */
  close(): Promise<void>;
}

/** A malformed safetensors file. `tensor` is the tensor involved, if any. */
export class SafetensorsFormatError extends RangeError {
  readonly file: string;
  readonly tensor: string | undefined;
  constructor(fn: string, file: string, tensor: string | undefined, message: string) {
    super(`${fn}: ${file}: ${tensor === undefined ? '' : `tensor ${JSON.stringify(tensor)}: `}${message}`);
    this.name = 'SafetensorsFormatError';
    this.file = file;
    this.tensor = tensor;
  }
}

// -------------------------------------------------------------------------------------------------
// helpers

async function readFully(fh: FileHandle, into: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function writeFully(fh: FileHandle, b: Uint8Array): Promise<void> {
  for (let off = 0; off < b.length; ) {
    const { bytesWritten } = await fh.write(b, off, b.length - off);
    off += bytesWritten;
  }
}

function swapBytes(b: Uint8Array, itemSize: number): void {
  if (itemSize === 1) return;
  for (let i = 0; i + itemSize <= b.length; i += itemSize)
    for (let k = 0; k < itemSize >> 1; k++) {
      const t = b[i + k];
      b[i + k] = b[i + itemSize - 1 - k];
      b[i + itemSize - 1 - k] = t;
    }
}

function prod(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = t;
    }
  }
  return prev[b.length];
}

/** Up to `k` names closest to `name` (edit distance), for "did you mean" messages. */
function closeNames(name: string, names: readonly string[], k = 5): string[] {
  return names
    .map((n) => ({ n, d: editDistance(name, n) }))
    .sort((x, y) => x.d - y.d || (x.n < y.n ? -1 : 1))
    .slice(0, k)
    .map((x) => x.n);
}

let f8e4m3: Float32Array | null = null;
/** The 256 F8_E4M3 (e4m3fn: bias 7, no infinities, S.1111.111 = NaN) values. */
function f8e4m3Table(): Float32Array {
  if (f8e4m3) return f8e4m3;
  const t = new Float32Array(256);
  for (let b = 0; b < 256; b++) {
    const s = b & 0x80 ? -1 : 1;
    const e = (b >> 3) & 0xf,
      m = b & 7;
    t[b] = (b & 0x7f) === 0x7f ? NaN : e === 0 ? (s * m) / 8 / 64 : s * (1 + m / 8) * 2 ** (e - 7);
  }
  return (f8e4m3 = t);
}

// -------------------------------------------------------------------------------------------------
// header

interface Entry extends SafetensorsInfo {
  name: string;
  begin: number;
  end: number;
}

function parseHeader(fn: string, file: string, json: Uint8Array, dataSize: number): { entries: Entry[]; metadata: Record<string, string> } {
  const fail = (tensor: string | undefined, msg: string): never => {
    throw new SafetensorsFormatError(fn, file, tensor, msg);
  };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    return fail(undefined, 'the header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return fail(undefined, `the header is not valid JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    fail(undefined, `the header must be a JSON object, got ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`);
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(undefined, '"__metadata__" must be an object of strings');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string')
          fail(undefined, `"__metadata__" value of ${JSON.stringify(k)} must be a string, got ${JSON.stringify(s)}`);
        metadata[k] = s as string;
      }
      continue;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      fail(name, `the header entry must be an object { dtype, shape, data_offsets }, got ${JSON.stringify(v)}`);
    const o = v as Record<string, unknown>;
    const dtype = o.dtype;
    if (typeof dtype !== 'string' || !(dtype in ITEM_SIZE))
      fail(name, `unknown dtype ${JSON.stringify(dtype)} (known: ${DTYPES.join(', ')})`);
    const shape = o.shape;
    if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0))
      fail(name, `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    const off = o.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || off.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0))
      fail(name, `data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(off)}`);
    const [begin, end] = off as [number, number];
    if (end < begin) fail(name, `data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataSize) fail(name, `data_offsets [${begin}, ${end}] past the end of the data (${dataSize} bytes)`);
    const dims = shape as number[];
    const itemSize = ITEM_SIZE[dtype as SafetensorsDType];
    const want = prod(dims) * itemSize;
    if (want !== end - begin)
      fail(name, `shape [${dims.join(', ')}] of ${dtype} needs ${want} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    entries.push({ name, dtype: dtype as SafetensorsDType, shape: dims, bytes: end - begin, offset: 0, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  // sorted by begin, a non-empty tensor overlaps an earlier one iff it begins before the furthest end so far
  let far: Entry | undefined;
  for (const c of entries) {
    if (c.end === c.begin) continue; // empty tensors hold no bytes
    if (far && c.begin < far.end)
      fail(c.name, `data_offsets [${c.begin}, ${c.end}] overlap those of tensor ${JSON.stringify(far.name)} [${far.begin}, ${far.end}]`);
    if (!far || c.end > far.end) far = c;
  }
  return { entries, metadata };
}

// -------------------------------------------------------------------------------------------------
// reading

export interface SafetensorsOpenOptions {
  /**
   * Bytes per positioned read (default 64 MiB; at most 4 MiB when the data is converted, e.g. F16 to
   * Float32Array, through a staging buffer); rounded down to a multiple of 8.
   */
  chunkBytes?: number;
}

function checkChunk(fn: string, v: unknown): number {
  if (v === undefined) return DEFAULT_CHUNK;
  if (typeof v !== 'number') throw new TypeError(`${fn}: 'chunkBytes' must be a number, got ${describeValue(v)}`);
  if (!Number.isSafeInteger(v) || v < 8 || v > 2 ** 30)
    throw new RangeError(`${fn}: 'chunkBytes' must be an integer in [8, 2^30], got ${v}`);
  return v - (v % 8);
}

/**
 * Opens a safetensors file: reads and validates the header (the tensors are read on demand by
 * `read()`). Throws a {@link SafetensorsFormatError} naming the file (and tensor) when the header
 * length is past the end of the file or over 100 MB, the header is not a JSON object, a dtype is
 * unknown, a shape is not a list of non-negative integers, a tensor's byte count does not match its
 * shape, or data offsets are out of range, reversed or overlapping.
 *
 * @example
 * ```ts
 * const f = await openSafetensors('model.safetensors');
 * try {
 *   for (const name of f.names()) {
 *     const W = await f.read(name, { engine: eng }); // 2-D view, see read()
 *     // ...
 *     W.dispose();
 *   }
 * } finally {
 *   await f.close();
 * }
 * ```
 */
export async function openSafetensors(file: string, options?: SafetensorsOpenOptions): Promise<SafetensorsFile> {
  const fn = 'openSafetensors';
  if (typeof file !== 'string') throw new TypeError(`${fn}: 'path' must be a string, got ${describeValue(file)}`);
  const o = checkOptions<SafetensorsOpenOptions>(fn, options, ['chunkBytes']);
  const chunk = checkChunk(fn, o.chunkBytes);
  const fh = await open(file, 'r');
  let entries: Entry[];
  let metadata: Record<string, string>;
  let dataStart: number;
  try {
    const size = (await fh.stat()).size;
    if (size < 8)
      throw new SafetensorsFormatError(
        fn,
        file,
        undefined,
        `the file has only ${size} bytes (a safetensors file starts with an 8-byte header length)`,
      );
    const pre = new Uint8Array(8);
    await readFully(fh, pre, 0);
    const n = new DataView(pre.buffer).getBigUint64(0, true);
    if (n > BigInt(MAX_HEADER))
      throw new SafetensorsFormatError(
        fn,
        file,
        undefined,
        `header length ${n} is over the limit of ${MAX_HEADER} bytes (not a safetensors file?)`,
      );
    const len = Number(n);
    if (8 + len > size)
      throw new SafetensorsFormatError(
        fn,
        file,
        undefined,
        `header length ${len} is past the end of the file (${size} bytes, ${size - 8} after the length field)`,
      );
    const json = new Uint8Array(len);
    await readFully(fh, json, 8);
    dataStart = 8 + len;
    ({ entries, metadata } = parseHeader(fn, file, json, size - dataStart));
  } catch (e) {
    await fh.close();
    throw e;
  }
  for (const e of entries) e.offset = dataStart + e.begin;
  const byName = new Map(entries.map((e) => [e.name, e]));
  let closed = false;

  const entry = (f: string, name: unknown): Entry => {
    if (typeof name !== 'string') throw new TypeError(`${f}: 'name' must be a string, got ${describeValue(name)}`);
    const e = byName.get(name);
    if (!e) {
      const near = closeNames(name, [...byName.keys()]);
      throw new RangeError(
        `${f}: ${file}: no tensor named ${JSON.stringify(name)}` +
          (near.length
            ? ` (closest: ${near.map((s) => JSON.stringify(s)).join(', ')}; ${byName.size} tensors in all)`
            : ' (the file has no tensors)'),
      );
    }
    return e;
  };

  /** Reads the tensor's raw bytes chunk by chunk (host byte order), passing element ranges to `sink`. */
  const stream = async (f: string, e: Entry, sink: (raw: Uint8Array, from: number) => void): Promise<void> => {
    const item = ITEM_SIZE[e.dtype];
    const per = Math.max(1, Math.floor(Math.min(chunk, STAGING) / item)) * item;
    const buf = new Uint8Array(Math.min(per, e.bytes));
    for (let pos = 0; pos < e.bytes; pos += per) {
      const len = Math.min(per, e.bytes - pos);
      const view = buf.subarray(0, len);
      const got = await readFully(fh, view, e.offset + pos);
      if (got < len)
        throw new SafetensorsFormatError(f, file, e.name, `data is truncated at byte ${e.offset + pos + got} (the file shrank?)`);
      if (!HOST_LITTLE) swapBytes(view, item);
      sink(view, pos / item);
    }
  };

  /** The natural typed array of a tensor, or `want` (f32/f64). */
  const readArray = async (f: string, e: Entry, want: 'f32' | 'f64' | undefined): Promise<SafetensorsArray> => {
    const n = e.bytes / ITEM_SIZE[e.dtype];
    const natural = naturalArray(e.dtype, n);
    const out: SafetensorsArray = want === 'f32' ? new Float32Array(n) : want === 'f64' ? new Float64Array(n) : natural.make();
    if (out.constructor === natural.ctor && natural.direct && HOST_LITTLE) {
      // same layout as the file: positioned reads straight into the result
      const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      for (let pos = 0; pos < e.bytes; pos += chunk) {
        const len = Math.min(chunk, e.bytes - pos);
        const got = await readFully(fh, bytes.subarray(pos, pos + len), e.offset + pos);
        if (got < len)
          throw new SafetensorsFormatError(f, file, e.name, `data is truncated at byte ${e.offset + pos + got} (the file shrank?)`);
      }
      return out;
    }
    await stream(f, e, (raw, from) => convertInto(e.dtype, raw, out, from));
    return out;
  };

  return {
    path: file,
    metadata,
    names: () => entries.map((e) => e.name),
    info(name: string): SafetensorsInfo {
      const e = entry('info', name);
      return { dtype: e.dtype, shape: [...e.shape], bytes: e.bytes, offset: e.offset };
    },
    async read(name: string, options?: SafetensorsReadOptions): Promise<never> {
      const f = 'read';
      if (closed) throw new Error(`${f}: ${file} has been closed`);
      const ro = checkOptions<SafetensorsReadOptions>(f, options, ['engine', 'dtype']);
      if (ro.dtype !== undefined && ro.dtype !== 'f32' && ro.dtype !== 'f64')
        throw new (typeof ro.dtype === 'string' ? RangeError : TypeError)(
          `${f}: 'dtype' must be 'f32' or 'f64', got ${describeValue(ro.dtype)}`,
        );
      const e = entry(f, name);
      const eng = ro.engine;
      if (eng === undefined) return (await readArray(f, e, ro.dtype)) as never;
      if (eng === null || typeof eng !== 'object' || typeof (eng as Engine).matrix !== 'function')
        throw new TypeError(`${f}: 'engine' must be an Engine, got ${describeValue(eng)}`);
      if (ro.dtype !== undefined && ro.dtype !== eng.dtype)
        throw new RangeError(
          `${f}: 'dtype' is ${ro.dtype} but the engine is ${eng.dtype} (a Mat has its engine's dtype; leave 'dtype' out)`,
        );
      const shape = e.shape;
      const n = prod(shape);
      if (n === 0)
        throw new RangeError(
          `${f}: ${file}: tensor ${JSON.stringify(name)} of shape [${shape.join(', ')}] is empty (a Mat needs at least one row and one column)`,
        );
      if (e.dtype === 'I64' || e.dtype === 'U64' || e.dtype === 'BOOL')
        throw new RangeError(`${f}: ${file}: tensor ${JSON.stringify(name)} is ${e.dtype}; read it without an engine (as a typed array)`);
      const rows = shape.length === 0 ? 1 : shape.length === 1 ? 1 : shape[0];
      const cols = n / rows;
      const data = (await readArray(f, e, eng.dtype)) as Float32Array | Float64Array;
      const bad = firstNonFinite(data);
      if (bad >= 0) {
        const over = eng.dtype === 'f32' && e.dtype === 'F64' && Number.isFinite(await f64At(e, bad));
        throw new RangeError(
          `${f}: ${file}: tensor ${JSON.stringify(name)}: entry ${bad} (row ${Math.floor(bad / cols)}, col ${bad % cols}) ` +
            (over ? 'overflows f32' : `is ${data[bad]}`) +
            ' and a Mat holds finite values only (read it without an engine to inspect it)',
        );
      }
      return eng.matrix(data, rows, cols) as never;
    },
    async readBytes(name: string): Promise<Uint8Array> {
      const f = 'readBytes';
      if (closed) throw new Error(`${f}: ${file} has been closed`);
      const e = entry(f, name);
      const out = new Uint8Array(e.bytes);
      for (let pos = 0; pos < e.bytes; pos += chunk) {
        const len = Math.min(chunk, e.bytes - pos);
        const got = await readFully(fh, out.subarray(pos, pos + len), e.offset + pos);
        if (got < len)
          throw new SafetensorsFormatError(f, file, e.name, `data is truncated at byte ${e.offset + pos + got} (the file shrank?)`);
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };

  /** One element of a tensor, as a number (for error messages). */
  async function f64At(e: Entry, i: number): Promise<number> {
    const b = new Uint8Array(8);
    await readFully(fh, b.subarray(0, 8), e.offset + i * 8);
    return new DataView(b.buffer).getFloat64(0, true);
  }
}

function naturalArray(dtype: SafetensorsDType, n: number): { ctor: unknown; make: () => SafetensorsArray; direct: boolean } {
  switch (dtype) {
    case 'F32':
      return { ctor: Float32Array, make: () => new Float32Array(n), direct: true };
    case 'F64':
      return { ctor: Float64Array, make: () => new Float64Array(n), direct: true };
    case 'F16':
    case 'BF16':
    case 'F8_E4M3':
    case 'F8_E5M2':
      return { ctor: Float32Array, make: () => new Float32Array(n), direct: false };
    case 'I8':
      return { ctor: Int8Array, make: () => new Int8Array(n), direct: true };
    case 'U8':
      return { ctor: Uint8Array, make: () => new Uint8Array(n), direct: true };
    case 'BOOL':
      return { ctor: Uint8Array, make: () => new Uint8Array(n), direct: false };
    case 'I16':
      return { ctor: Int16Array, make: () => new Int16Array(n), direct: true };
    case 'U16':
      return { ctor: Uint16Array, make: () => new Uint16Array(n), direct: true };
    case 'I32':
      return { ctor: Int32Array, make: () => new Int32Array(n), direct: true };
    case 'U32':
      return { ctor: Uint32Array, make: () => new Uint32Array(n), direct: true };
    case 'I64':
      return { ctor: BigInt64Array, make: () => new BigInt64Array(n), direct: true };
    case 'U64':
      return { ctor: BigUint64Array, make: () => new BigUint64Array(n), direct: true };
  }
}

/** Converts one chunk of raw little-endian (already host-order) elements into `out[from ..]`. */
function convertInto(dtype: SafetensorsDType, raw: Uint8Array, out: SafetensorsArray, from: number): void {
  // `raw` is a view at offset 0 of a fresh buffer, so typed views of it are aligned
  const item = ITEM_SIZE[dtype];
  const count = raw.length / item;
  const buf = raw.buffer,
    off = raw.byteOffset;
  if (dtype === 'F16' || dtype === 'BF16') {
    const src = new Uint16Array(buf, off, count);
    const dst = (out as Float32Array | Float64Array).subarray(from, from + count);
    if (dtype === 'F16') widenF16(src, dst);
    else widenBf16(src, dst);
    return;
  }
  if (dtype === 'F8_E5M2') {
    // e5m2 is the high byte of an f16
    const dst = out as Float32Array | Float64Array;
    for (let i = 0; i < count; i++) dst[from + i] = f16BitsToNumber(raw[i] << 8);
    return;
  }
  if (dtype === 'F8_E4M3') {
    const t = f8e4m3Table();
    const dst = out as Float32Array | Float64Array;
    for (let i = 0; i < count; i++) dst[from + i] = t[raw[i]];
    return;
  }
  if (dtype === 'BOOL') {
    for (let i = 0; i < count; i++) (out as Uint8Array)[from + i] = raw[i] ? 1 : 0;
    return;
  }
  let src: ArrayLike<number> | ArrayLike<bigint>;
  switch (dtype) {
    case 'F32':
      src = new Float32Array(buf, off, count);
      break;
    case 'F64':
      src = new Float64Array(buf, off, count);
      break;
    case 'I8':
      src = new Int8Array(buf, off, count);
      break;
    case 'U8':
      src = raw;
      break;
    case 'I16':
      src = new Int16Array(buf, off, count);
      break;
    case 'U16':
      src = new Uint16Array(buf, off, count);
      break;
    case 'I32':
      src = new Int32Array(buf, off, count);
      break;
    case 'U32':
      src = new Uint32Array(buf, off, count);
      break;
    case 'I64':
      src = new BigInt64Array(buf, off, count);
      break;
    case 'U64':
      src = new BigUint64Array(buf, off, count);
      break;
  }
  if (typeof (src as ArrayLike<unknown>)[0] === 'bigint' && !(out instanceof BigInt64Array || out instanceof BigUint64Array)) {
    const s = src as ArrayLike<bigint>;
    const dst = out as Float32Array | Float64Array;
    for (let i = 0; i < count; i++) dst[from + i] = Number(s[i]);
    return;
  }
  (out as Float64Array).set(src as ArrayLike<number>, from);
}

// -------------------------------------------------------------------------------------------------
// writing

/** Values of a tensor to write: an array, a Mat, or a function producing one when its turn comes. */
export type SafetensorsData = Float32Array | Float64Array | Mat | (() => Promise<Float32Array | Float64Array | Mat>);

/**
 * One tensor to write: `data` (values, converted to `dtype`), or `raw` (bytes written as they are, for
 * any dtype, e.g. from {@link SafetensorsFile.readBytes}). A function as `data` or `raw` is called when
 * the tensor's turn comes (so a tool can stream a whole model through one tensor at a time); `shape`
 * is then required, and so is `dtype` for `raw`.
 */
export interface SafetensorsTensor {
  name?: string;
  /** Element type in the file; default F32 for f32 data, F64 for f64 data. Any dtype with `raw`. */
  dtype?: SafetensorsWriteDType | SafetensorsDType;
  /** Default: `[data.length]` for a typed array, `[rows, cols]` for a Mat. prod(shape) must equal the length. */
  shape?: readonly number[];
  data?: SafetensorsData;
  raw?: Uint8Array | (() => Promise<Uint8Array>);
}

export interface SafetensorsWriteOptions {
  /** The header's `__metadata__` (string values). */
  metadata?: Record<string, string>;
  /** Bytes per conversion and write (default 64 MiB). */
  chunkBytes?: number;
}

const WRITE_DTYPES: readonly SafetensorsWriteDType[] = ['F32', 'F16', 'BF16', 'F64'];

function isMat(v: unknown): v is Mat {
  return v !== null && typeof v === 'object' && typeof (v as Mat).toArray === 'function' && typeof (v as Mat).rows === 'number';
}

/**
 * Writes tensors as a safetensors file, streaming: the header first (offsets computed from the
 * shapes), then each tensor converted and written in chunks (a Mat is downloaded when its turn
 * comes, so at most one tensor is on the host at a time). F32 / F16 / BF16 / F64; f16 and bf16 round
 * to nearest even, overflow to +-Infinity and keep NaN a (quiet) NaN. The header is padded with spaces
 * to a multiple of 8 bytes, `__metadata__` first, then the tensors in the given order (their data in
 * that order, contiguous). The file is written to a temporary file in the same folder and renamed
 * over `path` at the end: a failure never leaves a partial file at `path`.
 *
 * @example
 * ```ts
 * await writeSafetensors('out.safetensors', [
 *   { name: 'layer.L', data: L, dtype: 'BF16' },
 *   { name: 'bias', data: new Float32Array([0.1, 0.2]) },
 * ], { metadata: { format: 'pt' } });
 * ```
 */
export async function writeSafetensors(
  file: string,
  tensors: readonly SafetensorsTensor[] | Record<string, Omit<SafetensorsTensor, 'name'>>,
  options?: SafetensorsWriteOptions,
): Promise<void> {
  const fn = 'writeSafetensors';
  if (typeof file !== 'string') throw new TypeError(`${fn}: 'path' must be a string, got ${describeValue(file)}`);
  const o = checkOptions<SafetensorsWriteOptions>(fn, options, ['metadata', 'chunkBytes']);
  const chunk = checkChunk(fn, o.chunkBytes);
  if (tensors === null || typeof tensors !== 'object')
    throw new TypeError(
      `${fn}: 'tensors' must be an array of { name, data, dtype?, shape? } or a record name -> { data, ... }, got ${describeValue(tensors)}`,
    );
  const list: SafetensorsTensor[] = Array.isArray(tensors)
    ? tensors
    : Object.entries(tensors).map(([name, t]) => ({ ...(t as SafetensorsTensor), name }));
  const meta = o.metadata;
  if (meta !== undefined) {
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta))
      throw new TypeError(`${fn}: 'metadata' must be a record of strings, got ${describeValue(meta)}`);
    for (const [k, v] of Object.entries(meta))
      if (typeof v !== 'string')
        throw new TypeError(`${fn}: 'metadata' value of ${JSON.stringify(k)} must be a string, got ${describeValue(v)}`);
  }

  interface Plan {
    name: string;
    dtype: SafetensorsDType;
    shape: number[];
    /** Values (converted to dtype) or raw bytes; a function is called at write time. */
    data?: SafetensorsData;
    raw?: Uint8Array | (() => Promise<Uint8Array>);
    n: number;
    begin: number;
    end: number;
  }
  const plans: Plan[] = [];
  const seen = new Set<string>();
  let offset = 0;
  list.forEach((t, i) => {
    const at = `tensors[${i}]`;
    if (t === null || typeof t !== 'object')
      throw new TypeError(`${fn}: ${at} must be { name, data, dtype?, shape? }, got ${describeValue(t)}`);
    const name = t.name;
    if (typeof name !== 'string') throw new TypeError(`${fn}: ${at}.name must be a string, got ${describeValue(name)}`);
    if (name === '') throw new RangeError(`${fn}: ${at}.name is empty`);
    if (name === '__metadata__') throw new RangeError(`${fn}: ${at}.name "__metadata__" is reserved for the metadata`);
    if (seen.has(name)) throw new RangeError(`${fn}: tensor name ${JSON.stringify(name)} appears twice`);
    seen.add(name);
    const tn = `tensor ${JSON.stringify(name)}`;
    const { data, raw } = t;
    if ((data === undefined) === (raw === undefined)) throw new TypeError(`${fn}: ${tn}: give exactly one of 'data' and 'raw'`);
    const lazy = typeof data === 'function' || typeof raw === 'function';
    if (raw !== undefined) {
      if (typeof raw !== 'function' && !(raw instanceof Uint8Array))
        throw new TypeError(`${fn}: ${tn}: 'raw' must be a Uint8Array or a function returning one, got ${describeValue(raw)}`);
      if (typeof t.dtype !== 'string' || !(t.dtype in ITEM_SIZE))
        throw new (typeof t.dtype === 'string' ? RangeError : TypeError)(
          `${fn}: ${tn}: 'raw' needs 'dtype', one of ${DTYPES.join(', ')}, got ${describeValue(t.dtype)}`,
        );
    }
    const mat = data !== undefined && typeof data !== 'function' && isMat(data);
    if (data !== undefined && typeof data !== 'function' && !mat && !(data instanceof Float32Array || data instanceof Float64Array))
      throw new TypeError(
        `${fn}: ${tn}: 'data' must be a Float32Array, Float64Array, Mat or a function returning one, got ${describeValue(data)}`,
      );
    if (mat && (data as Mat).disposed) throw new TypeError(`${fn}: ${tn}: 'data' is a disposed Mat`);
    if (lazy && t.shape === undefined) throw new TypeError(`${fn}: ${tn}: 'shape' is required when the data comes from a function`);
    const known =
      raw instanceof Uint8Array
        ? undefined
        : mat
          ? (data as Mat).rows * (data as Mat).cols
          : data instanceof Float32Array || data instanceof Float64Array
            ? data.length
            : undefined;
    const f32 = mat ? (data as Mat).dtype === 'f32' : !(data instanceof Float64Array);
    const dtype = t.dtype ?? (f32 ? 'F32' : 'F64');
    if (raw === undefined && !WRITE_DTYPES.includes(dtype as SafetensorsWriteDType))
      throw new (typeof dtype === 'string' ? RangeError : TypeError)(
        `${fn}: ${tn}: 'dtype' must be one of ${WRITE_DTYPES.join(', ')} (any dtype with 'raw'), got ${describeValue(dtype)}`,
      );
    const shape = t.shape ?? (mat ? [(data as Mat).rows, (data as Mat).cols] : raw instanceof Uint8Array ? undefined : [known!]);
    if (!Array.isArray(shape)) throw new TypeError(`${fn}: ${tn}: 'shape' must be an array, got ${describeValue(shape)}`);
    for (const d of shape)
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
        throw new RangeError(`${fn}: ${tn}: 'shape' entries must be non-negative integers, got ${JSON.stringify(shape)}`);
    const n = prod(shape);
    if (known !== undefined && n !== known)
      throw new RangeError(`${fn}: ${tn}: 'shape' [${shape.join(', ')}] holds ${n} values, but 'data' has ${known}`);
    const bytes = n * ITEM_SIZE[dtype];
    if (raw instanceof Uint8Array && raw.length !== bytes)
      throw new RangeError(`${fn}: ${tn}: 'raw' has ${raw.length} bytes, but ${dtype} [${shape.join(', ')}] needs ${bytes}`);
    plans.push({ name, dtype, shape: [...shape], data, raw, n, begin: offset, end: offset + bytes });
    offset += bytes;
  });

  const header: Record<string, unknown> = {};
  if (meta !== undefined) header.__metadata__ = { ...meta };
  for (const p of plans) header[p.name] = { dtype: p.dtype, shape: p.shape, data_offsets: [p.begin, p.end] };
  let json = JSON.stringify(header);
  const jsonBytes = () => Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonBytes() % 8)) % 8);
  const head = new Uint8Array(8 + jsonBytes());
  new DataView(head.buffer).setBigUint64(0, BigInt(jsonBytes()), true);
  new TextEncoder().encodeInto(json, head.subarray(8));

  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  const fh = await open(tmp, 'wx');
  let ok = false;
  try {
    await writeFully(fh, head);
    for (const p of plans) {
      const tn = `tensor ${JSON.stringify(p.name)}`;
      if (p.raw !== undefined) {
        const bytes = typeof p.raw === 'function' ? await p.raw() : p.raw;
        if (!(bytes instanceof Uint8Array) || bytes.length !== p.end - p.begin)
          throw new RangeError(`${fn}: ${tn}: 'raw' gave ${describeValue(bytes)}, expected a Uint8Array of ${p.end - p.begin} bytes`);
        for (let pos = 0; pos < bytes.length; pos += chunk) await writeFully(fh, bytes.subarray(pos, Math.min(bytes.length, pos + chunk)));
        continue;
      }
      const got = typeof p.data === 'function' ? await p.data() : p.data!;
      const src = isMat(got) ? await got.toArray() : got;
      if (!(src instanceof Float32Array || src instanceof Float64Array) || src.length !== p.n)
        throw new RangeError(`${fn}: ${tn}: 'data' gave ${describeValue(got)}, expected ${p.n} values (shape [${p.shape.join(', ')}])`);
      await writeTensor(fh, p.dtype as SafetensorsWriteDType, src, chunk);
    }
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await unlink(tmp).catch(() => undefined);
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

async function writeTensor(fh: FileHandle, dtype: SafetensorsWriteDType, src: Float32Array | Float64Array, chunk: number): Promise<void> {
  const item = ITEM_SIZE[dtype];
  const n = src.length;
  if (n === 0) return;
  const sameLayout = (dtype === 'F32' && src instanceof Float32Array) || (dtype === 'F64' && src instanceof Float64Array);
  if (sameLayout && HOST_LITTLE) {
    const bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
    for (let pos = 0; pos < bytes.length; pos += chunk) await writeFully(fh, bytes.subarray(pos, Math.min(bytes.length, pos + chunk)));
    return;
  }
  const per = Math.max(1, Math.floor(chunk / item));
  const buf = new ArrayBuffer(Math.min(per, n) * item);
  for (let from = 0; from < n; from += per) {
    const count = Math.min(per, n - from);
    const bytes = new Uint8Array(buf, 0, count * item);
    switch (dtype) {
      case 'F16':
        narrowF16(src, from, new Uint16Array(buf, 0, count));
        break;
      case 'BF16':
        narrowBf16(src, from, new Uint16Array(buf, 0, count));
        break;
      case 'F32':
        new Float32Array(buf, 0, count).set(src.subarray(from, from + count));
        break;
      case 'F64':
        new Float64Array(buf, 0, count).set(src.subarray(from, from + count));
        break;
    }
    if (!HOST_LITTLE) swapBytes(bytes, item);
    await writeFully(fh, bytes);
  }
}
