/**
 * A progress bar for long CLI commands. It writes only to its stream (stderr by default, never
 * stdout, so results can be piped):
 * - on a TTY it redraws one line in place (`\r` + clear-to-end), at most every `redrawMs`;
 * - otherwise (logs, CI) it prints an occasional plain line: when another tenth of the work is done
 *   (at most once a second) or every `plainIntervalMs`, and a final summary line.
 *
 * @example
 * ```ts
 * const bar = new Progress({ total: blocks, label: 'pass 1', unit: 'blocks' });
 * for (...) { ...; bar.tick(); }
 * bar.finish();
 * ```
 */

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Total units of work; omit when unknown (then no bar, percentage or ETA). */
  total?: number;
  /** Text before the bar. */
  label?: string;
  /** Name of a unit, for the rate ('it' by default). */
  unit?: string;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Redraw in place; default `stream.isTTY`. */
  tty?: boolean;
  /** Line width on a TTY; default `stream.columns` or 80. */
  width?: number;
  /** Clock in ms (for tests); default performance.now. */
  now?: () => number;
  /** Minimum ms between TTY redraws (default 100). */
  redrawMs?: number;
  /** Plain mode: a line at least this often while work progresses (default 10000 ms). */
  plainIntervalMs?: number;
  /** false: print nothing at all (default true). */
  enabled?: boolean;
}

/** '1:05', '1:02:03'. */
export function fmtClock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    r = s % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(r).padStart(2, '0')}`;
}

/** '950', '12.3k', '4.5M' (3 significant digits). */
export function fmtCount(x: number): string {
  const a = Math.abs(x);
  if (a < 1000) return a >= 100 || Number.isInteger(x) ? String(Math.round(x)) : x.toPrecision(3);
  const units = ['k', 'M', 'G', 'T'];
  let k = -1;
  let v = x;
  while (Math.abs(v) >= 1000 && k < units.length - 1) {
    v /= 1000;
    k++;
  }
  return `${Number(v.toPrecision(3))}${units[k]}`;
}

export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly width: number;
  private readonly now: () => number;
  private readonly redrawMs: number;
  private readonly plainIntervalMs: number;
  private readonly enabled: boolean;
  private readonly start: number;
  private lastDraw = -Infinity;
  private lastPlain: number;
  private lastDecile = 0;
  private drawn = false;
  private finished = false;
  /** Units done so far. */
  done = 0;
  total: number | undefined;
  label: string;
  readonly unit: string;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.width = Math.max(20, options.width ?? this.stream.columns ?? 80);
    this.now = options.now ?? (() => performance.now());
    this.redrawMs = options.redrawMs ?? 100;
    this.plainIntervalMs = options.plainIntervalMs ?? 10_000;
    this.enabled = options.enabled ?? true;
    this.total = options.total !== undefined && options.total >= 0 ? options.total : undefined;
    this.label = options.label ?? '';
    this.unit = options.unit ?? 'it';
    this.start = this.now();
    this.lastPlain = this.start;
  }

  /** Seconds since the bar was created. */
  elapsed(): number {
    return (this.now() - this.start) / 1000;
  }

  /** Units per second so far (0 before any progress). */
  rate(): number {
    const t = this.elapsed();
    return t > 0 ? this.done / t : 0;
  }

  /** Seconds left at the current rate, or undefined. */
  eta(): number | undefined {
    const r = this.rate();
    if (this.total === undefined || r <= 0) return undefined;
    return Math.max(0, (this.total - this.done) / r);
  }

  /** Adds `n` units done. */
  tick(n = 1): void {
    this.update(this.done + n);
  }

  /** Sets the units done (and optionally a new total or label). */
  update(done: number, total?: number, label?: string): void {
    if (this.finished) return;
    this.done = done;
    if (total !== undefined) this.total = total;
    if (label !== undefined) this.label = label;
    if (!this.enabled) return;
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw >= this.redrawMs) this.redraw(t);
      return;
    }
    const frac = this.total ? this.done / this.total : 0;
    const decile = Math.floor(frac * 10);
    const byDecile = this.total !== undefined && decile > this.lastDecile && t - this.lastPlain >= 1000 && this.done < this.total;
    if (byDecile || t - this.lastPlain >= this.plainIntervalMs) {
      this.lastDecile = decile;
      this.lastPlain = t;
      this.stream.write(this.line(false) + '\n');
    }
  }

  /**
   * Writes a message line without garbling the bar (on a TTY: clears the bar, prints, redraws).
   */
  log(message: string): void {
    if (!this.enabled) return;
    if (this.tty && this.drawn && !this.finished) {
      this.stream.write('\r\x1b[K' + message + '\n');
      this.redraw(this.now());
    } else this.stream.write(message + '\n');
  }

  /** Ends the bar: a final line with the total time and mean rate. Idempotent. */
  finish(message?: string): void {
    if (this.finished) return;
    if (this.total !== undefined && message === undefined) this.done = Math.max(this.done, this.total);
    this.finished = true;
    if (!this.enabled) return;
    const summary = message ?? this.summary();
    if (this.tty) this.stream.write('\r\x1b[K' + this.fit(summary) + '\n');
    else this.stream.write(summary + '\n');
  }

  /** Removes the bar from a TTY without a summary (e.g. before an error message). */
  clear(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.enabled && this.tty && this.drawn) this.stream.write('\r\x1b[K');
  }

  private summary(): string {
    const head = this.label ? `${this.label}: ` : '';
    const count = this.total !== undefined ? `${fmtCount(this.done)}/${fmtCount(this.total)}` : fmtCount(this.done);
    return `${head}done ${count} ${this.unit} in ${fmtClock(this.elapsed())} (${fmtCount(this.rate())} ${this.unit}/s)`;
  }

  private redraw(t: number): void {
    this.lastDraw = t;
    this.drawn = true;
    this.stream.write('\r' + this.line(true) + '\x1b[K');
  }

  private fit(s: string): string {
    return s.length > this.width - 1 ? s.slice(0, this.width - 1) : s;
  }

  /** The status text; with a bar when `bar` and the total is known. */
  line(bar: boolean): string {
    const head = this.label ? `${this.label} ` : '';
    const rate = `${fmtCount(this.rate())} ${this.unit}/s`;
    if (this.total === undefined) return this.fit(`${head}${fmtCount(this.done)} ${this.unit}  ${rate}  ${fmtClock(this.elapsed())}`);
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const pct = `${(frac * 100).toFixed(0).padStart(3)}%`;
    const eta = this.eta();
    const tail = ` ${pct} ${fmtCount(this.done)}/${fmtCount(this.total)}  ${rate}  ETA ${eta === undefined ? '--:--' : fmtClock(eta)}`;
    if (!bar) return `${head}${tail.trimStart()}`;
    const room = this.width - 1 - head.length - tail.length - 2;
    if (room < 10) return this.fit(`${head}${tail.trimStart()}`);
    const w = Math.min(40, room);
    const full = Math.round(frac * w);
    return this.fit(`${head}[${'#'.repeat(full)}${'.'.repeat(w - full)}]${tail}`);
  }
}

export interface ActivityOptions {
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Default `stream.isTTY`; without a TTY nothing is printed. */
  tty?: boolean;
  /** Clock in ms; default performance.now. */
  now?: () => number;
  /** Redraw period in ms (default 1000). */
  intervalMs?: number;
  enabled?: boolean;
}

/**
 * An indeterminate "working..." line for a step without progress information: on a TTY it shows
 * `label 0:42` (elapsed time, redrawn every second) until `stop()` erases it; elsewhere it prints
 * nothing. The timer does not keep the process alive.
 */
export function activity(label: string, options: ActivityOptions = {}): { stop(): void } {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? stream.isTTY === true;
  if (!tty || options.enabled === false) return { stop() {} };
  const now = options.now ?? (() => performance.now());
  const t0 = now();
  const width = Math.max(20, stream.columns ?? 80);
  const draw = () => {
    const s = `${label} ${fmtClock((now() - t0) / 1000)}`;
    stream.write('\r' + (s.length > width - 1 ? s.slice(0, width - 1) : s) + '\x1b[K');
  };
  draw();
  const timer = setInterval(draw, options.intervalMs ?? 1000);
  timer.unref?.();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write('\r\x1b[K');
    },
  };
}
