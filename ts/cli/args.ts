/**
 * The command-line argument parser of the `lowrank` tool (no dependencies).
 *
 * Grammar: `--flag value`, `--flag=value`, `-f value` (short aliases), booleans as `--flag`,
 * `--flag=true|false` or `--no-flag`, positional arguments anywhere, and `--` to end the flags.
 * Unknown flags, missing values and malformed values raise a {@link UsageError} (exit code 2).
 */

/** A mistake in how the tool was invoked: printed with a usage line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagType = 'boolean' | 'string' | 'number' | 'int' | 'choice';

export interface FlagSpec {
  /** Long name without dashes, e.g. `'rank'` for `--rank`. */
  name: string;
  /** One-letter alias without the dash, e.g. `'o'` for `-o`. */
  short?: string;
  type: FlagType;
  /** One line for `--help`. */
  description: string;
  /** Placeholder for the value in `--help`, e.g. `'M,N'`. */
  value?: string;
  /** Allowed values of a `'choice'` flag. */
  choices?: readonly string[];
  /** Bounds of `'number'` / `'int'` flags (inclusive). */
  min?: number;
  max?: number;
  /** Value when the flag is absent (shown in `--help`). */
  default?: unknown;
  /**
   * Custom conversion of the raw text (after the type check for 'string'); throw an Error whose
   * message says what is wrong, it becomes a usage error naming the flag.
   */
  parse?: (raw: string) => unknown;
  /** The flag may be given several times; the values are collected into an array. */
  multiple?: boolean;
}

export interface PositionalSpec {
  name: string;
  description: string;
  /** Default true. */
  required?: boolean;
  /** Takes every remaining positional argument (last one only). */
  variadic?: boolean;
}

export interface ParsedArgs {
  /** Flag values by long name, with defaults filled in (absent flags without default: undefined). */
  flags: Record<string, unknown>;
  /** Positional arguments in order. */
  positionals: string[];
  /** Long names of the flags given on the command line. */
  given: Set<string>;
}

/** Converts the raw text of a flag; errors name the flag as the user typed it (`label`, e.g. `-k`). */
function parseValue(spec: FlagSpec, raw: string, label = `--${spec.name}`): unknown {
  const name = label;
  let v: unknown = raw;
  switch (spec.type) {
    case 'boolean': {
      const low = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(low)) v = true;
      else if (['false', '0', 'no', 'off'].includes(low)) v = false;
      else throw new UsageError(`${name} takes true or false, got ${JSON.stringify(raw)}`);
      break;
    }
    case 'number':
    case 'int': {
      const t = raw.trim();
      const x = t === '' ? NaN : Number(t);
      if (!Number.isFinite(x)) throw new UsageError(`${name} needs a number, got ${JSON.stringify(raw)}`);
      if (spec.type === 'int' && !Number.isInteger(x)) throw new UsageError(`${name} needs an integer, got ${JSON.stringify(raw)}`);
      if ((spec.min !== undefined && x < spec.min) || (spec.max !== undefined && x > spec.max)) {
        const range =
          spec.min !== undefined && spec.max !== undefined
            ? `in [${spec.min}, ${spec.max}]`
            : spec.min !== undefined
              ? `>= ${spec.min}`
              : `<= ${spec.max}`;
        throw new UsageError(`${name} must be ${range}, got ${raw}`);
      }
      v = x;
      break;
    }
    case 'choice':
      if (!spec.choices?.includes(raw))
        throw new UsageError(`${name} must be one of ${(spec.choices ?? []).join(', ')}; got ${JSON.stringify(raw)}`);
      break;
    case 'string':
      break;
  }
  if (spec.parse) {
    try {
      v = spec.parse(raw);
    } catch (e) {
      throw new UsageError(`${name}: ${(e as Error).message}`);
    }
  }
  return v;
}

/** Edit distance counting insertions, deletions, substitutions and adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** The closest of `names` to `s`, when close enough to suggest. */
export function suggest(s: string, names: readonly string[]): string | undefined {
  let best: string | undefined,
    bestD = Infinity;
  for (const n of names) {
    const dist = editDistance(s, n);
    if (dist < bestD) {
      best = n;
      bestD = dist;
    }
  }
  return best !== undefined && bestD <= (s.length <= 3 ? 1 : Math.max(2, Math.floor(s.length / 3))) ? best : undefined;
}

/** Parses `argv` (without the command name) against `flags` and `positionals`. */
export function parseArgs(argv: readonly string[], flags: readonly FlagSpec[], positionals: readonly PositionalSpec[] = []): ParsedArgs {
  const byName = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const f of flags) {
    byName.set(f.name, f);
    if (f.short) byShort.set(f.short, f);
  }
  const out: Record<string, unknown> = {};
  const given = new Set<string>();
  const pos: string[] = [];

  const set = (spec: FlagSpec, v: unknown) => {
    if (spec.multiple) {
      const arr = (given.has(spec.name) ? (out[spec.name] as unknown[]) : []) ?? [];
      arr.push(v);
      out[spec.name] = arr;
    } else out[spec.name] = v;
    given.add(spec.name);
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      pos.push(...argv.slice(i + 1));
      break;
    }
    const isNegNumber = /^-\d|^-\.\d/.test(a);
    if (a.startsWith('-') && a !== '-' && !isNegNumber) {
      let spec: FlagSpec | undefined;
      let inline: string | undefined;
      let label: string;
      if (a.startsWith('--')) {
        const eq = a.indexOf('=');
        const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
        inline = eq >= 0 ? a.slice(eq + 1) : undefined;
        label = `--${name}`;
        spec = byName.get(name);
        if (!spec && name.startsWith('no-')) {
          const neg = byName.get(name.slice(3));
          if (neg?.type === 'boolean') {
            if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
            set(neg, false);
            continue;
          }
        }
        if (!spec) {
          const hint = suggest(name, [...byName.keys()]);
          throw new UsageError(`unknown flag ${label}${hint ? ` (did you mean --${hint}?)` : ''}`);
        }
      } else {
        const name = a.slice(1, 2);
        label = `-${name}`;
        spec = byShort.get(name);
        if (!spec) throw new UsageError(`unknown flag ${label}`);
        if (a.length > 2) inline = a[2] === '=' ? a.slice(3) : a.slice(2);
      }
      if (spec.type === 'boolean') {
        set(spec, inline === undefined ? true : parseValue(spec, inline, label));
        continue;
      }
      let raw = inline;
      if (raw === undefined) {
        const next = argv[i + 1];
        if (
          next === undefined ||
          (next.startsWith('--') && next.length > 2) ||
          (next.startsWith('-') && next.length === 2 && !/\d/.test(next[1]))
        )
          throw new UsageError(`${label} needs a value${spec.value ? ` (${spec.value})` : ''}`);
        raw = next;
        i++;
      }
      set(spec, parseValue(spec, raw, label));
      continue;
    }
    pos.push(a);
  }

  for (const f of flags) if (!given.has(f.name)) out[f.name] = f.multiple ? (f.default ?? []) : f.default;

  let required = 0;
  let variadic = false;
  for (const p of positionals) {
    if (p.required !== false && !p.variadic) required++;
    if (p.variadic) variadic = true;
  }
  if (pos.length < required) {
    const missing = positionals.filter((p) => p.required !== false)[pos.length];
    throw new UsageError(`missing argument <${missing?.name ?? 'arg'}>`);
  }
  if (!variadic && pos.length > positionals.length)
    throw new UsageError(
      positionals.length === 0
        ? `unexpected argument ${JSON.stringify(pos[0])} (this command takes no positional arguments)`
        : `unexpected extra argument ${JSON.stringify(pos[positionals.length])}`,
    );
  return { flags: out, positionals: pos, given };
}

/** Word-wraps one paragraph to `width` columns. */
export function wrapText(text: string, width: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (cur && cur.length + 1 + w.length > width) {
      out.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) out.push(cur);
  return out;
}

/** Formats a flag table for `--help`, `width` columns wide, descriptions wrapped with a hanging indent. */
export function formatFlags(flags: readonly FlagSpec[], width = 80): string[] {
  const left = flags.map((f) => {
    const short = f.short ? `-${f.short}, ` : '    ';
    const val =
      f.type === 'boolean' ? '' : ` ${f.value ?? (f.type === 'choice' ? (f.choices ?? []).join('|') : f.type === 'string' ? 'TEXT' : 'N')}`;
    return `  ${short}--${f.name}${val}`;
  });
  let col = Math.min(34, Math.max(...left.map((l) => l.length)) + 2);
  // Too narrow for two columns: descriptions go under the flag, indented.
  if (width - col < 30) col = 8;
  const lines: string[] = [];
  flags.forEach((f, k) => {
    let desc = f.description;
    if (f.default !== undefined && f.type !== 'boolean')
      desc += ` (default: ${Array.isArray(f.default) ? f.default.join(',') : String(f.default)})`;
    const wrapped = wrapText(desc, Math.max(10, width - col));
    const l = left[k];
    if (l.length + 2 > col) {
      // a long choice list breaks after a '|'
      const lead = /^\s*/.exec(l)![0];
      lines.push(...hanging(l.slice(lead.length).replace(/\|/g, '| '), width, lead, lead + '    ').map((w) => w.replace(/\| /g, '|')));
      for (const w of wrapped) lines.push(' '.repeat(col) + w);
    } else {
      lines.push(l.padEnd(col) + (wrapped[0] ?? ''));
      for (const w of wrapped.slice(1)) lines.push(' '.repeat(col) + w);
    }
  });
  return lines;
}

/**
 * Wraps `text` to `width` with `first` before the first line and `indent` before the others
 * (a hanging indent). Words longer than the line are kept whole.
 */
export function hanging(text: string, width: number, first: string, indent: string): string[] {
  const out: string[] = [];
  let cur = first;
  let empty = true;
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (!empty && cur.length + 1 + w.length > width) {
      out.push(cur);
      cur = indent + w;
    } else cur = empty ? cur + w : `${cur} ${w}`;
    empty = false;
  }
  out.push(cur.trimEnd());
  return out;
}

/**
 * Lays out a help description: paragraphs separated by blank lines are joined and wrapped to
 * `width`; lines that start with whitespace are kept as they are.
 */
export function layoutParagraphs(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split(/\n[ \t]*\n/)) {
    if (out.length) out.push('');
    let buf: string[] = [];
    const flush = () => {
      if (buf.length) out.push(...wrapText(buf.join(' '), width));
      buf = [];
    };
    for (const line of para.split('\n')) {
      if (/^\s/.test(line)) {
        flush();
        // kept as it is when it fits; else wrapped under its own indent (plus 4)
        const lead = /^\s*/.exec(line)![0];
        out.push(...(line.length <= width ? [line] : hanging(line.trim(), width, lead, lead + '    ')));
      } else buf.push(line);
    }
    flush();
  }
  return out;
}
