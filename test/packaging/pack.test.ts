/**
 * The npm package as a user gets it: `npm pack` (in a staging copy of the checkout, so the real
 * prepack/prepare/postpack run without touching this tree), then `npm install <tarball>` in a fresh
 * folder with a PATH holding only node, npm and sh (no cmake, compiler or make) and without the
 * optional `webgpu`; then the README quick start, the `lowrank` bin and `require('lowrank')`.
 * linux-x64 (glibc) only, where the package carries a prebuilt addon; needs build/Release/lowrank.node
 * (made by `npm ci`). Everything is written under one temporary folder, removed afterwards.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot, prebuildName } from '../../ts/paths.js';

const addon = path.join(packageRoot, 'build', 'Release', 'lowrank.node');
/** Whether some addon source is newer than the addon (prepack would then rebuild it: minutes). */
const stale = (): boolean => {
  const t = statSync(addon).mtimeMs;
  const srcs = readdirSync(path.join(packageRoot, 'native')).filter((f) => /\.(cc|h)$/.test(f));
  return [...srcs.map((f) => path.join(packageRoot, 'native', f)), path.join(packageRoot, 'CMakeLists.txt')].some(
    (f) => statSync(f).mtimeMs > t,
  );
};
const skip =
  prebuildName() !== 'linux-x64'
    ? 'prebuilds are made for linux-x64 (glibc) only'
    : !existsSync(addon)
      ? 'build/Release/lowrank.node missing (npm ci / npm run build:native)'
      : stale()
        ? 'build/Release/lowrank.node is older than native/ (npm run build:native)'
        : '';
const version = (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

let tmp = '';
let app = '';
let env: NodeJS.ProcessEnv = {};
let install: Result;

type Result = { status: number | null; stdout: string; stderr: string };

/** Runs a command to completion without blocking the worker's event loop (vitest talks over it). */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? env, timeout: opts.timeout ?? 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => resolve({ status: null, stdout, stderr: `${stderr}${e.message}` }));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const npmCli = (): string => {
  const r = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' });
  return r.stdout.trim();
};

describe.skipIf(skip !== '')(`npm package: pack, install without compilers, quick start${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'lowrank-pack-'));
    // Staging copy: sources + this checkout's addon (mtimes kept, so prepack sees it as up to date).
    const stage = path.join(tmp, 'stage');
    for (const f of ['package.json', 'tsconfig.json', 'CMakeLists.txt', 'README.md', 'ts', 'native', 'wgsl', 'scripts', 'cjs'])
      cpSync(path.join(packageRoot, f), path.join(stage, f), { recursive: true, preserveTimestamps: true });
    mkdirSync(path.join(stage, 'build', 'Release'), { recursive: true });
    cpSync(addon, path.join(stage, 'build', 'Release', 'lowrank.node'), { preserveTimestamps: true });
    symlinkSync(path.join(packageRoot, 'node_modules'), path.join(stage, 'node_modules'));
    const cleanEnv = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || /^npm_config_(cache|registry|userconfig)$/i.test(k)),
    ) as NodeJS.ProcessEnv;
    delete cleanEnv.LOWRANK_NATIVE_ADDON;
    delete cleanEnv.LOWRANK_BUILD_FROM_SOURCE;
    delete cleanEnv.INIT_CWD;
    const pack = await run(npmCli(), ['pack', '--pack-destination', tmp], { cwd: stage, env: cleanEnv, timeout: 150_000 });
    expect(pack.status, pack.stderr).toBe(0);

    // A PATH with node, npm and sh only.
    const bin = path.join(tmp, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    symlinkSync(npmCli(), path.join(bin, 'npm'));
    symlinkSync('/bin/sh', path.join(bin, 'sh'));
    env = { ...cleanEnv, PATH: bin };
    app = path.join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    const tgz = path.join(tmp, `lowrank-${version}.tgz`);
    // `npm` is looked up in env.PATH (bin), as is `node` by npm's and the bin's `#!/usr/bin/env node`.
    install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=optional', tgz], {
      cwd: app,
      timeout: 150_000,
    });
  }, 170_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('installs from the tarball with cmake and compilers off PATH, using the prebuilt addon, without webgpu', () => {
    expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);
    const pkg = path.join(app, 'node_modules', 'lowrank');
    expect(existsSync(path.join(pkg, 'prebuilds', 'linux-x64', 'lowrank.node'))).toBe(true);
    expect(existsSync(path.join(pkg, 'build'))).toBe(false); // nothing was compiled
    expect(existsSync(path.join(app, 'node_modules', 'webgpu'))).toBe(false);
    expect(readdirSync(pkg).sort()).toEqual([
      'CMakeLists.txt',
      'README.md',
      'cjs',
      'dist',
      'native',
      'package.json',
      'prebuilds',
      'scripts',
      'wgsl',
    ]);
  });

  it('runs the README quick start (auto falls back to native without the webgpu package)', async () => {
    writeFileSync(
      path.join(app, 'quickstart.mjs'),
      `import { engine } from 'lowrank';
const eng = await engine();
const A = eng.randn(257, 127, { seed: 1 });
const { Q, R } = await eng.qr(A);
const QR = await eng.matmul(Q, R);
const rel = (await eng.norm(await eng.sub(QR, A))) / (await eng.norm(A));
const { S } = await eng.svd(A);
console.log(JSON.stringify({ backend: eng.backend, reason: eng.info().autoReason, rel, S: Array.from(S) }));
await eng.dispose();
`,
    );
    const r = await run(process.execPath, ['quickstart.mjs'], { cwd: app });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { backend: string; reason: string; rel: number; S: number[] };
    expect(out.backend).toBe('native');
    expect(out.reason).toMatch(/optional package 'webgpu' is not installed/);
    expect(out.rel).toBeLessThan(50 * 257 * 2 ** -24);
    expect(out.S).toHaveLength(127);
    for (let i = 1; i < out.S.length; i++) expect(out.S[i]).toBeLessThanOrEqual(out.S[i - 1]);
  });

  it("backend 'webgpu' says the optional package is missing", async () => {
    const r = await run(process.execPath, ['--input-type=module', '-e', "await (await import('lowrank')).engine({ backend: 'webgpu' })"], {
      cwd: app,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/needs the optional package 'webgpu'.*not installed.*npm install webgpu/);
  });

  it('the lowrank bin: --version and info', async () => {
    const bin = path.join(app, 'node_modules', '.bin', 'lowrank');
    const v = await run(bin, ['--version'], { cwd: app });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(version);
    const info = await run(bin, ['info'], { cwd: app });
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/native\s+available/);
    expect(info.stdout).toContain(path.join('prebuilds', 'linux-x64', 'lowrank.node'));
  });

  it("require('lowrank') from CommonJS: the module where Node has require(esm), else the import() recipe", async () => {
    writeFileSync(
      path.join(app, 'main.cjs'),
      `const lr = require('lowrank');
import('lowrank').then((m) => console.log(typeof lr.engine, lr.engine === m.engine));
`,
    );
    const r = await run(process.execPath, ['main.cjs'], { cwd: app });
    if (r.status === 0) expect(r.stdout.trim()).toBe('function true');
    else expect(r.stderr).toMatch(/ESM-only.*await import\('lowrank'\)/);
    if (process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module')) {
      const old = await run(process.execPath, ['--no-experimental-require-module', 'main.cjs'], { cwd: app });
      expect(old.status).not.toBe(0);
      expect(old.stderr).toMatch(/lowrank is an ES module \(ESM-only\).*const lr = await import\('lowrank'\)/);
      expect(old.stderr).not.toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    }
  });
});
