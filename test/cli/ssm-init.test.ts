/** `lowrank ssm-init`: PTD initialization files, printed cond(V) / transfer error, plot, usage errors. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../../ts/index.js';
import { run, suiteTempDir } from './harness.js';

describe('lowrank ssm-init', () => {
  const dir = suiteTempDir('lowrank-cli-ssm-');

  it('refuses a run estimated above --max-memory, naming the size and the limit', async () => {
    const r = await run(['ssm-init', '--N', '64', '--method', 'deterministic', '--out', path.join(dir, 'mm'), '--max-memory', '1M']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ssm-init with N = 64 would need about [\d.]+ MiB .*more than the limit 1 MiB/);
  });

  it('deterministic E, N = 64, delta 1e-4: the spec cond(V) and transfer error; N x 2 outputs; transfer.svg', async () => {
    const out = path.join(dir, 'det');
    const r = await run(['ssm-init', '--N', '64', '--method', 'deterministic', '--delta', '1e-4', '--out', out, '--plot']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/cond\(V\) = 15404\.9/);
    expect(r.out).toMatch(/max \|G_HiPPO - G_PTD\| on i\[1e-3, 1e5\] = 0\.05260/);
    expect(r.out).toMatch(/S4D \(normal part\): 324\d\.\d/);
    const lam = await readNpy(path.join(out, 'Lambda.npy'));
    expect(lam.shape).toEqual([64, 2]);
    for (let i = 0; i < 64; i++) expect(lam.data[2 * i]).toBeLessThanOrEqual(0);
    for (const f of ['VinvB.npy', 'CV.npy']) expect((await readNpy(path.join(out, f))).shape).toEqual([64, 2]);
    const svg = readFileSync(path.join(out, 'transfer.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toMatch(/HiPPO-LegS/);
  });

  it('optimize (short run at N = 16) prints a small cond(V); usage errors', async () => {
    const r = await run(['ssm-init', '--N', '16', '--method', 'optimize', '--iters', '50', '--out', path.join(dir, 'opt')]);
    expect(r.code, r.err).toBe(0);
    const m = /cond\(V\) = ([0-9.e+]+)/.exec(r.out);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(100);
    const bad = await run(['ssm-init', '--N', '8']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--out/);
    const bad2 = await run(['ssm-init', '--N', '0', '--out', path.join(dir, 'x')]);
    expect(bad2.code).not.toBe(0);
    expect(bad2.err).toMatch(/--N/);
  });
});
