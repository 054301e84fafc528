/**
 * Python child processes for the numpy / scipy peers. The interpreter is chosen once: BENCH_PYTHON,
 * else /usr/bin/python3 (Debian's python3-numpy / python3-scipy, the project's preference), else the
 * `python3` on PATH — the first one that imports numpy.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { repoRoot } from './machine.js';
import { TimeoutError } from './timing.js';

export interface PythonChoice {
  exe: string;
  numpy: string;
  scipy: string | null;
  python: string;
  /** Why this interpreter (and what was tried before). */
  why: string;
}

let choice: PythonChoice | null | undefined;
let choiceReason = '';

export function findPython(): PythonChoice | null {
  if (choice !== undefined) return choice;
  const tried: string[] = [];
  const candidates = [process.env.BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((x): x is string => !!x);
  for (const exe of [...new Set(candidates)]) {
    try {
      const out = execFileSync(
        exe,
        [
          '-c',
          'import sys, json, numpy\ntry:\n import scipy; s = scipy.__version__\nexcept Exception: s = None\nprint(json.dumps([sys.executable, sys.version.split()[0], numpy.__version__, s]))',
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 },
      );
      const [real, py, np, sp] = JSON.parse(out.trim().split('\n').pop()!) as [string, string, string, string | null];
      const why =
        (exe === process.env.BENCH_PYTHON
          ? 'BENCH_PYTHON'
          : exe === '/usr/bin/python3'
            ? 'Debian python3 (preferred)'
            : 'python3 on PATH') + (tried.length ? `; tried before: ${tried.join('; ')}` : '');
      choice = { exe, numpy: np, scipy: sp, python: `${py} (${real})`, why };
      return choice;
    } catch (e) {
      const msg = (e as { stderr?: string }).stderr?.toString().trim().split('\n').pop() || (e as Error).message;
      tried.push(`${exe}: ${msg}`);
    }
  }
  choiceReason = `no python with numpy found (${tried.join('; ')}); install python3-numpy python3-scipy or set BENCH_PYTHON`;
  choice = null;
  return null;
}

export function pythonMissingReason(): string {
  return choiceReason;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/** A long-lived numpy_worker.py process answering JSON-line requests one at a time. */
export class PythonWorker {
  private proc: ChildProcessWithoutNullStreams;
  private queue: Pending[] = [];
  private stderr = '';
  private exited: string | null = null;

  constructor(exe: string, env: Record<string, string>) {
    const script = path.join(repoRoot, 'bench', 'peers', 'numpy_worker.py');
    this.proc = spawn(exe, ['-u', script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const rl = readline.createInterface({ input: this.proc.stdout });
    rl.on('line', (line) => {
      const p = this.queue.shift();
      if (!p) return;
      try {
        const msg = JSON.parse(line) as { ok: boolean; result?: unknown; error?: string };
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new Error(msg.error ?? 'python worker error'));
      } catch {
        p.reject(new Error(`python worker: bad reply '${line.slice(0, 200)}'`));
      }
    });
    this.proc.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-2000);
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = `python worker exited (${signal ?? `code ${code}`})${this.stderr ? `: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
      for (const p of this.queue.splice(0)) p.reject(new Error(this.exited));
    });
    this.proc.on('error', (e) => {
      this.exited = `python worker failed to start: ${e.message}`;
      for (const p of this.queue.splice(0)) p.reject(new Error(this.exited));
    });
  }

  /** Sends one request; kills the worker when it does not answer within `timeoutMs`. */
  request<T>(req: Record<string, unknown>, timeoutMs: number): Promise<T> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill();
        reject(new TimeoutError(`python ${String(req.cmd)}`, timeoutMs));
      }, timeoutMs);
      timer.unref?.();
      this.queue.push({
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.proc.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  kill(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    try {
      this.proc.stdin.write(JSON.stringify({ cmd: 'exit' }) + '\n');
      this.proc.stdin.end();
    } catch {
      // already gone
    }
    const t = setTimeout(() => this.kill(), 5_000);
    await done;
    clearTimeout(t);
  }
}
