/** Forced lower ISA paths of the native tests: LOWRANK_ISA is read once per process, so each runs in a child. */
import { spawnSync } from 'node:child_process';
import { addonPath } from '../../ts/paths.js';

/**
 * Runs `body`, the body of an async function of (addon, cases) returning a JSON value, in a child node
 * process with LOWRANK_ISA=isa (plus `env`) and this tree's addon; cases travel as JSON on stdin, the result on
 * stdout.
 */
export function runIsaChild<T>(isa: string, body: string, cases: unknown, env: Record<string, string> = {}): T {
  const script = `
const addon = require(process.env.LOWRANK_NATIVE_ADDON);
const run = async (addon, cases) => {${body}};
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', async () => process.stdout.write(JSON.stringify(await run(addon, JSON.parse(input)))));
`;
  const r = spawnSync(process.execPath, ['-e', script], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    env: { ...process.env, ...env, LOWRANK_ISA: isa, LOWRANK_NATIVE_ADDON: addonPath() },
  });
  if (r.status !== 0) throw new Error(`child (LOWRANK_ISA=${isa} ${JSON.stringify(env)}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
