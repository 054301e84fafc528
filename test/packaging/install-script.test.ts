/**
 * The npm `install` hook (scripts/install.mjs): when it uses the prebuilt addon, when it builds from
 * source, and the message when the build tools are missing (also run for real with a PATH that holds
 * nothing but node, and LOWRANK_BUILD_FROM_SOURCE=1).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { decide, missingTools, missingToolsMessage } from '../../scripts/install.mjs';
import { packageRoot } from '../../ts/paths.js';

type Plan = { action: 'prebuilt'; file: string } | { action: 'build'; why: string };
const linux = { platform: 'linux', arch: 'x64', libc: 'glibc' };
const pb = '/pkg/prebuilds/linux-x64/lowrank.node';
const plan = (o: Record<string, unknown>): Plan => decide({ env: {}, target: linux, prebuild: pb, loads: () => undefined, ...o }) as Plan;

describe('install script: decision', () => {
  it('uses a matching prebuild that loads', () => {
    expect(plan({})).toEqual({ action: 'prebuilt', file: pb });
  });
  it('builds when LOWRANK_BUILD_FROM_SOURCE=1, in a git checkout, without a prebuild, or when it does not load', () => {
    const forced = plan({ env: { LOWRANK_BUILD_FROM_SOURCE: '1' } });
    expect(forced.action).toBe('build');
    expect(forced.action === 'build' && forced.why).toMatch(/LOWRANK_BUILD_FROM_SOURCE=1/);
    expect(plan({ env: { LOWRANK_BUILD_FROM_SOURCE: '0' } }).action).toBe('prebuilt');
    expect(plan({ checkout: true })).toMatchObject({ action: 'build', why: expect.stringMatching(/git checkout/) });
    const none = plan({ prebuild: undefined, target: { platform: 'linux', arch: 'arm64', libc: 'glibc' } });
    expect(none).toMatchObject({ action: 'build', why: expect.stringMatching(/no prebuilt addon matches linux-arm64 \(glibc\)/) });
    const musl = plan({ prebuild: undefined, target: { platform: 'linux', arch: 'x64', libc: 'musl' } });
    expect(musl).toMatchObject({
      action: 'build',
      why: expect.stringMatching(/no prebuilt addon matches linux-x64 \(musl\); .*linux-x64 \(glibc\) only/),
    });
    const unpacked = plan({ prebuild: undefined });
    expect(unpacked).toMatchObject({ action: 'build', why: expect.stringMatching(/has no prebuilt addon .*added by `npm pack`/) });
    const broken = plan({ loads: () => 'Error: GLIBC_2.35 not found' });
    expect(broken).toMatchObject({ action: 'build', why: expect.stringMatching(/does not load here \(Error: GLIBC_2\.35/) });
  });
  it('names each missing tool', () => {
    const none = () => false;
    expect(missingTools({}, 'linux', none)).toEqual(['cmake (>= 3.15)', 'a C++17 compiler (tried c++, g++, clang++)', 'make or ninja']);
    expect(missingTools({ CXX: 'clang++-17' }, 'linux', (c: string) => c !== 'clang++-17')).toEqual([
      'a C++17 compiler (tried clang++-17 from CXX)',
    ]);
    expect(missingTools({}, 'linux', (c: string) => c !== 'make')).toEqual([]);
    const msg = missingToolsMessage(['cmake (>= 3.15)'], 'no prebuilt addon matches linux-arm64 (glibc)');
    expect(msg).toMatch(/cmake \(>= 3\.15\) not found on PATH/);
    expect(msg).toMatch(/apt-get install cmake g\+\+ make/);
    expect(msg).toMatch(/Why a source build: no prebuilt addon matches/);
  });
});

describe('install script: run', () => {
  it('LOWRANK_BUILD_FROM_SOURCE=1 with no cmake or compiler on PATH exits 1 with the message', () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), 'lowrank-nopath-'));
    try {
      symlinkSync(process.execPath, path.join(bin, 'node'));
      const r = spawnSync(process.execPath, [path.join(packageRoot, 'scripts', 'install.mjs')], {
        cwd: packageRoot,
        encoding: 'utf8',
        env: { PATH: bin, HOME: process.env.HOME ?? '/', LOWRANK_BUILD_FROM_SOURCE: '1' },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/cannot build the native addon from source: cmake \(>= 3\.15\), a C\+\+17 compiler/);
      expect(r.stderr).toMatch(/Why a source build: LOWRANK_BUILD_FROM_SOURCE=1 forces a source build/);
      expect(r.stderr).toMatch(/npm rebuild lowrank/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe('addon loader', () => {
  it('looks in build/Release, then the prebuild for this platform; LOWRANK_NATIVE_ADDON alone when set', async () => {
    const { addonCandidates, prebuildName } = await import('../../ts/paths.js');
    const saved = process.env.LOWRANK_NATIVE_ADDON;
    delete process.env.LOWRANK_NATIVE_ADDON;
    try {
      const name = prebuildName();
      expect(addonCandidates()).toEqual([
        path.join(packageRoot, 'build', 'Release', 'lowrank.node'),
        ...(name ? [path.join(packageRoot, 'prebuilds', name, 'lowrank.node')] : []),
      ]);
      process.env.LOWRANK_NATIVE_ADDON = '/x/y.node';
      expect(addonCandidates()).toEqual(['/x/y.node']);
    } finally {
      if (saved === undefined) delete process.env.LOWRANK_NATIVE_ADDON;
      else process.env.LOWRANK_NATIVE_ADDON = saved;
    }
  });

  it('fails with a message naming every path tried and how to build from source', async () => {
    const missing = path.join(os.tmpdir(), 'lowrank-no-such-dir', 'lowrank.node');
    const saved = process.env.LOWRANK_NATIVE_ADDON;
    process.env.LOWRANK_NATIVE_ADDON = missing;
    try {
      vi.resetModules(); // a fresh addon.ts: nothing loaded or cached yet
      const { loadAddon } = await import('../../ts/backends/native/addon.js');
      expect(() => loadAddon()).toThrow(`cannot load the native addon; tried ${missing} (not found).`);
      expect(() => loadAddon()).toThrow(/Build from source .*LOWRANK_BUILD_FROM_SOURCE=1 npm rebuild lowrank/);
    } finally {
      if (saved === undefined) delete process.env.LOWRANK_NATIVE_ADDON;
      else process.env.LOWRANK_NATIVE_ADDON = saved;
    }
  });
});
