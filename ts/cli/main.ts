#!/usr/bin/env node
/**
 * The `lowrank` command-line tool. `main(argv, io)` runs one invocation and returns the exit code
 * (0 ok, 1 runtime error, 2 usage error); it is exported so that tests can run the CLI in-process
 * with captured output. Run as a script (the package's `bin`), it uses the process streams.
 *
 * Subcommands live one per file and are registered in commands.ts.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatFlags, hanging, layoutParagraphs, parseArgs, suggest, UsageError } from './args.js';
import { COMMANDS, findCommand } from './commands.js';
import { Context, GLOBAL_FLAGS, packageVersion, type CliIO, type Command } from './context.js';
import { userMessage } from './errors.js';

export type { CliIO } from './context.js';

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

function usageLine(c: Command): string {
  const pos = (c.positionals ?? []).map((p) => {
    const n = p.variadic ? `${p.name}...` : p.name;
    return p.required === false || p.variadic ? `[${n}]` : `<${n}>`;
  });
  return ['lowrank', c.name, ...pos, '[options]'].join(' ');
}

async function loadAll(): Promise<Command[]> {
  return Promise.all(COMMANDS.map(async ([, load]) => (await load()).command));
}

/** The help width: the terminal's columns (stdout.columns, else $COLUMNS), 80 by default, within [40, 100]. */
export function helpWidth(io: CliIO): number {
  const env = Number(io.env.COLUMNS);
  const cols = io.stdout.columns ?? (Number.isInteger(env) && env > 0 ? env : 80);
  return Math.max(40, Math.min(100, cols));
}

async function topHelp(width: number): Promise<string> {
  const cmds = await loadAll();
  const w = Math.max(4, ...cmds.map((c) => c.name.length)) + 3;
  const row = (name: string, text: string) => hanging(text, width, `  ${name.padEnd(w)}`, ' '.repeat(w + 2));
  return [
    'usage: lowrank <command> [options]',
    '',
    ...layoutParagraphs('Low-rank and subspace methods on WebGPU (WGSL through Dawn) and a native C++ backend.', width),
    '',
    'Commands:',
    ...cmds.flatMap((c) => row(c.name, c.summary)),
    ...row('help', 'show help for a command (lowrank help <command>)'),
    '',
    'Global options (accepted by every command):',
    ...formatFlags(GLOBAL_FLAGS, width),
    '',
    ...layoutParagraphs(
      "Run 'lowrank <command> --help' for the options of a command. Exit codes: 0 success, 1 runtime error, 2 usage error. LOWRANK_DEBUG=1 prints stack traces.",
      width,
    ),
    '',
  ].join('\n');
}

function commandHelp(c: Command, width: number): string {
  const lines = [
    ...hanging(usageLine(c), width, 'usage: ', '         '),
    '',
    ...layoutParagraphs(`${c.summary[0].toUpperCase()}${c.summary.slice(1)}.`, width),
  ];
  if (c.description) lines.push('', ...layoutParagraphs(c.description, width));
  if (c.positionals?.length) {
    lines.push('', 'Arguments:');
    const w = Math.max(...c.positionals.map((p) => p.name.length)) + 3;
    for (const p of c.positionals) lines.push(...hanging(p.description, width, `  ${p.name.padEnd(w)}`, ' '.repeat(w + 2)));
  }
  if (c.flags.length) lines.push('', 'Options:', ...formatFlags(c.flags, width));
  lines.push('', 'Global options:', ...formatFlags(GLOBAL_FLAGS, width));
  if (c.examples?.length) lines.push('', 'Examples:', ...c.examples.flatMap((e) => hanging(e, width, '  ', '      ')));
  return lines.join('\n') + '\n';
}

/** Index of the command word: the first positional token, skipping global flags and their values. */
function commandIndex(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return -1;
    if (a.startsWith('-') && a !== '-') {
      if (a.startsWith('--') && !a.includes('=')) {
        const spec = GLOBAL_FLAGS.find((f) => f.name === a.slice(2));
        if (spec && spec.type !== 'boolean') i++;
      }
      continue;
    }
    return i;
  }
  return -1;
}

function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h' || a === '--help=true') return true;
  }
  return false;
}

function wantsVersion(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--version' || a === '-V' || a === '--version=true') return true;
  }
  return false;
}

function defaultIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), stdin: process.stdin };
}

/**
 * Runs the CLI with `argv` (the arguments after the program name) and returns the exit code.
 * Nothing is written to the process streams unless `io` is the default.
 */
export async function main(argv: readonly string[], io: CliIO = defaultIO()): Promise<number> {
  const debug = io.env.LOWRANK_DEBUG === '1';
  let name = '';
  let cmd: Command | undefined;
  let ctx: Context | undefined;
  const width = helpWidth(io);
  try {
    const ci = commandIndex(argv);
    if (ci < 0) {
      if (wantsHelp(argv)) {
        io.stdout.write(await topHelp(width));
        return 0;
      }
      if (wantsVersion(argv)) {
        io.stdout.write(`${packageVersion()}\n`);
        return 0;
      }
      io.stderr.write(await topHelp(width));
      if (argv.length > 0) io.stderr.write(`\nlowrank: missing command\n`);
      return 2;
    }
    name = argv[ci];
    const rest = [...argv.slice(0, ci), ...argv.slice(ci + 1)];
    if (name === 'help') {
      const ti = commandIndex(rest);
      const target = ti >= 0 ? rest[ti] : undefined;
      if (!target) {
        io.stdout.write(await topHelp(width));
        return 0;
      }
      const load = findCommand(target);
      if (!load) throw new UsageError(`unknown command '${target}'`);
      io.stdout.write(commandHelp((await load()).command, width));
      return 0;
    }
    const load = findCommand(name);
    if (!load) {
      const hint = suggest(name, [...COMMANDS.map(([n]) => n), 'help']);
      const list = COMMANDS.map(([n]) => n).join(', ');
      name = '';
      throw new UsageError(`unknown command '${argv[ci]}'${hint ? ` (did you mean '${hint}'?)` : ''}; commands: ${list}, help`);
    }
    cmd = (await load()).command;
    if (wantsHelp(rest)) {
      io.stdout.write(commandHelp(cmd, width));
      return 0;
    }
    if (wantsVersion(rest)) {
      io.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    const args = parseArgs(rest, [...cmd.flags, ...GLOBAL_FLAGS], cmd.positionals ?? []);
    ctx = new Context(cmd.name, args, io, main);
    const ret = await cmd.run(ctx);
    const code = typeof ret === 'number' ? ret : 0;
    if (ctx.json) io.stdout.write(JSON.stringify(ctx.jsonSummary(code), null, 2) + '\n');
    return code;
  } catch (e) {
    const prefix = name ? `lowrank ${name}` : 'lowrank';
    if (e instanceof UsageError) {
      io.stderr.write(`${prefix}: ${oneLine(e.message)}\n`);
      if (cmd) io.stderr.write(`usage: ${usageLine(cmd)}\nRun 'lowrank ${cmd.name} --help' for details.\n`);
      else io.stderr.write(`Run 'lowrank --help' for the list of commands.\n`);
      return 2;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    io.stderr.write(`${prefix}: ${oneLine(userMessage(err, ctx))}\n`);
    if (debug && err.stack) io.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); // e.g. `lowrank info | head -1`
  });
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  // Exit once the output is flushed: a WebGPU instance that failed half-way can keep native threads
  // (and so the process) alive even though every engine was disposed.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
