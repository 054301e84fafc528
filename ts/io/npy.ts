/**
 * NumPy `.npy` files: read, write and stream float32 / float64 matrices.
 *
 * Supported:
 * - format versions 1.0, 2.0 and 3.0 (3.0 only differs by a UTF-8 header);
 * - dtypes `'<f4'`, `'<f8'` (and the big-endian `'>f4'`, `'>f8'`, byte-swapped on reading; `'=f4'` and
 *   `'=f8'` are read as little-endian, which is what NumPy means on every platform Node runs on);
 * - integer and boolean files (`i1 i2 i4 i8 u1 u2 u4 u8 b1`, either byte order; labels, indices, masks),
 *   read as f64 (exact: a value beyond 2^53 in magnitude is an error naming its row and column);
 * - C order (row-major) and Fortran order (column-major; returned transposed to row-major);
 * - 1-D and 2-D shapes. **A 1-D array of length n is returned as an n x 1 column vector**
 *   (`shape: [n, 1]`, `ndim: 1`), matching `engine.matrix(flatArray)`.
 *
 * Everything returned is row-major. Malformed files raise an {@link NpyFormatError} whose message
 * names the file and the byte offset of the problem.
 */
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { DType } from '../types.js';

/** Element type of a matrix read from or written to a `.npy` file. */
export type NpyDType = DType;

/** A matrix read from a `.npy` file. */
export interface NpyArray {
  /** Row-major data (Fortran-order files are transposed on reading). */
  data: Float32Array | Float64Array;
  /** `[rows, cols]`; a 1-D array of length n is `[n, 1]` (a column vector). */
  shape: [number, number];
  /** `'f32'` for `f4` files, `'f64'` for `f8` files and for integer / boolean files (converted exactly). */
  dtype: NpyDType;
  /** The file stored the data in Fortran (column-major) order. `data` is row-major regardless. */
  fortranOrder: boolean;
  /** Number of dimensions in the file (1 or 2). */
  ndim: 1 | 2;
  /** Byte order of the file's data (`data` is always in host order). */
  littleEndian: boolean;
  /** Format version of the header, e.g. `[1, 0]`. */
  version: [number, number];
}

/** Header of a `.npy` file (everything but the data). */
export interface NpyHeader {
  version: [number, number];
  dtype: NpyDType;
  /** The dtype string as written in the file, e.g. `'<f8'` or `'<i8'`. */
  descr: string;
  /** Bytes per element in the file (1, 2, 4 or 8). */
  itemSize: number;
  /** What the file stores: floats, signed or unsigned integers, or booleans (the last three read as f64). */
  kind: 'float' | 'int' | 'uint' | 'bool';
  littleEndian: boolean;
  fortranOrder: boolean;
  /** `[rows, cols]` (a 1-D array of length n: `[n, 1]`). */
  shape: [number, number];
  ndim: 1 | 2;
  /** Bytes before the data (magic, version, length field, header dict and padding). */
  headerBytes: number;
  /** Bytes of data the shape needs. */
  dataBytes: number;
}

/** A malformed or unsupported `.npy` file. `offset` is the byte offset of the problem in the file. */
export class NpyFormatError extends Error {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, message: string) {
    super(`${file}: ${message} (at byte offset ${offset})`);
    this.name = 'NpyFormatError';
    this.file = file;
    this.offset = offset;
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const HOST_LITTLE = endianness() === 'LE';
/** Largest single read/write (Node refuses buffers above 2 GiB - 1 per call). */
const IO_CHUNK = 1 << 30;
const SUPPORTED = "'<f4' (float32), '<f8' (float64), integers i1 .. i8 / u1 .. u8 and booleans b1 (read as float64), either byte order";

// -------------------------------------------------------------------------------------------------
// header parsing

/** Bytes needed to know the full header size: magic (6) + version (2) + length field (2 or 4). */
const PREAMBLE_MAX = 12;

/**
 * Parses the fixed preamble. Returns the header length field and where the dict starts, or throws
 * when the magic, the version or the size of the buffer is wrong.
 */
function parsePreamble(file: string, b: Uint8Array, fileSize: number): { version: [number, number]; dictStart: number; dictLen: number } {
  if (b.length < 8) {
    for (let i = 0; i < Math.min(6, b.length); i++)
      if (b[i] !== MAGIC[i]) throw new NpyFormatError(file, i, 'not a .npy file: bad magic string (expected "\\x93NUMPY")');
    throw new NpyFormatError(file, b.length, `truncated header: the file has only ${fileSize} bytes`);
  }
  for (let i = 0; i < 6; i++)
    if (b[i] !== MAGIC[i]) throw new NpyFormatError(file, i, 'not a .npy file: bad magic string (expected "\\x93NUMPY")');
  const major = b[6],
    minor = b[7];
  if (major < 1 || major > 3 || minor !== 0)
    throw new NpyFormatError(file, 6, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  const lenBytes = major === 1 ? 2 : 4;
  if (b.length < 8 + lenBytes) throw new NpyFormatError(file, b.length, `truncated header: the file has only ${fileSize} bytes`);
  const dictLen = major === 1 ? b[8] | (b[9] << 8) : (b[8] | (b[9] << 8) | (b[10] << 16)) + b[11] * 2 ** 24;
  const dictStart = 8 + lenBytes;
  if (dictStart + dictLen > fileSize)
    throw new NpyFormatError(
      file,
      fileSize,
      `truncated header: the header length field says ${dictLen} bytes from offset ${dictStart}, but the file ends at ${fileSize}`,
    );
  return { version: [major, minor], dictStart, dictLen };
}

type PyValue = string | boolean | number | number[] | { list: true };

/** A tiny parser for the Python dict literal of a .npy header. */
function parseDict(file: string, text: string, base: number): Map<string, { value: PyValue; at: number }> {
  let i = 0;
  const fail = (msg: string, at = i): never => {
    throw new NpyFormatError(file, base + at, `bad header dictionary: ${msg}`);
  };
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = (): string => {
    const q = text[i];
    const start = i;
    i++;
    let s = '';
    while (i < text.length && text[i] !== q) {
      if (text[i] === '\\') {
        i++;
        if (i >= text.length) break;
      }
      s += text[i++];
    }
    if (i >= text.length) fail('unterminated string', start);
    i++;
    return s;
  };
  const int = (): number => {
    const start = i;
    if (text[i] === '-' || text[i] === '+') i++;
    while (i < text.length && text[i] >= '0' && text[i] <= '9') i++;
    const tok = text.slice(start, i);
    if (text[i] === 'L' || text[i] === 'l') i++; // Python 2 long suffix
    if (!/^[-+]?\d+$/.test(tok)) fail(`expected an integer, found ${JSON.stringify(text.slice(start, start + 12))}`, start);
    return Number(tok);
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') return str();
    if (text.startsWith('True', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('False', i)) {
      i += 5;
      return false;
    }
    if (c === '(') {
      i++;
      const items: number[] = [];
      for (;;) {
        ws();
        if (text[i] === ')') {
          i++;
          return items;
        }
        items.push(int());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== ')') fail(`expected ',' or ')' in a tuple, found ${JSON.stringify(text[i] ?? 'end of header')}`);
      }
    }
    if (c === '[') {
      // A structured dtype (list of fields); skip it so the caller can report the dtype.
      let depth = 0;
      const start = i;
      do {
        if (i >= text.length) fail('unterminated list', start);
        if (text[i] === "'" || text[i] === '"') {
          str();
          continue;
        }
        if (text[i] === '[' || text[i] === '(') depth++;
        if (text[i] === ']' || text[i] === ')') depth--;
        i++;
      } while (depth > 0);
      return { list: true };
    }
    if (c === '-' || c === '+' || (c >= '0' && c <= '9')) return int();
    return fail(`unexpected ${JSON.stringify(c ?? 'end of header')}`);
  };

  const out = new Map<string, { value: PyValue; at: number }>();
  ws();
  if (text[i] !== '{') fail(`expected '{', found ${JSON.stringify(text[i] ?? 'end of header')}`);
  i++;
  for (;;) {
    ws();
    if (text[i] === '}') {
      i++;
      break;
    }
    if (text[i] !== "'" && text[i] !== '"') fail(`expected a quoted key or '}', found ${JSON.stringify(text[i] ?? 'end of header')}`);
    const keyAt = i;
    const key = str();
    ws();
    if (text[i] !== ':') fail(`expected ':' after key '${key}'`);
    i++;
    ws();
    const at = i;
    const v = value();
    if (out.has(key)) fail(`duplicate key '${key}'`, keyAt);
    out.set(key, { value: v, at });
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail(`expected ',' or '}', found ${JSON.stringify(text[i] ?? 'end of header')}`);
  }
  ws();
  if (i < text.length && text.slice(i).replace(/\0/g, '').trim() !== '') fail('unexpected text after the closing brace');
  return out;
}

/** Parses a header from the first bytes of a file (`b` must contain at least the whole header). */
function parseHeaderBytes(file: string, b: Uint8Array, fileSize: number): NpyHeader {
  const { version, dictStart, dictLen } = parsePreamble(file, b, fileSize);
  if (b.length < dictStart + dictLen) throw new NpyFormatError(file, b.length, 'truncated header');
  const dictBytes = b.subarray(dictStart, dictStart + dictLen);
  const text = new TextDecoder(version[0] === 3 ? 'utf-8' : 'latin1').decode(dictBytes);
  // Offsets inside `text` equal byte offsets except after non-ASCII characters of a v3 header.
  const dict = parseDict(file, text, dictStart);
  for (const key of dict.keys())
    if (key !== 'descr' && key !== 'fortran_order' && key !== 'shape')
      throw new NpyFormatError(file, dictStart, `bad header dictionary: unexpected key '${key}' (expected descr, fortran_order, shape)`);
  const get = (key: string) => {
    const e = dict.get(key);
    if (!e) throw new NpyFormatError(file, dictStart, `bad header dictionary: missing key '${key}'`);
    return e;
  };

  const d = get('descr');
  if (typeof d.value !== 'string')
    throw new NpyFormatError(
      file,
      dictStart + d.at,
      `unsupported dtype: structured/record arrays are not supported (lowrank reads ${SUPPORTED})`,
    );
  const descr = d.value;
  const m = /^([<>=|]?)([a-zA-Z])(\d+)$/.exec(descr);
  const kindCh = m?.[2],
    size = m?.[3];
  const okFloat = kindCh === 'f' && (size === '4' || size === '8') && m?.[1] !== '|';
  const okInt = (kindCh === 'i' || kindCh === 'u') && (size === '1' || size === '2' || size === '4' || size === '8');
  const okBool = kindCh === 'b' && size === '1';
  if (!m || !(okFloat || okInt || okBool))
    throw new NpyFormatError(
      file,
      dictStart + d.at,
      `unsupported dtype '${descr}' (lowrank reads ${SUPPORTED}; convert with arr.astype(np.float64) or np.float32)`,
    );
  const littleEndian = m[1] !== '>';
  const kind: NpyHeader['kind'] = okFloat ? 'float' : okBool ? 'bool' : kindCh === 'i' ? 'int' : 'uint';
  const dtype: NpyDType = okFloat && size === '4' ? 'f32' : 'f64';

  const f = get('fortran_order');
  if (typeof f.value !== 'boolean')
    throw new NpyFormatError(file, dictStart + f.at, `bad header dictionary: 'fortran_order' must be True or False`);

  const s = get('shape');
  if (!Array.isArray(s.value))
    throw new NpyFormatError(file, dictStart + s.at, `bad header dictionary: 'shape' must be a tuple of integers`);
  const dims = s.value;
  if (dims.length < 1 || dims.length > 2)
    throw new NpyFormatError(
      file,
      dictStart + s.at,
      `unsupported shape (${dims.join(', ')}${dims.length === 1 ? ',' : ''}): lowrank reads 1-D and 2-D arrays only`,
    );
  for (const v of dims)
    if (!Number.isSafeInteger(v) || v < 0)
      throw new NpyFormatError(file, dictStart + s.at, `bad header dictionary: negative or huge dimension ${v} in 'shape'`);
  const shape: [number, number] = dims.length === 1 ? [dims[0], 1] : [dims[0], dims[1]];
  const itemSize = Number(size);
  return {
    version,
    dtype,
    descr,
    itemSize,
    kind,
    littleEndian,
    fortranOrder: f.value,
    shape,
    ndim: dims.length as 1 | 2,
    headerBytes: dictStart + dictLen,
    dataBytes: shape[0] * shape[1] * itemSize,
  };
}

function checkDataSize(file: string, h: NpyHeader, fileSize: number): void {
  if (fileSize < h.headerBytes + h.dataBytes)
    throw new NpyFormatError(
      file,
      fileSize,
      `data is truncated: shape (${h.shape[0]}, ${h.shape[1]}) '${h.descr}' needs ${h.dataBytes} bytes from offset ${h.headerBytes}, ` +
        `but the file has only ${Math.max(0, fileSize - h.headerBytes)} (file ends at byte ${fileSize})`,
    );
}

// -------------------------------------------------------------------------------------------------
// data helpers

function alloc(dtype: NpyDType, n: number): Float32Array | Float64Array {
  return dtype === 'f32' ? new Float32Array(n) : new Float64Array(n);
}

function bytesOf(a: Float32Array | Float64Array | Int32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Reverses the byte order of every element in place. */
function swapBytes(b: Uint8Array, itemSize: number): void {
  if (itemSize === 4) {
    for (let i = 0; i + 3 < b.length; i += 4) {
      let t = b[i];
      b[i] = b[i + 3];
      b[i + 3] = t;
      t = b[i + 1];
      b[i + 1] = b[i + 2];
      b[i + 2] = t;
    }
  } else {
    for (let i = 0; i + 7 < b.length; i += 8) {
      for (let k = 0; k < 4; k++) {
        const t = b[i + k];
        b[i + k] = b[i + 7 - k];
        b[i + 7 - k] = t;
      }
    }
  }
}

/** Row-major copy of a column-major rows x cols array. */
function fromColumnMajor(a: Float32Array | Float64Array, rows: number, cols: number): Float32Array | Float64Array {
  const out = a instanceof Float32Array ? new Float32Array(a.length) : new Float64Array(a.length);
  const B = 64; // blocked to stay in cache on both sides
  for (let i0 = 0; i0 < rows; i0 += B)
    for (let j0 = 0; j0 < cols; j0 += B) {
      const i1 = Math.min(i0 + B, rows),
        j1 = Math.min(j0 + B, cols);
      for (let j = j0; j < j1; j++) for (let i = i0; i < i1; i++) out[i * cols + j] = a[j * rows + i];
    }
  return out;
}

/** Finishes raw file-order data: host byte order, row-major. */
function finishData(h: NpyHeader, raw: Float32Array | Float64Array): Float32Array | Float64Array {
  if (h.littleEndian !== HOST_LITTLE) swapBytes(bytesOf(raw), raw.BYTES_PER_ELEMENT);
  const [rows, cols] = h.shape;
  if (h.fortranOrder && rows > 1 && cols > 1) return fromColumnMajor(raw, rows, cols);
  return raw;
}

/**
 * Integer / boolean file bytes (file byte order and layout) -> f64 values in file layout. `first` is
 * the index of the first element (for error messages); values beyond 2^53 are refused.
 */
function convertInts(file: string, h: NpyHeader, raw: Uint8Array, first: number): Float64Array {
  const n = raw.length / h.itemSize;
  const out = new Float64Array(n);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = h.littleEndian;
  for (let i = 0; i < n; i++) {
    const at = i * h.itemSize;
    let v: number;
    switch (h.itemSize) {
      case 1:
        v = h.kind === 'int' ? dv.getInt8(at) : dv.getUint8(at);
        break;
      case 2:
        v = h.kind === 'int' ? dv.getInt16(at, le) : dv.getUint16(at, le);
        break;
      case 4:
        v = h.kind === 'int' ? dv.getInt32(at, le) : dv.getUint32(at, le);
        break;
      default: {
        const b = h.kind === 'int' ? dv.getBigInt64(at, le) : dv.getBigUint64(at, le);
        v = Number(b);
        if (b > 9007199254740992n || b < -9007199254740992n) {
          const e = first + i;
          const [rows, cols] = h.shape;
          const [r, c] = h.fortranOrder ? [e % rows, Math.floor(e / rows)] : [Math.floor(e / cols), e % cols];
          throw new NpyFormatError(
            file,
            h.headerBytes + e * 8,
            `entry (row ${r}, col ${c}) = ${b} of the '${h.descr}' array is not exactly representable as float64 (|x| > 2^53)`,
          );
        }
      }
    }
    out[i] = h.kind === 'bool' ? (v !== 0 ? 1 : 0) : v;
  }
  return out;
}

function result(h: NpyHeader, data: Float32Array | Float64Array): NpyArray {
  return {
    data,
    shape: [h.shape[0], h.shape[1]],
    dtype: h.dtype,
    fortranOrder: h.fortranOrder,
    ndim: h.ndim,
    littleEndian: h.littleEndian,
    version: [h.version[0], h.version[1]],
  };
}

async function readFully(fh: FileHandle, into: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < into.length) {
    const len = Math.min(IO_CHUNK, into.length - done);
    const { bytesRead } = await fh.read(into, done, len, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function writeFully(fh: FileHandle, b: Uint8Array): Promise<void> {
  for (let off = 0; off < b.length; ) {
    const { bytesWritten } = await fh.write(b, off, Math.min(IO_CHUNK, b.length - off));
    off += bytesWritten;
  }
}

/** Reads and parses the header of an open file. */
async function readHeader(file: string, fh: FileHandle, fileSize: number): Promise<NpyHeader> {
  const pre = new Uint8Array(Math.min(PREAMBLE_MAX, fileSize));
  await readFully(fh, pre, 0);
  const { dictStart, dictLen } = parsePreamble(file, pre, fileSize);
  const head = new Uint8Array(dictStart + dictLen);
  await readFully(fh, head, 0);
  return parseHeaderBytes(file, head, fileSize);
}

// -------------------------------------------------------------------------------------------------
// public API: in memory

/**
 * Parses a whole `.npy` file held in memory. The data is copied into a fresh typed array (so it is
 * aligned and independent of `bytes`). `name` is used in error messages.
 */
export function parseNpy(bytes: Uint8Array, name = '<buffer>'): NpyArray {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`parseNpy: expected a Uint8Array or Buffer, got ${typeof bytes}`);
  const h = parseHeaderBytes(name, bytes, bytes.length);
  checkDataSize(name, h, bytes.length);
  if (h.kind !== 'float') {
    const vals = convertInts(name, h, bytes.slice(h.headerBytes, h.headerBytes + h.dataBytes), 0);
    const [rows, cols] = h.shape;
    return result(h, h.fortranOrder && rows > 1 && cols > 1 ? fromColumnMajor(vals, rows, cols) : vals);
  }
  const raw = alloc(h.dtype, h.shape[0] * h.shape[1]);
  bytesOf(raw).set(bytes.subarray(h.headerBytes, h.headerBytes + h.dataBytes));
  return result(h, finishData(h, raw));
}

/** Parses only the header of an in-memory `.npy` file (`bytes` needs to hold at least the header). */
export function parseNpyHeader(bytes: Uint8Array, name = '<buffer>', fileSize = bytes.length): NpyHeader {
  return parseHeaderBytes(name, bytes, fileSize);
}

export interface NpyWriteOptions {
  /**
   * Element type in the file. Default: `'f32'` for a Float32Array, `'i32'` for an Int32Array,
   * otherwise `'f64'`. Values are converted (f64 -> f32 rounds to nearest); `'i32'` / `'i64'` (`<i4`,
   * `<i8`: labels and indices numpy can index with) need integer values in range.
   */
  dtype?: NpyDType | 'i32' | 'i64';
  /**
   * Format version of the header. Default: 1 (2 only when the header would not fit in version 1,
   * which never happens for 1-D/2-D shapes). 3 writes a UTF-8 header.
   */
  version?: 1 | 2 | 3;
}

function checkShape(fn: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 2)
    throw new TypeError(`${fn}: 'shape' must be [rows, cols] or [n] (1-D), got ${JSON.stringify(shape)}`);
  for (const d of shape)
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      throw new RangeError(`${fn}: 'shape' entries must be non-negative integers, got ${JSON.stringify(shape)}`);
  return shape as number[];
}

type WriteDType = NpyDType | 'i32' | 'i64';
const DESCR: Record<WriteDType, string> = { f32: '<f4', f64: '<f8', i32: '<i4', i64: '<i8' };

function headerFor(dims: readonly number[], dtype: WriteDType, version: 1 | 2 | 3 | undefined, fortranOrder = false): Uint8Array {
  const shapeStr = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  const dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${shapeStr}, }`;
  let ver = version ?? 1;
  let lenBytes = ver === 1 ? 2 : 4;
  const total = (pre: number) => Math.ceil((pre + dict.length + 1) / 64) * 64;
  if (ver === 1 && total(8 + lenBytes) - 10 > 0xffff) {
    ver = 2;
    lenBytes = 4;
  }
  const size = total(8 + lenBytes);
  const dictLen = size - 8 - lenBytes;
  const out = new Uint8Array(size);
  out.set(MAGIC, 0);
  out[6] = ver;
  out[7] = 0;
  if (lenBytes === 2) {
    out[8] = dictLen & 0xff;
    out[9] = dictLen >> 8;
  } else new DataView(out.buffer).setUint32(8, dictLen, true);
  const padded = dict + ' '.repeat(dictLen - dict.length - 1) + '\n';
  for (let i = 0; i < padded.length; i++) out[8 + lenBytes + i] = padded.charCodeAt(i); // ASCII
  return out;
}

/** Converts `data` to a little-endian typed array of `dtype` (no copy when it already is one). */
function asDType(fn: string, data: ArrayLike<number>, dtype: WriteDType): Float32Array | Float64Array | Int32Array | BigInt64Array {
  let out: Float32Array | Float64Array | Int32Array | BigInt64Array;
  if (dtype === 'i32' || dtype === 'i64') {
    const [lo, hi] = dtype === 'i32' ? [-(2 ** 31), 2 ** 31 - 1] : [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isInteger(v) || v < lo || v > hi)
        throw new RangeError(`${fn}: 'data' entry ${i} is ${v}, not an integer in [${lo}, ${hi}] (dtype '${dtype}')`);
    }
    if (dtype === 'i32') out = data instanceof Int32Array ? data : Int32Array.from(data);
    else out = BigInt64Array.from(Array.from(data, (v) => BigInt(v)));
  } else if (dtype === 'f32') out = data instanceof Float32Array ? data : Float32Array.from(data);
  else out = data instanceof Float64Array ? data : Float64Array.from(data);
  if (!HOST_LITTLE) {
    out = out.slice();
    swapBytes(bytesOf(out), out.BYTES_PER_ELEMENT);
  }
  return out;
}

function prepare(fn: string, data: ArrayLike<number>, shape: readonly number[], options: NpyWriteOptions | undefined) {
  const dims = checkShape(fn, shape);
  if (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number')
    throw new TypeError(`${fn}: 'data' must be a Float32Array, Float64Array or number[]`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new RangeError(`${fn}: 'data' has length ${data.length}, but shape [${dims.join(', ')}] needs ${n}`);
  const o = options ?? {};
  for (const k of Object.keys(o))
    if (k !== 'dtype' && k !== 'version') throw new TypeError(`${fn}: unknown option '${k}' (known: dtype, version)`);
  const dtype = o.dtype ?? (data instanceof Float32Array ? 'f32' : data instanceof Int32Array ? 'i32' : 'f64');
  if (!(dtype in DESCR)) throw new RangeError(`${fn}: 'dtype' must be 'f32', 'f64', 'i32' or 'i64', got ${JSON.stringify(dtype)}`);
  if (o.version !== undefined && o.version !== 1 && o.version !== 2 && o.version !== 3)
    throw new RangeError(`${fn}: 'version' must be 1, 2 or 3, got ${JSON.stringify(o.version)}`);
  return { header: headerFor(dims, dtype, o.version), body: asDType(fn, data, dtype) };
}

/**
 * Encodes a row-major matrix as a `.npy` file in memory (C order, little-endian).
 * `shape` is `[rows, cols]`, or `[n]` for a 1-D array.
 */
export function encodeNpy(data: ArrayLike<number>, shape: readonly number[], options?: NpyWriteOptions): Uint8Array {
  const { header, body } = prepare('encodeNpy', data, shape, options);
  const out = new Uint8Array(header.length + body.byteLength);
  out.set(header, 0);
  out.set(bytesOf(body), header.length);
  return out;
}

// -------------------------------------------------------------------------------------------------
// public API: files

/**
 * Reads a whole `.npy` file. The data is read straight into the returned typed array (no second
 * copy), except for Fortran-order files, which are transposed to row-major.
 */
export async function readNpy(path: string): Promise<NpyArray> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const h = await readHeader(path, fh, size);
    checkDataSize(path, h, size);
    if (h.kind !== 'float') {
      const bytes = new Uint8Array(h.dataBytes);
      const got = await readFully(fh, bytes, h.headerBytes);
      if (got < h.dataBytes) checkDataSize(path, h, h.headerBytes + got);
      const vals = convertInts(path, h, bytes, 0);
      const [rows, cols] = h.shape;
      return result(h, h.fortranOrder && rows > 1 && cols > 1 ? fromColumnMajor(vals, rows, cols) : vals);
    }
    const raw = alloc(h.dtype, h.shape[0] * h.shape[1]);
    const got = await readFully(fh, bytesOf(raw), h.headerBytes);
    if (got < h.dataBytes) checkDataSize(path, h, h.headerBytes + got); // the file shrank while reading
    return result(h, finishData(h, raw));
  } finally {
    await fh.close();
  }
}

/** Reads only the header of a `.npy` file. */
export async function readNpyHeader(path: string): Promise<NpyHeader> {
  const fh = await open(path, 'r');
  try {
    return await readHeader(path, fh, (await fh.stat()).size);
  } finally {
    await fh.close();
  }
}

/**
 * Writes a row-major matrix as a `.npy` file (C order, little-endian `<f4` or `<f8`).
 * `shape` is `[rows, cols]`, or `[n]` for a 1-D array.
 *
 * @example
 * ```ts
 * await writeNpy('S.npy', S, [S.length]);           // 1-D
 * await writeNpy('U.npy', await U.toArray(), U.shape);
 * ```
 */
export async function writeNpy(path: string, data: ArrayLike<number>, shape: readonly number[], options?: NpyWriteOptions): Promise<void> {
  const { header, body } = prepare('writeNpy', data, shape, options);
  if (body.byteLength < IO_CHUNK) {
    const out = new Uint8Array(header.length + body.byteLength);
    out.set(header, 0);
    out.set(bytesOf(body), header.length);
    await writeFile(path, out);
    return;
  }
  const fh = await open(path, 'w');
  try {
    await writeFully(fh, header);
    await writeFully(fh, bytesOf(body));
  } finally {
    await fh.close();
  }
}

// -------------------------------------------------------------------------------------------------
// streaming

/** An open `.npy` file read in row blocks (see {@link openNpy}). */
export interface NpyReader {
  readonly path: string;
  /** `[rows, cols]` (a 1-D array of length n: `[n, 1]`). */
  readonly shape: [number, number];
  readonly dtype: NpyDType;
  readonly fortranOrder: boolean;
  readonly ndim: 1 | 2;
  readonly littleEndian: boolean;
  readonly version: [number, number];
  /** Byte offset of the data (the size of magic + header). */
  readonly headerBytes: number;
  /**
   * Rows `start .. start + count - 1` as a row-major typed array of `count * cols` values, read with
   * one positioned read (concurrent calls are fine). Fortran-order 2-D files cannot be read by rows.
   */
  readRows(start: number, count: number): Promise<Float32Array | Float64Array>;
  /** Closes the file. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens a `.npy` file for reading in row blocks, for files larger than memory. The header is parsed
 * and the file size checked against the shape at once.
 *
 * @example
 * ```ts
 * const f = await openNpy('big.npy');
 * try {
 *   for (let r = 0; r < f.shape[0]; r += 10000) {
 *     const block = await f.readRows(r, Math.min(10000, f.shape[0] - r));
 *     // ...
 *   }
 * } finally {
 *   await f.close();
 * }
 * ```
 */
export async function openNpy(path: string): Promise<NpyReader> {
  const fh = await open(path, 'r');
  let h: NpyHeader;
  try {
    const size = (await fh.stat()).size;
    h = await readHeader(path, fh, size);
    checkDataSize(path, h, size);
  } catch (e) {
    await fh.close();
    throw e;
  }
  let closed = false;
  const [rows, cols] = h.shape;
  const itemSize = h.itemSize;
  const columnMajor = h.fortranOrder && rows > 1 && cols > 1;
  return {
    path,
    shape: [rows, cols],
    dtype: h.dtype,
    fortranOrder: h.fortranOrder,
    ndim: h.ndim,
    littleEndian: h.littleEndian,
    version: [h.version[0], h.version[1]],
    headerBytes: h.headerBytes,
    async readRows(start: number, count: number) {
      if (closed) throw new Error(`readRows: ${path} has been closed`);
      if (columnMajor)
        throw new Error(
          `readRows: ${path} is stored in Fortran (column-major) order, which cannot be read in row blocks; ` +
            'convert it once with numpy: np.save(out, np.ascontiguousarray(np.load(path, mmap_mode="r")))',
        );
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > rows)
        throw new RangeError(`readRows: rows ${start} .. ${start + count - 1} are out of range for ${path} with ${rows} rows`);
      const want = count * cols * itemSize;
      const pos = h.headerBytes + start * cols * itemSize;
      const raw = h.kind === 'float' ? alloc(h.dtype, count * cols) : null;
      const bytes = raw ? bytesOf(raw) : new Uint8Array(want);
      const got = await readFully(fh, bytes, pos);
      if (got < want)
        throw new NpyFormatError(path, pos + got, `data is truncated: expected ${want} bytes for rows ${start}..${start + count - 1}`);
      if (!raw) return convertInts(path, h, bytes, start * cols);
      if (h.littleEndian !== HOST_LITTLE) swapBytes(bytesOf(raw), itemSize);
      return raw;
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}

/** A `.npy` file written in row blocks (see {@link createNpyWriter}). */
export interface NpyWriter {
  readonly path: string;
  readonly shape: [number, number];
  readonly dtype: NpyDType;
  /** Rows written so far. */
  readonly rowsWritten: number;
  /** Appends whole rows (row-major, a multiple of `cols` values), converted to the file dtype. */
  writeRows(data: ArrayLike<number>): Promise<void>;
  /** Closes the file; rejects when fewer rows than the shape declares were written. */
  close(): Promise<void>;
}

/**
 * Creates a `.npy` file of a known shape and writes it in row blocks, for outputs larger than memory.
 * `shape` is `[rows, cols]`, or `[n]` for a 1-D array (written as n rows of 1 value).
 */
export async function createNpyWriter(path: string, shape: readonly number[], options?: { dtype?: NpyDType }): Promise<NpyWriter> {
  const fn = 'createNpyWriter';
  const dims = checkShape(fn, shape);
  const dtype = options?.dtype ?? 'f64';
  if (dtype !== 'f32' && dtype !== 'f64') throw new RangeError(`${fn}: 'dtype' must be 'f32' or 'f64', got ${JSON.stringify(dtype)}`);
  const rows = dims[0],
    cols = dims.length === 2 ? dims[1] : 1;
  const fh = await open(path, 'w');
  try {
    await writeFully(fh, headerFor(dims, dtype, undefined));
  } catch (e) {
    await fh.close();
    throw e;
  }
  let written = 0;
  let closed = false;
  return {
    path,
    shape: [rows, cols],
    dtype,
    get rowsWritten() {
      return written;
    },
    async writeRows(data: ArrayLike<number>) {
      if (closed) throw new Error(`writeRows: ${path} has been closed`);
      if (cols === 0 ? data.length !== 0 : data.length % cols !== 0)
        throw new RangeError(`writeRows: got ${data.length} values, not a whole number of rows of ${cols}`);
      const k = cols === 0 ? 0 : data.length / cols;
      if (written + k > rows)
        throw new RangeError(`writeRows: ${path} holds ${rows} rows; writing ${k} more after ${written} would exceed it`);
      await writeFully(fh, bytesOf(asDType('writeRows', data, dtype)));
      written += k;
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close();
      if (written !== rows) throw new Error(`${fn}: ${path} was closed after ${written} of ${rows} rows; the file is incomplete`);
    },
  };
}
