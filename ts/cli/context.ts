/**
 * What every `lowrank` subcommand gets: its parsed arguments, the output streams, the global flags
 * and helpers (engine creation, inputs, outputs, progress, the --json summary). A subcommand is one
 * module exporting `command` (see {@link Command}) and registered in commands.ts.
 *
 * ## Conventions for command authors (every command follows them; test/cli/conventions.test.ts
 * checks each one per command, and fails for a newly registered command until its row is added)
 *
 * - **Global flags** (GLOBAL_FLAGS, added to every command; never redefine them): --backend,
 *   --dtype, --threads, --max-memory, --format, --json, --quiet, -V/--version, -h/--help.
 * - **Inputs**: `const inp = await ctx.input(ctx.positionals[0])` resolves the argument (`-` is
 *   stdin, read whole), tells the format (--format, else the extension, else the first bytes:
 *   `\x93NUMPY` / `%%MatrixMarket`), reports a missing file or a folder in words, and reads the
 *   header (`inp.declared`: rows, cols, nnz, stored type) for memory estimates before loading.
 *   `const A = await ctx.readMatrix(inp)` then loads it, rejects NaN / infinities with the position
 *   in the user's terms (row and column, 1-based; .mtx: the file's line), and sets the engine dtype:
 *   --dtype when given, else the file's (float64 -> f64; float32, integers and booleans -> f32 with
 *   one note; Matrix Market 'real' -> f64 as numpy / scipy read text, 'integer' / 'pattern' -> f32).
 *   Call ctx.openEngine() AFTER ctx.input()/ctx.readMatrix() so that the dtype follows the file.
 * - **Outputs**: declare them before any work: `const out = await ctx.outputs('out', ['U.npy', ...])`
 *   resolves --out as a folder, refuses `--out -` for a folder of several files (with the list), and
 *   checks that every file can be written (not a folder, permissions) and creates the folder. Then
 *   write with `await ctx.writeNpy(out.path('U.npy'), data, shape)` (floats in the engine dtype;
 *   pass `{ dtype: 'i64' }` for indices and labels) or any writer on `out.path(name)`.
 *   A single-file output may allow `--out -` (stdout): `ctx.outputFile('out', { stdout: true })`.
 * - **Results**: human-readable lines with `ctx.out(line)` (stdout; dropped with --json). The
 *   machine-readable result goes through `ctx.report({ ...fields })` (merged; main() prints one JSON
 *   object on stdout at the end with --json: `{ command, ok, backend, dtype, inputs, outputs,
 *   notes, warnings, ...fields }`). Keep the same facts in both.
 * - **Notes, warnings, progress** go to stderr, never stdout: `ctx.note(msg)`, `ctx.warn(msg)`
 *   (collected into the JSON summary with --json instead of printed), `ctx.progress({...})` for
 *   countable work (a bar on a TTY, plain lines otherwise), `ctx.activity(label)` for an
 *   indeterminate step. --quiet silences all of them (errors still print). Long work (seconds or
 *   more) always shows progress; a command warns or refuses before something huge
 *   (`ctx.checkMemory`, or a work estimate).
 * - **Errors**: throw UsageError for invocation mistakes (exit 2) naming the option as the user
 *   typed it (`--rank`); other errors exit 1. main() prints one line, translating file-system codes
 *   (ENOENT, EISDIR, EACCES...) and library messages (`fn: 'arg' ...`, flat `data[i]` indices) into
 *   the user's terms (see errors.ts in this folder); do not print stack traces.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { engine, type Engine } from '../engine.js';
import { writeNpy as writeNpyFile, type NpyWriteOptions } from '../io/npy.js';
import { packageRoot } from '../paths.js';
import type { DType } from '../types.js';
import { UsageError, type FlagSpec, type ParsedArgs, type PositionalSpec } from './args.js';
import { checkWritable, fileFormat, sniffFormat, loadMatrixFrom, prepareOutDir, type LoadedMatrix, type MatrixFormat } from './files.js';
import { checkMemory, declaredShape, defaultMaxMemory, parseBytes, type DeclaredShape } from './memory.js';
import { activity, Progress, type ProgressOptions } from './progress.js';

/** A text sink: process.stdout / process.stderr, or a capture in tests. */
export interface OutStream {
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** The outside world of one CLI invocation (injectable so that tests can run the CLI in-process). */
export interface CliIO {
  stdout: OutStream;
  stderr: OutStream;
  env: Record<string, string | undefined>;
  /** Working directory used to resolve relative paths (default process.cwd()). */
  cwd?: string;
  /** Standard input, for `-` as an input file (default process.stdin). */
  stdin?: AsyncIterable<Uint8Array | string>;
  /** State kept across the requests of one `lowrank serve` process (engines, cached shards). */
  session?: import('./shard.js').ServeSession;
}

export type BackendChoice = 'auto' | 'webgpu' | 'native';

/** Flags accepted by every command. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  {
    name: 'backend',
    type: 'choice',
    choices: ['auto', 'webgpu', 'native'],
    default: 'auto',
    description:
      'compute backend (auto: WebGPU on a hardware adapter with dtype f32, else native; a software adapter such as lavapipe is skipped)',
  },
  {
    name: 'dtype',
    type: 'choice',
    choices: ['f32', 'f64'],
    description:
      "element type of the computation and of the written arrays (default: the input file's: float64 and Matrix Market real -> f64; float32, integers and booleans -> f32; f32 without an input file; f64 needs the native backend)",
  },
  {
    name: 'threads',
    type: 'int',
    min: 1,
    max: 1024,
    value: 'N',
    description: 'native compute threads (default: all hardware threads, or LOWRANK_THREADS)',
  },
  {
    name: 'max-memory',
    type: 'string',
    value: 'SIZE',
    parse: parseBytes,
    description: 'refuse runs estimated to need more memory than SIZE (e.g. 4G; default: half the physical memory)',
  },
  {
    name: 'format',
    type: 'choice',
    choices: ['npy', 'mtx'],
    description: "format of a matrix input read from '-' (stdin) or with another extension (default: from the first bytes)",
  },
  {
    name: 'json',
    type: 'boolean',
    description: 'print one JSON object with the results on stdout (notes go into it; progress stays on stderr)',
  },
  { name: 'quiet', type: 'boolean', description: 'no progress, notes or warnings on stderr (errors still)' },
  { name: 'version', short: 'V', type: 'boolean', description: 'print the version and exit' },
  { name: 'help', short: 'h', type: 'boolean', description: 'show help for this command' },
];

export interface Command {
  name: string;
  /** One line for `lowrank --help`. */
  summary: string;
  /**
   * Shown by `lowrank <name> --help` under the usage line, wrapped to the terminal width: paragraphs
   * are separated by a blank line ('\n\n'); single newlines inside a paragraph are joined; a line
   * that starts with spaces is kept as it is (tables, formulas).
   */
  description?: string;
  positionals?: readonly PositionalSpec[];
  /** Command-specific flags (the global flags are added automatically). */
  flags: readonly FlagSpec[];
  examples?: readonly string[];
  /** Runs the command; returns the exit code (default 0). Throw UsageError for invocation mistakes. */
  run(ctx: Context): Promise<number | void>;
}

/** An input resolved by {@link Context.input}: a file or stdin, its format and declared header. */
export interface InputRef {
  /** The argument as typed ('-' for stdin). */
  arg: string;
  /** Absolute path, or undefined for stdin. */
  file?: string;
  /** How messages name it: the argument as typed, or 'stdin'. */
  shown: string;
  format: MatrixFormat;
  /** Header facts (undefined for stdin or an unreadable header: the loader then reports it). */
  declared?: DeclaredShape;
  /** The bytes read from stdin. */
  bytes?: Uint8Array;
}

/** The output folder declared by {@link Context.outputs}. */
export interface OutputDir {
  dir: string;
  /** The full path of one of the declared files. */
  path(name: string): string;
}

const fmtStored = (s: LoadedMatrix['stored']) => (s === 'f64' ? 'f64' : 'f32');

export class Context {
  readonly command: string;
  readonly args: ParsedArgs;
  readonly io: CliIO;
  readonly backend: BackendChoice;
  readonly threads: number | undefined;
  /** The JSON summary built by report(), note(), warn() and the input / output helpers. */
  readonly summary: Record<string, unknown> = {};
  readonly notes: string[] = [];
  readonly warnings: string[] = [];
  readonly inputs: string[] = [];
  readonly written: string[] = [];
  /** Shape of the last matrix read (for translating flat indices in error messages). */
  lastShape?: { rows: number; cols: number; shown: string };
  private followed: DType | undefined;

  /** Runs another CLI invocation in this process (main() itself; used by `lowrank serve`). */
  readonly invoke: (argv: readonly string[], io: CliIO) => Promise<number>;

  constructor(command: string, args: ParsedArgs, io: CliIO, invoke?: (argv: readonly string[], io: CliIO) => Promise<number>) {
    this.invoke =
      invoke ??
      (() => {
        throw new Error('this context cannot run other invocations');
      });
    this.command = command;
    this.args = args;
    this.io = io;
    this.backend = args.flags.backend as BackendChoice;
    this.threads = args.flags.threads as number | undefined;
  }

  /** A flag value by long name. */
  flag<T = unknown>(name: string): T {
    return this.args.flags[name] as T;
  }

  get positionals(): string[] {
    return this.args.positionals;
  }

  /** --json: one JSON object on stdout, nothing else there. */
  get json(): boolean {
    return this.args.flags.json === true;
  }

  /** --quiet: nothing on stderr but errors. */
  get quiet(): boolean {
    return this.args.flags.quiet === true;
  }

  /** The engine dtype: --dtype, else the input file's (see ctx.readMatrix), else f32. */
  get dtype(): DType {
    return (this.args.flags.dtype as DType | undefined) ?? this.followed ?? 'f32';
  }

  /** True when --dtype was given. */
  get dtypeGiven(): boolean {
    return this.args.flags.dtype !== undefined;
  }

  /** True once the command writes its output to stdout (`--out -`): result lines go to stderr. */
  stdoutIsData = false;

  /**
   * Writes a result line to stdout (dropped with --json: report() carries the results; on stderr
   * unless --quiet when stdout carries the output file, `--out -`).
   */
  out(line = ''): void {
    if (this.json) return;
    if (this.stdoutIsData) {
      if (!this.quiet) this.io.stderr.write(line + '\n');
    } else this.io.stdout.write(line + '\n');
  }

  /** Writes a line to stderr unless --quiet (with --json too: use it for progress-like lines). */
  err(line: string): void {
    if (!this.quiet) this.io.stderr.write(line + '\n');
  }

  /** A note on stderr ('note: ...'), or into the JSON summary's notes with --json; none with --quiet. */
  note(msg: string): void {
    this.notes.push(msg);
    if (!this.json && !this.quiet) this.io.stderr.write(`note: ${msg}\n`);
  }

  /** A warning on stderr ('warning: ...'), or into the JSON summary's warnings with --json; none with --quiet. */
  warn(msg: string): void {
    this.warnings.push(msg);
    if (!this.json && !this.quiet) this.io.stderr.write(`warning: ${msg}\n`);
  }

  /** Merges fields into the --json summary. */
  report(fields: Record<string, unknown>): void {
    Object.assign(this.summary, fields);
  }

  /** Resolves a path given on the command line against the working directory. */
  resolve(p: string): string {
    return path.resolve(this.io.cwd ?? process.cwd(), p);
  }

  /**
   * Resolves a matrix input argument ('-' is stdin, read whole now): its format and declared header,
   * without loading the data. The engine dtype follows the file from here on (unless --dtype).
   */
  async input(arg: string): Promise<InputRef> {
    const forced = this.flag<MatrixFormat | undefined>('format');
    if (arg === '-') {
      const bytes = await this.readStdin();
      if (bytes.length === 0) throw new UsageError("'-' reads the input from stdin, but stdin is empty");
      const format = forced ?? sniffFormat(bytes);
      if (!format) throw new UsageError('cannot tell the format of stdin from its first bytes; give --format npy or --format mtx');
      this.inputs.push('-');
      return { arg, shown: 'stdin', format, bytes };
    }
    const file = this.resolve(arg);
    const format = await fileFormat(file, forced, arg);
    const declared = await declaredShape(file, format);
    if (declared && !this.followed) this.followed = fmtStored(declared.stored);
    this.inputs.push(arg);
    return { arg, file, shown: arg, format, declared };
  }

  private async readStdin(): Promise<Uint8Array> {
    const src = this.io.stdin ?? process.stdin;
    const chunks: Buffer[] = [];
    for await (const c of src) chunks.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    return Buffer.concat(chunks);
  }

  /**
   * Loads a matrix input (an argument or a resolved {@link InputRef}). Rejects non-finite values with
   * their 1-based row and column; sets the engine dtype from the file unless --dtype (one note when
   * integers or booleans are converted); checks that f32 can hold the values when computing in f32.
   */
  async readMatrix(input: string | InputRef): Promise<LoadedMatrix> {
    const ref = typeof input === 'string' ? await this.input(input) : input;
    const act = this.activity(`reading ${ref.shown}`);
    let m: LoadedMatrix;
    try {
      m = await loadMatrixFrom(ref.bytes ? { bytes: ref.bytes, name: ref.shown } : { file: ref.file! }, ref.format);
    } finally {
      act.stop();
    }
    if (!this.followed) this.followed = fmtStored(m.stored);
    this.lastShape = { rows: m.rows, cols: m.cols, shown: ref.shown };
    const vals = m.kind === 'dense' ? m.data : m.val;
    if (m.kind === 'dense') {
      for (let i = 0; i < vals.length; i++)
        if (!Number.isFinite(vals[i])) {
          const r = Math.floor(i / m.cols),
            c = i % m.cols;
          throw new Error(
            `${ref.shown}: the value at row ${r + 1}, column ${c + 1} (1-based) is ${vals[i]}; NaN and infinities are not accepted`,
          );
        }
    }
    if (this.dtype === 'f32') {
      for (let i = 0; i < vals.length; i++)
        if (Math.abs(vals[i]) > 3.4028234663852886e38) {
          const where =
            m.kind === 'dense'
              ? `row ${Math.floor(i / m.cols) + 1}, column ${(i % m.cols) + 1}`
              : `row ${m.row[i] + 1}, column ${m.col[i] + 1}`;
          throw new Error(`${ref.shown}: the value ${vals[i]} at ${where} (1-based) is too large for float32; use --dtype f64`);
        }
    }
    if (m.stored === 'int')
      this.note(
        `${ref.shown}: ${m.storedName} values converted to ${this.dtype === 'f64' ? 'float64' : 'float32'}${this.dtype === 'f32' && !this.dtypeGiven ? ' (give --dtype f64 to compute in float64)' : ''}`,
      );
    return m;
  }

  /**
   * Declares the output folder of flag `flag` (e.g. 'out') and the files the command will write in
   * it; checks all of them before any work (folder creatable, files writable and not folders) and
   * creates the folder. `--out -` is refused: a folder of files cannot go to stdout.
   */
  async outputs(flag: string, files: readonly string[]): Promise<OutputDir> {
    const raw = this.flag<string | undefined>(flag);
    if (raw === undefined) throw new UsageError(`--${flag} DIR is required`);
    if (raw === '-')
      throw new UsageError(
        `--${flag} - (stdout) is for a single output file; ${this.command} writes ${files.join(', ')} into a folder: give --${flag} DIR`,
      );
    const dir = this.resolve(raw);
    await prepareOutDir(dir, raw);
    for (const f of files) await checkWritable(path.join(dir, f), path.join(raw, f));
    return { dir, path: (name: string) => path.join(dir, name) };
  }

  /**
   * Declares a single output file of flag `flag`: checks it can be written before any work.
   * Returns undefined for `--out -` when `stdout` is allowed (then write the bytes with
   * ctx.writeStdout and print the human report on stderr), else the absolute path.
   */
  async outputFile(flag: string, opts: { stdout?: boolean } = {}): Promise<string | undefined> {
    const raw = this.flag<string | undefined>(flag);
    if (raw === undefined) throw new UsageError(`--${flag} FILE is required`);
    if (raw === '-') {
      if (!opts.stdout) throw new UsageError(`--${flag} - (stdout) is not supported by ${this.command}; give a file name`);
      if (this.json) throw new UsageError(`--${flag} - and --json both write to stdout; drop one`);
      this.stdoutIsData = true;
      return undefined;
    }
    const file = this.resolve(raw);
    await checkWritable(file, raw);
    return file;
  }

  /** Copies a finished output file to stdout (for `--out -`), chunk by chunk, respecting back-pressure. */
  async pipeToStdout(file: string): Promise<void> {
    const { createReadStream } = await import('node:fs');
    const sink = this.io.stdout as OutStream & { once?: (ev: 'drain', f: () => void) => unknown };
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      const ok = sink.write(chunk as Buffer);
      if (ok === false && sink.once) await new Promise<void>((res) => sink.once!('drain', res));
    }
    const k = this.written.indexOf(file);
    if (k >= 0) this.written.splice(k, 1);
    this.written.push('-');
  }

  /**
   * Writes a .npy output: floating data in the engine dtype (f64 in, f64 out), or `options.dtype`
   * (e.g. 'i64' for indices and labels).
   */
  async writeNpy(file: string, data: ArrayLike<number>, shape: readonly number[], options: NpyWriteOptions = {}): Promise<void> {
    await writeNpyFile(file, data, shape, { dtype: this.dtype, ...options });
    this.written.push(file);
  }

  /** Records a file written by another writer (for the --json summary). */
  wrote(file: string): void {
    this.written.push(file);
  }

  /** The --json summary object main() prints. */
  jsonSummary(code = 0): Record<string, unknown> {
    return {
      command: this.command,
      ok: code === 0,
      version: packageVersion(),
      dtype: this.dtype,
      ...(this.inputs.length ? { inputs: this.inputs } : {}),
      ...(this.written.length ? { outputs: this.written } : {}),
      ...(this.notes.length ? { notes: this.notes } : {}),
      ...(this.warnings.length ? { warnings: this.warnings } : {}),
      ...this.summary,
    };
  }

  /**
   * Creates the engine the global flags ask for (dtype: see {@link dtype}). Remember
   * `await eng.dispose()` (a live WebGPU device keeps the process alive).
   */
  async openEngine(): Promise<Engine> {
    if (this.backend === 'webgpu' && this.dtype === 'f64') {
      if (this.dtypeGiven)
        throw new UsageError('--backend webgpu cannot run --dtype f64 (WGSL has no 64-bit floats); use --backend native or --dtype f32');
      throw new UsageError(
        `${this.lastShape?.shown ?? 'the input'} holds float64 values and --backend webgpu computes in f32 only: add --dtype f32 to compute and write float32, or use --backend native (or auto) to keep float64`,
      );
    }
    const eng = await engine({ backend: this.backend, dtype: this.dtype, threads: this.threads });
    this.report({ backend: eng.backend });
    return eng;
  }

  /** The memory limit in bytes (--max-memory, default half the physical memory). */
  get maxMemory(): number {
    return this.flag<number | undefined>('max-memory') ?? defaultMaxMemory();
  }

  /** Bytes per value of the chosen dtype. */
  get elemBytes(): number {
    return this.dtype === 'f64' ? 8 : 4;
  }

  /**
   * Refuses (throws) before any allocation when the estimated parts (label -> bytes) exceed
   * --max-memory; see memory.ts.
   */
  checkMemory(what: string, parts: Record<string, number>): void {
    checkMemory(what, parts, this.maxMemory);
  }

  private get progressOn(): boolean {
    return !this.quiet && this.io.env.LOWRANK_PROGRESS !== '0';
  }

  /** An elapsed-time "working" line on stderr for steps without progress information (TTY only). */
  activity(label: string): { stop(): void } {
    return activity(label, { stream: this.io.stderr, enabled: this.progressOn });
  }

  /** A progress bar on stderr (redrawn in place on a TTY, occasional plain lines otherwise). */
  progress(options: Omit<ProgressOptions, 'stream'> = {}): Progress {
    return new Progress({ ...options, stream: this.io.stderr, enabled: this.progressOn && options.enabled !== false });
  }
}

/** The package version (from package.json), or 'unknown'. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

// ---- formatting helpers shared by commands ------------------------------------------------------

/** A duration in ms as '12.3 ms', '4.56 s', '2 min 03 s'. */
export function fmtMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} us`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toPrecision(3)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - 60 * m)).padStart(2, '0')} s`;
}

/** A number in short scientific notation ('3.1e-07') or fixed when moderate. */
export function fmtNum(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e-2 && a < 1e5) return Number(x.toPrecision(digits)).toString();
  return x.toExponential(digits - 1).replace(/\.?0+e/, 'e');
}

/** A byte count as '128 MiB'. */
export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let k = 0;
  while (n >= 1024 && k < units.length - 1) {
    n /= 1024;
    k++;
  }
  return `${Number.isInteger(n) ? n : n.toFixed(1)} ${units[k]}`;
}
