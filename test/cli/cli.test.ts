/**
 * The `lowrank` CLI, run in-process through `main(argv, io)` with captured output, plus one real
 * spawn of the compiled dist/cli/main.js when it exists and is up to date.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { COMMANDS } from '../../ts/cli/commands.js';
import { parseArgs, UsageError, type FlagSpec } from '../../ts/cli/args.js';
import { engine } from '../../ts/index.js';
import { webgpuMissing } from '../helpers.js';
import { run } from './harness.js';

/** stderr without Dawn's device-creation warnings. */
const clean = (s: string) =>
  s
    .split('\n')
    .filter((l) => !/artificially reduced/.test(l))
    .join('\n');

/** qr / svd may still be stubs in this tree; demo tests adapt (and say so). */
async function implemented(op: 'qr' | 'svd'): Promise<boolean> {
  const eng = await engine({ backend: 'native' });
  try {
    await eng[op](eng.randn(4, 3, { seed: 1 }));
    return true;
  } catch (e) {
    if (/not implemented/.test((e as Error).message)) return false;
    throw e;
  } finally {
    await eng.dispose();
  }
}

describe('argument parser', () => {
  const flags: FlagSpec[] = [
    { name: 'rank', type: 'int', min: 1, description: '' },
    { name: 'tol', type: 'number', description: '' },
    { name: 'out', short: 'o', type: 'string', description: '' },
    { name: 'json', type: 'boolean', description: '' },
    { name: 'mode', type: 'choice', choices: ['a', 'b'], default: 'a', description: '' },
    { name: 'tag', type: 'string', multiple: true, description: '' },
  ];

  it('accepts --flag value, --flag=value, -f value, booleans, negatives, positionals and --', () => {
    const r = parseArgs(
      ['in.npy', '--rank', '5', '--tol=-1e-3', '-o', 'dir', '--json', '--tag', 'x', '--tag=y', '--', '--not-a-flag'],
      flags,
      [
        { name: 'input', description: '' },
        { name: 'rest', description: '', variadic: true },
      ],
    );
    expect(r.flags).toMatchObject({ rank: 5, tol: -1e-3, out: 'dir', json: true, mode: 'a', tag: ['x', 'y'] });
    expect(r.positionals).toEqual(['in.npy', '--not-a-flag']);
    expect(r.given.has('mode')).toBe(false);
    expect(parseArgs(['--no-json'], flags).flags.json).toBe(false);
    expect(parseArgs(['--json=false'], flags).flags.json).toBe(false);
    expect(parseArgs(['--tol', '-2'], flags).flags.tol).toBe(-2);
    expect(parseArgs(['-odir'], flags).flags.out).toBe('dir');
  });

  it('rejects mistakes with UsageError', () => {
    const bad: [string[], RegExp][] = [
      [['--rnak', '3'], /unknown flag --rnak \(did you mean --rank\?\)/],
      [['--rank'], /--rank needs a value/],
      [['--rank', '--json'], /--rank needs a value/],
      [['--rank', '2.5'], /needs an integer/],
      [['--rank', '0'], /must be >= 1/],
      [['--tol', 'abc'], /needs a number/],
      [['--mode', 'c'], /must be one of a, b/],
      [['--json=maybe'], /true or false/],
      [['-x'], /unknown flag -x/],
      [['stray'], /unexpected argument "stray"/],
    ];
    for (const [argv, re] of bad) {
      expect(() => parseArgs(argv, flags)).toThrow(UsageError);
      expect(() => parseArgs(argv, flags)).toThrow(re);
    }
    expect(() => parseArgs([], flags, [{ name: 'input', description: '' }])).toThrow(/missing argument <input>/);
  });
});

describe('lowrank CLI (in-process)', () => {
  it('--help, help and no arguments', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^usage: lowrank <command>/);
      for (const [name] of COMMANDS) expect(r.out).toContain(`  ${name} `);
      expect(r.out).toContain('--backend');
      expect(r.err).toBe('');
    }
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.out).toBe('');
    expect(none.err).toContain('usage: lowrank <command>');
    const v = await run(['--version']);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('every command has --help', async () => {
    for (const [name] of COMMANDS) {
      for (const argv of [
        [name, '--help'],
        ['help', name],
        ['help', '--backend', 'native', name],
        ['--backend', 'native', name, '-h', '--bogus'],
      ]) {
        const r = await run(argv);
        expect(r.code, `${argv.join(' ')}`).toBe(0);
        expect(r.out).toContain(`usage: lowrank ${name}`);
        expect(r.out).toContain('Global options:');
        expect(r.out).toContain('--dtype f32|f64');
      }
    }
  });

  it('usage errors exit with 2 and print the usage', async () => {
    const cases: [string[], RegExp][] = [
      [['demo', '--bogus'], /^lowrank demo: unknown flag --bogus\nusage: lowrank demo \[options\]\nRun 'lowrank demo --help'/],
      [['demx'], /^lowrank: unknown command 'demx' \(did you mean 'demo'\?\)/],
      [['help', 'nope'], /unknown command 'nope'/],
      [['demo', '--size', 'abc'], /--size: expected M,N/],
      [['demo', '--rank', '0'], /--rank must be >= 1/],
      [['demo', '--size', '10,5', '--rank', '6', '--backend', 'native'], /--rank 6 exceeds min\(M, N\) = 5/],
      [['demo', '--steps', 'gemm,lu'], /unknown step 'lu'/],
      [['info', '--backend', 'cuda'], /--backend must be one of auto, webgpu, native/],
      [['info', '--dtype', 'f16'], /--dtype must be one of f32, f64/],
      [['demo', '--backend', 'webgpu', '--dtype', 'f64'], /--backend webgpu cannot run --dtype f64/],
      [['info', 'extra'], /unexpected argument "extra"/],
      [['--backend', 'native'], /missing command/],
    ];
    for (const [argv, re] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.out, argv.join(' ')).toBe('');
      expect(clean(r.err)).toMatch(re);
    }
  });

  it('info --json (native only)', async () => {
    const r = await run(['info', '--json', '--backend', 'native']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.native).toMatchObject({ available: true, dtypes: ['f32', 'f64'] });
    expect(j.native.threads).toBeGreaterThanOrEqual(1);
    expect(typeof j.native.isa).toBe('string');
    expect(typeof j.native.gemmKernel).toBe('string');
    expect(j.webgpu.available).toBe(null);
    expect(j.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('info --json and text (both backends)', async () => {
    const r = await run(['info', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.native.available).toBe(true);
    if (webgpuMissing === null) {
      expect(j.webgpu.available).toBe(true);
      expect(j.webgpu.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
      expect(typeof j.webgpu.adapter.description).toBe('string');
      // 'auto' declines a software adapter (lavapipe / llvmpipe, SwiftShader) for native, saying why
      if (
        /llvmpipe|lavapipe|swiftshader|software/i.test(
          `${j.webgpu.adapter.description} ${j.webgpu.adapter.device} ${j.webgpu.adapter.architecture}`,
        )
      )
        expect(j.auto).toEqual({ dtype: 'f32', backend: 'native', reason: expect.stringMatching(/software rasterizer.*native is faster/) });
      else expect(j.auto).toEqual({ dtype: 'f32', backend: 'webgpu' });
    } else {
      expect(j.webgpu.available).toBe(false);
      expect(j.webgpu.reason).toMatch(/webgpu/i);
      expect(j.auto).toEqual({ dtype: 'f32', backend: 'native' });
    }
    const t = await run(['info', '--dtype', 'f64']);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^native +available/m);
    expect(t.out).toMatch(/GEMM kernel: /);
    expect(t.out).toMatch(/auto +-> native \(for dtype f64\)/);
  });

  it('demo gemm on the native backend, text output', async () => {
    const r = await run(['demo', '--backend', 'native', '--size', '150,60', '--rank', '5', '--steps', 'gemm']);
    expect(clean(r.err)).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('lowrank demo on native/f32');
    expect(r.out).toMatch(/gemm +C = A\^T A \(60 x 60/);
    expect(r.out).toMatch(/max \|C_ij - ref\|.* ok$/m);
    expect(r.out).toContain('all checks passed (gemm)');
  });

  for (const dtype of ['f32', 'f64'] as const) {
    it(`demo on native/${dtype}, all steps, --json`, async () => {
      const [qr, svd] = [await implemented('qr'), await implemented('svd')];
      const r = await run(['demo', '--backend', 'native', '--dtype', dtype, '--size', '120,40', '--rank', '5', '--json']);
      const j = JSON.parse(r.out);
      expect(j.backend).toBe('native');
      expect(j.dtype).toBe(dtype);
      expect(j.problem).toMatchObject({ rows: 120, cols: 40, rank: 5 });
      const step = (name: string) => j.steps.find((s: { step: string }) => s.step === name);
      expect(step('gemm').error).toBeUndefined();
      expect(step('gemm').checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
      for (const [name, ready] of [
        ['qr', qr],
        ['svd', svd],
      ] as const) {
        if (ready) {
          expect(step(name).error).toBeUndefined();
          for (const c of step(name).checks) expect(c.ok, `${name}: ${c.name} = ${c.value} > ${c.tol}`).toBe(true);
        } else {
          console.warn(`[cli test] native ${name} is not implemented yet in this tree; demo reports it as a failed step`);
          expect(step(name).error).toMatch(/not implemented/);
        }
      }
      if (qr && svd) {
        expect(r.code).toBe(0);
        expect(j.ok).toBe(true);
        const spec = step('svd').spectrum;
        expect(spec[0].known).toBe(100);
        expect(Math.abs(spec[0].computed - 100)).toBeLessThan(0.01);
      } else {
        expect(r.code).toBe(1);
        expect(j.ok).toBe(false);
        expect(clean(r.err).trim().split('\n')).toHaveLength(1);
        expect(r.err).toMatch(/^lowrank demo: \d of 3 steps failed: /);
      }
    });
  }

  it('runtime errors: one line on stderr, exit 1, stack only with LOWRANK_DEBUG=1', async () => {
    // a 100000 x 100000 matrix exceeds the 2^32 - 1 entries limit: a runtime (not usage) error
    // (--max-memory lifted: by default the memory estimate refuses this size first, also in one line)
    const refused = await run([
      'demo',
      '--backend',
      'native',
      '--size',
      '100000,100000',
      '--rank',
      '1',
      '--steps',
      'gemm',
      '--max-memory',
      '8G',
    ]);
    expect(refused.code).toBe(1);
    expect(clean(refused.err).trim()).toMatch(
      /^lowrank demo: demo on a 100000 x 100000 matrix would need about [\d.]+ GiB .*more than the limit 8 GiB[^\n]*$/,
    );
    const argv = ['demo', '--backend', 'native', '--size', '100000,100000', '--rank', '1', '--steps', 'gemm', '--max-memory', '1000T'];
    const r = await run(argv);
    expect(r.code).toBe(1);
    expect(r.out).not.toContain('FAILED'); // the error happens while building the problem
    const lines = clean(r.err).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lowrank demo: .*2\^32 - 1 entries/);
    const d = await run(argv, { LOWRANK_DEBUG: '1' });
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/\n\s+at /);
  });
});

describe('lowrank CLI (compiled, spawned)', () => {
  const root = path.resolve(import.meta.dirname, '..', '..');
  const bin = path.join(root, 'dist', 'cli', 'main.js');
  const src = path.join(root, 'ts', 'cli', 'main.ts');
  const fresh = existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs;
  it.skipIf(!fresh)(
    `node dist/cli/main.js${fresh ? '' : ' (skipped: dist/cli/main.js missing or older than ts/cli/main.ts; run npm run build:ts)'}`,
    () => {
      const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('usage: lowrank <command>');
      const bad = spawnSync(process.execPath, [bin, 'demo', '--nope'], { encoding: 'utf8' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('unknown flag --nope');
      const info = spawnSync(process.execPath, [bin, 'info', '--json', '--backend', 'native'], { encoding: 'utf8', timeout: 60_000 });
      expect(info.status).toBe(0);
      expect(JSON.parse(info.stdout).native.available).toBe(true);
    },
  );
});

describe('CLI file helpers', () => {
  it('loadMatrix by extension or first bytes, prepareOutDir', async () => {
    const { copyFile, mkdtemp, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { loadMatrix, prepareOutDir } = await import('../../ts/cli/files.js');
    const { writeNpy, writeMtx } = await import('../../ts/io/index.js');
    const dir = await mkdtemp(path.join(tmpdir(), 'lowrank-cli-'));
    try {
      await writeNpy(path.join(dir, 'a.npy'), new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
      expect(await loadMatrix(path.join(dir, 'a.npy'))).toMatchObject({ kind: 'dense', rows: 3, cols: 2, format: 'npy' });
      await writeMtx(path.join(dir, 's.mtx'), { kind: 'coordinate', rows: 4, cols: 5, row: [0, 3], col: [4, 0], val: [1, 2] });
      const s = await loadMatrix(path.join(dir, 's.MTX'.toLowerCase()));
      expect(s).toMatchObject({ kind: 'sparse', rows: 4, cols: 5, format: 'mtx' });
      await writeMtx(path.join(dir, 'd.mtx'), { kind: 'array', rows: 1, cols: 2, data: [7, 8] });
      expect(await loadMatrix(path.join(dir, 'd.mtx'))).toMatchObject({ kind: 'dense', rows: 1, cols: 2, format: 'mtx' });
      // the format by the first bytes when the extension says nothing
      await copyFile(path.join(dir, 'a.npy'), path.join(dir, 'a.data'));
      expect(await loadMatrix(path.join(dir, 'a.data'))).toMatchObject({ kind: 'dense', rows: 3, cols: 2, format: 'npy' });
      await copyFile(path.join(dir, 's.mtx'), path.join(dir, 's.txt'));
      expect(await loadMatrix(path.join(dir, 's.txt'))).toMatchObject({ kind: 'sparse', format: 'mtx' });
      await writeFile(path.join(dir, 'x.csv'), '1,2\n3,4\n');
      await expect(loadMatrix(path.join(dir, 'x.csv'))).rejects.toBeInstanceOf(UsageError);
      await expect(loadMatrix(path.join(dir, 'missing.npy'))).rejects.toThrow(/^no such file or folder: .*missing\.npy$/);
      await expect(loadMatrix(dir)).rejects.toThrow(/is a folder/);
      const out = path.join(dir, 'out', 'nested');
      expect(await prepareOutDir(out)).toBe(out);
      expect(await prepareOutDir(out)).toBe(out);
      await writeFile(path.join(dir, 'file'), 'x');
      await expect(prepareOutDir(path.join(dir, 'file'))).rejects.toThrow(/exists and is a file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
