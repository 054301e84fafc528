/**
 * Child processes for addon tests whose failure could be a crash or a hang: `child(src)` runs an ES module
 * source in `node --expose-gc` (optionally under `ulimit -v` KiB), killed after timeoutMs, and parses
 * stdout's last line as JSON. Asynchronous, so that vitest's worker keeps answering its main process.
 * ADDON_PRELUDE loads the built addon as `addon` and defines small helpers for such sources.
 */
import { spawn } from 'node:child_process';
import { addonPath } from '../../ts/paths.js';

export interface ChildResult {
  status: number | null;
  signal: string | null;
  out: unknown;
  stderr: string;
}

export function child(src: string, ulimitKiB?: number, timeoutMs = 60_000): Promise<ChildResult> {
  const node = [process.execPath, '--expose-gc', '--input-type=module', '-e', src];
  const [cmd, ...args] = ulimitKiB ? ['bash', '-c', `ulimit -v ${ulimitKiB}; exec "$@"`, 'bash', ...node] : node;
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { timeout: timeoutMs });
    let stdout = '',
      stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    p.on('error', reject);
    p.on('close', (status, signal) => {
      let out: unknown = null;
      try {
        out = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {
        out = stdout;
      }
      resolve({ status, signal, out, stderr: stderr.slice(-1500) });
    });
  });
}

/** addon, randf(n, seed) (Float64Array in [-0.5, 0.5)), detach(typedArray), settle(promise) -> {ok, v | name, message}. */
export const ADDON_PRELUDE = `
import { createRequire } from 'node:module';
const addonFile = ${JSON.stringify(addonPath())};
const addon = createRequire(import.meta.url)(addonFile);
const randf = (n, s) => { const a = new Float64Array(n); let x = s >>> 0; for (let i = 0; i < n; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; a[i] = x / 2 ** 32 - 0.5; } return a; };
const detach = (a) => structuredClone(a.buffer, { transfer: [a.buffer] });
const settle = (p) => p.then((v) => ({ ok: true, v }), (e) => ({ ok: false, name: e.constructor.name, message: e.message }));
`;
