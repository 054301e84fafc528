/**
 * Argument checks shared by the facade and the algorithms. Every failure is a TypeError (wrong kind of
 * value) or RangeError (right kind, wrong value) whose message names the function and the argument.
 */

/** Largest dimension accepted (indices are 32-bit on both backends). */
export const MAX_DIM = 2 ** 31 - 1;

export function typeError(fn: string, msg: string): TypeError {
  return new TypeError(`${fn}: ${msg}`);
}

export function rangeError(fn: string, msg: string): RangeError {
  return new RangeError(`${fn}: ${msg}`);
}

function show(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (Array.isArray(v)) return `array(${v.length})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length})`;
  return typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

/** A dimension: an integer in [min, MAX_DIM]. */
export function checkDim(fn: string, name: string, v: unknown, min = 1): number {
  if (typeof v !== 'number') throw typeError(fn, `'${name}' must be a number, got ${show(v)}`);
  if (!Number.isInteger(v) || v < min || v > MAX_DIM)
    throw rangeError(fn, `'${name}' must be an integer in [${min}, ${MAX_DIM}], got ${show(v)}`);
  return v;
}

/** A finite number. */
export function checkFinite(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number') throw typeError(fn, `'${name}' must be a number, got ${show(v)}`);
  if (!Number.isFinite(v)) throw rangeError(fn, `'${name}' must be finite, got ${v}`);
  return v;
}

/** An integer in [lo, hi]. */
export function checkInt(fn: string, name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number') throw typeError(fn, `'${name}' must be a number, got ${show(v)}`);
  if (!Number.isInteger(v) || v < lo || v > hi) throw rangeError(fn, `'${name}' must be an integer in [${lo}, ${hi}], got ${show(v)}`);
  return v;
}

export function checkBool(fn: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw typeError(fn, `'${name}' must be a boolean, got ${show(v)}`);
  return v;
}

export function checkOneOf<T extends string>(fn: string, name: string, v: unknown, allowed: readonly T[], dflt?: T): T {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw (typeof v === 'string' ? rangeError : typeError)(
      fn,
      `'${name}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(v)}`,
    );
  return v as T;
}

/** An options object (or undefined); rejects unknown keys so that typos do not pass silently. */
export function checkOptions<T extends object>(fn: string, opts: unknown, known: readonly string[]): Partial<T> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts)) throw typeError(fn, `options must be an object, got ${show(opts)}`);
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) throw typeError(fn, `unknown option '${k}' (known: ${known.join(', ')})`);
  }
  return opts as Partial<T>;
}

/** Index of the first non-finite entry, or -1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v - v !== 0) return i; // NaN and +-Infinity (and non-numbers) fail this
  }
  return -1;
}

export function describeValue(v: unknown): string {
  return show(v);
}
