/**
 * `lowrank serve`: runs CLI invocations sent as JSON lines on stdin, one after another, in this one
 * process, answering each with a JSON line on stdout. A scheduler's worker (the Dask driver) keeps one
 * per worker thread instead of starting Node.js and loading the addon for every step.
 *
 * Request:  {"argv": ["pass", "range", "shard.npy", ...]}
 * Response: {"code": 0, "stdout": "...", "stderr": "..."}   (code as the command's exit code)
 * End of input ends the process. A malformed request gets {"code": 2, "stderr": "..."} and the loop
 * goes on.
 */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { totalmem } from 'node:os';
import type { Command, Context } from './context.js';
import { parseBytes } from './memory.js';
import type { ServeSession } from './shard.js';

export const command: Command = {
  name: 'serve',
  summary: 'run CLI invocations sent as JSON lines on stdin in one process (for schedulers such as Dask)',
  description: [
    'Reads one request per line on stdin, {"argv": [...]} (the arguments after "lowrank"), runs it as',
    'the command line would, and writes one line per request on stdout: {"code": N, "stdout": "...",',
    '"stderr": "..."}. Requests run one at a time; the process ends at the end of input. It saves the',
    'start-up of Node.js and of the native addon on every step of a sharded run (integrations/dask), and',
    'keeps engines and the shards it has loaded (checked once) for later steps on the same file: at most',
    'LOWRANK_SERVE_CACHE bytes (e.g. 8G; default a quarter of the memory), least recently used first out.',
  ].join('\n'),
  flags: [],
  examples: [`echo '{"argv": ["info", "--json"]}' | lowrank serve`],
  async run(ctx: Context): Promise<number> {
    const budget = ctx.io.env.LOWRANK_SERVE_CACHE ? parseBytes(ctx.io.env.LOWRANK_SERVE_CACHE) : Math.floor(totalmem() / 4);
    // answers go to stdout whatever --json / --quiet say: they are the protocol
    const answer = (r: { code: number; stdout: string; stderr: string }) => ctx.io.stdout.write(`${JSON.stringify(r)}\n`);
    const session: ServeSession = { engines: new Map(), shards: new Map(), budget };
    const rl = createInterface({ input: Readable.from(ctx.io.stdin ?? process.stdin), crlfDelay: Infinity });
    let requests = 0;
    for await (const line of rl) {
      if (!line.trim()) continue;
      let argv: unknown;
      try {
        argv = (JSON.parse(line) as { argv?: unknown }).argv;
      } catch (e) {
        answer({ code: 2, stdout: '', stderr: `lowrank serve: the request is not JSON (${(e as Error).message})\n` });
        continue;
      }
      if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string') || argv[0] === 'serve') {
        answer({ code: 2, stdout: '', stderr: 'lowrank serve: a request is {"argv": [strings]} (and not serve itself)\n' });
        continue;
      }
      let out = '',
        err = '';
      const code = await ctx.invoke(argv, {
        stdout: { write: (s: string | Uint8Array) => (out += String(s)) },
        stderr: { write: (s: string | Uint8Array) => (err += String(s)) },
        env: { ...ctx.io.env, LOWRANK_PROGRESS: '0' },
        cwd: ctx.io.cwd,
        session,
      });
      answer({ code, stdout: out, stderr: err });
      requests++;
    }
    for (const e of session.engines.values()) await e.dispose();
    ctx.report({ requests });
    return 0;
  },
};
