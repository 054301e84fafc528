/**
 * What every `lowrank` subcommand gets: its parsed arguments, the output streams, the global flags
 * and helpers (engine creation, progress bars). A subcommand is one module exporting `command`
 * (see {@link Command}) and registered in commands.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { engine, type Engine } from '../engine.js';
import { packageRoot } from '../paths.js';
import type { DType } from '../types.js';
import { UsageError, type FlagSpec, type ParsedArgs, type PositionalSpec } from './args.js';
import { checkMemory, defaultMaxMemory, parseBytes } from './memory.js';
import { activity, Progress, type ProgressOptions } from './progress.js';

/** A text sink: process.stdout / process.stderr, or a capture in tests. */
export interface OutStream {
  write(chunk: string): unknown;
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
  { name: 'dtype', type: 'choice', choices: ['f32', 'f64'], default: 'f32', description: 'element type (f64 needs the native backend)' },
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
  { name: 'help', short: 'h', type: 'boolean', description: 'show help for this command' },
];

export interface Command {
  name: string;
  /** One line for `lowrank --help`. */
  summary: string;
  /** Paragraphs shown by `lowrank <name> --help` under the usage line. */
  description?: string;
  positionals?: readonly PositionalSpec[];
  /** Command-specific flags (the global flags are added automatically). */
  flags: readonly FlagSpec[];
  examples?: readonly string[];
  /** Runs the command; returns the exit code (default 0). Throw UsageError for invocation mistakes. */
  run(ctx: Context): Promise<number | void>;
}

export class Context {
  readonly command: string;
  readonly args: ParsedArgs;
  readonly io: CliIO;
  readonly backend: BackendChoice;
  readonly dtype: DType;
  readonly threads: number | undefined;

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
    this.dtype = args.flags.dtype as DType;
    this.threads = args.flags.threads as number | undefined;
  }

  /** A flag value by long name. */
  flag<T = unknown>(name: string): T {
    return this.args.flags[name] as T;
  }

  get positionals(): string[] {
    return this.args.positionals;
  }

  /** Writes a line to stdout. */
  out(line = ''): void {
    this.io.stdout.write(line + '\n');
  }

  /** Writes a line to stderr (notes, warnings; never results). */
  err(line: string): void {
    this.io.stderr.write(line + '\n');
  }

  /** Resolves a path given on the command line against the working directory. */
  resolve(p: string): string {
    return path.resolve(this.io.cwd ?? process.cwd(), p);
  }

  /**
   * Creates the engine the global flags ask for. Remember `await eng.dispose()` (a live WebGPU device
   * keeps the process alive).
   */
  async openEngine(): Promise<Engine> {
    if (this.backend === 'webgpu' && this.dtype === 'f64')
      throw new UsageError('--backend webgpu cannot run --dtype f64 (WGSL has no 64-bit floats); use --backend native or --dtype f32');
    return engine({ backend: this.backend, dtype: this.dtype, threads: this.threads });
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

  /** An elapsed-time "working" line on stderr for steps without progress information (TTY only). */
  activity(label: string): { stop(): void } {
    return activity(label, { stream: this.io.stderr, enabled: this.io.env.LOWRANK_PROGRESS !== '0' });
  }

  /** A progress bar on stderr (redrawn in place on a TTY, occasional plain lines otherwise). */
  progress(options: Omit<ProgressOptions, 'stream'> = {}): Progress {
    return new Progress({ ...options, stream: this.io.stderr, enabled: options.enabled ?? this.io.env.LOWRANK_PROGRESS !== '0' });
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
