/**
 * The one place where errors become the CLI's one-line message in the user's terms: file-system
 * codes (ENOENT, EISDIR, EACCES, ...) in words, absolute paths back to what the user typed, flat
 * `data[i]` indices of the last matrix read as (row, column) 1-based, and the library's
 * `function:` prefixes (`matrix:`, `sparse:`, `readRows:`) removed. Library errors keep their
 * wording for the API; only the CLI translates them.
 */
import type { Context } from './context.js';
import { fsMessage } from './files.js';

/** The message of `e` as the CLI prints it (one line). */
export function userMessage(e: unknown, ctx?: Context): string {
  const err = e instanceof Error ? e : new Error(String(e));
  let msg = fsMessage(err, shownPath(ctx, (err as NodeJS.ErrnoException).path)) ?? (err.message || err.name);
  if (ctx) {
    // absolute paths of inputs back to the arguments as typed
    for (const arg of ctx.inputs) if (arg !== '-') msg = msg.split(ctx.resolve(arg)).join(arg);
    const s = ctx.lastShape;
    if (s && s.cols > 0)
      msg = msg.replace(/\b(?:data|values?)\[(\d+)\]/g, (_, i: string) => {
        const k = Number(i);
        return `the value at row ${Math.floor(k / s.cols) + 1}, column ${(k % s.cols) + 1} (1-based)`;
      });
  }
  // internal function prefixes: 'matrix: ', 'rsvd: ', 'engine: sparse: ' (never a file name: no dot or slash)
  const names = new Set(ctx?.inputs ?? []);
  for (;;) {
    const m = /^([a-z][A-Za-z0-9]*): /.exec(msg);
    if (!m || names.has(m[1])) break;
    msg = msg.slice(m[0].length);
  }
  msg = msg.replace(/\s*\n\s*/g, ' ').trim();
  return msg.length > 0 ? msg : err.name;
}

function shownPath(ctx: Context | undefined, p: string | undefined): string | undefined {
  if (!p || !ctx) return p;
  for (const arg of ctx.inputs) if (arg !== '-' && ctx.resolve(arg) === p) return arg;
  const cwd = ctx.io.cwd ?? process.cwd();
  return p.startsWith(cwd + '/') ? p.slice(cwd.length + 1) : p;
}
