/** Shared set-up of the CLI tests: `main(argv, io)` run in-process with captured output, and a temporary directory per suite. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { main } from '../../ts/cli/main.js';

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI on argv with the given environment, capturing stdout and stderr. */
export async function run(argv: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  let out = '',
    err = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env,
    stdin: (async function* () {})(), // an empty stdin: in-process runs never read the test runner's
  });
  return { code, out, err };
}

/** A fresh directory under the system temp dir, removed after the enclosing suite. Call inside describe(). */
export function suiteTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
