/**
 * Matrix Market (`.mtx`) files: read and write.
 *
 * Supported on reading:
 * - `coordinate` format with field `real` (also `double`), `integer` or `pattern` (values 1), and
 *   symmetry `general`, `symmetric` or `skew-symmetric`. Symmetric files list one triangle; the
 *   result holds both (each off-diagonal entry (i, j, v) also yields (j, i, v), or (j, i, -v) for
 *   skew-symmetric). Indices are returned **0-based**. (Entries of a symmetric file found above the
 *   diagonal are mirrored too, as SciPy does; a skew-symmetric file must not list its diagonal.)
 * - `array` format (dense, column-major in the file) with field `real`/`integer` and symmetry
 *   `general`, `symmetric` or `skew-symmetric`; returned **row-major**.
 * - Not supported: `complex` and `hermitian` (clear error), `vector` objects.
 *
 * Files are read as a stream, line by line, so a file of hundreds of millions of lines never exists
 * as one string; only the result arrays are held in memory. Malformed input raises an
 * {@link MtxFormatError} whose message names the file and the line number.
 *
 * Values `nan`, `inf`, `-inf` and Fortran exponents (`1.5D+03`) are accepted on reading; lowrank's
 * engine rejects non-finite values when the matrix is created, not here.
 */
import { createReadStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

export type MtxField = 'real' | 'integer' | 'pattern';
export type MtxSymmetry = 'general' | 'symmetric' | 'skew-symmetric';

/** A sparse matrix read from a `coordinate` file: 0-based COO triplets, symmetric entries expanded. */
export interface MtxCoordinate {
  kind: 'coordinate';
  rows: number;
  cols: number;
  /** Number of entries returned (after symmetric expansion). */
  nnz: number;
  row: Int32Array;
  col: Int32Array;
  /** Values (1 for `pattern` files). */
  val: Float64Array;
  /** Field and symmetry of the file. */
  field: MtxField;
  symmetry: MtxSymmetry;
}

/** A dense matrix read from an `array` file, row-major. */
export interface MtxArray {
  kind: 'array';
  rows: number;
  cols: number;
  /** Row-major values (the file is column-major). Symmetric files are expanded. */
  data: Float64Array;
  field: Exclude<MtxField, 'pattern'>;
  symmetry: MtxSymmetry;
}

export type MtxMatrix = MtxCoordinate | MtxArray;

/** Options of {@link readMtx}, {@link readMtxStream} and {@link parseMtx}. */
export interface MtxReadOptions {
  /**
   * Reject NaN and infinite values with a {@link MtxFormatError} naming the line (default false:
   * they are read as such).
   */
  finite?: boolean;
}

/** A malformed or unsupported Matrix Market file. `line` is 1-based. */
export class MtxFormatError extends Error {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string) {
    super(`${file}: line ${line}: ${message}`);
    this.name = 'MtxFormatError';
    this.file = file;
    this.line = line;
  }
}

const MAX_INDEX = 2 ** 31 - 1;

// -------------------------------------------------------------------------------------------------
// reading

/** Token boundaries of one line (at most 5 tokens are recorded; `count` is the true count). */
class Tokens {
  start = new Int32Array(5);
  end = new Int32Array(5);
  count = 0;
  split(s: string, from = 0, to = s.length): void {
    let n = 0;
    const len = to;
    let i = from;
    for (;;) {
      while (i < len) {
        const c = s.charCodeAt(i);
        if (c !== 32 && c !== 9 && c !== 13 && c !== 11 && c !== 12) break;
        i++;
      }
      if (i >= len) break;
      const st = i;
      while (i < len) {
        const c = s.charCodeAt(i);
        if (c === 32 || c === 9 || c === 13 || c === 11 || c === 12) break;
        i++;
      }
      if (n < 5) {
        this.start[n] = st;
        this.end[n] = i;
      }
      n++;
    }
    this.count = n;
  }
}

/** The line parser behind {@link parseMtx}, {@link readMtx} and {@link readMtxStream}. */
class MtxParser {
  private state: 'banner' | 'size' | 'entries' = 'banner';
  private format: 'coordinate' | 'array' = 'coordinate';
  private field: MtxField = 'real';
  private symmetry: MtxSymmetry = 'general';
  private rows = 0;
  private cols = 0;
  /** Entries declared (coordinate: nnz; array: values listed). */
  private declared = 0;
  private seen = 0;
  private offDiag = 0;
  private row: Int32Array = new Int32Array(0);
  private col: Int32Array = new Int32Array(0);
  private val: Float64Array = new Float64Array(0);
  private data: Float64Array = new Float64Array(0);
  /** Array format: position (i, j) of the next value in the file's column-major order. */
  private ai = 0;
  private aj = 0;
  private sizeLine = 0;
  private readonly t = new Tokens();

  constructor(
    private readonly file: string,
    private readonly finite = false,
  ) {}

  private fail(line: number, msg: string): never {
    throw new MtxFormatError(this.file, line, msg);
  }

  private tok(s: string, k: number): string {
    return s.slice(this.t.start[k], this.t.end[k]);
  }

  /** A positive or zero integer token, without allocating. */
  private int(s: string, k: number, line: number, what: string): number {
    const a = this.t.start[k],
      b = this.t.end[k];
    let v = 0;
    for (let p = a; p < b; p++) {
      const d = s.charCodeAt(p) - 48;
      if (d < 0 || d > 9) {
        if (p === a && s.charCodeAt(p) === 43 && b > a + 1) continue; // leading '+'
        this.fail(line, `${what} must be a non-negative integer, found ${JSON.stringify(this.tok(s, k))}`);
      }
      v = v * 10 + d;
    }
    if (v > Number.MAX_SAFE_INTEGER) this.fail(line, `${what} ${this.tok(s, k)} is too large`);
    return v;
  }

  private num(s: string, k: number, line: number): number {
    const tok = this.tok(s, k);
    let v = Number(tok);
    if (Number.isNaN(v) || (tok.length > 1 && (tok[1] === 'x' || tok[1] === 'X' || tok[1] === 'b' || tok[1] === 'o'))) {
      const low = tok.toLowerCase();
      if (low === 'nan' || low === '+nan' || low === '-nan') v = NaN;
      else if (low === 'inf' || low === '+inf' || low === 'infinity' || low === '+infinity') v = Infinity;
      else if (low === '-inf' || low === '-infinity') v = -Infinity;
      else {
        const fortran = /^[-+]?(\d+\.?\d*|\.\d+)[dD][-+]?\d+$/.test(tok) ? Number(tok.replace(/[dD]/, 'e')) : NaN;
        if (Number.isNaN(fortran)) this.fail(line, `value ${JSON.stringify(tok)} is not a number`);
        v = fortran;
      }
    }
    if (this.finite && !Number.isFinite(v))
      this.fail(line, `value ${JSON.stringify(tok)} is not finite (NaN and infinities are not accepted here)`);
    if (this.field === 'integer' && Number.isFinite(v) && !Number.isInteger(v))
      this.fail(line, `value ${JSON.stringify(tok)} is not an integer (the file declares field 'integer')`);
    return v;
  }

  /** Feeds one line: `s.slice(from, to)`, without its newline (passing bounds avoids a copy per line). */
  line(s: string, line: number, from = 0, to = s.length): void {
    if (this.state === 'banner') {
      this.banner(s.slice(from, to), line);
      return;
    }
    if (from < to && s.charCodeAt(from) === 37 /* % */) return; // comment
    this.t.split(s, from, to);
    if (this.t.count === 0) return; // blank line
    if (this.state === 'size') {
      this.size(s, line);
      return;
    }
    if (this.format === 'coordinate') this.coordEntry(s, line);
    else this.arrayEntry(s, line);
  }

  private banner(s: string, line: number): void {
    this.t.split(s);
    const t = this.t;
    if (t.count === 0 || this.tok(s, 0).toLowerCase() !== '%%matrixmarket')
      this.fail(line, `bad banner: expected "%%MatrixMarket matrix <format> <field> <symmetry>", found ${JSON.stringify(s.slice(0, 60))}`);
    if (t.count !== 5)
      this.fail(line, `bad banner: expected 4 words after %%MatrixMarket (matrix <format> <field> <symmetry>), found ${t.count - 1}`);
    const object = this.tok(s, 1).toLowerCase();
    const format = this.tok(s, 2).toLowerCase();
    const field = this.tok(s, 3).toLowerCase();
    const symmetry = this.tok(s, 4).toLowerCase();
    if (object !== 'matrix') this.fail(line, `unsupported object '${this.tok(s, 1)}' (only 'matrix' is supported)`);
    if (format !== 'coordinate' && format !== 'array')
      this.fail(line, `unsupported format '${this.tok(s, 2)}' (expected 'coordinate' or 'array')`);
    if (field === 'complex') this.fail(line, `unsupported field 'complex' (lowrank reads real, integer and pattern matrices)`);
    if (field !== 'real' && field !== 'double' && field !== 'integer' && field !== 'pattern')
      this.fail(line, `unsupported field '${this.tok(s, 3)}' (expected real, integer or pattern)`);
    if (field === 'pattern' && format === 'array') this.fail(line, `field 'pattern' is only valid with the coordinate format`);
    if (symmetry === 'hermitian') this.fail(line, `unsupported symmetry 'hermitian' (only meaningful for complex matrices)`);
    if (symmetry !== 'general' && symmetry !== 'symmetric' && symmetry !== 'skew-symmetric')
      this.fail(line, `unsupported symmetry '${this.tok(s, 4)}' (expected general, symmetric or skew-symmetric)`);
    this.format = format;
    this.field = field === 'double' ? 'real' : field;
    this.symmetry = symmetry;
    this.state = 'size';
  }

  private size(s: string, line: number): void {
    const want = this.format === 'coordinate' ? 3 : 2;
    if (this.t.count !== want)
      this.fail(
        line,
        `bad size line: expected ${want === 3 ? '"rows cols entries"' : '"rows cols"'} (${want} integers) for the ${this.format} format, found ${this.t.count} tokens`,
      );
    const m = this.int(s, 0, line, 'rows');
    const n = this.int(s, 1, line, 'cols');
    if (m > MAX_INDEX || n > MAX_INDEX) this.fail(line, `dimensions ${m} x ${n} exceed the largest supported (${MAX_INDEX})`);
    if (this.symmetry !== 'general' && m !== n) this.fail(line, `a ${this.symmetry} matrix must be square, got ${m} x ${n}`);
    this.rows = m;
    this.cols = n;
    this.sizeLine = line;
    if (this.format === 'coordinate') {
      const nnz = this.int(s, 2, line, 'entries');
      const max = this.symmetry === 'general' ? m * n : this.symmetry === 'symmetric' ? (n * (n + 1)) / 2 : (n * (n - 1)) / 2;
      if (nnz > max) this.fail(line, `${nnz} entries declared, more than a ${m} x ${n} ${this.symmetry} matrix can hold (${max})`);
      this.declared = nnz;
      try {
        this.row = new Int32Array(nnz);
        this.col = new Int32Array(nnz);
        this.val = new Float64Array(nnz);
      } catch {
        this.fail(line, `${nnz} entries do not fit in memory`);
      }
    } else {
      const n2 = this.symmetry === 'general' ? m * n : this.symmetry === 'symmetric' ? (n * (n + 1)) / 2 : (n * (n - 1)) / 2;
      this.declared = n2;
      try {
        this.data = new Float64Array(m * n);
      } catch {
        this.fail(line, `a dense ${m} x ${n} matrix does not fit in memory`);
      }
      this.ai = this.symmetry === 'skew-symmetric' ? 1 : 0;
      this.aj = 0;
    }
    this.state = 'entries';
  }

  private coordEntry(s: string, line: number): void {
    const pattern = this.field === 'pattern';
    const want = pattern ? 2 : 3;
    if (this.seen >= this.declared)
      this.fail(line, `more entries than the ${this.declared} declared on the size line (line ${this.sizeLine})`);
    if (this.t.count !== want)
      this.fail(
        line,
        `expected ${want} tokens (${pattern ? 'row col' : 'row col value'}) for a ${this.field} coordinate entry, found ${this.t.count}`,
      );
    const i = this.int(s, 0, line, 'row index');
    const j = this.int(s, 1, line, 'column index');
    if (i < 1 || i > this.rows) this.fail(line, `row index ${i} is out of range [1, ${this.rows}]`);
    if (j < 1 || j > this.cols) this.fail(line, `column index ${j} is out of range [1, ${this.cols}]`);
    const v = pattern ? 1 : this.num(s, 2, line);
    if (this.symmetry !== 'general') {
      if (i !== j) this.offDiag++;
      else if (this.symmetry === 'skew-symmetric' && v !== 0)
        this.fail(line, `diagonal entry (${i}, ${j}) in a skew-symmetric matrix (its diagonal must be zero and is not listed)`);
    }
    const k = this.seen++;
    this.row[k] = i - 1;
    this.col[k] = j - 1;
    this.val[k] = v;
  }

  private arrayEntry(s: string, line: number): void {
    if (this.seen >= this.declared) this.fail(line, `more values than the ${this.declared} the size line (line ${this.sizeLine}) implies`);
    if (this.t.count !== 1) this.fail(line, `expected 1 value per line in the array format, found ${this.t.count} tokens`);
    const v = this.num(s, 0, line);
    const n = this.cols,
      i = this.ai,
      j = this.aj;
    this.data[i * n + j] = v;
    if (this.symmetry === 'symmetric') this.data[j * n + i] = v;
    else if (this.symmetry === 'skew-symmetric') this.data[j * n + i] = -v;
    this.seen++;
    // next position in column-major order (lower triangle for symmetric kinds)
    if (++this.ai >= this.rows) {
      this.aj++;
      this.ai = this.symmetry === 'general' ? 0 : this.symmetry === 'symmetric' ? this.aj : this.aj + 1;
    }
  }

  /** Call after the last line; `lastLine` is the number of lines read. */
  end(lastLine: number): MtxMatrix {
    if (this.state === 'banner') this.fail(Math.max(1, lastLine), 'empty file: expected a %%MatrixMarket banner');
    if (this.state === 'size') this.fail(Math.max(1, lastLine), 'the file ends before the size line');
    if (this.seen < this.declared)
      this.fail(
        lastLine,
        `the file ends after ${this.seen} of the ${this.declared} ${this.format === 'coordinate' ? 'entries' : 'values'} declared on the size line (line ${this.sizeLine})`,
      );
    if (this.format === 'array')
      return {
        kind: 'array',
        rows: this.rows,
        cols: this.cols,
        data: this.data,
        field: this.field as MtxArray['field'],
        symmetry: this.symmetry,
      };
    let { row, col, val } = this;
    if (this.symmetry !== 'general' && this.offDiag > 0) {
      const total = this.seen + this.offDiag;
      const r = new Int32Array(total),
        c = new Int32Array(total),
        v = new Float64Array(total);
      const sign = this.symmetry === 'skew-symmetric' ? -1 : 1;
      let p = 0;
      for (let k = 0; k < this.seen; k++) {
        const i = row[k],
          j = col[k],
          x = val[k];
        r[p] = i;
        c[p] = j;
        v[p] = x;
        p++;
        if (i !== j) {
          r[p] = j;
          c[p] = i;
          v[p] = sign * x;
          p++;
        }
      }
      row = r;
      col = c;
      val = v;
    }
    return {
      kind: 'coordinate',
      rows: this.rows,
      cols: this.cols,
      nnz: row.length,
      row,
      col,
      val,
      field: this.field,
      symmetry: this.symmetry,
    };
  }
}

/** Parses a whole Matrix Market file held in a string. `name` is used in error messages. */
export function parseMtx(text: string, name = '<string>', options: MtxReadOptions = {}): MtxMatrix {
  if (typeof text !== 'string') throw new TypeError(`parseMtx: expected a string, got ${typeof text}`);
  const p = new MtxParser(name, options.finite === true);
  let line = 0;
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    p.line(text, ++line, pos, nl);
    pos = nl + 1;
  }
  return p.end(line);
}

/**
 * Parses a Matrix Market file from a stream of chunks (strings, or bytes decoded as UTF-8), line by
 * line. `name` is used in error messages.
 */
export async function readMtxStream(
  source: AsyncIterable<string | Uint8Array>,
  name = '<stream>',
  options: MtxReadOptions = {},
): Promise<MtxMatrix> {
  const p = new MtxParser(name, options.finite === true);
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  for await (const chunk of source) {
    const s = typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    if (s.length === 0) continue;
    let pos = 0;
    let nl = s.indexOf('\n');
    if (nl < 0) {
      rest += s;
      continue;
    }
    if (rest.length > 0) {
      // the line that straddles the previous chunk
      p.line(rest + s.slice(0, nl), ++line);
      rest = '';
      pos = nl + 1;
      nl = s.indexOf('\n', pos);
    }
    while (nl >= 0) {
      p.line(s, ++line, pos, nl);
      pos = nl + 1;
      nl = s.indexOf('\n', pos);
    }
    rest = s.slice(pos);
  }
  rest += decoder.end();
  if (rest.length > 0) p.line(rest, ++line);
  return p.end(line);
}

/**
 * Reads a Matrix Market file, streaming it line by line (see the module documentation for what is
 * supported and how symmetric files are expanded).
 *
 * @example
 * ```ts
 * const m = await readMtx('ratings.mtx');
 * if (m.kind === 'coordinate') {
 *   const S = eng.sparse({ rows: m.rows, cols: m.cols, row: m.row, col: m.col, val: m.val });
 * }
 * ```
 */
export async function readMtx(path: string, options: MtxReadOptions = {}): Promise<MtxMatrix> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    return await readMtxStream(stream, path, options);
  } finally {
    stream.destroy();
  }
}

// -------------------------------------------------------------------------------------------------
// writing

/** Input of {@link writeMtx} / {@link formatMtx}: COO triplets (0-based) or a dense row-major matrix. */
export type MtxInput =
  | {
      kind: 'coordinate';
      rows: number;
      cols: number;
      row: ArrayLike<number>;
      col: ArrayLike<number>;
      /** Values; may be omitted for field 'pattern'. */
      val?: ArrayLike<number>;
    }
  | { kind: 'array'; rows: number; cols: number; data: ArrayLike<number> };

export interface MtxWriteOptions {
  /** Default `'real'` (`'integer'` checks that every value is an integer; `'pattern'` writes no values, coordinate only). */
  field?: MtxField;
  /**
   * Default `'general'`. With `'symmetric'` only entries on or below the diagonal are written (with
   * `'skew-symmetric'`, strictly below); the caller guarantees the matrix has that symmetry, so the
   * output of {@link readMtx} of a symmetric file round-trips.
   */
  symmetry?: MtxSymmetry;
  /** Comment lines written after the banner (without the leading '%'). */
  comment?: string | string[];
}

function fmtValue(v: number, integer: boolean, fn: string, where: string): string {
  if (Number.isFinite(v)) {
    if (integer && !Number.isInteger(v)) throw new RangeError(`${fn}: ${where} = ${v} is not an integer (field 'integer')`);
    return String(v);
  }
  if (Number.isNaN(v)) return 'nan';
  if (typeof v !== 'number') throw new TypeError(`${fn}: ${where} is not a number`);
  return v > 0 ? 'inf' : '-inf';
}

function checkDimArg(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_INDEX)
    throw new RangeError(`${fn}: '${name}' must be an integer in [0, ${MAX_INDEX}], got ${String(v)}`);
  return v;
}

/** Yields the file in pieces of roughly 1 MB. */
function* mtxChunks(fn: string, m: MtxInput, options: MtxWriteOptions | undefined): Generator<string> {
  if (m === null || typeof m !== 'object') throw new TypeError(`${fn}: expected { kind: 'coordinate' | 'array', ... }`);
  const o = options ?? {};
  for (const k of Object.keys(o))
    if (k !== 'field' && k !== 'symmetry' && k !== 'comment')
      throw new TypeError(`${fn}: unknown option '${k}' (known: field, symmetry, comment)`);
  const field = o.field ?? 'real';
  const symmetry = o.symmetry ?? 'general';
  if (field !== 'real' && field !== 'integer' && field !== 'pattern')
    throw new RangeError(`${fn}: 'field' must be 'real', 'integer' or 'pattern', got ${JSON.stringify(field)}`);
  if (symmetry !== 'general' && symmetry !== 'symmetric' && symmetry !== 'skew-symmetric')
    throw new RangeError(`${fn}: 'symmetry' must be 'general', 'symmetric' or 'skew-symmetric', got ${JSON.stringify(symmetry)}`);
  const rows = checkDimArg(fn, 'rows', m.rows),
    cols = checkDimArg(fn, 'cols', m.cols);
  if (symmetry !== 'general' && rows !== cols) throw new RangeError(`${fn}: a ${symmetry} matrix must be square, got ${rows} x ${cols}`);
  const integer = field === 'integer';
  const comments = o.comment === undefined ? [] : Array.isArray(o.comment) ? o.comment : [o.comment];
  const head: string[] = [];
  if (m.kind === 'coordinate') head.push(`%%MatrixMarket matrix coordinate ${field} ${symmetry}`);
  else if (m.kind === 'array') {
    if (field === 'pattern') throw new RangeError(`${fn}: field 'pattern' is only valid for the coordinate format`);
    head.push(`%%MatrixMarket matrix array ${field} ${symmetry}`);
  } else throw new TypeError(`${fn}: 'kind' must be 'coordinate' or 'array', got ${JSON.stringify((m as { kind: unknown }).kind)}`);
  for (const c of comments) for (const l of String(c).split('\n')) head.push(`%${l}`);

  const LIMIT = 1 << 20;
  let buf = '';
  if (m.kind === 'coordinate') {
    const { row, col, val } = m;
    const n = row?.length;
    if (typeof n !== 'number' || col?.length !== n) throw new RangeError(`${fn}: 'row' and 'col' must be arrays of the same length`);
    if (field !== 'pattern' && (val === undefined || val.length !== n))
      throw new RangeError(`${fn}: 'val' must have the same length as 'row' (${n}) unless field is 'pattern'`);
    const keep = (i: number, j: number) => (symmetry === 'general' ? true : symmetry === 'symmetric' ? i >= j : i > j);
    let count = 0;
    for (let k = 0; k < n; k++) {
      const i = row[k],
        j = col[k];
      if (!Number.isInteger(i) || i < 0 || i >= rows) throw new RangeError(`${fn}: row[${k}] = ${i} is out of range [0, ${rows})`);
      if (!Number.isInteger(j) || j < 0 || j >= cols) throw new RangeError(`${fn}: col[${k}] = ${j} is out of range [0, ${cols})`);
      if (keep(i, j)) count++;
    }
    buf = head.join('\n') + `\n${rows} ${cols} ${count}\n`;
    for (let k = 0; k < n; k++) {
      const i = row[k],
        j = col[k];
      if (!keep(i, j)) continue;
      buf += field === 'pattern' ? `${i + 1} ${j + 1}\n` : `${i + 1} ${j + 1} ${fmtValue(val![k], integer, fn, `val[${k}]`)}\n`;
      if (buf.length >= LIMIT) {
        yield buf;
        buf = '';
      }
    }
  } else {
    const { data } = m;
    if (data?.length !== rows * cols)
      throw new RangeError(`${fn}: 'data' has length ${data?.length}, expected rows * cols = ${rows * cols}`);
    buf = head.join('\n') + `\n${rows} ${cols}\n`;
    for (let j = 0; j < cols; j++) {
      const i0 = symmetry === 'general' ? 0 : symmetry === 'symmetric' ? j : j + 1;
      for (let i = i0; i < rows; i++) {
        buf += fmtValue(data[i * cols + j], integer, fn, `data[${i * cols + j}]`) + '\n';
        if (buf.length >= LIMIT) {
          yield buf;
          buf = '';
        }
      }
    }
  }
  if (buf.length > 0) yield buf;
}

/** The Matrix Market text of a matrix (see {@link writeMtx}). */
export function formatMtx(m: MtxInput, options?: MtxWriteOptions): string {
  return Array.from(mtxChunks('formatMtx', m, options)).join('');
}

/**
 * Writes a Matrix Market file, streaming it in ~1 MB pieces. Indices of coordinate input are 0-based
 * (written 1-based); dense input is row-major (written column-major, as the format requires).
 * Values are written with full precision (shortest text that round-trips the double).
 */
export async function writeMtx(path: string, m: MtxInput, options?: MtxWriteOptions): Promise<void> {
  const chunks = mtxChunks('writeMtx', m, options);
  const first = chunks.next(); // validate before creating the file
  const fh = await open(path, 'w');
  try {
    if (!first.done) await fh.write(first.value);
    for (const c of chunks) await fh.write(c);
  } catch (e) {
    await fh.close();
    await unlink(path).catch(() => {});
    throw e;
  }
  await fh.close();
}
